"""Tests for tlfgen.adam.recist: RECIST 1.1 recomputed from TU/TR, and the check against RS."""

from __future__ import annotations

import pandas as pd
import pytest

from tlfgen.adam.recist import (
    compute_iso_date,
    compute_lesion_state,
    compute_nontarget_response,
    compute_overall_response,
    compute_recist_mismatches,
    compute_one_row_per_date,
    compute_target_response,
    create_lesion_measurements,
)
from tlfgen.adam.recist_assess import derive_recist_assessments
from tlfgen.errors import DerivationError

D0 = pd.Timestamp("2021-01-01")


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


# ---------------------------------------------------------------- 1. target response
@pytest.mark.parametrize(
    ("diams", "nodal", "base", "nadir", "expected"),
    [
        ({"T01": 0.0, "T02": 0.0}, {}, 50.0, 50.0, "CR"),  # 1.1 all gone
        ({"T01": 0.0, "T02": 9.0}, {"T02": True}, 50.0, 50.0, "CR"),  # 1.2 node < 10 mm is normal
        ({"T01": 0.0, "T02": 10.0}, {"T02": True}, 50.0, 50.0, "PR"),  # 1.3 node of 10 mm is not
        ({"T01": 20.0, "T02": 15.0}, {}, 50.0, 50.0, "PR"),  # 1.4 exactly -30%
        ({"T01": 20.0, "T02": 15.5}, {}, 50.0, 50.0, "SD"),  # 1.5 -29%
        ({"T01": 24.0, "T02": 12.0}, {}, 50.0, 30.0, "PD"),  # 1.6 +20% and +6 mm from nadir
        ({"T01": 12.0, "T02": 12.0}, {}, 25.0, 20.0, "SD"),  # 1.7 +20% but only +4 mm: not PD
        ({"T01": 20.0, "T02": None}, {}, 50.0, 50.0, "NE"),  # 1.8 a target not measured
        ({"T01": 70.0, "T02": None}, {}, 50.0, 50.0, "PD"),  # 1.9 measured ones already PD
        ({}, {}, None, None, "NA"),  # 1.10 no target lesions
    ],
)
def test_compute_target_response(diams, nodal, base, nadir, expected):
    assert compute_target_response(diams, nodal, baseline_sum=base, nadir_sum=nadir) == expected


# ---------------------------------------------------------------- 2. non-target, states, overall
def test_compute_lesion_state_normalises_text():
    assert [compute_lesion_state(v) for v in ("Absent", " present ", "UNEQUIVOCAL PROGRESSION", None, "NE")] == [
        "ABSENT", "PRESENT", "PD", "NE", "NE"]


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ({}, "NA"),
        ({"NT01": "ABSENT", "NT02": "ABSENT"}, "CR"),
        ({"NT01": "ABSENT", "NT02": "PRESENT"}, "NON-CR/NON-PD"),
        ({"NT01": "PRESENT", "NT02": "UNEQUIVOCAL PROGRESSION"}, "PD"),
        ({"NT01": "PRESENT", "NT02": None}, "NE"),
    ],
)
def test_compute_nontarget_response(states, expected):
    assert compute_nontarget_response(states) == expected


@pytest.mark.parametrize(
    ("target", "nontarget", "new", "expected"),
    [
        ("CR", "CR", False, "CR"), ("CR", "NA", False, "CR"), ("CR", "NON-CR/NON-PD", False, "PR"),
        ("CR", "NE", False, "PR"), ("PR", "NE", False, "PR"), ("SD", "NE", False, "SD"),
        ("SD", "PD", False, "PD"), ("CR", "CR", True, "PD"), ("NE", "NON-CR/NON-PD", False, "NE"),
        ("NA", "CR", False, "CR"), ("NA", "NON-CR/NON-PD", False, "NON-CR/NON-PD"), ("NA", "NA", False, "NE"),
    ],
)
def test_compute_overall_response(target, nontarget, new, expected):
    assert compute_overall_response(target, nontarget, new) == expected


def test_compute_iso_date_keeps_partial_dates_missing():
    out = compute_iso_date(pd.Series(["2021-03-04", "2021-03", "2021-03-04T10:00", None]))
    assert out.tolist()[0] == pd.Timestamp("2021-03-04")
    assert pd.isna(out.iloc[1]) and pd.isna(out.iloc[3])
    assert out.iloc[2] == pd.Timestamp("2021-03-04")


