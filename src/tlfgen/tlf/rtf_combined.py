"""TLF stage: the combined RTF, every output in one file in the order of the combined DOCX
(tables and listings, then figures), opening with a table of contents.

rtflite writes each part: the table of contents (a two-column table: the output's title, the
page it starts on), each table or listing (``rtf_writer.create_rtf``), each figure (its PNG with
the title above and the footnotes and source line below, on one page). The parts are joined the
way ``create_rtf`` joins the pages of one output (``\\page``; the font table and page header of
the first part), so "Page x of y" counts the pages of the whole file. rtflite has no table of
contents field: the page numbers are computed when the file is written (each table's pages are
cut by ``rtf_writer``, so its page count is known; a figure is one page) and written as text;
each entry links to a bookmark at its output's title (a ``HYPERLINK \\l`` field).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Mapping, Sequence

from tlfgen.tlf.fontmetrics import LINE_HEIGHT_EM
from tlfgen.tlf.layout import DocumentStyle, TableLayout, count_lines, footnote_height
from tlfgen.tlf.docx_writer import bookmark_name
from tlfgen.tlf.model import Table
from tlfgen.tlf.rtf_writer import (
    CELL_SPACE, DEFAULT_STYLE, NOTE_BEFORE, PAGE_JOIN, PAGE_SLACK, inches, bottom_margin, create_rtf,
    note_options, page_header, rtf_page, rtf_sizes, rtf_text, rtf_title, source_text, title_lines_height, top_margin,
    use_study_font,
)

CONTENTS_TITLE = "Table of contents"
FIGURES_SPEC = "specs/tlf/figures.yaml"


def contents_entry(title: Sequence[str]) -> str:
    """An output's line in the table of contents: its first title line, the second in brackets."""
    return title[0] + (f" ({title[1]})" if len(title) > 1 else "")


def create_combined_rtf(tables: Sequence[Table], run_at: datetime, *, figures: Sequence[Any] = (),
                        style: DocumentStyle = DEFAULT_STYLE, documents: Mapping[str, bytes] | None = None,
                        layouts: Mapping[str, TableLayout] | None = None) -> bytes:
    """The combined RTF of ``tables`` and ``figures`` (``FigureResult`` objects with a PNG).

    ``documents`` (table id -> the RTF bytes ``create_rtf`` wrote for it) and ``layouts`` (table id
    -> its layout) are reused when given: the same bytes and pages as computed here.
    """
    documents = documents or {}
    layouts = layouts or {}
    parts: list[tuple[str, tuple[str, ...], bytes, int]] = []  # id, title, RTF, pages
    for table in tables:
        data = documents.get(table.id) or create_rtf(table, run_at, style=style, layout=layouts.get(table.id))
        parts.append((table.id, table.title, data, rtf_page_count(data)))
    cutoff = tables[0].cutoff if tables else ""
    for figure in figures:
        title = tuple(figure.title.split("\n"))
        figure_rtf = create_figure_rtf(figure, run_at, style=style, cutoff=cutoff)
        parts.append((figure.id, title, figure_rtf.encode("ascii"), 1))
    per_page = contents_rows_per_page(style, [contents_entry(title) for _, title, _, _ in parts])
    first = 1 + max(1, math.ceil(len(parts) / per_page))
    entries = []
    for output_id, title, _, pages in parts:
        entries.append((output_id, contents_entry(title), first))
        first += pages
    contents = create_contents_rtf(entries, run_at, style=style, cutoff=cutoff, per_page=per_page).encode("ascii")
    # the first part whole, the others from their page setup on, each with a bookmark at its title;
    # each without its closing brace (slices of the parts' bytes, joined once)
    join = ("\n" + PAGE_JOIN).encode("ascii")
    body = [memoryview(contents)[:_content_end(contents)]]
    for output_id, _, data, _ in parts:
        start, title, end = data.index(b"\\paperw"), _title_start(data), _content_end(data)
        view = memoryview(data)
        body += [join, view[start:title], _bookmark(bookmark_name(output_id)), view[title:end]]
    return b"".join(body + [b"\n}\n"])


def rtf_page_count(data: bytes) -> int:
    """Pages of an output's RTF (``create_rtf``): its pages joined by ``PAGE_JOIN``, which escaped
    text never holds (a brace in text is written ``\\{``)."""
    return data.count(PAGE_JOIN.encode("ascii")) + 1


def _content_end(data: bytes) -> int:
    """Where an RTF document's content ends: before its closing brace and the white space around it."""
    return _space_before(data, max(0, _space_before(data, len(data)) - 1))


def _space_before(data: bytes, end: int) -> int:
    """``end`` moved back over the white space before it (what ``str.rstrip`` strips)."""
    while end and chr(data[end - 1]).isspace():
        end -= 1
    return end


_TITLE = re.compile(rb"\{\\f0\\b ")


