"""SDTM stage: the stable multi-column sort order the engine and --SEQ use.

``DataFrame.sort_values`` on several columns ranks every key column, sorts with one
numpy pass per column and then takes the whole frame. The engine only needs the row
order: here each key is ranked once (a text column by its distinct values, a column
of whole numbers by its offset from the smallest), the ranks are packed into one
integer per row and that is sorted once (stable). The packed ranks also tell which
sorted rows share their keys (``distinct`` records) without hashing the keys again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the packed key stays below this (an int64 with room for one more multiplication check)
_PACKED_LIMIT = 2**62

Ranks = tuple[np.ndarray, int]  # (rank of each row, number of ranks)


def compute_sort_positions(keys: pd.DataFrame, na_position: str = "last") -> np.ndarray:
    """Row positions of ``keys`` in the order of ``keys.sort_values(list(keys.columns),
    kind="mergesort", na_position=na_position)``: stable, missing values last (or first)."""
    packed = compute_packed_ranks(keys) if na_position == "last" else None
    if packed is None:  # a key not ranked here (dates, categoricals ...): pandas sorts
        frame = keys.reset_index(drop=True)
        return frame.sort_values(list(frame.columns), kind="mergesort", na_position=na_position).index.to_numpy()
    return np.argsort(packed[0], kind="stable")


def compute_sorted_groups(keys: pd.DataFrame, by: int) -> tuple[np.ndarray, np.ndarray]:
    """(``compute_sort_positions(keys)``, group number of each sorted row by the first ``by``
    columns): rows with equal keys there (missing equals missing) are adjacent once sorted, and
    the groups are numbered 0, 1, ... in that order (``groupby(..., sort=False).ngroup()``)."""
    major, minor = compute_packed_ranks(keys.iloc[:, :by]), compute_packed_ranks(keys.iloc[:, by:])
    if major is None or minor is None:
        positions = compute_sort_positions(keys)
        head = keys.iloc[:, :by].take(positions)
        return positions, head.groupby(list(head.columns), sort=False, dropna=False).ngroup().to_numpy()
    positions = np.argsort(_combine(major, minor)[0], kind="stable")
    ranks = major[0][positions]
    return positions, np.concatenate([[0], np.cumsum(ranks[1:] != ranks[:-1])]) if len(ranks) else ranks


def compute_packed_ranks(keys: pd.DataFrame) -> Ranks | None:
    """One int64 per row that sorts the rows as ``keys``' columns do (missing last), equal
    exactly when all their keys are; None when a column is not ranked here."""
    packed: Ranks = (np.zeros(len(keys), dtype="int64"), 1)
    for i in range(keys.shape[1]):
        ranked = _sort_ranks(keys.iloc[:, i])
        if ranked is None:
            return None
        packed = _combine(packed, ranked)
    return packed


def _combine(major: Ranks, minor: Ranks) -> Ranks:
    """Ranks ordering by ``major`` then ``minor``; renumbered densely (0..k-1) to stay in int64."""
    (high, high_size), (low, low_size) = major, minor
    if high_size * low_size >= _PACKED_LIMIT:
        high, high_size = _dense_ranks(pd.Series(high))
    if high_size * low_size >= _PACKED_LIMIT:
        low, low_size = _dense_ranks(pd.Series(low))
    return high * low_size + low, high_size * low_size


def _sort_ranks(values: pd.Series) -> Ranks | None:
    """Ranks of ``values``: equal values share one, ranks grow in pandas' sort order, missing
    values rank last. None for a column pandas must sort (extension types, dates)."""
    if not isinstance(values.dtype, np.dtype) or values.dtype.kind not in "iubfO":
        return None
    array = values.to_numpy()
    if array.dtype.kind in "iub" and len(array):
        low, high = int(array.min()), int(array.max())
        if high - low < _PACKED_LIMIT // 2:  # whole numbers: the offset from the smallest is a rank
            return array.astype("int64") - low, high - low + 1
    try:
        return _dense_ranks(values)
    except TypeError:  # values that do not compare with each other
        return None


def _dense_ranks(values: pd.Series) -> Ranks:
    """Ranks 0..k-1 of the k distinct values in sorted order, missing values k (one hash pass)."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    return np.where(codes < 0, len(uniques), codes).astype("int64"), len(uniques) + 1