# ---------------------------------------------------------------- 3. SDTM TU/TR -> lesions
def _tu_tr():
    tu = pd.DataFrame({
        "USUBJID": ["S1"] * 4,
        "TULNKID": ["T01", "T02", "NT01", "NEW01"],
        "TUORRES": ["TARGET", "TARGET", "NON-TARGET", "NEW"],
        "TULOC": ["LIVER", "MEDIASTINAL LYMPH NODE", "LUNG", "BONE"],
        "TUDTC": ["2020-12-20", "2020-12-20", "2020-12-20", "2021-04-30"],
        "VISITNUM": [1, 1, 1, 2030],
    })
    rows = [
        # visit, date, lnkid, testcd, num, text, seq
        (1, "2020-12-20", "T01", "DIAMETER", 30, "30", 1), (1, "2020-12-20", "T02", "DIAMETER", 20, "20", 2),
        (1, "2020-12-20", "NT01", "TUMSTATE", None, "PRESENT", 3),
        (2010, "2021-02-11", "T01", "DIAMETER", 10, "10", 4), (2010, "2021-02-11", "T02", "DIAMETER", 12, "12", 5),
        (2010, "2021-02-11", "NT01", "TUMSTATE", None, "PRESENT", 6),
        (2020, "2021-03-25", "T01", "DIAMETER", 0, "0", 7), (2020, "2021-03-25", "T02", "DIAMETER", 8, "8", 8),
        (2020, "2021-03-25", "NT01", "TUMSTATE", None, "ABSENT", 9),
    ]
    tr = pd.DataFrame(rows, columns=["VISITNUM", "TRDTC", "TRLNKID", "TRTESTCD", "TRSTRESN", "TRSTRESC", "TRSEQ"])
    tr.insert(0, "USUBJID", "S1")
    return tu, tr


def test_create_lesion_measurements_joins_tu_and_adds_tu_only_new_lesions():
    tu, tr = _tu_tr()
    nodal = tu["TULOC"].str.contains("LYMPH NODE")
    out = create_lesion_measurements(tu, tr, nodal=nodal)
    assert len(out) == 10  # 9 TR rows + NEW01 from TU
    t02 = out[out["LNKID"] == "T02"]
    assert t02["NODAL"].tolist() == [True, True, True]
    assert out.loc[out["LNKID"] == "NEW01", ["ROLE", "DATE"]].values.tolist() == [["NEW", pd.Timestamp("2021-04-30")]]
    assert out.loc[out["LNKID"] == "NT01", "STATE"].tolist() == ["PRESENT", "PRESENT", "ABSENT"]


def test_create_lesion_measurements_unknown_lesion_is_an_error():
    tu, tr = _tu_tr()
    tr.loc[0, "TRLNKID"] = "T09"
    with pytest.raises(DerivationError, match=r"TR.TRLNKID: USUBJID=S1: TR lesion T09 has no TU record"):
        create_lesion_measurements(tu, tr)


# ---------------------------------------------------------------- 4. per assessment
def test_derive_recist_assessments_baseline_nadir_and_cr_with_normal_node():
    tu, tr = _tu_tr()
    lesions = create_lesion_measurements(tu, tr, nodal=tu["TULOC"].str.contains("LYMPH NODE"))
    out = derive_recist_assessments(lesions, {"S1": pd.Timestamp("2021-01-01")})
    assert out["ADT"].dt.strftime("%Y-%m-%d").tolist() == ["2020-12-20", "2021-02-11", "2021-03-25", "2021-04-30"]
    assert out["BASEFL"].tolist() == ["Y", None, None, None]
    assert out["SUMDIAM"].tolist()[:3] == [50.0, 22.0, 8.0]
    assert out["PCHGBL"].tolist()[1:3] == [-56.0, -84.0]
    assert out["OVRLRESP"].tolist() == [None, "PR", "CR", "PD"]  # 4th: new lesion only (targets NE) -> PD
    assert out["NEWLIND"].tolist()[1:] == ["N", "N", "Y"]
    assert out["TRSEQS"].tolist()[1] == [4, 5, 6]


def _lesions(rows):
    """rows: (day, lnkid, role, diam, state) for subject S1; start date is day 0."""
    data = pd.DataFrame(rows, columns=["D", "LNKID", "ROLE", "DIAM", "STATE"])
    data["USUBJID"] = "S1"
    data["NODAL"] = False
    data["VISITNUM"] = data["D"]
    data["VISIT"] = "V" + data["D"].astype(str)
    data["DATE"] = [day(d) for d in data["D"]]
    data["SEQ"] = range(1, len(data) + 1)
    return data.drop(columns="D")


def test_derive_recist_assessments_pd_from_nadir_not_baseline():
    lesions = _lesions([
        (-5, "T01", "TARGET", 50.0, None),
        (42, "T01", "TARGET", 20.0, None),  # -60% PR, nadir 20
        (84, "T01", "TARGET", 26.0, None),  # +30% from nadir, +6 mm -> PD, still -48% from baseline
    ])
    out = derive_recist_assessments(lesions, {"S1": D0})
    assert out["OVRLRESP"].tolist() == [None, "PR", "PD"]
    assert out["PCHGNAD"].tolist()[2] == 30.0
    assert out["NADIR"].tolist() == [50.0, 50.0, 20.0]


