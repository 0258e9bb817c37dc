"""tlfgen.lineage.ars: analysis results metadata in the shape of CDISC ARS, and cells naming analyses."""

from __future__ import annotations

import json

import pytest

from tlfgen.lineage.graph import analysis_of, row_ids


# 1. every non-empty cell of every table names an analysis of its table
@pytest.mark.parametrize("output_id", ["T1", "T2", "T3", "T4", "T5"])
def test_every_cell_names_its_analysis(trace_ctx, output_id):
    table = trace_ctx.table(trace_ctx.output(output_id))
    filled = [(row, cell) for row, _ in row_ids(table) for cell in row.cells if cell.text]
    assert filled
    for row, cell in filled:
        assert cell.analysis_id, (row.label, cell.text)
        assert analysis_of(table, cell.analysis_id) is not None, cell.analysis_id


def _ars(study, output_id):
    return json.loads((study.outputs_dir / "ars" / f"{output_id}.json").read_text(encoding="utf-8"))


# 2. one document per table, references resolve, every cell of the table appears in the results
@pytest.mark.parametrize("output_id", ["T1", "T2", "T3", "T4", "T5"])
def test_ars_documents_resolve(lineage_study, trace_ctx, output_id):
    study, _ = lineage_study
    doc = _ars(study, output_id)
    assert doc["schema_version"] == "1.0" and doc["output"]["id"] == output_id
    sets = {s["id"] for s in doc["analysisSets"]}
    subsets = {s["id"] for s in doc["dataSubsets"]}
    methods = {m["id"]: {o["id"] for o in m["operations"]} for m in doc["methods"]}
    groups = {g["id"] for grouping in doc["analysisGroupings"] for g in grouping["groups"]}
    for item in doc["analyses"]:
        assert item["analysisSetId"] in sets
        assert item["dataSubsetId"] is None or item["dataSubsetId"] in subsets
        assert item["groupId"] is None or item["groupId"] in groups
        for result in item["results"]:
            assert result["operationId"] in methods[item["methodId"]]
    table = trace_ctx.table(trace_ctx.output(output_id))
    expected = {f"cell.{output_id}[{rid},{c.key}]" for row, rid in row_ids(table)
                for c, cell in zip(table.columns, row.cells) if cell.analysis_id}
    assert {r["cellId"] for a in doc["analyses"] for r in a["results"]} == expected


# 3. the ORR TCAC analysis: set, subset, grouping, method, raw and formatted results, subjects
def test_ars_orr_tcac(lineage_study, trace_ctx):
    doc = _ars(lineage_study[0], "T2")
    (item,) = [a for a in doc["analyses"] if a["id"] == "T2.ORR.TCAC"]
    (aset,) = [s for s in doc["analysisSets"] if s["id"] == item["analysisSetId"]]
    assert aset["condition"] == {"dataset": "ADSL", "text": "FASFL == 'Y'"}
    (subset,) = [s for s in doc["dataSubsets"] if s["id"] == item["dataSubsetId"]]
    assert subset["condition"] == {"dataset": "ADRS", "text": "PARAMCD == 'ORR'"}
    (method,) = [m for m in doc["methods"] if m["id"] == item["methodId"]]
    assert method["label"].startswith("Clopper-Pearson")
    assert (item["groupingId"], item["groupId"]) == ("GRP.TRT01PN", "TCAC")
    by_stat = {r["statistic"]: r for r in item["results"] if r["row"].startswith("Objective")}
    assert by_stat["n"]["rawValue"] == 27 and by_stat["denominator"]["rawValue"] == 30
    assert by_stat["n"]["formattedValue"] == "27 (90.0)" and len(by_stat["n"]["subjects"]) == 27
    ci = [r for r in item["results"] if r["statistic"] in ("lower", "upper")]
    assert len(ci) == 2 and all(r["cellId"] == "cell.T2[ORR.95_CI,TCAC]" for r in ci)
