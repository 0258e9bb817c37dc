"""Tests for tlfgen.io.xpt_columns: how the XPT writer and its checks look at a column's values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.io.xpt_columns import factorize_text, is_missing, text_profile


def test_profile_matches_the_value_by_value_rules():
    values = ["a", None, np.nan, 3, "b", pd.NaT, pd.NA, "", np.float32("nan"), 2.5]
    profile = text_profile(pd.Series(values, dtype=object))
    not_text = [i for i, v in enumerate(values) if not is_missing(v) and not isinstance(v, str)]
    assert profile.positions(~profile.is_text) == not_text == [3, 8, 9]
    assert [i for i, c in enumerate(profile.codes.tolist()) if c < 0] == [1, 2, 5, 6]
    assert [profile.uniques[c] for c in profile.codes.tolist() if c >= 0] == ["a", 3, "b", "", values[8], 2.5]


def test_factorize_text_codes_each_distinct_text_once():
    codes, uniques = factorize_text(pd.Series(["b", "a", None, "b", np.nan, "", "a"], dtype=object))
    assert codes.tolist() == [0, 1, -1, 0, -1, 2, 1] and uniques == ["b", "a", ""]
    assert factorize_text(pd.Series([], dtype=object))[1] == []


def test_factorize_text_keeps_values_that_compare_equal_apart():
    """factorize would merge 1, 1.0 and True (and could not hash a list): each cell is its own value."""
    codes, uniques = factorize_text(pd.Series([1, 1.0, True, None, [2]], dtype=object))
    assert codes.tolist() == [0, 1, 2, -1, 3]
    assert [(type(v), v) for v in uniques] == [(int, 1), (float, 1.0), (bool, True), (list, [2])]


def test_profile_sizes_are_utf8_bytes_per_distinct_value():
    profile = text_profile(pd.Series(["\u00e9", "ab", None, "\u00e9", "x\x00"], dtype=object))
    assert profile.uniques == ["\u00e9", "ab", "x\x00"]
    assert profile.sizes.tolist() == [2, 2, 2] and profile.wide.tolist() == [True, False, False]
    assert profile.max_size == 2 and profile.nul and profile.all_text
    assert profile.positions(profile.wide) == [0, 3]
    assert text_profile(pd.Series([None, np.nan], dtype=object)).max_size == 1
    assert text_profile(pd.Series(["", ""], dtype=object)).max_size == 1


def test_profiles_are_kept_by_column_name():
    profiles: dict = {}
    first = text_profile(pd.Series(["a"], name="X", dtype=object), profiles)
    assert text_profile(pd.Series(["other"], name="X", dtype=object), profiles) is first
