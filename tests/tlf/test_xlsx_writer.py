"""Tests of tlf/xlsx_writer.py: XLSX written from a small Table model, read back with openpyxl."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from tlfgen.tlf.model import Cell, Column, Row, Table
from tlfgen.io.ooxml import run_timestamp
from tlfgen.tlf.xlsx_writer import create_xlsx, sheet_name


def _table(**kw) -> Table:
    base = dict(
        id="T9", kind="table", title=("Table 9. Response", "Full analysis set"), stub_header="Characteristic",
        columns=(Column("A", "A", 30, "A\n(N=30)"), Column("B", "B", 30, "B\n(N=30)")),
        rows=(Row("n", (Cell("30"), Cell("0.370")), 1),
              Row("ORR, n (%)", (Cell("27 (90.0)", "T9.ORR.A"), Cell("-1")), 0),
              Row("95% CI", (Cell("73.5, 97.9"), Cell("=1+1")), 1),
              Row("p", (Cell("< 0.001"), Cell("007")), 1)),
        footnotes=("CI: Clopper-Pearson.",), spec_path="specs/tlf/T9.yaml", cutoff="2025-04-12",
    )
    base.update(kw)
    return Table(**base)


def _sheet(data: bytes, name: str = "T9"):
    return load_workbook(io.BytesIO(data))[name]


def test_01_titles_headers_cells_and_footnotes() -> None:
    ws = _sheet(create_xlsx([_table()], run_timestamp()))
    assert [ws["A1"].value, ws["A2"].value] == ["Table 9. Response", "Full analysis set"]
    assert [c.value for c in ws[4]] == ["Characteristic", "A\n(N=30)", "B\n(N=30)"]
    assert [c.value for c in ws[6]] == ["ORR, n (%)", "27 (90.0)", -1]
    assert [c.value for c in ws[7]] == ["  95% CI", "73.5, 97.9", "=1+1"]
    assert ws["A10"].value == "CI: Clopper-Pearson."


def test_02_numbers_are_numbers_formatted_as_displayed() -> None:
    ws = _sheet(create_xlsx([_table()], run_timestamp()))
    assert (ws["B5"].value, ws["B5"].number_format) == (30, "0")
    assert (ws["C5"].value, ws["C5"].number_format) == (0.37, "0.000")
    assert (ws["C8"].value, ws["C8"].data_type) == ("007", "s")  # a leading zero is text, not a number


def test_03_text_never_becomes_a_formula() -> None:
    ws = _sheet(create_xlsx([_table()], run_timestamp()))
    assert (ws["C7"].value, ws["C7"].data_type) == ("=1+1", "s")


def test_04_frozen_header_and_print_titles() -> None:
    ws = _sheet(create_xlsx([_table()], run_timestamp()))
    assert ws.freeze_panes == "B5"
    assert ws.print_title_rows == "$4:$4"
    assert ws.page_setup.orientation == "landscape"
    assert ws.oddFooter.right.text == "Page &P of &N"
    assert ws.oddFooter.left.text.startswith("Source: specs/tlf/T9.yaml  Data cutoff: 2025-04-12  Run: ")


def test_05_spanners_are_merged_and_two_header_rows_frozen() -> None:
    cols = (Column("A.ANY", "Any grade", 30, spanner="A\n(N=30)"), Column("A.HIGH", "Grade 3+", 30, spanner="A\n(N=30)"))
    table = _table(columns=cols, rows=(Row("Rash", (Cell("1 (3.3)"), Cell("0 (0.0)"))),))
    ws = _sheet(create_xlsx([table], run_timestamp()))
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A4:A5", "B4:C4"]
    assert [c.value for c in ws[5]][1:] == ["Any grade", "Grade 3+"]
    assert ws.freeze_panes == "B6"


def test_06_listing_page_breaks() -> None:
    rows = tuple(Row(f"S-{i:03d}", (Cell("TCAC"), Cell(str(i)))) for i in range(12))
    ws = _sheet(create_xlsx([_table(kind="listing", rows=rows, rows_per_page=5)], run_timestamp()))
    assert [b.id for b in ws.row_breaks.brk] == [9, 14]


def test_07_combined_workbook_one_sheet_per_output_and_stable_bytes(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    tables = [_table(), _table(id="L1/x")]
    data = create_xlsx(tables, run_timestamp())
    assert load_workbook(io.BytesIO(data)).sheetnames == ["T9", "L1_x"]
    assert data == create_xlsx(tables, run_timestamp())
    assert sheet_name("A" * 40) == "A" * 31


def test_08_cache_reuses_sheet_xml_and_gives_the_same_bytes(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    tables = [_table(), _table(id="L1", kind="listing")]
    cache: dict = {}
    assert create_xlsx(tables[:1], run_timestamp(), cache=cache) == create_xlsx(tables[:1], run_timestamp())
    assert len(cache) == 1
    assert create_xlsx(tables, run_timestamp(), cache=cache) == create_xlsx(tables, run_timestamp())
    assert len(cache) == 2


def test_09_cell_formats_bold_borders_alignment_and_quote_prefix() -> None:
    ws = _sheet(create_xlsx([_table()], run_timestamp()))
    assert [ws["A1"].font.b, ws["A4"].font.b, ws["A6"].font.b, ws["A5"].font.b] == [True, True, True, False]
    assert (ws["B4"].border.top.style, ws["B4"].border.bottom.style, ws["B4"].alignment.wrap_text) == ("thin", "thin", True)
    assert [ws[f"{c}8"].border.bottom.style for c in "ABC"] == ["thin"] * 3  # rule under the last body row
    assert (ws["B6"].alignment.horizontal, ws["C7"].quotePrefix, ws["B6"].quotePrefix) == ("center", True, False)
    assert (ws["A7"].value, ws["A10"].font.sz) == ("  95% CI", 8)  # indent kept (xml:space="preserve")


def test_10_markup_and_control_characters_stay_text() -> None:
    rows = (Row("a<b>&c", (Cell("x\x07y"), Cell("1\r2"))),)
    ws = _sheet(create_xlsx([_table(rows=rows)], run_timestamp()))
    assert [c.value for c in ws[5]] == ["a<b>&c", "x\\x07y", "1\r2"]


def test_11_too_long_text_names_sheet_row_and_column() -> None:
    import pytest

    from tlfgen.errors import RenderError

    rows = (Row("n", (Cell("1"), Cell("x" * 32768))),)
    with pytest.raises(RenderError, match="sheet 'T9' row 5 column 3"):
        create_xlsx([_table(rows=rows)], run_timestamp())


def test_12_table_without_rows_rules_the_header() -> None:
    ws = _sheet(create_xlsx([_table(rows=())], run_timestamp()))
    assert (ws["B4"].value, ws["B4"].border.top, ws["B4"].border.bottom.style) == ("A\n(N=30)", None, "thin")
    assert ws["A6"].value == "CI: Clopper-Pearson."


def test_13_body_cells_repeated_empty_and_last_row_xml() -> None:
    """Body cells memoised per text: repeated texts, empty cells left out, the last row's bordered empty cell."""
    from openpyxl import Workbook

    from tlfgen.tlf.xlsx_writer import compute_layout, create_sheet_data, register_styles

    table = Table(id="L9", kind="listing", title=("L",), stub_header="Subject",
                  columns=(Column("A", "A", kind="listing"), Column("B", "B", kind="listing")),
                  rows=(Row("S-1", (Cell("x"), Cell("2"))), Row("S-1", (Cell(""), Cell("2"))),
                        Row("S-2", (Cell("x"), Cell(""))), Row("S-3", (Cell("=1"), Cell("")))))
    xml = create_sheet_data(table, compute_layout(table), register_styles(Workbook().active), "L9")
    body = xml[xml.index('<row r="4">'):]
    assert body == (
        '<row r="4"><c r="A4" t="inlineStr"><is><t>S-1</t></is></c><c r="B4" t="inlineStr"><is><t>x</t></is></c>'
        '<c r="C4" s="34" t="n"><v>2</v></c></row>'
        '<row r="5"><c r="A5" t="inlineStr"><is><t>S-1</t></is></c><c r="C5" s="34" t="n"><v>2</v></c></row>'
        '<row r="6"><c r="A6" t="inlineStr"><is><t>S-2</t></is></c><c r="B6" t="inlineStr"><is><t>x</t></is></c></row>'
        '<row r="7"><c r="A7" s="11" t="inlineStr"><is><t>S-3</t></is></c>'
        '<c r="B7" s="28" t="inlineStr"><is><t>=1</t></is></c><c r="C7" s="11"/></row></sheetData>'
    )


