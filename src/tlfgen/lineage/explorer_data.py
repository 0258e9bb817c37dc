"""Lineage layer: the data of the explorer page (``outputs/lineage.html``), as plain dicts.

Every traced cell is ``trace.cell_path`` (what ``tlfgen trace`` prints), so the page and the
command line agree. The page gets:

- a *shell* (parsed when the page opens): the outputs in their own order (``order:`` of the
  specs), each table as printed (title, columns, rows in table order, cell texts, footnotes),
  listings by title and size, figures by title, and the study's USUBJIDs;
- one block per output (parsed on first use; packed by ``explorer_subjects.pack_json`` as soon as
  it is built, so that the records of all outputs are never held at once): its traced cells, with
  the records they use kept once per output and referred to by index (a record feeds many cells)::

      subjects: [USUBJID, ...]
      adam: [[id, dataset, values, [sdtm index...], [adam index...]], ...]
      sdtm: [[id, domain, values, [raw row "file:line"...]], ...]
      rules: [[variable, rule, spec "file:line", [from...]], ...]
      cells: {"<row index>,<column index>": {analysis, n, recount, text, values, forms, show, rules: [index...],
                                              subjects: [[subject index, [adam index...]], ...]}}

  a record of a table is stored once per output with every variable any of its cells reads; a
  cell shows of its records' values those of ``ADAM_SHOW`` (the shell's ``adam_show``) and its own
  ``show``, which is what ``tlfgen trace`` prints for it. A listing's block holds its rows instead
  (``rows``, ``ids``, ``records``, ``ruleset``, ``rulesets``); ``DEFINE`` holds the define.xml methods;
- the spec text of every rule on a path (``specs``: ``{"file:line": text}``), read from the spec
  files: the line and the lines indented under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tlfgen.errors import TlfgenError
from tlfgen.lineage.graph import _block_variables, row_ids
from tlfgen.lineage.explorer_store import RecordStore
from tlfgen.lineage.paths import raw_forms, spec_text
from tlfgen.lineage.trace import ADAM_SHOW, TraceContext, _population_variables, cell_path
from tlfgen.lineage.trace_figure import trace_figure

#: lines of spec text shown for one rule at most
#: the page's id of the define.xml methods (not an output id: outputs are T.., L.., F..)
DEFINE_ID = "DEFINE"


@dataclass
class ExplorerData:
    shell: dict[str, Any]
    blocks: dict[str, str]  # output id -> its block as ``explorer_subjects.pack_json`` text
    specs: dict[str, str]  # "file:line" -> spec text
    subject_chunks: list[str] = field(default_factory=list)  # the subject view's blocks (explorer_subjects)


def _shell_table(table: Any) -> dict[str, Any]:
    ids = {id(row): rid for row, rid in row_ids(table)}
    rows = []
    for row in table.rows:
        traced = [1 if c.analysis_id else 0 for c in row.cells] if row.kind == "data" else []
        rows.append({"label": row.label, "indent": row.indent, "kind": row.kind, "id": ids.get(id(row), ""),
                     "cells": [c.text for c in row.cells] if row.kind == "data" else [], "traced": traced})
    return {"columns": [{"key": c.key, "label": c.label, "header": c.header or c.label, "spanner": c.spanner}
                        for c in table.columns],
            "stub": table.stub_header, "rows": rows}


def create_table_block(ctx: TraceContext, out: Any, table: Any) -> dict[str, Any]:
    """One table's block: every cell with an analysis traced by ``cell_path``."""
    store = RecordStore()
    cells: dict[str, Any] = {}
    ids = {id(row): rid for row, rid in row_ids(table)}
    shows: dict[str, list[str]] = {}
    for block in out.spec.blocks:
        for ds, var in _block_variables(block, out) + _population_variables(ctx, out):
            if ds == block.dataset:
                shows.setdefault(ds, []).append(var)
    store.show_all = {ds: tuple(dict.fromkeys(names)) for ds, names in shows.items()}
    for r, row in enumerate(table.rows):
        if row.kind != "data":
            continue
        for c, (column, cell) in enumerate(zip(table.columns, row.cells)):
            if not cell.analysis_id:
                continue
            try:
                path = cell_path(ctx, out, table, row, ids[id(row)], column, store)
            except TlfgenError as exc:  # shown on the page, never a failed run
                cells[f"{r},{c}"] = {"error": str(exc)}
                continue
            cells[f"{r},{c}"] = {
                "row": path["row"], "column": path["column"], "text": path["text"], "values": path["values"],
                "analysis": path["analysis"], "n": path["n"], "recount": path["recount"], "forms": path["forms"],
                "rules": [store.rule(rule) for rule in path["rules"]], "subjects": path["subjects"],
                "show": path["shown"]}
    return store.block(cells)


