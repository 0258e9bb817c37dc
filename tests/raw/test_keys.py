"""Identifier columns of any EDC export (tlfgen.raw.keys) and the header check of `tlfgen check`
(tlfgen.raw.headers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tlfgen.raw.checks import check_studyid, check_unknown_subjects
from tlfgen.raw.headers import check_key_columns, read_header
from tlfgen.raw.keys import apply_identifiers, compute_usubjid_text
from tlfgen.raw.reader import RawForm
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.study import load_study

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "edc_oak"


def raw_form(columns, rows):
    data = pd.DataFrame(rows, columns=columns, dtype=object)
    data["__row"] = range(1, len(data) + 1)
    data["__line"] = range(2, len(data) + 2)  # findings give the file line (header = line 1)
    return RawForm("cm", "raw/cm.csv", data, len(data))


def test_identifiers_are_read_under_their_sdtm_names():
    form = raw_form(["PATNUM", "CENTRE", "MDRAW"], [["101", "S01", "Aspirin"], ["", "S02", "Ibuprofen"]])
    apply_identifiers(form, {"SUBJID": "PATNUM", "SITEID": "CENTRE"}, "{STUDYID}-{SITEID}-{SUBJID}", "X1")
    assert form.data["SUBJID"].tolist() == ["101", ""]
    assert form.data["SITEID"].tolist() == ["S01", "S02"]
    assert form.data["STUDYID"].tolist() == ["X1", "X1"]  # no study column: the study's id
    assert form.data["__usubjid"].tolist() == ["X1-S01-101", ""]


def test_the_default_pattern_is_the_embedded_usubjid():
    data = pd.DataFrame({"SUBJID": ["01001", "01002"], "SITEID": ["01", "01"]}, dtype=object)
    assert compute_usubjid_text(data, "{STUDYID}-{SUBJID}", "NCT04471480").tolist() == [
        "NCT04471480-01001", "NCT04471480-01002"]


def test_unknown_subject_names_the_raw_subject_column_and_subject_forms():
    form = raw_form(["PATNUM"], [["101"], ["999"]])
    apply_identifiers(form, {"SUBJID": "PATNUM"}, "{STUDYID}-{SUBJID}", "X1")
    [finding] = check_unknown_subjects(form, {"101"}, "X1", column="PATNUM", subject_files=("dm.csv",))
    assert (finding.message, finding.column, finding.row, finding.usubjid) == (
        "PATNUM '999' is not on dm.csv", "PATNUM", 3, "X1-999")


def test_no_study_column_is_no_check_and_no_key_error():
    form = raw_form(["PATNUM"], [["101"]])
    assert check_studyid(form, "X1", None) == []
    apply_identifiers(form, {"SUBJID": "PATNUM"}, "{STUDYID}-{SUBJID}", "X1")
    assert check_studyid(form, "X1", None) == []


def test_another_study_column_is_checked_under_its_own_name():
    form = raw_form(["PROTNO", "PATNUM"], [["X1", "101"], ["X2", "102"]])
    apply_identifiers(form, {"SUBJID": "PATNUM", "STUDYID": "PROTNO"}, "{STUDYID}-{SUBJID}", "X1")
    [finding] = check_studyid(form, "X1", "PROTNO")
    assert (finding.message, finding.column, finding.row) == ("PROTNO 'X2' is not X1", "PROTNO", 3)


def test_read_header_reads_the_first_line_only(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbf patnum ,Visit\n101,\"broken")
    assert read_header(path) == ["PATNUM", "VISIT"]


@pytest.fixture()
def example(tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(EXAMPLE, folder)
    return folder


def test_key_columns_match_the_example_headers(example):
    study = load_study(example)
    assert check_key_columns(study, load_stage_specs(study, "sdtm")) == []


def test_a_missing_key_column_is_a_spec_error_at_the_form(example):
    text = (example / "raw" / "vs.csv").read_text()
    (example / "raw" / "vs.csv").write_text(text.replace("VISIT,", "VISITNAME,", 1))
    study = load_study(example)
    [error] = check_key_columns(study, load_stage_specs(study, "sdtm"))
    assert error.message == "form vs: raw/vs.csv has no column VISIT (a leading or identifier column)"
    assert error.location.line == 21 and "VISITNAME" in error.hint
