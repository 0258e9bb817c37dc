"""Benchmark (issue 25): the ADaM stage on the CDISC pilot replicated x1, x10, x50, against a baseline.

Usage::

    .venv/bin/python benchmarks/bench_pilot.py [--scales 1,10,50] [--baseline-rev HEAD~1] [--repeat 3]
                                               [--out benchmarks/pilot.md]

For each scale N, ``bench_pilot_data.create_pilot_study`` writes ``<work>/xN/`` once (the pilot's
SDTM N times with new subject ids, a synthetic lab-sized LB, ADSL reading LB for LSTALVDT as
admiral's template does); it is reused by later runs. Then, interleaved A B A B ... (``--repeat``
pairs), ``tlfgen --study <work>/xN adam`` of this checkout (A) and of ``--baseline-rev`` (B: the
``src/`` of that commit, exported with ``git archive`` and put first on PYTHONPATH), each in a
fresh process measured by ``bench_measure.measure`` (wall, CPU, peak RSS of the largest process,
PSS of the process tree), after one uncounted A/B pair on the first scale. One more run of each with ``TLFGEN_JOBS=1`` through
``bench_adam_phases.py`` splits the time into read / derive / write / other. Medians are shown.

``--embedded`` (default on) also times the embedded study's ``tlfgen run`` (A only) against the
bare import of the third-party libraries that run loads (``python -c "import ..."``), medians of
``--repeat`` runs each. Timings are never asserted anywhere; see README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_measure import Measurement, measure  # noqa: E402

REPO = HERE.parent
PYTHON = Path(sys.executable)
TLFGEN = PYTHON.parent / "tlfgen"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,10,50", help="copies of the pilot (comma-separated)")
    parser.add_argument("--baseline-rev", default="HEAD~1",
                        help="git revision timed as B ('none': this checkout only, half the time)")
    parser.add_argument("--repeat", type=int, default=3, help="A/B pairs per scale (median shown)")
    parser.add_argument("--work", type=Path, default=HERE / "work" / "pilot", help="scratch folder")
    parser.add_argument("--out", type=Path, default=HERE / "pilot.md", help="results file")
    parser.add_argument("--embedded", dest="embedded", action="store_true", default=True)
    parser.add_argument("--no-embedded", dest="embedded", action="store_false")
    args = parser.parse_args(argv)
    args.scales = [int(s) for s in args.scales.split(",") if s.strip()]
    return args


def prepare_baseline(rev: str, work: Path) -> tuple[str, Path]:
    """``src/`` of ``rev`` under ``<work>/baseline-<sha>/``; returns (short sha, folder holding src)."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, check=True, capture_output=True,
                         text=True).stdout.strip()
    target = work / f"baseline-{sha}"
    if not (target / "src" / "tlfgen").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "src"], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return sha, target


def prepare_study(work: Path, copies: int) -> tuple[Path, dict]:
    """``<work>/xN/`` written once, in a separate process: Linux keeps a process's peak RSS across
    fork and exec, so a runner grown by building x50 would lend its peak to every command it times."""
    folder = work / f"x{copies}"
    marker = folder / "records.json"
    if not marker.is_file():
        code = ("import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1])\n"
                "from bench_pilot_data import create_pilot_study\n"
                "counts = create_pilot_study(Path(sys.argv[2]), int(sys.argv[3]))\n"
                "Path(sys.argv[2], 'records.json').write_text(json.dumps(counts), encoding='utf-8')\n")
        subprocess.run([str(PYTHON), "-c", code, str(HERE), str(folder), str(copies)], check=True)
    return folder, json.loads(marker.read_text(encoding="utf-8"))


def environment(baseline: Path | None, **extra: str) -> dict[str, str]:
    env = dict(os.environ, SOURCE_DATE_EPOCH="0", **extra)
    if baseline is not None:
        env["PYTHONPATH"] = str(baseline / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def median_of(runs: list[Measurement]) -> dict:
    """Per figure, the median over the runs (and whether every run succeeded)."""
    def mid(values: list[float]) -> float:
        return statistics.median(values)
    return {"wall": mid([m.wall for m in runs]), "cpu": mid([m.cpu for m in runs]),
            "peak_mb": mid([m.peak_mb for m in runs]),
            "tree_peak_mb": mid([m.tree_peak_mb or 0.0 for m in runs]), "runs": len(runs),
            "ok": all(m.ok for m in runs), "message": next((m.message for m in runs if not m.ok), "")}


def run_phases(study: Path, baseline: Path | None, log: Path) -> dict:
    out = log.with_suffix(".json")
    cmd = [str(PYTHON), str(HERE / "bench_adam_phases.py"), str(study), str(out)]
    measure(cmd, log, environment(baseline, TLFGEN_JOBS="1"))
    return json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}


