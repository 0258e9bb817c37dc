"""SDTM stage: the mapping algorithms a data manager expects, as registered derivations.

They follow the set of algorithms of the pharmaverse package sdtm.oak (docs/sdtm_algorithms.md
gives the equivalence): assign a raw value with or without controlled terminology, hard-code a
value (with or without CT) where a raw field is filled or a condition holds, conditional
assignment (``compute_if_else``, ``compute_case_when``), strings joined or formatted from raw
columns, a date-time from date and time fields, --MODIFY when it differs from --TRT.

Each takes the domain's working frame (raw fields of its sources and the variables mapped so
far) as ``dataset`` and the mapping context as ``ctx``, and returns the variable's values;
conditions and values are expressions of ``tlfgen.spec.expr`` (never ``eval``). Raw values are
cleaned (stray spaces) and every problem is a finding naming file, row and column, as for
``source`` rules (the same code: ``tlfgen.sdtm.values.evaluate_value``).
"""

from __future__ import annotations

import string
from typing import Any, Literal

import numpy as np
import pandas as pd

from tlfgen.errors import DerivationError
from tlfgen.registry import derivation
from tlfgen.sdtm.context import FORM, MappingContext
from tlfgen.sdtm.values import compute_clean_text, evaluate_value
from tlfgen.spec.ct import normalise_term
from tlfgen.spec.expr import parse_expression
from tlfgen.spec.sdtm import DateFormatSpec, OverrideSpec

CTX = ("dataset", "ctx")


def _columns(*texts: str | None) -> list[str]:
    """The columns the expressions read."""
    return sorted({c for t in texts if t for c in parse_expression(t).columns})


def _holds(dataset: pd.DataFrame, condition: str | None) -> pd.Series:
    """Where ``condition`` holds (everywhere without one); missing counts as False."""
    if condition is None:
        return pd.Series(True, index=dataset.index)
    return parse_expression(condition).mask(dataset)


def _text(values: Any, index: pd.Index) -> pd.Series:
    """Expression results as SDTM text: missing -> '', numbers without a trailing .0."""
    series = values if isinstance(values, pd.Series) else pd.Series([values] * len(index), index=index, dtype=object)

    def one(v: Any) -> str:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return ""
        if isinstance(v, (float, np.floating)):
            return format(float(v), ".12g")
        return str(v)

    return pd.Series([one(v) for v in series.tolist()], index=index, dtype=object)


def _by_rule(dataset: pd.DataFrame, ctx: MappingContext, raw_var: str, **rule: Any) -> pd.Series:
    """A ``source`` rule on ``raw_var`` evaluated for the rows of each base form (so findings name
    the form's file, row and column)."""
    out = pd.Series("", index=dataset.index, dtype=object)
    forms = dataset[FORM] if FORM in dataset else pd.Series("", index=dataset.index)
    for form in sorted(forms.unique()):
        rows = dataset.loc[forms == form]
        spec = OverrideSpec(source=f"{form}.{raw_var}", **rule) if form else None
        if spec is None or raw_var not in rows:
            out[rows.index] = compute_clean_text(rows[raw_var]) if raw_var in rows else ""
            continue
        out[rows.index] = evaluate_value(rows, spec, ctx, domain=ctx.domain, var=raw_var)
    return out


@derivation(requires=lambda a: [a["raw_var"], *_columns(a.get("condition"))], context=CTX)
def assign_no_ct(dataset: pd.DataFrame, *, ctx: MappingContext, raw_var: str,
                 condition: str | None = None) -> pd.Series:
    """The raw value, cleaned of stray spaces (sdtm.oak assign_no_ct); blank where ``condition`` fails."""
    values = _by_rule(dataset, ctx, raw_var)
    return values.where(_holds(dataset, condition), "")


@derivation(requires=lambda a: [a["raw_var"], *_columns(a.get("condition"))], context=CTX)
def assign_ct(dataset: pd.DataFrame, *, ctx: MappingContext, raw_var: str, codelist: str,
              condition: str | None = None) -> pd.Series:
    """The raw value through a codelist (sdtm.oak assign_ct): unmapped is an ERROR finding, left blank."""
    _codelist(ctx, codelist)
    holds = _holds(dataset, condition)
    values = pd.Series("", index=dataset.index, dtype=object)
    if holds.any():
        values[holds] = _by_rule(dataset.loc[holds], ctx, raw_var, codelist=codelist)
    return values


def _codelist(ctx: MappingContext, name: str):
    if name not in ctx.specs.codelists:
        raise DerivationError(f"unknown codelist '{name}'", hint="codelists live in specs/ct/")
    return ctx.specs.codelists[name]


def _filled(dataset: pd.DataFrame, raw_var: str | None) -> pd.Series:
    if raw_var is None:
        return pd.Series(True, index=dataset.index)
    return compute_clean_text(dataset[raw_var]) != ""


@derivation(requires=lambda a: [*([a["raw_var"]] if a.get("raw_var") else []), *_columns(a.get("condition"))],
            context=CTX)
def assign_hardcode_no_ct(dataset: pd.DataFrame, *, ctx: MappingContext, value: str, raw_var: str | None = None,
                   condition: str | None = None) -> pd.Series:
    """A fixed ``value`` where ``raw_var`` is filled and ``condition`` holds (sdtm.oak hardcode_no_ct)."""
    keep = _filled(dataset, raw_var) & _holds(dataset, condition)
    return pd.Series(np.where(keep, str(value), ""), index=dataset.index, dtype=object)


@derivation(requires=lambda a: [*([a["raw_var"]] if a.get("raw_var") else []), *_columns(a.get("condition"))],
            context=CTX)
