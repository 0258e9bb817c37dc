"""ADaM stage: datetimes from ISO 8601 text with imputation, and extreme datetimes (admiral).

``compute_dtm`` imputes partial ``--DTC`` datetimes (admiral's ``impute_dtc_dtm``) with the date
part ruled by ``compute_dt`` (``adam/dates.py``); ``derive_vars_dtm`` adds the datetime and its
--DTF / --TMF flags; ``derive_var_extreme_dtm`` takes the first or last datetime per subject over
several sources (admiral's ``derive_var_extreme_dtm``).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.adam.common import check_vars, expr_columns, filter_mask, get_source
from tlfgen.adam.dates import _LEVELS as DATE_LEVELS
from tlfgen.adam.dates import assign_extreme_per_subject, compute_dt
from tlfgen.errors import DerivationError
from tlfgen.registry import derivation

_TIME = re.compile(r"^[^T]*T(\d{2}|-)?(?::(\d{2}|-)?(?::(\d{2}(?:\.\d+)?|-)?)?)?$")
#: imputation levels from the lowest: seconds, minutes, hours, then the date's day, month, year
TIME_LEVELS = ("n", "s", "m", "h")


def parse_time(value: Any) -> tuple[int | None, int | None, int | None]:
    """The (hour, minute, second) of an ISO 8601 datetime text; missing parts None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return None, None, None
    m = _TIME.match(str(value).strip())
    if not m:
        return None, None, None
    parts = [None if g in (None, "-") else int(float(g)) for g in m.groups()]
    hour, minute, second = parts
    if hour is None:
        minute = second = None
    elif minute is None:
        second = None
    return hour, minute, second


def _time_value(time_imputation: str) -> tuple[int, int, int]:
    if time_imputation == "first":
        return 0, 0, 0
    if time_imputation == "last":
        return 23, 59, 59
    if not re.fullmatch(r"\d{2}:\d{2}:\d{2}", time_imputation):
        raise DerivationError(f"time_imputation must be first, last or HH:MM:SS, not '{time_imputation}'")
    h, m, s = map(int, time_imputation.split(":"))
    return h, m, s