def bench_scale(study: Path, baseline: Path | None, repeat: int, logs: Path) -> dict:
    """Interleaved A (B) runs of the ADaM stage; B is left out when ``baseline`` is None."""
    cmd = [str(TLFGEN), "--study", str(study), "adam"]
    runs: dict[str, list[Measurement]] = {"A": []} if baseline is None else {"A": [], "B": []}
    for i in range(repeat):
        runs["A"].append(measure(cmd, logs / f"A{i}.log", environment(None)))
        if baseline is not None:
            runs["B"].append(measure(cmd, logs / f"B{i}.log", environment(baseline)))
    return {side: {**median_of(items), "phases": run_phases(study, baseline if side == "B" else None,
                                                             logs / f"phases-{side}.log")}
            for side, items in runs.items()}


def imported_libraries(study: Path, log: Path) -> list[str]:
    """Top-level third-party modules loaded by ``tlfgen --study <study> run`` (one process)."""
    out = log.with_suffix(".json")
    code = ("import json, sys\nfrom tlfgen.cli import main\nstudy, out = sys.argv[1:3]\n"
            "sys.argv = ['tlfgen', '--study', study, 'run']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "names = sorted({m.split('.')[0] for m in list(sys.modules)} - set(sys.stdlib_module_names))\n"
            "json.dump([n for n in names if not n.startswith('_') and n != 'tlfgen'], open(out, 'w'))\n")
    measure([str(PYTHON), "-c", code, str(study), str(out)], log, environment(None, TLFGEN_JOBS="1"))
    return json.loads(out.read_text(encoding="utf-8"))


def bench_embedded(work: Path, repeat: int) -> dict:
    study = work / "embedded"
    if study.exists():
        shutil.rmtree(study)
    study.mkdir(parents=True)
    for part in ("specs", "raw"):
        shutil.copytree(REPO / part, study / part)
    logs = work / "logs" / "embedded"
    libraries = imported_libraries(study, logs / "imports.log")
    runs, importing = [], []
    for i in range(repeat):  # interleaved: a run, the bare imports, a run, ...
        runs.append(measure([str(TLFGEN), "--study", str(study), "run"], logs / f"run{i}.log", environment(None)))
        importing.append(measure([str(PYTHON), "-c", "; ".join(f"import {n}" for n in libraries)],
                                 logs / f"imp{i}.log", environment(None)))
    run, imp = median_of(runs), median_of(importing)
    return {"libraries": libraries, "run": run, "imports": imp, "ratio": run["wall"] / imp["wall"]}


def read_share(row: dict, side: str) -> float:
    """Per cent of the phases run's total spent reading inputs."""
    phases = row[side]["phases"]
    return 100 * phases.get("read", 0) / max(phases.get("total", 1), 1e-9)


