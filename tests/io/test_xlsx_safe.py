"""Tests for tlfgen.io.xlsx_safe: text cells never become formulas; control characters escaped."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tlfgen.errors import RenderError
from tlfgen.io.xlsx_safe import CellText, clean_cell_text, safe_cell_text, write_text_cell

FORMULA_LIKE = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "=HYPERLINK(\"http://x\")", "plain text"]


def test_formula_like_text_is_stored_as_literal_string(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row, value in enumerate(FORMULA_LIKE, start=1):
        write_text_cell(ws, row, 1, value)
    wb.save(tmp_path / "t.xlsx")
    cells = [openpyxl.load_workbook(tmp_path / "t.xlsx").active.cell(row=r, column=1)
             for r in range(1, len(FORMULA_LIKE) + 1)]
    assert [(c.value, c.data_type) for c in cells] == [(v, "s") for v in FORMULA_LIKE]
    assert [c.quotePrefix for c in cells] == [True, True, True, True, True, False]


def test_plain_assignment_would_be_a_formula() -> None:
    ws = openpyxl.Workbook().active
    ws.cell(row=1, column=1).value = "=1+1"
    assert ws.cell(row=1, column=1).data_type == "f"  # why write_text_cell exists


def test_control_characters_are_escaped_and_reported(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    written = write_text_cell(wb.active, 1, 1, "a\x07b\x1fc\td\ne")
    assert written == CellText("a\\x07b\\x1fc\td\ne", ("U+0007 at position 2", "U+001F at position 4"))
    assert written.changed
    wb.save(tmp_path / "c.xlsx")
    assert openpyxl.load_workbook(tmp_path / "c.xlsx").active["A1"].value == "a\\x07b\\x1fc\td\ne"


def test_clean_cell_text_values() -> None:
    assert clean_cell_text(None) == CellText("")
    assert clean_cell_text(float("nan")) == CellText("")
    assert clean_cell_text(12.5) == CellText("12.5")
    assert not clean_cell_text("ok").changed
    assert safe_cell_text("x\x00") == "x\\x00"
    # the text without control characters is returned as it is (issue 25), as clean_cell_text gives it
    for value in ("ok", "", "a\tb\nc", "caf\u00e9", "x\x00", "\x1f\x7f", None, float("nan"), 12.5, 3):
        assert safe_cell_text(value) == clean_cell_text(value).text, value


def test_text_over_excel_limit_raises() -> None:
    ws = openpyxl.Workbook().active
    with pytest.raises(RenderError, match="sheet 'Sheet' row 3 column 2: text is 32768 characters"):
        write_text_cell(ws, 3, 2, "x" * 32768)


def test_inline_text_xml_escapes_marks_formulas_and_keeps_spaces() -> None:
    from tlfgen.io.xlsx_safe import inline_text_xml

    assert inline_text_xml("=1+1", "x") == ("<is><t>=1+1</t></is>", True)
    assert inline_text_xml("a<b>&c\r", "x") == ('<is><t xml:space="preserve">a&lt;b&gt;&amp;c&#13;</t></is>', False)
    assert inline_text_xml("  95% CI", "x") == ('<is><t xml:space="preserve">  95% CI</t></is>', False)
    assert inline_text_xml("a\x07", "x") == ("<is><t>a\\x07</t></is>", False)
    assert inline_text_xml(None, "x") == ("", False)
    with pytest.raises(RenderError, match="sheet 'S' row 2 column 3: text is 32768"):
        inline_text_xml("x" * 32768, "sheet 'S' row 2 column 3")
