"""Sort order of the SDTM engine (tlfgen.sdtm.sorting): the same rows as ``sort_values``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tlfgen.sdtm.sorting import compute_sort_positions, compute_sorted_groups


def _pandas_positions(keys: pd.DataFrame, na_position: str = "last") -> list[int]:
    frame = keys.reset_index(drop=True)
    return frame.sort_values(list(frame.columns), kind="mergesort", na_position=na_position).index.tolist()


def test_text_numbers_and_missing_values_sort_stably_with_missing_last():
    keys = pd.DataFrame({"USUBJID": ["S-2", "S-1", "S-2", None, "S-1", np.nan],
                         "VISITNUM": [2.0, np.nan, 1.0, 1.0, 1.0, 0.0],
                         "ROW": [5, 4, 3, 2, 1, 0]}, index=[9, 8, 7, 6, 5, 4])
    assert compute_sort_positions(keys).tolist() == [4, 1, 2, 0, 5, 3]
    assert compute_sort_positions(keys).tolist() == _pandas_positions(keys)


def test_ties_keep_their_order_and_booleans_sort_false_first():
    keys = pd.DataFrame({"flag": [True, False, True, False], "k": ["a", "a", "a", "a"]})
    assert compute_sort_positions(keys).tolist() == [1, 3, 0, 2]


def test_missing_first_and_dates_are_sorted_by_pandas():
    keys = pd.DataFrame({"k": ["b", None, "a"]})
    assert compute_sort_positions(keys, na_position="first").tolist() == [1, 2, 0]
    dates = pd.DataFrame({"d": pd.to_datetime(["2021-02-01", None, "2021-01-01"])})
    assert compute_sort_positions(dates).tolist() == [2, 0, 1]


def test_wide_integer_keys_are_renumbered_to_stay_in_int64():
    big = np.array([2**40, 0, 2**40, 7], dtype="int64")
    keys = pd.DataFrame({"a": big, "b": big[::-1].copy(), "c": big, "d": [3, 2, 1, 0]})
    assert compute_sort_positions(keys).tolist() == [1, 3, 2, 0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "B", "", None]), st.sampled_from([1.0, -2.5, np.nan, 0.0]),
                          st.integers(-3, 3)), max_size=30))
def test_same_positions_as_sort_values(rows):
    keys = pd.DataFrame(rows, columns=["t", "f", "i"]).astype({"t": object, "f": "float64", "i": "int64"})
    assert compute_sort_positions(keys).tolist() == _pandas_positions(keys)


def test_sorted_groups_number_equal_keys_in_sorted_order_missing_equal_missing():
    keys = pd.DataFrame({"USUBJID": ["S-2", "S-1", None, "S-2", np.nan], "VISITNUM": [1.0, 2.0, 3.0, 1.0, 3.0],
                         "ROW": [1, 2, 3, 4, 5]})
    positions, groups = compute_sorted_groups(keys, 2)
    assert positions.tolist() == [1, 0, 3, 2, 4]
    assert groups.tolist() == [0, 1, 1, 2, 2]


def test_sorted_groups_of_keys_pandas_sorts_match_groupby():
    keys = pd.DataFrame({"d": pd.to_datetime(["2021-02-01", None, "2021-02-01"]), "n": [2, 1, 0]})
    positions, groups = compute_sorted_groups(keys, 1)
    assert positions.tolist() == [2, 0, 1]
    assert groups.tolist() == [0, 0, 1]


def test_packed_ranks_order_rows_and_are_equal_for_equal_keys():
    from tlfgen.sdtm.sorting import compute_packed_ranks

    keys = pd.DataFrame({"t": ["b", "a", "b", None], "n": [1, 2, 1, 0]})
    packed, size = compute_packed_ranks(keys)
    assert packed.tolist() == [4, 2, 4, 6] and size == 9  # ranks t: a 0, b 1, missing 2; n offsets 0..2
    assert compute_packed_ranks(pd.DataFrame({"c": pd.Categorical(["x"])})) is None