def test_10_listing_dates_are_dates_with_autofilter_and_frozen_header() -> None:
    from datetime import datetime

    from tlfgen.tlf.xlsx_writer import excel_date

    rows = (Row("S-001", (Cell("TCAC"), Cell("2021-03-08"))), Row("S-002", (Cell("TCC"), Cell("2021-03"))),
            Row("S-003", (Cell("TCC"), Cell("2021-02-30"))))
    cols = (Column("ARM", "Arm", kind="listing"), Column("ASTDT", "Start date", kind="listing"))
    ws = _sheet(create_xlsx([_table(kind="listing", rows=rows, columns=cols)], run_timestamp()))
    assert excel_date("2021-03-08") == 44263  # 2021-01-01 is Excel day 44197; + 31 + 28 + 7
    assert (ws["C5"].value, ws["C5"].number_format, ws["C5"].is_date) == (datetime(2021, 3, 8), "yyyy-mm-dd", True)
    assert (ws["C6"].value, ws["C6"].data_type) == ("2021-03", "s")  # a partial date stays as printed
    assert (ws["C7"].value, ws["C7"].data_type) == ("2021-02-30", "s")  # not a date: text, never a wrong day
    assert ws.auto_filter.ref == "A4:C7"
    assert ws.freeze_panes == "B5"


