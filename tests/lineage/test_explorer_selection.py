"""The explorer page's per-cell work done once per dataset or column: cell rows by codes, record scopes
by PARAMCD codes, blocks' spec lines, derivation functions once per context. Expected values are
those of the implementation before this work (its per-cell pandas masks and ``paths.record_scope``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tlfgen.lineage.explorer_data import spec_refs
from tlfgen.lineage.explorer_store import RecordStore
from tlfgen.lineage.paths import record_scope
from tlfgen.lineage.trace import find_column, find_row, select_cell_records, value_codes
from tlfgen.lineage.trace_context import TraceContext


def test_value_codes_select_what_equality_selects():
    values = pd.Series(["A", 1.0, None, "A", math.nan, 2.0, "a", -0.0], dtype=object)
    codes, lookup = value_codes(values)
    assert codes.tolist() == [0, 1, -1, 0, -1, 2, 3, 4]
    assert lookup == {"A": 0, 1.0: 1, 2.0: 2, "a": 3, 0.0: 4}
    for wanted in ("A", 1.0, 2.0, "a", 0.0, None, math.nan, "B"):
        assert (codes == lookup.get(wanted, -2)).tolist() == (values == wanted).tolist(), wanted


# the rows the cells of the embedded study used, as the per-cell masks selected them before
@pytest.mark.parametrize("output_id, row_id, column_key, rows, counted", [
    ("T1", "AGEGR1.>=65", "TCAC", [2, 11, 14, 16, 20, 22, 31, 32, 39, 40, 44, 56], True),
    ("T1", "AGE.MEAN_SD", "TCC", [5, 7, 8, 9, 10, 13, 17, 18, 19, 21, 23, 24, 25, 27, 28, 29, 36, 37, 41, 42, 43, 49,
                                  50, 51, 52, 53, 55, 57, 58, 59], False),
    ("T2", "ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N", "TCAC", [5, 29, 37, 49, 58, 79, 128, 136, 159, 171, 210, 230, 292,
                                                           344, 356, 364, 389, 397, 406, 454, 466, 516, 528, 542, 572,
                                                           631, 663], True),
    ("T3", "TRAE.ANAEMIA", "TCAC.ANY", [2, 9, 19, 48, 78, 85, 102, 154, 179, 192, 207, 218, 237, 251, 276, 284, 296,
                                        336], True),
    ("T3", "TRAE.ANAEMIA", "TCAC.HIGH", [], True),
    ("T3", "TRAE.ANY_TRAE", "TCC.HIGH", [42, 171, 225, 231, 257, 258, 327, 328, 330, 331, 343], True),
])
def test_cell_records_are_the_rows_the_masks_selected(trace_ctx, output_id, row_id, column_key, rows, counted):
    out = trace_ctx.output(output_id)
    table = trace_ctx.table(out)
    row, _ = find_row(table, row_id)
    column = find_column(table, column_key)
    cell = row.cells[list(table.columns).index(column)]
    data, found_counted = select_cell_records(trace_ctx, out, table, row, column, cell)
    assert data.index.tolist() == rows
    assert found_counted is counted
    dataset = next(b for b in out.spec.blocks if b.id == row.block_id).dataset
    assert data["USUBJID"].tolist() == trace_ctx.adam_rows(dataset).loc[rows, "USUBJID"].tolist()


def _context(frames: dict[str, pd.DataFrame]) -> TraceContext:
    ctx = TraceContext(study=None)  # type: ignore[arg-type]  # the frames are given, nothing is read
    for name, frame in frames.items():
        ctx._cache[f"adam_rows.{name}"] = frame
    return ctx


def test_store_scope_has_the_parameters_record_scope_finds():
    adrs = pd.DataFrame({"USUBJID": ["S-1", "S-1", "S-2", "S-2", "S-3"],
                         "PARAMCD": [" OVR", "BOR ", None, "OVR", np.nan]})
    adsl = pd.DataFrame({"USUBJID": ["S-1", "S-2"]})
    ctx = _context({"ADRS": adrs, "ADSL": adsl})
    store = RecordStore()
    for rows in ([0, 2, 3], [1], [4, 0], []):
        found = store.scope(ctx, "ADRS", np.asarray(rows, dtype=np.int64), [])
        assert found == record_scope("ADRS", adrs.iloc[rows], [])
    assert store.scope(ctx, "ADRS", np.asarray([0, 2, 3]), []) == {"ADRS": {"OVR", "None"}}
    assert store.scope(ctx, "ADRS", np.asarray([4, 1]), []) == {"ADRS": {"nan", "BOR"}}
    assert store.scope(ctx, "ADRS", np.asarray([], dtype=np.int64), []) == {}
    assert store.scope(ctx, "ADSL", np.asarray([0, 1]), []) == {}


def test_spec_refs_of_a_block():
    block = {"cells": {"0,0": {"analysis": {"spec": "specs/tlf/T1.yaml:12"}}, "0,1": {"error": "no records"},
                       "1,0": {"analysis": {"spec": "specs/tlf/T1.yaml:20"}}},
             "rules": [["adam.ADSL.AGE", "derive", "specs/adam/ADSL.yaml:8", []],
                       ["adam.ADSL.SEX", "copy", "specs/adam/ADSL.yaml:9", []]]}
    assert spec_refs(block) == {"specs/tlf/T1.yaml:12", "specs/tlf/T1.yaml:20", "specs/adam/ADSL.yaml:8",
                                "specs/adam/ADSL.yaml:9"}
    assert spec_refs({"methods": []}) == set()


def test_a_derivation_function_is_looked_up_once_per_context(monkeypatch):
    from tlfgen.lineage import trace_define

    asked: list[str] = []
    monkeypatch.setattr(trace_define, "_function", lambda name: asked.append(name) or {"function": name})
    ctx = TraceContext(study=None)  # type: ignore[arg-type]
    first = trace_define._function_of(ctx, "derive_param_tte")
    assert trace_define._function_of(ctx, "derive_param_tte") is first
    assert trace_define._function_of(ctx, "derive_vars_merged") == {"function": "derive_vars_merged"}
    assert asked == ["derive_param_tte", "derive_vars_merged"]


def test_cells_with_the_same_rows_share_their_records(trace_ctx):
    """Expected values: the old ``cell_records`` (found per cell) on the same rows."""
    store = RecordStore()
    data = trace_ctx.adam_rows("ADSL").iloc[[3, 1, 2]]
    first = store.cell_records(trace_ctx, "ADSL", data, [], frozenset({"DM"}), ("AGE",))
    rows, usubjids, scope = first
    assert rows == [[0, [1]], [1, [2]], [2, [0]]]
    assert usubjids == ["NCT04471480-01004", "NCT04471480-01002", "NCT04471480-01003"]
    assert scope == {}
    assert [entry[:3] for entry in store.adam] == [
        ["adam.ADSL:NCT04471480-01004", "ADSL", {"TRTSDT": "2020-08-18", "SURGDT": "2020-12-23", "AGE": 61}],
        ["adam.ADSL:NCT04471480-01002", "ADSL", {"TRTSDT": "2020-08-10", "SURGDT": "2020-12-13", "AGE": 60}],
        ["adam.ADSL:NCT04471480-01003", "ADSL", {"TRTSDT": "2020-08-11", "DTHDT": "2021-08-09", "AGE": 69}]]
    assert [entry[0] for entry in store.sdtm] == ["sdtm.DM:NCT04471480-01004", "sdtm.DM:NCT04471480-01002",
                                                 "sdtm.DM:NCT04471480-01003"]
    assert store.cell_records(trace_ctx, "ADSL", data.copy(), [], frozenset({"DM"}), ("AGE",)) is first
    listed = store.cell_records(trace_ctx, "ADSL", data, ["NCT04471480-01002", "NOBODY"], frozenset({"DM"}), ("AGE",))
    assert listed == ([[0, [1]], [3, []]], usubjids, {})
    assert store.subjects == {"NCT04471480-01002": 0, "NCT04471480-01003": 1, "NCT04471480-01004": 2, "NOBODY": 3}
