"""ADaM stage: date derivations (admiral style): ISO 8601 text to dates with imputation, extreme dates.

``compute_dt`` imputes partial ``--DTC`` dates (``derive_vars_dt`` adds the date and its
imputation flag); ``derive_var_extreme_dt`` takes the first or last date per subject over
several source events (e.g. LSTALVDT).
"""

from __future__ import annotations

import calendar
import re
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.adam.common import check_vars, expr_columns, filter_mask, get_source
from tlfgen.adam.engine import compute_cached
from tlfgen.errors import DerivationError
from tlfgen.registry import derivation

_DTC = re.compile(r"^(\d{4}|-)?(?:-(\d{2}|-)?(?:-(\d{2}|-)?)?)?(?:T.*)?$")


def parse_dtc(value: Any) -> tuple[int | None, int | None, int | None]:
    """ISO 8601 (possibly partial) text -> (year, month, day); missing parts are None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return None, None, None
    m = _DTC.match(str(value).strip())
    if not m or not str(value).strip():
        return None, None, None
    parts = [int(g) if g and g != "-" else None for g in m.groups()]
    year, month, day = parts
    if month is None:
        day = None
    return year, month, day


_LEVELS = ("n", "D", "M", "Y")


def _dtc_range(value: Any, highest_imputation: str) -> tuple[str | None, pd.Timestamp, pd.Timestamp] | None:
    """(imputation flag, first, last possible date) of an ISO date; None when it cannot be imputed.

    A missing year (``highest_imputation`` Y) gives the flag "Y" and the widest range.
    """
    year, month, day = parse_dtc(value)
    level = _LEVELS.index(highest_imputation)
    if year is None:
        return ("Y", pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")) if level >= 3 else None
    if (month is None and level < 2) or (day is None and level < 1):
        return None
    if month is None:
        return "M", pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    if day is None:
        last = calendar.monthrange(year, month)[1]
        return "D", pd.Timestamp(year, month, 1), pd.Timestamp(year, month, last)
    try:
        date = pd.Timestamp(year, month, day)
    except ValueError:
        return None
    return None, date, date


def _imputed(flag: str | None, lo: pd.Timestamp, hi: pd.Timestamp, date_imputation: str) -> pd.Timestamp:
    """The date ``date_imputation`` picks in [lo, hi]: first, last, mid (June 30 / the 15th) or "MM-DD"."""
    if date_imputation == "first" or flag is None:
        return lo
    if date_imputation == "last":
        return hi
    month, day = (6, 30) if date_imputation == "mid" else map(int, date_imputation.split("-"))
    if date_imputation == "mid" and flag == "D":
        day = 15
    if flag == "D":
        month = lo.month
    last = calendar.monthrange(lo.year, month)[1]
    return pd.Timestamp(lo.year, month, min(day, last))


def check_date_imputation(highest_imputation: str, date_imputation: str) -> None:
    """DerivationError for an unknown imputation level or rule."""
    if highest_imputation not in _LEVELS:
        raise DerivationError(f"highest_imputation must be n, D, M or Y, not '{highest_imputation}'")
    if date_imputation not in ("first", "mid", "last") and not re.fullmatch(r"\d{2}-\d{2}", date_imputation):
        raise DerivationError(f"date_imputation must be first, mid, last or MM-DD, not '{date_imputation}'")


def compute_dt(dtc: pd.Series, *, highest_imputation: str = "n", date_imputation: str = "first",
               min_dates: Sequence[pd.Series] = (), max_dates: Sequence[pd.Series] = ()
               ) -> tuple[pd.Series, pd.Series]:
    """Impute (partial) ISO dates; returns (dates as datetime64, imputation flag D/M/Y/None).

    admiral's ``impute_dtc_dt``: ``highest_imputation`` "n" none, "D" day, "M" month and
    day, "Y" also a missing year (then only from ``min_dates`` / ``max_dates``);
    ``date_imputation`` "first" (01, January), "mid" (the 15th; June 30 when the month is
    missing too), "last" (end of month, December) or "MM-DD". ``min_dates``: the imputed
    date is not before any of these when it lies in the range the partial date allows
    (e.g. an AE start in the month of the first dose is not before the first dose);
    ``max_dates`` likewise, not after.
    """
    check_date_imputation(highest_imputation, date_imputation)
    mins = [pd.to_datetime(s).tolist() for s in min_dates]
    maxs = [pd.to_datetime(s).tolist() for s in max_dates]
    ranges: dict[Any, tuple[str | None, pd.Timestamp, pd.Timestamp] | None] = {}  # per distinct text
    dates: list[Any] = []
    flags: list[Any] = []
    for i, value in enumerate(dtc.tolist()):
        try:
            found = ranges[value] if value in ranges else ranges.setdefault(
                value, _dtc_range(value, highest_imputation))
        except TypeError:  # an unhashable value
            found = _dtc_range(value, highest_imputation)
        if found is None:
            dates.append(pd.NaT)
            flags.append(None)
            continue
        flag, lo, hi = found
        if flag == "Y":  # no year: only a bound can give the date (first: min_dates, last: max_dates)
            side = {"first": mins, "last": maxs}.get(date_imputation, [])
            bounds = [b[i] for b in side if pd.notna(b[i])]
            if not bounds:
                dates.append(pd.NaT)
                flags.append(None)
                continue
            date = (max(bounds) if date_imputation == "first" else min(bounds)).normalize()
            dates.append(date)
            flags.append(flag)
            continue
        date = _imputed(flag, lo, hi, date_imputation)
        if flag is not None:
            for bound in mins:
                b = bound[i]
                if pd.notna(b) and lo <= b <= hi and date < b:
                    date = b.normalize()
            for bound in maxs:
                b = bound[i]
                if pd.notna(b) and lo <= b <= hi and date > b:
                    date = b.normalize()
        dates.append(date)
        flags.append(flag)
    return (pd.Series(pd.to_datetime(pd.Series(dates, dtype="datetime64[ns]")).to_numpy(), index=dtc.index),
            pd.Series(flags, index=dtc.index, dtype=object))


@derivation(requires=lambda a: [a["dtc"], *(a.get("min_dates") or []), *(a.get("max_dates") or [])],
            produces=("{new_var}", "{flag_var}"))
def derive_vars_dt(dataset: pd.DataFrame, *, dtc: str, new_var: str, flag_var: str | None = None,
                   highest_imputation: Literal["n", "D", "M", "Y"] = "n", date_imputation: str = "first",
                   min_dates: Sequence[str] = (), max_dates: Sequence[str] = ()) -> pd.DataFrame:
    """Add a date (and its imputation flag --DTF) from an ISO 8601 text variable; see ``compute_dt``.

    admiral's ``derive_vars_dt`` with ``new_vars_prefix`` spelled out: ``new_var`` (ASTDT)
    and ``flag_var`` (ASTDTF: D, M or Y where imputed, else missing).
    """
    check_vars(dataset, [dtc, *min_dates, *max_dates])
    dates, flags = compute_dt(dataset[dtc], highest_imputation=highest_imputation,
                              date_imputation=date_imputation,
                              min_dates=[dataset[v] for v in min_dates],
                              max_dates=[dataset[v] for v in max_dates])
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = dates
    if flag_var:
        out[flag_var] = flags
    return out


def _complete_dates(values: pd.Series) -> pd.Series:
    """ISO 8601 text -> datetime64 of its first 10 characters; shorter (partial) or invalid text -> NaT.

    Each distinct value is parsed once (dates repeat across records).
    """
    codes, uniques = pd.factorize(values)
    text = pd.Series(uniques, dtype=values.dtype if len(uniques) else object).astype("string").str.strip()
    parsed = pd.to_datetime(text.where(text.str.len() >= 10).str[:10], format="%Y-%m-%d", errors="coerce")
    dates = np.append(np.asarray(parsed, dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(dates[codes], index=values.index, dtype="datetime64[ns]")


def _event_requires(args: Mapping[str, Any]) -> list[str]:
    out = list(args.get("by_vars") or ["USUBJID"])
    for ev in args["events"]:
        src = ev.get("source")
        cols = [ev["date"], *expr_columns(ev.get("condition") or ev.get("filter"))]
        out += [f"{src}.{c}" for c in ["USUBJID", *cols]] if src else cols
    return out + [b for b in (args.get("upper_bound"), args.get("lower_bound")) if b]


@derivation(requires=_event_requires, produces=("{new_var}",), context=("dataset", "sources"))
def derive_var_extreme_dt(dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], new_var: str,
                          events: Sequence[Mapping[str, Any]], mode: Literal["first", "last"] = "last",
                          upper_bound: str | None = None, lower_bound: str | None = None) -> pd.DataFrame:
    """The first or last date over several events, per subject.

    admiral's ``derive_var_extreme_dt``. Each event: ``{source: sdtm.DS, date: DSSTDTC, condition: "..."}``
    (``filter``, admiral's name, is the same as ``condition``); without ``source``
    the date is a variable of the dataset itself. Only complete ISO dates count. Dates
    after the subject's ``upper_bound`` (e.g. DCUTDT) are ignored, likewise before
    ``lower_bound``.
    """
    if mode not in ("first", "last"):
        raise DerivationError(f"mode must be 'first' or 'last', not '{mode}'", variable=new_var)
    bounds = dataset[["USUBJID"] + [b for b in (upper_bound, lower_bound) if b]].drop_duplicates("USUBJID")
    subjects = pd.Index(bounds["USUBJID"])
    per_event = []
    for ev in events:
        src = ev.get("source")
        data = get_source(sources, src) if src else dataset
        mask = filter_mask(data, ev.get("condition") or ev.get("filter"))
        check_vars(data, ["USUBJID", ev["date"]], dataset=src)
        dates = _cached_complete_dates(data, ev["date"])
        usubjid = data["USUBJID"].to_numpy()
        per_event.append((subjects.get_indexer(usubjid if mask is None else usubjid[mask]),
                          dates if mask is None else dates[mask]))
    codes = np.concatenate([c for c, _ in per_event])
    dates = np.concatenate([d for _, d in per_event])
    keep = (codes >= 0) & ~np.isnat(dates)
    for bound, drop in ((upper_bound, np.greater), (lower_bound, np.less)):
        if bound:
            limit = np.append(np.asarray(bounds[bound], dtype="datetime64[ns]"),
                              np.datetime64("NaT", "ns"))[codes]  # code -1 (no subject): NaT
            keep &= ~(drop(dates, limit) & ~np.isnat(limit))
    return assign_extreme_per_subject(dataset, subjects, codes[keep], dates[keep], mode, new_var)


def assign_extreme_per_subject(dataset: pd.DataFrame, subjects: pd.Index, codes: np.ndarray, dates: np.ndarray,
                               mode: str, new_var: str) -> pd.DataFrame:
    """``dataset`` with ``new_var``: per USUBJID the first or last (``mode``) of ``dates``, whose
    ``codes`` index ``subjects``; missing for a subject without any."""
    agg = compute_extreme_per_code(codes, dates, len(subjects), mode)
    found = ~np.isnat(agg)
    per_subject = pd.Series(agg[found], index=subjects[found])
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.to_datetime(out["USUBJID"].map(per_subject)).astype("datetime64[ns]")
    return out


def _cached_complete_dates(data: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of ``data`` as datetime64[ns] (complete ISO dates only), once per dataset build."""
    def compute() -> np.ndarray:
        values = data[column]
        if not pd.api.types.is_datetime64_any_dtype(values):
            values = _complete_dates(values)
        return np.asarray(values, dtype="datetime64[ns]")

    return compute_cached("complete_dates", (data,), (column,), compute)


def compute_extreme_per_code(codes: np.ndarray, dates: np.ndarray, size: int, mode: str) -> np.ndarray:
    """The latest (``mode`` last) or earliest (first) of ``dates`` per code 0..size-1; NaT where none.

    ``dates`` must not hold NaT.
    """
    ints = dates.astype("datetime64[ns]").view(np.int64)
    if mode == "last":
        best = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)  # the NaT value: below every date
        np.maximum.at(best, codes, ints)
        return best.view("datetime64[ns]")
    best = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, codes, ints)
    best[best == np.iinfo(np.int64).max] = np.iinfo(np.int64).min
    return best.view("datetime64[ns]")
