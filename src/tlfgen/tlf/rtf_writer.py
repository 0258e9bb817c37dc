"""TLF stage: RTF writer (rtflite composes the RTF). Reads only the ``Table`` model and the
``TableLayout`` computed from it (``tlf/layout.py``), so an RTF output has the same font, column
widths and alignment as its DOCX.

Laid out as SAS ODS RTF output is in a submission:

- the page header holds the study id and "Page x of y" (``\\chpgn`` / ``NUMPAGES``);
- every page repeats the title lines, the column header rows, and the footnotes and source line
  under the table: the pages are cut here, from the layout's row heights (a block label is never
  left as the last row of a page), and each page is one rtflite document; the pages are then
  joined into one RTF file the way rtflite joins its own pages (``\\page``), so the renderer
  never breaks a page on its own;
- the body has rules above and below the header rows and below each page's last row, no
  vertical lines; text left-aligned, numbers aligned on the decimal as in the DOCX (a decimal
  tab stop ``\\tqdec\\tx`` in each number's cell: rtflite has no option for it, so the cell's
  paragraph is given it after rtflite wrote it); bold block labels, indented rows.

rtflite knows ten fonts by number (for its own pagination, not used here: each page is cut
before it is given to rtflite); every run uses font 1 and the font table's entry of font 1 is
then renamed to the study font (``DocumentStyle.font``). Text is escaped here (``rtf_text``):
rtflite passes text through as it is when its LaTeX conversion is off.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Sequence

from tlfgen.io.xlsx_safe import safe_cell_text
from tlfgen.tlf.fontmetrics import LINE_HEIGHT_EM
from tlfgen.tlf.layout import (
    CELL_PAD_X, CELL_PAD_Y, DocumentStyle, Memo, TableLayout, column_texts, compute_table_layout, count_lines,
    decimal_offset, decimal_tab_anchor, footnote_height, lines_each, split_at_decimal,
)
from tlfgen.tlf.model import Table

DEFAULT_STYLE = DocumentStyle()
#: space after the title paragraph and before the footnotes, points
TITLE_AFTER = 6.0
NOTE_BEFORE = 3.0
#: paragraph space above and below the text of a cell, points (rtflite: twips)
CELL_SPACE = CELL_PAD_Y / 2  # as the DOCX's cell margins above and below
#: points of each page's body not counted on (rules, rounding of the renderer's line heights)
PAGE_SLACK = 6.0
#: what rtflite writes between two pages of one document
PAGE_JOIN = "{\\pard\\fs2\\par}\\page{\\pard\\fs2\\par}\n"
INDENT_TWIPS = 200
_PAGE_FIELD = "Page {\\field{\\*\\fldinst PAGE }{\\fldrslt 1}} of {\\field{\\*\\fldinst NUMPAGES }{\\fldrslt 1}}"


#: the ASCII characters RTF escapes (``rtf_text``)
_RTF_ESCAPES = str.maketrans({"\\": "\\\\", "{": "\\{", "}": "\\}", "\n": "\\line ", "\t": "\\tab "})
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def rtf_text(text: str) -> str:
    r"""``text`` as RTF: ``\ { }`` escaped, line breaks as ``\line``, tabs as ``\tab``, every
    character outside ASCII as ``\uN?`` (UTF-16 units, so no code page is assumed)."""
    text = safe_cell_text(text).translate(_RTF_ESCAPES)
    return text if text.isascii() else _NON_ASCII.sub(_utf16_units, text)


def _utf16_units(match: re.Match) -> str:
    r"""A run of non-ASCII characters as RTF ``\uN?``: one per UTF-16 unit, as a signed 16-bit number."""
    encoded = match.group(0).encode("utf-16-le")
    units = (int.from_bytes(encoded[k:k + 2], "little") for k in range(0, len(encoded), 2))
    return "".join(f"\\u{unit - 65536 if unit > 32767 else unit}?" for unit in units)


def inches(points: float) -> float:
    return points / 72.0


def top_margin(style: DocumentStyle) -> float:
    """Points from the page top to the body: the page header line and a gap under it (the title,
    in the body, is the first line under the header, as in the DOCX's page header)."""
    return min(style.margin_top, style.header_distance + style.size * LINE_HEIGHT_EM + 6.0)


def bottom_margin(style: DocumentStyle) -> float:
    """Points from the body to the page bottom: the page has no footer (the footnotes and source
    line close the body, under the table), so only the footer distance and a gap."""
    return min(style.margin_bottom, style.footer_distance + 6.0)


def title_height(table: Table, style: DocumentStyle) -> float:
    return title_lines_height(table.title, style)


def title_lines_height(title: Sequence[str], style: DocumentStyle) -> float:
    """Points the title lines take, wrapped to the text width, and the space after them."""
    lines = sum(count_lines(t, style.text_width, font=style.font, size=style.title_size, bold=True) for t in title)
    return lines * style.title_size * LINE_HEIGHT_EM + TITLE_AFTER


def notes_height(table: Table, style: DocumentStyle, run_at: datetime) -> float:
    return footnote_height(list(table.footnotes) + [source_line(table, run_at)], style) + 2 * NOTE_BEFORE


def source_line(table: Table, run_at: datetime) -> str:
    return source_text(table.spec_path, table.cutoff, run_at)


def source_text(spec_path: str, cutoff: str, run_at: datetime) -> str:
    return f"Source: {spec_path}    Data cutoff: {cutoff}    Run: {run_at.strftime('%Y-%m-%d %H:%M')} UTC"


def body_room(table: Table, layout: TableLayout, style: DocumentStyle, run_at: datetime) -> float:
    """Points of a page left for the body rows (the column header rows already taken)."""
    return (style.page_height - top_margin(style) - bottom_margin(style) - title_height(table, style)
            - layout.header_height - notes_height(table, style, run_at) - PAGE_SLACK)


def row_heights(table: Table, layout: TableLayout, style: DocumentStyle) -> list[float]:
    """Height of each body row in points, lines counted as the renderer breaks them."""
    font, size = style.font, layout.size
    line = size * LINE_HEIGHT_EM
    inner = [c.width - CELL_PAD_X for c in layout.columns]
    labels = lines_each([(row.label, INDENT_TWIPS / 20 * row.indent,
                          row.kind == "header" or (row.indent == 0 and table.kind == "table")) for row in table.rows],
                        lambda label: count_lines(label[0], inner[0] - label[1], font=font, size=size, bold=label[2])
                        if label[0] else 1)
    columns = column_texts(table)
    cells = [lines_each(columns[j], lambda text: count_lines(text, inner[j], font=font, size=size) if text else 1)
             for j in range(1, len(inner))]
    return [n * line + 2 * CELL_SPACE for n in map(max, zip(labels, *cells))]


def split_pages(table: Table, layout: TableLayout, room: float,
                heights: Sequence[float] | None = None) -> list[tuple[int, int]]:
    """(first, end) row indexes of each page: rows fill ``room`` points; a row that must stay with
    the next one (a block label, a group label with indented rows) never ends a page."""
    heights = list(heights if heights is not None else layout.row_heights)
    pages: list[tuple[int, int]] = []
    start, used = 0, 0.0
    for k, height in enumerate(heights):
        if k > start and used + height > room:
            end = k
            while end - 1 > start and _keeps_with_next(table, end - 1):
                end -= 1
            pages.append((start, end))
            start, used = end, sum(heights[end:k])
        used += height
    pages.append((start, len(heights)))
    return pages


def _keeps_with_next(table: Table, k: int) -> bool:
    row = table.rows[k]
    if k + 1 >= len(table.rows):
        return False
    return row.kind == "header" or (table.kind == "table" and row.indent == 0
                                    and table.rows[k + 1].indent > row.indent)


def create_rtf(table: Table, run_at: datetime, *, style: DocumentStyle = DEFAULT_STYLE,
               layout: TableLayout | None = None, direct: bool = False) -> bytes:
    """The RTF bytes of one table or listing (ASCII: every other character escaped); ``direct``:
    rtflite encodes every row itself (slower, the same bytes: see ``_encode_page``)."""
    layout = layout or compute_table_layout(table, style)
    pages = compute_rtf_pages(table, run_at, style=style, layout=layout)
    style = rtf_sizes(style)
    # the pages' rtflite templates, one per row formats
    formats: dict[tuple[tuple[bool, int], ...], PageTemplate | None] = {}
    rows = _page_rows(table, layout)
    parts = [_encode_page(table, layout, style, run_at, rows[first:end], direct=direct, formats=formats)
             for first, end in pages]
    # the first page whole, the others from their page setup on, each without the closing brace
    chunks = [part[part.index("\\paperw") if k else 0:].rstrip()[:-1].rstrip() for k, part in enumerate(parts)]
    chunks[0] = use_study_font(chunks[0], style.font)  # the font table: in the first page's header
    return (("\n" + PAGE_JOIN).join(chunks) + "\n}\n").encode("ascii")


def rtf_sizes(style: DocumentStyle) -> DocumentStyle:
    """``style`` with whole-point text sizes, rounded down (rtflite takes whole points; smaller text
    never wraps more than the layout computed)."""
    return replace(style, title_size=math.floor(style.title_size), footnote_size=math.floor(style.footnote_size),
                   size=math.floor(style.size), listing_size=math.floor(style.listing_size))


def compute_rtf_pages(table: Table, run_at: datetime, *, style: DocumentStyle = DEFAULT_STYLE,
                      layout: TableLayout | None = None) -> list[tuple[int, int]]:
    """(first, end) body rows of each page of ``table``'s RTF: its page count is known when written."""
    layout = layout or compute_table_layout(table, style)
    style = rtf_sizes(style)
    return split_pages(table, layout, body_room(table, layout, style, run_at), row_heights(table, layout, style))


def use_study_font(text: str, font: str) -> str:
    entry = re.search(r"\{\\f0\\[a-z]+\\fcharset\d+\\fprq2 [^;]*;\}", text)
    if entry is None:  # pragma: no cover - rtflite's font table changed
        from tlfgen.errors import RenderError

        raise RenderError("rtflite's font table has no font 0", hint="pin rtflite to a version tlfgen supports")
    family = "\\froman" if "Serif" in font else "\\fswiss"
    return text.replace(entry.group(0), f"{{\\f0{family}\\fcharset0\\fprq2 {rtf_text(font)};}}", 1)


#: a template cell's text: row k, column j (``_encode_page``)
_TOKEN = re.compile(r"@@R(\d+)C(\d+)@@")
#: (cell texts already escaped, bold stub, indent level) of one body row
PageRow = tuple[tuple[str, ...], bool, int]
#: one row format's rtflite row: (the RTF before each cell's text, the cell's column), the RTF after the last
RowTemplate = tuple[tuple[tuple[str, int], ...], str]
#: a page as rtflite writes it with template rows: the RTF before its rows, each row format's row, the RTF after
PageTemplate = tuple[str, list[RowTemplate], str]


def _page_rows(table: Table, layout: TableLayout) -> list[PageRow]:
    """The body rows of ``table`` as RTF: each distinct text of a column escaped once."""
    n = len(table.columns)
    escaped = [Memo(lambda text, j=j: (_decimal_mark(text, layout, j) if j else "") + rtf_text(text))
               for j in range(n + 1)]
    out = []
    for row in table.rows:
        bold = row.kind == "header" or (row.indent == 0 and table.kind == "table")
        cells = [c.text for c in row.cells] if row.kind == "data" else [""] * n
        out.append((tuple([escaped[0][row.label]] + [escaped[j][t] for j, t in enumerate(cells, start=1)]), bold,
                    row.indent))
    return out


#: a cell's text starting with a mark the paragraph of the cell is given after rtflite wrote it:
#: "D<twips>" a decimal tab stop, "L<twips>" a left indent (``_decimal_mark``, ``_place_decimals``)
_MARK = re.compile(r"\\li0\\ri0\\ql(\\fs\d+\{\\f\d+ )\x02([DL])(\d+)\x03")


def _decimal_mark(text: str, layout: TableLayout, j: int) -> str:
    """The mark putting the first number of a cell of a decimal column at the column's
    ``decimal_at``: a decimal tab stop (in a table cell LibreOffice and Word align on it with no
    tab character), or a left indent where the decimal tab would align elsewhere ("NE (12.3, NE)")."""
    column = layout.columns[j]
    if column.align != "decimal" or not text.strip():
        return ""
    if decimal_tab_anchor(text) == split_at_decimal(text):
        return f"\x02D{round(column.decimal_at * 20)}\x03"
    offset = decimal_offset(text, column, font=layout.font, size=layout.size)
    return f"\x02L{max(0, round(offset * 20))}\x03"


def _place_decimals(text: str) -> str:
    """rtflite's cell paragraphs with their decimal tab stop or left indent (``_decimal_mark``)."""
    def place(match: re.Match) -> str:
        kind, twips = match.group(2), match.group(3)
        if kind == "D":
            return f"\\li0\\ri0\\ql\\tqdec\\tx{twips}{match.group(1)}"
        return f"\\li{twips}\\ri0\\ql{match.group(1)}"

    text = _MARK.sub(place, text)
    if "\x02" in text:  # pragma: no cover - rtflite changed how it writes a cell
        from tlfgen.errors import RenderError

        raise RenderError("rtflite wrote a cell paragraph tlfgen cannot align on the decimal",
                          hint="pin rtflite to a version tlfgen supports")
    return text


def _encode_page(table: Table, layout: TableLayout, style: DocumentStyle, run_at: datetime,
                 rows: Sequence[PageRow], *, direct: bool = False,
                 formats: dict[tuple[tuple[bool, int], ...], PageTemplate | None] | None = None) -> str:
    """One page as rtflite writes it. rtflite validates and encodes every cell on its own (about
    10 us each), so a long page is encoded once with one template row per row format (the first
    row, one per (bold, indent) of the rows between, the last row; their cells hold tokens), and
    every row of the page is that format's rtflite row with its own texts in place of the tokens:
    the same bytes as rtflite encoding every row (``direct``), in a fraction of the time. The
    pages of one table with the same row formats share that template (``formats``: one rtflite
    document per distinct list of formats, not one per page)."""
    middle = list(dict.fromkeys((bold, indent) for _, bold, indent in rows[1:-1]))
    if direct or len(rows) <= 2 + len(middle):
        return _place_decimals(_page_document(table, layout, style, run_at, rows))
    styles = [rows[0][1:]] + middle + [rows[-1][1:]]
    key = tuple(styles)
    template = formats.get(key) if formats is not None else None
    if template is None:
        n = len(rows[0][0])
        tokens = [(tuple(f"@@R{k}C{j}@@" for j in range(n)), bold, indent) for k, (bold, indent) in enumerate(styles)]
        template = _row_templates(_page_document(table, layout, style, run_at, tokens), len(styles))
        if formats is not None:
            formats[key] = template
    if template is None:  # pragma: no cover - rtflite changed its layout
        return _place_decimals(_page_document(table, layout, style, run_at, rows))
    head, templates, tail = template
    by_style = {styles[k]: templates[k] for k in range(1, len(styles) - 1)}
    out = [head]
    for i, (texts, bold, indent) in enumerate(rows):
        cells, end = templates[0] if i == 0 else templates[-1] if i == len(rows) - 1 else by_style[(bold, indent)]
        for piece, j in cells:
            text = texts[j]
            if text[:1] == "\x02":  # a decimal mark: put in the cell's paragraph (``_place_decimals``)
                cut = text.index("\x03") + 1
                piece, text = _placed(piece, text[:cut]), text[cut:]
            out += (piece, text)
        out += (end, "\n")
    out[-1] = tail
    return "".join(out)


def _row_templates(doc: str, count: int) -> PageTemplate | None:
    """The page ``doc`` (rtflite's, with ``count`` rows of tokens) as the RTF before its rows, each
    row's template and the RTF after its rows; None when its rows are not one per line."""
    starts = [doc.rindex("\\trowd", 0, doc.index(f"@@R{k}C0@@")) for k in range(count)]
    ends = [doc.index("\\intbl\\row\\pard", start) + len("\\intbl\\row\\pard") for start in starts]
    if any(doc[e:s] != "\n" for e, s in zip(ends, starts[1:])):
        return None
    templates = []
    for s, e in zip(starts, ends):
        pieces = _TOKEN.split(doc[s:e])  # text, row, column, text, row, column, ..., text
        templates.append((tuple((pieces[m], int(pieces[m + 2])) for m in range(0, len(pieces) - 1, 3)), pieces[-1]))
    return doc[:starts[0]], templates, doc[ends[-1]:]


@lru_cache(maxsize=1024)
def _placed(piece: str, mark: str) -> str:
    """``piece`` (a template's RTF before a cell's text) with the decimal ``mark`` of that text put
    in the cell's paragraph."""
    return _place_decimals(piece + mark)


def _page_document(table: Table, layout: TableLayout, style: DocumentStyle, run_at: datetime,
                   rows: Sequence[PageRow]) -> str:
    import polars as pl
    import rtflite as rtf

    widths = [inches(c.width) for c in layout.columns]
    n = len(widths)
    size = math.floor(layout.size)
    just = ["c" if c.align == "center" else "l" for c in layout.columns]
    names = [f"c{j}" for j in range(n)]
    texts = [list(cells) for cells, _, _ in rows]
    formats = [["b" if bold else ""] + [""] * (n - 1) for _, bold, _ in rows]
    indents = [[INDENT_TWIPS * indent] + [0] * (n - 1) for _, _, indent in rows]
    frame = pl.DataFrame({name: [r[j] for r in texts] for j, name in enumerate(names)},
                         schema={name: pl.Utf8 for name in names})
    space = CELL_SPACE * 20
    gap = CELL_PAD_X / 72.0  # rtflite writes \trgaph as half the "cell height": the padding each side
    common = dict(text_font=1, text_font_size=size, text_convert=False, cell_height=gap,
                  text_space_before=space, text_space_after=space, border_left=[[""]], border_right=[[""]])
    headers = []
    if table.has_spanners:
        groups = table.spanner_groups()
        headers.append(rtf.RTFColumnHeader(
            text=[""] + [rtf_text(table.columns[s].spanner) for s, _ in groups],
            col_rel_width=[widths[0]] + [sum(widths[1 + s:2 + e]) for s, e in groups],
            text_format="b", text_justification=["l"] + ["c"] * len(groups),
            border_top=["single"], border_bottom=[""] + ["single" if table.columns[s].spanner else ""
                                                         for s, _ in groups], **common))
    headers.append(rtf.RTFColumnHeader(
        text=[rtf_text(table.stub_header)] + [rtf_text(table.header_lines(c)) for c in table.columns],
        col_rel_width=widths, text_format="b", text_justification=["l"] + ["c"] * (n - 1),
        border_top=[""] if table.has_spanners else ["single"], border_bottom=["single"],
        cell_vertical_justification=["bottom"], **common))
    body = rtf.RTFBody(col_rel_width=widths, text_justification=[just], text_format=formats,
                       text_indent_left=indents, border_top=[[""]], border_bottom=[[""]], **common)
    notes = note_options(style)
    doc = rtf.RTFDocument(
        df=frame,
        rtf_page=rtf_page(style, nrow=len(rows) + 1000, col_width=sum(widths), border_first="single",
                          border_last="single"),
        rtf_page_header=page_header(style),
        rtf_title=rtf_title(table.title, style),
        rtf_column_header=headers,
        rtf_body=body,
        rtf_footnote=rtf.RTFFootnote(text=[rtf_text(t) for t in table.footnotes], **notes)
        if table.footnotes else None,
        rtf_source=rtf.RTFSource(text=[rtf_text(source_line(table, run_at))], **notes),
    )
    return doc.rtf_encode()


def rtf_page(style: DocumentStyle, **options):
    """rtflite's page of ``style``: A4 landscape, the margins, and ``options`` (rows, borders)."""
    import rtflite as rtf

    margin = [inches(style.margin_x), inches(style.margin_x), inches(top_margin(style)),
              inches(bottom_margin(style)), inches(style.header_distance), inches(style.footer_distance)]
    return rtf.RTFPage(orientation="landscape", width=inches(style.page_width), height=inches(style.page_height),
                       margin=margin, **options)


def rtf_title(title: Sequence[str], style: DocumentStyle):
    """The title lines, bold, centred, with the space after them."""
    import rtflite as rtf

    return rtf.RTFTitle(text=[rtf_text(t) for t in title], text_font=1, text_format="b",
                        text_font_size=style.title_size, text_convert=False, text_space_before=0,
                        text_space_after=TITLE_AFTER * 20)


def note_options(style: DocumentStyle) -> dict:
    """rtflite options of the footnotes and the source line: paragraphs under the body."""
    return dict(text_font=1, text_font_size=style.footnote_size, text_convert=False, as_table=False,
                text_justification="l", text_space_before=NOTE_BEFORE * 20, text_space_after=0)


def page_header(style: DocumentStyle):
    """The page header of every page: the study id and "Page x of y"."""
    import rtflite as rtf

    return rtf.RTFPageHeader(text=f"{rtf_text(style.study_id)}    {_PAGE_FIELD}", text_font=1,
                             text_font_size=style.size, text_space_before=0, text_space_after=0)


def create_rtf_files(tables: Sequence[Table], run_at: datetime, *,
                     style: DocumentStyle = DEFAULT_STYLE) -> dict[str, bytes]:
    """``{table id: RTF bytes}`` for ``tables``."""
    return {t.id: create_rtf(t, run_at, style=style) for t in tables}
