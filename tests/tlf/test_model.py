"""Tests of tlf/model.py: the frozen table model."""

from __future__ import annotations

import dataclasses

import pytest

from tlfgen.tlf.model import Analysis, Cell, Column, Row, Table


def _table() -> Table:
    return Table(
        id="T9", kind="table", title=("T",), stub_header="",
        columns=(Column("A", "A", 2, "A\n(N=2)"), Column("B", "B", 3)),
        rows=(Row("Block", (), kind="header", block_id="X"),
              Row("n", (Cell("2", "T9.X.A", (("n", 2),), ("S-1", "S-2")), Cell("3", "T9.X.B")), block_id="X")),
        analyses=(Analysis("T9.X.A", "count", population="FASFL == 'Y'"),),
    )


def test_01_lookups() -> None:
    t = _table()
    cell = t.cell("n", "A")
    assert (cell.text, cell.analysis_id, cell.value("n"), cell.subjects) == ("2", "T9.X.A", 2, ("S-1", "S-2"))
    assert t.analysis("T9.X.A").population == "FASFL == 'Y'"
    assert [c.key for _, c, _ in t.iter_cells()] == ["A", "B"]
    assert (t.header_lines(t.columns[0]), t.header_lines(t.columns[1])) == ("A\n(N=2)", "B")
    with pytest.raises(KeyError):
        cell.value("pct")
    with pytest.raises(KeyError):
        t.cell("nope", "A")


def test_02_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _table().cell("n", "A").text = "x"  # type: ignore[misc]


def test_03_row_width_must_match_columns() -> None:
    with pytest.raises(ValueError, match="table T9: row 'n' has 1 cells for 2 columns"):
        dataclasses.replace(_table(), rows=(Row("n", (Cell("1"),)),))
