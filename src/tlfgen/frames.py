"""Shared helper on DataFrames for the SDTM and ADaM engines."""

from __future__ import annotations

import pandas as pd


def renumber(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.reset_index(drop=True)`` without copying the data: ``frame`` itself when its rows
    are already numbered 0..n-1, else a shallow copy (sharing the columns) with that index."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    out = frame.copy(deep=False)
    out.index = pd.RangeIndex(len(out))
    return out
