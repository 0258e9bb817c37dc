"""tlfgen.lineage.records: record links read column-wise, written as json.dumps(indent=1) would."""

from __future__ import annotations

import json
from types import SimpleNamespace

from tlfgen.lineage.jsondump import dumps_indented
from tlfgen.lineage.records import LinkSection, RecordIndex, build_record_links, raw_line_numbers


def _reference(value) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)


# 1. the no-quotes shortcut gives what csv.reader counts (blank lines, CRLF, no final newline)
def test_raw_line_numbers_without_quotes(tmp_path):
    cases = {"A,B\n1,x\n2,y\n": [2, 3], "A,B\r\n1,x\r\n\r\n2,y": [2, 3, 4], "A,B\n": [], "": [],
             'A,B\n1,"x\ny"\n2,z\n': [2, 4]}
    for i, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(text.encode())
        assert raw_line_numbers(path) == expected, text


# 2. a section sorts by id, keeps the last entry of a repeated id and reads back as a mapping
def test_link_section_sorts_and_keeps_the_last_duplicate():
    ids = ["sdtm.SV:S-2", "sdtm.SV:S-10", "sdtm.SV:S-2"]
    entries = ['"sdtm.SV:S-2": []', '"sdtm.SV:S-10": [\n    "raw/a.csv:2"\n   ]', '"sdtm.SV:S-2": [\n    "raw/b.csv:9"\n   ]']
    section = LinkSection(ids, entries)
    assert list(section) == ["sdtm.SV:S-10", "sdtm.SV:S-2"]
    assert dict(section) == {"sdtm.SV:S-10": ["raw/a.csv:2"], "sdtm.SV:S-2": ["raw/b.csv:9"]}
    doc = {"records": {"sdtm": section, "adam": LinkSection([], [])}}
    assert dumps_indented(doc) == _reference({"records": {"sdtm": dict(section), "adam": {}}})
    assert dumps_indented({"x": section}) == _reference({"x": dict(section)})  # another depth: as a dict


# 3. the records part equals json.dumps of the plain dicts, escapes included, with raw rows as file lines
def test_build_record_links_matches_json_dumps(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "rs.csv").write_text('A,B\n1,"two\nlines"\n2,x\n', encoding="utf-8")
    (tmp_path / "sdtm" / "lineage").mkdir(parents=True)
    (tmp_path / "adam" / "lineage").mkdir(parents=True)
    rs = {"domain": "RS", "key": ["USUBJID", "RSSEQ"], "files": ["raw/rs.csv"],
          "records": [["S-1", 2, [[0, 2]]], ["S-1", 10, [[0, 1]]], ['S"2', 1, [[0, 1], [0, 7]]]]}
    sv = {"domain": "SV", "key": ["USUBJID"], "files": ["raw/rs.csv"], "records": [["S-1", [[0, 1]]], ["S-1", [[0, 2]]]]}
    adrs = {"dataset": "ADRS", "records": [
        {"key": {"STUDYID": "X", "USUBJID": "S-1", "PARAMCD": "ORR", "ADT": None},
         "sources": [{"domain": "RS", "seq": [10, 2]}, {"domain": "ADSL", "seq": []}, {"domain": "SV", "seq": []}]}]}
    for path, doc in (("sdtm/lineage/rs.json", rs), ("sdtm/lineage/sv.json", sv), ("adam/lineage/adrs.json", adrs)):
        (tmp_path / path).write_text(json.dumps(doc), encoding="utf-8")
    study = SimpleNamespace(root=tmp_path, sdtm_dir=tmp_path / "sdtm", adam_dir=tmp_path / "adam")
    links = build_record_links(RecordIndex.load(study))
    expected = {
        "sdtm": {"sdtm.RS:S-1:2": ["raw/rs.csv:4"], "sdtm.RS:S-1:10": ["raw/rs.csv:2"],
                 'sdtm.RS:S"2:1': ["raw/rs.csv:2", "raw/rs.csv:8"], "sdtm.SV:S-1": ["raw/rs.csv:4"]},
        "adam": {"adam.ADRS:S-1:ORR:": ["sdtm.RS:S-1:10", "sdtm.RS:S-1:2", "adam.ADSL:S-1", "sdtm.SV:S-1"]},
    }
    assert {k: dict(v) for k, v in links.items()} == expected
    assert dumps_indented({"records": links}) == _reference({"records": expected})
