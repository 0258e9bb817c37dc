"""TLF stage: DOCX writer (python-docx for the package, table XML written here). Reads only the
``Table`` model and the ``TableLayout`` computed from it (``tlf/layout.py``).

Laid out as SAS ODS RTF / PROC REPORT output is in a CSR appendix:

- each output is one landscape section; its **page header** holds the study id, "Page x of y"
  (``PAGE`` / ``NUMPAGES`` fields) and the title lines, so the titles are on every page; its
  **page footer** holds the footnotes (kept together, on every page) and the source line (spec
  path, data cutoff, run date/time). The top and bottom margins are set from the header and
  footer heights, so the body area is known and the pages can be counted when writing;
- the table: fixed column widths from content (``compute_table_layout``), header rows repeated
  on every page (``w:tblHeader``), rules above and below the header and below the last row (no
  vertical lines), rows never split, a block label kept with its first row (``w:keepNext``),
  text left-aligned and numbers aligned on the decimal (a decimal tab stop in each number's cell);
- one font family throughout (``DocumentStyle.font``, declared per study);
- figures: the picture sized to the body area, footnotes in the footer: always one page;
- the combined document opens with a table of contents written when the file is written: one
  entry per output, a hyperlink to the output's bookmark, its page number computed from the
  layout (a ``PAGEREF`` field, which Word and LibreOffice also keep up to date).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence
from xml.sax.saxutils import escape, quoteattr

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Pt, Twips
from lxml import etree

from tlfgen.io.ooxml import read_entries, write_package
from tlfgen.io.xlsx_safe import safe_cell_text
from tlfgen.tlf.layout import (
    CELL_PAD_X, CELL_PAD_Y, DocumentStyle, Memo, TableLayout, compute_table_layout, count_lines, count_pages,
    decimal_offset, decimal_tab_anchor, split_at_decimal,
)
from tlfgen.tlf.fontmetrics import LINE_HEIGHT_EM
from tlfgen.tlf.model import Table

_ENTITIES = {"\r": "&#13;"}
DEFAULT_STYLE = DocumentStyle()
RULE = '<w:{side} w:val="single" w:sz="6" w:space="0" w:color="000000"/>'
#: the gap between the header (footer) and the body, points
GAP = 6.0
#: points of a page's body not counted on when counting pages (rules, the paragraph after a table)
PAGE_SLACK = 3.0


@dataclass(frozen=True)
class Item:
    """One output of a document: a table/listing or a figure, with its title and footnotes."""

    id: str
    title: tuple[str, ...]
    footnotes: tuple[str, ...]
    spec_path: str
    cutoff: str
    table: Table | None = None
    figure: Any = None  # a figures.common.FigureResult


def bookmark_name(output_id: str) -> str:
    return "tlf_" + re.sub(r"[^A-Za-z0-9_]", "_", output_id)[:36]


def _twips(points: float) -> int:
    return int(round(points * 20))


def _field(paragraph, instruction: str, placeholder: str, size: float | None = None) -> None:
    """Append a complex field (begin / instrText / separate / result / end) to a paragraph."""
    def run_with(child):
        run = OxmlElement("w:r")
        if size is not None:
            rpr = OxmlElement("w:rPr")
            sz = OxmlElement("w:sz")
            sz.set(qn("w:val"), str(int(round(size * 2))))
            rpr.append(sz)
            run.append(rpr)
        run.append(child)
        paragraph._p.append(run)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
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


def _spacing(para, before: float = 0, after: float = 0) -> None:
    para.paragraph_format.space_before = Pt(before)
    para.paragraph_format.space_after = Pt(after)


def header_height(item: Item, style: DocumentStyle) -> float:
    """Points the page header takes: the study/page line and the wrapped title lines."""
    title_lines = sum(count_lines(t, style.text_width, font=style.font, size=style.title_size, bold=True)
                      for t in item.title)
    return style.size * LINE_HEIGHT_EM + 3 + title_lines * style.title_size * LINE_HEIGHT_EM + 2


def footer_height(item: Item, style: DocumentStyle) -> float:
    """Points the page footer takes: the wrapped footnotes and the source line."""
    size = style.footnote_size
    lines = sum(count_lines(n, style.text_width, font=style.font, size=size) for n in item.footnotes)
    return (lines + 1) * size * LINE_HEIGHT_EM + 4 + (2 if item.footnotes else 0)


def body_height(item: Item, style: DocumentStyle) -> float:
    return style.page_height - _top(item, style) - _bottom(item, style)


def _top(item: Item, style: DocumentStyle) -> float:
    return max(style.margin_top, style.header_distance + header_height(item, style) + GAP)


def _bottom(item: Item, style: DocumentStyle) -> float:
    return max(style.margin_bottom, style.footer_distance + footer_height(item, style) + GAP)


def _page_setup(section, item: Item, style: DocumentStyle) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Pt(style.page_width), Pt(style.page_height)
    section.left_margin = section.right_margin = Pt(style.margin_x)
    section.top_margin = Pt(_top(item, style))
    section.bottom_margin = Pt(_bottom(item, style))
    section.header_distance = Pt(style.header_distance)
    section.footer_distance = Pt(style.footer_distance)


def _header(section, item: Item, style: DocumentStyle) -> None:
    header = section.header
    header.is_linked_to_previous = False
    top = header.paragraphs[0]
    top.text = ""
    _spacing(top, after=3)
    tabs = top.paragraph_format.tab_stops
    for pos in (4680, 9360):  # the Header style's centre and right tab stops (a portrait page's)
        tabs.add_tab_stop(Twips(pos), WD_TAB_ALIGNMENT.CLEAR)
    tabs.add_tab_stop(Pt(style.text_width), WD_TAB_ALIGNMENT.RIGHT)
    top.add_run(f"{style.study_id}\tPage ").font.size = Pt(style.size)
    _field(top, "PAGE", "1", style.size)
    top.add_run(" of ").font.size = Pt(style.size)
    _field(top, "NUMPAGES", "1", style.size)
    for line in item.title:
        para = header.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _spacing(para)
        run = para.add_run(line)
        run.bold = True
        run.font.size = Pt(style.title_size)


def _footer(section, item: Item, style: DocumentStyle, run_at: datetime) -> None:
    footer = section.footer
    footer.is_linked_to_previous = False
    paras = [footer.paragraphs[0]] + [footer.add_paragraph() for _ in item.footnotes]
    for para, note in zip(paras, item.footnotes):
        _spacing(para)
        para.add_run(note).font.size = Pt(style.footnote_size)
    source = paras[-1] if not item.footnotes else footer.add_paragraph()
    source.text = ""
    _spacing(source, before=2 if item.footnotes else 0)
    source.add_run(f"Source: {item.spec_path}    Data cutoff: {item.cutoff}    "
                   f"Run: {_run_text(run_at)}").font.size = Pt(style.footnote_size)
    # a rule between the body and the footer
    ppr = paras[0]._p.get_or_add_pPr()
    ppr.append(etree.fromstring(f'<w:pBdr xmlns:w="{_W}">' + RULE.format(side="top") + "</w:pBdr>"))


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _run_text(run_at: datetime) -> str:
    return f"{run_at.strftime('%Y-%m-%d %H:%M')} UTC"


def _cell_xml(width: int, content: str, *, borders: str = "", span: int = 1, vmerge: str = "",
              valign: str = "") -> str:
    props = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    if vmerge:
        props += f'<w:vMerge w:val="{vmerge}"/>' if vmerge == "restart" else "<w:vMerge/>"
    if borders:
        props += f"<w:tcBorders>{borders}</w:tcBorders>"
    if valign:
        props += f'<w:vAlign w:val="{valign}"/>'
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{content}</w:tc>"


def _para(text: str, *, size: int = 0, bold: bool = False, jc: str = "", indent: int = 0,
          keep_next: bool = False, bookmark: str = "", left: int = 0, decimal_tab: int | None = None) -> str:
    """A paragraph; ``indent`` in levels of 200 twips, ``left`` in twips; ``decimal_tab``: a decimal
    tab stop at that many twips (in a table cell the text aligns on it with no tab character, in
    Word and in LibreOffice; a leading tab would move the text on to the next default stop)."""
    ppr = ""
    if keep_next:
        ppr += "<w:keepNext/>"
    if decimal_tab is not None:
        ppr += f'<w:tabs><w:tab w:val="decimal" w:pos="{decimal_tab}"/></w:tabs>'
    if indent or left:
        ppr += f'<w:ind w:left="{200 * indent + left}"/>'
    if jc:
        ppr += f'<w:jc w:val="{jc}"/>'
    if size:  # the paragraph mark's size counts in the line height too
        ppr += f'<w:rPr><w:sz w:val="{size}"/></w:rPr>'
    mark = (f'<w:bookmarkStart w:id="0" w:name={quoteattr(bookmark)}/><w:bookmarkEnd w:id="0"/>'
            if bookmark else "")
    body = _run_xml(text, bold, size) if text else ""
    return f"<w:p>{'<w:pPr>' + ppr + '</w:pPr>' if ppr else ''}{mark}{body}</w:p>"


def _run_xml(text: str, bold: bool, size: int = 0) -> str:
    text = safe_cell_text(text)  # XML 1.0 cannot hold most control characters: shown escaped (\x07)
    inner = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line, _ENTITIES)}</w:t>' for line in text.split("\n"))
    rpr = ("<w:b/>" if bold else "") + (f'<w:sz w:val="{size}"/>' if size else "")
    return f"<w:r>{'<w:rPr>' + rpr + '</w:rPr>' if rpr else ''}{inner}</w:r>"


def create_table_xml(table: Table, layout: TableLayout, *, bookmark: str = "") -> str:
    """The ``w:tbl`` element of ``table`` (no namespace declarations: ``w:`` is the document's)."""
    widths = [_twips(c.width) for c in layout.columns]
    top_rule, bottom_rule = RULE.format(side="top"), RULE.format(side="bottom")
    pad_x, pad_y = _twips(CELL_PAD_X / 2), _twips(CELL_PAD_Y / 2)
    parts = [
        "<w:tbl><w:tblPr>",
        f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:jc w:val="center"/>',
        '<w:tblLayout w:type="fixed"/><w:tblCellMar>',
        f'<w:top w:w="{pad_y}" w:type="dxa"/><w:left w:w="{pad_x}" w:type="dxa"/>',
        f'<w:bottom w:w="{pad_y}" w:type="dxa"/><w:right w:w="{pad_x}" w:type="dxa"/>',
        '</w:tblCellMar><w:tblLook w:val="0000"/></w:tblPr><w:tblGrid>',
        "".join(f'<w:gridCol w:w="{w}"/>' for w in widths), "</w:tblGrid>",
    ]
    head_tr = "<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
    sz = int(round(layout.size * 2))
    stub = _para(table.stub_header, size=sz, bold=True, bookmark=bookmark)
    if table.has_spanners:
        parts.append(head_tr)
        parts.append(_cell_xml(widths[0], stub, borders=top_rule + bottom_rule, vmerge="restart", valign="bottom"))
        for start, end in table.spanner_groups():
            label = table.columns[start].spanner
            parts.append(_cell_xml(sum(widths[1 + start:2 + end]), _para(label, size=sz, bold=True, jc="center"),
                                   borders=top_rule + (bottom_rule if label else ""), span=end - start + 1))
        parts.append("</w:tr>" + head_tr)
        parts.append(_cell_xml(widths[0], "<w:p/>", borders=bottom_rule, vmerge="continue"))
        for j, column in enumerate(table.columns, start=1):
            parts.append(_cell_xml(widths[j], _para(column.header or column.label, size=sz, bold=True, jc="center"),
                                   borders=bottom_rule, valign="bottom"))
        parts.append("</w:tr>")
    else:
        parts.append(head_tr)
        parts.append(_cell_xml(widths[0], stub, borders=top_rule + bottom_rule, valign="bottom"))
        for j, column in enumerate(table.columns, start=1):
            parts.append(_cell_xml(widths[j], _para(table.header_lines(column), size=sz, bold=True, jc="center"),
                                   borders=top_rule + bottom_rule, valign="bottom"))
        parts.append("</w:tr>")
    parts.append(create_body_xml(table, layout))
    parts.append("</w:tbl>")
    return "".join(parts)


def _decimal_place(text: str, layout: TableLayout, j: int) -> dict[str, int]:
    """How a cell of a decimal column puts its first number's decimal point at the column's
    ``decimal_at``: a decimal tab stop there, where the renderers' decimal tab aligns on that
    point; else (a first word before the number: "NE (12.3, NE)") a left indent."""
    column = layout.columns[j]
    if column.align != "decimal" or not text.strip():
        return {}
    if decimal_tab_anchor(text) == split_at_decimal(text):
        return {"decimal_tab": _twips(column.decimal_at)}
    return {"left": max(0, _twips(decimal_offset(text, column, font=layout.font, size=layout.size)))}


def create_body_xml(table: Table, layout: TableLayout) -> str:
    """The ``w:tr`` elements of the table body.

    Cell XML is computed once per distinct (column, text, format); every row is kept on one
    page, a block label with its first row, and the last row carries the closing rule.
    """
    widths = [_twips(c.width) for c in layout.columns]
    centred = ["center" if c.align == "center" else "" for c in layout.columns]
    memo: dict[tuple, str] = {}
    bottom_rule = RULE.format(side="bottom")
    sz = int(round(layout.size * 2))

    def cell(j: int, text: str, *, bold: bool = False, indent: int = 0, keep: bool = False, last: bool = False) -> str:
        key = (j, text, bold, indent, keep, last)
        found = memo.get(key)
        if found is None:
            place = _decimal_place(text, layout, j)
            found = memo[key] = _cell_xml(widths[j], _para(text, size=sz, bold=bold, indent=indent, jc=centred[j],
                                                            keep_next=keep, **place),
                                          borders=bottom_rule if last else "")
        return found

    # per column: text -> its cell in a row neither kept with the next nor last
    plain = [Memo(lambda text, j=j: cell(j, text)) for j in range(len(widths))]
    parts = []
    n_rows = len(table.rows)
    blank = [""] * len(table.columns)
    for k, row in enumerate(table.rows):
        last = k == n_rows - 1
        # a block label (or a label row followed by indented rows) stays with the next row
        keep = not last and (row.kind == "header" or (table.kind == "table" and row.indent == 0
                                                      and table.rows[k + 1].indent > row.indent))
        bold = row.kind == "header" or (row.indent == 0 and table.kind == "table")
        parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        parts.append(cell(0, row.label, bold=bold, indent=row.indent, keep=keep, last=last))
        texts = [c.text for c in row.cells] if row.kind == "data" else blank
        if keep or last:
            parts.extend(cell(j, text, keep=keep, last=last) for j, text in enumerate(texts, start=1))
        else:  # a dict lookup per cell (hundreds of thousands in a listing)
            parts += [plain[j][text] for j, text in enumerate(texts, start=1)]
        parts.append("</w:tr>")
    return "".join(parts)


def _style(doc, style: DocumentStyle) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = style.font
    normal.font.size = Pt(style.size)
    rfonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), style.font)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = 1.0  # the template's default is 1.15
    # python-docx's template sets the theme fonts in the document defaults: the study font instead
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        for fonts in defaults.iter(qn("w:rFonts")):
            for attr in list(fonts.attrib):
                del fonts.attrib[attr]
            for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
                fonts.set(qn(attr), style.font)