def create_listing_block(ctx: TraceContext, out: Any, table: Any) -> dict[str, Any]:
    """One listing's block: its rows as printed, each with its id (``trace_listing``), its subject
    (``row_subjects``: index into ``subjects``), its records (``records``: per row the record
    indices, the listing's dataset first) and its rule set (``ruleset``: per row an index into
    ``rulesets``, ``[[rule index...], [form...]]``)."""
    from tlfgen.lineage.trace_listing import listing_reads, listing_rows, listing_rules, subject_rows

    texts = [[c.text for c in row.cells] for row in table.rows if row.kind == "data"]
    try:
        rows = listing_rows(ctx, out)
    except TlfgenError as exc:  # shown on the page, never a failed run
        return {"rows": texts, "error": str(exc)}
    store = RecordStore()
    nodes, domains, shown = listing_reads(ctx, rows)
    positions = np.asarray(rows.positions, dtype=np.int64)
    columns = [store.records_at(ctx, rows.dataset, positions, domains, shown[rows.dataset]).tolist()]
    for other in [ds for ds in shown if ds != rows.dataset]:
        found = [subject_rows(ctx, other, u) for u in rows.usubjids]
        at = np.asarray([f[0] if f else -1 for f in found], dtype=np.int64)
        got = store.records_at(ctx, other, np.where(at < 0, 0, at), domains, shown[other])
        columns.append(np.where(at < 0, -1, got).tolist())
    data = ctx.adam(rows.dataset)
    params = (data["PARAMCD"].astype(str).str.strip().to_numpy()[positions].tolist()
              if "PARAMCD" in data else [None] * len(positions))
    records: list[list[int]] = []
    ruleset: list[int] = []
    sets: dict[tuple[Any, ...], int] = {}
    found_sets: list[list[Any]] = []
    for i, param in enumerate(params):
        mine = [c[i] for c in columns if c[i] >= 0]
        scope_key = (param, tuple(sorted({store._codes[j] for j in mine})))
        if scope_key not in sets:
            scope = store.scope(ctx, rows.dataset, positions[i:i + 1], mine)
            rules = listing_rules(ctx, nodes, scope)
            sets[scope_key] = len(found_sets)
            found_sets.append([[store.rule(r) for r in rules], sorted(raw_forms(rules))])
        records.append(mine)
        ruleset.append(sets[scope_key])
    row_subjects = [store.subject(u) for u in rows.usubjids]
    block = store.block({})
    del block["cells"]
    block.update({"rows": texts, "ids": list(rows.ids), "records": records, "ruleset": ruleset,
                  "rulesets": found_sets, "dataset": rows.dataset, "row_subjects": row_subjects})
    return block


