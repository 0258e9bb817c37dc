"""Reconciliation of raw rows (tlfgen.raw.reconcile): row numbers from any sequence, counts per bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.raw.reader import RawForm
from tlfgen.raw.reconcile import FileUsage, as_row_numbers, reconcile


def test_as_row_numbers_from_series_arrays_and_lists():
    assert as_row_numbers(pd.Series([3, 1], dtype="int64")) == [3, 1]
    assert as_row_numbers(pd.Series([2.0, 5.0])) == [2, 5]
    assert as_row_numbers(np.array([4], dtype="int64")) == [4]
    assert as_row_numbers([7, 8]) == [7, 8]
    assert as_row_numbers([]) == []
    assert as_row_numbers(pd.Series([1, 2], dtype=object)) == [1, 2]


def test_reconcile_counts_used_skipped_and_unread_rows():
    form = RawForm("ae", "raw/ae.csv", pd.DataFrame({"__row": [1, 2, 3, 4]}), 5, rejected={5: "ragged row"})
    usage = FileUsage()
    usage.use("AE", pd.Series([1.0, 2.0]))
    usage.skip([3], "AE source filter 'x'")
    count = reconcile(form, usage)
    assert (count.rows_in, count.rows_out) == (5, 2)
    assert count.rejected == {"not mapped: AE source filter 'x'": 1, "not mapped: no domain spec reads this form": 1,
                              "rejected: ragged row": 1}
