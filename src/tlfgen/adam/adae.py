"""ADaM stage: derivations specific to adverse-event analysis (ADAE).

The treatment-emergent flag; partial-date imputation, relationship, grade and
first-occurrence flags use the generic derivations of ``common.py``.
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from tlfgen.adam.columns import compute_flag_values
from tlfgen.adam.common import check_vars
from tlfgen.errors import DerivationError
from tlfgen.registry import derivation


def _trtemfl_requires(args: Mapping[str, Any]) -> list[str]:
    names = [args.get("start_date", "ASTDT"), args.get("trt_start", "TRTSDT"), args.get("trt_end", "TRTEDT"),
             args.get("end_date"), args.get("intensity"), args.get("initial_intensity")]
    return [n for n in names if n]


@derivation(requires=_trtemfl_requires, produces=("{new_var}",))
def derive_var_trtemfl(dataset: pd.DataFrame, *, new_var: str = "TRTEMFL", start_date: str = "ASTDT",
                       trt_start: str = "TRTSDT", trt_end: str | None = "TRTEDT", end_window: int | None = 0,
                       end_date: str | None = None, initial_intensity: str | None = None,
                       intensity: str | None = None, ignore_time_for_trt_end: bool = True,
                       true_value: str = "Y", false_value: str | None = None) -> pd.DataFrame:
    """Treatment-emergent: ``start_date`` on or after ``trt_start`` and on or before ``trt_end`` + ``end_window`` days.

    admiral's ``derive_var_trtemfl`` (``trt_start``/``trt_end`` are its ``trt_start_date``/
    ``trt_end_date``; ``trt_end: null`` or ``end_window: null``: no upper limit). A missing
    start counts as emergent when ``end_date`` is not given (the conservative rule) or the
    end is missing or on/after ``trt_start``; with ``initial_intensity`` and ``intensity``
    an event starting before treatment and ending on/after its start (or ongoing) is emergent
    when it worsened (``intensity`` > ``initial_intensity``). ``ignore_time_for_trt_end``:
    the end limit is the whole day. An untreated subject (no ``trt_start``) is never flagged.
    """
    if (initial_intensity is None) != (intensity is None):
        raise DerivationError("initial_intensity and intensity go together: give both or neither",
                              variable=new_var)
    check_vars(dataset, [c for c in (start_date, trt_start, trt_end, end_date, intensity, initial_intensity) if c])
    start = pd.to_datetime(dataset[start_date])
    first = pd.to_datetime(dataset[trt_start])
    within = start >= first
    if trt_end and end_window is not None:
        last = pd.to_datetime(dataset[trt_end])
        if ignore_time_for_trt_end:
            last = last.dt.normalize() + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        last = last + pd.Timedelta(days=int(end_window))
        within &= (start <= last) | last.isna()
    if end_date:
        end = pd.to_datetime(dataset[end_date])
        emergent = within | (start.isna() & (end.isna() | (end >= first)))
        if intensity:
            worse = (pd.to_numeric(dataset[intensity], errors="coerce")
                     > pd.to_numeric(dataset[initial_intensity], errors="coerce"))
            emergent |= (start < first) & (end.isna() | (end >= first)) & worse
    else:
        emergent = within | start.isna()
    emergent &= first.notna()
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.Series(compute_flag_values(emergent, true_value, false_value), index=out.index, dtype=object)
    return out
