"""benchmarks/bench_render.py: the synthetic listing, the ratio arithmetic and a tiny run (never timings)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from openpyxl import load_workbook

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from bench_render import RUN_AT, compute_ratios, create_listing, main  # noqa: E402


def test_synthetic_listing_renders_every_row() -> None:
    from tlfgen.tlf.xlsx_writer import create_xlsx

    table = create_listing(30)
    assert (len(table.rows), len(table.columns), table.rows[7].label) == (30, 9, "NCT04471480-000001")
    ws = load_workbook(io.BytesIO(create_xlsx([table], RUN_AT)))["L30"]
    from datetime import datetime

    # the start date as an Excel date (tlf/xlsx_writer: listing dates are dates people filter on)
    assert [c.value for c in ws[5]] == ["NCT04471480-000000", "TC", "NAUSEA", "GASTROINTESTINAL DISORDERS",
                                        datetime(2020, 1, 1), None, 1, "Y", "NOT RELATED", "Y"]
    assert ws.cell(row=34, column=1).value == "NCT04471480-000004"


def test_ratio_per_10x_rows() -> None:
    rows = [{"rows": 100, "docx": {"wall_s": 1.0, "cpu_s": 0.5}},
            {"rows": 1000, "docx": {"wall_s": 10.0, "cpu_s": 1.0}},
            {"rows": 10000, "docx": {"wall_s": 0.0, "cpu_s": 100.0}}]
    assert compute_ratios(rows, "docx") == [
        {"from": 100, "to": 1000, "wall_per_10x": 10.0, "cpu_per_10x": 2.0},
        {"from": 1000, "to": 10000, "wall_per_10x": None, "cpu_per_10x": 100.0}]


def test_tiny_run_writes_the_json_report(tmp_path: Path) -> None:
    out = tmp_path / "render.json"
    assert main(["--rows", "20,200", "--no-study", "--no-memory", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["rows"], r["cells"]) for r in report["listings"]] == [(20, 200), (200, 2000)]
    assert sorted(report["listings"][0]["docx"]) == ["cpu_s", "peak_mb", "wall_s"]
    assert [s["from"] for s in report["scaling"]["xlsx"]] == [20] and report["study"] is None
