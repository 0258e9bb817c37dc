"""Tests of tlf/layout.py (named apart from tests/test_layout.py): text widths from the DejaVu metrics, wrapping, column widths, pages."""

from __future__ import annotations

import pytest

from tlfgen.tlf.layout import (
    DocumentStyle, Memo, column_texts, count_lines, count_pages, compute_table_layout, decimal_tab_anchor, fit_widths,
    is_numeric_text, lines_each, split_at_decimal, split_words, text_width, TableLayout,
)
from tlfgen.tlf.model import Cell, Column, Row, Table
from tlfgen.tlf.rtf_writer import row_heights


# 1. widths: DejaVu Sans advance widths (hmtx): "0" = 1303, " " = 651 units of 2048 per em
def test_01_text_width_from_the_font_metrics() -> None:
    assert text_width("00", font="DejaVu Sans", size=8) == pytest.approx(2 * 1303 * 8 / 2048)
    assert text_width("0 0", font="DejaVu Sans", size=10) == pytest.approx((2 * 1303 + 651) * 10 / 2048)
    assert text_width("0", font="DejaVu Sans", size=8, bold=True) > text_width("0", font="DejaVu Sans", size=8)
    with pytest.raises(ValueError, match="no font metrics"):
        text_width("x", font="Comic Sans", size=8)


# 2. wrapping at spaces and after a slash, never inside a word
def test_02_split_words_and_count_lines() -> None:
    assert split_words("NOT RECOVERED/NOT RESOLVED") == ["NOT", "RECOVERED/", "NOT", "RESOLVED"]
    assert split_words("NCT04471480-01001") == ["NCT04471480-01001"]
    digit = 1303 * 8 / 2048
    assert count_lines("00 00", 5 * digit, font="DejaVu Sans", size=8) == 1  # 2 digits + space + 2 digits
    assert count_lines("00 00", 4 * digit, font="DejaVu Sans", size=8) == 2
    # a word wider than the line is cut, as the renderer must (a column is never that narrow)
    assert count_lines("0000", 1 * digit, font="DejaVu Sans", size=8) == 4
    # as LibreOffice 7.4 set Listing 1 (7 pt, 66.1 pt of text): a word breaks after its slash only
    # when it does not fit whole: NOT | RECOVERED/NOT | RESOLVED, though "NOT RECOVERED/" (63.2 pt) fits
    assert count_lines("NOT RECOVERED/NOT RESOLVED", 66.1, font="DejaVu Sans", size=7) == 3
    assert count_lines("RECOVERED/RESOLVED", 66.1, font="DejaVu Sans", size=7) == 2  # RECOVERED/ | RESOLVED
    assert count_lines("a\nb", 100, font="DejaVu Sans", size=8) == 2


def test_02b_a_text_that_fits_is_one_line_to_the_last_point() -> None:
    """count_lines returns 1 for a text narrower than the width without wrapping it (issue 25):
    the lines the word-by-word wrapping counted, at the text's own width and either side of it."""
    expected = {"RECOVERED RESOLVED": [1, 2, 1, 2, 4], "NOT RECOVERED/NOT RESOLVED": [1, 2, 1, 3, 4],
                " lead": [1, 1, 1, 2, 3], "a  b": [1, 2, 1, 2, 3], "2021-03-08": [1, 2, 1, 2, 3]}
    for text, lines in expected.items():
        w = text_width(text, font="DejaVu Sans", size=7)
        assert [count_lines(text, x, font="DejaVu Sans", size=7) for x in (w, w - 1e-9, w + 1e-9, w / 2, w / 3)] \
            == lines, text


def test_03_numeric_text() -> None:
    assert [is_numeric_text(t) for t in ("27 (90.0)", "73.5, 97.9", "< 0.001", "NE (NE, NE)", "RELATED", "Y")] == [
        True, True, True, True, False, False]


