"""Soak run: `tlfgen run` repeated on one simulated study; peak memory and output hashes per run.

Usage:
    .venv/bin/python benchmarks/soak.py [--subjects 5000] [--runs 20] [--out benchmarks/soak.md]

Each run is a fresh `tlfgen run --allow-data-errors` process with SOURCE_DATE_EPOCH fixed,
on the same study folder (outputs overwritten in place, as a user would). After each run
the SHA-256 of every dataset, ARD, lineage and table file is taken; the report shows the
wall time and peak RSS of each run and whether every run's outputs equal the first run's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TLFGEN = Path(sys.executable).with_name("tlfgen")
FOLDERS = ("sdtm", "adam", "outputs")


def digest_outputs(study: Path) -> dict[str, str]:
    hashes = {}
    for folder in FOLDERS:
        for path in sorted((study / folder).rglob("*")):
            if path.is_file() and path.name != "manifest.json":
                hashes[path.relative_to(study).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def run_once(study: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS MiB of the child, exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(TLFGEN), "--study", str(study), "run", "--allow-data-errors"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = proc.returncode if proc.returncode is not None else 0
    return wall, usage.ru_maxrss / 1024, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "soak")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "soak.md")
    args = parser.parse_args(argv)

    study = args.work / str(args.subjects)
    if study.exists():
        shutil.rmtree(study)
    study.mkdir(parents=True)
    shutil.copytree(REPO / "specs", study / "specs")
    subprocess.run([str(TLFGEN), "simulate", "--subjects-per-arm", str(args.subjects // 2), "--out",
                    str(study / "raw")], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1744416000", MPLBACKEND="Agg")
    rows, first, identical = [], None, True
    for i in range(1, args.runs + 1):
        wall, peak, code = run_once(study, env)
        hashes = digest_outputs(study)
        if first is None:
            first = hashes
        same = hashes == first
        identical &= same
        rows.append((i, wall, peak, code, len(hashes), same))
        print(f"run {i}: {wall:.1f} s, peak {peak:.0f} MiB, exit {code}, {len(hashes)} files, "
              f"{'identical' if same else 'DIFFERENT'}", flush=True)
    peaks = [r[2] for r in rows]
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    lines = [
        f"# Soak run: {args.runs} x `tlfgen run` on {args.subjects} simulated subjects",
        "",
        f"Machine: {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"tlfgen commit {commit}.",
        "",
        "| run | wall s | peak MiB | exit | files hashed | outputs equal run 1 |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
        *[f"| {i} | {w:.1f} | {p:.0f} | {c} | {n} | {'yes' if s else 'NO'} |" for i, w, p, c, n, s in rows],
        "",
        f"Peak memory: min {min(peaks):.0f} MiB, max {max(peaks):.0f} MiB "
        f"(spread {100 * (max(peaks) - min(peaks)) / max(peaks):.1f}%).",
        f"Outputs identical across all runs: {'yes' if identical else 'NO'}.",
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
