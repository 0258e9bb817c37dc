"""Lineage layer: ``tlfgen trace L1 --row <row id>`` — one listing row down to its records and raw rows.

A listing prints one row per record of its dataset (``tlf.listings.create_listing``). The rows are
selected again here the way the listing selects them (population, the listing's filter, the sort
keys) and checked against the printed rows (same USUBJID on every row), which gives each row its
ADaM record; columns taken from ADSL add the subject's ADSL record. Each ADaM record comes with
the SDTM records and raw rows behind it (``TraceContext.adam_record``) and the spec rules of the
listed variables (``paths.path_rules``).

Row ids are the ADaM record's key, readable and stable when rows are added or removed elsewhere:
``<USUBJID>.<KEY>=<value>...`` without STUDYID and missing key values
(``NCT04471480-01001.AESEQ=3``, ``NCT04471480-01001.PARAMCD=OVR.ADT=2021-02-24``); a repeated id
gets ``#2``. ``--row`` also takes the id without the study prefix of USUBJID (``01001.AESEQ=3``), or
``<USUBJID>#<k>`` for the k-th row of a subject.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tlfgen.errors import DataError, UsageError
from tlfgen.lineage.paths import keep_raw, path_rules, raw_forms, record_scope
from tlfgen.lineage.trace import TraceContext, _unknown


@dataclass(frozen=True)
class ListingRows:
    """The data rows of one listing: their ids, ADaM positions, subjects and the columns' datasets."""

    output: str
    dataset: str  # the listing's dataset (ADAE)
    ids: tuple[str, ...]
    positions: tuple[int, ...]  # row position of each row's record in ``ctx.adam(dataset)``
    usubjids: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]  # (variable, dataset it is read from) of the listed columns, Arm first


