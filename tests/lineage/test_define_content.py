"""Tests for tlfgen.lineage.define_content: the value level and the codelist values, which are asked
per distinct value; the expected values are worked out per record by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.lineage.define_content import _all_present, _values, create_value_level


def _lb(orres: list, stresn: list, codes: list[str]) -> tuple[DatasetMetadata, pd.DataFrame]:
    meta = DatasetMetadata("LB", "Laboratory", "", "Findings", variables=(
        VariableMetadata("LBTESTCD", "Test Code", "text"), VariableMetadata("LBORRES", "Result", "text"),
        VariableMetadata("LBSTRESN", "Numeric Result", "float")))
    return meta, pd.DataFrame({"LBTESTCD": codes, "LBORRES": orres, "LBSTRESN": stresn})


def _rows(levels) -> dict:
    return {(v.variable, v.where_value): (v.data_type, v.length, v.mandatory) for v in levels}


def test_1_value_level_per_test_code() -> None:
    meta, data = _lb(["12", "12.5", "12", None, "40", "POS"], [12.0, 12.5, 12.0, np.nan, 40.0, np.nan],
                     ["HGB", "HGB", "HGB", "ALB", "ALB", "UA"])
    assert _rows(create_value_level(meta, data, {})) == {
        ("LBORRES", "ALB"): ("text", 2, False),  # "40" (a number held as text), one record blank
        ("LBORRES", "HGB"): ("text", 4, True),  # "12.5"
        ("LBORRES", "UA"): ("text", 3, True),
        ("LBSTRESN", "ALB"): ("integer", None, False),
        ("LBSTRESN", "HGB"): ("float", None, True),
    }  # LBSTRESN of UA: no value, no row


def test_2_equal_values_of_other_types_are_each_looked_at() -> None:
    """1 and True are equal but print apart: "True" is no number and is 4 characters long;
    0.0 and -0.0 likewise ("-0.0": 4 characters)."""
    meta, data = _lb([1, True, "x"], [1.0, 2.0, 3.0], ["A", "A", "B"])
    assert _rows(create_value_level(meta, data, {}))[("LBORRES", "A")] == ("text", 4, True)
    meta, data = _lb([0.0, -0.0], [1.0, 1.0], ["Z", "Z"])
    assert _rows(create_value_level(meta, data, {}))[("LBORRES", "Z")] == ("text", 4, True)


def test_3_codelist_values_keep_types_apart() -> None:
    column = pd.Series([1, 1.0, True, None, " ", "b", "b", float("nan")], dtype=object)
    assert _values(column) == ["True", "b", "1"]  # NaN is missing; sorted: text, then digits by length
    assert _values(pd.Series([2.0, 10.0, 2.0, np.nan])) == ["2", "10"]
    assert _values(pd.Series(["Y", "N", "Y", None])) == ["N", "Y"]


def test_4_all_present() -> None:
    assert _all_present(pd.Series(["a", "b", "a"]))
    assert not _all_present(pd.Series(["a", " ", "a"]))
    assert not _all_present(pd.Series([1.0, np.nan]))
