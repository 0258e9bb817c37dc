"""TLF stage: XLSX writer on XlsxWriter (constant-memory mode). Reads only the ``Table`` model.

One sheet per output: title lines, the header row(s) (spanners merged),
the body, then the footnotes. Header rows are frozen and repeat on printed
pages; listings get a page break every ``rows_per_page`` rows (Excel keeps at
most 1,023 manual breaks a sheet; XlsxWriter writes the first 1,023, and Excel's
own page breaks go on after them) and an autofilter on their header row. Every
printed page has the footer "Source .. Data cutoff .. Run .." and "Page x of y".

A cell whose text is a plain number ("30", "0.370", a p-value) is stored as that
number with a number format showing the same decimals; a complete ISO date
("2021-03-08") as an Excel date formatted yyyy-mm-dd; every other cell ("< 0.001",
"27 (90.0)") with ``write_string``, so "=1+1" never becomes a formula (text
starting with = + - @ also gets ``quote_prefix``, so Excel keeps it text after an
edit). Text is cleaned and length-checked by ``tlfgen.io.xlsx_safe``.

XlsxWriter writes rows in order and keeps one row in memory (``constant_memory``):
cells are written top to bottom, left to right. Same tables and run time -> same
bytes (``tlfgen.io.ooxml.create_workbook``).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from tlfgen.errors import RenderError
from tlfgen.io.ooxml import CELL_PADDING, create_workbook, set_print_margins
from tlfgen.io.xlsx_safe import FORMULA_STARTS, checked_cell_text
from tlfgen.tlf.model import Table

NUMBER_RE = re.compile(r"^-?\d{1,15}(\.(\d{1,10}))?$")
NUMBER_FORMATS = ("0",) + tuple("0." + "0" * d for d in range(1, 11))
#: a complete ISO 8601 date printed in a cell (listings): stored as an Excel date
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
DATE_FORMAT = "yyyy-mm-dd"
#: day 0 of Excel's 1900 date system as Excel counts it (serial 61 is 1900-03-01)
EXCEL_EPOCH = date(1899, 12, 30)
#: rows in an Excel sheet
MAX_ROWS = 1_048_576
#: Excel's limit on a header/footer string
MAX_FOOTER_CHARS = 255
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
#: XlsxWriter format properties of each style part
_PARTS = {
    "bold": {"bold": True}, "small": {"font_size": 8},
    "center": {"align": "center"},
    "wrap_center": {"align": "center", "valign": "vcenter", "text_wrap": True},
    "wrap": {"valign": "vcenter", "text_wrap": True},
    "top": {"top": 1}, "bottom": {"bottom": 1}, "topbottom": {"top": 1, "bottom": 1},
}


def sheet_name(table_id: str) -> str:
    """A valid Excel sheet name for an output id (bad characters -> "_", at most 31 UTF-16 units)."""
    name = _BAD_SHEET_CHARS.sub("_", table_id)
    while len(name.encode("utf-16-le")) > 62:
        name = name[:-1]
    if name.startswith("'") or name.endswith("'"):
        name = "_" + name[1:-1] + "_" if len(name) > 1 else "_"
    if name.lower() == "history":  # reserved by Excel
        name += "_"
    return name or "Sheet"


@dataclass(frozen=True)
class Layout:
    """Where the parts of a table go on its sheet (1-based rows)."""

    n_cols: int
    header_start: int
    header_end: int
    first_body: int
    last_row: int  # last row written (last footnote, or the body's last row)
    merges: tuple[str, ...]
    breaks: tuple[int, ...]


def compute_layout(table: Table) -> Layout:
    header_start = len(table.title) + 2
    header_end = header_start + (1 if table.has_spanners else 0)
    merges: list[str] = []
    if table.has_spanners:
        merges.append(f"A{header_start}:A{header_end}")
        for start, end in table.spanner_groups():
            if end > start:
                merges.append(f"{xl_col_to_name(1 + start)}{header_start}:{xl_col_to_name(1 + end)}{header_start}")
    first_body = header_end + 1
    breaks = tuple(first_body + k - 1 for k in range(1, len(table.rows))
                   if table.rows_per_page and k % table.rows_per_page == 0)
    body_end = first_body + len(table.rows) - 1
    last_row = body_end + 1 + len(table.footnotes) if table.footnotes else body_end
    return Layout(1 + len(table.columns), header_start, header_end, first_body, last_row, tuple(merges), breaks)


def excel_date(text: str) -> int | None:
    """The Excel serial day of a complete ISO date ("2021-03-08" -> 44263), else None (partial or
    impossible dates stay text)."""
    match = DATE_RE.match(text)
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return (day - EXCEL_EPOCH).days if day >= date(1900, 3, 1) else None


def excel_number(text: str) -> tuple[int | float, str] | None:
    """(number, number format) of a cell printed as a plain number ("0.370" -> (0.37, "0.000")), else
    None: a leading zero ("007") is an identifier, not a number."""
    match = NUMBER_RE.match(text)
    digits = text.lstrip("-")
    if match is None or (len(digits) > 1 and digits.startswith("0") and not digits.startswith("0.")):
        return None
    return (float(text) if match.group(1) else int(text)), NUMBER_FORMATS[len(match.group(2) or "")]


class _Cells:
    """Writes the cells of one sheet; one XlsxWriter format per style key, made on first use."""

    def __init__(self, ws: Worksheet, formats: dict[tuple, Format | None], add_format) -> None:
        self.ws, self.formats, self.add_format = ws, formats, add_format
        self.body_memo: dict[tuple[str, str, str], tuple[str, object, Format | None]] = {}

    def style(self, font: str, align: str, border: str, fmt: str = "General", quote: bool = False) -> Format | None:
        key = (font, align, border, fmt, quote)
        if key not in self.formats:
            props: dict = {}
            for part in (font, align, border):
                props.update(_PARTS.get(part, {}))
            if fmt != "General":
                props["num_format"] = fmt
            if quote:
                props["quote_prefix"] = True
            self.formats[key] = self.add_format(props) if props else None
        return self.formats[key]

    def text(self, r: int, c: int, value: str, font: str = "", align: str = "", border: str = "") -> None:
        """Text at 1-based (r, c), never a formula; an empty cell only when it carries a style."""
        text = checked_cell_text(value, f"sheet {self.ws.name!r} row {r} column {c}")
        if text:
            self.ws.write_string(r - 1, c - 1, text, self.style(font, align, border, quote=text.startswith(FORMULA_STARTS)))
        else:
            self._blank(r, c, self.style(font, align, border))

    def body(self, r: int, c: int, value: str, align: str, border: str) -> None:
        """A body cell: a number or date where the text is one, else text (memoised per text)."""
        key = (value, align, border)
        found = self.body_memo.get(key)
        if found is None:
            serial = excel_date(value) if value else None
            number = excel_number(value) if value and serial is None else None
            if serial is not None:
                found = ("n", serial, self.style("", align, border, DATE_FORMAT))
            elif number is not None:
                found = ("n", number[0], self.style("", align, border, number[1]))
            else:
                text = checked_cell_text(value, f"sheet {self.ws.name!r} row {r} column {c}")
                quote = text.startswith(FORMULA_STARTS)
                # an empty cell is written only to carry the rule under the last body row
                style = self.style("", align, border, quote=quote) if text else (self.style("", "", border) if border else None)
                found = ("s" if text else "b", text, style)
            self.body_memo[key] = found
        kind, data, style = found
        if kind == "n":
            self.ws.write_number(r - 1, c - 1, data, style)  # type: ignore[arg-type]
        elif kind == "s":
            self.ws.write_string(r - 1, c - 1, data, style)  # type: ignore[arg-type]
        else:
            self._blank(r, c, style)

    def _blank(self, r: int, c: int, style: Format | None) -> None:
        if style is not None:
            self.ws.write_blank(r - 1, c - 1, None, style)


def _header_texts(table: Table, layout: Layout) -> dict[int, list[str]]:
    """Header row -> the text of every header cell (covered merged cells: "")."""
    n = len(table.columns)
    if not table.has_spanners:
        return {layout.header_start: [table.stub_header] + [table.header_lines(c) for c in table.columns]}
    top = [table.stub_header] + [""] * n
    for start, _end in table.spanner_groups():
        top[1 + start] = table.columns[start].spanner
    second = [""] + [c.header or c.label for c in table.columns]
    return {layout.header_start: top, layout.header_end: second}


def _write_header(cells: _Cells, table: Table, layout: Layout) -> None:
    """The header rows, then their merges: a one-row merge at once, the stub's two-row merge last in
    its row (XlsxWriter writes a merge's covered cells, and a later row ends the earlier one)."""
    last_styled = layout.first_body + len(table.rows) - 1 if table.rows else layout.header_end
    for r, texts in _header_texts(table, layout).items():
        border = "topbottom" if layout.header_start == layout.header_end else ("top" if r == layout.header_start else "bottom")
        if r == last_styled:
            border = "bottom"  # no body: the rule under the header replaces its borders
        for c, text in enumerate(texts, start=1):
            cells.text(r, c, text, "bold", "wrap_center" if c > 1 else "wrap", border)
        if r != layout.header_start:
            continue
        for ref in sorted(layout.merges, key=lambda ref: ref.startswith("A")):  # the stub's merge last
            c = xl_cell_to_rowcol(ref.split(":")[0])[1] + 1
            style = cells.style("bold", "wrap_center" if c > 1 else "wrap", border)
            if cells.ws.merge_range(ref, checked_cell_text(texts[c - 1], f"sheet {cells.ws.name!r} row {r} column {c}"),
                                    style) != 0:
                raise RenderError(f"sheet {cells.ws.name!r}: the header cells {ref} could not be merged")


def _write_cells(cells: _Cells, table: Table, layout: Layout) -> None:
    """Every cell, in row order: titles, header, body, footnotes."""
    for r, line in enumerate(table.title, start=1):
        cells.text(r, 1, line, "bold")
    _write_header(cells, table, layout)
    body_end = layout.first_body + len(table.rows) - 1
    align = "center" if table.kind == "table" else ""
    n_data = layout.n_cols - 1
    for k, row in enumerate(table.rows):
        r = layout.first_body + k
        border = "bottom" if r == body_end else ""
        bold = "bold" if row.kind == "header" or (row.indent == 0 and table.kind == "table") else ""
        cells.text(r, 1, ("  " * row.indent) + row.label, bold, "", border)
        texts = [c.text for c in row.cells] if row.kind == "data" else [""] * n_data
        for c, text in enumerate(texts, start=2):
            cells.body(r, c, text, align, border)
    for k, note in enumerate(table.footnotes):
        cells.text(body_end + 2 + k, 1, note, "small")


def create_footer(table: Table, run_at: datetime) -> str:
    """The footer code: source, cutoff and run time left, "Page x of y" right, 8 point.

    "&" in the text is doubled (Excel's escape); a source path that would take the footer past
    Excel's 255 characters is shortened from the left ("...tlf/T1.yaml").
    """
    def code(source: str) -> str:
        left = f"Source: {source}  Data cutoff: {table.cutoff}  Run: {run_at.strftime('%Y-%m-%d %H:%M')} UTC"
        return f"&L&8 {left.replace('&', '&&')}&R&8 Page &P of &N"

    footer, source = code(table.spec_path), table.spec_path
    while len(footer.encode("utf-16-le")) > 2 * MAX_FOOTER_CHARS and source:
        source = source[1:]
        footer = code("..." + source)
    return footer


def _set_up_sheet(ws: Worksheet, table: Table, layout: Layout, run_at: datetime) -> None:
    """Everything on the sheet except the cells: breaks, frozen header, printing, widths."""
    if layout.last_row > MAX_ROWS:
        raise RenderError(f"{table.id}: the sheet needs {layout.last_row} rows; an Excel sheet holds {MAX_ROWS}",
                          hint="split the listing (a narrower population or subset per output)")
    if layout.breaks:
        ws.set_h_pagebreaks(list(layout.breaks))
    ws.freeze_panes(layout.first_body - 1, 1)
    if table.kind == "listing" and table.rows:  # a listing is data to filter: on its (last) header row
        ws.autofilter(layout.header_end - 1, 0, layout.first_body + len(table.rows) - 2, layout.n_cols - 1)
    ws.repeat_rows(layout.header_start - 1, layout.header_end - 1)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    set_print_margins(ws, footer=create_footer(table, run_at))
    for c, width in enumerate(compute_widths(table)):
        ws.set_column(c, c, width - CELL_PADDING)


def compute_widths(table: Table) -> list[int]:
    """Column widths in characters, stub first: the longest text of the first 500 rows + 2, capped."""
    stub = max([len(table.stub_header)] + [len(r.label) + 2 * r.indent for r in table.rows[:500]] + [10])
    widths = [min(stub + 2, 60)]
    for i, column in enumerate(table.columns):
        longest = max([len(part) for part in (column.header or column.label).split("\n")]
                      + [len(r.cells[i].text) for r in table.rows[:500] if r.kind == "data"] + [8])
        widths.append(min(longest + 2, 50))
    return widths


def create_xlsx(tables: Sequence[Table], run_at: datetime, *, cache: dict | None = None) -> bytes:
    """The XLSX bytes: one sheet per table, in the given order.

    ``cache`` is accepted for callers that pass one and is not used: XlsxWriter writes each
    workbook in one pass.
    """
    del cache
    buffer = io.BytesIO()
    wb = create_workbook(buffer, run_at, constant_memory=True)
    formats: dict[tuple, Format | None] = {}
    used: set[str] = set()
    try:
        for table in tables:
            name = sheet_name(table.id)
            while name.lower() in used:
                name = name[:28] + f"_{len(used)}"
            used.add(name.lower())
            ws = wb.add_worksheet(name)
            layout = compute_layout(table)
            _set_up_sheet(ws, table, layout, run_at)
            _write_cells(_Cells(ws, formats, wb.add_format), table, layout)
    finally:
        wb.close()
    return buffer.getvalue()
