"""ADaM stage: derivations specific to adverse-event analysis (ADAE).

The treatment-emergent flag; partial-date imputation, relationship, grade and
first-occurrence flags use the generic derivations of ``common.py``.
"""

from __future__ import annotations

import pandas as pd

from tlfgen.adam.columns import compute_flag_values
from tlfgen.adam.common import check_vars
from tlfgen.registry import derivation


@derivation(requires=("{start_date}", "{trt_start}", "{trt_end}"), produces=("{new_var}",))
def derive_var_trtemfl(dataset: pd.DataFrame, *, new_var: str = "TRTEMFL", start_date: str = "ASTDT",
                       trt_start: str = "TRTSDT", trt_end: str = "TRTEDT", end_window: int = 0,
                       true_value: str = "Y", false_value: str | None = None) -> pd.DataFrame:
    """Treatment-emergent: ``start_date`` on or after ``trt_start`` and on or before ``trt_end`` + ``end_window`` days.

    A missing start date with a treated subject counts as treatment-emergent (the
    conservative rule); an untreated subject (no ``trt_start``) never does.
    """
    check_vars(dataset, [start_date, trt_start, trt_end])
    start = pd.to_datetime(dataset[start_date])
    first = pd.to_datetime(dataset[trt_start])
    last = pd.to_datetime(dataset[trt_end]) + pd.Timedelta(days=int(end_window))
    within = (start >= first) & ((start <= last) | last.isna())
    emergent = (within | start.isna()) & first.notna()
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.Series(compute_flag_values(emergent, true_value, false_value), index=out.index, dtype=object)
    return out
