"""TLF stage: XLSX writer (openpyxl for the package, cell XML streamed). Reads only the ``Table`` model.

One sheet per output: title lines, the header row(s) (spanners merged),
the body, then the footnotes. Header rows are frozen and repeat on printed
pages; listings get a page break every ``rows_per_page`` rows and an autofilter
on their header row. A cell whose text is a plain number ("30", "0.370", a
p-value) is stored as that number with a number format showing the same
decimals; a complete ISO date ("2021-03-08") as an Excel date formatted
yyyy-mm-dd; every other cell ("< 0.001", "27 (90.0)") is stored as an inline
string through ``tlfgen.io.xlsx_safe.inline_text_xml``, so "=1+1" never becomes
a formula (text starting with = + - @ also gets ``quotePrefix``).

Speed: openpyxl writes everything but the cells (sheet setup, merges, print
titles, page breaks, footer, column widths, styles, workbook parts); the
``<sheetData>`` of each sheet is generated here as one string and put into the
saved package. Every workbook registers the same cell formats in the same
order (``STYLE_KEYS``), so a sheet's XML does not depend on its workbook and
``create_xlsx(..., cache=...)`` reuses it (the combined workbook repeats every
output). Cell XML is computed once per distinct text per column.

Why not XlsxWriter (issue 23 asked for a well-kept writer unless measured clearly worse): the
same workbooks written with XlsxWriter 3.3 (constant-memory mode, every cell, format, merge,
width and print setting identical by content) took 9.5x the CPU time of this writer for the
5,000-subject study's XLSX outputs (7.2 s against 0.76 s, interleaved runs of
``benchmarks/bench_xlsx.py pair``; 1.5x on the embedded study): 6.4 s more, about 17% of that
study's end-to-end CPU time in benchmarks/results.md (37.7 s). The findings report
(sdtm/report.py, same technique) took 5x (0.36 s against 0.07 s at 6,519 findings). XlsxWriter's
peak memory was lower (no rise while writing, against 60 MB here).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.compat import safe_string
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from tlfgen.errors import RenderError
from tlfgen.io.xlsx_safe import inline_text_xml
from tlfgen.tlf.model import Table
from tlfgen.io.ooxml import read_entries, store_zip, write_package

NUMBER_RE = re.compile(r"^-?\d{1,15}(\.(\d{1,10}))?$")
THIN = Side(style="thin")
FONTS = {"bold": Font(bold=True), "small": Font(size=8)}
ALIGNS = {"center": Alignment(horizontal="center"),
          "wrap_center": Alignment(horizontal="center", vertical="center", wrap_text=True),
          "wrap": Alignment(vertical="center", wrap_text=True)}
BORDERS = {"top": Border(top=THIN), "bottom": Border(bottom=THIN), "topbottom": Border(top=THIN, bottom=THIN)}
NUMBER_FORMATS = ("0",) + tuple("0." + "0" * d for d in range(1, 11))
#: a complete ISO 8601 date printed in a cell (listings): stored as an Excel date
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
DATE_FORMAT = "yyyy-mm-dd"
#: day 0 of Excel's 1900 date system as Excel counts it (serial 61 is 1900-03-01)
EXCEL_EPOCH = date(1899, 12, 30)
#: rows in an Excel sheet
MAX_ROWS = 1_048_576
#: Excel's limit on a header or footer (the code written to the file)
MAX_FOOTER_CHARS = 255
FOOTER_RIGHT = "Page &P of &N"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _style_keys() -> tuple[tuple[str, str, str, str, bool], ...]:
    """Every cell format the writer uses: (font, alignment, border, number format, quote prefix)."""
    keys: list[tuple[str, str, str, str, bool]] = []
    for quote in (False, True):
        keys += [("bold", "", "", "General", quote), ("small", "", "", "General", quote)]
        keys += [("bold", align, border, "General", quote)
                 for align in ("wrap", "wrap_center") for border in ("", "top", "bottom", "topbottom")]
        keys += [(font, align, border, "General", quote)
                 for font in ("", "bold") for align in ("", "center") for border in ("", "bottom")]
    keys += [("", align, border, fmt, False) for fmt in NUMBER_FORMATS + (DATE_FORMAT,)
             for align in ("", "center") for border in ("", "bottom")]
    return tuple(dict.fromkeys(keys))


STYLE_KEYS = _style_keys()


def sheet_name(table_id: str) -> str:
    """A sheet name Excel accepts for an output id: bad characters -> "_", at most 31 characters, and
    not "History" (reserved by Excel, in any case)."""
    name = _BAD_SHEET_CHARS.sub("_", table_id)[:31] or "Sheet"
    return name[:30] + "_" if name.lower() == "history" else name


def create_footer_left(table: Table, run_at: datetime) -> str:
    """The footer's left part: source, cutoff, run time. "&" is doubled (Excel's footer escape); a
    source path that would take the whole footer past Excel's 255 characters is cut from the left
    ("...tlf/T1.yaml")."""
    def text(source: str) -> str:
        return (f"Source: {source}  Data cutoff: {table.cutoff}  "
                f"Run: {run_at.strftime('%Y-%m-%d %H:%M')} UTC").replace("&", "&&")

    room = MAX_FOOTER_CHARS - len(f"&L&8 &R&8 {FOOTER_RIGHT}")
    source, left = table.spec_path, text(table.spec_path)
    while len(left) > room and source:
        source = source[1:]
        left = text("..." + source)
    return left


def register_styles(ws: Worksheet) -> dict[tuple, int]:
    """Add ``STYLE_KEYS`` to the workbook's cell formats (same order every time): key -> style id."""
    ids = {}
    for font, align, border, fmt, quote in STYLE_KEYS:
        cell = WriteOnlyCell(ws)
        if font:
            cell.font = FONTS[font]
        if align:
            cell.alignment = ALIGNS[align]
        if border:
            cell.border = BORDERS[border]
        if fmt != "General":
            cell.number_format = fmt
        if quote:
            cell.quotePrefix = True
        ids[(font, align, border, fmt, quote)] = cell.style_id
    return ids


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
                merges.append(f"{get_column_letter(2 + start)}{header_start}:{get_column_letter(2 + end)}{header_start}")
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


