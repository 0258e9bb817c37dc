"""TLF stage: DOCX writer (python-docx). Reads only the ``Table`` model.

Each output is one landscape section: title block, the table with its header
rows marked to repeat on every page (``w:tblHeader``), footnotes under the
table, and a footer with the spec path, the data cutoff, the run date/time and
"Page x of y" (``PAGE`` / ``NUMPAGES`` fields). ``create_docx`` with several
tables writes the combined document, opened by a table of contents (a ``TOC``
field that Word fills in on opening: ``w:updateFields`` is set).
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Sequence
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from lxml import etree

from tlfgen.io.xlsx_safe import safe_cell_text
from tlfgen.tlf.model import Table
from tlfgen.io.ooxml import read_entries, write_package

_NS_DECL = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_ENTITIES = {"\r": "&#13;"}
FONT = "Times New Roman"
BODY_PT = 9


def _field(paragraph, instruction: str, placeholder: str = "1") -> None:
    """Append a complex field (begin / instrText / separate / result / end) to a paragraph."""
    def run_with(child):
        run = OxmlElement("w:r")
        run.append(child)
        paragraph._p.append(run)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    text = OxmlElement("w:t")
    text.text = placeholder
    run_with(text)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _landscape(section) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))
    section.top_margin = section.bottom_margin = Cm(1.8)


def _footer(section, table: Table, run_at: datetime) -> None:
    footer = section.footer
    footer.is_linked_to_previous = False
    para = footer.paragraphs[0]
    para.text = ""
    run = para.add_run(f"Source: {table.spec_path}    Data cutoff: {table.cutoff}    "
                       f"Run: {run_at.strftime('%Y-%m-%d %H:%M')} UTC")
    run.font.size = Pt(8)
    page = footer.add_paragraph()
    page.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    page.add_run("Page ").font.size = Pt(8)
    _field(page, "PAGE")
    page.add_run(" of ").font.size = Pt(8)
    _field(page, "NUMPAGES")


def _mark_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    tr_pr.append(flag)


def _set_text(cell, text: str, *, bold: bool = False, align=None, indent: int = 0) -> None:
    para = cell.paragraphs[0]
    if align is not None:
        para.alignment = align
    if indent:
        para.paragraph_format.left_indent = Cm(0.35 * indent)
    if text:
        run = para.add_run(text)
        run.bold = bold or None


def _write_table(doc, table: Table, bodies: dict[bytes, bytes], cache: dict) -> None:
    spans = table.has_spanners
    n_cols = 1 + len(table.columns)
    header_rows = 2 if spans else 1
    grid = doc.add_table(rows=header_rows, cols=n_cols)
    grid.style = "Table Grid"
    center = WD_ALIGN_PARAGRAPH.CENTER
    top = grid.rows[0].cells
    if spans:
        second = grid.rows[1].cells
        top[0].merge(second[0])
        _set_text(top[0], table.stub_header, bold=True)
        start = 0
        while start < len(table.columns):
            end = start
            label = table.columns[start].spanner
            while end + 1 < len(table.columns) and table.columns[end + 1].spanner == label:
                end += 1
            merged = top[1 + start].merge(top[1 + end]) if end > start else top[1 + start]
            _set_text(merged, label, bold=True, align=center)
            start = end + 1
        for i, column in enumerate(table.columns):
            _set_text(second[1 + i], column.header or column.label, bold=True, align=center)
    else:
        _set_text(top[0], table.stub_header, bold=True)
        for i, column in enumerate(table.columns):
            _set_text(top[1 + i], table.header_lines(column), bold=True, align=center)
    for row in grid.rows[:header_rows]:
        _mark_header(row)
    # body: the rows' XML generated as one string and put into word/document.xml after saving
    # (python-docx's per-cell API and parsing the XML again are the slow parts for listings)
    template_tr = grid.add_row()._tr
    tc_props = tuple(_strip_ns(etree.tostring(tc.find(qn("w:tcPr"))).decode()) if tc.find(qn("w:tcPr")) is not None
                     else "" for tc in template_tr.findall(qn("w:tc")))
    grid._tbl.remove(template_tr)
    key = (id(table), tc_props)
    if key not in cache:
        cache[key] = (table, create_body_xml(table, tc_props).encode("utf-8"))
    marker = f"tlfgen-body-{len(bodies)}"
    grid._tbl.append(etree.Comment(marker))
    bodies[f"<!--{marker}-->".encode()] = cache[key][1]


def create_body_xml(table: Table, tc_props: Sequence[str]) -> str:
    """The ``w:tr`` elements of the table body (no namespace declarations: ``w:`` is the document's).

    Cell XML is computed once per distinct (column, text, format); each row is kept together on a page.
    """
    memo: dict[tuple, str] = {}
    center = '<w:pPr><w:jc w:val="center"/></w:pPr>'

    def cell(i: int, text: str, ppr: str, bold: bool) -> str:
        key = (i, text, ppr, bold)
        found = memo.get(key)
        if found is None:
            content = ppr + (_run_xml(text, bold) if text else "")
            found = f"<w:tc>{tc_props[i]}<w:p>{content}</w:p></w:tc>" if content else f"<w:tc>{tc_props[i]}<w:p/></w:tc>"
            memo[key] = found
        return found

    # data cells (centred, not bold: nearly all cells of a listing) by text, one dict per column:
    # a lookup per cell instead of a call building a key
    data_memo: list[dict[str, str]] = [{} for _ in table.columns]

    def data_cells(cells) -> list[str]:
        out = []
        for i, (memo_i, c) in enumerate(zip(data_memo, cells), start=1):
            found = memo_i.get(c.text)
            if found is None:
                found = memo_i[c.text] = cell(i, c.text, center, False)
            out.append(found)
        return out

    parts = []
    blank = [""] * len(table.columns)
    for row in table.rows:
        ppr = f'<w:pPr><w:ind w:left="{200 * row.indent}"/></w:pPr>' if row.indent else ""
        bold_label = row.kind == "header" or (row.indent == 0 and table.kind == "table")
        parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        parts.append(cell(0, row.label, ppr, bold_label))
        if row.kind == "data":
            parts.extend(data_cells(row.cells))
        else:
            header = row.kind == "header"
            parts.extend(cell(i, text, center, header) for i, text in enumerate(blank, start=1))
        parts.append("</w:tr>")
    return "".join(parts)


def _strip_ns(xml: str) -> str:
    """A serialised element without its namespace declarations (the document declares w:)."""
    return _NS_DECL.sub("", xml)


def _run_xml(text: str, bold: bool) -> str:
    text = safe_cell_text(text)  # XML 1.0 cannot hold most control characters: shown escaped (\x07)
    inner = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line, _ENTITIES)}</w:t>' for line in text.split("\n"))
    return f"<w:r>{'<w:rPr><w:b/></w:rPr>' if bold else ''}{inner}</w:r>"


def _write_output(doc, table: Table, bodies: dict[bytes, bytes], cache: dict, *, heading: bool) -> None:
    for k, line in enumerate(table.title):
        if heading and k == 0:
            para = doc.add_heading(line, level=1)
        else:
            para = doc.add_paragraph()
            para.add_run(line).bold = True
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _write_table(doc, table, bodies, cache)
    for note in table.footnotes:
        para = doc.add_paragraph()
        para.paragraph_format.space_after = Pt(0)
        para.add_run(note).font.size = Pt(8)


def _style(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(2)
    heading = doc.styles["Heading 1"]
    heading.font.size = Pt(11)
    heading.font.name = FONT
    heading.font.color.rgb = None


def create_docx(tables: Sequence[Table], run_at: datetime, *, toc: bool = False,
                figures: Sequence = (), cache: dict | None = None) -> bytes:
    """The DOCX bytes for one output (or, with ``toc``, the combined document).

    ``cache`` (a dict the caller keeps while the same Table objects are alive) keeps each
    table's body XML, so writing a table again (the combined document) is cheap.

    ``figures`` (``FigureResult`` objects) are placed after the tables, each in its own
    landscape section with the same footer (spec path, cutoff, run time, Page x of y).
    """
    cache = {} if cache is None else cache
    bodies: dict[bytes, bytes] = {}
    doc = Document()
    _style(doc)
    doc.core_properties.title = tables[0].title[0] if len(tables) == 1 and tables[0].title else "Tables and listings"
    doc.core_properties.author = "tlfgen"
    doc.core_properties.created = run_at.replace(tzinfo=None)
    doc.core_properties.modified = run_at.replace(tzinfo=None)
    doc.core_properties.revision = 1
    section = doc.sections[0]
    _landscape(section)
    if toc:
        doc.add_heading("Table of contents", level=1).alignment = WD_ALIGN_PARAGRAPH.CENTER
        _field(doc.add_paragraph(), 'TOC \\o "1-1" \\h \\z \\u', "Right-click and choose Update Field.")
        update = OxmlElement("w:updateFields")
        update.set(qn("w:val"), "true")
        doc.settings.element.append(update)
        _footer(section, Table("TOC", "table", ("Contents",), "", (), (), spec_path="specs/tlf",
                               cutoff=tables[0].cutoff if tables else ""), run_at)
    for k, table in enumerate(tables):
        if k > 0 or toc:
            section = doc.add_section(WD_SECTION.NEW_PAGE)
            _landscape(section)
        _footer(section, table, run_at)
        _write_output(doc, table, bodies, cache, heading=toc)
    if figures:
        from tlfgen.tlf.figures.run import add_figure_to_docx

        cutoff = tables[0].cutoff if tables else ""
        for figure in figures:
            section = doc.add_section(WD_SECTION.NEW_PAGE)
            _landscape(section)
            _footer(section, Table(figure.id, "figure", (figure.title,), "", (), (),
                                   spec_path="specs/tlf/figures.yaml", cutoff=cutoff), run_at)
            add_figure_to_docx(doc, figure, heading=toc)
    buffer = io.BytesIO()
    doc.save(buffer)
    return write_package(_put_bodies(read_entries(buffer.getvalue()), bodies), run_at)


def _put_bodies(entries: list[tuple[str, bytes]], bodies: dict[bytes, bytes]) -> list[tuple[str, bytes]]:
    """Replace each table's body marker in ``word/document.xml`` by the body's rows."""
    out = []
    for name, blob in entries:
        if name == "word/document.xml" and bodies:
            pieces = re.split(rb"(<!--tlfgen-body-\d+-->)", blob)
            blob = b"".join(bodies.get(piece, piece) for piece in pieces)
        out.append((name, blob))
    return out
