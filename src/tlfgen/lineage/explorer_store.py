"""Lineage layer: the records of one output of the explorer page, each kept once and referred to by index.

A ``RecordStore`` holds what one output's block of the page lists (``explorer_data``)::

    subjects: [USUBJID, ...]
    adam: [[id, dataset, values, [sdtm index...], [adam index...]], ...]
    sdtm: [[id, domain, values, [raw row "file:line"...]], ...]
    rules: [[variable, rule, spec "file:line", [from...]], ...]

The records of a cell or a listing come in by row position (``records_at``), many at once, built
column-wise (``record_columns``): a record is stored right before the SDTM records it was made from
and the ADaM records it was made from (an ADTTE record's ADSL record), each of those only when the
store does not hold it yet, the order ``TraceContext.adam_record``'s nested records are met in
one at a time. A record is one per (dataset, row, SDTM domains of the path, variables shown).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tlfgen.lineage.record_columns import adam_sources, adam_value_rows, sdtm_entries, sdtm_ids_at
from tlfgen.lineage.trace_context import TraceContext

#: one kind of ADaM record in a store: (dataset, SDTM domains of the path, variables shown)
RecordKind = tuple[str, frozenset[str], tuple[str, ...]]


class RecordStore:
    """The records of one output's cells, each once, referred to by index."""

    def __init__(self) -> None:
        self.subjects: dict[str, int] = {}
        self.adam: list[list[Any]] = []
        self.sdtm: list[list[Any]] = []
        self.rules: list[list[Any]] = []
        self._sdtm: dict[str, int] = {}  # SDTM record id -> index in ``sdtm``
        self._rules: dict[tuple[str, str, str], int] = {}
        # per record kind, ADaM row position -> index in ``adam`` (-1: not stored yet)
        self._lookup: dict[RecordKind, np.ndarray] = {}
        # per ``adam`` entry the SDTM test codes under it (an interned set's number); per ``sdtm``
        # entry its test code, if any
        self._codes: list[int] = []
        self._codesets: dict[frozenset[tuple[str, str]], int] = {}
        self._sdtm_codes: list[tuple[str, str] | None] = []
        # per dataset, the variables any cell of the output shows: a record is stored once with all of
        # them, and each cell names its own (``show``; the page shows ADAM_SHOW and those)
        self.show_all: dict[str, tuple[str, ...]] = {}
        # a cell's records by (dataset, domains, variables shown, row positions, subjects): ``cell_records``
        self._cells: dict[tuple[Any, ...], tuple[list[Any], list[str], dict[str, set[str]]]] = {}

    # ------------------------------------------------------------ records by row position

    def cell_records(self, ctx: TraceContext, dataset: str, data: pd.DataFrame, subjects: list[str],
                     domains: frozenset[str], shown: tuple[str, ...]) -> tuple[list[Any], list[str], dict[str, set[str]]]:
        """A cell's records found column-wise: ``[[subject index, [record index...]], ...]`` (``subjects``
        in order, or every USUBJID of ``data`` sorted), the USUBJIDs with records, and the record scope
        (``paths.record_scope``) of the path's rules. Found once for the cells that use the same rows
        the same way (every row of a model, the statistics of one variable): those cells share them."""
        positions = data.index.to_numpy(dtype=np.int64)
        show = self.show_all.get(dataset, shown)
        key = (dataset, domains, show, positions.tobytes(), tuple(subjects))
        if key not in self._cells:
            self._cells[key] = self._find_cell_records(ctx, dataset, data, positions, subjects, domains, show)
        return self._cells[key]

    def _find_cell_records(self, ctx: TraceContext, dataset: str, data: pd.DataFrame, positions: np.ndarray,
                           subjects: list[str], domains: frozenset[str],
                           show: tuple[str, ...]) -> tuple[list[Any], list[str], dict[str, set[str]]]:
        found = self.records_at(ctx, dataset, positions, domains, show)
        codes, uniques = pd.factorize(data["USUBJID"].to_numpy())
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(uniques))).tolist()
        grouped = found[order].tolist()  # the records subject by subject, each subject's in row order
        by_subject = dict(zip(uniques.tolist(), (grouped[a:b] for a, b in zip([0, *ends[:-1]], ends))))
        number, known = self.subjects.setdefault, self.subjects  # ``subject`` inlined: a cell lists thousands
        rows = [[number(s, len(known)), by_subject.get(s, [])] for s in (subjects or sorted(by_subject))]
        return rows, list(by_subject), self.scope(ctx, dataset, positions, found.tolist())

    def records_at(self, ctx: TraceContext, dataset: str, positions: np.ndarray, domains: frozenset[str],
                   shown: tuple[str, ...]) -> np.ndarray:
        """The indices in ``adam`` of the records at row ``positions`` of ``dataset`` (each stored once)."""
        kind = (dataset, domains, shown)
        lookup = self._lookup_of(ctx, kind)
        missing = pd.unique(positions[lookup[positions] < 0])
        if len(missing):
            self._store(ctx, _record_order(ctx, kind, missing, self._lookup_of))
        return lookup[positions]

    def _lookup_of(self, ctx: TraceContext, kind: RecordKind) -> np.ndarray:
        if kind not in self._lookup:
            self._lookup[kind] = np.full(len(ctx.adam(kind[0])), -1, dtype=np.int64)
        return self._lookup[kind]

    def _store(self, ctx: TraceContext, order: list[tuple[RecordKind, np.ndarray]]) -> None:
        """Store the records of ``order`` (runs of one kind each, in the order they are met; some may
        be stored already): each new record gets the next index, then each kind's are built at once,
        then their SDTM records are stored in the order the records list them."""
        base = len(self.adam)
        by_kind: dict[RecordKind, list[np.ndarray]] = {}
        for kind, positions in order:
            lookup = self._lookup[kind]
            positions = positions[lookup[positions] < 0]
            if len(positions):
                lookup[positions] = np.arange(len(self.adam), len(self.adam) + len(positions))
                self.adam.extend([None] * len(positions))  # type: ignore[list-item]
                by_kind.setdefault(kind, []).append(positions)
        for kind, runs in by_kind.items():
            dataset, domains, shown = kind
            positions = np.concatenate(runs)
            sources = adam_sources(ctx, dataset)
            ids = sdtm_ids_at(sources, positions, domains if dataset == "ADSL" else None)
            parents = _parent_indices(ctx, kind, positions, self._lookup_of)
            values = adam_value_rows(ctx, dataset, shown, positions)
            for i, p, v, s, a in zip(self._lookup[kind][positions].tolist(), positions.tolist(), values, ids, parents):
                self.adam[i] = [sources.ids[p], dataset, v, s, a]
        new = self.adam[base:]
        self._store_sdtm(ctx, [rid for entry in new for rid in entry[3]])
        for entry in new:
            entry[3] = [self._sdtm[rid] for rid in entry[3]]
        self._codes.extend([-1] * len(new))
        for i in range(len(self.adam) - 1, base - 1, -1):  # the records each was made from come after it
            self._codes[i] = self._codes_under(self.adam[i][3], self.adam[i][4])

    def _store_sdtm(self, ctx: TraceContext, ids: list[str]) -> None:
        new = [rid for rid in dict.fromkeys(ids) if rid not in self._sdtm]
        self._sdtm.update(zip(new, range(len(self.sdtm), len(self.sdtm) + len(new))))
        for rid, (values, raw) in zip(new, sdtm_entries(ctx, new)):
            domain = rid[len("sdtm."):].partition(":")[0]
            self.sdtm.append([rid, domain, values, raw])
            code = values.get(f"{domain}TESTCD")
            self._sdtm_codes.append((f"sdtm.{domain}", f"{domain}TESTCD = {code}") if code else None)

    def _codes_under(self, sdtm: list[int], parents: list[int]) -> int:
        found = {code for i in sdtm if (code := self._sdtm_codes[i])}
        if parents:
            sets = list(self._codesets)
            for i in parents:
                found |= sets[self._codes[i]]
        return self._codesets.setdefault(frozenset(found), len(self._codesets))

    def scope(self, ctx: TraceContext, dataset: str, positions: np.ndarray, indices: list[int]) -> dict[str, set[str]]:
        """``paths.record_scope`` of the records at ``indices`` (``positions``: their rows in ``dataset``)."""
        scope: dict[str, set[str]] = {}
        params = _param_codes(ctx, dataset)
        if params is not None and len(positions):
            codes, texts = params
            scope[dataset] = set(texts[np.unique(codes[positions])].tolist())
        sets = list(self._codesets)
        for number in {self._codes[i] for i in indices}:
            for name, code in sets[number]:
                scope.setdefault(name, set()).add(code)
        return scope

    # ------------------------------------------------------------ the rest of a block

    def subject(self, usubjid: str) -> int:
        return self.subjects.setdefault(usubjid, len(self.subjects))

    def rule(self, rule: dict[str, Any]) -> int:
        key = (rule["variable"], rule["rule"], rule["spec"])
        if key not in self._rules:
            self._rules[key] = len(self.rules)
            self.rules.append([rule["variable"], rule["rule"], rule["spec"], rule["from"]])
        return self._rules[key]

    def block(self, cells: dict[str, Any]) -> dict[str, Any]:
        return {"subjects": list(self.subjects), "adam": self.adam, "sdtm": self.sdtm, "rules": self.rules,
                "cells": cells}


