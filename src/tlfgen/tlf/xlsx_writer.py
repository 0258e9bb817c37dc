"""TLF stage: XLSX writer (openpyxl). Reads only the ``Table`` model.

One sheet per output: title lines, the header row(s) (spanners merged),
the body, then the footnotes. Header rows are frozen and repeat on printed
pages; listings get a page break every ``rows_per_page`` rows. A cell whose
text is a plain number ("30", "0.370") is stored as that number with a number
format showing the same decimals; every other cell is stored as text through
``tlfgen.io.xlsx_safe.write_text_cell`` so "=1+1" never becomes a formula.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from tlfgen.io.xlsx_safe import write_text_cell
from tlfgen.tlf.model import Table
from tlfgen.tlf.ooxml import normalise_package

NUMBER_RE = re.compile(r"^-?\d{1,15}(\.(\d{1,10}))?$")
BOLD = Font(bold=True)
SMALL = Font(size=8)
CENTER = Alignment(horizontal="center")
WRAP_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
THIN = Side(style="thin")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_name(table_id: str) -> str:
    return _BAD_SHEET_CHARS.sub("_", table_id)[:31] or "Sheet"


def write_value(ws: Worksheet, row: int, col: int, text: str) -> None:
    """A plain number as a number formatted as displayed; anything else as literal text."""
    match = NUMBER_RE.match(text)
    if match and not (len(text) > 1 and text.lstrip("-").startswith("0") and not text.lstrip("-").startswith("0.")):
        cell = ws.cell(row=row, column=col, value=float(text) if match.group(1) else int(text))
        decimals = len(match.group(2) or "")
        cell.number_format = "0." + "0" * decimals if decimals else "0"
        return
    write_text_cell(ws, row, col, text)


def _fill_sheet(ws: Worksheet, table: Table, run_at: datetime) -> None:
    n_cols = 1 + len(table.columns)
    r = 1
    for line in table.title:
        write_text_cell(ws, r, 1, line)
        ws.cell(row=r, column=1).font = BOLD
        r += 1
    r += 1
    header_start = r
    if table.has_spanners:
        write_text_cell(ws, r, 1, table.stub_header)
        ws.merge_cells(start_row=r, start_column=1, end_row=r + 1, end_column=1)
        start = 0
        while start < len(table.columns):
            end = start
            while end + 1 < len(table.columns) and table.columns[end + 1].spanner == table.columns[start].spanner:
                end += 1
            write_text_cell(ws, r, 2 + start, table.columns[start].spanner)
            if end > start:
                ws.merge_cells(start_row=r, start_column=2 + start, end_row=r, end_column=2 + end)
            start = end + 1
        r += 1
        for i, column in enumerate(table.columns):
            write_text_cell(ws, r, 2 + i, column.header or column.label)
    else:
        write_text_cell(ws, r, 1, table.stub_header)
        for i, column in enumerate(table.columns):
            write_text_cell(ws, r, 2 + i, table.header_lines(column))
    header_end = r
    for hr in range(header_start, header_end + 1):
        for c in range(1, n_cols + 1):
            cell = ws.cell(row=hr, column=c)
            cell.font = BOLD
            cell.alignment = WRAP_CENTER if c > 1 else Alignment(vertical="center", wrap_text=True)
            cell.border = Border(top=THIN if hr == header_start else None, bottom=THIN if hr == header_end else None)
    r += 1
    first_body = r
    for k, row in enumerate(table.rows):
        label = ("  " * row.indent) + row.label
        write_text_cell(ws, r, 1, label)
        if row.kind == "header" or (row.indent == 0 and table.kind == "table"):
            ws.cell(row=r, column=1).font = BOLD
        if row.kind == "data":
            for i, cell in enumerate(row.cells):
                if cell.text:
                    write_value(ws, r, 2 + i, cell.text)
                    if table.kind == "table":
                        ws.cell(row=r, column=2 + i).alignment = CENTER
        if table.rows_per_page and k and k % table.rows_per_page == 0:
            ws.row_breaks.append(Break(id=r - 1))
        r += 1
    for c in range(1, n_cols + 1):
        ws.cell(row=r - 1, column=c).border = Border(bottom=THIN)
    r += 1
    for note in table.footnotes:
        write_text_cell(ws, r, 1, note)
        ws.cell(row=r, column=1).font = SMALL
        r += 1
    ws.freeze_panes = ws.cell(row=first_body, column=2)
    ws.print_title_rows = f"{header_start}:{header_end}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.left.text = (f"Source: {table.spec_path}  Data cutoff: {table.cutoff}  "
                              f"Run: {run_at.strftime('%Y-%m-%d %H:%M')} UTC")
    ws.oddFooter.left.size = 8
    ws.oddFooter.right.text = "Page &P of &N"
    ws.oddFooter.right.size = 8
    _widths(ws, table)


def _widths(ws: Worksheet, table: Table) -> None:
    stub = max([len(table.stub_header)] + [len(r.label) + 2 * r.indent for r in table.rows[:500]] + [10])
    ws.column_dimensions["A"].width = min(stub + 2, 60)
    for i, column in enumerate(table.columns):
        longest = max([len(part) for part in (column.header or column.label).split("\n")]
                      + [len(r.cells[i].text) for r in table.rows[:500] if r.kind == "data"] + [8])
        ws.column_dimensions[get_column_letter(2 + i)].width = min(longest + 2, 50)


def create_xlsx(tables: Sequence[Table], run_at: datetime) -> bytes:
    """The XLSX bytes: one sheet per table, in the given order."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "tlfgen"
    wb.properties.created = run_at.replace(tzinfo=None)
    wb.properties.modified = run_at.replace(tzinfo=None)
    used: set[str] = set()
    for table in tables:
        name = sheet_name(table.id)
        while name in used:
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        _fill_sheet(wb.create_sheet(name), table, run_at)
    buffer = io.BytesIO()
    wb.save(buffer)
    return normalise_package(buffer.getvalue(), run_at)
