"""Tests of tlf/rtf_combined.py: the combined RTF of two small tables and a figure, read back as text.

Its rendering (LibreOffice -> PDF: the table of contents' page numbers are the pages the outputs
start on) is checked on the embedded study by test_render_pdf.py."""

from __future__ import annotations

import re
from pathlib import Path

from tlfgen.io.ooxml import run_timestamp
from tlfgen.tlf.figures.common import FigureResult
from tlfgen.tlf.layout import DocumentStyle
from tlfgen.tlf.model import Cell, Column, Row, Table
from tlfgen.tlf.rtf_combined import _content_end, create_combined_rtf, rtf_page_count
from tlfgen.tlf.rtf_writer import compute_rtf_pages, create_rtf

STYLE = DocumentStyle(study_id="NCT04471480")


def _table(output_id: str, title: str, n_rows: int) -> Table:
    return Table(output_id, "table", (title, "Full analysis set"), "Characteristic",
                 (Column("A", "A", 30, "TCAC\n(N=30)"), Column("B", "B", 30, "TCC\n(N=30)")),
                 tuple(Row(f"Row {k}", (Cell(f"{k} (1{k}.0)"), Cell("0.370"))) for k in range(n_rows)),
                 footnotes=("SD = standard deviation.",), spec_path=f"specs/tlf/{output_id}.yaml", cutoff="2025-04-12")


def _png(path: Path) -> Path:
    """A 2 x 1 pixel PNG written by hand (signature, IHDR, IDAT, IEND)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00\x00\x00\xff"  # one row: filter 0, a red and a blue pixel
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def test_01_contents_then_every_output_in_order_with_its_first_page(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    short, long = _table("T1", "Table 1. Short {x}", 3), _table("T2", "Table 2. Long", 150)
    figure = FigureResult("F1", "km", "Figure 1. Kaplan-Meier\nFull analysis set", ("Ticks: censored.",),
                          _png(tmp_path / "F1.png"), None, width=9.0, height=6.0)
    run_at = run_timestamp()
    data = create_combined_rtf([short, long], run_at, figures=[figure], style=STYLE)
    text = data.decode("ascii")
    long_pages = len(compute_rtf_pages(long, run_at, style=STYLE))
    assert long_pages >= 3  # 150 rows: the long table runs over pages
    # one document: one font table, one page header; the parts joined by page breaks
    assert text.startswith("{\\rtf1") and text.count("{\\fonttbl") == 1 and text.count("{\\header") == 1
    assert "{\\f0\\fswiss\\fcharset0\\fprq2 DejaVu Sans;}" in text
    assert text.count("\\page") == 1 + (long_pages - 1) + 1 + 1  # contents | T1 | T2's pages | F1
    # the contents: each entry a link to its bookmark, then the page it starts on (contents = page 1)
    for name, entry, page in (("tlf_T1", "Table 1. Short \\{x\\} (Full analysis set)", 2),
                              ("tlf_T2", "Table 2. Long (Full analysis set)", 3),
                              ("tlf_F1", "Figure 1. Kaplan-Meier (Full analysis set)", 3 + long_pages)):
        link = f'{{\\field{{\\*\\fldinst HYPERLINK \\\\l "{name}"}}{{\\fldrslt {entry}}}}}'
        assert re.search(re.escape(link) + r"\}\\cell\s*\\pard[^{]*\{\\f0 " + str(page) + r"\}\\cell", text), name
    # the outputs in order, each with its bookmark at its title; the figure's PNG embedded
    marks = [text.index(f"{{\\*\\bkmkstart {name}}}{{\\*\\bkmkend {name}}}") for name in ("tlf_T1", "tlf_T2", "tlf_F1")]
    assert text.index("Table of contents") < marks[0] < marks[1] < marks[2]
    assert text.index("Short \\{x\\}", marks[0]) < marks[1] and "\\pngblip" in text[marks[2]:]
    assert "Ticks: censored." in text[marks[2]:] and "Source: specs/tlf/figures.yaml" in text
    # a table's part is the bytes of its own RTF (from its page setup on)
    own = create_rtf(long, run_at, style=STYLE).decode("ascii")
    body = own[own.index("\\paperw"):].rstrip()[:-1].rstrip()
    assert body.replace("{\\f0\\b ", "{\\f0\\b {\\*\\bkmkstart tlf_T2}{\\*\\bkmkend tlf_T2}", 1) in text
    assert data == create_combined_rtf([short, long], run_at, figures=[figure], style=STYLE)  # byte-identical


def test_02_pages_counted_in_an_outputs_rtf_are_its_cut_pages(monkeypatch) -> None:
    """The combined RTF counts an output's pages in the RTF written for it (issue 25): the pages
    ``compute_rtf_pages`` cuts, for a one-page table and a long one, braces and page-like text in it."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    run_at = run_timestamp()
    for table in (_table("T1", "Table 1. {\\pard\\fs2\\par}\\page{x}", 3), _table("T2", "Table 2. Long", 150)):
        pages = len(compute_rtf_pages(table, run_at, style=STYLE))
        assert rtf_page_count(create_rtf(table, run_at, style=STYLE)) == pages
    assert pages >= 3


def test_03_content_end_is_before_the_closing_brace_and_the_space_around_it() -> None:
    """Where each part is cut in the combined RTF: as ``str.rstrip()[:-1].rstrip()`` cut it."""
    for data in (b"{\\rtf1 x}\n", b"{\\rtf1 x\\par \n}", b"{\\rtf1 x} \t\n\r", b"{\\rtf1 x \x1c}\x0b\x0c", b"}", b" \n",
                 b""):
        text = data.decode("ascii")
        assert data[:_content_end(data)].decode("ascii") == text.rstrip()[:-1].rstrip(), data