def test_11_p_values_numeric_where_printed_as_numbers() -> None:
    rows = (Row("p-value", (Cell("0.037"), Cell("< 0.001"))), Row("p-value", (Cell("0.5"), Cell("1.000"))))
    ws = _sheet(create_xlsx([_table(rows=rows)], run_timestamp()))
    assert [(ws[c].value, ws[c].number_format) for c in ("B5", "B6", "C6")] == [
        (0.037, "0.000"), (0.5, "0.0"), (1, "0.000")]
    assert (ws["C5"].value, ws["C5"].data_type) == ("< 0.001", "s")
    assert ws.auto_filter.ref is None  # a table is not filtered


FORMULA_LIKE = ["=SUM(A1)", "+1 (3.3)", "-x", "@cmd", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_14_formula_like_text_is_text_everywhere_on_the_sheet(text) -> None:
    table = _table(title=(text,), stub_header=text, rows=(Row(text, (Cell(text), Cell("1"))),), footnotes=(text,))
    data = create_xlsx([table], run_timestamp())
    ws = _sheet(data)
    for ref in ("A1", "A3", "A4", "B4", "A6"):  # title, stub header, row label, body cell, footnote
        assert (ws[ref].value, ws[ref].data_type, ws[ref].quotePrefix) == (text, "s", True), ref
    assert (ws["C4"].value, ws["C4"].quotePrefix) == (1, False)
    assert "<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()


def _entries(data: bytes) -> dict[str, tuple[tuple, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: (info.date_time, archive.read(info)) for info in archive.infolist()}


def test_15_the_run_time_changes_only_the_dates_and_the_footer(monkeypatch) -> None:
    tables = [_table(), _table(id="L1", kind="listing", rows_per_page=2)]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    first = create_xlsx(tables, run_timestamp())
    assert first == create_xlsx(tables, run_timestamp())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")  # 2027-01-15 08:00:00 UTC
    a, b = _entries(first), _entries(create_xlsx(tables, run_timestamp()))
    assert list(a) == list(b)
    assert {when for when, _ in a.values()} == {(2023, 11, 14, 22, 13, 20)}
    assert {when for when, _ in b.values()} == {(2027, 1, 15, 8, 0, 0)}
    changed = sorted(name for name in a if a[name][1] != b[name][1])
    assert changed == ["docProps/core.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"]
    core = a["docProps/core.xml"][1]
    assert core.count(b"2023-11-14T22:13:20Z") == 2
    assert core.replace(b"2023-11-14T22:13:20Z", b"2027-01-15T08:00:00Z") == b["docProps/core.xml"][1]
    for sheet in changed[1:]:
        assert a[sheet][1].replace(b"Run: 2023-11-14 22:13 UTC", b"Run: 2027-01-15 08:00 UTC") == b[sheet][1]


def test_16_footer_escapes_ampersands_and_stays_within_excels_255_characters() -> None:
    from tlfgen.tlf.xlsx_writer import create_footer_left

    when = run_timestamp().replace(year=2024, month=1, day=2, hour=3, minute=4)
    assert create_footer_left(_table(spec_path="specs/tlf/R&D.yaml"), when) == (
        "Source: specs/tlf/R&&D.yaml  Data cutoff: 2025-04-12  Run: 2024-01-02 03:04 UTC")
    long_path = "specs/" + "x" * 300 + "/T9.yaml"
    left = create_footer_left(_table(spec_path=long_path), when)
    assert left.startswith("Source: ...xxx") and left.endswith("xxx/T9.yaml  Data cutoff: 2025-04-12  Run: 2024-01-02 03:04 UTC")
    data = create_xlsx([_table(spec_path=long_path)], when)
    footer = re.search(r"<oddFooter>(.*)</oddFooter>", zipfile.ZipFile(io.BytesIO(data)).read(
        "xl/worksheets/sheet1.xml").decode()).group(1).replace("&amp;", "&")
    assert len(footer) == 255 and footer.endswith("UTC&R&8 Page &P of &N")


def test_17_sheet_names_excel_accepts() -> None:
    assert [sheet_name(i) for i in ("T1", "L1/x", "History", "A" * 40)] == ["T1", "L1_x", "History_", "A" * 31]
    data = create_xlsx([_table(id="t9"), _table(id="T9")], run_timestamp())  # Excel ignores case
    assert load_workbook(io.BytesIO(data)).sheetnames == ["t9", "T9_1"]


def test_18_more_rows_than_an_excel_sheet_is_an_error_naming_the_output(monkeypatch) -> None:
    from tlfgen.errors import RenderError
    from tlfgen.tlf import xlsx_writer

    monkeypatch.setattr(xlsx_writer, "MAX_ROWS", 9)  # T9 needs 10: 2 titles, a blank, header, 4 rows, a blank, a note
    with pytest.raises(RenderError, match="T9: the sheet needs 10 rows; an Excel sheet holds 9"):
        create_xlsx([_table()], run_timestamp())
