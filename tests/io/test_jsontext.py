"""Tests for tlfgen.io.jsontext: orjson's text and values are the standard json module's."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlfgen.io.jsontext import dumps_bytes, dumps_indented, dumps_text, finite_value, join_texts, loads

TEXTS = ["", "plain", 'say "hi"', "back\\slash", "caf\u00e9", "\u2028 and \u2029", "emoji \U0001f600",
         "".join(map(chr, range(32))) + "\x7f", "tab\tnew\nline\r", "</script>&", "null", "\u00ff\u0100\uffff"]
NUMBERS = [0, -1, 7, 2**53 + 1, 2**63 - 1, -2**63, 2**64 - 1, 0.0, -0.0, 0.1, -2.5, 1 / 3, 1e-4, 0.00012,
           1.5e-10, 1e-300, 5e-324, 1e15, 1e16, 1.2345678901234568e17, 1e22, 1.7976931348623157e308]
PLAIN = [*TEXTS, *NUMBERS, None, True, False, [], {}, (), [1, [2, [3, []]]], (1, "a", None, (2.5, ())),
         {"b": 1, "a": [None, True, {"c": "caf\u00e9"}], "": {}}, [{"key": {"USUBJID": "S-1", "SEQ": 3}},
                                                                  ("x", 1.25, [[0, 17], [1, 4]])]]


def _stdlib(value: object, **options: object) -> str:
    return json.dumps(value, separators=(",", ":"), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_text_is_the_standard_librarys(value: object) -> None:
    assert dumps_text(value) == _stdlib(value, ensure_ascii=False, allow_nan=False)
    assert dumps_text(value, ensure_ascii=True) == _stdlib(value, ensure_ascii=True)
    assert dumps_text(value, finite=True) == _stdlib(value, ensure_ascii=False)
    assert dumps_bytes(value) == _stdlib(value, ensure_ascii=False).encode("utf-8")


#: floats outside 1e-9 <= |x| < 1e-4 (there orjson writes other digits for the same number), NaN, infinity
_floats = st.floats().filter(lambda x: not 1e-9 <= abs(x) < 1e-4)
_trees = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), _floats, st.text()),
                      lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                                              st.dictionaries(st.text(max_size=4), inner, max_size=4)), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_trees)
def test_text_of_any_tree_is_the_standard_librarys(value: object) -> None:
    for ascii_only in (False, True):
        assert dumps_text(value, ensure_ascii=ascii_only, allow_nan=True) == \
            _stdlib(value, ensure_ascii=ascii_only, allow_nan=True)
    text = _stdlib(value, ensure_ascii=False, allow_nan=True)
    assert repr(loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_indented_text_is_the_standard_librarys(value: object) -> None:
    """lineage.json's text: ``json.dumps(indent=2, sort_keys=True, ensure_ascii=False)``."""
    assert dumps_indented(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(_trees)
def test_indented_text_of_any_tree_is_the_standard_librarys(value: object) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def test_floats_below_1e4_are_written_in_orjsons_form_with_the_same_value() -> None:
    """The one difference: from 1e-9 up to 1e-4 orjson writes 0.0000x or a one-digit exponent."""
    cases = {1e-05: "0.00001", -4.5e-05: "-0.000045", 1.5e-07: "1.5e-7", 1e-09: "1e-9", 1e-10: "1e-10"}
    for number, text in cases.items():
        assert dumps_text(number) == text and json.loads(text) == number
    assert _stdlib(1e-05) == "1e-05" and _stdlib(1.5e-07) == "1.5e-07" and _stdlib(1e-10) == "1e-10"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_rejected_with_the_standard_encoders_error(bad: float) -> None:
    for value in (bad, [1, {"a": (None, bad)}]):
        with pytest.raises(ValueError) as expected:
            _stdlib(value, allow_nan=False)
        with pytest.raises(ValueError) as got:
            dumps_text(value)
        assert str(got.value) == str(expected.value) == "Out of range float values are not JSON compliant"
        with pytest.raises(ValueError, match="not JSON compliant"):
            join_texts([1, value], ",\n")
        with pytest.raises(ValueError, match="not JSON compliant"):
            dumps_bytes(value)
        with pytest.raises(ValueError, match="not JSON compliant"):
            finite_value(bad)
    assert dumps_text([None, bad], allow_nan=True) == _stdlib([None, bad], allow_nan=True)  # NaN, Infinity
    assert finite_value(2.5) == 2.5 and finite_value("nan") == "nan"


@dataclass
class _Point:
    x: int


def test_values_orjson_writes_otherwise_are_the_standard_librarys() -> None:
    values = [2**64, -2**63 - 1, [10**30, "a"], {1: "one", None: 2, 2.5: True}, np.float64(1.5), [np.float64(-0.0)]]
    for value in values:
        assert dumps_text(value) == _stdlib(value, ensure_ascii=False)
        assert dumps_bytes(value, finite=True) == _stdlib(value, ensure_ascii=False).encode("utf-8")
    odd = [np.int64(3), np.str_("s"), datetime(2024, 1, 2, 3, 4), date(2024, 1, 2), _Point(1), {"a": {1, 2}}]
    for value in odd:
        assert dumps_text(value, default=str) == _stdlib(value, ensure_ascii=False, default=str)
    with pytest.raises(TypeError, match="Object of type date is not JSON serializable"):
        dumps_text(date(2024, 1, 2))


def test_join_is_the_join_of_the_texts() -> None:
    records = [{"key": {"USUBJID": "S-1", "SRCSEQ": None}, "sources": []}, ["caf\u00e9", 2**70, 0.5],
               {"key": {"AVISITN": math.inf}}, [1, [2, 3]]]
    expected = ",\n".join(_stdlib(r, ensure_ascii=False) for r in records)
    assert join_texts(records, ",\n", allow_nan=True) == expected
    assert join_texts(records[3:], ",\n") == "[1,[2,3]]" and join_texts([], ",") == ""
    ascii_only = ",".join(_stdlib(r) for r in records)
    assert join_texts(records, ",", ensure_ascii=True, allow_nan=True) == ascii_only


VALID = ['{"a":1,"a":2}', "[1.0, -0, -0.0, 1E5, 0.1e-7, 1.5e300, 5e-324, 123456789012345678]",
         '{"rows":[["S-1",null,true,false,"caf\u00e9 \\u2028 \\ud83d\\ude00"]]}', " [ ] ", '"\\u0000\\/"',
         "[18446744073709551615, 18446744073709551616, -9223372036854775809, 1234567890123456789012]",
         "[NaN, Infinity, -Infinity, 1e400]", '"\\ud800"']


@pytest.mark.parametrize("text", VALID)
def test_read_values_are_the_standard_librarys(text: str) -> None:
    expected = json.loads(text)
    for data in (text, text.encode("utf-8")):
        got = loads(data)
        assert repr(got) == repr(expected)  # the same types too (an int stays an int; nan compared as text)


@pytest.mark.parametrize("text", ['{"a": }', "[1,]", '{"a" 1}', "", "nul", '"\x01"', "\ufeff[1]", "[1] x"])
def test_read_errors_are_the_standard_librarys(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        loads(text)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)
    assert (got.value.lineno, got.value.colno) == (expected.value.lineno, expected.value.colno)
