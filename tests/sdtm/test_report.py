"""The findings report writer (tlfgen.sdtm.report): rows, cell types, formula safety, determinism."""

import io
import zipfile

import openpyxl
import pytest

from tlfgen.errors import RenderError
from tlfgen.pipeline import DatasetCount, Finding
from tlfgen.sdtm.report import (
    build_findings_workbook,
    derive_finding_rows,
    derive_reconciliation_rows,
    sort_findings,
    write_findings_report,
)

F1 = Finding("ERROR", "DATE-INVALID", "'31 FEB 2020' is not a valid date", file="raw/ae.csv", row=3,
             column="AESTDAT", value="31 FEB 2020", usubjid="S-001", domain="AE", action="set to blank")
F2 = Finding("WARNING", "CT-UNMAPPED", "'=1+1' is not in codelist OUT", file="raw/ae.csv", row=7,
             column="AEOUT", value="=1+1", usubjid="S-002", domain="AE", action="set to blank")
F3 = Finding("NOTE", "RAW-FILE-NO-ROWS", "no rows", file="raw/pr.csv")
COUNTS = [DatasetCount("raw/ae.csv", 10, 8, {"not mapped: no domain spec reads this form": 1,
                                             "rejected: duplicate record": 1}),
          DatasetCount("AE", 8, 8)]


def read_back(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def test_finding_rows_are_header_then_one_row_per_finding():
    assert derive_finding_rows([F1, F3]) == [
        ("severity", "rule", "file", "line", "column", "value", "usubjid", "domain", "message", "action"),
        ("ERROR", "DATE-INVALID", "raw/ae.csv", 3, "AESTDAT", "31 FEB 2020", "S-001", "AE",
         "'31 FEB 2020' is not a valid date", "set to blank"),
        ("NOTE", "RAW-FILE-NO-ROWS", "raw/pr.csv", None, None, None, None, None, "no rows", None),
    ]


def test_reconciliation_rows_are_totals_then_reasons():
    assert derive_reconciliation_rows(COUNTS) == [
        ("dataset", "rows_in", "rows_out", "rows_rejected", "reason", "rows"),
        ("raw/ae.csv", 10, 8, 2, "", None),
        ("raw/ae.csv", None, None, None, "not mapped: no domain spec reads this form", 1),
        ("raw/ae.csv", None, None, None, "rejected: duplicate record", 1),
        ("AE", 8, 8, 0, "", None),
    ]


def test_sort_findings_orders_by_severity_and_reports_a_cell_once():
    twice = Finding("ERROR", "DATE-INVALID", "same cell, other domain", file="raw/ae.csv", row=3, column="AESTDAT")
    assert sort_findings([F3, F2, F1, twice]) == [F1, F2, F3]


def test_workbook_reads_back_with_the_same_values_and_types():
    wb = read_back(build_findings_workbook([F1, F2, F3], COUNTS))
    assert wb.sheetnames == ["findings", "reconciliation"]
    ws = wb["findings"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == [
        ["ERROR", "DATE-INVALID", "raw/ae.csv", 3, "AESTDAT", "31 FEB 2020", "S-001", "AE",
         "'31 FEB 2020' is not a valid date", "set to blank"],
        ["WARNING", "CT-UNMAPPED", "raw/ae.csv", 7, "AEOUT", "=1+1", "S-002", "AE",
         "'=1+1' is not in codelist OUT", "set to blank"],
        ["NOTE", "RAW-FILE-NO-ROWS", "raw/pr.csv", None, None, None, None, None, "no rows", None],
    ]
    assert [ws["D2"].data_type, ws["F3"].data_type, ws["A2"].data_type] == ["n", "s", "s"]
    rec = wb["reconciliation"]
    assert [[c.value for c in row] for row in rec.iter_rows()] == [
        ["dataset", "rows_in", "rows_out", "rows_rejected", "reason", "rows"],
        ["raw/ae.csv", 10, 8, 2, None, None],
        ["raw/ae.csv", None, None, None, "not mapped: no domain spec reads this form", 1],
        ["raw/ae.csv", None, None, None, "rejected: duplicate record", 1],
        ["AE", 8, 8, 0, None, None],
    ]
    assert (ws.max_row, ws.max_column, rec.max_row, rec.max_column) == (4, 10, 5, 6)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", '=HYPERLINK("http://x")'])
def test_formula_like_text_is_a_quote_prefixed_text_cell(text):
    finding = Finding("ERROR", "R", text, file="raw/ae.csv", row=1, value=text)
    ws = read_back(build_findings_workbook([finding], [DatasetCount(text, 1, 1)]))["findings"]
    cell = ws["F2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    assert (ws["A2"].quotePrefix, ws["D2"].quotePrefix) == (False, False)
    rec = read_back(build_findings_workbook([], [DatasetCount(text, 1, 1)]))["reconciliation"]["A2"]
    assert (rec.value, rec.data_type, rec.quotePrefix) == (text, "s", True)


def test_control_characters_are_escaped_and_markup_and_spaces_kept():
    finding = Finding("ERROR", "R", "a\x07b", file="raw/ae.csv", row=1, value=" x & <y> ", usubjid="été 中")
    ws = read_back(build_findings_workbook([finding], []))["findings"]
    assert [ws["I2"].value, ws["F2"].value, ws["G2"].value] == ["a\\x07b", " x & <y> ", "été 中"]


def test_too_long_text_names_sheet_row_and_column():
    finding = Finding("ERROR", "R", "x" * 32768, file="raw/ae.csv", row=1)
    with pytest.raises(RenderError, match=r"sheet 'findings' row 2 column 9: text is 32768 characters"):
        build_findings_workbook([finding], [])


def test_same_findings_give_the_same_bytes_with_fixed_dates(tmp_path):
    path = write_findings_report([F1, F2, F3], COUNTS, tmp_path / "qc" / "findings.xlsx")
    assert path.read_bytes() == build_findings_workbook([F1, F2, F3], COUNTS)
    with zipfile.ZipFile(path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2


def test_empty_report_still_has_both_headers():
    wb = read_back(build_findings_workbook([], []))
    assert [[c.value for c in next(ws.iter_rows())] for ws in wb.worksheets] == [
        ["severity", "rule", "file", "line", "column", "value", "usubjid", "domain", "message", "action"],
        ["dataset", "rows_in", "rows_out", "rows_rejected", "reason", "rows"],
    ]


def test_header_is_bold_frozen_filtered_and_columns_have_widths():
    findings = [Finding("ERROR", "CT-UNMAPPED", "'x' is not in codelist OUT", file="raw/ae.csv", row=3,
                        column="AEOUT", value="x", action="set to blank")]
    wb = openpyxl.load_workbook(io.BytesIO(build_findings_workbook(findings, [])))
    ws = wb["findings"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:J2"
    assert [c.font.bold for c in ws[1]] == [True] * 10
    assert ws["A2"].font.bold is not True
    assert ws.column_dimensions["I"].width == 60  # message
    assert wb["reconciliation"].freeze_panes == "A2"
