"""Tests of tlf/listings.py: listing tables from inline ADaM data."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from tlf_helpers import REPO, write_spec
from tlfgen.errors import DataError
from tlfgen.spec.tlf import ListingColumn, load_tlf_specs
from tlfgen.tlf.listings import create_cells, create_listing, format_listing_value
from tlfgen.tlf.model import Cell


def _listing(study, adam, output_id: str):
    shutil.copy(REPO / "specs" / "tlf" / f"{output_id}.yaml", study.specs_dir / "tlf" / f"{output_id}.yaml")
    specs = load_tlf_specs(study)
    out = next(o for o in specs.outputs if o.id == output_id)
    return create_listing(out, study, adam, specs.templates)


def test_01_deaths_sorted_by_arm_then_subject(study, adam) -> None:
    adam["ADSL"] = adam["ADSL"].iloc[::-1].reset_index(drop=True)  # input order must not matter
    table = _listing(study, adam, "L2")
    assert [c.label for c in table.columns] == [
        "Arm", "First dose", "Date of death", "Cause of death", "Conversion surgery", "Reason for end of study"]
    assert [r.label for r in table.rows][:3] == ["S-001", "S-005", "S-009"]
    assert [r.label for r in table.rows][8] == "S-033"
    assert [c.text for c in table.rows[0].cells] == [
        "TCAC", "2020-09-01", "2021-01-01", "DISEASE PROGRESSION", "N", "DEATH"]
    assert table.rows[1].cells[3].text == "ADVERSE EVENT"  # S-005: i = 4
    assert table.rows[0].cells[2].analysis_id == "L2.LISTING" and table.rows[0].cells[2].subjects == ("S-001",)
    assert table.footnotes[-1] == "15 record(s) from 15 subject(s). Data cutoff 2025-04-12."


def test_02_adverse_events_take_arm_from_adsl_and_respect_population(study, adam) -> None:
    adam["ADAE"]["AEBODSYS"] = "SOC"
    adam["ADAE"]["ASTDT"] = pd.to_datetime(["2021-01-05", "2021-01-02", "2021-01-01", "2021-01-01",
                                            "2021-01-03", "2021-01-01", "2021-01-01"])
    adam["ADAE"]["AENDT"] = pd.NaT
    adam["ADAE"]["AESER"] = "N"
    table = _listing(study, adam, "L1")
    # S-001 is not in the safety set; S-002's records are sorted by start date
    assert [(r.label, r.cells[4].text, r.cells[6].text) for r in table.rows] == [
        ("S-002", "2021-01-02", "3"), ("S-002", "2021-01-05", "1"), ("S-003", "2021-01-01", "2"),
        ("S-031", "2021-01-01", "2"), ("S-031", "2021-01-03", "3"), ("S-032", "2021-01-01", "1")]
    assert table.rows_per_page == 25 and table.rows[0].cells[0].text == "TCAC"


def test_03b_conversion_surgery_lists_r0_and_pcr(study, adam) -> None:
    table = _listing(study, adam, "L4")
    assert [c.label for c in table.columns] == [
        "Arm", "First dose", "Date of surgery", "R0 resection", "Pathological complete response"]
    # S-003 (i = 2): pCR without R0 in the inline data; S-006 (i = 5): R0 without pCR
    assert [(r.label, r.cells[3].text, r.cells[4].text) for r in table.rows] == [("S-003", "N", "Y"), ("S-006", "Y", "N")]
    assert "R0 = complete resection" in table.footnotes[0]


def test_03_empty_listing_prints_a_line(study, adam) -> None:
    adam["ADSL"]["SURGFL"] = "N"
    table = _listing(study, adam, "L4")
    assert [r.label for r in table.rows] == ["No records."]
    assert all(c.text == "" for c in table.rows[0].cells)


def test_04_unknown_variable_is_a_data_error(study, adam, study_dir) -> None:
    write_spec(study_dir, "L9.yaml", "id: L9\ntype: listing\ntemplate: L2.j2\ndataset: ADSL\n"
               "columns: [{variable: NOSUCH, label: X}]\n")
    specs = load_tlf_specs(study)
    with pytest.raises(DataError) as info:
        create_listing(specs.outputs[0], study, adam, specs.templates)
    assert str(info.value) == "specs/tlf/L9.yaml, column NOSUCH: listing L9: ADSL has no variable NOSUCH"


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    (pd.Timestamp("2021-03-04"), "date", "2021-03-04"),
    (22343.0, "date", "2021-03-04"),  # SAS date number
    (float("nan"), "date", ""),
    (2.25, "number", "2.3"),
    (3.0, "text", "3"),
    ("  Rash ", "text", "Rash"),
])
def test_05_value_formatting(value, fmt, expected) -> None:
    assert format_listing_value(value, ListingColumn(variable="X", label="X", format=fmt)) == expected


def test_06_cells_of_repeated_values_carry_their_own_subject(study, adam) -> None:
    adam["ADAE"]["AEBODSYS"] = "SOC"
    adam["ADAE"]["ASTDT"] = pd.Timestamp("2021-01-01")
    adam["ADAE"]["AENDT"] = pd.NaT
    adam["ADAE"]["AESER"] = "N"
    adam["ADAE"].loc[0, "ATOXGRN"] = float("nan")
    table = _listing(study, adam, "L1")
    # same start date: records keep the sort by term, then input order (stable sort)
    assert [(r.label, [c.text for c in r.cells]) for r in table.rows][:3] == [
        ("S-002", ["TCAC", "nausea", "Nausea", "SOC", "2021-01-01", "", "", "N", "Y", "DOSE NOT CHANGED",
                   "RECOVERED/RESOLVED", "Y"]),
        ("S-002", ["TCAC", "nausea", "Nausea", "SOC", "2021-01-01", "", "3", "N", "Y", "DOSE NOT CHANGED",
                   "RECOVERED/RESOLVED", "Y"]),
        ("S-003", ["TCAC", "hypertension", "Hypertension", "SOC", "2021-01-01", "", "2", "N", "Y",
                   "DOSE NOT CHANGED", "RECOVERED/RESOLVED", "Y"])]
    grade = [c.key for c in table.columns].index("ATOXGRN")
    for row in table.rows:
        assert {cell.subjects for cell in row.cells} == {(row.label,)}
        cell = row.cells[grade]
        assert cell.values == ((("ATOXGRN", float(cell.text)),) if cell.text else ())


def test_create_cells_shares_equal_cells_of_one_subject():
    contents = [("Y", ()), ("Y", ()), ("Y", ()), ("2", (("ATOXGRN", 2.0),)), ("2", (("ATOXGRN", 2.0),))]
    subjects = [("S-1",), ("S-1",), ("S-2",), ("S-1",), ("S-1",)]
    cells = create_cells(contents, "L1.LISTING", subjects)
    assert cells == [Cell("Y", "L1.LISTING", (), ("S-1",)), Cell("Y", "L1.LISTING", (), ("S-1",)),
                     Cell("Y", "L1.LISTING", (), ("S-2",)), Cell("2", "L1.LISTING", (("ATOXGRN", 2.0),), ("S-1",)),
                     Cell("2", "L1.LISTING", (("ATOXGRN", 2.0),), ("S-1",))]
    assert cells[0] is cells[1] and cells[2] is not cells[0]  # one subject, same text, no raw values: one cell
    assert cells[3] is not cells[4]  # cells with raw values are never shared
