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


def _sv_ctx():
    sv = SimpleNamespace(spec=SimpleNamespace(keys=["STUDYID", "USUBJID", "VISITNUM"]))
    forms = {"ecog": SimpleNamespace(file="raw/ecog.csv"), "ae": SimpleNamespace(file="raw/ae.csv")}
    return SimpleNamespace(forms=forms, specs=SimpleNamespace(domains={"SV": sv}))


def _sv_data(visits):
    return pd.DataFrame({"STUDYID": "X", "DOMAIN": "SV", "USUBJID": ["S-1"] * len(visits),
                         "VISITNUM": visits, REC: range(len(visits))})


def test_a_domain_without_seq_is_keyed_by_its_spec_keys_one_record_per_visit():
    data = _sv_data([1.0, 2.0, 3.0])
    rows = pd.DataFrame({REC: [0, 1, 2], "__row@ecog": [4, 5, 6]})
    lineage = create_lineage(data, rows, _sv_ctx(), None)
    assert lineage["key"] == ["USUBJID", "VISITNUM"]
    assert list(lineage["records"]) == [["S-1", 1, [[0, 4]]], ["S-1", 2, [[0, 5]]], ["S-1", 3, [[0, 6]]]]
    # keys given by the caller win over the spec lookup; STUDYID never enters the key, USUBJID leads
    no_specs = SimpleNamespace(forms=_sv_ctx().forms)
    given = create_lineage(data, rows, no_specs, None, keys=["STUDYID", "VISITNUM", "USUBJID"])
    assert given["key"] == ["USUBJID", "VISITNUM"] and list(given["records"]) == list(lineage["records"])


def test_key_values_keep_decimals_and_missing_numbers():
    data = _sv_data([1.0, 3.1, float("nan")])
    rows = pd.DataFrame({REC: [0, 1, 2], "__row@ecog": [4, 5, 6]})
    lineage = create_lineage(data, rows, _sv_ctx(), None)
    assert lineage["records"].text == '[["S-1",1,[[0,4]]],["S-1",3.1,[[0,5]]],["S-1",null,[[0,6]]]]'


def test_seq_domains_and_unknown_domains_keep_usubjid_and_seq_keys():
    data = pd.DataFrame({"DOMAIN": "AE", "USUBJID": ["S-1"], "AESEQ": [1.0], REC: [0]})
    rows = pd.DataFrame({REC: [0], "__row@ae": [3]})
    assert create_lineage(data, rows, _sv_ctx(), "AESEQ")["key"] == ["USUBJID", "AESEQ"]
    assert create_lineage(data.drop(columns="AESEQ"), rows, _sv_ctx(), None)["key"] == ["USUBJID"]


def test_pair_groups_one_text_per_record_from_pairs_sorted_by_record():
    import numpy as np

    from tlfgen.sdtm.lineage import _pair_groups

    recs, groups = _pair_groups(np.array([0, 2, 2, 2, 5]), np.array([0, 0, 1, 1, 3]), np.array([4, 1, 2, 10, 7]))
    assert recs.tolist() == [0, 2, 5]
    assert groups == ["[[0,4]]", "[[0,1],[1,2],[1,10]]", "[[3,7]]"]
    empty, none = _pair_groups(np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64"))
    assert empty.tolist() == [] and none == []
