"""Tests for tlfgen.adam.recist_adrs: the registered ADRS steps chained on small inline SDTM."""

from __future__ import annotations

import pandas as pd
import pytest

from tlfgen.adam.recist_adrs import (
    derive_param_best_pchg,
    derive_param_bor,
    derive_param_exist_flag,
    derive_param_overall_response,
    derive_vars_recist_check,
)
from tlfgen.errors import DerivationError

D0 = pd.Timestamp("2021-01-01")


def iso(n: int) -> str:
    return (D0 + pd.Timedelta(days=n)).strftime("%Y-%m-%d")


# S1: PR 42, PR 84 (confirmed), CR 126. S2: SD 30, PD 70. S3: PR 42, surgery at 60, PR 84 (after surgery).
# S4: PR 42 and a duplicate record on the same date saying SD; PR 84.
_RS = [("S1", 42, "PR"), ("S1", 84, "PR"), ("S1", 126, "CR"), ("S2", 30, "SD"), ("S2", 70, "PD"),
       ("S3", 42, "PR"), ("S3", 84, "PR"), ("S4", 42, "PR"), ("S4", 42, "SD"), ("S4", 84, "PR")]
RS = pd.DataFrame({
    "USUBJID": [r[0] for r in _RS], "RSTESTCD": "OVRLRESP", "RSSTRESC": [r[2] for r in _RS],
    "RSDTC": [iso(r[1]) for r in _RS], "VISIT": [f"TA {r[1]}" for r in _RS], "VISITNUM": [r[1] for r in _RS],
    "RSSEQ": range(1, len(_RS) + 1),
})
RS = pd.concat([RS, RS.iloc[[0]].assign(RSTESTCD="TRGRESP", RSSEQ=99)], ignore_index=True)
ADSL = pd.DataFrame({
    "STUDYID": "X1", "USUBJID": ["S1", "S2", "S3", "S4", "S5"], "TRT01P": ["A", "A", "B", "B", "B"],
    "FASFL": "Y", "TRTSDT": [D0] * 5, "DCUTDT": [D0 + pd.Timedelta(days=365)] * 5,
    "SURGDT": [pd.NaT, pd.NaT, D0 + pd.Timedelta(days=60), pd.NaT, pd.NaT],
})
# TU/TR: S1 one target 50 mm -> 30 (-40%) -> 20 -> 0; S2 baseline 40 -> 41 -> 52 (PD by +26.8%, +11 mm)
_TR = [("S1", -3, 50), ("S1", 42, 30), ("S1", 84, 20), ("S1", 126, 0),
       ("S2", -3, 40), ("S2", 30, 41), ("S2", 70, 52)]
TU = pd.DataFrame({"USUBJID": ["S1", "S2"], "TULNKID": "T01", "TUORRES": "TARGET", "TULOC": "LIVER"})
TR = pd.DataFrame({
    "USUBJID": [t[0] for t in _TR], "TRLNKID": "T01", "TRTESTCD": "DIAMETER", "TRSTRESN": [t[2] for t in _TR],
    "TRDTC": [iso(t[1]) for t in _TR], "VISITNUM": [t[1] for t in _TR], "VISIT": [f"V{t[1]}" for t in _TR],
    "TRSEQ": range(1, len(_TR) + 1),
})
SOURCES = {"sdtm.RS": RS, "sdtm.TU": TU, "sdtm.TR": TR, "adam.ADSL": ADSL}
AVAL_MAP = {"CR": 1, "PR": 2, "SD": 3, "PD": 4, "NE": 5}
ANL = "ADT <= DCUTDT and (is_missing(SURGDT) or ADT < SURGDT)"


def _ovr() -> pd.DataFrame:
    return derive_param_overall_response(None, sources=SOURCES, param="Overall Response", aval_map=AVAL_MAP,
                                         adsl_vars=["STUDYID", "DCUTDT", "SURGDT"], anl01fl_condition=ANL)


def test_ovr_records_flags_and_traceability():
    ovr = _ovr()
    assert len(ovr) == 10  # the TRGRESP record is not an overall response
    s3 = ovr[ovr["USUBJID"] == "S3"]
    assert s3["ANL01FL"].tolist() == ["Y", None]  # the assessment after conversion surgery is not analysed
    s4 = ovr[ovr["USUBJID"] == "S4"]
    assert list(zip(s4["AVALC"], s4["ANL01FL"], s4["SRCSEQ"])) == [("PR", None, 8.0), ("SD", "Y", 9.0), ("PR", "Y", 10.0)]
    assert ovr.loc[0, ["ADY", "AVAL", "SRCDOM", "SRCVAR", "AVISIT"]].tolist() == [43.0, 2.0, "RS", "RSSTRESC", "TA 42"]
    assert ovr.loc[0, "_SRC"] == [("RS", 1)]
    dup = ovr.attrs["findings"]
    assert [(f.rule, f.severity, f.usubjid) for f in dup] == [("ADRS-DUP-ASSESSMENT", "WARNING", "S4")]
    assert dup[0].message == ("2 OVR assessments on 2021-02-12 (SD, PR); ANL01FL set on the worst (RSSEQ 9)")


