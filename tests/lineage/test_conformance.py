"""Tests for tlfgen.lineage.conformance: the checks on small inline outputs (each can fail), and the
report of the embedded study (tests/conftest.py runs it once)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import openpyxl

from tlfgen.lineage.conformance import (
    FDA_TS,
    _Stage,
    check_adverse_events,
    check_define,
    check_epoch_and_visits,
    check_trial_summary,
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
    checks = check_trial_summary(_Stage("sdtm", None, {"TS": ts}))
    param = _one(checks, "TS-PARAM")
    assert (param.status, param.failed) == ("FAIL", ["SSTDTC", "first parameter is SENDTC, not SSTDTC"])
    code = _one(checks, "TS-CODE")
    assert code.status == "WARN" and "TPHASE (no CDISC CT code)" in code.failed and code.checked == 20


def test_2_blank_epoch_and_unknown_visits_fail() -> None:
    sv = _doc("SV", ["USUBJID", "VISITNUM", "EPOCH"], [["S1", 1.0, "SCREENING"]])
    ds = _doc("DS", ["USUBJID", "VISITNUM", "EPOCH"], [["S1", 1.0, "SCREENING"], ["S1", 99999.0, ""],
                                                       ["S1", None, "TREATMENT"]])
    checks = check_epoch_and_visits(_Stage("sdtm", None, {"SV": sv, "DS": ds}))
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
    checks = check_adverse_events(_Stage("sdtm", None, {"AE": ae}))
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
    checks = check_define(_Stage("sdtm", ET.fromstring(DEFINE), {"DM": dm}))
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


def test_blank_count_and_distinct_values_keep_types_apart():
    """Blank counting per distinct value gives the per-value count; 1, 1.0 and True stay apart
    (each has its own text in a codelist check)."""
    from tlfgen.lineage.conformance import _blank_count, _distinct, _text

    column = [None, " ", "", "a", 1, 1.0, True, None, "a", " "]
    assert _blank_count(column) == 5
    assert sorted(_text(v) for v in _distinct(column) if v is not None and str(v).strip()) == ["1", "1", "True", "a"]
    assert sorted(map(repr, _distinct(["x", "y", "x"]))) == ["'x'", "'y'"]
