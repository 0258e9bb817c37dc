"""Tests for tlfgen.lineage.conformance: the checks on small inline outputs (each can fail), and the
report of the embedded study (tests/conftest.py runs it once)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import openpyxl

from tlfgen.lineage.conformance import (
    FDA_TS,
    check_adverse_events,
    check_define,
    check_epoch_and_visits,
    check_trial_summary,
    create_stage,
)


def _doc(name: str, columns: list[str], rows: list[list], label: str = "") -> dict:
    return {"name": name, "label": label, "records": len(rows), "studyOID": "ST.X", "metaDataVersionOID": "MDV.X",
            "itemGroupOID": f"IG.{name}", "columns": [{"itemOID": f"IT.{name}.{c}", "name": c} for c in columns],
            "rows": rows}


def _one(checks, check: str):
    found = [c for c in checks if c.check == check]
    assert len(found) == 1, [c.check for c in checks]
    return found[0]


def test_1_ts_without_sstdtc_fails_and_names_it() -> None:
    params = [p for p in FDA_TS if p != "SSTDTC"]
    ts = _doc("TS", ["TSPARMCD", "TSVALCD", "TSVCDREF"], [[p, "", ""] for p in params])
    checks = check_trial_summary(create_stage("sdtm", None, {"TS": ts}))
    param = _one(checks, "TS-PARAM")
    assert (param.status, param.failed) == ("FAIL", ["SSTDTC", "first parameter is SENDTC, not SSTDTC"])
    code = _one(checks, "TS-CODE")
    assert code.status == "WARN" and "TPHASE (no CDISC CT code)" in code.failed and code.checked == 20


def test_2_blank_epoch_and_unknown_visits_fail() -> None:
    sv = _doc("SV", ["USUBJID", "VISITNUM", "EPOCH"], [["S1", 1.0, "SCREENING"]])
    ds = _doc("DS", ["USUBJID", "VISITNUM", "EPOCH"], [["S1", 1.0, "SCREENING"], ["S1", 99999.0, ""],
                                                       ["S1", None, "TREATMENT"]])
    checks = check_epoch_and_visits(create_stage("sdtm", None, {"SV": sv, "DS": ds}))
    epoch = [c for c in checks if c.check == "EPOCH" and c.dataset == "DS"][0]
    assert (epoch.checked, epoch.failed) == (3, ["EPOCH blank on 1 record(s)"])
    visits = _one(checks, "VISIT-SV")
    assert (visits.checked, visits.failed) == (2, ["S1 VISITNUM 99999.0"])


def test_3_serious_ae_without_a_criterion_fails() -> None:
    columns = ["AESEQ", "AESER", *("AELLT", "AELLTCD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD",
                                   "AESOC", "AESOCCD", "AEBDSYCD"), "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB",
               "AESCONG", "AESMIE"]
    coded = ["A", 1, 1, "H", 2, "G", 3, "S", 4, 4]
    ae = _doc("AE", columns, [[1, "Y", *coded, "N", "N", "Y", "N", "N", "N"],
                              [2, "Y", *coded, "N", "N", "N", "N", "N", "N"],
                              [3, "N", *coded[:3], "", *coded[4:], "", "", "", "", "", ""]])
    checks = check_adverse_events(create_stage("sdtm", None, {"AE": ae}))
    assert _one(checks, "AE-SERIOUS").failed == ["AESEQ 2"]
    assert _one(checks, "AE-MEDDRA").failed == ["AEHLT blank on 1 record(s)"]


DEFINE = """<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.1">
<Study OID="ST.X"><MetaDataVersion OID="MDV.X">
<ItemGroupDef OID="IG.DM" Name="DM"><ItemRef ItemOID="IT.DM.USUBJID" Mandatory="Yes"/>
<ItemRef ItemOID="IT.DM.SEX" Mandatory="Yes"/><ItemRef ItemOID="IT.DM.AGE" Mandatory="No" MethodOID="MT.AGE"/>
<def:Class Name="SPECIAL PURPOSE"/></ItemGroupDef>
<ItemDef OID="IT.DM.USUBJID" Name="USUBJID"><def:Origin Type="Derived"/></ItemDef>
<ItemDef OID="IT.DM.SEX" Name="SEX"><CodeListRef CodeListOID="CL.SEX"/><def:Origin Type="Collected"/></ItemDef>
<ItemDef OID="IT.DM.AGE" Name="AGE"><def:Origin Type="Derived"/></ItemDef>
<CodeList OID="CL.SEX"><CodeListItem CodedValue="M"/><CodeListItem CodedValue="F"/></CodeList>
</MetaDataVersion></Study></ODM>"""


def test_4_define_checks_against_the_data() -> None:
    dm = _doc("DM", ["USUBJID", "SEX", "AGE"], [["S1", "M", 60], ["S2", "", 70], ["S3", "U", 65]])
    checks = check_define(create_stage("sdtm", ET.fromstring(DEFINE), {"DM": dm}))
    assert _one(checks, "DEFINE-CODELIST").failed == ["SEX: 'U' not in CL.SEX"]
    assert _one(checks, "DEFINE-MANDATORY").failed == ["SEX: Mandatory with 1 blank"]
    assert _one(checks, "DEFINE-METHOD").failed == ["USUBJID: Derived without method"]
    assert _one(checks, "DEFINE-OID").status == "PASS"


def test_5_the_embedded_study_report(embedded_run) -> None:
    study, results = embedded_run
    path = study.outputs_dir / "qc" / "conformance.xlsx"
    assert path in results["lineage"].outputs
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["checks"].iter_rows(values_only=True))
    assert rows[0] == ("check", "stage", "dataset", "description", "checked", "failed", "status", "examples")
    by_status: dict[str, list] = {}
    for row in rows[1:]:
        by_status.setdefault(row[6], []).append(row)
    assert "FAIL" not in by_status
    assert sorted((r[0], r[2], r[5]) for r in by_status["WARN"]) == [
        ("IG-EXP", "TA", 1),  # TATRANS: the trial design has no transition rule
        ("TS-CODE", "TS", 6),  # sponsor DUNS, SNOMED (INDIC, TDIGRP), UNII (2 x TRT), MED-RT: not in the study's dictionaries
    ]
    summary = {r[0]: r[1:] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["DEFINE-VLM"] == (13, 13, 0, 0)  # 11 SDTM (findings, TS, SUPP--) + ADRS, ADTTE
    assert summary["EPOCH"][0] == 11


def test_column_profile_counts_blanks_and_keeps_types_apart():
    """Blank records counted per distinct value give the per-record count; 1, 1.0 and True stay apart
    (each has its own text in a codelist check); None apart from NaN (NaN is not blank)."""
    from tlfgen.lineage.conformance_data import compute_distinct, create_column_profile

    column = [None, " ", "", "a", 1, 1.0, True, None, "a", " ", float("nan")]
    profile = create_column_profile(column, with_texts=True)
    # independently: blank = None x2, " " x2, "" x1; None x2
    assert (profile.records, profile.blank, profile.null, profile.given) == (11, 5, 2, True)
    assert sorted(profile.texts) == ["1", "True", "a", "nan"]
    assert create_column_profile(["N", 0, False], with_texts=True).texts == {"N", "0", "False"}
    assert create_column_profile(["", None], with_texts=False) == type(profile)(2, 2, 1, None)
    assert not create_column_profile(["", None], with_texts=False).given
    assert sorted(map(repr, compute_distinct(["x", "y", "x"]))) == ["'x'", "'y'"]


def test_profile_of_ragged_rows_and_no_rows():
    """Rows of unequal length are read per column as before (extra values ignored); no rows: empty columns."""
    from tlfgen.lineage.conformance_data import create_dataset_profile

    doc = {"name": "DS", "columns": [{"name": "USUBJID"}, {"name": "VISITNUM"}], "rows": [["S1", 1, "x"], ["S2", None]]}
    profile = create_dataset_profile(doc, "DS")
    assert (profile.columns["VISITNUM"].null, profile.visit_records, profile.visits) == (
        1, 1, {("S1", 1), ("S2", None)})
    empty = create_dataset_profile({**doc, "rows": []}, "DS")
    assert (empty.columns["USUBJID"].records, empty.visits, empty.visit_records) == (0, frozenset(), 0)


def test_visits_of_one_number_in_two_types_are_named_apart():
    """VISITNUM 2 and 2.0 (or 0.0 and -0.0) of one subject, unknown to SV: two texts, as the records hold them."""
    sv = _doc("SV", ["USUBJID", "VISITNUM"], [["S1", 1.0]])
    ds = _doc("DS", ["USUBJID", "VISITNUM"], [["S1", 2], ["S1", 2.0], ["S1", 1], ["S1", True]])
    visits = _one(check_epoch_and_visits(create_stage("sdtm", None, {"SV": sv, "DS": ds})), "VISIT-SV")
    assert (visits.checked, visits.failed) == (4, ["S1 VISITNUM 2", "S1 VISITNUM 2.0"])
    ds = _doc("DS", ["USUBJID", "VISITNUM"], [["S1", 0.0], ["S1", -0.0], ["S1", 0.0]])  # equal, printed apart
    visits = _one(check_epoch_and_visits(create_stage("sdtm", None, {"SV": sv, "DS": ds})), "VISIT-SV")
    assert (visits.checked, visits.failed) == (3, ["S1 VISITNUM -0.0", "S1 VISITNUM 0.0"])
