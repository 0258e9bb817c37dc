"""Lineage layer: analysis results metadata in the shape of CDISC ARS (``outputs/ars/<output>.json``).

One JSON document per table, read from the ``Table`` model and its spec only,
shaped after the CDISC Analysis Results Standard (ARS v1.0) reporting event:
``analysisSets`` (population), ``dataSubsets`` (block filters),
``analysisGroupings`` (treatment columns), ``methods`` (named method with its
``operations``, one per statistic), ``analyses`` (each with its set, subset,
grouping, method and ``results``: raw value, formatted value, cell id) and the
``output`` with its displays. Not validated against the ARS JSON schema (not
available here): the names follow it, the content is tlfgen's.
"""

from __future__ import annotations

import json

import math
from pathlib import Path
from typing import Any

from tlfgen.lineage.graph import SCHEMA_VERSION, analysis_of, cell_id, row_ids, safe_id, where
from tlfgen.spec.study import ResolvedStudy

ARS_FOLDER = "ars"


def _set_id(text: str) -> str:
    return "AS." + safe_id(text or "ALL")


def _method_id(label: str) -> str:
    return "MTH." + safe_id(label or "UNNAMED")


def _finite(value: Any) -> Any:
    """A JSON-safe raw value: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def create_ars(table: Any, out: Any, study: ResolvedStudy) -> dict[str, Any]:
    """ARS-shaped metadata and results of one table (``out`` is its ``LoadedOutput``)."""
    spec = out.spec
    population = spec.population
    blocks = {b.id: (i, b) for i, b in enumerate(getattr(spec, "blocks", []))}
    by = getattr(getattr(spec, "columns", None), "by", None) or getattr(spec, "arm", None)
    arms = {a.armcd: a for a in study.spec.study.arms}
    groups: list[dict[str, Any]] = []
    for column in table.columns:  # one group per arm (and total); T3 has two columns per arm
        key = column.key.split(".")[0]
        if column.kind == "comparison" or any(g["id"] == key for g in groups):
            continue
        arm = arms.get(key)
        condition = f"{by} == {arm.trtn}" if arm is not None and by else ""
        groups.append({"id": key, "name": column.spanner or column.label, "order": len(groups) + 1,
                       "condition": {"dataset": population.dataset, "text": condition} if condition else None,
                       "kind": column.kind, "N": column.n})
    results: dict[str, list[dict[str, Any]]] = {}
    for row, rid in row_ids(table):
        for column, cell in zip(table.columns, row.cells):
            found = analysis_of(table, cell.analysis_id) if cell.analysis_id else None
            if found is None:
                continue
            cid = cell_id(table.id, rid, column.key)
            stats = cell.values or (("text", None),)
            for statistic, value in stats:
                results.setdefault(found.id, []).append({
                    "operationId": f"{_method_id(found.method)}.{safe_id(statistic)}",
                    "cellId": cid, "row": row.label, "column": column.key, "statistic": statistic,
                    "rawValue": _finite(value), "formattedValue": cell.text,
                    "resultGroups": [{"groupingId": f"GRP.{by}", "groupId": column.key.split(".")[0]}]
                    if column.kind != "comparison" else [],
                    **({"subjects": list(cell.subjects)} if statistic == "n" and cell.subjects else {}),
                })
    methods: dict[str, dict[str, Any]] = {}
    subsets: dict[str, dict[str, Any]] = {}
    analyses = []
    for item in table.analyses:
        mid = _method_id(item.method)
        method = methods.setdefault(mid, {"id": mid, "name": item.method or "unnamed", "label": item.method,
                                          "operations": {}})
        for res in results.get(item.id, []):
            method["operations"].setdefault(res["operationId"], {
                "id": res["operationId"], "name": res["statistic"], "label": res["statistic"]})
        block_id = item.id.split(".")[1] if "." in item.id else ""
        index = blocks.get(block_id, (None, None))[0]
        subset_id = None
        if item.subset:
            subset_id = f"DS.{table.id}.{safe_id(block_id or item.subset)}"
            subsets[subset_id] = {"id": subset_id, "name": item.subset,
                                  "condition": {"dataset": item.dataset, "text": item.subset}}
        analyses.append({
            "id": item.id, "name": item.description, "dataset": item.dataset, "role": item.role,
            "analysisSetId": _set_id(item.population), "dataSubsetId": subset_id,
            "groupingId": f"GRP.{by}" if item.group else None, "groupId": item.group or None,
            "methodId": mid, "specRef": where(out.source.location(("blocks", index) if index is not None else ())),
            "results": results.get(item.id, []),
        })
    return {
        "schema_version": SCHEMA_VERSION,
        "standard": "CDISC Analysis Results Standard v1.0 (shape)",
        "study": study.studyid,
        "cutoff": study.cutoff.isoformat(),
        "output": {"id": table.id, "name": table.title[0] if table.title else table.id,
                   "title": list(table.title), "footnotes": list(table.footnotes), "spec": out.display,
                   "displays": [{"id": f"{table.id}.D1", "name": " ".join(table.title)}]},
        "analysisSets": [{"id": _set_id(population.filter), "name": population.label,
                          "condition": {"dataset": population.dataset, "text": population.filter},
                          "specRef": where(out.source.location(("population",)))}],
        "dataSubsets": [subsets[k] for k in sorted(subsets)],
        "analysisGroupings": [{"id": f"GRP.{by}", "name": f"Treatment ({by})", "groupingVariable": by,
                               "dataDriven": False, "groups": groups}],
        "methods": [{**m, "operations": [m["operations"][k] for k in sorted(m["operations"])]}
                    for _, m in sorted(methods.items())],
        "analyses": analyses,
    }


def write_ars(study: ResolvedStudy, tables: list[Any], tlf_specs: Any) -> list[Path]:
    """``outputs/ars/<output>.json`` for every table."""
    from tlfgen.io.atomic import atomic_write_text

    outs = {o.id: o for o in tlf_specs.outputs}
    folder = study.outputs_dir / ARS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        if table.kind != "table" or table.id not in outs:
            continue
        doc = create_ars(table, outs[table.id], study)
        text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False, default=str) + "\n"
        written.append(Path(atomic_write_text(folder / f"{table.id}.json", text)))
    return written
