"""adam/supplied.py: record lineage of SDTM / ADaM datasets a study supplies (study.start)."""

from __future__ import annotations

import json

import pandas as pd

from tlfgen.adam.supplied import create_supplied_lineage, supplied_adam_keys, write_supplied_lineage
from tlfgen.lineage.records import read_sdtm_links


def test_create_supplied_lineage_01_seq_domain_one_record_each():
    ae = pd.DataFrame({"USUBJID": ["A", "A", "B"], "AESEQ": [2.0, 1.0, 1.0]})
    doc = create_supplied_lineage(ae, "ae", "sdtm/ae.xpt")
    assert doc["key"] == ["USUBJID", "AESEQ"] and doc["files"] == ["sdtm/ae.xpt"]
    assert doc["records"] == [["A", 2, [[0, 1]]], ["A", 1, [[0, 2]]], ["B", 1, [[0, 3]]]]


def test_create_supplied_lineage_02_no_seq_lists_every_record_of_the_subject():
    """SV has no --SEQ and ADaM names its records by USUBJID: the id lists all the subject's records."""
    sv = pd.DataFrame({"USUBJID": ["A", "A", "B", "A"], "VISITNUM": [1.0, 2.0, 1.0, 3.0]})
    doc = create_supplied_lineage(sv, "SV", "sdtm/sv.xpt")
    assert doc["key"] == ["USUBJID"]
    assert doc["records"] == [["A", [[0, 1], [0, 2], [0, 4]]], ["B", [[0, 3]]]]
    ts = create_supplied_lineage(pd.DataFrame({"TSPARMCD": ["X", "Y"]}), "TS", "sdtm/ts.xpt")
    assert ts["key"] == ["record"] and ts["records"] == [[1, [[0, 1]]], [2, [[0, 2]]]]


class _Study:
    def __init__(self, root):
        self.sdtm_dir = root / "sdtm"

    def display(self, path):
        return "sdtm/" + path.name


def test_write_supplied_lineage_03_read_back_and_the_users_own_file_kept(tmp_path):
    study = _Study(tmp_path)
    (tmp_path / "sdtm" / "lineage").mkdir(parents=True)
    (tmp_path / "sdtm" / "ae.xpt").write_bytes(b"")
    own = tmp_path / "sdtm" / "lineage" / "dm.json"
    own.write_text('{"version": 1, "domain": "DM", "key": ["USUBJID"], "files": [], "records": []}')
    written = write_supplied_lineage(study, {"AE": pd.DataFrame({"USUBJID": ["A"], "AESEQ": [1]}),
                                             "DM": pd.DataFrame({"USUBJID": ["A"]})})
    assert [p.name for p in written] == ["ae.json"]
    assert json.loads(own.read_text())["files"] == []  # not ours: kept
    links = read_sdtm_links(written[0])
    assert links.pairs() == {"sdtm.AE:A:1": [("sdtm/ae.xpt", 1)]}


def test_write_supplied_lineage_05_a_dataset_json_input_is_named_as_the_file_read(tmp_path):
    study = _Study(tmp_path)
    (tmp_path / "sdtm" / "lineage").mkdir(parents=True)
    (tmp_path / "sdtm" / "ae.json").write_text("{}")  # supplied as Dataset-JSON only
    written = write_supplied_lineage(study, {"AE": pd.DataFrame({"USUBJID": ["A"], "AESEQ": [1]})})
    assert read_sdtm_links(written[0]).pairs() == {"sdtm.AE:A:1": [("sdtm/ae.json", 1)]}


def test_supplied_adam_keys_04():
    assert supplied_adam_keys(pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["A"]})) == ["STUDYID", "USUBJID"]
    adtte = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A", "A"], "PARAMCD": ["OS", "PFS"]})
    assert supplied_adam_keys(adtte) == ["STUDYID", "USUBJID", "PARAMCD"]
    adae = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A", "A"], "AESEQ": [1, 2]})
    assert supplied_adam_keys(adae) == ["STUDYID", "USUBJID", "AESEQ"]
    repeated = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A", "A"]})
    assert supplied_adam_keys(repeated) == ["STUDYID", "USUBJID", "RECORD"]