def _key_part(name: str, value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{name}={value}"


def row_id_of(key: dict[str, Any]) -> str:
    """A listing row's id from its ADaM record key: ``<USUBJID>.<KEY>=<value>...``."""
    parts = [str(key.get("USUBJID", ""))]
    parts += [_key_part(k, v) for k, v in key.items() if k not in ("STUDYID", "USUBJID") and v not in (None, "")]
    return ".".join(parts)


def listing_rows(ctx: TraceContext, out: Any) -> ListingRows:
    """The rows of listing ``out`` with their records, checked against the listing as built."""
    key = ("listing_rows", out.id)
    if key not in ctx._cache:
        ctx._cache[key] = _find_listing_rows(ctx, out)
    return ctx._cache[key]


def _find_listing_rows(ctx: TraceContext, out: Any) -> ListingRows:
    from tlfgen.tlf.listings import _gather
    from tlfgen.tlf.tables import create_groups

    spec = out.spec
    table = ctx.table(out)
    names = {"ADSL", spec.dataset, *(c.source for c in spec.columns if c.source)}
    datasets = {n: ctx.adam(n).reset_index(drop=True) for n in sorted(names)}
    groups = create_groups(out, ctx.study, datasets["ADSL"], total=False, by=spec.arm)
    order = {s: i for i, g in enumerate(groups) for s in g.subjects}
    data = _gather(spec, out, datasets, sorted(order))
    data["_ARMORD"] = data["USUBJID"].map(order)
    keys = ["_ARMORD", "USUBJID", *[k for k in spec.sort if k != "USUBJID"]]
    data = data.sort_values(keys, kind="mergesort", na_position="last")
    printed = [row.label for row in table.rows if row.kind == "data" and row.cells and row.cells[0].analysis_id]
    usubjids = [str(s) for s in data["USUBJID"].tolist()]
    if printed != usubjids:
        raise DataError(f"listing {out.id}: the rows selected again do not match the listing as built",
                        file=out.display, hint="run the TLF stage again; if it persists this is a bug in tlfgen")
    lineage = ctx.adam_lineage(spec.dataset)
    positions = [int(p) for p in data.index.tolist()]
    ids: list[str] = []
    seen: dict[str, int] = {}
    for p in positions:
        base = row_id_of(lineage[p]["key"])
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    sources = ((spec.arm, "ADSL"),) + tuple(  # the Arm column is ADSL's arm variable
        (c.variable, c.source or (spec.dataset if c.variable in datasets[spec.dataset] else "ADSL"))
        for c in spec.columns)
    return ListingRows(out.id, spec.dataset, tuple(ids), tuple(positions), tuple(usubjids), sources)


def find_listing_row(rows: ListingRows, name: str) -> int:
    """The index of a listing row by id, by id without the USUBJID's study prefix, or ``<USUBJID>#<k>``."""
    wanted = name.strip().upper()
    exact = [i for i, rid in enumerate(rows.ids) if rid.upper() == wanted]
    if exact:
        return exact[0]
    short = [i for i, rid in enumerate(rows.ids) if rid.upper().endswith("-" + wanted)]
    if len(short) == 1:
        return short[0]
    subject, _, nth = wanted.rpartition("#")
    if subject and nth.isdigit():
        mine = [i for i, u in enumerate(rows.usubjids) if u.upper() == subject or u.upper().endswith("-" + subject)]
        if 0 < int(nth) <= len(mine):
            return mine[int(nth) - 1]
    mine = [i for i, u in enumerate(rows.usubjids) if u.upper() == wanted or u.upper().endswith("-" + wanted)]
    if len(mine) == 1:
        return mine[0]
    if mine or len(short) > 1:
        raise UsageError(f"row '{name}' of {rows.output} is ambiguous",
                         hint="give a row id: " + ", ".join(rows.ids[i] for i in (mine or short)[:30]))
    raise _unknown(f"row of {rows.output}", name, list(rows.ids))


def listing_reads(ctx: TraceContext, rows: ListingRows) -> tuple[list[str], frozenset[str], dict[str, tuple[str, ...]]]:
    """The variable nodes a listing prints, the SDTM domains above them, and per dataset (the
    listing's first, then the others it reads, such as ADSL) the variables shown of its records."""
    nodes = sorted({f"adam.{ds}.{var}" for var, ds in rows.sources} & set(ctx.graph.nodes))
    shown = {rows.dataset: tuple(var for var, ds in rows.sources if ds == rows.dataset)}
    for other in sorted({ds for _, ds in rows.sources if ds != rows.dataset}):
        shown[other] = tuple(var for var, ds in rows.sources if ds == other)
    return nodes, ctx.sdtm_domains_above(nodes), shown


def subject_rows(ctx: TraceContext, dataset: str, usubjid: str) -> list[int]:
    """The row position of a subject's record in a subject-level dataset read by a listing (the first)."""
    ctx.adam_lineage(dataset)  # checked against the data before positions are used
    return ctx._subject_positions(dataset).get(usubjid, [])[:1]


def listing_rules(ctx: TraceContext, nodes: list[str], scope: dict[str, set[str]]) -> list[dict[str, Any]]:
    """``path_rules`` of a listing row's nodes and scope (rows of one scope share them)."""
    key = ("rules", tuple(nodes), tuple(sorted((k, tuple(sorted(v))) for k, v in scope.items())))
    if key not in ctx._cache:
        ctx._cache[key] = path_rules(ctx.graph, ctx.specs("adam"), nodes, scope)
    return ctx._cache[key]


def listing_row_path(ctx: TraceContext, out: Any, rows: ListingRows, index: int) -> dict[str, Any]:
    """The trace of one listing row, its records shared with other traces (all their raw rows;
    ``forms`` names the raw forms on the path)."""
    table = ctx.table(out)
    data_rows = [row for row in table.rows if row.kind == "data"]
    row = data_rows[index]
    usubjid = rows.usubjids[index]
    nodes, domains, shown = listing_reads(ctx, rows)
    records = [ctx.adam_record(rows.dataset, rows.positions[index], domains, shown[rows.dataset])]
    for other in [ds for ds in shown if ds != rows.dataset]:
        records += [ctx.adam_record(other, i, domains, shown[other]) for i in subject_rows(ctx, other, usubjid)]
    data = ctx.adam(rows.dataset).iloc[[rows.positions[index]]]
    rules = listing_rules(ctx, nodes, record_scope(rows.dataset, data, records, ctx._cache.setdefault("scope_memo", {})))
    return {"kind": "listing_row", "output": out.id, "spec": out.display, "dataset": rows.dataset,
            "row": {"id": rows.ids[index], "number": index + 1, "usubjid": usubjid},
            "cells": {c.key: cell.text for c, cell in zip(table.columns, row.cells)},
            "records": records, "rules": rules, "forms": sorted(raw_forms(rules))}


def trace_listing_row(ctx: TraceContext, target: str, row_name: str) -> dict[str, Any]:
    """A listing row traced (what ``tlfgen trace L1 --row <id>`` prints): its ADaM records, the
    SDTM records and the raw rows of the forms on the path, and the rules of the listed variables."""
    out = ctx.output(target)
    rows = listing_rows(ctx, out)
    result = listing_row_path(ctx, out, rows, find_listing_row(rows, row_name))
    result["records"] = copy.deepcopy(result["records"])
    keep_raw(result["records"], set(result["forms"]))
    return result
