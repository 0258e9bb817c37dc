"""ADaM lineage files (``adam/lineage/<name>.json``): valid JSON holding the document, one line per record."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlfgen.adam.run import create_lineage_text

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats(allow_nan=False))
_sources = st.lists(st.fixed_dictionaries({"domain": st.text(), "seq": st.lists(st.integers(), max_size=4)}),
                    max_size=3)
_records = st.lists(st.fixed_dictionaries({"key": st.dictionaries(st.text(), _scalars, max_size=4),
                                           "sources": _sources}), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.lists(st.text(), max_size=3), _records)
def test_lineage_text_01_reads_back_as_the_document_one_line_per_record(name, keys, records):
    text = create_lineage_text(name, keys, records)
    assert json.loads(text) == {"version": 1, "dataset": name, "keys": keys, "records": records}
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == (1 if not records else len(records) + 2)  # head, a line per record, the close
    for line, record in zip(lines[1:-1], records):
        assert json.loads(line.rstrip(",")) == record


def test_lineage_text_02_exact_text_and_special_values():
    records = [{"key": {"USUBJID": "Résumé \u2028\"x\"", "ADT": None, "AVAL": -1.5, "N": math.inf, "F": True},
                "sources": [{"domain": "RS", "seq": [1, 4]}, {"domain": "DM", "seq": []}]},
               {"key": {}, "sources": []}]
    assert create_lineage_text("ADRS", ["USUBJID", "ADT"], records) == (
        '{"version": 1, "dataset": "ADRS", "keys": ["USUBJID", "ADT"], "records": [\n'
        '{"key":{"USUBJID":"Résumé \u2028\\"x\\"","ADT":null,"AVAL":-1.5,"N":Infinity,"F":true},'
        '"sources":[{"domain":"RS","seq":[1,4]},{"domain":"DM","seq":[]}]},\n'
        '{"key":{},"sources":[]}\n'
        ']}\n')
    assert create_lineage_text("X", [], []) == '{"version": 1, "dataset": "X", "keys": [], "records": []}\n'


def test_lineage_text_03_numpy_values_are_refused():
    with pytest.raises(TypeError, match="not JSON serializable"):
        create_lineage_text("X", ["K"], [{"key": {"K": np.int64(1)}, "sources": []}])


def test_lineage_text_04_any_head_records_last_and_reads_back():
    from tlfgen.adam.lineage import create_records_text, dump_record_lineage

    head = {"version": 1, "dataset": "ADSL", "keys": ["USUBJID"], "supplied": True}
    records = [{"key": {"USUBJID": "S-1"}, "sources": []}]
    text = create_records_text(head, records)
    assert json.loads(text) == {**head, "records": records} and list(json.loads(text))[-1] == "records"
    assert text.splitlines()[1] == json.dumps(records[0], separators=(",", ":"))
    assert create_records_text({}, []) == '{"records": []}\n'
    assert dump_record_lineage({"records": records}) == '{"records": [\n{"key":{"USUBJID":"S-1"},"sources":[]}\n]}\n'