def assign_hardcode_ct(dataset: pd.DataFrame, *, ctx: MappingContext, value: str, codelist: str,
                raw_var: str | None = None, condition: str | None = None) -> pd.Series:
    """A fixed ``value`` mapped through a codelist where ``raw_var`` is filled (sdtm.oak hardcode_ct).

    A value the codelist does not hold is an error (``assign_hardcode_no_ct`` takes any value).
    """
    mapped = _codelist(ctx, codelist).lookup.get(normalise_term(str(value)))
    if mapped is None:
        raise DerivationError(f"'{value}' is not in codelist {codelist}",
                              hint=f"use a term of specs/ct (codelist {codelist}) or assign_hardcode_no_ct")
    return assign_hardcode_no_ct(dataset, ctx=ctx, value=mapped, raw_var=raw_var, condition=condition)


@derivation(requires=lambda a: [a["date"], *([a["time"]] if a.get("time") else [])], context=CTX)
def assign_datetime(dataset: pd.DataFrame, *, ctx: MappingContext, date: str, time: str | None = None,
                    order: Literal["auto", "DMY", "MDY", "YMD"] | None = None,
                    yearcutoff: int | None = None) -> pd.Series:
    """ISO 8601 date-time from a raw date field and an optional time field (sdtm.oak assign_datetime).

    ``order``/``yearcutoff`` default to the form's ``dates`` in forms.yaml; invalid dates and
    times are findings; a time is kept only with a complete date.
    """
    style = None if order is None and yearcutoff is None else DateFormatSpec(order=order or "auto",
                                                                               yearcutoff=yearcutoff)
    out = pd.Series("", index=dataset.index, dtype=object)
    forms = dataset[FORM] if FORM in dataset else pd.Series("", index=dataset.index)
    for form in sorted(forms.unique()):
        rows = dataset.loc[forms == form]
        rule = OverrideSpec(source=f"{form}.{date}", time=f"{form}.{time}" if time else None, date=style,
                            format="edc_date")
        out[rows.index] = evaluate_value(rows, rule, ctx, domain=ctx.domain, var=date)
    return out


@derivation(requires=lambda a: _columns(a["condition"], a["true_value"], a.get("false_value")), context=CTX)
def compute_if_else(dataset: pd.DataFrame, *, ctx: MappingContext, condition: str, true_value: str,
                    false_value: str | None = None) -> pd.Series:
    """``true_value`` where ``condition`` holds, else ``false_value`` (expressions: a column, a 'text' ...)."""
    holds = _holds(dataset, condition)
    then = _text(parse_expression(true_value).evaluate(dataset), dataset.index)
    other = (_text(parse_expression(false_value).evaluate(dataset), dataset.index) if false_value is not None
             else pd.Series("", index=dataset.index, dtype=object))
    return then.where(holds, other)


def _case_columns(args: dict) -> list[str]:
    cases = args.get("cases") or []
    return _columns(*[c.get("when") for c in cases], *[c.get("then") for c in cases], args.get("default"))


@derivation(requires=_case_columns, context=CTX)
def compute_case_when(dataset: pd.DataFrame, *, ctx: MappingContext, cases: list[dict[str, str]],
                      default: str | None = None) -> pd.Series:
    """The ``then`` of the first case whose ``when`` holds, else ``default`` (all expressions)."""
    out = (_text(parse_expression(default).evaluate(dataset), dataset.index) if default is not None
           else pd.Series("", index=dataset.index, dtype=object))
    done = pd.Series(False, index=dataset.index)
    for case in cases:
        unknown = set(case) - {"when", "then"}
        if unknown or "when" not in case or "then" not in case:
            raise DerivationError("each case is {when: <condition>, then: <value>}",
                                  hint=f"got keys {sorted(case)}")
        hit = _holds(dataset, case["when"]) & ~done
        out[hit] = _text(parse_expression(case["then"]).evaluate(dataset), dataset.index)[hit]
        done |= hit
    return out


def _template_fields(template: str) -> list[str]:
    fields = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or conversion:
            raise DerivationError(f"template field '{{{name}}}' must be a plain column name",
                                  hint="write fields as {COLUMN} or {COLUMN:>3}")
        fields.append(name)
    return fields


@derivation(requires=lambda a: _template_fields(a["template"]), context=CTX)
def compute_format_string(dataset: pd.DataFrame, *, ctx: MappingContext, template: str) -> pd.Series:
    """Text built from a template of columns, e.g. ``/F:{FORML}-D:{PAGE}-R:{ROW}`` (a sponsor id)."""
    fields = _template_fields(template)
    parts = {f: compute_clean_text(dataset[f]).tolist() for f in dict.fromkeys(fields)}
    texts = [template.format(**{f: parts[f][i] for f in parts}) for i in range(len(dataset))]
    return pd.Series(texts, index=dataset.index, dtype=object)


@derivation(requires=("{vars}",), context=CTX)
def compute_join(dataset: pd.DataFrame, *, ctx: MappingContext, vars: list[str], sep: str = " ") -> pd.Series:
    """The non-blank values of ``vars`` joined by ``sep`` (blank when all are blank)."""
    columns = [compute_clean_text(dataset[v]).tolist() for v in vars]
    texts = [sep.join(v for v in row if v) for row in zip(*columns)] if columns else []
    return pd.Series(texts, index=dataset.index, dtype=object)


@derivation(requires=("{var}", "{other}"), context=CTX)
def compute_if_different(dataset: pd.DataFrame, *, ctx: MappingContext, var: str, other: str) -> pd.Series:
    """``var`` where it differs from ``other`` (ignoring case and spaces), else blank: --MODIFY vs --TRT."""
    value = compute_clean_text(dataset[var])
    same = value.str.upper() == compute_clean_text(dataset[other]).str.upper()
    return value.where(~same, "")
