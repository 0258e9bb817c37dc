"""Record checks before mapping (tlfgen.raw.checks) and reconciliation (tlfgen.raw.reconcile)."""

import pandas as pd

from tlfgen.raw.checks import check_duplicates, check_unknown_subjects
from tlfgen.raw.reader import RawForm
from tlfgen.raw.reconcile import FileUsage, reconcile


def form(rows):
    data = pd.DataFrame(rows, columns=["SUBJID", "FOLDER", "RECPOS", "AETERM"], dtype=object)
    data["__row"] = range(1, len(data) + 1)
    data["__line"] = range(2, len(data) + 2)  # findings give the file line (header = line 1)
    return RawForm("ae", "raw/ae.csv", data, len(data))


def test_unknown_subject_is_rejected():
    f = form([["01001", "LOG", "1", "Rash"], ["01999", "LOG", "1", "Rash"]])
    [finding] = check_unknown_subjects(f, {"01001"}, "S")
    assert finding.message == "SUBJID '01999' is not on dm.csv or ic.csv"
    assert (finding.row, finding.usubjid, finding.action) == (3, "S-01999", "rejected")
    assert f.rejected == {2: "unknown subject"}
    assert f.data["SUBJID"].tolist() == ["01001"]


def test_duplicate_record_then_duplicate_key():
    f = form([["01001", "LOG", "1", "Rash"], ["01001", "LOG", "1", "Rash"], ["01001", "LOG", "1", "Cough"]])
    findings = check_duplicates(f, ["SUBJID", "FOLDER", "RECPOS"], ["SUBJID", "FOLDER", "RECPOS", "AETERM"], "S")
    assert [x.message for x in findings] == [
        "line 3 repeats line 2 (same values in every field but RECPOS)",
        "key (SUBJID=01001, FOLDER=LOG, RECPOS=1) is already used by an earlier row"]
    assert f.rejected == {2: "duplicate record", 3: "duplicate key"}


def test_duplicates_among_other_subjects_and_keys():
    f = form([["01001", "LOG", "1", "Rash"], ["01002", "LOG", "1", "Rash"], ["01001", "LOG", "2", "Rash"],
              ["01002", "LOG", "2", "Cough"], ["01003", "LOG", "1", "Rash"], ["01002", "LOG", "2", "Fever"]])
    findings = check_duplicates(f, ["SUBJID", "FOLDER", "RECPOS"], ["SUBJID", "FOLDER", "RECPOS", "AETERM"], "S")
    assert [(x.rule, x.row) for x in findings] == [("RAW-DUPLICATE-RECORD", 4), ("RAW-DUPLICATE-KEY", 7)]
    assert f.data["__row"].tolist() == [1, 2, 4, 5]


def test_find_duplicates_compares_only_the_candidates():
    import numpy as np

    from tlfgen.raw.checks import find_duplicates

    data = pd.DataFrame({"A": ["x", "y", "x", "x", "y"], "B": ["1", "1", "1", "2", "1"]}, dtype=object)
    assert find_duplicates(data, ["A", "B"], np.array([True] * 5)).tolist() == [False, False, True, False, True]
    candidates = np.array([True, False, True, True, False])  # rows 2 and 5 left out: never flagged
    assert find_duplicates(data, ["A", "B"], candidates).tolist() == [False, False, True, False, False]
    assert find_duplicates(data, ["A"], np.zeros(5, dtype=bool)).tolist() == [False] * 5


def test_reconciliation_adds_up():
    f = form([["01001", "LOG", "1", "Rash"], ["01999", "LOG", "2", "Rash"], ["01001", "LOG", "3", "Cough"]])
    check_unknown_subjects(f, {"01001"}, "S")
    usage = FileUsage()
    usage.use("AE", [1])
    usage.skip([3], "AE source filter 'x'")
    count = reconcile(f, usage)
    assert (count.rows_in, count.rows_out) == (3, 1)
    assert count.rejected == {"not mapped: AE source filter 'x'": 1, "rejected: unknown subject": 1}


def test_check_studyid_warns_only_for_another_study():
    from tlfgen.raw.checks import check_studyid

    data = pd.DataFrame({"STUDYID": ["NCT1", "nct1 ", "OTHER"], "SUBJID": ["1", "2", "3"], "__row": [1, 2, 3],
                         "__line": [2, 3, 4]})
    form = RawForm("dm", "raw/dm.csv", data, 3)
    findings = check_studyid(form, "NCT1")
    assert [(f.row, f.value) for f in findings] == [(4, "OTHER")]  # the file line


def test_reject_with_nothing_to_reject_keeps_the_data():
    data = pd.DataFrame({"SUBJID": ["1"], "__row": [1]})
    form = RawForm("dm", "raw/dm.csv", data, 1)
    form.reject(pd.Series([False]), "why")
    assert form.data is data and form.rejected == {}


def test_a_negative_amount_is_an_error_and_read_as_missing():
    from tlfgen.raw.checks import check_non_negative

    data = pd.DataFrame([["01001", "-200"], ["01002", "0"], ["01003", " -0.5 "], ["01004", ""], ["01005", "abc"]],
                        columns=["SUBJID", "EXDOSE"], dtype=object)
    data["__row"] = range(1, 6)
    data["__line"] = range(2, 7)
    f = RawForm("ex", "raw/ex.csv", data, 5)
    findings = check_non_negative(f, ["EXDOSE"], "S")
    assert [(x.row, x.column, x.value, x.message, x.usubjid, x.action) for x in findings] == [
        (2, "EXDOSE", "-200", "EXDOSE '-200' is below zero, which an amount cannot be", "S-01001", "set to missing"),
        (4, "EXDOSE", " -0.5 ", "EXDOSE '-0.5' is below zero, which an amount cannot be", "S-01003", "set to missing")]
    assert f.data["EXDOSE"].tolist() == ["", "0", "", "", "abc"]  # text that is not a number is left to mapping
    assert f.rejected == {}


def test_non_negative_must_name_a_column_of_the_form():
    import pytest
    from pydantic import ValidationError

    from tlfgen.spec.sdtm_forms import FormSpec

    with pytest.raises(ValidationError, match="non_negative names DOSE, which is not in the form's columns"):
        FormSpec(name="ex", file="ex.csv", label="Exposure", columns=["EXDOSE"], non_negative=["DOSE"])