# 4. fit_widths: room shared in proportion; too narrow: the widest columns narrowed first
def test_04_fit_widths() -> None:
    assert fit_widths([10, 10], [20, 60], 160) == pytest.approx([40, 120])
    assert fit_widths([50, 50], [60, 60], 90) == [50, 50]  # even the words do not fit
    columns = [["aa aa aa aa"] * 3, ["b"] * 3]
    lines = lambda text, width: -(-len(text) // max(1, int(width)))  # noqa: E731  characters per line
    widths = fit_widths([2, 1], [11, 1], 7, columns=columns, lines=lines)
    assert sum(widths) == pytest.approx(7) and widths[0] == pytest.approx(6) and widths[1] == pytest.approx(1)


# 5. a table: the stub wide enough for its longest word, numbers centred, text left, pages counted
def test_05_table_layout_and_pages() -> None:
    style = DocumentStyle()
    table = Table("T9", "table", ("Table 9",), "Characteristic",
                  (Column("A", "A", 30, "A\n(N=30)"), Column("B", "Term", kind="listing")),
                  tuple(Row(f"Row {k}", (Cell("27 (90.0)"), Cell("SUBCUTANEOUS"))) for k in range(3)))
    layout = compute_table_layout(table, style)
    assert [c.align for c in layout.columns] == ["left", "decimal", "left"]
    assert sum(layout.widths) == pytest.approx(style.text_width, abs=0.05)
    assert layout.widths[2] >= text_width("SUBCUTANEOUS", font=style.font, size=style.size)
    assert count_pages(TableLayout(layout.columns, 8, 20, (10.0,) * 10), 70) == 2  # 5 rows a page
    assert count_pages(TableLayout(layout.columns, 8, 20, (10.0,) * 10), 120) == 1


# 6. decimal alignment: the first number's decimal point, or its end; where the renderers' tab aligns
def test_06_decimal_alignment_points() -> None:
    cells = ("16.03 (9.49, 22.58)", "12 (40.0)", "< 0.001", "NE (12.3, NE)", "NE", "-1.5", "2020-05-12")
    assert [split_at_decimal(t) for t in cells] == [2, 2, 3, 2, 2, 2, 4]
    # Word / LibreOffice: the first ".", else the first non-digit after a digit, else the end
    assert [decimal_tab_anchor(t) for t in cells] == [2, 2, 3, 6, 2, 2, 4]
    style = DocumentStyle()
    table = Table("T9", "table", ("Table 9",), "Statistic", (Column("A", "A", 30, "A"),),
                  tuple(Row(f"Row {k}", (Cell(t),)) for k, t in enumerate(("3 (10.0)", "16.03 (9.49, 22.58)"))))
    column = compute_table_layout(table, style).columns[1]
    # widest left part "16" (2 x 1303 units), widest right part ".03 (9.49, 22.58)" (units summed by hand:
    # . 651, 0 1303, 3 1303, space 651, ( 799, 9 1303, . 651, 4 1303, 9 1303, , 651, space 651, 2 1303,
    # 2 1303, . 651, 5 1303, 8 1303, ) 799), centred in the cell less its 5 points of padding
    left, right = 2606 * 8 / 2048, 17231 * 8 / 2048
    assert column.align == "decimal"
    assert column.decimal_at == pytest.approx((column.width - 5 - left - right) / 2 + left, abs=0.01)
    assert column.width >= left + right + 5


def test_07_each_distinct_text_measured_once_gives_the_rows_measured_one_by_one() -> None:
    """compute_table_layout and the RTF's row_heights count the lines of each distinct text once
    (issue 25): the widths and heights the row-by-row code gave, a page wide enough and one too
    narrow (widths found by the greedy search), repeated, empty, wrapped and block-label rows."""
    columns = (Column("A", "A", 30, "Outcome"), Column("B", "B", 30, "Day"))
    rows = (Row("NCT-001", (Cell("NOT RECOVERED/NOT RESOLVED"), Cell("12")), 0),
            Row("NCT-001", (Cell("RECOVERED/RESOLVED"), Cell("")), 0),
            Row("Serious", (), 0, kind="header"),
            Row("NCT-002 with a long label that wraps over lines", (Cell("NOT RECOVERED/NOT RESOLVED"), Cell("3")), 1),
            Row("", (Cell("FATAL"), Cell("140")), 0))
    assert column_texts(Table("L9", "listing", ("Listing 9",), "Subject", columns, rows[:3])) == [
        ["NCT-001", "NCT-001", ""], ["NOT RECOVERED/NOT RESOLVED", "RECOVERED/RESOLVED", ""], ["12", "", ""]]
    calls = []
    assert lines_each(["a", "bb", "a", ""], lambda t: calls.append(t) or len(t)) == [1, 2, 1, 0]
    assert sorted(calls) == ["", "a", "bb"]
    memo = Memo(lambda t: calls.append(t) or t.upper())
    assert [memo[t] for t in ("x", "y", "x", "")] == ["X", "Y", "X", ""] and calls[3:] == ["x", "y", ""]
    narrow = DocumentStyle(page_width=300, margin_x=20)
    expected = {  # (kind, style): widths, the layout's row heights, the RTF's row heights (the old code's)
        ("listing", 0): ((421.29, 286.86, 48.74), [9.1484375] * 5, [9.1484375] * 5),
        ("listing", 1): ((118.03, 118.03, 23.94), [17.296875, 9.1484375, 9.1484375, 17.296875, 9.1484375],
                         [17.296875, 9.1484375, 9.1484375, 17.296875, 9.1484375]),
        ("table", 0): ((421.17, 288.21, 47.52), [10.3125] * 5, [10.3125] * 5),
        ("table", 1): ((116.93, 116.93, 26.14), [19.625, 10.3125, 10.3125, 28.9375, 10.3125],
                       [19.625, 10.3125, 10.3125, 28.9375, 10.3125]),
    }
    for (kind, k), (widths, heights, rtf_heights) in expected.items():
        table, style = Table("L9", kind, ("Listing 9",), "Subject", columns, rows), (DocumentStyle(), narrow)[k]
        layout = compute_table_layout(table, style)
        assert (layout.widths, list(layout.row_heights), row_heights(table, layout, style)) == \
            (widths, heights, rtf_heights), (kind, k)
