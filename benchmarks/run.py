"""Benchmark runner for the whole tlfgen pipeline (issue 10). Measures only.

Usage::

    .venv/bin/python benchmarks/run.py [--sizes 60,1000,5000] [--quick] [--out benchmarks/results.md]

For each size N (total subjects, N/2 per arm) it simulates a study into
``<work>/<N>/`` (specs copied from the repository; simulate time reported but
excluded), then times ``tlfgen --study <dir> sdtm``, ``adam``, ``tlf`` and ``run``,
each in a fresh process (wall, CPU, peak RSS), and the I/O floor
(``bench_floor.py``) the same way. It also times ``tlfgen --help`` and, for
5,000 subjects and more, samples the three timed stage runs with py-spy attached. ``--quick`` runs 60
and 1,000 subjects and compares with the committed ``results.md`` (PASS /
REGRESSION per stage; exit code 1 on a regression).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_measure import Measurement, measure, median_measurement, median_wall  # noqa: E402
from bench_profile import find_pyspy, profile_stage, read_profile, sampler_command  # noqa: E402
from bench_report import compare_results, format_comparison, read_embedded_data, render_markdown  # noqa: E402

REPO = HERE.parent
SEED = 20200803  # the embedded study's seed: 60 subjects with it is the embedded study
PACKAGES = ("tlfgen", "pandas", "numpy", "pyreadstat", "pydantic", "scipy", "statsmodels", "lifelines",
            "python-docx", "openpyxl", "matplotlib", "typer", "py-spy")
NOTES = HERE / "hotspot_notes.md"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated total subjects (default 60,1000,5000)")
    parser.add_argument("--quick", action="store_true", help="60 and 1000 only; compare with --baseline")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default benchmarks/results.md; in --quick mode benchmarks/work/quick.md)")
    parser.add_argument("--baseline", type=Path, default=HERE / "results.md", help="committed results for --quick")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="scratch folder for the studies")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per measurement, median shown (default 3 up to 1,000 subjects, else 1)")
    parser.add_argument("--help-runs", type=int, default=5, help="runs of `tlfgen --help` (median)")
    parser.add_argument("--profile", dest="profile", action="store_true", default=None,
                        help="profile the sdtm, adam and tlf runs of sizes >= --profile-min with py-spy "
                             "attached (default on unless --quick)")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--profile-min", type=int, default=5000, help="smallest size to profile")
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--e2e-max", type=int, default=10**9,
                        help="skip the end-to-end `run` above this many subjects (saves a pass on big studies)")
    parser.add_argument("--tolerance", type=float, default=1.3, help="regression threshold for --quick")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--update", action="store_true",
                        help="measure nothing new: re-render --out from its embedded data and the current "
                             "hotspot_notes.md, adding profiles for --profile-sizes")
    parser.add_argument("--profile-sizes", default="",
                        help="with --update: sizes whose existing study folders are profiled again (py-spy record)")
    args = parser.parse_args(argv)
    default_sizes = "60,1000" if args.quick else "60,1000,5000"
    args.sizes = [int(s) for s in (args.sizes or default_sizes).split(",") if s.strip()]
    if any(n < 2 or n % 2 for n in args.sizes):
        parser.error("--sizes must be even numbers >= 2 (two arms)")
    if args.out is None:
        args.out = (args.work / "quick.md") if args.quick else HERE / "results.md"
    if args.profile is None:
        args.profile = not args.quick
    return args


def tlfgen_command() -> Path:
    exe = Path(sys.executable).parent / "tlfgen"
    if not exe.exists():
        raise SystemExit(f"no tlfgen entry point next to {sys.executable}; install the package into .venv")
    return exe


def describe_machine() -> dict:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"cpu_model": model or platform.processor() or platform.machine(),
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "mem_total_gb": mem_kb / 1024 / 1024, "platform": platform.platform(), "load_start": load_average()}


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def prepare_study(study: Path, subjects: int, seed: int) -> dict:
    """Fresh study folder: specs copied from the repository, raw simulated (timed in-process)."""
    if study.exists():
        shutil.rmtree(study)
    study.mkdir(parents=True)
    shutil.copytree(REPO / "specs", study / "specs")
    from tlfgen.simulate.run import simulate

    start = time.perf_counter()
    simulate(study / "raw", subjects_per_arm=subjects // 2, seed=seed)
    seconds = time.perf_counter() - start
    volumes = {}
    for path in sorted((study / "raw").glob("*.csv")):
        with path.open("rb") as handle:
            volumes[path.stem] = max(0, sum(1 for _ in handle) - 1)
    return {"seconds": seconds, "volumes": volumes}


def measure_repeated(cmd: list[str], log: Path, repeat: int, sampler: list[str] | None = None) -> Measurement:
    runs = [measure(cmd, log, sampler=sampler)]
    while len(runs) < repeat and runs[-1].ok:
        runs.append(measure(cmd, log))
    return median_measurement(runs)


def bench_size(n: int, args: argparse.Namespace, tlfgen: Path) -> dict:
    study = args.work / str(n)
    print(f"[{n}] simulating {n} subjects into {study}", flush=True)
    sim = prepare_study(study, n, args.seed)
    repeat = args.repeat or (3 if n <= 1000 else 1)
    logs = args.work / "logs" / str(n)
    stages = {}
    pyspy = find_pyspy(tlfgen) if args.profile and n >= args.profile_min else None
    profiles = []
    for stage in ("sdtm", "adam", "tlf", "run"):
        if stage == "run" and n > args.e2e_max:
            print(f"[{n}] run  skipped (--e2e-max {args.e2e_max})", flush=True)
            continue
        sampler = None
        if pyspy and stage != "run":
            sampler = sampler_command(pyspy, args.work / "profiles" / f"{n}_{stage}.txt", args.profile_rate)
        m = measure_repeated([str(tlfgen), "--study", str(study), stage], logs / f"{stage}.log", repeat, sampler)
        if sampler:
            p = read_profile(stage, args.work / "profiles" / f"{n}_{stage}.txt")
            profiles.append(_profile_dict(p, n, args.profile_rate))
        stages[stage] = m.to_dict()
        status = "ok" if m.ok else f"FAILED rc={m.rc}"
        print(f"[{n}] {stage:<4} wall {m.wall:7.2f} s  cpu {m.cpu:7.2f} s  peak {m.peak_mb:7.0f} MiB  tree {m.tree_peak_mb or 0:7.0f} MiB  {status}",
              flush=True)
    floor = measure_repeated([sys.executable, str(HERE / "bench_floor.py"), str(study), str(args.work / "floor")],
                             logs / "floor.log", repeat)
    floor_dict = floor.to_dict()
    if floor.ok:
        lines = (logs / "floor.log").read_text(encoding="utf-8").strip().splitlines()
        floor_dict["detail"] = json.loads(lines[-1]) if lines else {}
    print(f"[{n}] floor wall {floor.wall:7.2f} s  cpu {floor.cpu:7.2f} s  peak {floor.peak_mb:7.0f} MiB"
          f"  {'ok' if floor.ok else 'FAILED'}", flush=True)
    return {"simulate": {"seconds": sim["seconds"]}, "volumes": sim["volumes"], "stages": stages,
            "floor": floor_dict, "repeat": repeat, "profiles": profiles}


def _profile_dict(p, n: int, rate: int) -> dict:
    return {"stage": p.stage, "size": n, "rate": rate, "samples": p.samples, "lines": p.lines,
            "functions": p.functions, "leaves": p.leaves, "error": p.error}


def update_report(args: argparse.Namespace, tlfgen: Path) -> int:
    """Re-render ``--out`` from its embedded data, optionally profiling existing study folders again."""
    results = read_embedded_data(args.out.read_text(encoding="utf-8")) if args.out.exists() else None
    if results is None:
        print(f"no embedded benchmark data in {args.out}")
        return 2
    sizes = [int(s) for s in args.profile_sizes.split(",") if s.strip()]
    for n in sizes:
        study = args.work / str(n)
        if not (study / "adam").exists():
            print(f"no study with outputs in {study}; run the benchmark first")
            return 2
        results["profiles"] = [p for p in results.get("profiles", []) if p["size"] != n]
        for stage in ("sdtm", "adam", "tlf"):
            print(f"[{n}] profiling {stage} with py-spy record", flush=True)
            p = profile_stage(tlfgen, study, stage, args.work / "profiles" / f"{n}_{stage}.txt", args.profile_rate)
            results["profiles"].append(_profile_dict(p, n, args.profile_rate))
    results["profiles"].sort(key=lambda p: (-p["size"], ["sdtm", "adam", "tlf"].index(p["stage"])))
    notes = NOTES.read_text(encoding="utf-8") if NOTES.exists() else ""
    args.out.write_text(render_markdown(results, notes), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.update:
        return update_report(args, tlfgen_command())
    args.work.mkdir(parents=True, exist_ok=True)
    ignore = args.work / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# scratch studies, logs and profiles of benchmarks/run.py\n*\n", encoding="utf-8")
    tlfgen = tlfgen_command()
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": describe_machine(),
               "versions": package_versions(), "mode": "quick" if args.quick else "full",
               "repeats": args.repeat or "3 up to 1,000 subjects, else 1", "sizes": {}}
    help_wall, help_rc = median_wall([str(tlfgen), "--help"], args.work / "logs" / "help.log", args.help_runs)
    results["help_seconds"] = help_wall if help_rc == 0 else None
    print(f"tlfgen --help: median {help_wall:.3f} s over {args.help_runs} run(s) (exit {help_rc})", flush=True)
    results["profiles"] = []
    for n in args.sizes:
        size = bench_size(n, args, tlfgen)
        results["profiles"] += size.pop("profiles")
        results["sizes"][str(n)] = size
    results["machine"]["load_end"] = load_average()
    notes = NOTES.read_text(encoding="utf-8") if NOTES.exists() and results["profiles"] else ""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_markdown(results, notes), encoding="utf-8")
    print(f"wrote {args.out}")
    failed = [f"{n}/{s}" for n, size in results["sizes"].items() for s, m in size["stages"].items() if not m["ok"]]
    if failed:
        print("FAILED stages: " + ", ".join(failed))
    if args.quick:
        baseline = read_embedded_data(args.baseline.read_text(encoding="utf-8")) if args.baseline.exists() else None
        if baseline is None:
            print(f"no baseline data in {args.baseline}; nothing to compare")
            return 1 if failed else 0
        rows = compare_results(results, baseline, args.tolerance)
        print("\n".join(format_comparison(rows)))
        if any(r["status"] in ("REGRESSION", "FAILED") for r in rows):
            return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
