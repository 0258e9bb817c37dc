"""SDTM lineage records (tlfgen.sdtm.lineage): JSON text built per record equals json.dumps of the lists."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from tlfgen.sdtm.context import REC
from tlfgen.sdtm.lineage import LineageRecords, create_lineage, lineage_text


def _ctx():
    return SimpleNamespace(forms={"ae": SimpleNamespace(file="raw/ae.csv"), "x": SimpleNamespace(file="raw/x.csv")})


def test_one_row_per_record_in_dataset_order():
    data = pd.DataFrame({"USUBJID": ["S-2", 'S-"1'], "AESEQ": [1.0, 1.0], REC: [1, 0]})
    rows = pd.DataFrame({REC: [0, 1], "__row@ae": [5, 7]})
    lineage = create_lineage(data, rows, _ctx(), "AESEQ")
    assert lineage["key"] == ["USUBJID", "AESEQ"] and lineage["files"] == ["raw/ae.csv"]
    assert list(lineage["records"]) == [["S-2", 1, [[0, 7]]], ['S-"1', 1, [[0, 5]]]]
    assert lineage["records"].text == json.dumps(list(lineage["records"]), separators=(",", ":"))


def test_several_rows_and_files_per_record_sorted_and_a_record_without_rows():
    data = pd.DataFrame({"USUBJID": ["S-1", "S-2"], REC: [0, 1]})
    rows = pd.DataFrame({REC: [0, 0, 0], "__row@x": [9, 3, 3], "__row@ae": [2.0, None, 1.0]})
    lineage = create_lineage(data, rows, _ctx(), None)
    assert lineage["files"] == ["raw/ae.csv", "raw/x.csv"]
    assert list(lineage["records"]) == [["S-1", [[0, 1], [0, 2], [1, 3], [1, 9]]], ["S-2", []]]


def test_lineage_text_equals_json_dumps():
    doc = {"version": 1, "domain": "AE", "key": ["USUBJID"], "files": ["raw/ae.csv"],
           "records": LineageRecords('[["S-1",[[0,1]]]]')}
    plain = {**doc, "records": [["S-1", [[0, 1]]]]}
    expected = json.dumps(plain, separators=(",", ":"), ensure_ascii=True) + "\n"
    assert lineage_text(doc) == expected
    assert lineage_text(plain) == expected
    assert len(doc["records"]) == 1 and doc["records"][0] == ["S-1", [[0, 1]]]
