"""ADaM lineage files: dumps_indented(sort_keys=False) writes exactly what json.dumps(indent=1, ensure_ascii=False) writes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlfgen.lineage.jsondump import dumps_indented


def dumps_lineage(doc) -> str:
    return dumps_indented(doc, sort_keys=False)

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats())
_sources = st.lists(st.fixed_dictionaries({"domain": st.text(), "seq": st.lists(st.integers(), max_size=4)}),
                    max_size=3)
_records = st.lists(st.fixed_dictionaries({"key": st.dictionaries(st.text(), _scalars, max_size=4),
                                           "sources": _sources}), max_size=4)
_docs = st.fixed_dictionaries({"version": st.integers(), "dataset": st.text(), "keys": st.lists(st.text(), max_size=3),
                               "records": _records})


def _reference(doc) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(_docs)
def test_dumps_lineage_01_same_text_as_json_dumps(doc):
    assert dumps_lineage(doc) == _reference(doc)


def test_dumps_lineage_02_record_shape_and_special_values():
    doc = {"version": 1, "dataset": "ADRS", "keys": ["USUBJID", "ADT"],
           "records": [{"key": {"USUBJID": "Résumé \u2028\"x\"", "ADT": None, "AVAL": -1.5, "N": math.inf,
                                "M": -math.inf, "Q": math.nan, "F": True},
                        "sources": [{"domain": "RS", "seq": [1, 4]}, {"domain": "DM", "seq": []}]},
                       {"key": {}, "sources": []}]}
    assert dumps_lineage(doc) == _reference(doc)
    assert dumps_lineage({"version": 1, "dataset": "X", "keys": [], "records": []}) == (
        '{\n "version": 1,\n "dataset": "X",\n "keys": [],\n "records": []\n}')


def test_dumps_lineage_03_other_shapes_and_types():
    other_order = {"dataset": "X", "version": 1, "keys": [], "records": []}
    assert dumps_lineage(other_order) == _reference(other_order)
    tuple_seq = {"version": 1, "dataset": "X", "keys": ["K"],
                 "records": [{"key": {"K": 1}, "sources": [{"domain": "AE", "seq": (1, 2)}]}]}
    assert dumps_lineage(tuple_seq) == _reference(tuple_seq)
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_lineage({"version": 1, "dataset": "X", "keys": [], "records": [{"key": {"K": np.int64(1)},
                                                                                  "sources": []}]})
