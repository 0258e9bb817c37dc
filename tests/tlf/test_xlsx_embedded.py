"""The embedded study's XLSX outputs checked cell by cell against the ``Table`` model (tlf/xlsx_writer.py).

The run (session fixture ``embedded_run``) writes outputs/tables/<ID>.xlsx and combined.xlsx; the
tables are built again from its ADaM datasets. Every model text must be shown in its cell: a
number cell formatted with its own number format, a date cell with yyyy-mm-dd, a text cell as
is; and no other cell may hold anything. Independent of the writer: the sheet is read by
openpyxl, the expected layout is the one the writer's docstring states.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from tlfgen.spec.tlf import load_tlf_specs
from tlfgen.tlf.model import Table
from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

CHECKED = ("T1", "T2", "T3", "L1")


@pytest.fixture(scope="module")
def outputs(embedded_run):
    study, _ = embedded_run
    specs = load_tlf_specs(study)
    tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    return study.outputs_dir / "tables", {t.id: t for t in tables}


def shown(cell) -> str:
    """The text a reader sees in a cell: numbers through their number format, dates as yyyy-mm-dd."""
    value, fmt = cell.value, cell.number_format
    if value is None:
        return ""
    if isinstance(value, datetime):
        assert fmt == "yyyy-mm-dd", cell.coordinate
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (int, float)):
        assert fmt == "0" or (fmt.startswith("0.") and set(fmt[2:]) == {"0"}), (cell.coordinate, fmt)
        return f"{value:.{len(fmt) - 2 if '.' in fmt else 0}f}"
    return value


def expected_cells(table: Table) -> dict[str, str]:
    """Cell -> text from the model: titles, a blank row, header row(s), body, a blank row, footnotes."""
    cells: dict[str, str] = {}
    r = 1
    for line in table.title:
        cells[f"A{r}"] = line
        r += 1
    r += 1
    header = r
    cells[f"A{r}"] = table.stub_header
    if table.has_spanners:
        for start, _end in table.spanner_groups():
            cells[f"{get_column_letter(2 + start)}{r}"] = table.columns[start].spanner
        r += 1
        for i, column in enumerate(table.columns):
            cells[f"{get_column_letter(2 + i)}{r}"] = column.header or column.label
    else:
        for i, column in enumerate(table.columns):
            cells[f"{get_column_letter(2 + i)}{r}"] = column.header or column.label
    for row in table.rows:
        r += 1
        cells[f"A{r}"] = "  " * row.indent + row.label
        if row.kind == "data":
            for i, cell in enumerate(row.cells):
                cells[f"{get_column_letter(2 + i)}{r}"] = cell.text
    r += 1
    for note in table.footnotes:
        r += 1
        cells[f"A{r}"] = note
    cells["_header_rows"] = f"${header}:${header + (1 if table.has_spanners else 0)}"
    return {k: v for k, v in cells.items() if v}


def check_sheet(ws, table: Table) -> int:
    """Assert the sheet shows exactly the model; the number of cells checked."""
    expected = expected_cells(table)
    header_rows = expected.pop("_header_rows")
    found = {c.coordinate: shown(c) for row in ws.iter_rows() for c in row if shown(c)}
    assert found == expected, table.id
    n_titles = len(table.title)
    assert all(ws[f"A{r}"].font.b for r in range(1, n_titles + 1)), table.id
    assert ws.print_title_rows == header_rows, table.id
    assert ws.freeze_panes == f"B{int(header_rows.split(':$')[1]) + 1}", table.id
    assert ws.oddFooter.left.text.startswith(f"Source: {table.spec_path}  Data cutoff: {table.cutoff}  Run: ")
    assert (ws.oddFooter.right.text, ws.page_setup.orientation) == ("Page &P of &N", "landscape")
    text_cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in text_cells), table.id
    assert all(c.quotePrefix for c in text_cells if c.value[:1] in "=+-@"), table.id
    return len(expected)


@pytest.mark.parametrize("output_id", CHECKED)
def test_each_output_workbook_shows_its_model(outputs, output_id) -> None:
    folder, tables = outputs
    wb = load_workbook(folder / f"{output_id}.xlsx")
    assert wb.sheetnames == [output_id]
    assert check_sheet(wb[output_id], tables[output_id]) > 20


def test_combined_workbook_shows_every_model_in_spec_order(outputs) -> None:
    folder, tables = outputs
    wb = load_workbook(folder / "combined.xlsx")
    assert wb.sheetnames == list(tables)
    assert sum(check_sheet(wb[i], t) for i, t in tables.items()) > 1000


def test_numbers_stay_numbers_and_spanners_are_merged(outputs) -> None:
    folder, tables = outputs
    t1 = load_workbook(folder / "T1.xlsx")["T1"]
    numbers = [c for row in t1.iter_rows() for c in row if isinstance(c.value, (int, float))]
    assert numbers and all(c.data_type == "n" for c in numbers)
    t3 = tables["T3"]
    assert t3.has_spanners
    ws = load_workbook(folder / "T3.xlsx")["T3"]
    header = len(t3.title) + 2
    merged = sorted(str(r) for r in ws.merged_cells.ranges)
    assert merged == sorted([f"A{header}:A{header + 1}"] + [
        f"{get_column_letter(2 + a)}{header}:{get_column_letter(2 + b)}{header}"
        for a, b in t3.spanner_groups() if b > a])