def render_scales(data: dict, sides: str) -> list[str]:
    """The per-scale table: A against B, or A alone (``--baseline-rev none``)."""
    rows = data["scales"].items()
    if sides == "A":
        lines = ["| scale | subjects | LB records | wall s | CPU s | peak MiB | tree MiB | read % |",
                 "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for scale, row in rows:
            a = row["A"]
            lines.append(f"| x{scale} | {row['records']['DM']:,} | {row['records']['LB']:,} | {a['wall']:.1f} | "
                         f"{a['cpu']:.1f} | {a['peak_mb']:.0f} | {a['tree_peak_mb']:.0f} | {read_share(row, 'A'):.0f} |")
        return lines
    lines = ["| scale | subjects | LB records | A wall s | B wall s | A/B wall | A peak MiB | B peak MiB | "
             "A/B peak | A tree MiB | B tree MiB | A/B tree | A read % | B read % |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scale, row in rows:
        a, b = row["A"], row["B"]
        lines.append(f"| x{scale} | {row['records']['DM']:,} | {row['records']['LB']:,} | {a['wall']:.1f} | "
                     f"{b['wall']:.1f} | {a['wall'] / b['wall']:.2f} | {a['peak_mb']:.0f} | {b['peak_mb']:.0f} | "
                     f"{a['peak_mb'] / b['peak_mb']:.2f} | {a['tree_peak_mb']:.0f} | {b['tree_peak_mb']:.0f} | "
                     f"{a['tree_peak_mb'] / b['tree_peak_mb']:.2f} | {read_share(row, 'A'):.0f} | "
                     f"{read_share(row, 'B'):.0f} |")
    return lines


def render(data: dict) -> str:
    sides = "AB" if all("B" in row for row in data["scales"].values()) else "A"
    against = f"B = {data['baseline']}" if sides == "AB" else "no baseline"
    lines = [f"# ADaM stage on the CDISC pilot xN (issue 25)", "",
             f"Generated by `benchmarks/bench_pilot.py` on {data['when']} (load average {data['load']}). "
             f"A = this checkout ({data['head']}), {against}; `tlfgen --study <xN> adam`, "
             f"{data['repeat']} {'interleaved A/B pairs' if sides == 'AB' else 'runs'} per scale, medians. "
             "Phases: one more run of each with TLFGEN_JOBS=1 (`bench_adam_phases.py`).", "",
             *render_scales(data, sides)]
    lines += ["", "Peak MiB: ru_maxrss of the largest process; tree MiB: PSS summed over the process tree, "
              "sampled every 50 ms." + (f" {data['note']}" if data.get("note") else ""),
              "", "Phases (seconds, one TLFGEN_JOBS=1 run each):", "",
              "| scale | side | read | derive | write | other | total |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for scale, row in data["scales"].items():
        for side in sides:
            p = row[side]["phases"]
            lines.append(f"| x{scale} | {side} | " + " | ".join(f"{p.get(k, float('nan')):.2f}" for k in
                                                             ("read", "derive", "write", "other", "total")) + " |")
    scales = sorted(int(s) for s in data["scales"])
    if 10 in scales and 50 in scales:
        for side in sides:
            ratio = data["scales"]["50"][side]["wall"] / data["scales"]["10"][side]["wall"]
            lines.append(f"\nx10 -> x50 wall ({side}): x{ratio:.2f} for 5 times the subjects "
                         f"({'no worse than' if ratio <= 5 else 'worse than'} linear).")
    if data.get("embedded"):
        e = data["embedded"]
        lines += ["", f"Embedded study `tlfgen run`: {e['run']['wall']:.2f} s wall, CPU {e['run']['cpu']:.2f} s "
                  f"(medians of {e['run']['runs']}, interleaved with the imports); "
                  f"bare import of the {len(e['libraries'])} third-party libraries it loads: "
                  f"{e['imports']['wall']:.2f} s wall, CPU {e['imports']['cpu']:.2f} s; ratio {e['ratio']:.2f} "
                  f"(CPU {e['run']['cpu'] / max(e['imports']['cpu'], 1e-9):.2f}).", "",
                  "Libraries: " + ", ".join(e["libraries"])]
    failed = [f"x{s} {side}: {row[side]['message']}" for s, row in data["scales"].items() for side in sides
              if not row[side]["ok"]]
    if failed:
        lines += ["", "Failed runs:", *[f"- {f}" for f in failed]]
    lines += ["", "<!-- data", json.dumps(data, indent=1), "-->", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    sha, baseline = ("none", None) if args.baseline_rev == "none" else prepare_baseline(args.baseline_rev, args.work)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()
    data = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "head": head,
            "baseline": f"{args.baseline_rev} ({sha})", "repeat": args.repeat, "scales": {},
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    for i, copies in enumerate(args.scales):
        study, records = prepare_study(args.work, copies)
        if i == 0:  # warm-up, not counted: byte-compiles the baseline's src, fills the page cache
            bench_scale(study, baseline, 1, args.work / "logs" / "warmup")
        print(f"x{copies}: {records['DM']} subjects, {records['LB']} LB records", flush=True)
        data["scales"][str(copies)] = {"records": records,
                                       **bench_scale(study, baseline, args.repeat, args.work / "logs" / f"x{copies}")}
    if args.embedded:
        data["embedded"] = bench_embedded(args.work, args.repeat)
    args.out.write_text(render(data), encoding="utf-8")
    print(render(data).split("<!-- data")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
