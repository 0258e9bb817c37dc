"""Tests of tlfgen.tlf.figures.common: arm order, population selection, one record per subject, rectangles."""

from __future__ import annotations

import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.spec.expr import parse_expression
from tlfgen.tlf.figures.common import (
    Arm, create_rectangles, order_arms, param_records, read_rectangles, subject_arms, time_event,
)


# 1. treatment first, reference second, other arms after in study order
def test_order_arms():
    arms = order_arms(["A", "B", "C"], {"A": "Arm A"}, "C", "A")
    assert arms == (Arm("C", "C", 0), Arm("A", "Arm A", 1), Arm("B", "B", 2))
    assert [a.armcd for a in order_arms(["A", "B"], {}, None, None)] == ["A", "B"]


# 2. population filter and arm membership select the subjects, sorted by USUBJID
def test_subject_arms(fig_adam, arms):
    got = subject_arms(fig_adam["ADSL"], parse_expression("FASFL == 'Y' and SEX == 'F'"), arms)
    assert got.to_dict() == {"S02": "TCAC", "S04": "TCAC", "S07": "TCC", "S08": "TCC"}


# 3. a duplicated ADSL subject is a DataError naming it
def test_duplicate_adsl_subject(arms):
    adsl = pd.DataFrame({"USUBJID": ["S1", "S1"], "TRT01P": ["TCAC", "TCAC"]})
    with pytest.raises(DataError, match="ADSL has more than one record for USUBJID S1"):
        subject_arms(adsl, None, arms)


# 4. two records of one parameter for a subject is a DataError naming dataset, parameter and subject
def test_duplicate_param_record():
    data = pd.DataFrame({"USUBJID": ["S1", "S1"], "PARAMCD": ["PFS", "PFS"], "AVALM": [1.0, 2.0]})
    with pytest.raises(DataError, match="ADTTE has more than one PARAMCD PFS record for USUBJID S1"):
        param_records(data, "ADTTE", "PFS", pd.Index(["S1"]), "AVALM")


# 5. CNSR other than 0/1 is refused; events are 1 - CNSR
def test_time_event():
    recs = pd.DataFrame({"AVALM": [1.0, 2.0], "CNSR": [0.0, 1.0]}, index=["S1", "S2"])
    time, event = time_event(recs, "ADTTE", "AVALM", "CNSR")
    assert (time.tolist(), event.tolist()) == ([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(DataError, match="ADTTE.CNSR must be 0 or 1"):
        time_event(recs.assign(CNSR=[0.0, 2.0]), "ADTTE", "AVALM", "CNSR")


# 6. rectangles are one patch of one compound path; their edges read back in drawing order
def test_rectangles_round_trip():
    patch = create_rectangles("r:x", [0.0, 1.5], [1.0, 2.5], [0.0, 0.0], [3.0, -2.0], facecolor="#000000")
    assert patch.get_gid() == "r:x"
    assert len(patch.get_path().vertices) == 10
    assert read_rectangles(patch).tolist() == [[0.0, 1.0, 0.0, 3.0], [1.5, 2.5, 0.0, -2.0]]
