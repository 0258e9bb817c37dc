"""Tests for tlfgen.adam.joined: derive_vars_joined, admiral's examples reproduced.

Cases 1-5 are the examples of admiral's reference page for ``derive_vars_joined``
(https://pharmaverse.github.io/admiral/reference/derive_vars_joined.html, the
``man/derive_vars_joined.Rd`` of pharmaverse/admiral), with ``ADY.join`` written ``ADY_JOIN``.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tlfgen.adam.joined import derive_vars_joined
from tlfgen.errors import DerivationError
from tlfgen.registry import get_derivation

ADBDS = pd.DataFrame({
    "STUDYID": "AB42", "USUBJID": ["1"] * 7 + ["2"] * 2,
    "ADY": [-33, -7, 1, 8, 15, 20, 24, -1, 13], "AVAL": [11, 10, 12, 12, 9, 14, 12, 13, 8],
})
WINDOWS = pd.DataFrame({"AVISIT": ["BASELINE", "WEEK 1", "WEEK 2", "WEEK 3", "WEEK 4"],
                        "AWLO": [-30, 2, 8, 16, 23], "AWHI": [1, 7, 15, 22, 30]})


def values(series: pd.Series) -> list:
    return [None if (isinstance(v, float) and math.isnan(v)) or v is None else v for v in series.tolist()]


# 1. "Basic join based on a generic time window": no by_vars (every pair), filter_join on both sides
def test_admiral_time_windows():
    out = derive_vars_joined(ADBDS, sources={"adam.WINDOWS": WINDOWS}, source="adam.WINDOWS",
                             new_vars=["AVISIT", "AWLO", "AWHI"], join_type="all",
                             filter_join="AWLO <= ADY and ADY <= AWHI")
    assert values(out["AVISIT"]) == [None, "BASELINE", "BASELINE", "WEEK 2", "WEEK 2", "WEEK 3", "WEEK 4",
                                     "BASELINE", "WEEK 2"]
    assert values(out["AWLO"]) == [None, -30, -30, 8, 8, 16, 23, -30, 8]


# 2. "Join only the lowest/highest value occurring within a condition": the nadir before each record
def test_admiral_nadir():
    out = derive_vars_joined(ADBDS, sources={}, by_vars=["STUDYID", "USUBJID"], order=["AVAL"],
                             new_vars={"NADIR": "AVAL"}, join_vars=["ADY"], join_type="all",
                             filter_join="ADY_JOIN < ADY", mode="first")
    assert values(out["NADIR"]) == [None, 11, 10, 10, 10, 9, 9, None, 13]
    assert out["AVAL"].tolist() == ADBDS["AVAL"].tolist()  # the dataset's own AVAL is untouched


# 3. "Filtering which records are joined from the additional dataset (filter_add)": post-baseline nadir
def test_admiral_nadir_filter_add():
    out = derive_vars_joined(ADBDS, sources={}, by_vars=["STUDYID", "USUBJID"], order=["AVAL"],
                             new_vars={"NADIR": "AVAL"}, join_vars=["ADY"], join_type="all", filter_add="ADY > 0",
                             filter_join="ADY_JOIN < ADY", mode="first")
    assert values(out["NADIR"]) == [None, None, None, 12, 12, 9, 9, None, None]


# 4. "Combining all of the above": highest haemoglobin within two weeks before each AE, earliest day on ties
def test_admiral_highest_hgb_before_ae():
    adae = pd.DataFrame({"STUDYID": "AB42", "USUBJID": ["1", "1", "2"], "ASTDY": [3, 22, 2]})
    adlb = pd.DataFrame({"STUDYID": "AB42", "USUBJID": "1", "PARAMCD": ["HGB"] * 6 + ["ALB"],
                         "ADY": [1, 3, 5, 8, 9, 16, 1], "AVAL": [8.5, 7.9, 8.9, 8.0, 8.0, 7.4, 42]})
    out = derive_vars_joined(adae, sources={"adam.ADLB": adlb}, source="adam.ADLB", by_vars=["STUDYID", "USUBJID"],
                             order=["AVAL", "desc(ADY)"], new_vars={"HGB_MAX": "AVAL", "HGB_DY": "ADY"},
                             join_type="all", filter_add="PARAMCD == 'HGB'",
                             filter_join="ASTDY - 14 <= ADY and ADY <= ASTDY", mode="last")
    assert values(out["HGB_MAX"]) == [8.5, 8.0, None]
    assert values(out["HGB_DY"]) == [1, 8, None]


MYD = pd.DataFrame({"STUDYID": "AB42", "USUBJID": ["1"] * 6 + ["2"] * 7,
                    "ADY": [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 7],
                    "AVAL": ["++", "-", "0", "+", "++", "-", "-", "++", "+", "0", "-", "++", "0"]})


# 5. "Join records occurring before a condition (join_type = 'before')": last "++" day before each "0"
def test_admiral_join_type_before():
    out = derive_vars_joined(MYD, sources={}, by_vars=["STUDYID", "USUBJID"], order=["ADY"], mode="last",
                             new_vars={"PREVPLDY": "ADY"}, join_vars=["AVAL"], join_type="before",
                             filter_join="AVAL == '0' and AVAL_JOIN == '++'")
    assert values(out["PREVPLDY"]) == [None, None, 1, None, None, None, None, None, None, 2, None, None, 6]


# 6. join_type "after" with mode first: the next record's value (hand-worked); exist flag
def test_join_type_after_and_exist_flag():
    out = derive_vars_joined(MYD, sources={}, by_vars=["USUBJID"], order=["ADY"], mode="first",
                             new_vars={"NEXTVAL": "AVAL"}, join_type="after", exist_flag="NEXTFL")
    assert values(out["NEXTVAL"]) == ["-", "0", "+", "++", "-", None, "++", "+", "0", "-", "++", "0", None]
    assert values(out["NEXTFL"]) == ["Y"] * 5 + [None] + ["Y"] * 6 + [None]
    out = derive_vars_joined(MYD, sources={}, by_vars=["USUBJID"], order=["desc(ADY)"], mode="first",
                             new_vars={"PREVVAL": "AVAL"}, join_type="after", exist_flag="PREVFL",
                             true_value="Y", false_value="N")
    # with a descending order "after" means earlier days
    assert values(out["PREVVAL"])[:3] == [None, "++", "-"] and out["PREVFL"].tolist()[:2] == ["N", "Y"]


# 7. more than one fitting record without order is an error naming the record; order without mode too
def test_errors():
    # the record of day 8 fits the windows starting on days -30, 2 and 8 when only AWLO is checked
    with pytest.raises(DerivationError, match=r"3 records of adam.WINDOWS fit one record \(USUBJID=1\)"):
        derive_vars_joined(ADBDS, sources={"adam.WINDOWS": WINDOWS.assign(USUBJID="1")}, source="adam.WINDOWS",
                           by_vars=["USUBJID"], new_vars=["AVISIT"], join_type="all", filter_join="AWLO <= ADY")
    with pytest.raises(DerivationError, match="order is given without mode"):
        derive_vars_joined(ADBDS, sources={}, new_vars={"X": "AVAL"}, join_type="all", order=["AVAL"])
    with pytest.raises(DerivationError, match="join_type 'before' needs order"):
        derive_vars_joined(ADBDS, sources={}, new_vars={"X": "AVAL"}, join_type="before")
    with pytest.raises(DerivationError, match="input adam.NONE is not available"):
        derive_vars_joined(ADBDS, sources={}, source="adam.NONE", new_vars=["X"], join_type="all")


# 8. registered with the variables it reads and adds
def test_registered_requires_and_produces():
    d = get_derivation("derive_vars_joined")
    args = {"source": "adam.ADLB", "by_vars": ["USUBJID"], "order": ["AVAL", "desc(ADY)"],
            "new_vars": {"HGB_MAX": "AVAL"}, "join_type": "all", "filter_add": "PARAMCD == 'HGB'",
            "filter_join": "ADY <= ASTDY", "mode": "last", "exist_flag": "HGBFL"}
    assert d.required_vars(args) == ["USUBJID", "ADY", "ASTDY", "adam.ADLB.USUBJID", "adam.ADLB.AVAL",
                                     "adam.ADLB.ADY", "adam.ADLB.PARAMCD"]
    assert d.produced_vars(args) == ["HGB_MAX", "HGBFL"]


# 9. lineage: a record taken from an SDTM source adds its (domain, --SEQ) to the record's _SRC
def test_lineage_of_sdtm_source():
    ae = pd.DataFrame({"USUBJID": ["1", "2"], "ASTDY": [3, 2], "_SRC": [[("AE", 1)], [("AE", 2)]]})
    lb = pd.DataFrame({"USUBJID": ["1", "1"], "DOMAIN": "LB", "LBSEQ": [7, 8], "ADY": [1, 3],
                       "AVAL": [8.5, 7.9]})
    out = derive_vars_joined(ae, sources={"sdtm.LB": lb}, source="sdtm.LB", by_vars=["USUBJID"], order=["ADY"],
                             mode="last", new_vars={"LASTLB": "AVAL"}, join_type="all", filter_join="ADY <= ASTDY")
    assert values(out["LASTLB"]) == [7.9, None]
    assert out["_SRC"].tolist() == [[("AE", 1), ("LB", 8)], [("AE", 2)]]


ADLB_SPEC = """\
dataset: ADLB
label: Laboratory Analysis Dataset
class: BASIC DATA STRUCTURE
structure: One record per subject per analysis day
keys: [USUBJID, ADY]
inputs: [sdtm.LB]
steps:
  - id: lb
    derive: create_dataset
    args: {source: sdtm.LB, keep: {USUBJID: USUBJID, ADY: LBDY, AVAL: LBSTRESN}}
  - id: nadir
    derive: derive_vars_joined
    args: {by_vars: [USUBJID], order: [AVAL], mode: first, new_vars: {NADIR: AVAL}, join_type: all,
           filter_join: "ADY_JOIN < ADY", exist_flag: PRIORFL}
