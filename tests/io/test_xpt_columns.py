"""Tests for tlfgen.io.xpt_columns: how the XPT writer and its checks look at a column's values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.io.xpt_columns import blank_missing, is_missing, split_text


def test_split_text_and_blank_missing_match_the_value_by_value_rules():
    values = ["a", None, np.nan, 3, "b", pd.NaT, pd.NA, "", np.float32("nan"), 2.5]
    not_text, positions, texts = split_text(values)
    assert not_text == [i for i, v in enumerate(values) if not is_missing(v) and not isinstance(v, str)] == [3, 8, 9]
    assert positions == [0, 4, 7] and texts == ["a", "b", ""]
    assert blank_missing(values, positions, not_text)[:8] == ["a", "", "", 3, "b", "", "", ""]
    assert split_text(["a", "b"]) == ([], None, ["a", "b"])
    assert split_text([None]) == ([], [], [])
