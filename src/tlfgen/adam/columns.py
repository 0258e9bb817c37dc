"""ADaM stage: column helpers shared by the derivations (no spec, no files).

They exist so that derivations touch only the columns they need: a join is
worked out on the key columns alone (``compute_match_positions``) and the new
columns are taken by position, instead of merging (copying) the whole dataset.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

_POS = "__tlfgen_pos__"


def compute_match_positions(left: pd.DataFrame, right: pd.DataFrame, on: Sequence[str]) -> np.ndarray:
    """For each row of ``left``, the position of the row of ``right`` with the same ``on`` values; -1: none.

    ``right`` must hold each key once. The matching is ``left.merge(right, how="left")``'s
    (missing keys match each other, incompatible key types raise the same error).
    """
    on = list(on)
    keys = right[on].assign(**{_POS: np.arange(len(right), dtype=np.int64)})
    matched = left[on].merge(keys, on=on, how="left", sort=False)[_POS]
    return matched.fillna(-1).to_numpy(dtype=np.int64)


def compute_taken(values: Any, positions: np.ndarray) -> Any:
    """``values`` at ``positions``, missing where the position is -1 (the values a left merge gives)."""
    return pd.api.extensions.take(values, positions, allow_fill=True)


def compute_per_distinct(series: pd.Series, func: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """``func(series)`` (an element-wise map) as an object array, ``func`` run once per distinct value.

    Missing values are passed to ``func`` as they are (in a Series of their own rows).
    """
    codes, uniques = pd.factorize(series)
    out = np.empty(len(series), dtype=object)
    done = func(pd.Series(uniques, dtype=series.dtype if len(uniques) else object)).to_numpy(dtype=object)
    found = codes >= 0
    out[found] = done[codes[found]]
    if not found.all():
        out[~found] = func(series[~found]).to_numpy(dtype=object)
    return out


def compute_flag_values(mask: Any, true_value: Any, false_value: Any) -> np.ndarray:
    """``true_value`` where ``mask`` holds, else ``false_value``, as an object array (values kept as given)."""
    mask = np.asarray(mask, dtype=bool)
    out = np.full(len(mask), false_value, dtype=object)
    out[mask] = true_value
    return out


def get_column_values(series: pd.Series, mask: np.ndarray | None) -> Any:
    """The values of ``series`` (numpy array, or its extension array) where ``mask`` holds (all for None)."""
    values = series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array
    return values if mask is None else values[mask]


def take_columns(data: pd.DataFrame, mask: np.ndarray | None, columns: Sequence[str]) -> pd.DataFrame:
    """The rows of ``data`` where ``mask`` holds (all for None), only ``columns`` (those it has, once).

    Same values, dtypes and index as ``data[mask][columns]``, without copying the other columns.
    """
    names = [c for c in dict.fromkeys(columns) if c in data.columns]
    index = data.index if mask is None else data.index[mask]
    return pd.DataFrame({c: get_column_values(data[c], mask) for c in names}, index=index, columns=names)
