"""Tests of tlf/rtf_writer.py: RTF written by rtflite from a small Table model, read back as text.

The rendering itself (LibreOffice -> PDF, pages, titles, headers) is checked on the embedded
study by test_render_pdf.py."""

from __future__ import annotations

import re

from tlfgen.io.ooxml import run_timestamp
from tlfgen.tlf.layout import DocumentStyle, compute_table_layout
from tlfgen.tlf.model import Cell, Column, Row, Table
from tlfgen.tlf.rtf_writer import create_rtf, rtf_text, split_pages

STYLE = DocumentStyle(study_id="NCT04471480")


def _table(rows=None, **kw) -> Table:
    base = dict(
        id="T9", kind="table", title=("Table 9. Response {x}", "Full analysis set"), stub_header="Characteristic",
        columns=(Column("A", "A", 30, "TCAC\n(N=30)"), Column("B", "B", 30, "TCC\n(N=30)")),
        rows=rows or (Row("Age, years", (Cell(""), Cell("")), 0, kind="header"),
                      Row("Mean (SD)", (Cell("61.6 (6.55)"), Cell("61.9 (7.49)")), 1),
                      Row("Age group \u2265 65", (Cell("11 (36.7)"), Cell("15 (50.0)")), 1)),
        footnotes=("SD = standard deviation.",), spec_path="specs/tlf/T9.yaml", cutoff="2025-04-12",
    )
    base.update(kw)
    return Table(**base)


def test_01_text_is_escaped_for_rtf() -> None:
    assert rtf_text("a{b}\\c") == "a\\{b\\}\\\\c"
    assert rtf_text("\u2265 65, caf\u00e9") == "\\u8805? 65, caf\\u233?"
    assert rtf_text("TCAC\n(N=30)") == "TCAC\\line (N=30)"
    assert rtf_text("\U0001F600") == "\\u-10179?\\u-8704?"  # UTF-16 surrogates D83D DE00, as signed 16-bit


def _rtf_text_per_character(text: str) -> str:
    """rtf_text as it was written before issue 25, one character at a time: the reference."""
    from tlfgen.io.xlsx_safe import safe_cell_text

    out = []
    for ch in safe_cell_text(text):
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\line ")
        elif ch == "\t":
            out.append("\\tab ")
        elif ord(ch) < 128:
            out.append(ch)
        else:
            encoded = ch.encode("utf-16-le")
            for k in range(0, len(encoded), 2):
                unit = int.from_bytes(encoded[k:k + 2], "little")
                out.append(f"\\u{unit - 65536 if unit > 32767 else unit}?")
    return "".join(out)


def test_02_rtf_text_gives_what_the_per_character_escaping_gave() -> None:
    """rtf_text escapes a whole string at once (issue 25): the same text as the per-character loop
    it replaced, on its values and on every character up to U+02FF and some beyond."""
    assert rtf_text("plain ASCII 12.3 (45.6%)") == "plain ASCII 12.3 (45.6%)"
    assert rtf_text("tab\there\nline") == "tab\\tab here\\line line"
    assert rtf_text("\x00\x07\x1f\x7f~") == "\\\\x00\\\\x07\\\\x1f\x7f~"  # control characters shown as \x07
    assert rtf_text("caf\u00e9 \u2265 65 \u00b5g") == "caf\\u233? \\u8805? 65 \\u181?g"
    assert rtf_text("\U0001F600x\U00010000") == "\\u-10179?\\u-8704?x\\u-10240?\\u-9216?"
    assert rtf_text("\uffff\ud7ff\ue000") == "\\u-1?\\u-10241?\\u-8192?"
    assert rtf_text("") == ""
    every = "".join(map(chr, range(0x300))) + "\u2013\u2264\u03b1\uffff\U0001F600\U0010FFFF"
    assert rtf_text(every) == _rtf_text_per_character(every)
    for ch in every:
        assert rtf_text(f"a{ch}{{b}}{ch}") == _rtf_text_per_character(f"a{ch}{{b}}{ch}"), hex(ord(ch))


def test_03_pages_never_end_on_a_block_label() -> None:
    rows = (Row("Age", (), 0, kind="header"), Row("n", (Cell("1"), Cell("2")), 1), Row("Mean", (Cell("1"), Cell("2")), 1),
            Row("Sex", (), 0, kind="header"), Row("M", (Cell("1"), Cell("2")), 1), Row("F", (Cell("1"), Cell("2")), 1))
    table = _table(rows=rows)
    layout = compute_table_layout(table, STYLE)
    # 10 points a row, 40 on a page: the 4th row ("Sex") would end page 1, so it starts page 2
    assert split_pages(table, layout, 40.0, [10.0] * 6) == [(0, 3), (3, 6)]
    assert split_pages(table, layout, 60.0, [10.0] * 6) == [(0, 6)]


