"""Lineage stage: the ``tlfgen trace`` command — what the target names, traced, printed or as JSON.

A table cell and a variable are traced by ``lineage.trace``, a Kaplan-Meier figure by
``lineage.trace_figure``, a listing row by ``lineage.trace_listing``, a define.xml method by
``lineage.trace_define``; ``lineage.trace_render`` prints the result.
"""

from __future__ import annotations

import json
from typing import Any

from tlfgen.errors import UsageError
from tlfgen.lineage.graph import row_ids
from tlfgen.lineage.trace import TraceContext, _unknown, trace_cell, trace_value, trace_variable
from tlfgen.lineage.trace_define import trace_define
from tlfgen.lineage.trace_figure import _figures, km_figure_ids, trace_figure
from tlfgen.lineage.trace_listing import listing_rows, trace_listing_row
from tlfgen.lineage.trace_render import render
from tlfgen.spec.study import ResolvedStudy


def run_trace(study: ResolvedStudy, target: str, *, row: str | None, col: str | None, subject: str | None,
              param: str | None, as_json: bool, console: Any, define: bool = False) -> int:
    """The ``tlfgen trace`` command: 0 when traced; errors raise (exit 2 for unknown names)."""
    ctx = TraceContext(study)
    if define or target.strip().upper().startswith("MT."):  # a define.xml method (trace_define.py)
        return _print(trace_define(ctx, target, param), as_json, console)
    specs = ctx.specs("tlf").outputs
    outputs = {o.id.upper() for o in specs}
    tables = sorted(o.id for o in specs)
    listings = {o.id.upper() for o in specs if o.spec.type != "table"}
    if target.strip().upper() in {f.upper() for f in km_figure_ids(ctx)} or target.strip().upper() in _figures(ctx):
        result = trace_figure(ctx, target)
    elif target.strip().upper() in listings:
        if not row:
            ids = listing_rows(ctx, ctx.output(target)).ids
            raise UsageError(f"tracing a row of listing {target.strip().upper()} needs --row",
                             hint=f"{len(ids)} rows, e.g. " + ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""))
        result = trace_listing_row(ctx, target, row)
    elif target.strip().upper() in outputs:
        if not row or not col:
            table = ctx.table(ctx.output(target))
            raise UsageError(f"tracing a cell of {table.id} needs --row and --col",
                             hint="rows: " + ", ".join(rid for _, rid in row_ids(table))
                             + "; columns: " + ", ".join(c.key for c in table.columns))
        result = trace_cell(ctx, target, row, col)
    elif "." in target:
        result = trace_value(ctx, target, subject, param) if subject else trace_variable(ctx, target, param)
    else:
        raise _unknown("table, figure or variable", target, tables + km_figure_ids(ctx) + ["<DATASET>.<VARIABLE>"])
    return _print(result, as_json, console)


def _print(result: dict[str, Any], as_json: bool, console: Any) -> int:
    if as_json:
        console.print(json.dumps(result, indent=1, sort_keys=True, default=str), markup=False, highlight=False,
                      emoji=False, soft_wrap=True)
    else:
        render(result, console)
    return 0
