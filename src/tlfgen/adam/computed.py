"""ADaM stage: admiral's computing verbs: values from expressions, groupings, durations and ages.

- ``derive_vars_computed``: variables from safe spec expressions (arithmetic, ``days_between``,
  ``if_else``, ``case_when``, ``round`` ...; ``tlfgen.spec.expr``), on the records passing ``filter``;
- ``derive_vars_cat``: admiral's definition table (a condition per row, one column per new variable);
- ``derive_vars_duration``, ``derive_var_age_years``, ``derive_var_trtdurd``: lubridate "duration"
  arithmetic as admiral does it (a year is 365.25 days, a month 365.25 / 12).

All are pure: a new DataFrame, inputs untouched.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd

from tlfgen.adam.common import check_vars, expr_columns, filter_mask
from tlfgen.errors import DerivationError
from tlfgen.registry import derivation
from tlfgen.spec.expr import parse_expression

#: length of one unit in days (lubridate durations, as admiral's ``compute_duration``)
UNIT_DAYS = {"years": 365.25, "months": 365.25 / 12, "weeks": 7.0, "days": 1.0, "hours": 1 / 24,
             "minutes": 1 / 1440, "seconds": 1 / 86400}
#: admiral's ``compute_age_years``: units per year
UNITS_PER_YEAR = {"years": 1.0, "months": 12.0, "weeks": 365.25 / 7, "days": 365.25, "hours": 365.25 * 24,
                  "minutes": 365.25 * 1440, "seconds": 365.25 * 86400}


def _computed_requires(args: Mapping[str, Any]) -> list[str]:
    """The columns the expressions read, except those computed earlier in the same step."""
    cols: list[str] = []
    made: set[str] = set()
    for name, text in (args.get("new_vars") or {}).items():
        cols += [c for c in expr_columns(str(text)) if c not in made]
        made.add(name)
    return sorted(set(cols + expr_columns(args.get("filter"))))


@derivation(requires=_computed_requires, produces=lambda a: list(a["new_vars"]))
def derive_vars_computed(dataset: pd.DataFrame, *, new_vars: dict[str, str], filter: str | None = None
                         ) -> pd.DataFrame:
    """Add variables computed from expressions (``new_vars``: NAME: expression), in order.

    An expression may read variables computed before it in the same step (BMI from a
    height computed first). ``filter``: only the records passing it get values (others
    missing), e.g. ``TRTDURD`` for treated subjects only. Dates subtract to whole days
    with ``days_between(start, end)``; ``if_else`` / ``case_when`` choose values.
    """
    out = dataset.copy(deep=False)  # only whole columns are set below
    mask = filter_mask(dataset, filter)
    for name, text in new_vars.items():
        values = parse_expression(str(text)).evaluate(out)
        if pd.api.types.is_timedelta64_dtype(values):
            raise DerivationError(f"{name} = {text} gives a time difference, not a number", variable=name,
                                  hint="use days_between(start, end) for whole days")
        if values.dtype == bool:
            values = values.astype(object)
        if mask is not None:
            values = values.where(pd.Series(mask, index=values.index), None if values.dtype == object else np.nan)
        out[name] = values.to_numpy()
    return out


def _cat_requires(args: Mapping[str, Any]) -> list[str]:
    return sorted({c for row in args["definition"] for c in expr_columns(str(row["condition"]))}
                  | set(args.get("by_vars") or []))


def _cat_produces(args: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys(k for row in args["definition"] for k in row if k not in ("condition",
                                                                                        *(args.get("by_vars") or []))))


@derivation(requires=_cat_requires, produces=_cat_produces)
def derive_vars_cat(dataset: pd.DataFrame, *, definition: list[dict[str, Any]],
                    by_vars: list[str] | None = None) -> pd.DataFrame:
    """Add categorisation variables from a definition table: each row a ``condition`` and the values.

    admiral's ``derive_vars_cat``: ``definition: [{condition: "AGE < 65", AGEGR1: "<65", AGEGR1N: 1},
    ...]``; the first row whose condition holds gives the values; records no row matches get
    missing. With ``by_vars`` (e.g. [VSTESTCD]) each row also names the by values it applies to.
    """
    by = list(by_vars or [])
    names = _cat_produces({"definition": definition, "by_vars": by})
    if not definition or any("condition" not in row for row in definition):
        raise DerivationError("every row of definition needs a condition", hint="e.g. {condition: \"AGE < 65\", "
                                                                                "AGEGR1: \"<65\"}")
    check_vars(dataset, by)
    values = {n: pd.Series([None] * len(dataset), index=dataset.index, dtype=object) for n in names}
    done = pd.Series(False, index=dataset.index)
    for row in definition:
        hit = parse_expression(str(row["condition"])).mask(dataset) & ~done
        for b in by:
            hit &= dataset[b].astype(str) == str(row.get(b))
        for n in names:
            values[n][hit] = row.get(n)
        done |= hit
    out = dataset.copy(deep=False)  # only whole columns are set below
    for n, series in values.items():
        known = series.dropna()
        numeric = len(known) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in known)
        out[n] = pd.to_numeric(series).astype(float) if numeric else series
    return out


def compute_duration(start: pd.Series, end: pd.Series, *, in_unit: str = "days", out_unit: str = "days",
                     floor_in: bool = True, add_one: bool = True, trunc_out: bool = False) -> pd.Series:
    """Duration from ``start`` to ``end`` in ``out_unit`` (admiral's ``compute_duration``, type duration).

    ``floor_in``: the dates are floored to ``in_unit`` first (days: the time is dropped);
    ``add_one``: one ``in_unit`` is added when the duration is not negative (a day event
    lasts 1 day); ``trunc_out``: the result is truncated to a whole number (ages).
    """
    for unit in (in_unit, out_unit):
        if unit not in UNIT_DAYS:
            raise DerivationError(f"unit '{unit}' is not one of {', '.join(UNIT_DAYS)}")
    first, last = pd.to_datetime(start), pd.to_datetime(end)
    if floor_in:
        freq = {"days": "D", "hours": "h", "minutes": "min", "seconds": "s"}.get(in_unit)
        if freq:
            first, last = first.dt.floor(freq), last.dt.floor(freq)
    days = (last - first) / pd.Timedelta(days=1)
    if add_one:
        days = days.where(days < 0, days + UNIT_DAYS[in_unit])
    value = days / UNIT_DAYS[out_unit]
    if trunc_out:
        value = np.trunc(value)
    return value.astype(float)


@derivation(requires=("{start_date}", "{end_date}"), produces=("{new_var}", "{new_var_unit}"))
def derive_vars_duration(dataset: pd.DataFrame, *, new_var: str, start_date: str, end_date: str,
                         new_var_unit: str | None = None,
                         in_unit: Literal["days", "hours", "minutes", "seconds"] = "days",
                         out_unit: Literal["years", "months", "weeks", "days", "hours", "minutes",
                                           "seconds"] = "days",
                         floor_in: bool = True, add_one: bool = True, trunc_out: bool = False,
                         filter: str | None = None) -> pd.DataFrame:
    """Add a duration (and its unit, upper case) between two dates: admiral's ``derive_vars_duration``.

    ``end_date - start_date`` in ``out_unit`` (see ``compute_duration``); missing when a
    date is missing, or the record does not pass ``filter``.
    """
    check_vars(dataset, [start_date, end_date])
    value = compute_duration(dataset[start_date], dataset[end_date], in_unit=in_unit, out_unit=out_unit,
                             floor_in=floor_in, add_one=add_one, trunc_out=trunc_out)
    mask = filter_mask(dataset, filter)
    if mask is not None:
        value = value.where(pd.Series(mask, index=value.index))
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = value.to_numpy()
    if new_var_unit:
        out[new_var_unit] = np.where(value.notna().to_numpy(), out_unit.upper(), None).astype(object)
    return out


@derivation(requires=lambda a: [a["age_var"], *([a["age_unit_var"]] if a.get("age_unit_var") else [])],
            produces=("{new_var}",))
def derive_var_age_years(dataset: pd.DataFrame, *, age_var: str, new_var: str,
                         age_unit: Literal["years", "months", "weeks", "days", "hours", "minutes",
                                           "seconds"] | None = None,
                         age_unit_var: str | None = None) -> pd.DataFrame:
    """Add an age in years from an age in another unit: admiral's ``derive_var_age_years``.

    The unit is ``age_unit`` for every record, or per record the variable ``age_unit_var``
    (e.g. AGEU: YEARS, MONTHS ..., any case); a year is 365.25 days. No rounding.
    """
    if (age_unit is None) == (age_unit_var is None):
        raise DerivationError("give exactly one of age_unit and age_unit_var", variable=new_var)
    check_vars(dataset, [age_var, *([age_unit_var] if age_unit_var else [])])
    if age_unit_var:
        units = dataset[age_unit_var].astype("string").str.strip().str.lower()
        bad = sorted(set(units.dropna()) - set(UNITS_PER_YEAR))
        if bad:
            raise DerivationError(f"{age_unit_var} holds '{bad[0]}', not a time unit", variable=age_unit_var,
                                  hint="units: " + ", ".join(u.upper() for u in UNITS_PER_YEAR))
        per_year = units.map(UNITS_PER_YEAR).astype(float)
    else:
        per_year = pd.Series(UNITS_PER_YEAR[str(age_unit)], index=dataset.index)
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = (pd.to_numeric(dataset[age_var], errors="coerce") / per_year).astype(float).to_numpy()
    return out


@derivation(requires=("{start_date}", "{end_date}"), produces=("{new_var}",))
def derive_var_trtdurd(dataset: pd.DataFrame, *, start_date: str = "TRTSDT", end_date: str = "TRTEDT",
                       new_var: str = "TRTDURD") -> pd.DataFrame:
    """Add the total treatment duration in days, ``end_date - start_date + 1``: admiral's ``derive_var_trtdurd``."""
    return derive_vars_duration(dataset, new_var=new_var, start_date=start_date, end_date=end_date)