def test_derive_recist_assessments_missing_baseline_gives_ne():
    lesions = _lesions([(42, "T01", "TARGET", 20.0, None), (84, "T01", "TARGET", 10.0, None)])
    out = derive_recist_assessments(lesions, {"S1": D0})
    assert out["BASEFL"].tolist() == [None, None]
    assert out["OVRLRESP"].tolist() == ["NE", "NE"]
    assert out["PCHGBL"].isna().all()


def test_derive_recist_assessments_unmeasured_target_is_ne():
    lesions = _lesions([
        (-5, "T01", "TARGET", 30.0, None), (-5, "T02", "TARGET", 20.0, None),
        (42, "T01", "TARGET", 10.0, None),
    ])
    out = derive_recist_assessments(lesions, {"S1": D0})
    assert out["TRGRESP"].tolist() == [None, "NE"]
    assert out["OVRLRESP"].tolist() == [None, "NE"]


# ---------------------------------------------------------------- 5. mismatches
def test_compute_recist_mismatches_reports_each_disagreement():
    lesions = _lesions([
        (-5, "T01", "TARGET", 50.0, None), (42, "T01", "TARGET", 40.0, None), (84, "T01", "TARGET", 30.0, None),
    ])
    recomputed = derive_recist_assessments(lesions, {"S1": D0})
    inv = pd.DataFrame({"USUBJID": ["S1", "S1", "S1"], "ADT": [day(42), day(84), day(126)],
                        "AVALC": ["PR", "PR", "SD"], "SRCSEQ": [11, 12, 13]})
    findings = compute_recist_mismatches(recomputed, inv)
    assert [f.value for f in findings] == [
        "RS=PR; RECIST=SD; date=2021-02-12",
        "RS=SD; RECIST=; date=2021-05-07",
    ]
    first = findings[0]
    assert (first.rule, first.domain, first.usubjid, first.severity) == ("RECIST-MISMATCH", "ADRS", "S1", "WARNING")
    assert first.message == (
        "assessment 2021-02-12: investigator overall response PR but RECIST 1.1 from TU/TR gives SD "
        "(sum of diameters 40 mm, -20.0% from baseline, -20.0% from nadir; target SD, non-target NA, "
        "new lesion N); RS record RSSEQ=11")


def test_compute_recist_mismatches_none_when_all_agree():
    lesions = _lesions([(-5, "T01", "TARGET", 50.0, None), (42, "T01", "TARGET", 30.0, None)])
    recomputed = derive_recist_assessments(lesions, {"S1": D0})
    inv = pd.DataFrame({"USUBJID": ["S1"], "ADT": [day(42)], "AVALC": ["pr "]})
    assert compute_recist_mismatches(recomputed, inv) == []


def _lesion_rows(**columns):
    base = {"USUBJID": ["S1", "S1"], "LNKID": ["T1", "T1"], "DATE": [day(0), day(0)], "ROLE": ["TARGET", None],
            "NODAL": [False, True], "VISITNUM": [1.0, 1.0], "VISIT": ["BASE", None], "DIAM": [12.0, float("nan")],
            "STATE": [float("nan"), "PRESENT"], "SEQ": [4.0, 2.0]}
    return pd.DataFrame({**base, **columns})


def test_compute_one_row_per_date_01_merges_the_tests_of_one_lesion_and_date():
    out = compute_one_row_per_date(_lesion_rows())
    assert out.to_dict("records") == [{"USUBJID": "S1", "LNKID": "T1", "DATE": day(0), "ROLE": "TARGET",
                                       "NODAL": True, "VISITNUM": 1.0, "VISIT": "BASE", "DIAM": 12.0,
                                       "STATE": "PRESENT", "SEQ": 2.0}]


def test_compute_one_row_per_date_02_unique_keys_keep_rows_and_order_missing_text_is_none():
    out = compute_one_row_per_date(_lesion_rows(LNKID=["T2", "T1"]))
    assert out["LNKID"].tolist() == ["T2", "T1"]  # not regrouped (the caller sorts)
    assert out["ROLE"].tolist() == ["TARGET", None]
    assert out["VISIT"].tolist() == ["BASE", None]
    assert out["STATE"].tolist() == [None, "PRESENT"]
    assert out["DIAM"].tolist()[0] == 12.0 and out["SEQ"].tolist() == [4.0, 2.0]
    assert out["NODAL"].tolist() == [False, True]
