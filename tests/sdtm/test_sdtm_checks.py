"""Record checks while mapping (tlfgen.sdtm.checks): plain-text test and date columns per distinct value."""

from __future__ import annotations

import pandas as pd

from tlfgen.sdtm.checks import compute_date_text, is_plain_text


def test_is_plain_text_accepts_only_short_ascii_text_without_control_characters():
    assert is_plain_text([]) is True
    assert is_plain_text(["", ""]) is True
    assert is_plain_text(["a b", "x" * 200]) is True
    assert is_plain_text(["a", "x" * 201, "b"]) is False
    assert is_plain_text(["a\nb"]) is False
    assert is_plain_text(["tab\there"]) is False
    assert is_plain_text(["del\x7f"]) is False
    assert is_plain_text(["café"]) is False
    assert is_plain_text(["a", None]) is False
    assert is_plain_text([1.0]) is False


def test_compute_date_text_flags_dates_after_the_cutoff():
    values = pd.Series(["2021-01-05", None, "2021", "2020-12", "2021-01-05", "2020-12-31"], index=[3, 4, 5, 6, 7, 8])
    text, when, after = compute_date_text(values, pd.Timestamp("2021-01-01"))
    assert text.tolist() == ["2021-01-05", "", "2021", "2020-12", "2021-01-05", "2020-12-31"]
    assert when.isna().tolist() == [False, True, True, True, False, False]
    assert when[3] == pd.Timestamp("2021-01-05")
    assert after.tolist() == [True, False, False, False, True, False]
    assert after.index.tolist() == [3, 4, 5, 6, 7, 8]