def test_recist_check_adds_recomputed_response_and_findings():
    out = derive_vars_recist_check(_ovr(), sources=SOURCES)
    s1 = out[out["USUBJID"] == "S1"]
    assert s1["RCRESP"].tolist() == ["PR", "PR", "CR"]
    assert out.loc[out["USUBJID"] == "S2", "RCRESP"].tolist() == ["SD", "PD"]
    mism = [f for f in out.attrs["findings"] if f.rule == "RECIST-MISMATCH"]
    # S3 and S4 have RS but no TR: each of their post-baseline RS assessments is a disagreement
    assert sorted({f.usubjid for f in mism}) == ["S3", "S4"]
    assert len(mism) == 4  # S3: 2 dates; S4: 2 dates (the duplicate date counts once)
    assert len(out.attrs["findings"]) == 5  # the duplicate-assessment finding is kept


def test_bor_boru_and_flags():
    data = _ovr()
    data = derive_param_bor(data, sources=SOURCES, paramcd="BOR", param="Best Overall Response",
                            aval_map=AVAL_MAP)
    data = derive_param_bor(data, sources=SOURCES, paramcd="BORU", param="Best Overall Response (unconfirmed)",
                            confirmation=False, aval_map=AVAL_MAP)
    bor = data[data["PARAMCD"] == "BOR"].set_index("USUBJID")
    # S1 PR confirmed (CR not confirmed); S2 SD at day 30 < 35 then PD: PD; S3 PR after surgery not
    # analysed: SD; S4 worst record SD on day 42 then PR: SD; S5 no assessment: NE
    assert bor["AVALC"].to_dict() == {"S1": "PR", "S2": "PD", "S3": "SD", "S4": "SD", "S5": "NE"}
    assert bor["AVAL"].tolist() == [2.0, 4.0, 3.0, 3.0, 5.0]
    assert bor.loc["S1", "_SRC"] == [("RS", 1), ("RS", 2)]
    assert bor.loc["S1", "RESPDT"] == D0 + pd.Timedelta(days=42)
    assert bor.loc["S5", "_SRC"] == [] and pd.isna(bor.loc["S5", "SRCDOM"])
    boru = data[data["PARAMCD"] == "BORU"].set_index("USUBJID")
    assert boru["AVALC"].to_dict() == {"S1": "CR", "S2": "PD", "S3": "PR", "S4": "PR", "S5": "NE"}

    data = derive_param_exist_flag(data, sources=SOURCES, paramcd="ORR", param="Objective Response",
                                   source_paramcd="BOR", condition="AVALC in ('CR', 'PR')", date_var="RESPDT")
    data = derive_param_exist_flag(data, sources=SOURCES, paramcd="DCR", param="Disease Control",
                                   source_paramcd="BOR", condition="AVALC in ('CR', 'PR', 'SD')")
    orr = data[data["PARAMCD"] == "ORR"].set_index("USUBJID")
    assert orr["AVALC"].tolist() == ["Y", "N", "N", "N", "N"]
    assert orr["AVAL"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert orr.loc["S1", "ADT"] == D0 + pd.Timedelta(days=42) and orr.loc["S1", "SRCSEQ"] == 1.0
    dcr = data[data["PARAMCD"] == "DCR"]
    assert dcr["AVALC"].tolist() == ["Y", "N", "Y", "Y", "N"]


def test_best_pchg_and_depth_flag():
    data = derive_param_best_pchg(_ovr(), sources=SOURCES, param="Best % change in sum of diameters",
                                  adsl_vars=["DCUTDT", "SURGDT"], window_condition=ANL)
    best = data[data["PARAMCD"] == "BESTPCHG"].set_index("USUBJID")
    assert best["AVAL"].to_dict() == {"S1": -100.0, "S2": 2.5}
    assert best.loc["S1", "ADY"] == 127.0 and best.loc["S1", "_SRC"] == [("TR", 4)]
    data = derive_param_exist_flag(data, sources=SOURCES, paramcd="DEPTH50", param="Tumour shrinkage > 50%",
                                   source_paramcd="BESTPCHG", condition="AVAL < -50")
    assert data.loc[data["PARAMCD"] == "DEPTH50", "AVALC"].tolist() == ["Y", "N", "N", "N", "N"]


def test_best_pchg_window_excludes_late_assessments():
    data = derive_param_best_pchg(None, sources=SOURCES, param="Best % change", adsl_vars=["TRTSDT"],
                                  window_condition="ADT <= date('2021-03-01')")
    assert data.set_index("USUBJID")["AVAL"].to_dict() == {"S1": -40.0, "S2": 2.5}


def test_worst_order_declared_in_the_spec():
    # S4 has PR and SD on day 42: by default the worse (SD) is analysed; a declared order may say otherwise
    ovr = derive_param_overall_response(None, sources=SOURCES, param="Overall Response",
                                        worst_order=["PD", "NE", "PR", "SD", "CR"])
    s4 = ovr[ovr["USUBJID"] == "S4"]
    assert list(zip(s4["AVALC"], s4["ANL01FL"])) == [("PR", "Y"), ("SD", None), ("PR", "Y")]
    assert ovr.attrs["findings"][0].message == (
        "2 OVR assessments on 2021-02-12 (PR, SD); ANL01FL set on the worst (RSSEQ 8)")
    with pytest.raises(DerivationError, match="worst_order must be a list of responses, not 'PD'"):
        derive_param_overall_response(None, sources=SOURCES, param="Overall Response", worst_order="PD")


def test_partial_response_dates_imputed_by_the_declared_rule():
    rs = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "RSTESTCD": "OVRLRESP", "RSSTRESC": ["PR", "PR", "SD"],
                       "RSDTC": ["2021-02", "2021-04-02", "2021"], "RSSEQ": [1, 2, 3]})
    sources = {**SOURCES, "sdtm.RS": rs}

    def dates(**kw: str) -> list[tuple]:
        out = derive_param_overall_response(None, sources=sources, param="Overall Response", **kw)
        flags = out["ADTF"].tolist() if "ADTF" in out else [None] * len(out)
        return [(None if pd.isna(d) else d.strftime("%Y-%m-%d"), f, a)
                for d, f, a in zip(out["ADT"], flags, out["ANL01FL"])]

    # default: a partial date gives no ADT and the record is not analysed (no ADTF variable)
    assert dates() == [("2021-04-02", None, "Y"), (None, None, None), (None, None, None)]
    assert dates(highest_imputation="D") == [("2021-02-01", "D", "Y"), ("2021-04-02", None, "Y"),
                                             (None, None, None)]
    assert dates(highest_imputation="M", date_imputation="last") == [
        ("2021-02-28", "D", "Y"), ("2021-04-02", None, "Y"), ("2021-12-31", "M", "Y")]


