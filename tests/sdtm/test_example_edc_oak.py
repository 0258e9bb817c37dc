"""examples/edc_oak: an export of another EDC shape (PATNUM, 15-Sep-20, separate times, X tick
boxes, a wide vital signs form) mapped by specs alone, against SDTM written by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tlfgen.sdtm.run import map_study
from tlfgen.spec.study import load_study

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "edc_oak"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edc_oak") / "study"
    shutil.copytree(EXAMPLE, folder)
    return map_study(load_study(folder))


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as the text a CSV of it holds: numbers without '.0', missing as ''."""
    def one(v):
        if isinstance(v, float):
            return "" if v != v else format(v, ".12g")
        return "" if v is None else str(v)

    return frame.apply(lambda col: col.map(one)).astype(object)


def expected(name: str) -> pd.DataFrame:
    return pd.read_csv(EXAMPLE / "expected" / f"{name}.csv", dtype=str, keep_default_na=False).astype(object)


def test_the_example_has_no_python():
    assert not list(EXAMPLE.rglob("*.py"))


@pytest.mark.parametrize("domain", ["DM", "CM", "VS"])
def test_each_domain_equals_the_sdtm_written_by_hand(mapped, domain):
    pd.testing.assert_frame_equal(as_text(mapped.results[domain].data), expected(domain))


def test_suppcm_equals_the_sdtm_written_by_hand(mapped):
    pd.testing.assert_frame_equal(as_text(mapped.results["CM"].supp), expected("SUPPCM"))


def test_the_two_wrong_values_are_findings_with_file_row_and_column(mapped):
    errors = [(f.rule, f.file, f.row, f.column, f.value, f.usubjid) for f in mapped.findings if f.severity == "ERROR"]
    assert errors == [
        ("DATE-INVALID", "raw/cm.csv", 6, "MDBDR", "31-Sep-20", "OAKDEMO01-103"),
        ("TIME-INVALID", "raw/cm.csv", 6, "MDBTM", "25:00", "OAKDEMO01-103"),
    ]
    partial = sorted((f.file, f.row, f.column) for f in mapped.findings if f.rule == "DATE-PARTIAL")
    assert partial == [("raw/cm.csv", 3, "MDBDR"), ("raw/cm.csv", 4, "MDEDR"), ("raw/dm.csv", 4, "BRTHDAT")]
