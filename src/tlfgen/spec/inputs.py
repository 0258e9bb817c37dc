"""Spec layer (ADaM stage): which columns of each SDTM input the ADaM specs read.

Computed from the resolved specs before any data runs, so the ADaM stage reads only those
columns of each ``sdtm/<domain>.xpt`` (an LB of forty columns contributes the two a
last-known-alive date needs). For each input dataset the columns are the union over every step
that can see the inputs (its derivation takes ``sources``) and names that input in its arguments
or requirements (every input, when it names none) of:

* the step's declared requirements on that input (``sdtm.LB.LBDTC``);
* every name the step's arguments mention (values, keys, expression columns, ``desc(X)``, with
  ``X_JOIN`` also as ``X``): a superset of the columns a library derivation reads by name;
* what lineage needs of every input: USUBJID, STUDYID, DOMAIN and every ``--SEQ`` column.

Only the derivations in ``COLUMN_EXACT`` are trusted with that: their code was read and every
source column they touch is one of those (they read inputs by the names in their arguments and
requirements). Any other step that sees the inputs (the RECIST derivations, which read TU/TR by
fixed CDISC names; a study's plugin) reads whole inputs: every column of every input of its
dataset. When in doubt the answer is "everything".

Rows (``compute_input_rows``, row pushdown): where every step that reads an input is one of
``ROW_EXACT`` and selects that input's records by a condition the expression language shows to be
a plain test of each record's own values (``is_simple_condition``: comparisons of columns with
literals, ``in`` lists, ``and``/``or``/``not``, and the text tests ``upper``, ``lower``, ``strip``,
``length``, ``contains``, ``startswith``, ``is_missing``, ``not_missing``), the reader keeps only the
records passing at least one of those conditions (``RowFilter``); each step still applies its own
condition to them, so it sees the same records in the same order. Any other use (a step outside
``ROW_EXACT``, a use without a condition, a condition that is not simple) reads every record.
Set ``TLFGEN_ROW_PUSHDOWN=0`` to read every record always.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.errors import ExpressionError
from tlfgen.spec.adam import ResolvedAdamSpec, ResolvedStep
from tlfgen.spec.expr import parse_expression

#: columns read from every input for lineage (``adam/common.py`` record_sources, supplied lineage)
LINEAGE_COLUMNS = frozenset({"USUBJID", "STUDYID", "DOMAIN"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JOIN_SUFFIX = "_JOIN"  # adam/joined.py: the additional dataset's copy of a shared variable
#: derivations that read an input's columns only by the names of their arguments and requirements
#: (plus the lineage columns); reviewed in adam/common.py, adsl.py, dates.py, datetimes.py, joined.py, tte.py
COLUMN_EXACT = frozenset({
    "create_dataset", "derive_vars_merged", "derive_var_merged_exist_flag", "derive_vars_transposed",
    "derive_vars_suppqual", "derive_vars_disposition", "derive_var_extreme_dt", "derive_var_extreme_dtm",
    "derive_vars_joined", "derive_param_tte",
})


#: derivations whose use of an input is a selection of its records by a condition applied before
#: anything else looks at the records (code read: adam/common.py, adsl.py, dates.py, datetimes.py,
#: joined.py); the condition of each use is ``_source_conditions``
ROW_EXACT = frozenset({
    "create_dataset", "derive_vars_merged", "derive_var_merged_exist_flag", "derive_vars_transposed",
    "derive_vars_suppqual", "derive_vars_disposition", "derive_var_extreme_dt", "derive_var_extreme_dtm",
    "derive_vars_joined",
})
_SIMPLE_FUNCTIONS = frozenset({"upper", "lower", "strip", "length", "contains", "startswith", "is_missing",
                               "not_missing"})
_SIMPLE_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
                 ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, ast.Call, ast.Eq, ast.NotEq, ast.Lt,
                 ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot)


def is_simple_condition(text: str) -> bool:
    """Whether ``text`` is a valid expression (spec/expr.py) made only of per-record tests of columns
    against literals (the module docstring): a filter the reader may apply."""
    try:
        expr = parse_expression(text)
    except ExpressionError:
        return False
    for node in ast.walk(expr.tree):
        if not isinstance(node, _SIMPLE_NODES):
            return False
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.func.id not in _SIMPLE_FUNCTIONS):
            return False
    return True


@dataclass(frozen=True)
class RowFilter:
    """The records of one input the ADaM steps read: those passing any of ``conditions``."""

    conditions: tuple[str, ...]

    @property
    def columns(self) -> frozenset[str]:
        """The columns the conditions read."""
        return frozenset().union(*(parse_expression(c).columns for c in self.conditions))

    def compute_positions(self, data: pd.DataFrame) -> np.ndarray:
        """Ascending positions of the records of ``data`` passing at least one condition."""
        keep = np.zeros(len(data), dtype=bool)
        for condition in self.conditions:
            keep |= parse_expression(condition).mask(data).to_numpy(dtype=bool)
        return np.flatnonzero(keep)


@dataclass(frozen=True)
class ColumnNeeds:
    """The columns of one input the ADaM stage reads (``column in needs``).

    ``required``: the columns steps declare (their absence is the step's error, reported with the
    file's own columns, so a reader that misses one should read everything); ``mentioned``: every
    other name the steps may read; ``everything``: read every column.
    """

    required: frozenset[str] = frozenset()
    mentioned: frozenset[str] = frozenset()
    everything: bool = False
    rows: RowFilter | None = None  # None: every record (``compute_input_rows``)

    def __contains__(self, column: object) -> bool:
        return (self.everything or column in self.required or column in self.mentioned
                or column in LINEAGE_COLUMNS or (isinstance(column, str) and column.endswith("SEQ")))

    def lacks_required(self, columns: Iterable[str]) -> bool:
        """Whether a declared column is not among ``columns`` (the columns a file has)."""
        return bool(self.required - set(columns))

    def merged(self, other: "ColumnNeeds") -> "ColumnNeeds":
        return ColumnNeeds(self.required | other.required, self.mentioned | other.mentioned,
                           self.everything or other.everything)


def _strings(args: Any) -> Iterable[str]:
    """Every string in a step's arguments (keys and values, nested)."""
    stack = [args]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
        elif isinstance(item, str):
            yield item


def compute_mentioned_names(args: Any) -> set[str]:
    """Every name-like word in a step's arguments (keys and values, nested), ``X_JOIN`` also as ``X``."""
    names: set[str] = set()
    for text in _strings(args):
        for word in _NAME.findall(text):
            names.add(word)
            if word.endswith(_JOIN_SUFFIX):
                names.add(word[: -len(_JOIN_SUFFIX)])
    return names


def _reads_inputs(step: ResolvedStep) -> bool:
    """Whether the engine hands the step the input datasets (its function takes ``sources``)."""
    func = step.derivation.func
    return "sources" in inspect.signature(func).parameters and "sources" not in step.derivation.parameters


def _column_exact(step: ResolvedStep) -> bool:
    func = step.derivation.func
    return step.derivation.name in COLUMN_EXACT and str(getattr(func, "__module__", "")).startswith("tlfgen.adam.")


def compute_input_columns(datasets: Sequence[ResolvedAdamSpec], stage: str = "sdtm", *,
                          rows: bool | None = None) -> dict[str, ColumnNeeds]:
    """Per input of ``stage`` (``sdtm.LB``) listed by any spec: the columns the specs' steps read, and
    (``rows``; default ``row_pushdown_enabled()``) the records (``ColumnNeeds.rows``, ``compute_input_rows``)."""
    needs = _compute_columns(datasets, stage)
    if not (row_pushdown_enabled() if rows is None else rows):
        return needs
    for item, found in compute_input_rows(datasets, stage).items():
        if found is not None and item in needs and not needs[item].everything:
            needs[item] = dataclasses.replace(needs[item], rows=found)
    return needs


def _compute_columns(datasets: Sequence[ResolvedAdamSpec], stage: str) -> dict[str, ColumnNeeds]:
    needs: dict[str, ColumnNeeds] = {}
    for ds in datasets:
        inputs = [item for item in ds.spec.inputs if item.startswith(f"{stage}.")]
        for item in inputs:
            needs.setdefault(item, ColumnNeeds())
        for step in ds.steps:
            if not _reads_inputs(step):
                continue
            if not _column_exact(step):
                for item in inputs:
                    needs[item] = needs[item].merged(ColumnNeeds(everything=True))
                continue
            mentioned = frozenset(compute_mentioned_names(step.spec.args))
            texts = set(_strings(step.spec.args))
            # the inputs the step names (``source: sdtm.LB``) or requires; all of them if it names none
            named = [item for item in inputs if any(item in text for text in texts)
                     or any(req.startswith(f"{item}.") for req in step.requires)] or inputs
            for item in named:
                required = frozenset(req[len(item) + 1:] for req in step.requires if req.startswith(f"{item}."))
                needs[item] = needs[item].merged(ColumnNeeds(required, mentioned))
    return needs


def _source_conditions(name: str, args: Mapping[str, Any], item: str) -> list[str | None] | None:
    """The conditions by which one step of derivation ``name`` (one of ``ROW_EXACT``) selects records
    of ``item`` (None in the list: a use without a condition; empty: the step does not read ``item``);
    None when its arguments are not what the derivation takes (then every record is read)."""
    if name in ("derive_var_extreme_dt", "derive_var_extreme_dtm"):
        events = args.get("events") or []
        if not isinstance(events, list) or not all(isinstance(ev, Mapping) for ev in events):
            return None
        first, second = ("condition", "filter") if name == "derive_var_extreme_dt" else ("filter", "condition")
        return [ev.get(first) or ev.get(second) for ev in events if ev.get("source") == item]
    if args.get("source") != item:
        return []
    if name == "derive_vars_joined":
        return [args.get("filter_add")]
    if name == "derive_vars_transposed":
        keys = args.get("key_values")
        if not isinstance(keys, Mapping) or not keys:
            return None
        either = " or ".join(f"{args['key_var']} == {key!r}" for key in keys)
        return [f"({either})" + (f" and ({args['filter']})" if args.get("filter") else "")]
    if name == "derive_vars_suppqual":
        qnams = args.get("qnams")
        names = list(qnams.values()) if isinstance(qnams, Mapping) else list(qnams or [])
        return [" or ".join(f"QNAM == {q!r}" for q in names)] if names else None
    return [args.get("filter")]


def compute_input_rows(datasets: Sequence[ResolvedAdamSpec], stage: str = "sdtm") -> dict[str, RowFilter | None]:
    """Per input of ``stage`` listed by any spec: the records the steps read (None: every record).

    A ``ROW_EXACT`` step reads an input only through its ``source`` / ``events`` arguments; any
    other step that sees the inputs may read every record of each (``compute_input_columns``'s
    rule for the inputs it names, all of them when it names none)."""
    uses: dict[str, list[str | None] | None] = {}
    for ds in datasets:
        inputs = [item for item in ds.spec.inputs if item.startswith(f"{stage}.")]
        for item in inputs:
            uses.setdefault(item, [])
        for step in ds.steps:
            if not _reads_inputs(step):
                continue
            exact = step.derivation.name in ROW_EXACT and _column_exact(step)
            texts = set(_strings(step.spec.args))
            named = [item for item in inputs if any(item in text for text in texts)
                     or any(req.startswith(f"{item}.") for req in step.requires)] or inputs
            for item in inputs:
                found = _source_conditions(step.derivation.name, step.spec.args, item) if exact else (
                    [None] if item in named else [])
                current = uses[item]
                uses[item] = None if found is None or current is None else current + found
    rows: dict[str, RowFilter | None] = {}
    for item, found in uses.items():
        simple = bool(found) and all(c is not None and is_simple_condition(c) for c in found)  # type: ignore[union-attr]
        rows[item] = RowFilter(tuple(dict.fromkeys(found))) if simple else None  # type: ignore[arg-type]
    return rows


def row_pushdown_enabled() -> bool:
    """Row pushdown is on unless the environment sets ``TLFGEN_ROW_PUSHDOWN=0``."""
    return os.environ.get("TLFGEN_ROW_PUSHDOWN", "1").strip() != "0"
