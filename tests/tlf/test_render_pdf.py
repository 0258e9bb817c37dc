"""Rendering test: every DOCX (and RTF) output of the embedded study converted to PDF by a real
renderer (LibreOffice headless), then read back page by page with poppler's pdftotext.

Checks, from the PDF text: the page count (the DOCX writer's own count, printed in the combined
document's table of contents, and the RTF writer's, which cuts the pages itself; and Listing 1
in at most 16 pages in DOCX and in RTF, half of the 33 it took before the layout work); no blank page; the first title line
and "Page x of y" on every page; every column header on every page of a table or listing; no
word of a cell split over two lines; numbers of a column aligned on the decimal (x positions
from pdftotext -bbox); in the combined DOCX and the combined RTF, a filled table of contents
whose page numbers are the pages the outputs start on, and every figure on its page. A PNG of each output's first page is kept next to the PDFs in the
test's temporary folder, for a reviewer to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

TOOLS = ("soffice", "pdftotext", "pdftoppm", "pdfimages")
_missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"{', '.join(_missing)} not installed: LibreOffice (soffice) renders the DOCX/RTF outputs to PDF "
           "and poppler-utils reads the pages back (apt-get install libreoffice-writer-nogui poppler-utils "
           "fonts-dejavu-core)")


@pytest.fixture(scope="module")
def rendered(embedded_run, tmp_path_factory):
    """(tables by id, PDF folder): every DOCX/RTF of outputs/tables converted in one soffice call."""
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

    study, _ = embedded_run
    specs = load_stage_specs(study, "tlf")
    tables = {t.id: t for t in build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))}
    out = tmp_path_factory.mktemp("rendered")
    sources = sorted((study.outputs_dir / "tables").glob("*.docx")) + sorted(
        (study.outputs_dir / "tables").glob("*.rtf"))
    for source in sources:  # RTF and DOCX of one output would give the same PDF name
        target = out / source.suffix[1:]
        target.mkdir(exist_ok=True)
    for kind in ("docx", "rtf"):
        files = [str(s) for s in sources if s.suffix == f".{kind}"]
        if files:
            subprocess.run(["soffice", f"-env:UserInstallation=file://{out}/profile", "--headless",
                            "--convert-to", "pdf", "--outdir", str(out / kind), *files],
                           check=True, capture_output=True, timeout=600)
    for pdf in out.glob("*/*.pdf"):
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(pdf.with_suffix(""))], check=True)
    return study, tables, out


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def _pdfs(rendered, kind: str) -> list[Path]:
    _, _, out = rendered
    return sorted(p for p in (out / kind).glob("*.pdf") if p.stem != "combined")


def _words(text: str) -> list[str]:
    from tlfgen.tlf.layout import split_words

    return [w for line in text.split("\n") for w in split_words(line) if w]


def _style(study):
    from tlfgen.tlf.run import document_style

    return document_style(study)


def test_every_docx_output_was_rendered(rendered) -> None:
    study, tables, out = rendered
    assert sorted(p.stem for p in _pdfs(rendered, "docx")) == sorted(tables)
    assert (out / "docx" / "combined.pdf").is_file() and (out / "rtf" / "combined.pdf").is_file()
    assert sorted(p.stem for p in _pdfs(rendered, "rtf")) == sorted(tables)
    assert all((p.with_suffix(".png")).stat().st_size > 1000 for p in out.glob("*/*.pdf"))


@pytest.mark.parametrize("kind", ["docx", "rtf"])
def test_page_count_title_page_numbers_and_headers_on_every_page(rendered, kind) -> None:
    from tlfgen.tlf.docx_writer import Item, compute_pages
    from tlfgen.tlf.layout import compute_table_layout

    study, tables, _ = rendered
    pdfs = _pdfs(rendered, kind)
    if not pdfs:
        pytest.skip(f"no {kind} outputs in the embedded study's specs")
    style = _style(study)
    for pdf in pdfs:
        table = tables[pdf.stem]
        pages = _pages(pdf)
        if kind == "docx":  # the writer's page count (printed in the table of contents)
            item = Item(table.id, table.title, table.footnotes, table.spec_path, table.cutoff, table=table)
            predicted = compute_pages([item], style, {table.id: compute_table_layout(table, style)})[0]
            assert predicted == len(pages), (pdf.stem, predicted, len(pages))
        else:  # the RTF writer cuts the pages itself: the renderer must not add one
            from tlfgen.io.ooxml import run_timestamp
            from tlfgen.tlf.rtf_writer import compute_rtf_pages

            assert len(compute_rtf_pages(table, run_timestamp(), style=style)) == len(pages), pdf.stem
        header_words = Counter(_words(table.stub_header))
        for column in table.columns:
            header_words.update(_words(table.header_lines(column)))
        labels = {r.label for r in table.rows if r.label}
        for k, page in enumerate(pages, start=1):
            assert table.title[0] in page, (pdf.stem, k)
            assert f"Page {k} of {len(pages)}" in page, (pdf.stem, k)
            words = Counter(_page_words(page))
            assert not header_words - words, (pdf.stem, k, header_words - words)
            assert any(label in page for label in labels), f"{pdf.stem}: page {k} has no row of the table"


def _page_words(page: str) -> list[str]:
    from tlfgen.tlf.layout import split_words

    return [w for line in page.split("\n") for token in line.split() for w in split_words(token) if w]


@pytest.mark.parametrize("kind", ["docx", "rtf"])
def test_listing_1_fits_in_half_its_former_33_pages(rendered, kind) -> None:
    assert len(_pages(next(p for p in _pdfs(rendered, kind) if p.stem == "L1"))) <= 16


def test_no_word_of_a_cell_is_split_over_two_lines(rendered) -> None:
    """Every word of every cell appears whole in the PDF text at least as often as in the table."""
    _, tables, _ = rendered
    for pdf in _pdfs(rendered, "docx") + _pdfs(rendered, "rtf"):
        table = tables[pdf.stem]
        expected: Counter = Counter()
        for row in table.rows:
            expected.update(_words(row.label))
            for cell in row.cells:
                expected.update(_words(cell.text))
        found = Counter(w for page in _pages(pdf) for w in _page_words(page))
        short = {w: (n, found[w]) for w, n in expected.items() if found[w] < n}
        assert not short, f"{pdf.name}: words split or missing (expected, found): {dict(list(short.items())[:8])}"


@pytest.mark.parametrize("kind", ["docx", "rtf"])
def test_combined_document_opens_with_a_filled_table_of_contents(rendered, kind) -> None:
    """combined.docx and combined.rtf: the contents list every output (tables, listings, then the
    seven figures), each at the page where its title first appears; the outputs in that order;
    "Page x of N" on every page."""
    _, tables, out = rendered
    pages = _pages(out / kind / "combined.pdf")
    for k, page in enumerate(pages, start=1):
        assert f"Page {k} of {len(pages)}" in page, (kind, k)
    contents = pages[0]
    assert "Table of contents" in contents
    entries = [line for line in contents.splitlines() if re.match(r"^\s*(Table|Listing|Figure) \d+\.", line)]
    assert len(entries) == len(tables) + 7  # and the seven figures
    starts = []
    for line in entries:
        title = re.sub(r"\s*\(.*$|\s*\.{3,}.*$", "", line.strip())
        page = int(re.search(r"(\d+)\s*$", line).group(1))
        assert title in pages[page - 1], (title, page)
        assert page == 2 or title not in pages[page - 2], (title, page)  # the output starts on that page
        starts.append(page)
    assert starts == sorted(starts) and starts[0] == 2
    for table in tables.values():
        assert any(table.title[0] in line for line in entries), table.id
    for k, page in enumerate(pages[1:], start=2):  # no blank page: a title, and rows or a figure
        found = [t for t in tables.values() if t.title[0] in page]
        if found:
            assert any(r.label and r.label in page for r in found[0].rows), (kind, k)
        else:
            assert re.search(r"^\s*Figure \d+\.", page, re.M), (kind, k)
    if kind == "docx":  # the page numbers written in the file (Word shows them until it updates fields)
        import zipfile

        xml = zipfile.ZipFile(rendered[0].outputs_dir / "tables" / "combined.docx").read("word/document.xml").decode()
        written = [int(n) for n in re.findall(r'PAGEREF \w+ \\h </w:instrText></w:r><w:r><w:fldChar '
                                               r'w:fldCharType="separate"/></w:r><w:r><w:t>(\d+)</w:t>', xml)]
        assert written == starts
    order = [t.split(".")[0] for t in (re.sub(r"^\s*", "", line) for line in entries)]
    assert order[:len(tables)] == [t.title[0].split(".")[0] for t in tables.values()]
    assert order[len(tables):] == [f"Figure {k}" for k in range(1, 8)]


def test_combined_rtf_holds_every_figure_on_its_page(rendered) -> None:
    _, _, out = rendered
    pdf = out / "rtf" / "combined.pdf"
    figure_pages = [k for k, page in enumerate(_pages(pdf), start=1)
                    if k > 1 and re.search(r"^\s*Figure \d+\.", page, re.M)]
    assert len(figure_pages) == 7
    for k in figure_pages:
        listed = subprocess.run(["pdfimages", "-list", "-f", str(k), "-l", str(k), str(pdf)], check=True,
                                capture_output=True, text=True).stdout.splitlines()
        assert len(listed) >= 3, f"page {k}: no picture"


def test_every_figure_page_holds_its_picture(rendered) -> None:
    _, _, out = rendered
    pdf = out / "docx" / "combined.pdf"
    pages = _pages(pdf)
    figure_pages = [k for k, page in enumerate(pages, start=1)
                    if k > 1 and re.search(r"^\s*Figure \d+\.", page, re.M)]
    assert len(figure_pages) == 7
    for k in figure_pages:
        listed = subprocess.run(["pdfimages", "-list", "-f", str(k), "-l", str(k), str(pdf)], check=True,
                                capture_output=True, text=True).stdout.splitlines()
        assert len(listed) >= 3, f"page {k}: no picture"  # two header lines, then one line per image


def _bbox_words(pdf: Path, page: int) -> list[tuple[float, float, str]]:
    """(x, y, word) of every word of one page, as pdftotext -bbox places them (points)."""
    import html

    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [(float(x), float(y), html.unescape(w)) for x, y, w in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>', out)]


@pytest.mark.parametrize("kind", ["docx", "rtf"])
def test_numbers_of_a_column_line_up_on_the_decimal(rendered, kind) -> None:
    """T2's TCAC column: "3 (10.0)", "24 (80.0)", "16.03 (9.49, 22.58)", "73.5, 97.9" have their first
    number's decimal point (an integer: its end) at one x on the rendered page. The x of that point
    is the x of the cell's first word plus the width of its digits (font metrics); centred cells
    would spread it over several points."""
    from tlfgen.tlf.layout import compute_table_layout, split_at_decimal, text_width

    study, tables, out = rendered
    style = _style(study)
    table = tables["T2"]
    layout = compute_table_layout(table, style)
    assert layout.columns[1].align == "decimal"
    pdf = out / kind / "T2.pdf"
    left = style.margin_x + (style.text_width - sum(layout.widths)) / 2
    lo, hi = left + layout.widths[0], left + layout.widths[0] + layout.widths[1]
    lines: dict[float, list[tuple[float, str]]] = {}
    for x, y, word in _bbox_words(pdf, 1):
        if lo <= x < hi:
            lines.setdefault(round(y, 1), []).append((x, word))
    cells = {r.cells[0].text for r in table.rows if r.kind == "data"}
    points, digits = [], set()
    for words in lines.values():
        x, word = min(words)
        if word[0].isdigit() and " ".join(w for _, w in sorted(words)) in cells:  # a cell, not a footnote
            cut = split_at_decimal(word)
            points.append(x + text_width(word[:cut], font=style.font, size=layout.size))
            digits.add(cut)
    assert len(points) >= 15 and digits == {1, 2}, (len(points), digits)  # one- and two-digit numbers
    assert max(points) - min(points) < 0.5, sorted(points)
