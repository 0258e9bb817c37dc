"""dumps_indented writes exactly what json.dumps(indent=1, sort_keys=True, ensure_ascii=False) writes."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlfgen.lineage.jsondump import dumps_indented

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                     st.floats(allow_nan=False, allow_infinity=False))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(st.text(), max_size=5),
    st.dictionaries(st.text(), inner, max_size=5),
    st.dictionaries(st.text(), st.lists(st.text(), max_size=3), max_size=5)), max_leaves=40)


def _reference(value, **kw) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, **kw)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_same_text_as_json_dumps(value):
    assert dumps_indented(value) == _reference(value)


def test_lineage_shapes_and_non_ascii():
    doc = {"records": {"ADSL:1": ["DM:1", "DS:2"], "ADSL:2": []}, "name": "Résumé \u2028", "n": [1, 2.5, None],
           "nested": {"b": [{"x": True}], "a": ()}, "inf": math.inf}
    assert dumps_indented(doc) == _reference(doc)


def test_nan_refused_when_asked_and_default_used():
    with pytest.raises(ValueError, match="not JSON compliant"):
        dumps_indented({"x": math.nan}, allow_nan=False)
    assert dumps_indented({"d": {1, 2} and frozenset()}, default=sorted) == _reference({"d": []})
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented(object())
