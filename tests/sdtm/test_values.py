"""Codelist mapping and number parsing (tlfgen.sdtm.values, tlfgen.spec.ct)."""

import pandas as pd

from tlfgen.sdtm.values import compute_clean_text, compute_number, map_codelist
from tlfgen.spec.ct import CodelistItemSpec, CodelistSpec, build_codelist, normalise_term

SEX = build_codelist(CodelistSpec(id="SEX", name="Sex", items=[
    CodelistItemSpec(value="M", raw=["Male"]), CodelistItemSpec(value="F", raw=["Female"])]))


def test_normalise_term_ignores_case_and_spaces():
    assert normalise_term("  nOT   related ") == "NOT RELATED"


def test_map_codelist_is_case_and_space_insensitive_and_never_guesses():
    text = compute_clean_text(pd.Series(["Male", " female ", "FEMALE", "M", "", "Mael"]))
    mapped, unmapped = map_codelist(text, SEX)
    assert mapped.tolist() == ["M", "F", "F", "M", "", ""]
    assert unmapped.tolist() == [False, False, False, False, False, True]


def test_compute_number_strips_only_the_declared_unit():
    text = pd.Series(["12", "12.5", "0 mm", "3 cm", "1,5", "NE", "", "abc"])
    value, stripped, invalid = compute_number(text, unit="mm")
    assert value.tolist()[:3] == [12.0, 12.5, 0.0]
    assert value.iloc[3:].isna().all()
    assert stripped.tolist() == [False, False, True, False, False, False, False, False]
    assert invalid.tolist() == [False, False, False, True, True, False, False, True]


def test_factorize_column_puts_missing_values_last():
    import numpy as np

    from tlfgen.sdtm.values import factorize_column

    codes, uniques = factorize_column(pd.Series(["b", None, "a", "b", np.nan], dtype=object))
    assert codes.tolist() == [0, 2, 1, 0, 2]
    assert uniques == ["b", "a", None]


def test_spread_gives_each_row_its_distinct_value():
    import numpy as np

    from tlfgen.sdtm.values import spread

    out = spread(["x", "y", ""], np.array([1, 0, 2, 1]), pd.Index([5, 6, 7, 8]))
    assert out.tolist() == ["y", "x", "", "y"] and out.index.tolist() == [5, 6, 7, 8]
    assert spread([1.5, 2.0], np.array([1, 1]), pd.RangeIndex(2), dtype="float64").tolist() == [2.0, 2.0]


def test_compute_clean_unique_collapses_spaces_and_blanks_missing():
    from tlfgen.sdtm.values import compute_clean_unique

    assert [compute_clean_unique(v) for v in ["  a   b ", None, "", 12]] == ["a b", "", "", "12"]


def test_numbers_xpt_cannot_hold_are_recognised_in_any_spelling():
    # issue 24: infinity, NaN and magnitudes outside IBM 370 doubles (16**-65 .. 16**63)
    from tlfgen.sdtm.values import compute_unstorable_number

    for text in ("inf", "-Infinity", "NaN", "+nan", "1e308", "-1E76", "1e-80", "8" + "0" * 75):
        assert compute_unstorable_number(text), text
    for text in ("", "40", "-3.5", "7e75", "1e-78", "0e-99", "0", "INF mm", "1,5", "Informed", "n/a"):
        assert not compute_unstorable_number(text), text


def test_compute_number_refuses_a_magnitude_xpt_cannot_hold():
    text = pd.Series(["1" + "0" * 80, "12", "-" + "9" * 76, "0.000"])
    value, stripped, invalid = compute_number(text)
    assert value.isna().tolist() == [True, False, True, False]
    assert value[1] == 12.0 and value[3] == 0.0
    assert invalid.tolist() == [True, False, True, False]