def _param_codes(ctx: TraceContext, dataset: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Per row of ``dataset``: its PARAMCD as ``paths.record_scope`` reads it (text, stripped), as a
    code into the distinct texts; None when the dataset has no PARAMCD (made once, not per cell)."""
    key = ("param_codes", dataset)
    if key not in ctx._cache:
        data = ctx.adam_rows(dataset)
        ctx._cache[key] = (pd.factorize(data["PARAMCD"].astype(str).str.strip().to_numpy(dtype=object))
                           if "PARAMCD" in data else None)
    return ctx._cache[key]


def _parents(ctx: TraceContext, dataset: str, position: int) -> list[tuple[str, list[int]]]:
    """The ADaM records one record was made from: per source dataset, the rows of its subject."""
    sources = adam_sources(ctx, dataset)
    names = sources.parents[sources.parent_starts[position]:sources.parent_starts[position + 1]]
    usubjid = sources.usubjids[position]
    return [(name, ctx._subject_positions(name).get(usubjid, [])) for name in names]


def _record_order(ctx: TraceContext, kind: RecordKind, positions: np.ndarray,
                  lookup_of: Any) -> list[tuple[RecordKind, np.ndarray]]:
    """The records at ``positions`` (of one kind), each followed by the ADaM records it was made
    from and theirs (not those stored already), as runs of one kind: the order they are stored in."""
    sources = adam_sources(ctx, kind[0])
    starts = sources.parent_starts
    if not (starts[positions + 1] - starts[positions]).any():  # no record made from ADaM records
        return [(kind, positions)]
    order: list[tuple[RecordKind, np.ndarray]] = []
    for p in positions.tolist():
        order.append((kind, np.asarray([p], dtype=np.int64)))
        for name, rows in _parents(ctx, kind[0], p):
            parent = (name, kind[1], ())
            wanted = np.asarray(rows, dtype=np.int64)
            wanted = wanted[lookup_of(ctx, parent)[wanted] < 0]
            if len(wanted):
                order += _record_order(ctx, parent, wanted, lookup_of)
    return order


def _parent_indices(ctx: TraceContext, kind: RecordKind, positions: np.ndarray, lookup_of: Any) -> list[list[int]]:
    """Per record at ``positions``, the indices of the ADaM records it was made from (stored, or
    given their index, before this is asked)."""
    sources = adam_sources(ctx, kind[0])
    starts = sources.parent_starts
    if not (starts[positions + 1] - starts[positions]).any():
        return [[] for _ in range(len(positions))]
    return [[int(i) for name, rows in _parents(ctx, kind[0], p) for i in lookup_of(ctx, (name, kind[1], ()))[rows]]
            for p in positions.tolist()]