def test_04_document_font_titles_page_numbers_and_widths(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    table = _table()
    data = create_rtf(table, run_timestamp(), style=STYLE)
    text = data.decode("ascii")
    assert text.startswith("{\\rtf1") and text.rstrip().endswith("}")
    assert "{\\f0\\fswiss\\fcharset0\\fprq2 DejaVu Sans;}" in text
    assert "Table 9. Response \\{x\\}" in text and "Full analysis set" in text
    assert "{\\header" in text and "NCT04471480" in text
    assert "{\\field{\\*\\fldinst PAGE }" in text and "{\\field{\\*\\fldinst NUMPAGES }" in text
    assert "TCAC\\line (N=30)" in text and "Age group \\u8805? 65" in text
    assert "SD = standard deviation." in text and "Source: specs/tlf/T9.yaml" in text
    assert "\\landscape" in text and "\\paperw16838\\paperh11906" in text  # A4 landscape, twips
    # the column widths of the DOCX layout: cell right edges in twips
    widths = [c.width for c in compute_table_layout(table, STYLE).columns]
    edges = [int(x) for x in re.findall(r"\\cellx(\d+)", text)[:3]]
    assert [round(e / 20, 0) for e in edges] == [round(sum(widths[:k + 1]), 0) for k in range(3)]
    assert "\\trgaph50" in text  # 2.5 pt of padding each side, as the DOCX's cell margins
    assert data == create_rtf(table, run_timestamp(), style=STYLE)  # byte-identical


def test_05_long_listing_repeats_title_header_and_footnotes_on_every_page(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    rows = tuple(Row(f"S-{i:03d}", (Cell("TCAC"), Cell(f"term {i}"))) for i in range(120))
    table = _table(rows=rows, id="L9", kind="listing", title=("Listing 9. Events", "Safety set"),
                   columns=(Column("ARM", "Arm", kind="listing"), Column("TERM", "Reported term", kind="listing")))
    text = create_rtf(table, run_timestamp(), style=STYLE).decode("ascii")
    pages = text.split("\\page")
    assert len(pages) >= 3
    for page in pages:
        assert "Listing 9. Events" in page and "Reported term" in page and "SD = standard deviation." in page
    assert sum(page.count("S-") for page in pages) == 120  # every row once
    assert text.count("{\\header") == 1


def test_06_rows_from_rtflite_templates_are_the_bytes_rtflite_writes_for_every_row(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    rows = []
    for block in range(12):  # label rows, indented rows, a bold label with indented rows, one page break or more
        rows.append(Row(f"Block {block} {{x}}", (), 0, kind="header"))
        rows += [Row(f"level \u2265 {k}", (Cell(f"{k} (1{k}.0)"), Cell("")), 1 + k % 2) for k in range(5)]
        rows.append(Row("Total", (Cell("30"), Cell("0.370")), 0))
    table = _table(rows=tuple(rows))
    fast = create_rtf(table, run_timestamp(), style=STYLE)
    assert fast.count(b"\\page") >= 1
    assert fast == create_rtf(table, run_timestamp(), style=STYLE, direct=True)


def test_06b_pages_sharing_one_template_are_the_bytes_rtflite_writes_for_every_page(monkeypatch) -> None:
    """A listing's pages with the same row formats share one rtflite template document: the same
    bytes as rtflite writing every page and row itself, with one template built, not one per page."""
    import tlfgen.tlf.rtf_writer as writer

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    rows = tuple(Row(f"S-{i:03d}", (Cell("TCAC"), Cell(f"term {i}"))) for i in range(250))
    table = _table(rows=rows, id="L9", kind="listing", title=("Listing 9. Events", "Safety set"),
                   columns=(Column("ARM", "Arm", kind="listing"), Column("TERM", "Reported term", kind="listing")))
    calls = []
    original = writer._page_document
    monkeypatch.setattr(writer, "_page_document", lambda *a, **k: calls.append(1) or original(*a, **k))
    fast = create_rtf(table, run_timestamp(), style=STYLE)
    built = len(calls)
    assert fast.count(b"\\page") >= 3  # four pages or more
    assert built == 1
    assert fast == create_rtf(table, run_timestamp(), style=STYLE, direct=True)


def test_07_numbers_aligned_on_the_decimal_as_in_the_docx(monkeypatch) -> None:
    """Each number's cell gets the DOCX layout's decimal tab stop (``\\tqdec\\tx`` in twips, no
    ``\\tab``: LibreOffice and Word align a table cell on it without one); "NE (12.3, NE)", which a
    decimal tab would align on "12.3", is indented to put the end of "NE" there."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    rows = (Row("ORR", (Cell("27 (90.0)"), Cell("NE (12.3, NE)")), 0), Row("95% CI", (Cell("73.5, 97.9"), Cell("3 (10.0)")), 1))
    table = _table(rows=rows)
    layout = compute_table_layout(table, STYLE)
    text = create_rtf(table, run_timestamp(), style=STYLE).decode("ascii")
    a, b = (round(c.decimal_at * 20) for c in layout.columns[1:])
    assert f"\\ql\\tqdec\\tx{a}\\fs16{{\\f0 27 (90.0)}}\\cell" in text
    assert f"\\ql\\tqdec\\tx{a}\\fs16{{\\f0 73.5, 97.9}}\\cell" in text
    assert f"\\ql\\tqdec\\tx{b}\\fs16{{\\f0 3 (10.0)}}\\cell" in text
    ne = round((layout.columns[2].decimal_at - (1532 + 1294) * 8 / 2048) * 20)  # "NE": DejaVu Sans units
    assert f"\\li{ne}\\ri0\\ql\\fs16{{\\f0 NE (12.3, NE)}}\\cell" in text
    assert "\\tab" not in text and "\x02" not in text