def test_bor_options_threaded_from_the_spec():
    # S1 PR 42, PR 84, CR 126; S2 SD 30, PD 70; S5 has no assessment; a PD parameter for S1 on day 60
    data = _ovr()
    pd_rec = pd.DataFrame({"USUBJID": ["S1"], "PARAMCD": "PD", "AVALC": "Y", "ADT": [D0 + pd.Timedelta(days=60)]})
    data = pd.concat([data, pd_rec], ignore_index=True)
    out = derive_param_bor(data, sources=SOURCES, paramcd="BOR", param="BOR", missing_as_ne=False,
                           pd_source={"date": "ADT", "condition": "PARAMCD == 'PD'"}, aval_map=AVAL_MAP)
    bor = out[out["PARAMCD"] == "BOR"].set_index("USUBJID")
    # S1: only the PR on day 42 is before the PD date: SD; S5: MISSING (no AVAL coded for it)
    assert bor["AVALC"].to_dict() == {"S1": "SD", "S2": "PD", "S3": "SD", "S4": "SD", "S5": "MISSING"}
    assert pd.isna(bor.loc["S5", "AVAL"]) and pd.isna(bor.loc["S5", "ADT"])
    # PD source in another input: same result for S1
    pds = pd.DataFrame({"USUBJID": ["S1"], "PDDTC": [iso(60)]})
    other = derive_param_bor(_ovr(), sources={**SOURCES, "adam.ADPD": pds}, paramcd="BOR", param="BOR",
                             pd_source={"dataset": "adam.ADPD", "date": "PDDTC"})
    assert other.loc[other["PARAMCD"] == "BOR", "AVALC"].tolist()[0] == "SD"
    # unconfirmed, PD source: the CR on day 126 no longer counts
    boru = derive_param_bor(data, sources=SOURCES, paramcd="BORU", param="BORU", confirmation=False,
                            pd_source={"date": "ADT", "condition": "PARAMCD == 'PD'"})
    assert boru.loc[boru["PARAMCD"] == "BORU", "AVALC"].tolist()[0] == "PR"


def test_bor_requires_names_the_pd_source():
    from tlfgen.registry import get_derivation

    d = get_derivation("derive_param_bor")
    assert "PARAMCD" in d.required_vars({"pd_source": {"date": "ADT", "condition": "PARAMCD == 'PD'"}})
    assert "adam.ADPD.PDDTC" in d.required_vars({"pd_source": {"dataset": "adam.ADPD", "date": "PDDTC"}})
