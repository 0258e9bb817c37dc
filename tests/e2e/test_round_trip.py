"""Round trip: the ADaM values derived from raw/ equal the generator's truth, subject by subject.

The truth is rebuilt with the same arguments that wrote raw/ (tlfgen simulate defaults);
its ``expected`` values follow docs/contracts.md section 4, independently of the pipeline.
"""

from __future__ import annotations

import pytest

from tlfgen.simulate.truth import create_study_truth

STUDYID = "NCT04471480"


@pytest.fixture(scope="module")
def truth():
    return {f"{STUDYID}-{s.subjid}": s for s in create_study_truth().subjects}


def _param(adam, dataset, paramcd):
    df = adam[dataset]
    return df[df["PARAMCD"] == paramcd].set_index("USUBJID")


def test_every_truth_subject_is_in_adsl_with_its_arm(adam, truth):
    adsl = adam["ADSL"].set_index("USUBJID")
    assert sorted(adsl.index) == sorted(truth)
    assert {u: adsl.loc[u, "TRT01P"] for u in truth} == {u: s.arm for u, s in truth.items()}


def test_best_response_and_depth(adam, truth):
    bor = _param(adam, "ADRS", "BOR")
    orr = _param(adam, "ADRS", "ORR")
    depth = _param(adam, "ADRS", "BESTPCHG")
    mismatches = []
    for usubjid, subject in truth.items():
        exp = subject.expected
        got = (bor.loc[usubjid, "AVALC"], orr.loc[usubjid, "AVALC"])
        if got != (exp["BOR"], exp["ORRFL"]):
            mismatches.append((usubjid, got, (exp["BOR"], exp["ORRFL"])))
        if exp.get("DEPTH") is not None and depth.loc[usubjid, "AVAL"] != pytest.approx(exp["DEPTH"], abs=0.05):
            mismatches.append((usubjid, depth.loc[usubjid, "AVAL"], exp["DEPTH"]))
    assert mismatches == []


@pytest.mark.parametrize("param", ["PFS", "OS", "DOR"])
def test_time_to_event_days_and_censoring(adam, truth, param):
    tte = _param(adam, "ADTTE", param)
    mismatches = []
    for usubjid, subject in truth.items():
        exp = subject.expected
        if f"{param}_DAYS" not in exp:
            assert usubjid not in tte.index, f"{usubjid} has {param} but is not a confirmed responder"
            continue
        got = (int(tte.loc[usubjid, "AVAL"]), int(tte.loc[usubjid, "CNSR"]))
        if got != (exp[f"{param}_DAYS"], exp[f"{param}_CNSR"]):
            mismatches.append((usubjid, got, (exp[f"{param}_DAYS"], exp[f"{param}_CNSR"])))
    assert mismatches == []


def test_follow_up_days(adam, truth):
    fu = _param(adam, "ADTTE", "FUTIME")
    mismatches = [(u, int(fu.loc[u, "AVAL"]), s.expected["FU_DAYS"]) for u, s in truth.items()
                  if int(fu.loc[u, "AVAL"]) != s.expected["FU_DAYS"]]
    assert mismatches == []


def test_treatment_related_adverse_event_flags(adam, truth):
    adae = adam["ADAE"]
    trae = adae[(adae["TRTEMFL"] == "Y") & (adae["AREL"] == "RELATED")]
    any_trae = set(trae["USUBJID"])
    g3 = set(trae[trae["ATOXGRN"] >= 3]["USUBJID"])
    assert {u for u, s in truth.items() if s.expected["TRAE_ANY"]} == any_trae
    assert {u for u, s in truth.items() if s.expected["TRAE_G3"]} == g3
