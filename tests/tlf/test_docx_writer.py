"""Tests of tlf/docx_writer.py: DOCX written from a small Table model, read back with python-docx."""

from __future__ import annotations

import io

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from tlfgen.tlf.docx_writer import _number_bookmarks, create_docx
from tlfgen.tlf.layout import DocumentStyle
from tlfgen.tlf.model import Cell, Column, Row, Table
from tlfgen.io.ooxml import run_timestamp


def _table(**kw) -> Table:
    base = dict(
        id="T9", kind="table", title=("Table 9. Response", "Full analysis set"), stub_header="Characteristic",
        columns=(Column("A", "A", 30, "A\n(N=30)"), Column("B", "B", 30, "B\n(N=30)")),
        rows=(Row("ORR, n (%)", (Cell("27 (90.0)", "T9.ORR.A"), Cell("13 (43.3)", "T9.ORR.B")), 0),
              Row("95% CI", (Cell("73.5, 97.9"), Cell("=1+1")), 1)),
        footnotes=("CI: Clopper-Pearson.",), spec_path="specs/tlf/T9.yaml", cutoff="2025-04-12",
    )
    base.update(kw)
    return Table(**base)


def _read(data: bytes):
    return Document(io.BytesIO(data))


def test_01_cells_title_and_footnotes(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    doc = _read(create_docx([_table()], run_timestamp()))
    header = doc.sections[0].header
    assert [p.text for p in header.paragraphs[1:]] == ["Table 9. Response", "Full analysis set"]
    grid = doc.tables[0]
    assert [c.text for c in grid.rows[0].cells] == ["Characteristic", "A\n(N=30)", "B\n(N=30)"]
    assert [c.text for c in grid.rows[1].cells] == ["ORR, n (%)", "27 (90.0)", "13 (43.3)"]
    assert [c.text for c in grid.rows[2].cells] == ["95% CI", "73.5, 97.9", "=1+1"]
    assert doc.sections[0].footer.paragraphs[0].text == "CI: Clopper-Pearson."


def test_02_landscape_and_repeated_header_row(monkeypatch) -> None:
    doc = _read(create_docx([_table()], run_timestamp()))
    section = doc.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE and section.page_width > section.page_height
    rows = doc.tables[0].rows
    flags = [r._tr.trPr is not None and r._tr.trPr.find(qn("w:tblHeader")) is not None for r in rows]
    assert flags == [True, False, False]


def test_03_header_has_page_fields_footer_has_spec_cutoff_run_time(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    doc = _read(create_docx([_table()], run_timestamp(), style=DocumentStyle(study_id="STUDY1")))
    footer = doc.sections[0].footer
    assert footer.paragraphs[-1].text == (
        "Source: specs/tlf/T9.yaml    Data cutoff: 2025-04-12    Run: 2023-11-14 22:13 UTC")
    header = doc.sections[0].header
    instr = [e.text.strip() for e in header._element.iter(qn("w:instrText"))]
    assert instr == ["PAGE", "NUMPAGES"]
    assert header.paragraphs[0].text == "STUDY1\tPage 1 of 1"


def test_04_spanner_header_makes_two_repeated_rows() -> None:
    cols = (Column("A.ANY", "Any grade", 30, spanner="A\n(N=30)"), Column("A.HIGH", "Grade \u22653", 30, spanner="A\n(N=30)"))
    table = _table(columns=cols, rows=(Row("Rash", (Cell("1 (3.3)"), Cell("0 (0.0)"))),))
    grid = _read(create_docx([table], run_timestamp())).tables[0]
    assert [c.text for c in grid.rows[0].cells] == ["Characteristic", "A\n(N=30)", "A\n(N=30)"]
    assert [c.text for c in grid.rows[1].cells] == ["Characteristic", "Any grade", "Grade \u22653"]
    assert [r._tr.trPr.find(qn("w:tblHeader")) is not None for r in grid.rows[:2]] == [True, True]


def test_05_combined_document_has_filled_toc_linked_to_bookmarks() -> None:
    data = create_docx([_table(), _table(id="T8", title=("Table 8. Other",))], run_timestamp(), toc=True)
    doc = _read(data)
    links = doc.element.body.findall(".//" + qn("w:hyperlink"))
    assert [link.get(qn("w:anchor")) for link in links] == ["tlf_T9", "tlf_T8"]
    entries = [p.text for p in doc.paragraphs if p._p.find(qn("w:hyperlink")) is not None]
    # each table fits one page after the one-page table of contents: pages 2 and 3
    assert entries == ["Table 9. Response (Full analysis set)\t2", "Table 8. Other\t3"]
    marks = [b.get(qn("w:name")) for b in doc.element.body.iter(qn("w:bookmarkStart"))]
    assert marks == ["tlf_T9", "tlf_T8"]
    instr = [e.text.strip() for e in doc.element.body.iter(qn("w:instrText"))]
    assert instr == ["PAGEREF tlf_T9 \\h", "PAGEREF tlf_T8 \\h"]
    assert len(doc.sections) == 3 and len(doc.tables) == 2


def test_06_same_inputs_same_bytes(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert create_docx([_table()], run_timestamp()) == create_docx([_table()], run_timestamp())


def test_07_header_row_line_break_is_a_real_break() -> None:
    doc = _read(create_docx([_table()], run_timestamp()))
    cell = doc.tables[0].rows[0].cells[1]
    assert len(cell._tc.findall(".//" + qn("w:br"))) == 1
    with pytest.raises(IndexError):
        doc.tables[1]


def test_run_time_is_the_clock_unless_source_date_epoch(monkeypatch) -> None:
    from datetime import datetime, timedelta, timezone

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = run_timestamp()
    assert before <= stamp <= datetime.now(timezone.utc) + timedelta(seconds=1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run_timestamp() == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


def test_08_cache_reuses_body_xml_and_gives_the_same_bytes(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    tables = [_table(), _table(id="T8", title=("Table 8. Other",))]
    cache: dict = {}
    assert create_docx(tables[:1], run_timestamp(), cache=cache) == create_docx(tables[:1], run_timestamp())
    assert len(cache) == 2  # the table's layout and its XML
    combined = create_docx(tables, run_timestamp(), toc=True, cache=cache)
    assert combined == create_docx(tables, run_timestamp(), toc=True)
    assert len(cache) == 4


def test_09_markup_control_characters_indent_and_bold_in_body() -> None:
    rows = (Row("Block", (), 0, kind="header"), Row("a<b>&c", (Cell("x\x07y"), Cell("")), 2))
    grid = _read(create_docx([_table(rows=rows)], run_timestamp())).tables[0]
    assert [c.text for c in grid.rows[1].cells] == ["Block", "", ""]
    assert [c.text for c in grid.rows[2].cells] == ["a<b>&c", "x\\x07y", ""]
    assert grid.rows[1].cells[0].paragraphs[0].runs[0].bold is True
    assert grid.rows[2].cells[0].paragraphs[0].paragraph_format.left_indent == 400 * 635  # 200 twips per level
    assert grid.rows[2].cells[1].paragraphs[0].alignment is None  # text: left-aligned (the default)


def test_10_numbers_aligned_on_the_decimal_by_a_decimal_tab_stop() -> None:
    """Column A holds "27 (90.0)" and "73.5, 97.9": both cells get one decimal tab stop, where the
    block of numbers (widest left part "27" or "73", widest right part ".5, 97.9") is centred in the
    cell. DejaVu Sans units (of 2048 per em): "27" = 2 x 1303, ".5, 97.9" = 651 + 1303 + 651 + 651
    + 1303 + 1303 + 651 + 1303; at 8 pt: x 8 / 2048 points. No tab character: in a table cell
    Word and LibreOffice align on the stop without one."""
    from tlfgen.tlf.layout import compute_table_layout

    table = _table(rows=(Row("ORR, n (%)", (Cell("27 (90.0)"), Cell("NE (12.3, NE)")), 0),
                         Row("95% CI", (Cell("73.5, 97.9"), Cell("3 (10.0)")), 1)))
    width_a = compute_table_layout(table, DocumentStyle()).columns[1].width
    left, right = 2 * 1303 * 8 / 2048, 7816 * 8 / 2048
    expected = round((round((width_a - 5 - left - right) / 2 + left, 2)) * 20)
    grid = _read(create_docx([table], run_timestamp())).tables[0]
    for row in (1, 2):
        para = grid.rows[row].cells[1].paragraphs[0]
        stops = para._p.findall(f"{qn('w:pPr')}/{qn('w:tabs')}/{qn('w:tab')}")
        assert [(s.get(qn("w:val")), int(s.get(qn("w:pos")))) for s in stops] == [("decimal", expected)]
        assert para.alignment is None and "\t" not in para.text
    # "NE (12.3, NE)": a decimal tab would align on "12.3", so the cell is indented to put the end of
    # "NE" (1532 + 1294 units) where column B's first numbers end ("3": its tab stop)
    ne, three = (grid.rows[k].cells[2].paragraphs[0] for k in (1, 2))
    assert ne._p.find(f"{qn('w:pPr')}/{qn('w:tabs')}") is None
    stop = int(three._p.find(f"{qn('w:pPr')}/{qn('w:tabs')}/{qn('w:tab')}").get(qn("w:pos")))
    assert ne.paragraph_format.left_indent.twips == pytest.approx(stop - (1532 + 1294) * 8 / 2048 * 20, abs=1.5)


def test_11_bookmarks_numbered_across_the_pieces_of_the_document() -> None:
    """The k-th bookmark pair gets the id k, counted over the pieces word/document.xml is joined
    from (issue 25: numbered before the join); the ids the old whole-document pass gave."""
    pieces = [b'<w:p><w:bookmarkStart w:id="0" w:name="tlf_T1"/><w:bookmarkEnd w:id="0"/></w:p>',
              b'<w:tbl><w:bookmarkStart w:id="0" w:name="tlf_L1"/><w:bookmarkEnd w:id="0"/>',
              b'<w:t>&lt;w:bookmarkStart w:id="0"</w:t></w:tbl><w:bookmarkStart w:id="7"/>', b""]
    assert b"".join(_number_bookmarks(pieces)) == (
        b'<w:p><w:bookmarkStart w:id="1" w:name="tlf_T1"/><w:bookmarkEnd w:id="1"/></w:p><w:tbl><w:bookmarkStart '
        b'w:id="2" w:name="tlf_L1"/><w:bookmarkEnd w:id="2"/><w:t>&lt;w:bookmarkStart w:id="0"</w:t></w:tbl>'
        b'<w:bookmarkStart w:id="7"/>')
