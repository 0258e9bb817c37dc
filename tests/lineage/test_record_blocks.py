"""tlfgen.lineage.record_blocks: the records.sdtm section built per domain equals the section built at once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from types import SimpleNamespace

import pytest
from study_copy import copy_study

from tlfgen.lineage.graph import dump_lineage
from tlfgen.lineage.record_blocks import DomainBlock, create_record_blocks, join_blocks, record_parts
from tlfgen.lineage.records import RecordIndex, build_record_links
from tlfgen.lineage.run import run_lineage
from tlfgen.units import can_fork


def _study(tmp_path):
    for folder in ("raw", "sdtm/lineage", "adam/lineage"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "raw" / "a.csv").write_text('A,B\n1,"x\ny"\n2,z\n3,w\n', encoding="utf-8")
    docs = {
        # T and TA: "sdtm.T:" sorts before "sdtm.TA:" although "T" < "TA" would too; "sdtm.TA:" < "sdtm.TB:"
        "ta.json": {"domain": "TA", "key": ["USUBJID", "TASEQ"], "files": ["raw/a.csv"],
                    "records": [["S-2", 1, [[0, 1]]], ["S-1", 10, [[0, 2], [0, 3]]], ["S-1", 9, []]]},
        "t.json": {"domain": "T", "key": ["USUBJID"], "files": ["raw/a.csv"],
                   "records": [["S-1", [[0, 3]]], ["S-1", [[0, 1]]]]},
        "tb.json": {"domain": "TB", "key": ["USUBJID", "VISITNUM"], "files": ["raw/a.csv"],
                    "records": [['S"3', 2, [[0, 1]]]]},  # needs an escape
        "empty.json": {"domain": "EMPTY", "key": ["USUBJID"], "files": [], "records": []},
    }
    for name, doc in docs.items():
        (tmp_path / "sdtm" / "lineage" / name).write_text(json.dumps(doc), encoding="utf-8")
    adsl = {"dataset": "ADSL", "records": [{"key": {"STUDYID": "X", "USUBJID": "S-1"},
                                            "sources": [{"domain": "T", "seq": []}, {"domain": "TA", "seq": [10]}]}]}
    (tmp_path / "adam" / "lineage" / "adsl.json").write_text(json.dumps(adsl), encoding="utf-8")
    return SimpleNamespace(root=tmp_path, sdtm_dir=tmp_path / "sdtm", adam_dir=tmp_path / "adam")


def _taker(order):
    queue = list(order)
    return lambda: queue.pop(0) if queue else None


# 1. blocks taken in any order and by two takers join to the sections built at once
def test_joined_blocks_equal_the_whole_sections(tmp_path):
    study = _study(tmp_path)
    whole = build_record_links(RecordIndex.load(study))
    parts = record_parts(study)
    assert [p and p.name for p in parts] == [None, "ta.json", "t.json", "tb.json", "empty.json"]  # largest first
    take = _taker([4, 3, 0, 1, 2])
    blocks = create_record_blocks(study, parts, take) + create_record_blocks(study, parts, take)
    assert sorted((b.domain, len(b.links)) for b in blocks) == [
        ("", 1), ("EMPTY", 0), ("T", 2), ("TA", 3), ("TB", 1)]
    sections = join_blocks(blocks)
    assert sections == whole
    assert sections["sdtm"]["sdtm.T:S-1#2"] == ["raw/a.csv:2"] and sections["sdtm"]["sdtm.TA:S-1:9"] == []
    assert sections["sdtm"]['sdtm.TB:S"3:2'] == ["raw/a.csv:2"]
    assert sections["adam"] == {"adam.ADSL:S-1": ["sdtm.T:S-1", "sdtm.TA:S-1:10"]}
    text = dump_lineage({"records": sections})
    assert text == json.dumps({"records": whole}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert '"sdtm.TB:S\\"3:2": [' in text  # the quote escaped by the encoder


# 2. two blocks of one domain are refused, as are two ADaM blocks; empty blocks: empty sections
def test_join_blocks_refuses_a_repeated_domain_and_handles_empty():
    adam = DomainBlock("", {})
    assert join_blocks([DomainBlock("AE", {"sdtm.AE:S-1:1": []}), DomainBlock("AE", {}), adam]) is None
    assert join_blocks([adam, adam]) is None and join_blocks([]) is None
    assert join_blocks([DomainBlock("AE", {}), adam]) == {"sdtm": {}, "adam": {}}


# 3. the lineage stage writes the same bytes with the record links built by one process or two
@pytest.mark.skipif(not can_fork(), reason="needs fork (Linux)")
def test_lineage_stage_same_bytes_with_one_or_two_processes(embedded_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    files = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv("TLFGEN_JOBS", jobs)
        study = copy_study(tmp_path / jobs, source=embedded_run[0].root, parts=("specs", "raw", "sdtm", "adam"))
        result = run_lineage(study)
        files[jobs] = {p.relative_to(study.root): p.read_bytes() for p in result.outputs}
    assert multiprocessing.active_children() == []
    assert files["1"] == files["2"]
    lineage = Path("outputs/lineage.json")
    assert files["2"][lineage] == (embedded_run[0].outputs_dir / "lineage.json").read_bytes()
