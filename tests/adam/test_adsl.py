"""Tests for tlfgen.adam.adsl and specs/adam/ADSL.yaml on a small inline SDTM (exact values)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tlfgen.adam.adsl import derive_var_cutoff_date, derive_vars_disposition, derive_vars_trt_from_arms
from tlfgen.adam.engine import run_dataset
from tlfgen.errors import DerivationError
from tlfgen.spec.adam import load_adam_spec_files
from tlfgen.spec.study import load_study

ROOT = Path(__file__).resolve().parents[2]
NaN = float("nan")
T = pd.Timestamp


def frame(domain: str, rows: list[dict]) -> pd.DataFrame:
    data = pd.DataFrame(rows)
    data.insert(0, "DOMAIN", domain)
    data.insert(0, "STUDYID", "NCT04471480")
    if f"{domain}SEQ" not in data.columns and domain not in ("DM",) and not domain.startswith("SUPP"):
        data[f"{domain}SEQ"] = data.groupby("USUBJID").cumcount() + 1.0
    return data


def sdtm() -> dict[str, pd.DataFrame]:
    s1, s2, s3 = "NCT04471480-01001", "NCT04471480-01002", "NCT04471480-01003"
    dm = frame("DM", [
        dict(USUBJID=s1, SUBJID="01001", SITEID="01", AGE=64.0, AGEU="YEARS", SEX="M", RACE="ASIAN",
             ETHNIC="NOT HISPANIC OR LATINO", ARMCD="TCAC", ARM="A", ACTARMCD="TCAC", ACTARM="A", DTHFL=NaN,
             DTHDTC=NaN),
        dict(USUBJID=s2, SUBJID="01002", SITEID="01", AGE=65.0, AGEU="YEARS", SEX="F", RACE="ASIAN",
             ETHNIC="NOT HISPANIC OR LATINO", ARMCD="TCC", ARM="B", ACTARMCD="TCC", ACTARM="B", DTHFL="Y",
             DTHDTC="2021-06-01"),
        dict(USUBJID=s3, SUBJID="01003", SITEID="01", AGE=50.0, AGEU="YEARS", SEX="M", RACE="ASIAN",
             ETHNIC="NOT HISPANIC OR LATINO", ARMCD="TCAC", ARM="A", ACTARMCD="NOTTRT", ACTARM="Not Treated",
             DTHFL=NaN, DTHDTC=NaN),
    ])
    ex = frame("EX", [
        dict(USUBJID=s1, EXTRT="CAMRELIZUMAB", EXDOSE=200.0, EXSTDTC="2021-01-05", EXENDTC="2021-01-05"),
        dict(USUBJID=s1, EXTRT="ANLOTINIB", EXDOSE=8.0, EXSTDTC="2021-01-05", EXENDTC="2021-01-18"),
        dict(USUBJID=s1, EXTRT="ANLOTINIB", EXDOSE=8.0, EXSTDTC="2021-01-26", EXENDTC="2021-02-08"),
        dict(USUBJID=s2, EXTRT="CAMRELIZUMAB", EXDOSE=200.0, EXSTDTC="2021-03-01", EXENDTC="2021-03-01"),
        dict(USUBJID=s3, EXTRT="CAMRELIZUMAB", EXDOSE=0.0, EXSTDTC="2021-04-01", EXENDTC="2021-04-01"),
    ])
    ds = frame("DS", [
        dict(USUBJID=s1, DSCAT="PROTOCOL MILESTONE", DSSCAT=NaN, DSDECOD="INFORMED CONSENT OBTAINED",
             DSSTDTC="2020-12-20"),
        dict(USUBJID=s1, DSCAT="PROTOCOL MILESTONE", DSSCAT=NaN, DSDECOD="ENROLLED", DSSTDTC="2020-12-28"),
        dict(USUBJID=s1, DSCAT="OTHER EVENT", DSSCAT=NaN, DSDECOD="ALIVE", DSSTDTC="2021-06-01"),
        dict(USUBJID=s1, DSCAT="OTHER EVENT", DSSCAT=NaN, DSDECOD="ALIVE", DSSTDTC="2025-05-01"),
        dict(USUBJID=s2, DSCAT="DISPOSITION EVENT", DSSCAT="END OF TREATMENT", DSDECOD="PROGRESSIVE DISEASE",
             DSSTDTC="2021-04-01"),
        dict(USUBJID=s2, DSCAT="DISPOSITION EVENT", DSSCAT="END OF STUDY", DSDECOD="DEATH", DSSTDTC="2021-06-01"),
        dict(USUBJID=s3, DSCAT="DISPOSITION EVENT", DSSCAT="END OF TREATMENT", DSDECOD="COMPLETED",
             DSSTDTC="2021-04-02"),
    ])
    sc_rows = []
    for subj, stage, cps in ((s1, "III", 0.5), (s2, "IV", 12.0), (s3, "IV", NaN)):
        sc_rows += [dict(USUBJID=subj, SCTESTCD="STAGE", SCSTRESC=stage, SCSTRESN=NaN),
                    dict(USUBJID=subj, SCTESTCD="TUMLOC", SCSTRESC="MIDDLE THORACIC", SCSTRESN=NaN),
                    dict(USUBJID=subj, SCTESTCD="SMOKSTAT", SCSTRESC="FORMER", SCSTRESN=NaN),
                    dict(USUBJID=subj, SCTESTCD="ALCSTAT", SCSTRESC="NEVER", SCSTRESN=NaN),
                    dict(USUBJID=subj, SCTESTCD="DYSPHSC", SCSTRESC="2", SCSTRESN=2.0),
                    dict(USUBJID=subj, SCTESTCD="PDL1CPS", SCSTRESC="NE" if cps != cps else str(cps),
                         SCSTRESN=cps)]
    qs = frame("QS", [
        dict(USUBJID=s1, QSTESTCD="ECOG101", QSSTRESN=1.0, QSDTC="2020-12-30"),
        dict(USUBJID=s1, QSTESTCD="ECOG101", QSSTRESN=0.0, QSDTC="2021-01-05"),
        dict(USUBJID=s1, QSTESTCD="ECOG101", QSSTRESN=1.0, QSDTC="2021-01-26"),
        dict(USUBJID=s2, QSTESTCD="ECOG101", QSSTRESN=1.0, QSDTC="2021-02-20"),
    ])
    pr = frame("PR", [dict(USUBJID=s1, PRTRT="OESOPHAGECTOMY", PRSTDTC="2021-05-10")])
    supppr = frame("SUPPPR", [dict(USUBJID=s1, RDOMAIN="PR", IDVAR="PRSEQ", IDVARVAL="1", QNAM="PRPCR", QVAL="Y"),
                              dict(USUBJID=s1, RDOMAIN="PR", IDVAR="PRSEQ", IDVARVAL="1", QNAM="PRR0", QVAL="Y")])
    rs = frame("RS", [dict(USUBJID=s1, RSTESTCD="OVRLRESP", RSSTRESC="PR", RSDTC="2021-03-01")])
    ae = frame("AE", [dict(USUBJID=s2, AESTDTC="2021-03", AEENDTC="2021-03-20")])
    return {"sdtm.DM": dm, "sdtm.EX": ex, "sdtm.DS": ds, "sdtm.SC": frame("SC", sc_rows), "sdtm.QS": qs,
            "sdtm.PR": pr, "sdtm.SUPPPR": supppr, "sdtm.RS": rs, "sdtm.AE": ae,
            "sdtm.SUPPDM": frame("SUPPDM", [dict(USUBJID=s2, RDOMAIN="DM", IDVAR="", IDVARVAL="", QNAM="DTHCAUS",
                                                 QVAL="DISEASE PROGRESSION")])}


@pytest.fixture(scope="module")
def adsl() -> pd.DataFrame:
    specs = load_adam_spec_files([ROOT / "specs" / "adam" / "ADSL.yaml"], root=ROOT)
    study = load_study(ROOT).spec.study
    built = run_dataset(specs["ADSL"], sdtm(), study)
    return built.data.set_index("SUBJID")


def col(adsl: pd.DataFrame, name: str) -> list:
    return [None if (not isinstance(v, str) and pd.isna(v)) else v for v in adsl[name]]


def test_adsl_spec_01_identifiers_groups_and_treatment(adsl):
    assert list(adsl.index) == ["01001", "01002", "01003"]
    assert col(adsl, "AGEGR1") == ["<65", ">=65", "<65"]
    assert col(adsl, "TRT01P") == ["TCAC", "TCC", "TCAC"]
    assert col(adsl, "TRT01PN") == [1.0, 2.0, 1.0]
    assert col(adsl, "TRT01A") == ["TCAC", "TCC", None]
    assert col(adsl, "FASFL") == ["Y", "Y", "Y"]
    assert col(adsl, "SAFFL") == ["Y", "Y", "N"]
    assert col(adsl, "ENRLDT") == [T("2020-12-28"), None, None]


def test_adsl_spec_02_dates(adsl):
    assert col(adsl, "TRTSDT") == [T("2021-01-05"), T("2021-03-01"), None]
    assert col(adsl, "TRTEDT") == [T("2021-02-08"), T("2021-03-01"), None]
    assert col(adsl, "DTHFL") == [None, "Y", None]
    assert col(adsl, "DTHDT") == [None, T("2021-06-01"), None]
    # 01001: the contact after the cutoff (2025-05-01) is ignored; 01002: AE end date
    assert col(adsl, "LSTALVDT") == [T("2021-06-01"), T("2021-03-20"), T("2021-04-01")]
    assert col(adsl, "DCUTDT") == [T("2025-04-12")] * 3


def test_adsl_spec_03_baseline(adsl):
    assert col(adsl, "ECOGBL") == [0.0, 1.0, None]
    assert col(adsl, "STAGE") == ["III", "IV", "IV"]
    assert col(adsl, "TUMLOC") == ["MIDDLE THORACIC"] * 3
    assert col(adsl, "PDL1GR1") == ["<1", ">=10", "Not evaluable"]
    assert col(adsl, "DYSPHBL") == [2.0, 2.0, 2.0]
    assert col(adsl, "SMOKSTAT") == ["FORMER"] * 3 and col(adsl, "ALCSTAT") == ["NEVER"] * 3


def test_adsl_spec_04_surgery_and_disposition(adsl):
    assert col(adsl, "SURGFL") == ["Y", "N", "N"]
    assert col(adsl, "SURGDT") == [T("2021-05-10"), None, None]
    assert col(adsl, "PCRFL") == ["Y", "N", "N"]
    assert col(adsl, "R0FL") == ["Y", "N", "N"]  # SUPPPR QNAM PRR0 = Y for the one surgery
    assert col(adsl, "DTHCAUS") == [None, "DISEASE PROGRESSION", None]  # SUPPDM QNAM DTHCAUS
    assert col(adsl, "EOTSTT") == ["ONGOING", "DISCONTINUED", "COMPLETED"]
    assert col(adsl, "DCTREAS") == [None, "PROGRESSIVE DISEASE", None]
    assert col(adsl, "EOSSTT") == ["ONGOING", "DISCONTINUED", "ONGOING"]
    assert col(adsl, "DCSREAS") == [None, "DEATH", None]


# ---- the ADSL derivations on their own

class _Arm:
    def __init__(self, armcd, arm, trtn):
        self.armcd, self.arm, self.trtn = armcd, arm, trtn


class _Study:
    arms = [_Arm("X", "Drug X", 1), _Arm("Y", "Drug Y", 2)]
    cutoff = pd.Timestamp("2024-01-31").date()


def test_derive_vars_trt_from_arms_01_arm_names():
    data = pd.DataFrame({"USUBJID": ["1", "2", "3"], "ARMCD": ["Y", "SCRNFAIL", None]})
    out = derive_vars_trt_from_arms(data, study=_Study(), armcd_var="ARMCD", new_var="TRT01P",
                                    new_varn="TRT01PN", use="arm")
    assert out["TRT01P"].tolist() == ["Drug Y", None, None]
    assert out["TRT01PN"].iloc[0] == 2.0 and out["TRT01PN"].isna().tolist() == [False, True, True]


def test_derive_vars_trt_from_arms_02_unknown_arm():
    data = pd.DataFrame({"USUBJID": ["1"], "ARMCD": ["Z"]})
    with pytest.raises(DerivationError) as err:
        derive_vars_trt_from_arms(data, study=_Study(), armcd_var="ARMCD", new_var="TRT01P")
    assert str(err.value) == ("ARMCD: USUBJID=1: ARMCD 'Z' is not an arm of the study\n"
                              "  hint: arms: X, Y; codes of subjects without an arm: no_arm_codes")


class _PilotStudy:
    """The CDISC pilot's arm codes, mixed case as its DM holds them."""
    arms = [_Arm("Pbo", "Placebo", 0), _Arm("Xan_Lo", "Xanomeline Low Dose", 54),
            _Arm("Xan_Hi", "Xanomeline High Dose", 81)]


