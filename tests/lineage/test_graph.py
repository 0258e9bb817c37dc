"""tlfgen.lineage.graph: the lineage artifact (variable graph and record links)."""

from __future__ import annotations

import json
import re

from tlfgen.lineage.graph import (
    SCHEMA_VERSION, VariableGraph, _parents_of, build_lineage, dump_lineage, raw_line_numbers, read_sdtm_lineage,
    row_ids,
)
from tlfgen.tlf.model import Cell, Column, Row, Table

SPEC_REF = re.compile(r"^specs/[A-Za-z0-9_/]+\.yaml:\d+$")


# 1. raw rows -> file lines, counting quoted newlines
def test_raw_line_numbers_count_quoted_newlines(tmp_path):
    path = tmp_path / "ae.csv"
    path.write_text('A,B\n1,x\n2,"two\nlines"\n3,y\n', encoding="utf-8")
    assert raw_line_numbers(path) == [2, 3, 5]


# 2. both forms of sdtm/lineage/<domain>.json are read
def test_read_sdtm_lineage_compact_and_dict_forms(tmp_path):
    compact = tmp_path / "rs.json"
    compact.write_text(json.dumps({"version": 1, "domain": "RS", "key": ["USUBJID", "RSSEQ"], "files": ["raw/rs.csv"],
                                   "records": [["S-1", 1, [[0, 4]]], ["S-1", 2, [[0, 4], [0, 5]]]]}))
    assert read_sdtm_lineage(compact) == {"sdtm.RS:S-1:1": [("raw/rs.csv", 4)],
                                          "sdtm.RS:S-1:2": [("raw/rs.csv", 4), ("raw/rs.csv", 5)]}
    dicts = tmp_path / "dm.json"
    dicts.write_text(json.dumps({"version": 1, "domain": "DM", "key": ["USUBJID"],
                                 "records": [{"USUBJID": "S-1", "sources": [{"file": "raw/dm.csv", "row": 1}]}]}))
    assert read_sdtm_lineage(dicts) == {"sdtm.DM:S-1": [("raw/dm.csv", 1)]}


# 3. upstream edges, nearest first, each with its rule
def test_upstream_edges_breadth_first():
    graph = VariableGraph()
    graph.add_edge("raw.ex.EXSTDAT", "sdtm.EX.EXSTDTC", kind="source", name="format edc_date", spec="s.yaml:3")
    graph.add_edge("sdtm.EX.EXSTDTC", "adam.ADSL.TRTSDT", kind="derive", name="d", spec="a.yaml:9")
    assert graph.upstream_edges("adam.ADSL.TRTSDT") == [
        ("sdtm.EX.EXSTDTC", "adam.ADSL.TRTSDT", {"kind": "derive", "name": "d", "spec": "a.yaml:9"}),
        ("raw.ex.EXSTDAT", "sdtm.EX.EXSTDTC", {"kind": "source", "name": "format edc_date", "spec": "s.yaml:3"}),
    ]
    assert graph.children()["sdtm.EX.EXSTDTC"] == ["adam.ADSL.TRTSDT"]


# 4. a copied variable comes from its namesake only; others from the non-copied inputs
def test_parents_of_copied_and_derived_variables():
    parents = ["ADSL.TRT01P", "ADSL.TRTSDT", "sdtm.EX.EXSTDTC"]
    assert _parents_of("TRT01P", parents, ["TRT01P", "AVAL"]) == ["ADSL.TRT01P"]
    assert _parents_of("AVAL", parents, ["TRT01P", "AVAL"]) == ["ADSL.TRTSDT", "sdtm.EX.EXSTDTC"]


# 5. row ids: block id + label as id; a repeated label gets #2
def test_row_ids_are_stable_and_unique():
    cols = (Column("A", "A"),)
    table = Table("T9", "table", ("t",), "", cols, (
        Row("Rate, n (%)", (Cell("1"),), block_id="ORR"), Row("95% CI", (Cell("x"),), block_id="ORR"),
        Row("header", (), kind="header", block_id="PFS"), Row("95% CI", (Cell("y"),), block_id="ORR")))
    assert [rid for _, rid in row_ids(table)] == ["ORR.RATE_N", "ORR.95_CI", "ORR.95_CI#2"]


# 6. the embedded study's artifact: versioned, every edge names its rule, the chain raw -> cell exists
def test_lineage_artifact_of_the_embedded_study(lineage_study):
    study, result = lineage_study
    path = study.outputs_dir / "lineage.json"
    assert path in result.outputs
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["schema_version"] == SCHEMA_VERSION == "1.0"
    nodes, edges = doc["nodes"], doc["edges"]
    assert all(e["from"] in nodes and e["to"] in nodes for e in edges)
    spec_edges = [e for e in edges if e["rule"]["kind"] != "output"]
    assert all(SPEC_REF.match(e["rule"]["spec"]) for e in spec_edges)
    pairs = {(e["from"], e["to"]) for e in edges}
    assert ("raw.rs.OVRLRESP", "sdtm.RS.RSSTRESC") in pairs
    assert ("adam.ADRS.AVALC[BOR]", "adam.ADRS.AVALC") in pairs
    assert ("adam.ADRS.AVALC", "analysis.T2.ORR.TCAC") in pairs
    assert ("analysis.T2.ORR.TCAC", "cell.T2[ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N,TCAC]") in pairs
    assert nodes["adam.ADTTE.AVAL[PFS]"]["kind"] == "adam"


# 7. record links: ADaM record -> SDTM records -> raw file:line
def test_record_links_reach_raw_lines(lineage_study):
    study, _ = lineage_study
    doc = json.loads((study.outputs_dir / "lineage.json").read_text(encoding="utf-8"))
    adam, sdtm = doc["records"]["adam"], doc["records"]["sdtm"]
    orr = [k for k in adam if k.startswith("adam.ADRS:") and ":ORR:" in k and adam[k]]
    assert len(orr) >= 27
    for source in adam[orr[0]]:
        assert source.startswith("sdtm.RS:")
        (raw,) = sdtm[source]
        assert re.match(r"^raw/rs\.csv:\d+$", raw)
    assert all(s in sdtm or s.startswith("adam.") for k in orr for s in adam[k])


# 8. deterministic: building again gives the same bytes
def test_lineage_is_deterministic(lineage_study):
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

    study, _ = lineage_study
    specs = load_stage_specs(study, "tlf")
    tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    assert dump_lineage(build_lineage(study, tables)) == (study.outputs_dir / "lineage.json").read_text(
        encoding="utf-8")
