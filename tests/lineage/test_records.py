"""tlfgen.lineage.records: record links read column-wise, as plain dicts for the JSON encoder."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from tlfgen.lineage.graph import dump_lineage
from tlfgen.lineage.records import RecordIndex, build_record_links, create_section, raw_line_numbers, read_sdtm_links
from tlfgen.sdtm.context import REC
from tlfgen.sdtm.lineage import create_lineage
from tlfgen.sdtm.write import dump_lineage as dump_sdtm_lineage


def _reference(value) -> str:
    """lineage.json's text as the standard library writes it (indented by two spaces since session 6)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


# 1. the no-quotes shortcut gives what csv.reader counts (CRLF, no final newline); a blank line is
#    not a record, as the raw reader counts rows (so trace and findings give the same line)
def test_raw_line_numbers_without_quotes(tmp_path):
    cases = {"A,B\n1,x\n2,y\n": [2, 3], "A,B\r\n1,x\r\n\r\n2,y": [2, 4], "A,B\n": [], "": [],
             'A,B\n1,"x\ny"\n2,z\n': [2, 4]}
    for i, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(text.encode())
        assert raw_line_numbers(path) == expected, text


# 2. a repeated id keeps its last sources; lineage.json lists the ids sorted, as json.dumps(sort_keys=True)
def test_a_section_keeps_the_last_duplicate_and_is_written_sorted():
    section = create_section(["sdtm.SV:S-2", "sdtm.SV:S-10", "sdtm.SV:S-2"], [[], ["raw/a.csv:2"], ["raw/b.csv:9"]])
    assert section == {"sdtm.SV:S-10": ["raw/a.csv:2"], "sdtm.SV:S-2": ["raw/b.csv:9"]}
    assert dump_lineage({"records": {"sdtm": section, "adam": {}}}) == (
        '{\n  "records": {\n    "adam": {},\n    "sdtm": {\n      "sdtm.SV:S-10": [\n        "raw/a.csv:2"\n'
        '      ],\n      "sdtm.SV:S-2": [\n        "raw/b.csv:9"\n      ]\n    }\n  }\n}\n')


# 3. the records part: plain dicts, escapes left to the encoder, raw rows as file lines
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
                 'sdtm.RS:S"2:1': ["raw/rs.csv:2", "raw/rs.csv:8"],
                 "sdtm.SV:S-1": ["raw/rs.csv:2"], "sdtm.SV:S-1#2": ["raw/rs.csv:4"]},  # a repeated key: suffixed
        "adam": {"adam.ADRS:S-1:ORR:": ["sdtm.RS:S-1:10", "sdtm.RS:S-1:2", "adam.ADSL:S-1", "sdtm.SV:S-1"]},
    }
    assert links == expected
    assert dump_lineage({"records": links}) == _reference({"records": expected}) + "\n"


def _study(tmp_path, raw: dict[str, str], sdtm: dict[str, str]):
    for folder in ("raw", "sdtm/lineage", "adam/lineage"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    for name, text in raw.items():
        (tmp_path / "raw" / name).write_text(text, encoding="utf-8")
    for name, text in sdtm.items():
        (tmp_path / "sdtm" / "lineage" / name).write_text(text, encoding="utf-8")
    return SimpleNamespace(root=tmp_path, sdtm_dir=tmp_path / "sdtm", adam_dir=tmp_path / "adam")


# 4. SV (no --SEQ, keys USUBJID + VISITNUM): three visits of one subject are three entries, each at its raw row
def test_sv_visits_of_one_subject_are_distinct_records(tmp_path):
    sv_spec = SimpleNamespace(spec=SimpleNamespace(keys=["STUDYID", "USUBJID", "VISITNUM"]))
    ctx = SimpleNamespace(forms={"ecog": SimpleNamespace(file="raw/ecog.csv")},
                          specs=SimpleNamespace(domains={"SV": sv_spec}))
    data = pd.DataFrame({"STUDYID": "X", "DOMAIN": "SV", "USUBJID": ["S-1"] * 3,
                         "VISITNUM": [1.0, 110.0, 120.0], REC: [0, 1, 2]})
    rows = pd.DataFrame({REC: [0, 1, 2], "__row@ecog": [1, 2, 3]})
    doc = {"version": 1, "domain": "SV", **create_lineage(data, rows, ctx, None)}
    study = _study(tmp_path, {"ecog.csv": "A\n1\n2\n3\n"}, {"sv.json": dump_sdtm_lineage(doc)})
    links = build_record_links(RecordIndex.load(study))
    assert dict(links["sdtm"]) == {"sdtm.SV:S-1:1": ["raw/ecog.csv:2"], "sdtm.SV:S-1:110": ["raw/ecog.csv:3"],
                                   "sdtm.SV:S-1:120": ["raw/ecog.csv:4"]}


# 5. ids from every key value (compact and dict form alike); a repeated full key is kept with #2, #3
def test_ids_from_all_key_values_and_repeats_suffixed(tmp_path):
    compact = {"domain": "SV", "key": ["USUBJID", "VISITNUM"], "files": ["raw/a.csv"],
               "records": [["S-1", 3.5, [[0, 1]]], ["S-1", None, []], ["S-1", 2, [[0, 2]]], ["S-1", 2, [[0, 3]]],
                           ["S-1", 2, [[0, 4]]]]}
    dict_form = {"domain": "XX", "key": ["USUBJID", "VISITNUM"],
                 "records": [{"USUBJID": "S-1", "VISITNUM": 4.0, "sources": [{"file": "raw/a.csv", "row": 5}]}]}
    design = {"domain": "TS", "key": ["record"], "files": ["specs/sdtm/TS.yaml"], "records": [[1, [[0, 14]]]]}
    study = _study(tmp_path, {}, {"sv.json": json.dumps(compact), "xx.json": json.dumps(dict_form),
                                  "ts.json": json.dumps(design)})
    sv = read_sdtm_links(study.sdtm_dir / "lineage" / "sv.json")
    assert sv.ids == ["sdtm.SV:S-1:3.5", "sdtm.SV:S-1:", "sdtm.SV:S-1:2", "sdtm.SV:S-1:2#2", "sdtm.SV:S-1:2#3"]
    assert sv.pairs()["sdtm.SV:S-1:2#3"] == [("raw/a.csv", 4)]
    assert read_sdtm_links(study.sdtm_dir / "lineage" / "xx.json").pairs() == {"sdtm.XX:S-1:4": [("raw/a.csv", 5)]}
    design_pairs = read_sdtm_links(study.sdtm_dir / "lineage" / "ts.json").pairs()
    assert design_pairs == {"sdtm.TS:#1": [("specs/sdtm/TS.yaml", 14)]}
    assert len(build_record_links(RecordIndex.load(study))["sdtm"]) == 7


# 6. the embedded study: one lineage.json entry per SV row, ids USUBJID:VISITNUM
def test_embedded_lineage_json_has_every_sv_record(lineage_study):
    from tlfgen.io.xpt import read_xpt

    study, _ = lineage_study
    sv = read_xpt(study.sdtm_dir / "sv.xpt")[0]
    doc = json.loads((study.outputs_dir / "lineage.json").read_text(encoding="utf-8"))
    ids = [rid for rid in doc["records"]["sdtm"] if rid.startswith("sdtm.SV:")]
    assert len(sv) > len(set(sv["USUBJID"])) and len(ids) == len(sv)
    assert set(ids) == {f"sdtm.SV:{u}:{int(v)}" for u, v in zip(sv["USUBJID"], sv["VISITNUM"])}
    assert all(doc["records"]["sdtm"][rid] for rid in ids)  # each visit points at raw rows
