"""Lineage layer: ``tlfgen trace`` — from a printed number or a variable back to raw rows and spec rules.

Three questions, each answered as plain data (``trace_cell``, ``trace_value``,
``trace_variable`` return dicts; ``--json`` prints them) and as rich tables:

- a table cell (``trace T2 --row ORR --col TCAC``): the analysis, population,
  subset and method; the subjects counted, recounted from the ADaM data with the
  block's own filters (the check that the cell's n is right); per subject the
  ADaM records used, the SDTM records behind them and their raw rows (file:line);
  and the spec rule (file:line) of every derivation on the path;
- a derived value (``trace ADTTE.AVAL --subject <USUBJID> --param PFS``): the
  record, the rule that applied (for time to event: the event or censoring entry
  of ``derive_param_tte`` whose EVNTDESC / CNSDTDSC the record carries) and the
  records it came from;
- a variable (``trace ADSL.TRTSDT``): its upstream chain down to raw columns;
- a Kaplan-Meier figure (``trace F1``): per arm the subjects drawn (``trace_figure.py``);
- a listing row (``trace L1 --row <id>``): its records down to raw rows (``trace_listing.py``);
- a define.xml method (``trace ADSL.AGEGR1 --define``, ``trace MT.ADSL.AGEGR1``): the spec rule
  and derivation behind it (``trace_define.py``).

The explorer page (``html_report.py``) shows ``cell_path`` of every cell: page and command line agree.

Rows are named by their id (``<block>.<LABEL AS ID>``, see ``graph.row_ids``),
by their block id (the block's first row: ``ORR``) or by their label, case-insensitively.
Tables are rebuilt in memory from ``adam/*.xpt`` (``tlfgen.tlf.tables.create_table``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import DataError, UsageError
from tlfgen.lineage.graph import _block_variables, analysis_of, row_ids, row_label_id
from tlfgen.lineage.paths import keep_raw, path_rules, raw_forms, record_scope
from tlfgen.lineage.trace_context import ADAM_SHOW, SDTM_SHOW, TraceContext, _unknown, _value

__all__ = ["ADAM_SHOW", "SDTM_SHOW", "TraceContext", "cell_path", "find_column", "find_row", "trace_cell",
           "trace_value", "trace_variable"]


# ---------------------------------------------------------------- cells


def find_row(table: Any, name: str) -> tuple[Any, str]:
    """A data row by id, block id (the block's first row), label or label-as-id (case-insensitive)."""
    rows = row_ids(table)
    wanted = name.strip().upper()
    tests = (("id", lambda r, rid: rid.upper() == wanted),
             ("block", lambda r, rid: r.block_id.upper() == wanted),
             ("label", lambda r, rid: r.label.strip().upper() == wanted),
             ("label", lambda r, rid: row_label_id(r.label) == row_label_id(name)))
    for kind, test in tests:
        hits = [(r, rid) for r, rid in rows if test(r, rid)]
        if kind == "block":
            hits = hits[:1]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UsageError(f"row '{name}' of {table.id} is ambiguous",
                             hint="give a row id: " + ", ".join(rid for _, rid in hits))
    blocks = list(dict.fromkeys(r.block_id for r, _ in rows if r.block_id))
    raise _unknown(f"row of {table.id}", name, blocks + [rid for _, rid in rows])


def find_column(table: Any, name: str) -> Any:
    for column in table.columns:
        if column.key.upper() == name.strip().upper():
            return column
    hits = [c for c in table.columns if c.label.strip().upper() == name.strip().upper()]
    if len(hits) == 1:
        return hits[0]
    raise _unknown(f"column of {table.id}", name, [c.key for c in table.columns])


def _group_subjects(ctx: TraceContext, out: Any, column: Any) -> list[str]:
    key = ("group_subjects", out.id, column.key)
    if key not in ctx._cache:
        ctx._cache[key] = _find_group_subjects(ctx, out, column)
    return ctx._cache[key]


def _population(ctx: TraceContext, out: Any) -> pd.DataFrame:
    """USUBJID and the column variable of the output's population (once per output, not per column)."""
    key = ("population", out.id)
    if key not in ctx._cache:
        spec = out.spec
        adsl = ctx.adam(spec.population.dataset)
        names = list(dict.fromkeys(["USUBJID", spec.columns.by]))
        ctx._cache[key] = adsl.loc[out.filters["population"].mask(adsl), names] if "population" in out.filters \
            else adsl[names]
    return ctx._cache[key]


def _find_group_subjects(ctx: TraceContext, out: Any, column: Any) -> list[str]:
    spec = out.spec
    pop = _population(ctx, out)
    arms = {a.armcd: a.trtn for a in ctx.study.spec.study.arms}
    key = column.key.split(".")[0]
    codes = pd.to_numeric(pop[spec.columns.by], errors="coerce")
    if key in arms:
        pop = pop[codes == float(arms[key])]
    elif column.kind == "comparison":
        pair = [float(arms[a]) for a in (spec.columns.treatment, spec.columns.reference) if a in arms]
        pop = pop[codes.isin(pair)]
    return sorted(pop["USUBJID"].astype(str))


def _selection_frame(ctx: TraceContext, out: Any, block: Any) -> pd.DataFrame:
    """``ctx.adam_rows`` of the block's dataset with the columns a cell's selection and record scope
    read only (USUBJID, PARAMCD and the block's variables, ``graph._block_variables``), so that each
    cell's rows are taken from a few columns; the whole frame if it lacks one of them (its errors
    then name the columns the data has)."""
    data = ctx.adam_rows(block.dataset)
    wanted = {"USUBJID", "PARAMCD", *(var for ds, var in _block_variables(block, out) if ds == block.dataset)}
    if wanted - {"PARAMCD"} - set(data.columns):
        return data
    names = tuple(c for c in data.columns if c in wanted)
    key = ("selection_frame", block.dataset, names)
    if key not in ctx._cache:
        ctx._cache[key] = data[list(names)]
    return ctx._cache[key]


def _in_group(ctx: TraceContext, out: Any, column: Any, dataset: str) -> np.ndarray:
    """Per row of ``ctx.adam_rows(dataset)``: whether its subject is in the column's group (``_group_subjects``)."""
    key = ("in_group", out.id, column.key, dataset)
    if key not in ctx._cache:
        ctx._cache[key] = ctx.adam_rows(dataset)["USUBJID"].isin(_group_subjects(ctx, out, column)).to_numpy()
    return ctx._cache[key]


def value_codes(values: pd.Series) -> tuple[np.ndarray, dict[Any, int]]:
    """``values`` as integer codes and the code of each value: ``codes == lookup.get(v, -2)`` selects
    what ``values == v`` selects (a missing value, None or NaN, equals nothing: its code is -1)."""
    codes, uniques = pd.factorize(values)
    return codes, {value: k for k, value in enumerate(uniques.tolist())}


def _normed_codes(ctx: TraceContext, dataset: str, variable: str) -> tuple[np.ndarray, dict[Any, int]]:
    """``value_codes`` of a column's levels as compared (``tlf.blocks.norm``), per row of
    ``ctx.adam_rows(dataset)`` (once per column, not per block, column and level)."""
    from tlfgen.tlf.blocks import norm

    key = ("normed", dataset, variable)
    if key not in ctx._cache:
        ctx._cache[key] = value_codes(ctx.adam_rows(dataset)[variable].map(norm))
    return ctx._cache[key]


def select_cell_records(ctx: TraceContext, out: Any, table: Any, row: Any, column: Any,
                        cell: Any) -> tuple[pd.DataFrame, bool]:
    """The ADaM records a cell used, and whether the cell counts subjects (recount = their USUBJIDs)."""
    from tlfgen.tlf.blocks import norm

    block = next(b for b in out.spec.blocks if b.id == row.block_id)
    key = ("block_records", out.id, block.id, column.key)
    if key not in ctx._cache:  # every row of a block starts from the same records
        data = _selection_frame(ctx, out, block)
        data = data[_in_group(ctx, out, column, block.dataset)]
        if block.id in out.filters:
            data = data[out.filters[block.id].mask(data)]
        if getattr(block, "param", None) and "PARAMCD" in data:
            data = data[data["PARAMCD"].astype(str).str.strip() == block.param]
        ctx._cache[key] = data
    data = ctx._cache[key]
    counted = any(name == "n" for name, _ in cell.values) and bool(cell.subjects or cell.value("n") == 0)
    kind = block.kind
    first = row.label == block.label
    if kind == "categorical":
        level = next((lv for lv in block.levels if lv.text == row.label), None)
        if level is not None:
            codes, lookup = _normed_codes(ctx, block.dataset, block.variable)
            data = data[codes[data.index.to_numpy()] == lookup.get(norm(level.value), -2)]
    elif kind == "rate" and first:
        data = data[out.filters[f"{block.id}.responder"].mask(data)]
    elif kind == "tte" and cell.analysis_id.endswith(".EVENTS"):
        data = data[pd.to_numeric(data[block.censor], errors="coerce") == 0]
    elif kind == "ae_by_term":
        if ("terms",) + key not in ctx._cache:  # once per block and column, not per term row
            terms = data[block.term].astype(str).str.strip()
            if block.term_case == "sentence":
                terms = terms.str[:1].str.upper() + terms.str[1:].str.lower()
            ctx._cache[("terms",) + key] = value_codes(terms)
        codes, lookup = ctx._cache[("terms",) + key]
        if row.label != block.any_label:
            data = data[codes == lookup.get(row.label, -2)]
        if column.key.endswith(".HIGH"):
            grade = pd.to_numeric(data[block.grade], errors="coerce")
            worst = grade.groupby(data["USUBJID"]).transform("max")
            data = data[(worst >= block.high_grade) & (grade == worst)]
    elif kind == "continuous":
        data = data[data[block.variable].notna()]
    elif kind == "regression" and cell.subjects:
        data = data[data["USUBJID"].isin(cell.subjects)]
    return data, counted and kind != "regression"


def trace_cell(ctx: TraceContext, target: str, row_name: str, col_name: str) -> dict[str, Any]:
    """A table cell traced: the analysis, the subjects and their records down to the raw rows of
    the forms on the path, and the spec rules on the path (what ``tlfgen trace`` prints)."""
    out = ctx.output(target)
    table = ctx.table(out)
    row, rid = find_row(table, row_name)
    column = find_column(table, col_name)
    result = cell_path(ctx, out, table, row, rid, column)
    result["subjects"] = copy.deepcopy(result["subjects"])
    for subject in result["subjects"]:
        keep_raw(subject["records"], set(result["forms"]))
    return result


def cell_path(ctx: TraceContext, out: Any, table: Any, row: Any, rid: str, column: Any,
              store: Any = None) -> dict[str, Any]:
    """The trace of one cell with its records shared with other traces (``adam_record``) and all
    their raw rows; ``forms`` names the raw forms on the path (``trace_cell`` keeps only their rows,
    the explorer page filters by them).

    ``store`` (the explorer page's record store, ``explorer_store.RecordStore``): the subjects come as
    ``[[subject index, [record index...]], ...]`` into that store, found column-wise
    (``store.cell_records``), instead of one dict per record."""
    cell = row.cells[list(table.columns).index(column)]
    item = analysis_of(table, cell.analysis_id) if cell.analysis_id else None
    if item is None:
        raise UsageError(f"cell {table.id} [{rid}, {column.key}] is empty (no analysis)",
                         hint="columns with values in this row: " + ", ".join(
                             c.key for c, x in zip(table.columns, row.cells) if x.analysis_id))
    data, counted = select_cell_records(ctx, out, table, row, column, cell)
    index = next(i for i, b in enumerate(out.spec.blocks) if b.id == row.block_id)
    block = out.spec.blocks[index]
    reads = _block_variables(block, out) + _population_variables(ctx, out)
    nodes = sorted({f"adam.{ds}.{var}" for ds, var in reads} & set(ctx.graph.nodes))
    domains = ctx.sdtm_domains_above(nodes)
    shown = tuple(var for ds, var in reads if ds == block.dataset)
    if store is None:
        positions: dict[str, list[int]] = {}
        for usubjid, position in zip(data["USUBJID"].tolist(), data.index.tolist()):
            positions.setdefault(usubjid, []).append(position)
        subjects = list(cell.subjects) or sorted(positions)
        subject_rows: list[Any] = [
            {"usubjid": s, "records": [ctx.adam_record(block.dataset, int(p), domains, shown)
                                       for p in positions.get(s, [])]} for s in subjects]
        scope = record_scope(block.dataset, data, [r for s in subject_rows for r in s["records"]],
                             ctx._cache.setdefault("scope_memo", {}))
    else:
        subject_rows, positions, scope = store.cell_records(ctx, block.dataset, data, list(cell.subjects),
                                                            domains, shown)
    rules_key = ("rules", tuple(nodes), tuple(sorted((k, tuple(sorted(v))) for k, v in scope.items())))
    if rules_key not in ctx._cache:  # many cells of one block share their path
        ctx._cache[rules_key] = path_rules(ctx.graph, ctx.specs("adam"), nodes, scope)
    rules = ctx._cache[rules_key]
    recount = sorted(positions) if counted else None
    loc = out.source.location(("blocks", index))
    return {
        "kind": "cell", "output": table.id, "spec": out.display,
        "row": {"id": rid, "label": row.label, "block": row.block_id},
        "column": {"key": column.key, "label": column.label, "N": column.n},
        "text": cell.text, "values": {k: _value(v) for k, v in cell.values},
        "analysis": {"id": item.id, "cell_analysis_id": cell.analysis_id, "description": item.description,
                     "dataset": item.dataset, "population": item.population, "subset": item.subset,
                     "method": item.method, "group": item.group, "spec": f"{loc.file}:{loc.line}"},
        "n": len(cell.subjects) if counted else None,
        "recount": None if recount is None else {"n": len(recount), "matches": recount == sorted(cell.subjects)},
        "subjects": subject_rows,
        "rules": rules,
        "forms": sorted(raw_forms(rules)),
        "shown": list(shown),  # the variables of the cell's records it reads (shown with ADAM_SHOW)
    }


def _population_variables(ctx: TraceContext, out: Any) -> list[tuple[str, str]]:
    """(dataset, variable) of the population filter and the column variable (who is counted where)."""
    dataset = out.spec.population.dataset
    pop = out.filters.get("population")
    found = [(dataset, c) for c in sorted(pop.columns)] if pop is not None else []
    by = getattr(getattr(out.spec, "columns", None), "by", None)
    return found + ([(dataset, by)] if by else [])


# ---------------------------------------------------------------- derived values and variables


def resolve_variable(ctx: TraceContext, target: str, param: str | None = None) -> str:
    """A node id of the variable graph for ``ADSL.TRTSDT``, ``adam.ADSL.TRTSDT``, ``RS.RSSTRESC`` ..."""
    text = target.strip()
    lowered = text.split(".", 1)[0].lower()
    bare = text.split(".", 1)[1] if lowered in ("adam", "sdtm", "raw") else text
    candidates = [text] if lowered in ("adam", "sdtm", "raw") else []
    candidates += [f"adam.{bare.upper()}", f"sdtm.{bare.upper()}", f"raw.{bare}"]
    if param:
        candidates = [f"{c}[{param.upper()}]" for c in candidates] + candidates
    for node in candidates:
        if node in ctx.graph.nodes:
            return node
    valid = sorted(n.split(".", 1)[1] for n in ctx.graph.nodes if n.startswith(("adam.", "sdtm.")) and "[" not in n)
    raise _unknown("variable", target, valid)


def trace_variable(ctx: TraceContext, target: str, param: str | None = None) -> dict[str, Any]:
    node = resolve_variable(ctx, target, param)
    edges = ctx.graph.upstream_edges(node)
    return {"kind": "variable", "variable": node, "metadata": ctx.graph.nodes[node],
            "chain": [{"from": p, "to": c, **rule} for p, c, rule in edges],
            "raw_columns": sorted({p for p, _, _ in edges if p.startswith("raw.")})}


def _tte_rule(ctx: TraceContext, dataset: str, record: pd.Series) -> dict[str, Any] | None:
    """The derive_param_tte entry (event or censoring) that produced this record."""
    ds = ctx.specs("adam")[dataset]
    for step in ds.steps:
        args = step.spec.args
        if step.spec.derive != "derive_param_tte" or args.get("paramcd") != record.get("PARAMCD"):
            continue
        event = _value(record.get("CNSR")) == 0
        key, desc = ("events", "evntdesc") if event else ("censors", "cnsdtdsc")
        wanted = record.get("EVNTDESC") if event else record.get("CNSDTDSC")
        for j, entry in enumerate(args.get(key, [])):
            if str(entry.get(desc, "")).strip().upper() == str(wanted).strip().upper():
                loc = ds.source.location(("steps", step.index, "args", key, j, desc))  # the line naming it
                return {"step": step.spec.id, "derivation": step.spec.derive, "kind": key[:-1],
                        "description": wanted, "entry": dict(entry), "spec": f"{loc.file}:{loc.line}"}
        loc = ds.source.location(("steps", step.index))
        return {"step": step.spec.id, "derivation": step.spec.derive, "kind": "unmatched",
                "description": wanted, "spec": f"{loc.file}:{loc.line}"}
    return None


def trace_value(ctx: TraceContext, target: str, subject: str, param: str | None) -> dict[str, Any]:
    node = resolve_variable(ctx, target, param)
    if not node.startswith("adam."):
        raise UsageError(f"{target}: --subject traces ADaM values", hint="e.g. ADTTE.AVAL --subject <USUBJID> --param PFS")
    dataset, var = node[len("adam."):].split("[")[0].split(".")
    data = ctx.adam_rows(dataset)
    subjects = sorted(data["USUBJID"].astype(str).unique())
    match = [s for s in subjects if s.upper() == subject.strip().upper() or s.upper().endswith("-" + subject.upper())]
    if not match:
        raise _unknown(f"subject in {dataset}", subject, subjects)
    mask = data["USUBJID"] == match[0]
    if param:
        if "PARAMCD" not in data:
            raise UsageError(f"{dataset} has no PARAMCD; leave out --param")
        params = sorted(data["PARAMCD"].astype(str).unique())
        if param.upper() not in params:
            raise _unknown(f"PARAMCD of {dataset}", param, params)
        mask &= data["PARAMCD"] == param.upper()
    if not mask.any():
        raise DataError(f"{dataset} has no record for {match[0]}" + (f" and PARAMCD {param.upper()}" if param else ""))
    domains = ctx.sdtm_domains_above([node])
    records = []
    for pos in data.index[mask]:
        row = data.loc[pos]
        rec = copy.deepcopy(ctx.adam_record(dataset, int(pos), domains))
        rec["value"] = _value(row[var]) if var in row.index else None
        tte = _tte_rule(ctx, dataset, row) if "CNSR" in row.index else None
        if tte is not None:
            date_var = tte.get("entry", {}).get("date")
            if date_var and str(tte.get("entry", {}).get("dataset", "")).startswith("adam.ADSL"):
                above = ctx.sdtm_domains_above([f"adam.ADSL.{date_var}"])
                for parent in rec["adam"]:
                    parent["sdtm"] = [s for s in parent["sdtm"] if s["domain"] in above]
            rec["rule"] = tte
        records.append(rec)
    return {"kind": "value", "variable": node, "subject": match[0], "param": param.upper() if param else None,
            "metadata": ctx.graph.nodes.get(node, {}), "records": records,
            "rules": path_rules(ctx.graph, ctx.specs("adam"), [node], record_scope(dataset, data[mask], records))}