class _CellXml:
    """The XML after ``<c r="..."`` of one cell, memoised per (text, style) for a sheet."""

    def __init__(self, sheet: str, ids: dict[tuple, int]) -> None:
        self.sheet, self.ids, self.memo = sheet, ids, {}
        self.body_memo: dict[tuple[str, str], dict[str, str]] = {}

    def text(self, text: str, font: str, align: str, border: str, where: tuple[int, int]) -> str:
        key = (text, font, align, border, False)
        found = self.memo.get(key)
        if found is None:
            inner, quote = inline_text_xml(text, f"sheet {self.sheet!r} row {where[0]} column {where[1]}")
            found = self._finish(inner, "inlineStr", (font, align, border, "General", quote))
            self.memo[key] = found
        return found

    def value(self, text: str, align: str, border: str, where: tuple[int, int]) -> str:
        """A plain number as a number formatted as displayed; anything else as literal text."""
        key = (text, "", align, border, True)
        found = self.memo.get(key)
        if found is None:
            match = NUMBER_RE.match(text)
            digits = text.lstrip("-")
            serial = excel_date(text)
            if serial is not None:
                found = self._finish(f"<v>{serial}</v>", "n", ("", align, border, DATE_FORMAT, False))
            elif match and not (len(text) > 1 and digits.startswith("0") and not digits.startswith("0.")):
                number = float(text) if match.group(1) else int(text)
                fmt = NUMBER_FORMATS[len(match.group(2) or "")]
                found = self._finish(f"<v>{safe_string(number)}</v>", "n", ("", align, border, fmt, False))
            else:
                inner, quote = inline_text_xml(text, f"sheet {self.sheet!r} row {where[0]} column {where[1]}")
                found = self._finish(inner, "inlineStr", ("", align, border, "General", quote))
            self.memo[key] = found
        return found

    def body_cells(self, texts: Sequence[str], align: str, border: str, r: int, refs: Sequence[str]) -> list[str]:
        """The ``<c>`` elements of one body row's data cells (``refs``: ``'<c r="B'`` per column).

        Empty cells are left out unless they carry the border. Memoised per (align, border) by
        text: a dict lookup per cell (hundreds of thousands in a listing).
        """
        memo = self.body_memo.setdefault((align, border), {})
        out = []
        for i, text in enumerate(texts):
            fragment = memo.get(text)
            if fragment is None:
                if text:
                    fragment = self.value(text, align, border, (r, i + 2))
                elif border:
                    fragment = self.text("", "", "", border, (r, i + 2))
                else:
                    fragment = ""
                memo[text] = fragment
            if fragment:
                out.append(f'{refs[i]}{r}"{fragment}')
        return out

    def _finish(self, inner: str, kind: str, style: tuple) -> str:
        sid = self.ids[style]
        s_attr = f' s="{sid}"' if sid else ""
        if not inner:
            return f"{s_attr}/>" if sid else ""
        return f'{s_attr} t="{kind}">{inner}</c>'


