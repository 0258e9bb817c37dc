"""Benchmark harness (benchmarks/): smoke run on a tiny study plus the pure report functions.

Asserts the structure of the report and the arithmetic of ratios, never timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

from bench_measure import Measurement, measure, median_measurement  # noqa: E402
from bench_profile import parse_collapsed, parse_frame, summarise_stacks  # noqa: E402
from bench_report import (  # noqa: E402
    compare_results,
    compute_doubling_factor,
    compute_targets,
    read_embedded_data,
    render_markdown,
)


def _m(wall: float, cpu: float, peak: float, rc: int = 0) -> dict:
    return {"wall": wall, "user": cpu, "sys": 0.0, "cpu": cpu, "peak_mb": peak, "rc": rc, "ok": rc in (0, 1),
            "message": "" if rc in (0, 1) else "boom"}


def _size(wall: float, cpu: float, peak: float, floor_cpu: float) -> dict:
    stages = {s: _m(wall, cpu, peak) for s in ("sdtm", "adam", "tlf", "run")}
    return {"simulate": {"seconds": 0.1}, "volumes": {"dm": 4}, "stages": stages,
            "floor": dict(_m(floor_cpu, floor_cpu, 50.0), detail={}), "repeat": 1}


def _results(sizes: dict) -> dict:
    return {"date": "2026-01-01 00:00 UTC", "machine": {"cpu_model": "x", "nproc": 2, "mem_total_gb": 1.0,
                                                       "load_start": "0", "load_end": "0"},
            "versions": {"python": "3.11"}, "mode": "full", "repeats": 1, "help_seconds": 0.4,
            "sizes": sizes, "profiles": []}


# ---------------------------------------------------------------- smoke run of the runner


def test_runner_quick_mode_on_a_tiny_study_writes_the_report_and_passes_a_slow_baseline(tmp_path: Path) -> None:
    # baseline far slower than any real run: every stage must compare as PASS (no timing assertion)
    baseline = tmp_path / "baseline.md"
    baseline.write_text(render_markdown(_results({"10": _size(1e4, 1e4, 1e6, 1.0)})), encoding="utf-8")
    out = tmp_path / "quick.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--sizes", "10", "--repeat", "1", "--help-runs", "1",
         "--work", str(tmp_path / "work"), "--out", str(out), "--baseline", str(baseline)],
        capture_output=True, text=True, check=False, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    statuses = [line.split()[0:3] for line in proc.stdout.splitlines() if line.startswith(("PASS", "REGRESSION"))]
    assert statuses == [["PASS", "size=10", f"stage={s}"] for s in ("sdtm", "adam", "tlf", "run")]
    text = out.read_text(encoding="utf-8")
    for heading in ("## Machine and versions", "### 10 subjects", "## Targets (issue 10)", "## Hot spots"):
        assert heading in text
    for row in ("| sdtm |", "| adam |", "| tlf |", "| `run` end to end |", "| I/O floor |"):
        assert row in text
    data = read_embedded_data(text)
    assert data is not None
    size = data["sizes"]["10"]
    assert sorted(size["stages"]) == ["adam", "run", "sdtm", "tlf"]
    assert all(m["ok"] for m in size["stages"].values())
    assert size["volumes"]["dm"] == 10
    assert sorted(size["floor"]["detail"]["stage_phases"]) == ["adam", "sdtm", "tlf"]
    assert size["floor"]["detail"]["raw_files"] == len(size["volumes"])
    assert (tmp_path / "work" / "10" / "sdtm" / "dm.xpt").exists()


# ---------------------------------------------------------------- pure functions


def test_doubling_factor_is_exact_for_a_doubling_and_implied_otherwise() -> None:
    assert compute_doubling_factor(1000, 10.0, 2000, 22.0) == pytest.approx(2.2)
    assert compute_doubling_factor(1000, 10.0, 4000, 40.0) == pytest.approx(2.0)  # linear: 2x per doubling
    assert compute_doubling_factor(1000, 10.0, 4000, 10.0) == pytest.approx(1.0)
    assert compute_doubling_factor(1000, 0.0, 2000, 1.0) is None


def test_targets_mark_met_and_not_met() -> None:
    results = _results({"60": _size(2.0, 1.5, 150.0, 0.5), "5000": _size(40.0, 35.0, 2500.0, 10.0)})
    results["sizes"]["60"]["floor"]["wall"] = 1.0
    results["sizes"]["5000"]["floor"]["wall"] = 10.0
    rows = {r["target"]: r for r in compute_targets(results)}
    assert rows["embedded study (60) end to end, wall"]["met"] is True
    assert rows["embedded study (60) end to end, wall"]["measured"] == "2.00 s (CPU 1.50 s)"
    assert rows["5,000 subjects end to end, wall"]["met"] is False
    assert rows["5,000 subjects end to end, peak memory"]["met"] is False
    assert rows["60 subjects: `run` / I-O floor, wall"]["measured"] == "2.00 x (CPU 3.00x)"
    assert rows["5000 subjects: `run` / I-O floor, wall"]["met"] is False  # 40 / 10 = 4x
    assert rows["`tlfgen --help` start-up, median of runs"]["met"] is True
    doubling = rows["doubling factor 60 -> 5000, wall"]
    assert doubling["measured"] == f"{compute_doubling_factor(60, 2.0, 5000, 40.0):.2f} x"


def test_memory_target_takes_the_process_trees_sum_when_it_is_larger() -> None:
    results = _results({"5000": _size(20.0, 20.0, 1500.0, 10.0)})
    rows = {r["target"]: r for r in compute_targets(results)}
    assert rows["5,000 subjects end to end, peak memory"]["measured"] == "1500.00 MiB"
    assert rows["5,000 subjects end to end, peak memory"]["met"] is True
    results["sizes"]["5000"]["stages"]["run"]["tree_peak_mb"] = 2100.0  # two processes of ~1 GB each
    rows = {r["target"]: r for r in compute_targets(results)}
    assert rows["5,000 subjects end to end, peak memory"]["measured"] == "2100.00 MiB"
    assert rows["5,000 subjects end to end, peak memory"]["met"] is False
    assert "| `run` end to end | 20.00 | 20.00 | 1500 | 2100 | 0 |  |" in render_markdown(results)


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux /proc")
def test_measure_sums_the_memory_of_a_forked_child(tmp_path) -> None:
    code = ("import os, time\n"
            "a = b'x' * (120 * 2**20)\n"  # shared by both after the fork
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    b = b'y' * (120 * 2**20)\n"
            "    time.sleep(1.5)\n"
            "    os._exit(0)\n"
            "c = b'z' * (120 * 2**20)\n"
            "os.waitpid(pid, 0)\n")
    m = measure([sys.executable, "-c", code], tmp_path / "log.txt")
    assert m.ok
    assert m.peak_mb >= 235  # the largest single process holds two 120 MiB blocks (ru_maxrss, a high-water mark)
    assert m.tree_peak_mb >= 355  # the tree holds three blocks: the sum sees the child's too


def test_compare_flags_a_cpu_regression_and_cancels_machine_speed() -> None:
    baseline = _results({"60": _size(2.0, 2.0, 100.0, 1.0)})
    slower_machine = _results({"60": _size(4.0, 4.0, 100.0, 2.0)})  # everything 2x, floor too
    rows = compare_results(slower_machine, baseline, tolerance=1.3)
    assert [r["status"] for r in rows] == ["PASS"] * 4
    assert rows[0]["cpu_ratio"] == pytest.approx(2.0) and rows[0]["norm_ratio"] == pytest.approx(1.0)
    slower_code = _results({"60": _size(3.0, 3.0, 100.0, 1.0)})
    assert [r["status"] for r in compare_results(slower_code, baseline, 1.3)] == ["REGRESSION"] * 4
    fatter = _results({"60": _size(2.0, 2.0, 140.0, 1.0)})
    assert compare_results(fatter, baseline, 1.3)[0]["status"] == "REGRESSION"
    assert compare_results(_results({"1000": _size(1, 1, 1, 1)}), baseline)[0]["status"] == "NO BASELINE"


def test_markdown_embeds_the_results_for_the_next_comparison() -> None:
    results = _results({"60": _size(2.0, 1.5, 150.0, 0.5)})
    results["sizes"]["60"]["stages"]["adam"] = _m(1.0, 1.0, 10.0, rc=3)
    text = render_markdown(results)
    assert read_embedded_data(text) == json.loads(json.dumps(results))
    assert "| adam | 1.00 | 1.00 | 10 | - | 3 | FAILED: boom |" in text
    assert read_embedded_data("# no data") is None


def test_median_measurement_takes_the_median_wall_and_reports_failures_first() -> None:
    runs = [Measurement(3.0, 1, 0, 10, 0), Measurement(1.0, 1, 0, 10, 0), Measurement(2.0, 1, 0, 10, 1)]
    assert median_measurement(runs).wall == 2.0
    failed = Measurement(9.0, 1, 0, 10, 2, "Traceback")
    assert median_measurement(runs + [failed]) is failed


def test_profile_summary_attributes_samples_to_the_innermost_tlfgen_line() -> None:
    text = (
        "<module> (/v/bin/tlfgen:6);run_sdtm (/r/src/tlfgen/sdtm/run.py:10);"
        "derive_seq (/r/src/tlfgen/sdtm/timing.py:42);apply (/v/site-packages/pandas/core/frame.py:100) 30\n"
        "<module> (tlfgen:6);run_sdtm (tlfgen/sdtm/run.py:12) 10\n"
        "<module> (/v/bin/tlfgen:6);_find_and_load (<frozen importlib._bootstrap>:1) 10\n"
    )
    profile = summarise_stacks("sdtm", parse_collapsed(text))
    assert profile.samples == 50
    assert profile.lines[0] == ("derive_seq", "tlfgen/sdtm/timing.py:42", 0.6)
    assert ("(outside tlfgen: start-up, imports, CLI)", "-", 0.2) in profile.lines
    assert profile.functions[0] == ("run_sdtm", "tlfgen/sdtm/run.py", 0.8)
    assert profile.leaves[0] == ("apply", "pandas/core/frame.py", 0.6)
    assert parse_frame("f (x.py:3)") == ("f", "x.py", 3)


def test_skipped_run_falls_back_to_the_sum_of_the_stages_like_with_like() -> None:
    results = _results({"1000": _size(2.0, 2.0, 100.0, 1.0), "2000": _size(4.0, 4.0, 300.0, 1.0)})
    del results["sizes"]["2000"]["stages"]["run"]
    rows = {r["target"]: r for r in compute_targets(results)}
    # 2000: three stages of 4 s summed = 12 s vs 1000: three stages of 2 s = 6 s -> exactly 2x
    doubling = rows["doubling factor 1000 -> 2000, wall"]
    assert doubling["measured"] == "2.00 x"
    assert doubling["note"] == "exact doubling; sums of the 3 stage runs; CPU 2.00x"
    assert rows["2000 subjects: stages summed / I-O floor, wall"]["measured"] == "12.00 x (CPU 12.00x)"
