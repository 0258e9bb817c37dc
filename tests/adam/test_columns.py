"""Tests for tlfgen.adam.columns: column helpers of the derivations (numbered cases, exact values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlfgen.adam.columns import (compute_flag_values, compute_match_positions, compute_per_distinct, compute_taken,
                                 get_column_values, take_columns)

NaN = float("nan")


def test_compute_match_positions_01_as_a_left_merge():
    left = pd.DataFrame({"U": ["a", "b", "c", None], "K": [1, 2, 1, 1]}, index=[7, 8, 9, 10])
    right = pd.DataFrame({"U": ["c", "a", None], "K": [1, 1, 1]})
    assert compute_match_positions(left, right, ["U", "K"]).tolist() == [1, -1, 0, 2]  # missing keys match


def test_compute_match_positions_02_incompatible_keys_raise_as_merge():
    with pytest.raises(ValueError, match="merge on object and float64"):
        compute_match_positions(pd.DataFrame({"K": ["1"]}), pd.DataFrame({"K": [1.0]}), ["K"])


def test_compute_taken_01_missing_where_minus_one():
    assert compute_taken(np.array([10, 20]), np.array([1, 0])).tolist() == [20, 10]
    out = compute_taken(np.array([10, 20]), np.array([1, -1]))
    assert out.dtype == np.float64 and out[0] == 20.0 and np.isnan(out[1])
    assert compute_taken(np.array(["x"], dtype=object), np.array([-1, 0])).tolist()[1] == "x"


def test_compute_per_distinct_01_once_per_value_and_missing_rows():
    calls = []

    def upper(s: pd.Series) -> pd.Series:
        calls.append(len(s))
        return s.map(lambda v: "-" if pd.isna(v) else v.upper())

    out = compute_per_distinct(pd.Series(["a", "b", "a", None, "a"]), upper)
    assert out.tolist() == ["A", "B", "A", "-", "A"]
    assert calls == [2, 1]  # the two distinct values, then the missing row


def test_compute_flag_values_01_values_kept_as_given():
    assert compute_flag_values(np.array([True, False]), "Y", None).tolist() == ["Y", None]
    assert compute_flag_values([False, True], "Y", 1).tolist() == [1, "Y"]


def test_take_columns_01_rows_and_columns_keep_index_and_dtypes():
    data = pd.DataFrame({"A": ["x", "y", "z"], "B": [1.0, 2.0, 3.0], "C": pd.array([1, None, 3], dtype="Int64")},
                        index=[10, 11, 12])
    out = take_columns(data, np.array([True, False, True]), ["C", "A", "A", "NOPE"])
    assert list(out.columns) == ["C", "A"]
    assert out.index.tolist() == [10, 12]
    assert out["C"].dtype == "Int64" and out["C"].tolist() == [1, 3]
    assert out["A"].tolist() == ["x", "z"]
    assert take_columns(data, None, ["B"])["B"].tolist() == [1.0, 2.0, 3.0]


def test_get_column_values_01():
    assert get_column_values(pd.Series([1.0, 2.0]), np.array([False, True])).tolist() == [2.0]
    assert get_column_values(pd.Series([1, None], dtype="Int64"), None).dtype == "Int64"
