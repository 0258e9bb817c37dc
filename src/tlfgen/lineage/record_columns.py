"""Lineage layer: the records of a trace column-wise, for many rows at once (the explorer page).

``TraceContext.adam_record`` gives one ADaM record as a dict with the SDTM records behind it
(what ``tlfgen trace`` prints). The explorer page needs about 200,000 of them at 5,000 subjects,
so here the same content is taken from whole columns, once per dataset or domain:

- ``AdamSources``: per row of ``adam/<dataset>.xpt`` its record id, its USUBJID, and its sources
  flat (the SDTM record ids with their domain and the ADaM datasets it was made from), from
  ``adam/lineage/<dataset>.json`` in one pass (``records.adam_source_ids``);
- ``create_value_rows``: the values a trace shows of the records at some rows (``ADAM_SHOW`` and
  the variables a cell reads), one dict per row from the columns taken at those rows;
- ``create_sdtm_entries``: per SDTM record id its shown values and its raw rows as ``file:line``,
  joined to ``sdtm/<domain>.xpt`` by (USUBJID, --SEQ) and to the domain's record lineage by id.

Every function keeps what ``TraceContext`` keeps (the same ids, values and raw rows), so the page
and the command line agree; results are kept in the context's cache, as its own are.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, compress
from operator import methodcaller
from typing import Any

import numpy as np

from tlfgen.lineage.records import adam_source_ids
from tlfgen.lineage.trace_context import ADAM_SHOW, SDTM_SHOW, TraceContext

#: an SDTM record as the page stores it: (shown values, raw rows as "file:line")
SdtmEntry = tuple[dict[str, Any], list[str]]


@dataclass(frozen=True)
class AdamSources:
    """The record lineage of one ADaM dataset, column-wise in the row order of its data."""

    ids: list[str]  # per row: the record id (``adam.ADRS:<key values>``)
    usubjids: list[Any]  # per row
    sdtm_starts: np.ndarray  # per row (and one more): where its SDTM sources start in ``sdtm_ids``
    sdtm_ids: list[str]  # every row's SDTM record ids, in row and source order
    sdtm_domains: np.ndarray  # per SDTM source: its domain
    parent_starts: np.ndarray  # per row (and one more): where its ADaM sources start in ``parents``
    parents: list[str]  # every row's ADaM source datasets (``ADSL``), in row and source order


def create_adam_sources(dataset: str, lineage: list[dict[str, Any]]) -> AdamSources:
    """``AdamSources`` of ``lineage`` (``adam/lineage/<dataset>.json``'s records, in data order)."""
    ids, links = adam_source_ids(dataset, lineage)
    counts = np.fromiter(map(len, links), dtype=np.int64, count=len(links))
    flat = list(chain.from_iterable(links))  # each "sdtm.<DOMAIN>:..." or "adam.<DATASET>:..."
    is_sdtm = np.fromiter(map(methodcaller("startswith", "sdtm."), flat), dtype=bool, count=len(flat))
    sdtm_ids = list(compress(flat, is_sdtm.tolist()))
    parents = [s[len("adam."):].partition(":")[0] for s in compress(flat, (~is_sdtm).tolist())]
    sdtm_counts = np.bincount(np.repeat(np.arange(len(links)), counts)[is_sdtm], minlength=len(links))
    parent_counts = counts - sdtm_counts
    return AdamSources(ids=ids, usubjids=[rec["key"].get("USUBJID") for rec in lineage],
                       sdtm_starts=_starts(sdtm_counts), sdtm_ids=sdtm_ids,
                       sdtm_domains=np.asarray([s[len("sdtm."):].partition(":")[0] for s in sdtm_ids], dtype=object),
                       parent_starts=_starts(parent_counts), parents=parents)


def _starts(counts: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))]).astype(np.int64)


def adam_sources(ctx: TraceContext, dataset: str) -> AdamSources:
    """``create_adam_sources`` of ``dataset`` (checked against its data: ``TraceContext.adam_lineage``)."""
    key = ("adam_sources", dataset)
    if key not in ctx._cache:
        ctx._cache[key] = create_adam_sources(dataset, ctx.adam_lineage(dataset))
    return ctx._cache[key]