variables:
  - {name: USUBJID, label: Unique Subject Identifier, type: text}
  - {name: ADY, label: Analysis Relative Day, type: integer}
  - {name: AVAL, label: Analysis Value, type: float}
  - {name: NADIR, label: Lowest Earlier Value, type: float}
  - {name: PRIORFL, label: Earlier Value Exists, type: text}
"""


# 10. from a spec, through the engine: the self-join of admiral's nadir example
def test_from_a_spec(tmp_path):
    from datetime import date

    from tlfgen.adam.engine import run_dataset
    from tlfgen.spec.adam import load_adam_spec_files
    from tlfgen.spec.study import Arm, StudyInfo

    (tmp_path / "ADLB.yaml").write_text(ADLB_SPEC)
    spec = load_adam_spec_files([tmp_path / "ADLB.yaml"], root=tmp_path)["ADLB"]
    lb = pd.DataFrame({"USUBJID": ADBDS["USUBJID"], "DOMAIN": "LB", "LBSEQ": range(1, 10),
                       "LBDY": ADBDS["ADY"], "LBSTRESN": ADBDS["AVAL"].astype(float)})
    study = StudyInfo(id="AB42", name="x", description="x", protocol="x", cutoff=date(2022, 6, 30),
                      arms=[Arm(armcd="A", arm="Drug A", trtn=1)])
    data = run_dataset(spec, {"sdtm.LB": lb}, study).data
    assert values(data["NADIR"]) == [None, 11, 10, 10, 10, 9, 9, None, 13]
    assert values(data["PRIORFL"]) == [None] + ["Y"] * 6 + [None, "Y"]