def _shrink(para) -> None:
    """An empty paragraph made one point high (after a table, a section break), so it never
    makes a page of its own."""
    _spacing(para)
    para.paragraph_format.line_spacing = Pt(1)
    ppr = para._p.get_or_add_pPr()
    ppr.append(etree.fromstring(f'<w:rPr xmlns:w="{_W}"><w:sz w:val="2"/></w:rPr>'))


def compute_pages(items: Sequence[Item], style: DocumentStyle, layouts: dict[str, TableLayout]) -> list[int]:
    """Pages each item takes (a figure: one)."""
    pages = []
    for item in items:
        if item.table is None:
            pages.append(1)
        else:
            # less a few points: the table's rules and the paragraph after it
            pages.append(count_pages(layouts[item.id], body_height(item, style) - PAGE_SLACK))
    return pages


def create_docx(tables: Sequence[Table], run_at: datetime, *, toc: bool = False,
                figures: Sequence = (), cache: dict | None = None, style: DocumentStyle = DEFAULT_STYLE) -> bytes:
    """The DOCX bytes for one output (or, with ``toc``, the combined document).

    ``cache`` (a dict the caller keeps while the same Table objects are alive) keeps each
    table's layout and XML, so writing a table again (the combined document) is cheap.
    ``figures`` (``FigureResult`` objects) are placed after the tables, one page each.
    """
    cache = {} if cache is None else cache
    cutoff = tables[0].cutoff if tables else ""
    items = [Item(t.id, t.title, t.footnotes, t.spec_path, t.cutoff, table=t) for t in tables]
    items += [Item(f.id, tuple(f.title.split("\n")), tuple(f.footnotes), "specs/tlf/figures.yaml", cutoff, figure=f)
              for f in figures]
    layouts = {}
    for item in items:
        if item.table is not None:
            key = (id(item.table), style, "layout")
            if key not in cache:
                cache[key] = (item.table, compute_table_layout(item.table, style))
            layouts[item.id] = cache[key][1]
    bodies: dict[bytes, bytes] = {}
    doc = Document()
    _style(doc, style)
    doc.core_properties.title = tables[0].title[0] if len(tables) == 1 and tables[0].title else "Tables and listings"
    doc.core_properties.author = "tlfgen"
    doc.core_properties.created = run_at.replace(tzinfo=None)
    doc.core_properties.modified = run_at.replace(tzinfo=None)
    doc.core_properties.revision = 1
    # python-docx's template starts with one empty paragraph-less body: the first section is ours
    section = doc.sections[0]
    if toc:
        contents = Item("TOC", ("Table of contents",), (), "specs/tlf", cutoff)
        _page_setup(section, contents, style)
        _header(section, contents, style)
        _footer(section, contents, style, run_at)
        pages = compute_pages(items, style, layouts)
        toc_pages = max(1, -(-len(items) * int(style.size * LINE_HEIGHT_EM + 4) // int(body_height(contents, style))))
        start = 1 + toc_pages
        for item, n in zip(items, pages):
            _toc_entry(doc, item, start, style)
            start += n
    for k, item in enumerate(items):
        if k > 0 or toc:
            section = doc.add_section(WD_SECTION.NEW_PAGE)
            _shrink(doc.paragraphs[-1])  # the paragraph ending the previous section
        _page_setup(section, item, style)
        _header(section, item, style)
        _footer(section, item, style, run_at)
        if item.table is not None:
            key = (id(item.table), style, "xml")
            if key not in cache:
                xml = create_table_xml(item.table, layouts[item.id], bookmark=bookmark_name(item.id))
                cache[key] = (item.table, xml.encode("utf-8"))
            marker = f"tlfgen-body-{len(bodies)}"
            doc.element.body.find(qn("w:sectPr")).addprevious(etree.Comment(marker))
            bodies[f"<!--{marker}-->".encode()] = cache[key][1]
            if k == len(items) - 1:
                _shrink(doc.add_paragraph())  # Word needs a paragraph after a table
        else:
            _add_figure(doc, item, style)
    buffer = io.BytesIO()
    doc.save(buffer)
    return write_package(_put_bodies(read_entries(buffer.getvalue()), bodies), run_at)


def _toc_entry(doc, item: Item, page: int, style: DocumentStyle) -> None:
    para = doc.add_paragraph()
    _spacing(para, after=4)
    para.paragraph_format.tab_stops.add_tab_stop(Pt(style.text_width), WD_TAB_ALIGNMENT.RIGHT,
                                                 leader=__import__("docx.enum.text", fromlist=["WD_TAB_LEADER"]).WD_TAB_LEADER.DOTS)
    name = bookmark_name(item.id)
    text = item.title[0] + (f" ({item.title[1]})" if len(item.title) > 1 else "")
    link = etree.fromstring(
        f'<w:hyperlink xmlns:w="{_W}" w:anchor={quoteattr(name)} w:history="1">'
        f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r><w:r><w:tab/></w:r>'
        f'<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> PAGEREF {name} \\h </w:instrText></w:r>'
        f'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>{page}</w:t></w:r>'
        f'<w:r><w:fldChar w:fldCharType="end"/></w:r></w:hyperlink>')
    para._p.append(link)


def _add_figure(doc, item: Item, style: DocumentStyle) -> None:
    """The picture, as large as the body area allows, centred, with the output's bookmark."""
    from pathlib import Path

    from tlfgen.errors import RenderError

    figure = item.figure
    if figure.png is None or not Path(figure.png).is_file():
        raise RenderError(f"figure {figure.id} has no PNG file to place in the document",
                          hint="draw it with run_figures (which saves the files) first")
    room_h = body_height(item, style) - 8  # the picture's line box and rounding
    width = min(style.text_width, room_h * figure.width / figure.height)
    doc.add_picture(str(figure.png), width=Emu(int(Pt(width))))
    para = doc.paragraphs[-1]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _spacing(para)
    name = bookmark_name(item.id)
    para._p.insert(1, etree.fromstring(f'<w:bookmarkStart xmlns:w="{_W}" w:id="0" w:name={quoteattr(name)}/>'))
    para._p.append(etree.fromstring(f'<w:bookmarkEnd xmlns:w="{_W}" w:id="0"/>'))


def _put_bodies(entries: list[tuple[str, bytes]], bodies: dict[bytes, bytes]) -> list[tuple[str, bytes]]:
    """Replace each table's marker in ``word/document.xml`` by the table; number the bookmarks."""
    out = []
    for name, blob in entries:
        if name == "word/document.xml":
            pieces = re.split(rb"(<!--tlfgen-body-\d+-->)", blob) if bodies else [blob]
            blob = b"".join(_number_bookmarks([bodies.get(piece, piece) for piece in pieces]))
        out.append((name, blob))
    return out


_BOOKMARK = re.compile(rb'<w:bookmark(Start|End) w:id="0"')


def _number_bookmarks(pieces: Sequence[bytes]) -> list[bytes | memoryview]:
    """``pieces`` (of one XML part, in order) with the k-th bookmarkStart / bookmarkEnd given the id k
    (each pair is written next to each other): slices of the pieces and the new tags, to be joined."""
    counter = {b"Start": 0, b"End": 0}
    out: list[bytes | memoryview] = []
    for piece in pieces:
        view, at = memoryview(piece), 0
        for match in _BOOKMARK.finditer(piece):
            counter[match.group(1)] += 1
            out += [view[at:match.start()], b'<w:bookmark%s w:id="%d"' % (match.group(1), counter[match.group(1)])]
            at = match.end()
        out.append(view[at:])
    return out