def create_sheet_data(table: Table, layout: Layout, ids: dict[tuple, int], sheet: str) -> str:
    """The ``<sheetData>`` element of one table's sheet."""
    cells = _CellXml(sheet, ids)
    letters = [get_column_letter(c) for c in range(1, layout.n_cols + 1)]
    grid: dict[int, list[str]] = {}

    def put(row: int, col: int, fragment: str) -> None:
        if fragment:
            grid.setdefault(row, []).append(f'<c r="{letters[col - 1]}{row}"{fragment}')

    for r, line in enumerate(table.title, start=1):
        put(r, 1, cells.text(line, "bold", "", "", (r, 1)))
    header = _header_texts(table, layout)
    body_end = layout.first_body + len(table.rows) - 1
    last_styled = body_end if table.rows else layout.header_end  # the row that gets the bottom rule
    for r, texts in header.items():
        border = "topbottom" if layout.header_start == layout.header_end else ("top" if r == layout.header_start else "bottom")
        if r == last_styled:
            border = "bottom"  # no body: the rule under the header replaces its borders
        for c, text in enumerate(texts, start=1):
            put(r, c, cells.text(text, "bold", "wrap_center" if c > 1 else "wrap", border, (r, c)))
    align = "center" if table.kind == "table" else ""
    parts = ["<sheetData>"]
    for r in sorted(grid):
        parts.append(f'<row r="{r}">{"".join(grid[r])}</row>')
    grid.clear()
    n_data = layout.n_cols - 1
    refs = [f'<c r="{letter}' for letter in letters[1:]]
    for k, row in enumerate(table.rows):
        r = layout.first_body + k
        border = "bottom" if r == body_end else ""
        bold = "bold" if row.kind == "header" or (row.indent == 0 and table.kind == "table") else ""
        row_parts = [f'<row r="{r}">']
        label = cells.text(("  " * row.indent) + row.label, bold, "", border, (r, 1))
        if label:
            row_parts.append(f'<c r="A{r}"{label}')
        texts = [c.text for c in row.cells] if row.kind == "data" else [""] * n_data
        row_parts += cells.body_cells(texts, align, border, r, refs)
        if len(row_parts) > 1:
            parts.append("".join(row_parts) + "</row>")
    for k, note in enumerate(table.footnotes):
        r = body_end + 2 + k
        put(r, 1, cells.text(note, "small", "", "", (r, 1)))
    parts.extend(f'<row r="{r}">{"".join(grid[r])}</row>' for r in sorted(grid))
    parts.append("</sheetData>")
    return "".join(parts)


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


