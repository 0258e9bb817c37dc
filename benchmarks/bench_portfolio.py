"""Benchmark of the portfolio executor (issue 23): N small simulated studies run one after another
in one process (TLFGEN_JOBS=1, and the default 2) versus on a two-worker Dask LocalCluster with
one task per study and with one task per work unit. Measures only.

    .venv/bin/python benchmarks/bench_portfolio.py --work /tmp/p       # 20 studies, 30 subjects per arm
    .venv/bin/python benchmarks/bench_portfolio.py --studies 4 --rounds 2 --out /tmp/p.md --work /tmp/p

Each study gets its own seed (1..N) and a copy of specs/. Every round runs each way once, in
turn (the order of ``MODES``), each as a fresh ``tlfgen run --portfolio`` process (interpreter
start-up, the cluster's start and stop included); wall time, CPU time of the process tree (user
+ system, ``os.wait4``) and the peak RSS of the largest process are recorded, and each run's
figures are appended to ``<work>/runs.jsonl`` as it ends. Every study must end with exit 0; the
outputs after each run are digested (every file under sdtm/, adam/, outputs/ of every study) and
all the digests must be the same.
Needs ``pip install 'tlfgen[dask]'``. The markdown table is printed and, with ``--out``, appended.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TLFGEN = Path(sys.executable).with_name("tlfgen")
MODES = ("inprocess-1", "inprocess-2", "dask-study", "dask-unit")


def create_portfolio(work: Path, studies: int, per_arm: int) -> Path:
    """``work/s01 ...`` (specs copied, raw simulated) and ``work/portfolio.yaml`` listing them."""
    from tlfgen.simulate.run import simulate

    names = []
    for i in range(1, studies + 1):
        folder = work / f"s{i:02d}"
        if not (folder / "raw").is_dir():
            shutil.copytree(REPO / "specs", folder / "specs", dirs_exist_ok=True)
            simulate(folder / "raw", subjects_per_arm=per_arm, seed=i)
        names.append(folder.name)
    path = work / "portfolio.yaml"
    path.write_text("studies:\n" + "".join(f"  - {n}\n" for n in names))
    return path


def timed(args: list[str], log: Path, env_extra: dict[str, str]) -> dict[str, float]:
    """Run ``args`` (what it prints goes to ``log``); wall s, CPU s of the whole tree (``wait4`` of the
    child counts its reaped descendants) and the largest single process's peak RSS in MiB."""
    env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "1700000000"), **env_extra)
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(args)} exited {code}; what it printed: {log}\n{log.read_text()[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak": usage.ru_maxrss / 1024}


def outputs_digest(work: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(work.glob("s*/*/**/*")):
        if path.is_file() and path.parts[len(work.parts) + 1] in ("sdtm", "adam", "outputs"):
            digest.update(path.relative_to(work).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--subjects-per-arm", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "tlfgen-bench-portfolio")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--modes", default=",".join(MODES), help="which of " + ", ".join(MODES))
    opts = parser.parse_args()
    opts.work.mkdir(parents=True, exist_ok=True)
    portfolio = create_portfolio(opts.work, opts.studies, opts.subjects_per_arm)
    run = [str(TLFGEN), "run", "--portfolio", str(portfolio)]
    dask = [*run, "--backend", "dask", "--jobs", str(opts.workers)]
    every = {  # name -> (command, environment added)
        "inprocess-1": ("one after another in-process, TLFGEN_JOBS=1", run, {"TLFGEN_JOBS": "1"}),
        "inprocess-2": ("one after another in-process, TLFGEN_JOBS=2 (default)", run, {"TLFGEN_JOBS": "2"}),
        "dask-study": (f"Dask LocalCluster, {opts.workers} workers, one task per study",
                       [*dask, "--granularity", "study"], {}),
        "dask-unit": (f"Dask LocalCluster, {opts.workers} workers, one task per work unit",
                      [*dask, "--granularity", "unit"], {}),
    }
    commands = {mode: every[mode] for mode in opts.modes.split(",")}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    digests = {}
    for round_ in range(opts.rounds):
        for mode, (_, args, extra) in commands.items():
            got = timed(args, opts.work / f"{mode}.log", extra)
            runs[mode].append(got)
            digests[mode] = outputs_digest(opts.work)
            with (opts.work / "runs.jsonl").open("a") as handle:
                handle.write(json.dumps({"round": round_, "mode": mode, **got, "digest": digests[mode],
                                         "load": os.getloadavg()[0]}) + "\n")
    same = len(set(digests.values())) == 1
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    lines = [f"Portfolio of {opts.studies} simulated studies ({opts.subjects_per_arm} subjects per arm, seeds "
             f"1-{opts.studies}), `tlfgen run --portfolio`, {opts.rounds} interleaved round(s); load average at "
             f"end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. Outputs of the backends byte-identical: "
             f"{'yes' if same else 'NO'}.", "",
             "| way | n | wall s (min / median) | CPU s (tree, median) | peak MiB (largest process, median) "
             "| wall per study s (median) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for mode, got in runs.items():
        wall = median([r["wall"] for r in got])
        lines.append(f"| {commands[mode][0]} | {len(got)} | {min(r['wall'] for r in got):.1f} / {wall:.1f} | "
                     f"{median([r['cpu'] for r in got]):.1f} | {median([r['peak'] for r in got]):.0f} | "
                     f"{wall / opts.studies:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if opts.out:
        with opts.out.open("a") as handle:
            handle.write("\n" + text)
    if not same:
        raise SystemExit("the backends wrote different bytes")


if __name__ == "__main__":
    main()
