"""ADaM stage: on-treatment flags (admiral's ``derive_var_ontrtfl``).

The treatment-emergent flag (``derive_var_trtemfl``) lives in ``adae.py``.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from tlfgen.adam.columns import compute_flag_values
from tlfgen.adam.common import check_vars, expr_columns, filter_mask
from tlfgen.registry import derivation


def _ontrtfl_requires(args: Mapping[str, Any]) -> list[str]:
    names = [args["start_date"], args["ref_start_date"], args.get("end_date"), args.get("ref_end_date")]
    return [n for n in names if n] + expr_columns(args.get("filter_pre_timepoint"))


@derivation(requires=_ontrtfl_requires, produces=("{new_var}",))
def derive_var_ontrtfl(dataset: pd.DataFrame, *, start_date: str, ref_start_date: str, new_var: str = "ONTRTFL",
                       end_date: str | None = None, ref_end_date: str | None = None, ref_end_window: int = 0,
                       filter_pre_timepoint: str | None = None, span_period: bool = False) -> pd.DataFrame:
    """On-treatment flag: ``start_date`` within [``ref_start_date``, ``ref_end_date`` + ``ref_end_window``].

    admiral's rules: Y when the start is on or after the reference start and (no reference
    end, or on or before it plus the window); Y when the start is missing (and the reference
    start is not); a record on the reference start day passing ``filter_pre_timepoint``
    (e.g. a pre-dose visit) is not flagged; with ``span_period`` a record starting before
    the reference start is flagged when its ``end_date`` is on or after that start or
    missing. Without a reference start: missing. Non-flagged records are missing.
    """
    check_vars(dataset, [c for c in (start_date, ref_start_date, end_date, ref_end_date) if c])
    start = pd.to_datetime(dataset[start_date])
    ref_start = pd.to_datetime(dataset[ref_start_date])
    in_window = start >= ref_start
    if ref_end_date:
        ref_end = pd.to_datetime(dataset[ref_end_date]) + pd.Timedelta(days=int(ref_end_window))
        in_window &= (start <= ref_end) | ref_end.isna()
    pre = filter_mask(dataset, filter_pre_timepoint)
    if pre is not None:
        in_window &= ~((start == ref_start) & pd.Series(pre, index=dataset.index))
    flag = in_window | start.isna()
    if span_period:
        if end_date is None:
            from tlfgen.errors import DerivationError

            raise DerivationError("span_period needs end_date", variable=new_var)
        end = pd.to_datetime(dataset[end_date])
        flag |= (start < ref_start) & ((end >= ref_start) | end.isna())
    flag &= ref_start.notna()
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.Series(compute_flag_values(np.asarray(flag, dtype=bool), "Y", None), index=out.index,
                             dtype=object)
    return out
