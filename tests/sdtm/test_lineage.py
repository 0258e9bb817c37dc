"""SDTM lineage records (tlfgen.sdtm.lineage) as plain data, and the sidecar file sdtm/write.py writes from them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from tlfgen.sdtm.context import REC
from tlfgen.sdtm.lineage import create_lineage
from tlfgen.sdtm.write import dump_lineage, read_lineage, write_lineage


def _json(records) -> list:
    """The records as the sidecar holds them (tuples and lists are both JSON arrays)."""
    return json.loads(json.dumps(records))


def _ctx():
    return SimpleNamespace(forms={"ae": SimpleNamespace(file="raw/ae.csv"), "x": SimpleNamespace(file="raw/x.csv")})


def test_one_row_per_record_in_dataset_order():
    data = pd.DataFrame({"USUBJID": ["S-2", 'S-"1'], "AESEQ": [1.0, 1.0], REC: [1, 0]})
    rows = pd.DataFrame({REC: [0, 1], "__row@ae": [5, 7]})
    lineage = create_lineage(data, rows, _ctx(), "AESEQ")
    assert lineage["key"] == ["USUBJID", "AESEQ"] and lineage["files"] == ["raw/ae.csv"]
    assert _json(lineage["records"]) == [["S-2", 1, [[0, 7]]], ['S-"1', 1, [[0, 5]]]]
    assert [type(v) for v in lineage["records"][0]] == [str, int, tuple]  # plain values, AESEQ 1.0 -> 1


def test_several_rows_and_files_per_record_sorted_and_a_record_without_rows():
    data = pd.DataFrame({"USUBJID": ["S-1", "S-2"], REC: [0, 1]})
    rows = pd.DataFrame({REC: [0, 0, 0], "__row@x": [9, 3, 3], "__row@ae": [2.0, None, 1.0]})
    lineage = create_lineage(data, rows, _ctx(), None)
    assert lineage["files"] == ["raw/ae.csv", "raw/x.csv"]
    assert _json(lineage["records"]) == [["S-1", [[0, 1], [0, 2], [1, 3], [1, 9]]], ["S-2", []]]


def test_sidecar_file_is_one_compact_ascii_line_that_reads_back(tmp_path):
    """Format (version 1): ``{"version","domain","key","files","records"}`` in that order, compact
    separators, non-ASCII escaped, one line; ``json.loads`` gives the document back."""
    data = pd.DataFrame({"USUBJID": ["S-\u00e9", "S-2"], "AESEQ": [1.0, 2.0], REC: [0, 1]})
    rows = pd.DataFrame({REC: [0, 1, 1], "__row@ae": [3, 4, None], "__row@x": [None, 8, 2]})
    result = SimpleNamespace(name="AE", lineage=create_lineage(data, rows, _ctx(), "AESEQ"))
    path = write_lineage(result, tmp_path)
    assert path == tmp_path / "lineage" / "ae.json"
    text = path.read_text(encoding="ascii")
    assert text == ('{"version":1,"domain":"AE","key":["USUBJID","AESEQ"],"files":["raw/ae.csv","raw/x.csv"],'
                    '"records":[["S-\\u00e9",1,[[0,3]]],["S-2",2,[[0,4],[1,2],[1,8]]]]}\n')
    assert json.loads(text) == _json({"version": 1, "domain": "AE", **result.lineage})
    assert read_lineage(path) == {("S-\u00e9", 1): [("raw/ae.csv", 3)],
                                  ("S-2", 2): [("raw/ae.csv", 4), ("raw/x.csv", 2), ("raw/x.csv", 8)]}
    assert dump_lineage({"records": []}) == '{"records":[]}\n'


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
    assert _json(lineage["records"]) == [["S-1", 1, [[0, 4]]], ["S-1", 2, [[0, 5]]], ["S-1", 3, [[0, 6]]]]
    # keys given by the caller win over the spec lookup; STUDYID never enters the key, USUBJID leads
    no_specs = SimpleNamespace(forms=_sv_ctx().forms)
    given = create_lineage(data, rows, no_specs, None, keys=["STUDYID", "VISITNUM", "USUBJID"])
    assert given["key"] == ["USUBJID", "VISITNUM"] and given["records"] == lineage["records"]


def test_key_values_keep_decimals_and_missing_numbers():
    data = _sv_data([1.0, 3.1, float("nan")])
    rows = pd.DataFrame({REC: [0, 1, 2], "__row@ecog": [4, 5, 6]})
    lineage = create_lineage(data, rows, _sv_ctx(), None)
    assert _json(lineage["records"]) == [["S-1", 1, [[0, 4]]], ["S-1", 3.1, [[0, 5]]], ["S-1", None, [[0, 6]]]]
    assert dump_lineage({"records": lineage["records"]}) == \
        '{"records":[["S-1",1,[[0,4]]],["S-1",3.1,[[0,5]]],["S-1",null,[[0,6]]]]}\n'


def test_missing_text_key_values_are_null_not_nan():
    data = pd.DataFrame({"USUBJID": ["S-1", None, float("nan")], REC: [0, 1, 2]}).astype({"USUBJID": object})
    rows = pd.DataFrame({REC: [0, 1, 2], "__row@ae": [1, 2, 3]})
    lineage = create_lineage(data, rows, _ctx(), None, keys=["USUBJID"])
    assert _json(lineage["records"]) == [["S-1", [[0, 1]]], [None, [[0, 2]]], [None, [[0, 3]]]]
    assert "NaN" not in dump_lineage(lineage)


def test_seq_domains_and_unknown_domains_keep_usubjid_and_seq_keys():
    data = pd.DataFrame({"DOMAIN": "AE", "USUBJID": ["S-1"], "AESEQ": [1.0], REC: [0]})
    rows = pd.DataFrame({REC: [0], "__row@ae": [3]})
    assert create_lineage(data, rows, _sv_ctx(), "AESEQ")["key"] == ["USUBJID", "AESEQ"]
    assert create_lineage(data.drop(columns="AESEQ"), rows, _sv_ctx(), None)["key"] == ["USUBJID"]


def test_source_pairs_per_record_from_pairs_sorted_by_record():
    import numpy as np

    from tlfgen.sdtm.lineage import create_source_pairs

    rec, fid, row = np.array([0, 2, 2, 2, 5]), np.array([0, 0, 1, 1, 3]), np.array([4, 1, 2, 10, 7])
    assert create_source_pairs(np.array([5, 0, 1, 2]), rec, fid, row) == \
        [((3, 7),), ((0, 4),), (), ((0, 1), (1, 2), (1, 10))]
    none = np.zeros(0, dtype="int64")
    assert create_source_pairs(np.array([0, 1]), none, none, none) == [(), ()]