def compute_dtm(dtc: pd.Series, *, highest_imputation: str = "h", date_imputation: str = "first",
                time_imputation: str = "first", min_dates: Sequence[pd.Series] = (),
                max_dates: Sequence[pd.Series] = (), ignore_seconds_flag: bool = False
                ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Impute (partial) ISO datetimes; returns (datetimes, date flag D/M/Y, time flag H/M/S).

    ``highest_imputation``: the highest part that may be imputed: "n" none, "s" seconds,
    "m" minutes, "h" hours, "D" day, "M" month, "Y" year (admiral's levels). A datetime
    missing a part above that level is missing. The time flag is the highest time part
    imputed (H, M, S); with ``ignore_seconds_flag`` missing seconds alone are not flagged.
    """
    levels = (*TIME_LEVELS, *DATE_LEVELS[1:])
    if highest_imputation not in levels:
        raise DerivationError(f"highest_imputation must be one of {', '.join(levels)}, not '{highest_imputation}'")
    level = levels.index(highest_imputation)
    fill = _time_value(time_imputation)
    date_level = DATE_LEVELS[max(level - 3, 0)]
    dates, date_flags = compute_dt(dtc, highest_imputation=date_level, date_imputation=date_imputation,
                                   min_dates=min_dates, max_dates=max_dates)
    out, time_flags = [], []
    for value, day, dflag in zip(dtc.tolist(), dates.tolist(), date_flags.tolist()):
        if pd.isna(day):
            out.append(pd.NaT)
            time_flags.append(None)
            continue
        hour, minute, second = parse_time(value)
        missing = [hour is None, minute is None, second is None]
        needed = 3 if missing[0] else 2 if missing[1] else 1 if missing[2] else 0
        if needed > level:
            out.append(pd.NaT)
            time_flags.append(None)
            continue
        parts = [fill[i] if missing[i] or dflag is not None else v
                 for i, v in enumerate((hour, minute, second))]
        out.append(pd.Timestamp(day) + pd.Timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2]))
        flag = "H" if (missing[0] or dflag) else "M" if missing[1] else "S" if missing[2] else None
        time_flags.append(None if flag == "S" and ignore_seconds_flag else flag)
    return (pd.Series(pd.to_datetime(pd.Series(out, dtype="datetime64[ns]")).to_numpy(), index=dtc.index),
            date_flags, pd.Series(time_flags, index=dtc.index, dtype=object))


@derivation(requires=lambda a: [a["dtc"], *(a.get("min_dates") or []), *(a.get("max_dates") or [])],
            produces=("{new_var}", "{date_flag_var}", "{time_flag_var}"))
def derive_vars_dtm(dataset: pd.DataFrame, *, dtc: str, new_var: str, date_flag_var: str | None = None,
                    time_flag_var: str | None = None,
                    highest_imputation: Literal["n", "s", "m", "h", "D", "M", "Y"] = "h",
                    date_imputation: str = "first", time_imputation: str = "first",
                    min_dates: list[str] | None = None, max_dates: list[str] | None = None,
                    ignore_seconds_flag: bool = False) -> pd.DataFrame:
    """Add a datetime and its --DTF / --TMF imputation flags from ISO 8601 text: admiral's ``derive_vars_dtm``.

    ``new_var`` (ASTDTM), ``date_flag_var`` (ASTDTF: D, M, Y), ``time_flag_var`` (ASTTMF: H,
    M, S); ``date_imputation`` first/mid/last/MM-DD, ``time_imputation`` first (00:00:00),
    last (23:59:59) or HH:MM:SS; ``min_dates``/``max_dates`` as ``derive_vars_dt``.
    """
    mins, maxs = list(min_dates or []), list(max_dates or [])
    check_vars(dataset, [dtc, *mins, *maxs])
    values, dflags, tflags = compute_dtm(
        dataset[dtc], highest_imputation=highest_imputation, date_imputation=date_imputation,
        time_imputation=time_imputation, min_dates=[dataset[v] for v in mins],
        max_dates=[dataset[v] for v in maxs], ignore_seconds_flag=ignore_seconds_flag)
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = values
    if date_flag_var:
        out[date_flag_var] = dflags
    if time_flag_var:
        out[time_flag_var] = tflags
    return out


def _extreme_requires(args: Mapping[str, Any]) -> list[str]:
    out = ["USUBJID"]
    for ev in args.get("events") or []:
        src = ev.get("source")
        cols = [ev["date"], *expr_columns(ev.get("filter") or ev.get("condition"))]
        out += [f"{src}.{c}" for c in ["USUBJID", *cols]] if src else cols
    return out


def _source_datetimes(data: pd.DataFrame, column: str, time_imputation: str) -> np.ndarray:
    """A source's datetimes: datetime64 columns as they are; ISO text with a complete date,
    the missing time parts imputed by ``time_imputation`` (admiral's date_source default)."""
    values = data[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        return np.asarray(values, dtype="datetime64[ns]")
    dtm, _, _ = compute_dtm(values, highest_imputation="h", time_imputation=time_imputation)
    return np.asarray(dtm, dtype="datetime64[ns]")


@derivation(requires=_extreme_requires, produces=("{new_var}",), context=("dataset", "sources"))
def derive_var_extreme_dtm(dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], new_var: str,
                           events: list[dict[str, Any]] | None = None, mode: Literal["first", "last"] = "last",
                           time_imputation: str = "first") -> pd.DataFrame:
    """The first or last datetime per subject over several sources: admiral's ``derive_var_extreme_dtm``.

    Each of ``events``: ``{source: sdtm.AE, date: AESTDTC, filter: "..."}`` (``condition`` is
    the same as ``filter``, as in ``derive_var_extreme_dt``; no ``source``:
    a variable of the dataset). Text needs a complete date; a missing time is imputed by
    ``time_imputation``. Subjects without any get missing.
    """
    if mode not in ("first", "last"):
        raise DerivationError(f"mode must be 'first' or 'last', not '{mode}'", variable=new_var)
    subjects = pd.Index(dataset["USUBJID"].drop_duplicates())
    codes_all, dates_all = [], []
    for ev in events or []:
        src = ev.get("source")
        data = get_source(sources, src) if src else dataset
        check_vars(data, ["USUBJID", ev["date"]], dataset=src)
        mask = filter_mask(data, ev.get("filter") or ev.get("condition"))
        dates = _source_datetimes(data, ev["date"], time_imputation)
        ids = data["USUBJID"].to_numpy()
        codes_all.append(subjects.get_indexer(ids if mask is None else ids[mask]))
        dates_all.append(dates if mask is None else dates[mask])
    codes = np.concatenate(codes_all) if codes_all else np.zeros(0, dtype=np.int64)
    dates = np.concatenate(dates_all) if dates_all else np.zeros(0, dtype="datetime64[ns]")
    keep = (codes >= 0) & ~np.isnat(dates)
    return assign_extreme_per_subject(dataset, subjects, codes[keep], dates[keep], mode, new_var)