def _set_up_sheet(ws: Worksheet, table: Table, layout: Layout, run_at: datetime) -> None:
    """Everything on the sheet except the cells: merges, breaks, frozen header, printing, widths."""
    for ref in layout.merges:
        ws.merged_cells.add(CellRange(ref))
    if layout.breaks:  # set at once: RowBreak.append copies the list (quadratic for long listings)
        ws.row_breaks.brk = [Break(id=row) for row in layout.breaks]
    ws.freeze_panes = f"B{layout.first_body}"
    if table.kind == "listing" and table.rows:  # a listing is data to filter: on its (last) header row
        ws.auto_filter.ref = f"A{layout.header_end}:{get_column_letter(layout.n_cols)}{layout.first_body + len(table.rows) - 1}"
    ws.print_title_rows = f"{layout.header_start}:{layout.header_end}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.left.text = create_footer_left(table, run_at)
    ws.oddFooter.left.size = 8
    ws.oddFooter.right.text = FOOTER_RIGHT
    ws.oddFooter.right.size = 8
    _widths(ws, table)


def _widths(ws: Worksheet, table: Table) -> None:
    stub = max([len(table.stub_header)] + [len(r.label) + 2 * r.indent for r in table.rows[:500]] + [10])
    ws.column_dimensions["A"].width = min(stub + 2, 60)
    for i, column in enumerate(table.columns):
        longest = max([len(part) for part in (column.header or column.label).split("\n")]
                      + [len(r.cells[i].text) for r in table.rows[:500] if r.kind == "data"] + [8])
        ws.column_dimensions[get_column_letter(2 + i)].width = min(longest + 2, 50)


def create_xlsx(tables: Sequence[Table], run_at: datetime, *, cache: dict | None = None) -> bytes:
    """The XLSX bytes: one sheet per table, in the given order.

    ``cache`` (a dict the caller keeps while the same Table objects are alive) keeps each
    table's generated sheet XML, so writing a table again (the combined workbook) is cheap.
    """
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "tlfgen"
    wb.properties.created = run_at.replace(tzinfo=None)
    wb.properties.modified = run_at.replace(tzinfo=None)
    cache = {} if cache is None else cache
    used: set[str] = set()
    sheet_xml: dict[str, bytes] = {}
    ids: dict[tuple, int] | None = None
    for k, table in enumerate(tables, start=1):
        name = sheet_name(table.id)
        while name.lower() in used:  # Excel compares sheet names ignoring case
            name = name[:28] + f"_{len(used)}"
        used.add(name.lower())
        ws = wb.create_sheet(name)
        if ids is None:
            ids = register_styles(ws)
        layout = compute_layout(table)
        if layout.last_row > MAX_ROWS:
            raise RenderError(f"{table.id}: the sheet needs {layout.last_row:,} rows; an Excel sheet holds {MAX_ROWS:,}",
                              hint="split the listing into outputs with narrower populations or subsets")
        _set_up_sheet(ws, table, layout, run_at)
        key = (id(table), name)
        if key not in cache:
            cache[key] = (table, create_sheet_data(table, layout, ids, name).encode("utf-8"))
        dimension = f'<dimension ref="A1:{get_column_letter(layout.n_cols)}{layout.last_row}"/>'.encode()
        sheet_xml[f"xl/worksheets/sheet{k}.xml"] = (dimension, cache[key][1])
    buffer = io.BytesIO()
    with store_zip(buffer) as archive:
        ExcelWriter(wb, archive).write_data()
    entries = []
    for name, blob in read_entries(buffer.getvalue()):
        if name in sheet_xml:
            dimension, data = sheet_xml[name]
            blob = blob.replace(b'<dimension ref="A1:A1"/>', dimension, 1).replace(b"<sheetData></sheetData>", data, 1)
        entries.append((name, blob))
    return write_package(entries, run_at)