def _title_start(data: bytes) -> int:
    """Where the text of one output's first title line starts (after its page setup)."""
    title = _TITLE.search(data, data.index(b"\\paperw"))
    if title is None:  # pragma: no cover - rtflite changed how it writes a title
        from tlfgen.errors import RenderError

        raise RenderError("rtflite wrote a title tlfgen cannot bookmark", hint="pin rtflite to a version tlfgen supports")
    return title.end()


def _bookmark(name: str) -> bytes:
    return f"{{\\*\\bkmkstart {name}}}{{\\*\\bkmkend {name}}}".encode("ascii")


def contents_rows_per_page(style: DocumentStyle, entries: Sequence[str]) -> int:
    """Entries of the table of contents one page holds (each as many lines as its longest entry)."""
    sizes = rtf_sizes(style)
    width = sizes.text_width * 0.9
    lines = max([count_lines(e, width, font=style.font, size=sizes.size) for e in entries] or [1])
    row = lines * sizes.size * LINE_HEIGHT_EM + 2 * CELL_SPACE + 0.5
    room = (sizes.page_height - top_margin(sizes) - bottom_margin(sizes) - title_lines_height((CONTENTS_TITLE,), sizes)
            - footnote_height(["Source"], sizes) - 2 * NOTE_BEFORE - PAGE_SLACK)
    return max(1, int(room // row))


def create_contents_rtf(entries: Sequence[tuple[str, str, int]], run_at: datetime, *, style: DocumentStyle,
                        cutoff: str, per_page: int) -> str:
    """The table of contents as rtflite writes it: one row per (output id, entry, first page), the
    entry a link to the output's bookmark; rtflite cuts the pages every ``per_page`` rows."""
    import polars as pl
    import rtflite as rtf

    style = rtf_sizes(style)
    links = [f"{{\\field{{\\*\\fldinst HYPERLINK \\\\l \"{bookmark_name(i)}\"}}{{\\fldrslt {rtf_text(text)}}}}}"
             for i, text, _ in entries]
    frame = pl.DataFrame({"entry": links, "page": [str(page) for _, _, page in entries]},
                         schema={"entry": pl.Utf8, "page": pl.Utf8})
    widths = [style.text_width * 0.9, style.text_width * 0.1]
    space = CELL_SPACE * 20
    doc = rtf.RTFDocument(
        df=frame,
        rtf_page=rtf_page(style, nrow=per_page, col_width=inches(style.text_width), border_first="", border_last=""),
        rtf_page_header=page_header(style),
        rtf_title=rtf_title((CONTENTS_TITLE,), style),
        rtf_column_header=[],
        rtf_body=rtf.RTFBody(col_rel_width=[inches(w) for w in widths], text_justification=[["l", "r"]],
                             text_font=1, text_font_size=style.size, text_convert=False,
                             text_space_before=space, text_space_after=space, border_left=[[""]],
                             border_right=[[""]], border_top=[[""]], border_bottom=[[""]]),
        rtf_source=rtf.RTFSource(text=[rtf_text(source_text("specs/tlf", cutoff, run_at))], **note_options(style)),
    )
    return use_study_font(doc.rtf_encode(), style.font)


def create_figure_rtf(figure: Any, run_at: datetime, *, style: DocumentStyle = DEFAULT_STYLE, cutoff: str) -> str:
    """One figure on one page: its PNG as large as the page allows under its title, above its
    footnotes and source line."""
    from pathlib import Path

    import rtflite as rtf

    from tlfgen.errors import RenderError

    if figure.png is None or not Path(figure.png).is_file():
        raise RenderError(f"figure {figure.id} has no PNG file to place in the document",
                          hint="draw it with run_figures (which saves the files) first")
    style = rtf_sizes(style)
    title = tuple(figure.title.split("\n"))
    notes = list(figure.footnotes) + [source_text(FIGURES_SPEC, cutoff, run_at)]
    room = (style.page_height - top_margin(style) - bottom_margin(style) - title_lines_height(title, style)
            - footnote_height(notes, style) - (len(notes) + 1) * NOTE_BEFORE - PAGE_SLACK)
    width = min(style.text_width, room * figure.width / figure.height)
    height = width * figure.height / figure.width
    doc = rtf.RTFDocument(
        rtf_figure=rtf.RTFFigure(figures=str(figure.png), fig_width=inches(width), fig_height=inches(height)),
        rtf_page=rtf_page(style, col_width=inches(style.text_width)),
        rtf_page_header=page_header(style),
        rtf_title=rtf_title(title, style),
        rtf_footnote=rtf.RTFFootnote(text=[rtf_text(t) for t in figure.footnotes], **note_options(style))
        if figure.footnotes else None,
        rtf_source=rtf.RTFSource(text=[rtf_text(notes[-1])], **note_options(style)),
    )
    return use_study_font(doc.rtf_encode(), style.font)