def sdtm_ids_at(sources: AdamSources, positions: np.ndarray,
                domains: frozenset[str] | None) -> list[list[str]]:
    """Per row at ``positions``, the ids of the SDTM records it was made from; ``domains``: only
    those of these domains (given for ADSL, whose records come from every subject-level domain)."""
    starts = sources.sdtm_starts[positions]
    counts = sources.sdtm_starts[positions + 1] - starts
    ends = np.cumsum(counts)
    flat = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(starts - (ends - counts), counts)
    if domains is not None:
        keep = np.isin(sources.sdtm_domains[flat], sorted(domains))
        counts = np.bincount(np.repeat(np.arange(len(positions)), counts)[keep], minlength=len(positions))
        flat = flat[keep]
    ids = [sources.sdtm_ids[i] for i in flat.tolist()]
    bounds = [0, *np.cumsum(counts).tolist()]
    return [ids[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _object_column(ctx: TraceContext, dataset: str, name: str) -> np.ndarray:
    """``TraceContext.column`` as a numpy object array (taken at many rows in one step)."""
    key = ("object_column", dataset, name)
    if key not in ctx._cache:
        values = ctx.column(dataset, name)
        column = np.empty(len(values), dtype=object)
        column[:] = values
        ctx._cache[key] = column
    return ctx._cache[key]


def create_value_rows(ctx: TraceContext, dataset: str, names: tuple[str, ...], positions: np.ndarray) -> list[dict[str, Any]]:
    """Per row at ``positions`` of ``adam.<NAME>`` / ``sdtm.<DOMAIN>`` (``dataset``), its values of
    ``names`` that the data has, none missing or empty (what ``TraceContext.adam_record`` shows)."""
    shown = [name for name, _ in ctx.shown_columns(dataset, names)]
    if not shown:
        return [{} for _ in range(len(positions))]
    columns = [_object_column(ctx, dataset, name)[positions].tolist() for name in shown]
    return [{name: value for name, value in zip(shown, row) if value not in (None, "")} for row in zip(*columns)]


def adam_value_rows(ctx: TraceContext, dataset: str, show: tuple[str, ...], positions: np.ndarray) -> list[dict[str, Any]]:
    """``create_value_rows`` of ADaM records: ``ADAM_SHOW`` and ``show``."""
    return create_value_rows(ctx, f"adam.{dataset}", (*ADAM_SHOW, *show), positions)


def _raw_texts(ctx: TraceContext, domain: str, ids: list[str]) -> list[list[str]]:
    """Per SDTM record id of ``domain``, its raw rows as ``file:line`` (``TraceContext.raw_rows``),
    the text made for these records only."""
    sources = ctx.raw_sources(domain)
    at = [(i, k) for i, rid in enumerate(ids) if (k := sources.where.get(rid)) is not None]
    found: list[list[str]] = [[] for _ in ids]
    if not at:
        return found
    records = np.asarray([k for _, k in at], dtype=np.int64)
    first, counts = sources.starts[records], sources.starts[records + 1] - sources.starts[records]
    ends = np.cumsum(counts)
    flat = np.arange(int(ends[-1])) + np.repeat(first - (ends - counts), counts)
    prefixes = [f"{name}:" for name in sources.names]
    texts = list(map(str.__add__, map(prefixes.__getitem__, sources.files[flat].tolist()),
                     map(str, sources.lines[flat].tolist())))
    bounds = [0, *ends.tolist()]
    for (i, _), a, b in zip(at, bounds[:-1], bounds[1:]):
        found[i] = texts[a:b]
    return found


def _sdtm_rows(ctx: TraceContext, domain: str, ids: list[str]) -> list[int | None]:
    """The row of each record id in ``sdtm/<domain>.xpt`` (by USUBJID and --SEQ; None: no such row,
    or the domain has no --SEQ, as ``TraceContext.sdtm_record`` finds them)."""
    data = ctx.sdtm(domain)
    if data is None or f"{domain}SEQ" not in data:
        return [None] * len(ids)
    positions = ctx._sdtm_positions(domain)
    prefix = len(f"sdtm.{domain}:")
    found: list[int | None] = []
    for rid in ids:
        usubjid, _, tail = rid[prefix:].partition(":")
        found.append(positions.get((usubjid, float(int(tail)))) if tail.isdigit() else None)
    return found


def create_sdtm_entries(ctx: TraceContext, domain: str, ids: list[str]) -> list[SdtmEntry]:
    """Per SDTM record id of ``domain``: its shown values (``SDTM_SHOW`` and VISIT) and raw rows."""
    rows = _sdtm_rows(ctx, domain, ids)
    values: list[dict[str, Any]] = [{} for _ in ids]
    at = [i for i, row in enumerate(rows) if row is not None]
    if at:
        names = (*(f"{domain}{suffix}" for suffix in SDTM_SHOW), "VISIT")
        found = create_value_rows(ctx, f"sdtm.{domain}", names, np.asarray([rows[i] for i in at], dtype=np.int64))
        for i, value in zip(at, found):
            values[i] = value
    return list(zip(values, _raw_texts(ctx, domain, ids)))


def sdtm_entries(ctx: TraceContext, ids: list[str]) -> list[SdtmEntry]:
    """``create_sdtm_entries`` of SDTM record ids of any domains, in the order given (each kept once
    in the context)."""
    known: dict[str, SdtmEntry] = ctx._cache.setdefault("sdtm_entries", {})
    missing: dict[str, list[str]] = {}
    for rid in dict.fromkeys(ids):
        if rid not in known:
            missing.setdefault(rid[len("sdtm."):].partition(":")[0], []).append(rid)
    for domain, wanted in missing.items():
        known.update(zip(wanted, create_sdtm_entries(ctx, domain, wanted)))
    return [known[rid] for rid in ids]
