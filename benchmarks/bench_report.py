"""Benchmark report: targets, ratios, the regression guard and ``results.md``.

Pure functions over the results dictionary the runner builds:

``{"machine": {...}, "versions": {...}, "date": str, "help_seconds": float,
  "sizes": {"60": {"simulate": {...}, "stages": {"sdtm": {...}, ..., "run": {...}},
                   "floor": {...measurement, "detail": {...}}, "volumes": {...}}, ...},
  "profiles": [...]}``

``results.md`` ends with the same dictionary as JSON inside an HTML comment, so
``--quick`` can compare a new run with the committed one.
"""

from __future__ import annotations

import json
import math
import re

STAGES = ("sdtm", "adam", "tlf")
TARGETS = {
    "embedded_wall": 3.0,  # s, the 60-subject study end to end, start-up included
    "large_wall": 30.0,  # s, 5,000 subjects end to end
    "large_peak_mb": 2048.0,  # MiB
    "doubling": 2.2,  # time(2N) / time(N)
    "floor_ratio": 3.0,  # pipeline / I-O floor
    "help_wall": 0.5,  # s, median of `tlfgen --help`
}
DATA_START = "<!-- bench-data"
DATA_END = "-->"


def compute_doubling_factor(n1: int, t1: float, n2: int, t2: float) -> float | None:
    """Time factor per doubling of the subjects, assuming t ~ N^b between the two sizes."""
    if n1 <= 0 or n2 <= n1 or t1 <= 0 or t2 <= 0:
        return None
    exponent = math.log(t2 / t1) / math.log(n2 / n1)
    return 2.0 ** exponent


def _ok_run(size: dict) -> dict | None:
    """The end-to-end measurement; when `run` was skipped, the sum of the three stage runs
    (an upper bound: three start-ups instead of one), marked ``summed``."""
    stages = size.get("stages", {})
    run = stages.get("run")
    if run is not None:
        return run if run.get("ok") else None
    parts = [stages.get(s) for s in STAGES]
    if not all(m and m.get("ok") for m in parts):
        return None
    return {"wall": sum(m["wall"] for m in parts), "cpu": sum(m["cpu"] for m in parts),
            "peak_mb": max(m["peak_mb"] for m in parts), "tree_peak_mb": max(_tree(m) or 0 for m in parts) or None,
            "ok": True, "summed": True}


def _tree(m: dict) -> float | None:
    """PSS summed over the process tree (tlfgen forks a second process), when it was sampled."""
    return m.get("tree_peak_mb")


def memory_mb(m: dict) -> float:
    """What the memory target is judged on: the larger of the biggest single process (ru_maxrss)
    and the process tree's sampled PSS sum."""
    return max(m["peak_mb"], _tree(m) or 0.0)


def _without_run(size: dict) -> dict:
    return dict(size, stages={k: v for k, v in size.get("stages", {}).items() if k != "run"})


def compute_targets(results: dict) -> list[dict]:
    """One row per target: name, measured text, target text, met (True/False/None = not measured)."""
    sizes = {int(n): s for n, s in results.get("sizes", {}).items()}
    rows = []

    def add(name: str, measured: float | None, target: float, unit: str, note: str = "") -> None:
        met = None if measured is None else measured <= target
        shown = "not measured" if measured is None else f"{measured:.2f} {unit}".strip()
        if measured is not None and note.startswith("CPU"):
            shown, note = f"{shown} ({note})", ""
        rows.append({"target": name, "measured": shown, "limit": f"<= {target:g} {unit}".strip(),
                     "met": met, "note": note})

    small = _ok_run(sizes[60]) if 60 in sizes else None
    add("embedded study (60) end to end, wall", small and small["wall"], TARGETS["embedded_wall"], "s",
        f"CPU {small['cpu']:.2f} s" if small else "")
    large = _ok_run(sizes[5000]) if 5000 in sizes else None
    summed = " (sum of the 3 stage runs; `run` skipped)" if large and large.get("summed") else ""
    add("5,000 subjects end to end, wall" + summed, large and large["wall"], TARGETS["large_wall"], "s",
        f"CPU {large['cpu']:.2f} s" if large else "")
    add("5,000 subjects end to end, peak memory" + summed, large and memory_mb(large), TARGETS["large_peak_mb"], "MiB",
        ("largest single stage; an end-to-end `run` holds more; " if summed else "")
        + "max of the largest process's RSS and the process tree's PSS sum")
    ordered = sorted(n for n in sizes if _ok_run(sizes[n]))
    for n1, n2 in zip(ordered, ordered[1:]):
        r1, r2 = _ok_run(sizes[n1]), _ok_run(sizes[n2])
        basis = ""
        if r1.get("summed") != r2.get("summed"):  # compare like with like: both as the sum of the stages
            r1, r2 = _ok_run(_without_run(sizes[n1])), _ok_run(_without_run(sizes[n2]))
            basis = "; sums of the 3 stage runs"
        factor = compute_doubling_factor(n1, r1["wall"], n2, r2["wall"])
        cpu_factor = compute_doubling_factor(n1, r1["cpu"], n2, r2["cpu"])
        kind = ("exact doubling" if n2 == 2 * n1 else f"per doubling implied by {n1} -> {n2} (t ~ N^b)") + basis
        add(f"doubling factor {n1} -> {n2}, wall", factor, TARGETS["doubling"], "x",
            f"{kind}; CPU {cpu_factor:.2f}x" if cpu_factor else kind)
    for n in sorted(sizes):
        run, floor = _ok_run(sizes[n]), sizes[n].get("floor")
        usable = run and floor and floor.get("ok") and floor["wall"] > 0 and floor["cpu"] > 0
        ratio = run["wall"] / floor["wall"] if usable else None
        what = "stages summed" if run and run.get("summed") else "`run`"
        add(f"{n} subjects: {what} / I-O floor, wall", ratio, TARGETS["floor_ratio"], "x",
            f"CPU {run['cpu'] / floor['cpu']:.2f}x" if usable else "")
    add("`tlfgen --help` start-up, median of runs", results.get("help_seconds"), TARGETS["help_wall"], "s")
    return rows


