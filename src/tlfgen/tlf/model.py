"""TLF stage: the one frozen intermediate model of a table or listing.

Builders (``blocks.py``, ``tables.py``, ``listings.py``) create it; writers
(``docx_writer.py``, ``xlsx_writer.py``, ``ard.py``) read only it, never datasets
or specs. Every cell carries the id of the analysis that produced it, the raw
numbers behind its text and, for counts, the USUBJIDs counted, so the trace
feature can go from a printed number back to subjects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

Number = float | int | None


@dataclass(frozen=True)
class Analysis:
    """Metadata of one analysis: what was counted or estimated, on whom, by which method."""

    id: str  # e.g. "T2.ORR.TCAC"
    description: str
    dataset: str = ""
    population: str = ""  # population filter text, e.g. "FASFL == 'Y'"
    subset: str = ""  # analysis subset filter text, e.g. "PARAMCD == 'ORR'"
    method: str = ""  # named method, e.g. "Clopper-Pearson exact 95% CI"
    group: str = ""  # column key the analysis is for, "" for comparisons
    role: str = ""  # what it estimates within its block: count, ci, test, median, hr, logrank ...


# slots: a listing of 5,000 subjects has ~400,000 cells; no dict per cell (less memory, quicker to make)
@dataclass(frozen=True, slots=True)
class Cell:
    """One printed cell: its text, the analysis behind it and the raw values."""

    text: str
    analysis_id: str = ""
    #: (statistic, raw value) pairs in print order, e.g. (("n", 27), ("pct", 90.0))
    values: tuple[tuple[str, Number], ...] = ()
    #: USUBJIDs counted for count cells (sorted); empty for estimates
    subjects: tuple[str, ...] = ()

    def value(self, statistic: str) -> Number:
        for name, value in self.values:
            if name == statistic:
                return value
        raise KeyError(statistic)


EMPTY = Cell("")


@dataclass(frozen=True)
class Column:
    """A data column. ``n`` is the population count shown as "(N=xx)" in the header."""

    key: str
    label: str
    n: int | None = None
    header: str = ""  # full rendered header text ("TCAC\n(N=30)")
    spanner: str = ""  # optional spanning header above this column
    kind: str = "group"  # group, total, comparison, listing


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    indent: int = 0
    kind: str = "data"  # data, header (a block label with no cells), blank
    block_id: str = ""


@dataclass(frozen=True)
class Table:
    """A rendered-ready table or listing."""

    id: str  # output id, e.g. "T1"
    kind: str  # "table" or "listing"
    title: tuple[str, ...]
    stub_header: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    footnotes: tuple[str, ...] = ()
    spec_path: str = ""
    cutoff: str = ""
    analyses: tuple[Analysis, ...] = ()
    rows_per_page: int = 0  # listings: rows per printed page (0: let the writer decide)
    column_widths: tuple[float, ...] = field(default=())  # relative widths, stub first

    def __post_init__(self) -> None:
        width = len(self.columns)
        for row in self.rows:
            if row.kind == "data" and len(row.cells) != width:
                raise ValueError(
                    f"table {self.id}: row '{row.label}' has {len(row.cells)} cells for {width} columns"
                )

    @property
    def has_spanners(self) -> bool:
        return any(c.spanner for c in self.columns)

    def spanner_groups(self) -> list[tuple[int, int]]:
        """(first, last) column indexes of each run of columns under one spanner label."""
        groups, start = [], 0
        while start < len(self.columns):
            end = start
            while end + 1 < len(self.columns) and self.columns[end + 1].spanner == self.columns[start].spanner:
                end += 1
            groups.append((start, end))
            start = end + 1
        return groups

    def analysis(self, analysis_id: str) -> Analysis:
        for item in self.analyses:
            if item.id == analysis_id:
                return item
        raise KeyError(analysis_id)

    def cell(self, row_label: str, column_key: str, *, block_id: str | None = None) -> Cell:
        """The cell at a row label (first match, optionally within a block) and a column key."""
        index = [c.key for c in self.columns].index(column_key)
        for row in self.rows:
            if row.label == row_label and row.kind == "data" and (block_id is None or row.block_id == block_id):
                return row.cells[index]
        raise KeyError(f"{self.id}: no row '{row_label}'")

    def iter_cells(self) -> Iterator[tuple[Row, Column, Cell]]:
        for row in self.rows:
            if row.kind != "data":
                continue
            for column, cell in zip(self.columns, row.cells):
                yield row, column, cell

    def header_lines(self, column: Column) -> str:
        return column.header or column.label
