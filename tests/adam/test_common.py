"""Tests for tlfgen.adam.common: generic ADaM derivations (numbered cases, exact values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlfgen.adam.common import (
    create_dataset,
    derive_var_cat,
    derive_var_extreme_flag,
    derive_var_flag,
    derive_var_map,
    derive_var_merged_exist_flag,
    derive_var_numeric,
    derive_vars_merged,
    derive_vars_suppqual,
    derive_vars_transposed,
)
from tlfgen.errors import DerivationError

NaN = float("nan")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def dm() -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": ["S-1", "S-2", "S-3"], "DOMAIN": "DM", "AGE": [50.0, 65.0, 70.0]})


# ---- create_dataset

def test_create_dataset_01_keeps_filters_and_starts_lineage():
    ae = pd.DataFrame({"DOMAIN": "AE", "USUBJID": ["S-1", "S-1", "S-2"], "AESEQ": [1.0, 2.0, 1.0],
                       "AETERM": ["A", "B", "C"]})
    out = create_dataset(None, sources={"sdtm.AE": ae}, source="sdtm.AE", keep=["USUBJID", "AESEQ", "AETERM"],
                         filter="AETERM != 'B'")
    assert out["AETERM"].tolist() == ["A", "C"]
    assert out["_SRC"].tolist() == [[("AE", 1)], [("AE", 1)]]


def test_create_dataset_02_renames_with_mapping():
    out = create_dataset(None, sources={"sdtm.DM": dm()}, source="sdtm.DM", keep={"ID": "USUBJID"})
    assert list(out.columns) == ["ID", "_SRC"]
    assert out["_SRC"].tolist() == [[("DM", None)]] * 3


# ---- derive_vars_merged

def test_derive_vars_merged_01_first_by_order_with_filter():
    ex = pd.DataFrame({"DOMAIN": "EX", "USUBJID": ["S-1", "S-1", "S-2"], "EXSEQ": [1.0, 2.0, 1.0],
                       "EXSTDTC": ["2021-02-01", "2021-01-05", "2021-03-01"], "EXDOSE": [10.0, 10.0, 0.0]})
    out = derive_vars_merged(dm(), sources={"sdtm.EX": ex}, source="sdtm.EX", new_vars={"TRTSDTC": "EXSTDTC"},
                             filter="EXDOSE > 0", order=["EXSTDTC"], mode="first")
    assert out["TRTSDTC"].iloc[0] == "2021-01-05"
    assert out["TRTSDTC"].isna().tolist() == [False, True, True]


def test_derive_vars_merged_02_last_with_desc_order():
    qs = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "QSDTC": ["2021-01-01", "2021-01-10"], "QSSTRESN": [0.0, 1.0]})
    out = derive_vars_merged(dm(), sources={"sdtm.QS": qs}, source="sdtm.QS", new_vars={"X": "QSSTRESN"},
                             order=["desc(QSDTC)"], mode="last")
    assert out["X"].iloc[0] == 0.0


def test_derive_vars_merged_03_join_filter_reads_dataset_vars():
    base = dm().assign(TRTSDT=[ts("2021-01-05"), ts("2021-01-05"), pd.NaT])
    qs = pd.DataFrame({"DOMAIN": "QS", "USUBJID": ["S-1", "S-1", "S-1", "S-2"], "QSSEQ": [1.0, 2.0, 3.0, 1.0],
                       "QSDTC": ["2021-01-01", "2021-01-05", "2021-01-26", "2021-01-06"],
                       "QSSTRESN": [0.0, 1.0, 2.0, 1.0]})
    out = derive_vars_merged(base.assign(_SRC=[[]] * 3), sources={"sdtm.QS": qs}, source="sdtm.QS",
                             new_vars={"ECOGBL": "QSSTRESN"}, dataset_vars=["TRTSDT"],
                             join_filter="date(QSDTC) <= TRTSDT", order=["QSDTC"], mode="last")
    assert out["ECOGBL"].tolist()[0] == 1.0
    assert out["ECOGBL"].isna().tolist() == [False, True, True]
    assert out["_SRC"].tolist() == [[("QS", 2)], [], []]


def test_derive_vars_merged_04_several_matches_without_mode_is_an_error():
    qs = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "QSSTRESN": [0.0, 1.0]})
    with pytest.raises(DerivationError) as err:
        derive_vars_merged(dm(), sources={"sdtm.QS": qs}, source="sdtm.QS", new_vars=["QSSTRESN"])
    assert str(err.value).startswith("sdtm.QS: USUBJID=S-1: 2 records of sdtm.QS match one record (USUBJID=S-1)")


def test_derive_var_merged_exist_flag_01():
    pr = pd.DataFrame({"USUBJID": ["S-2", "S-3"], "PRTRT": ["SURGERY", "BIOPSY"]})
    out = derive_var_merged_exist_flag(dm(), sources={"sdtm.PR": pr}, source="sdtm.PR", new_var="SURGFL",
                                       filter="PRTRT == 'SURGERY'")
    assert out["SURGFL"].tolist() == ["N", "Y", "N"]


def test_derive_vars_transposed_01():
    sc = pd.DataFrame({"USUBJID": ["S-1", "S-1", "S-2"], "SCTESTCD": ["STAGE", "TUMLOC", "STAGE"],
                       "SCSTRESC": ["III", "CERVICAL", "IV"]})
    out = derive_vars_transposed(dm(), sources={"sdtm.SC": sc}, source="sdtm.SC", key_var="SCTESTCD",
                                 value_var="SCSTRESC", key_values={"STAGE": "STAGE", "TUMLOC": "TUMLOC"})
    assert out["STAGE"].tolist()[:2] == ["III", "IV"] and pd.isna(out["STAGE"].iloc[2])
    assert out["TUMLOC"].tolist()[0] == "CERVICAL" and out["TUMLOC"].isna().sum() == 2


def test_derive_vars_suppqual_01():
    ae = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "AESEQ": [1.0, 2.0]})
    supp = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "IDVAR": "AESEQ", "IDVARVAL": ["2", "1"],
                         "QNAM": ["AERELCAM", "AERELCAM"], "QVAL": ["RELATED", "NOT RELATED"]})
    out = derive_vars_suppqual(ae, sources={"sdtm.SUPPAE": supp}, source="sdtm.SUPPAE",
                               qnams={"ARELCAM": "AERELCAM"})
    assert out["ARELCAM"].tolist() == ["NOT RELATED", "RELATED"]


# ---- dates


# ---- flags, groups, maps

def test_derive_var_flag_01():
    out = derive_var_flag(dm(), new_var="OLDFL", condition="AGE >= 65", false_value=None)
    assert out["OLDFL"].tolist() == [None, "Y", "Y"]


def test_derive_var_cat_01_first_matching_category_with_codes():
    data = pd.DataFrame({"CPS": [0.5, 1.0, 9.9, 10.0, NaN]})
    out = derive_var_cat(data, new_var="GR", new_varn="GRN", default="Not evaluable", cats=[
        {"condition": "CPS < 1", "value": "<1", "code": 1},
        {"condition": "CPS >= 1 and CPS < 10", "value": "1-9", "code": 2},
        {"condition": "CPS >= 10", "value": ">=10", "code": 3},
    ])
    assert out["GR"].tolist() == ["<1", "1-9", "1-9", ">=10", "Not evaluable"]
    assert out["GRN"].tolist()[:4] == [1.0, 2.0, 2.0, 3.0] and pd.isna(out["GRN"].iloc[4])


def test_derive_var_map_01_strip_upper_and_unmapped():
    data = pd.DataFrame({"X": [" yes", "No", "maybe", None]})
    out = derive_var_map(data, source_var="X", new_var="Y", values={"YES": "Y", "NO": "N"})
    assert out["Y"].tolist() == ["Y", "N", "maybe", None]
    out = derive_var_map(data, source_var="X", new_var="Y", values={"YES": "Y"}, keep_unmapped=False,
                         default="U")
    assert out["Y"].tolist() == ["Y", "U", "U", "U"]


def test_derive_var_numeric_01():
    out = derive_var_numeric(pd.DataFrame({"G": ["3", " 1", "NE", None]}), source_var="G", new_var="GN")
    assert out["GN"].tolist()[:2] == [3.0, 1.0] and out["GN"].isna().tolist() == [False, False, True, True]


def test_derive_var_extreme_flag_01_worst_grade_first_date():
    data = pd.DataFrame({"USUBJID": ["S-1"] * 4 + ["S-2"], "PT": ["A", "A", "A", "B", "A"],
                         "GRN": [1.0, 3.0, 3.0, 2.0, 1.0], "ASTDT": pd.to_datetime(
                             ["2021-01-01", "2021-02-01", "2021-01-15", "2021-01-01", "2021-01-01"]),
                         "REL": ["Y", "Y", "Y", "N", "Y"]})
    out = derive_var_extreme_flag(data, by_vars=["USUBJID", "PT"], order=["desc(GRN)", "ASTDT"],
                                  new_var="FL", filter="REL == 'Y'")
    assert out["FL"].tolist() == [None, None, "Y", None, "Y"]
    out = derive_var_extreme_flag(data, by_vars=["USUBJID"], order=["ASTDT", "GRN"], new_var="FL", mode="last")
    assert out["FL"].tolist() == [None, "Y", None, None, "Y"]


# ---------------------------------------------------------------- helpers added for speed (exact values)

def test_filter_mask_01():
    from tlfgen.adam.common import filter_mask
    data = pd.DataFrame({"X": [1.0, None, 3.0]})
    assert filter_mask(data, None) is None
    assert filter_mask(data, "X > 1").tolist() == [False, False, True]


def test_record_sources_01_rows_take_the_domain_of_the_first_record():
    from tlfgen.adam.common import record_sources
    data = pd.DataFrame({"DOMAIN": ["EX", "EX", "EX"], "EXSEQ": [3.0, None, 7.0]})
    assert record_sources(data, "X") == [[("EX", 3)], [("EX", None)], [("EX", 7)]]
    assert record_sources(data, "X", np.array([2, 0])) == [[("EX", 7)], [("EX", 3)]]
    assert record_sources(pd.DataFrame({"A": [1, 2]}), "DM", np.array([1])) == [[("DM", None)]]




def test_derive_vars_merged_exist_flag_and_missing_values():
    """admiral derive_vars_merged (https://rdrr.io/cran/admiral/man/derive_vars_merged.html):
    exist_flag is true_value where a source record was merged, false_value elsewhere;
    missing_values fills the new variables of records without a match (e.g. the last
    vital sign 'Not done' example)."""
    adsl = pd.DataFrame({"USUBJID": ["1", "2", "3"]})
    vs = pd.DataFrame({"USUBJID": ["1", "1", "3"], "VSSTRESN": [70.0, 72.0, 80.0], "VSDTC": ["2020-01-01",
                                                                                          "2020-02-01", "2020-01-05"],
                       "VSTESTCD": ["WEIGHT", "WEIGHT", "HEIGHT"]})
    out = derive_vars_merged(adsl, sources={"sdtm.VS": vs}, source="sdtm.VS", new_vars={"WGTLAST": "VSSTRESN"},
                             filter="VSTESTCD == 'WEIGHT'", order=["VSDTC"], mode="last", exist_flag="WGTFL",
                             false_value="N", missing_values={"WGTLAST": -1.0})
    assert out["WGTLAST"].tolist() == [72.0, -1.0, -1.0]
    assert out["WGTFL"].tolist() == ["Y", "N", "N"]
