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
