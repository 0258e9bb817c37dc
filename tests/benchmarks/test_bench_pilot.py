"""Benchmark harness of issue 25 (benchmarks/bench_pilot*.py): the replicated pilot data, the spec
change, and the report arithmetic. Never timings."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_pilot import render  # noqa: E402
from bench_pilot_data import LAB_TESTS, PILOT, add_lstalvdt, create_lab, create_replicated  # noqa: E402

from tlfgen.spec.adam import load_adam_spec_files  # noqa: E402


def test_replicated_copies_get_their_own_subject_ids() -> None:
    dm = pd.DataFrame({"STUDYID": ["S", "S"], "USUBJID": ["01-701-1015", "01-701-1023"], "AGE": [63.0, 64.0]})
    big = create_replicated(dm, 3)
    assert big["USUBJID"].tolist() == ["01-701-1015", "01-701-1023", "01-701-1015-01", "01-701-1023-01",
                                       "01-701-1015-02", "01-701-1023-02"]
    assert big["AGE"].tolist() == [63.0, 64.0] * 3
    assert dm["USUBJID"].tolist() == ["01-701-1015", "01-701-1023"]  # the input is not changed


def test_lab_has_one_record_per_visit_and_test() -> None:
    sv = pd.DataFrame({"STUDYID": ["S"] * 3, "USUBJID": ["A", "A", "B"], "VISITNUM": [1.0, 3.0, 1.0],
                       "VISIT": ["SCREENING 1", "BASELINE", "SCREENING 1"], "VISITDY": [-7.0, 1.0, -7.0],
                       "SVSTDTC": ["2014-01-01", "2014-01-08", "2014-02-01"]})
    lab = create_lab(sv)
    n = len(LAB_TESTS)
    assert len(lab) == 3 * n and len(lab.columns) == 23
    assert lab["LBSEQ"].tolist() == [float(i) for i in range(1, 2 * n + 1)] + [float(i) for i in range(1, n + 1)]
    assert lab["LBDTC"].tolist() == ["2014-01-01"] * n + ["2014-01-08"] * n + ["2014-02-01"] * n
    assert lab["LBTESTCD"].tolist()[:2] == ["ALB", "ALP"]
    assert lab["LBBLFL"].tolist() == [""] * n + ["Y"] * n + [""] * n
    assert set(lab["LBNRIND"]) <= {"LOW", "NORMAL", "HIGH"}
    assert lab.equals(create_lab(sv))  # seeded


def test_adsl_with_lstalvdt_loads(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(PILOT / "specs", specs)
    adsl = specs / "adam" / "ADSL.yaml"
    adsl.write_text(add_lstalvdt(adsl.read_text(encoding="utf-8")), encoding="utf-8")
    loaded = load_adam_spec_files(sorted((specs / "adam").glob("*.yaml")), root=tmp_path)
    spec = loaded["ADSL"].spec
    assert spec.inputs[-2:] == ["sdtm.AE", "sdtm.LB"]
    assert spec.steps[-1].id == "lstalvdt" and spec.variables[-1].name == "LSTALVDT"
    step = next(s for s in loaded["ADSL"].steps if s.spec.id == "lstalvdt")
    assert {"sdtm.LB.LBDTC", "sdtm.AE.AESTDTC", "sdtm.EX.EXENDTC", "sdtm.DS.DSSTDTC"} <= set(step.requires)


def _side(wall: float, peak: float, read: float, total: float) -> dict:
    return {"wall": wall, "cpu": wall, "peak_mb": peak, "tree_peak_mb": peak, "runs": 3, "ok": True, "message": "",
            "phases": {"read": read, "derive": 1.0, "write": 1.0, "other": total - read - 2.0, "total": total}}


def test_report_ratios_and_scaling() -> None:
    data = {"when": "2026-12-07 12:00 UTC", "load": "1.0", "head": "abc", "baseline": "HEAD~1 (def)", "repeat": 3,
            "scales": {"10": {"records": {"DM": 3060, "LB": 605030}, "A": _side(4.0, 300.0, 1.0, 4.0),
                              "B": _side(8.0, 600.0, 4.0, 8.0)},
                       "50": {"records": {"DM": 15300, "LB": 3025150}, "A": _side(18.0, 900.0, 3.6, 18.0),
                              "B": _side(44.0, 2400.0, 26.4, 44.0)}}}
    text = render(data)
    assert "| x10 | 3,060 | 605,030 | 4.0 | 8.0 | 0.50 | 300 | 600 | 0.50 | 300 | 600 | 0.50 | 25 | 50 |" in text
    assert "| x50 | 15,300 | 3,025,150 | 18.0 | 44.0 | 0.41 | 900 | 2400 | 0.38 | 900 | 2400 | 0.38 | 20 | 60 |" in text
    assert "x10 -> x50 wall (A): x4.50 for 5 times the subjects (no worse than linear)." in text
    assert "x10 -> x50 wall (B): x5.50 for 5 times the subjects (worse than linear)." in text


def test_report_without_baseline() -> None:
    """``--baseline-rev none``: one side, its CPU time and read share, the scaling of A alone."""
    a10, a50 = _side(4.0, 300.0, 1.0, 4.0), _side(22.0, 900.0, 3.3, 22.0)
    a10["cpu"], a50["cpu"] = 3.5, 19.0
    data = {"when": "2026-12-07 12:00 UTC", "load": "1.0", "head": "abc", "baseline": "none (none)", "repeat": 3,
            "scales": {"10": {"records": {"DM": 3060, "LB": 605030}, "A": a10},
                       "50": {"records": {"DM": 15300, "LB": 3025150}, "A": a50}}}
    text = render(data)
    assert "A = this checkout (abc), no baseline;" in text and "3 runs per scale" in text
    assert "| x10 | 3,060 | 605,030 | 4.0 | 3.5 | 300 | 300 | 25 |" in text
    assert "| x50 | 15,300 | 3,025,150 | 22.0 | 19.0 | 900 | 900 | 15 |" in text
    assert "x10 -> x50 wall (A): x5.50 for 5 times the subjects (worse than linear)." in text
    assert "(B)" not in text and "| B |" not in text


def test_report_gives_the_embedded_run_with_its_cpu_time() -> None:
    side = _side(4.0, 300.0, 1.0, 4.0)
    run, imports = {**side, "wall": 6.0, "cpu": 8.0, "runs": 4}, {**side, "wall": 2.0, "cpu": 1.6, "runs": 4}
    data = {"when": "2026-12-07 12:00 UTC", "load": "1.0", "head": "abc", "baseline": "none (none)", "repeat": 4,
            "scales": {"10": {"records": {"DM": 3060, "LB": 605030}, "A": side}},
            "embedded": {"libraries": ["numpy", "pandas"], "run": run, "imports": imports, "ratio": 3.0}}
    text = render(data)
    assert ("Embedded study `tlfgen run`: 6.00 s wall, CPU 8.00 s (medians of 4, interleaved with the imports); "
            "bare import of the 2 third-party libraries it loads: 2.00 s wall, CPU 1.60 s; ratio 3.00 (CPU 5.00).") in text