def _figures(ctx: TraceContext, blocks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The figures by title; a Kaplan-Meier figure also as a small table of its arms whose cells open
    the subjects drawn (``trace_figure``, what ``tlfgen trace F1`` prints)."""
    from tlfgen.tlf.figures.spec import load_figure_specs

    try:
        figures = load_figure_specs(ctx.study)
    except TlfgenError:
        return []
    found = []
    for f in figures:
        entry = {"id": f.spec.id, "kind": "figure", "order": f.spec.order, "title": str(f.spec.title).split("\n"),
                 "figure": f.spec.kind, "footnotes": list(getattr(f.spec, "footnotes", []) or [])}
        if f.spec.kind == "km":
            try:
                store = RecordStore()
                traced = trace_figure(ctx, f.spec.id, store=store)
            except TlfgenError as exc:
                entry["error"] = str(exc)
            else:
                entry.update(_figure_table(traced))
                blocks[f.spec.id] = _figure_block(traced, store)
        found.append(entry)
    return found


def _figure_table(traced: dict[str, Any]) -> dict[str, Any]:
    rows = [{"label": f"{a['label']} ({a['armcd']})", "indent": 0, "kind": "data", "id": a["armcd"],
             "cells": [f"{a['n']} ({a['events']} events, {a['censored']} censored)"], "traced": [1]}
            for a in traced["arms"]]
    return {"columns": [{"key": "subjects", "label": "Subjects drawn", "header": "Subjects drawn", "spanner": ""}],
            "stub": "Arm", "rows": rows, "spec": traced["spec"].rsplit(":", 1)[0]}


def _figure_block(traced: dict[str, Any], store: RecordStore) -> dict[str, Any]:
    rules = [store.rule(rule) for rule in traced["rules"]]
    forms = traced["forms"]
    cells = {}
    for r, arm in enumerate(traced["arms"]):
        cells[f"{r},0"] = {
            "row": {"id": arm["armcd"], "label": arm["label"], "block": ""},
            "column": {"key": "subjects", "label": "Subjects drawn", "N": arm["n"]},
            "text": f"{arm['n']} ({arm['events']} events)", "command": f"tlfgen trace {traced['output']}",
            "values": {"n": arm["n"], "events": arm["events"], "censored": arm["censored"]},
            "analysis": {"id": f"{traced['output']}.{arm['armcd']}", "description": " ".join(traced["title"].split()),
                         "dataset": traced["dataset"], "population": traced["population"],
                         "subset": f"PARAMCD == '{traced['param']}'",
                         "method": f"Kaplan-Meier: time {traced['time']}, censoring {traced['censor']} (1 = censored)",
                         "group": arm["armcd"], "spec": traced["spec"]},
            "n": arm["n"], "recount": None, "forms": forms, "rules": rules,
            "subjects": arm["subjects"]}
    return store.block(cells)


def _define_methods(ctx: TraceContext, blocks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The define.xml methods (sdtm/ then adam/define.xml), each item with a MethodOID traced by
    ``trace_define`` (what ``tlfgen trace <DATASET>.<VAR> --define`` prints) into the block ``DEFINE``."""
    from tlfgen.lineage.trace_define import method_items, trace_define

    try:
        items = method_items(ctx)
    except TlfgenError:
        return []
    if not items:
        return []
    traced = []
    for dataset, variable, value in items:
        try:
            traced.append(trace_define(ctx, f"{dataset}.{variable}", value or None))
        except TlfgenError as exc:  # shown on the page, never a failed run
            traced.append({"kind": "define", "variable": f"{dataset}.{variable}", "error": str(exc)})
    blocks[DEFINE_ID] = {"methods": traced}
    rows = [[f"{d}.{v}" + (f" [{x}]" if x else ""), (t.get("method") or {}).get("oid", ""),
             (t.get("method") or {}).get("description", "")] for (d, v, x), t in zip(items, traced)]
    return [{"id": DEFINE_ID, "kind": "define", "order": 0, "title": ["define.xml methods"],
             "footnotes": ["Each derived item of sdtm/define.xml and adam/define.xml with its MethodDef: click one "
                           "for the spec rule and the derivation (tlfgen trace <DATASET>.<VAR> --define)."],
             "methods": rows, "spec": ", ".join(sorted({t["define"] for t in traced if "define" in t}))}]


def spec_refs(block: dict[str, Any]) -> set[str]:
    """The spec lines (``file:line``) a block shows the text of: its cells' analyses and its rules."""
    refs = {cell["analysis"]["spec"] for cell in block.get("cells", {}).values() if "analysis" in cell}
    return refs | {rule[2] for rule in block.get("rules", [])}


def create_explorer_data(ctx: TraceContext, tables: list[Any]) -> ExplorerData:
    """The page's shell, its per-output blocks and the spec text of every rule shown."""
    specs_by_id = {o.id: o for o in ctx.specs("tlf").outputs}
    from tlfgen.lineage.explorer_subjects import pack_json

    outputs: list[dict[str, Any]] = []
    blocks: dict[str, str] = {}
    refs: set[str] = set()
    for table in tables:
        out = specs_by_id.get(table.id)
        if out is None:
            continue
        ctx._cache[f"table.{table.id}"] = table  # the tables of this run, not rebuilt
        entry: dict[str, Any] = {"id": table.id, "kind": table.kind, "order": out.spec.order,
                                 "title": list(table.title), "footnotes": list(table.footnotes),
                                 "spec": out.display}
        if table.kind == "table":
            entry.update(_shell_table(table))
            block = create_table_block(ctx, out, table)
        else:
            entry["columns"] = [{"key": c.key, "label": c.label, "header": c.header or c.label, "spanner": ""}
                                for c in table.columns]
            entry["nrows"] = sum(1 for r in table.rows if r.kind == "data")
            block = create_listing_block(ctx, out, table)
        outputs.append(entry)
        # packed as soon as built: the records of every output are never held at once
        refs |= spec_refs(block)
        blocks[table.id] = pack_json(block)
    more: dict[str, dict[str, Any]] = {}
    outputs += _figures(ctx, more)
    outputs += _define_methods(ctx, more)
    for oid, block in more.items():
        refs |= spec_refs(block)
        blocks[oid] = pack_json(block)
    outputs.sort(key=lambda o: ({"figure": 1, "define": 2}.get(o["kind"], 0), o["order"], o["id"]))
    cache: dict[str, list[str]] = {}
    spec_texts = {ref: spec_text(ctx.study.root, ref, cache) for ref in sorted(refs) if ref}
    adsl = ctx.adam("ADSL") if (ctx.study.adam_dir / "adsl.xpt").is_file() else None
    subjects = sorted(adsl["USUBJID"].astype(str)) if adsl is not None else []
    from tlfgen.lineage.explorer_subjects import SUBJECTS_PER_CHUNK, create_subject_chunks

    shell = {"study": ctx.study.studyid, "cutoff": str(getattr(ctx.study, "cutoff", "") or ""),
             "outputs": outputs, "subjects": subjects, "subject_chunk": SUBJECTS_PER_CHUNK,
             "adam_show": list(ADAM_SHOW)}
    return ExplorerData(shell, blocks, spec_texts, create_subject_chunks(ctx, subjects))
