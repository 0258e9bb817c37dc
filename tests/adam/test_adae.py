"""Tests for tlfgen.adam.adae and specs/adam/ADAE.yaml on small inline inputs (exact values)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tlfgen.adam.adae import derive_var_trtemfl
from tlfgen.adam.engine import run_dataset
from tlfgen.errors import DerivationError
from tlfgen.spec.adam import load_adam_spec_files
from tlfgen.spec.study import load_study

ROOT = Path(__file__).resolve().parents[2]
NaN = float("nan")
T = pd.Timestamp
S1, S2 = "NCT04471480-01001", "NCT04471480-01002"


def inputs() -> dict[str, pd.DataFrame]:
    adsl = pd.DataFrame({
        "STUDYID": "NCT04471480", "USUBJID": [S1, S2], "TRT01A": ["TCAC", "TCC"], "TRT01AN": [1.0, 2.0],
        "SAFFL": ["Y", "Y"], "TRTSDT": [T("2021-01-15"), T("2021-03-01")],
        "TRTEDT": [T("2021-06-30"), T("2021-04-01")], "DTHDT": [pd.NaT, T("2021-07-20")],
        "DCUTDT": [T("2025-04-12")] * 2,
    })
    rows = [  # USUBJID, AESEQ, AEDECOD, AESTDTC, AEENDTC, AETOXGR, AEREL, AEACN
        (S1, 1, "Neutrophil count decreased", "2021-01", "2021-02-03", "3", "RELATED", "DOSE REDUCED"),
        (S1, 2, "Neutrophil count decreased", "2021-03-01", "2021-03", "2", "RELATED", "DOSE NOT CHANGED"),
        (S1, 3, "Neutrophil count decreased", "2021-04-01", None, "3", "RELATED", "DRUG WITHDRAWN"),
        (S1, 4, "Hypertension", "2020-12-20", "2021-01-02", "2", "RELATED", "DOSE NOT CHANGED"),
        (S1, 5, "Fatigue", "2021", "2021", "1", "NOT RELATED", "DOSE NOT CHANGED"),
        (S2, 1, "Anaemia", "2021-07", "2021-07", "1", "NOT RELATED", "DOSE NOT CHANGED"),
        (S2, 2, "Rash", "2021-07-01", None, "2", "NOT RELATED", "NOT APPLICABLE"),
        (S2, 3, "Rash", "2021-03-10", "2021-03-12", "1", "NOT RELATED", "DOSE NOT CHANGED"),
    ]
    ae = pd.DataFrame(rows, columns=["USUBJID", "AESEQ", "AEDECOD", "AESTDTC", "AEENDTC", "AETOXGR", "AEREL",
                                     "AEACN"])
    ae = ae.assign(STUDYID="NCT04471480", DOMAIN="AE", AESEQ=ae["AESEQ"].astype(float), AETERM=ae["AEDECOD"],
                   AEBODSYS="SOC", AESER="N", AEOUT="RECOVERED/RESOLVED")
    # S2/AESEQ 2 is related to paclitaxel only (SUPPAE), so AREL is RELATED
    supp = pd.DataFrame({"STUDYID": "NCT04471480", "RDOMAIN": "AE", "USUBJID": [S2, S2, S1],
                         "IDVAR": "AESEQ", "IDVARVAL": ["2", "2", "1"],
                         "QNAM": ["AERELTAX", "AERELCAM", "AERELCAM"],
                         "QVAL": ["RELATED", "NOT RELATED", "RELATED"]})
    return {"sdtm.AE": ae, "sdtm.SUPPAE": supp, "adam.ADSL": adsl}


@pytest.fixture(scope="module")
def adae() -> pd.DataFrame:
    specs = load_adam_spec_files([ROOT / "specs" / "adam" / "ADAE.yaml", ROOT / "specs" / "adam" / "ADSL.yaml"],
                                 root=ROOT)
    built = run_dataset(specs["ADAE"], inputs(), load_study(ROOT).spec.study)
    return built.data


def col(data: pd.DataFrame, name: str) -> list:
    return [None if (not isinstance(v, str) and pd.isna(v)) else v for v in data[name]]


def test_adae_spec_01_order_and_treatment(adae):
    assert list(zip(adae["USUBJID"].str[-2:], adae["AESEQ"])) == [
        ("01", 1), ("01", 2), ("01", 3), ("01", 4), ("01", 5), ("02", 1), ("02", 2), ("02", 3)]
    assert col(adae, "TRTA") == ["TCAC"] * 5 + ["TCC"] * 3


def test_adae_spec_02_start_date_imputation(adae):
    # 2021-01 is the month of TRTSDT (2021-01-15): imputed to TRTSDT, not to the 1st
    # 2021 (year only) contains TRTSDT: imputed to TRTSDT too; 2021-07 for S2: the 1st
    assert col(adae, "ASTDT") == [T("2021-01-15"), T("2021-03-01"), T("2021-04-01"), T("2020-12-20"),
                                  T("2021-01-15"), T("2021-07-01"), T("2021-07-01"), T("2021-03-10")]
    assert col(adae, "ASTDTF") == ["D", None, None, None, "M", "D", None, None]


def test_adae_spec_03_end_date_imputation(adae):
    # last day of month / year; S2's 2021-07 is capped at the death date 2021-07-20
    assert col(adae, "AENDT") == [T("2021-02-03"), T("2021-03-31"), None, T("2021-01-02"), T("2021-12-31"),
                                  T("2021-07-20"), None, T("2021-03-12")]
    assert col(adae, "AENDTF") == [None, "D", None, None, "M", "D", None, None]


def test_adae_spec_04_trtemfl_and_relationship(adae):
    # S1/4 starts before TRTSDT; S2/1 and S2/2 start after TRTEDT + 90 days (2021-06-30)
    assert col(adae, "TRTEMFL") == ["Y", "Y", "Y", None, "Y", None, None, "Y"]
    assert col(adae, "AREL") == ["RELATED"] * 4 + ["NOT RELATED", "NOT RELATED", "RELATED", "NOT RELATED"]
    assert col(adae, "ARELCAM") == ["RELATED", None, None, None, None, None, "NOT RELATED", None]
    assert col(adae, "ARELTAX") == [None] * 6 + ["RELATED", None]
    assert col(adae, "TRAEFL") == ["Y", "Y", "Y", None, None, None, None, None]
    assert col(adae, "AEDISCFL") == [None, None, "Y", None, None, None, None, None]
    assert col(adae, "ATOXGRN") == [3.0, 2.0, 3.0, 2.0, 1.0, 1.0, 2.0, 1.0]


def test_adae_spec_05_occurrence_flags(adae):
    assert col(adae, "AOCCFL") == ["Y", None, None, None, None, None, None, None]
    assert col(adae, "AOCCPFL") == ["Y", None, None, None, None, None, None, None]
    # worst grade 3 twice (AESEQ 1 and 3): the first by ASTDT is flagged
    assert col(adae, "AOCCGFL") == ["Y", None, None, None, None, None, None, None]
    assert col(adae, "AOCCIFL") == ["Y", None, None, None, None, None, None, None]


def test_derive_var_trtemfl_01_window_and_missing_start():
    data = pd.DataFrame({"ASTDT": [T("2021-01-01"), T("2021-04-01"), T("2021-04-02"), pd.NaT, pd.NaT],
                         "TRTSDT": [T("2021-01-01")] * 4 + [pd.NaT],
                         "TRTEDT": [T("2021-01-01")] * 4 + [pd.NaT]})
    out = derive_var_trtemfl(data, end_window=90)
    assert out["TRTEMFL"].tolist() == ["Y", "Y", None, "Y", None]
    out = derive_var_trtemfl(data, false_value="N")
    assert out["TRTEMFL"].tolist() == ["Y", "N", "N", "Y", "N"]


# admiral tests/testthat/test-derive_var_trtemfl.R, Tests 1, 2 and 4 (the same 17 records), values as
# published: https://rdrr.io/cran/admiral/src/tests/testthat/test-derive_var_trtemfl.R
_ADMIRAL_TRTEMFL = [
    # USUBJID, ASTDTM, AENDTM, AEITOXGR, AETOXGR, TRTEMFL, TRTEM2FL, TRTEM3FL
    ("1", "2021-12-13T20:15", "2021-12-15T12:45", 1, 1, None, None, None),
    ("1", "2021-12-14T20:15", "2021-12-14T22:00", 1, 3, None, None, None),
    ("1", "2021-12-30T20:00", "2022-01-14T11:00", 1, 3, None, "Y", "Y"),
    ("1", "2021-12-31T20:15", "2022-01-01T01:23", 1, 1, None, None, None),
    ("1", "2022-01-01T12:00", "2022-01-02T23:25", 3, 4, "Y", "Y", "Y"),
    ("1", "2022-05-10T11:00", "2022-05-10T13:05", 2, 2, "Y", "Y", "Y"),
    ("1", "2022-05-10T12:00", "2022-05-10T13:05", 2, 2, "Y", "Y", None),
    ("1", "2022-05-11T11:00", "2022-05-11T13:05", 2, 2, "Y", None, None),
    ("1", None, None, 3, 4, "Y", "Y", "Y"),
    ("1", "2021-12-30T09:00", None, 3, 4, None, "Y", "Y"),
    ("1", "2021-12-30T11:00", None, 3, 3, None, None, None),
    ("1", None, "2022-01-04T09:00", 3, 4, "Y", "Y", "Y"),
    ("1", None, "2021-12-24T19:00", 3, 4, None, None, None),
    ("1", None, "2022-06-04T09:00", 3, 4, "Y", "Y", "Y"),
    ("2", None, "2021-12-03T12:00", 1, 2, None, None, None),
    ("2", "2021-12-01T12:00", "2021-12-03T12:00", 1, 2, None, None, None),
    ("2", "2021-12-06T18:00", None, 1, 2, None, None, None),
]


def _admiral_adae() -> pd.DataFrame:
    rows = pd.DataFrame(_ADMIRAL_TRTEMFL, columns=["USUBJID", "ASTDTM", "AENDTM", "AEITOXGR", "AETOXGR",
                                                   "TRTEMFL", "TRTEM2FL", "TRTEM3FL"])
    treated = rows["USUBJID"] == "1"
    return rows.assign(ASTDTM=pd.to_datetime(rows["ASTDTM"]), AENDTM=pd.to_datetime(rows["AENDTM"]),
                       TRTSDTM=pd.to_datetime(treated.map({True: "2022-01-01T01:01", False: None})),
                       TRTEDTM=pd.to_datetime(treated.map({True: "2022-04-30T11:30", False: None})))


def test_derive_var_trtemfl_02_admiral_test_1_no_end_window():
    adae = _admiral_adae()
    out = derive_var_trtemfl(adae, start_date="ASTDTM", end_date="AENDTM", trt_start="TRTSDTM", trt_end=None)
    assert out["TRTEMFL"].tolist() == adae["TRTEMFL"].tolist()


def test_derive_var_trtemfl_03_admiral_tests_2_and_4_end_window_and_worsening():
    adae = _admiral_adae()
    args = dict(start_date="ASTDTM", end_date="AENDTM", trt_start="TRTSDTM", trt_end="TRTEDTM", end_window=10,
                initial_intensity="AEITOXGR", intensity="AETOXGR")
    assert derive_var_trtemfl(adae, new_var="F", **args)["F"].tolist() == adae["TRTEM2FL"].tolist()
    exact = derive_var_trtemfl(adae, new_var="F", ignore_time_for_trt_end=False, **args)
    assert exact["F"].tolist() == adae["TRTEM3FL"].tolist()


def test_derive_var_trtemfl_04_intensity_needs_initial_intensity():
    with pytest.raises(DerivationError, match="initial_intensity and intensity go together"):
        derive_var_trtemfl(_admiral_adae(), start_date="ASTDTM", trt_start="TRTSDTM", intensity="AETOXGR")