def test_derive_vars_trt_from_arms_03_any_case_and_screen_failures():
    """Arm codes of any case; the pilot's screen failures (ARMCD 'Scrnfail') are not an arm."""
    data = pd.DataFrame({"USUBJID": ["1", "2", "3", "4"], "ARMCD": ["Pbo", "Scrnfail", "XAN_LO", "Xan_Hi"]})
    out = derive_vars_trt_from_arms(data, study=_PilotStudy(), armcd_var="ARMCD", new_var="TRT01P",
                                    new_varn="TRT01PN", use="arm")
    assert out["TRT01P"].tolist() == ["Placebo", None, "Xanomeline Low Dose", "Xanomeline High Dose"]
    assert out["TRT01PN"].tolist()[::2] == [0.0, 54.0]
    out = derive_vars_trt_from_arms(data, study=_PilotStudy(), armcd_var="ARMCD", new_var="TRT01P")
    assert out["TRT01P"].tolist() == ["Pbo", None, "Xan_Lo", "Xan_Hi"]


def test_derive_vars_trt_from_arms_04_declared_no_arm_codes():
    data = pd.DataFrame({"USUBJID": ["1", "2"], "ARMCD": ["Pbo", "screen"]})
    out = derive_vars_trt_from_arms(data, study=_PilotStudy(), armcd_var="ARMCD", new_var="TRT01P",
                                    no_arm_codes=["SCREEN"])
    assert out["TRT01P"].tolist() == ["Pbo", None]


def test_derive_var_cutoff_date_01():
    out = derive_var_cutoff_date(pd.DataFrame({"USUBJID": ["1"]}), study=_Study())
    assert out["DCUTDT"].tolist() == [T("2024-01-31")]


def test_derive_vars_disposition_01_last_record_counts():
    ds = pd.DataFrame({"USUBJID": ["1", "1", "2"], "DSSCAT": "END OF STUDY",
                       "DSDECOD": ["LOST TO FOLLOW-UP", "COMPLETED", "WITHDRAWAL BY SUBJECT"],
                       "DSSTDTC": ["2021-05-01", "2021-01-01", "2021-02-01"]})
    out = derive_vars_disposition(pd.DataFrame({"USUBJID": ["1", "2", "3"]}), sources={"sdtm.DS": ds},
                                  source="sdtm.DS", filter="DSSCAT == 'END OF STUDY'", status_var="EOSSTT",
                                  reason_var="DCSREAS")
    assert out["EOSSTT"].tolist() == ["DISCONTINUED", "DISCONTINUED", "ONGOING"]
    assert out["DCSREAS"].tolist() == ["LOST TO FOLLOW-UP", "WITHDRAWAL BY SUBJECT", None]