def compare_results(current: dict, baseline: dict, tolerance: float = 1.3) -> list[dict]:
    """Regression guard: per size and stage, current / baseline CPU, raw and floor-normalised.

    A stage regresses when its CPU time divided by the I/O floor CPU measured in the
    same run grew by more than ``tolerance`` (machine speed cancels out), or when its
    peak RSS grew by more than ``tolerance``.
    """
    rows = []
    for n, size in sorted(current.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        base = baseline.get("sizes", {}).get(n)
        if not base:
            rows.append({"size": int(n), "stage": "*", "status": "NO BASELINE", "cpu_ratio": None,
                         "norm_ratio": None, "peak_ratio": None})
            continue
        floor_now, floor_base = size.get("floor", {}).get("cpu"), base.get("floor", {}).get("cpu")
        for stage in STAGES + ("run",):
            now, was = size["stages"].get(stage), base.get("stages", {}).get(stage)
            if not now or not was or not was.get("ok"):
                continue
            if not now.get("ok"):
                rows.append({"size": int(n), "stage": stage, "status": "FAILED", "cpu_ratio": None,
                             "norm_ratio": None, "peak_ratio": None})
                continue
            cpu_ratio = now["cpu"] / was["cpu"] if was["cpu"] > 0 else None
            norm = None
            if cpu_ratio is not None and floor_now and floor_base:
                norm = cpu_ratio / (floor_now / floor_base)
            peak_ratio = now["peak_mb"] / was["peak_mb"] if was["peak_mb"] > 0 else None
            regressed = (norm if norm is not None else cpu_ratio or 0) > tolerance or (peak_ratio or 0) > tolerance
            rows.append({"size": int(n), "stage": stage, "status": "REGRESSION" if regressed else "PASS",
                         "cpu_ratio": cpu_ratio, "norm_ratio": norm, "peak_ratio": peak_ratio})
    return rows


def format_comparison(rows: list[dict]) -> list[str]:
    def fmt(x):
        return "-" if x is None else f"{x:.2f}x"

    return [f"{r['status']:<11} size={r['size']:<5} stage={r['stage']:<5} cpu={fmt(r['cpu_ratio'])} "
            f"cpu/floor={fmt(r['norm_ratio'])} peak={fmt(r['peak_ratio'])}" for r in rows]


def read_embedded_data(markdown: str) -> dict | None:
    """The results dictionary embedded at the end of a results.md, or None."""
    match = re.search(re.escape(DATA_START) + r"\n(.*?)\n" + re.escape(DATA_END), markdown, re.S)
    return json.loads(match.group(1)) if match else None


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _stage_table(size: dict) -> list[str]:
    lines = ["| stage | wall s | CPU s (user+sys) | peak MiB (largest process) | tree MiB (PSS sum) | exit | note |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    stages = size.get("stages", {})
    for stage in STAGES:
        m = stages.get(stage)
        if m:
            lines.append(_stage_row(stage, m))
    parts = [stages[s] for s in STAGES if s in stages]
    if parts and all(m.get("ok") for m in parts):
        lines.append(f"| sum of the 3 stages | {sum(m['wall'] for m in parts):.2f} | "
                     f"{sum(m['cpu'] for m in parts):.2f} | {max(m['peak_mb'] for m in parts):.0f} | "
                     f"{_num(max(_tree(m) or 0 for m in parts) or None, 0)} | | max peak |")
    if "run" in stages:
        lines.append(_stage_row("`run` end to end", stages["run"]))
    if size.get("floor"):
        lines.append(_stage_row("I/O floor", size["floor"]))
    return lines


def _stage_row(name: str, m: dict) -> str:
    note = "" if m.get("ok") else "FAILED: " + " ".join((m.get("message") or "").split())[-300:]
    return f"| {name} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['peak_mb']:.0f} | {_num(_tree(m), 0)} | {m['rc']} | {note} |"


def _floor_lines(size: dict) -> list[str]:
    floor = size.get("floor") or {}
    detail = floor.get("detail") or {}
    if not detail:
        return []
    phases = detail.get("phases", {})
    order = ("import", "read_raw", "write_sdtm", "read_sdtm", "write_adam", "read_adam")
    text = ", ".join(f"{k} {phases[k]:.2f} s" for k in order if k in phases)
    lines = [f"I/O floor phases (inside the process): {text}. Moved: {detail.get('raw_rows', 0):,} raw rows "
             f"in {detail.get('raw_files', 0)} CSVs; {detail.get('sdtm_rows', 0):,} SDTM rows in "
             f"{detail.get('sdtm_datasets', 0)} datasets ({detail.get('sdtm_bytes', 0) / 1e6:.1f} MB XPT+JSON); "
             f"{detail.get('adam_rows', 0):,} ADaM rows in {detail.get('adam_datasets', 0)} datasets "
             f"({detail.get('adam_bytes', 0) / 1e6:.1f} MB)."]
    stage_floor = detail.get("stage_phases", {})
    stages = size.get("stages", {})
    startup = floor["wall"] - detail.get("inside_seconds", 0) + phases.get("import", 0)
    ratios = []
    for stage in STAGES:
        m = stages.get(stage)
        if m and m.get("ok") and stage in stage_floor:
            ratios.append(f"{stage} {m['wall'] / (startup + stage_floor[stage]):.1f}x")
    if ratios:
        lines.append(f"Per-stage wall / (start-up {startup:.2f} s + that stage's floor phases): {', '.join(ratios)}.")
    return lines


def render_markdown(results: dict, notes: str = "") -> str:
    m, v = results["machine"], results["versions"]
    out = ["# tlfgen benchmark results", "",
           "Written by `benchmarks/run.py` (see `benchmarks/README.md`); do not edit by hand except the notes.", "",
           "## Machine and versions", "",
           f"- date: {results['date']}",
           f"- CPU: {m.get('cpu_model')} ({m.get('nproc')} logical CPUs available)",
           f"- memory: {m.get('mem_total_gb', 0):.1f} GiB",
           f"- load average at start / end: {m.get('load_start')} / {m.get('load_end')} "
           "(other processes share this machine; CPU time is steadier than wall time)",
           "- " + ", ".join(f"{k} {val}" for k, val in v.items()), "",
           f"Mode: {results.get('mode')}; repeats per measurement: {results.get('repeats')} "
           "(median run by wall time shown). Every stage runs as `tlfgen --study <dir> <stage>` in a fresh "
           "process: interpreter start-up, spec checks and the manifest are included.", "",
           "## Results per size", ""]
    for n, size in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        sim = size.get("simulate", {})
        vol = size.get("volumes", {})
        out += [f"### {int(n):,} subjects", "",
                f"Simulated in {_num(sim.get('seconds'))} s (excluded from the totals); raw rows: "
                + ", ".join(f"{k} {c:,}" for k, c in vol.items()), ""]
        out += _stage_table(size) + [""]
        out += _floor_lines(size) + [""]
    out += ["## Targets (issue 10)", "", "| target | measured | limit | met | note |", "| --- | ---: | ---: | --- | --- |"]
    for row in compute_targets(results):
        met = {True: "met", False: "NOT MET", None: "not measured"}[row["met"]]
        out.append(f"| {row['target']} | {row['measured']} | {row['limit']} | {met} | {row['note']} |")
    out += ["", "## Hot spots", ""]
    out += render_profiles(results.get("profiles", []))
    if notes.strip():
        out += ["", notes.strip()]
    out += ["", DATA_START, json.dumps(results, sort_keys=True, indent=1), DATA_END, ""]
    return "\n".join(out)


def render_profiles(profiles: list[dict]) -> list[str]:
    if not profiles:
        return ["Not profiled in this run."]
    out = ["py-spy samples wall-clock stacks of the stage process (idle waits included). A sample is charged to "
           "the innermost tlfgen frame on its stack, so pandas/numpy time lands on the tlfgen line that called it; "
           "samples with no tlfgen frame are start-up, imports and the CLI. Percentages are of all samples.", ""]
    for p in profiles:
        out.append(f"### {p['stage']} at {p['size']:,} subjects (py-spy, {p['samples']:,} samples at {p['rate']} Hz)")
        out.append("")
        if p.get("error"):
            out += [f"Profile failed: {p['error']}", ""]
            continue
        out += ["tlfgen line responsible (innermost tlfgen frame, library calls included):", "",
                "| % samples | function | file:line |", "| ---: | --- | --- |"]
        out += [f"| {share * 100:.1f} | `{func}` | {where} |" for func, where, share in p["lines"]]
        out += ["", "tlfgen functions, inclusive:", "", "| % samples | function | file |", "| ---: | --- | --- |"]
        out += [f"| {share * 100:.1f} | `{func}` | {where} |" for func, where, share in p["functions"]]
        out += ["", "Leaf frames (self time, any package):", "", "| % samples | function | file |", "| ---: | --- | --- |"]
        out += [f"| {share * 100:.1f} | `{func}` | {where} |" for func, where, share in p["leaves"][:8]]
        out.append("")
    return out
