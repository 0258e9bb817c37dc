"""TLF stage: page layout of a table or listing, computed once from the ``Table`` model.

What SAS PROC REPORT / ODS does for a CSR appendix, done here for every writer (DOCX, RTF):

- **Column widths from content.** Each column's narrowest width is its longest word (header
  words in bold included), so a word is never broken; its natural width is its longest line,
  capped at ``max_column_share`` of the text width. When the natural widths do not fit, the
  widest columns are narrowed first (one common cap, found by bisection), never below their
  longest word; when they fit, the spare width is shared out in proportion.
- **Alignment.** Text (the stub, listing text) is left-aligned; a column whose every cell is a
  number or a statistic ("27 (90.0)", "16.03 (9.49, 22.58)", "< 0.001") is aligned on the decimal,
  as PROC REPORT's ``just=d``: each cell's first number has its decimal point (an integer: its
  end) at one position of the column (``ColumnLayout.decimal_at``), the block of numbers centred
  in the column. The DOCX and RTF writers put a decimal tab stop there in each cell (no tab
  character: in a table cell Word and LibreOffice align the text on a decimal tab stop without
  one, and a leading tab moves it on to the next default stop, measured with LibreOffice 7.4);
  a cell where the renderers' decimal tab would align elsewhere (``decimal_tab_anchor``:
  "NE (12.3, NE)" aligns on "12.3") gets a left indent instead. Headers are centred, the stub's
  header left-aligned.
- **Pages.** Row heights from the wrapped line count of each cell (``count_lines``: greedy
  wrapping at spaces, a word too wide for the line after its slashes, as LibreOffice does) and
  the cell padding, so the number of pages of each output is known before rendering (the table
  of contents prints it; the rendering test checks it against LibreOffice's pages).

Widths come from the embedded font metrics (``fontmetrics.py``), in points.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Literal, Sequence

from tlfgen.tlf.fontmetrics import EXTRA_CODEPOINTS, LINE_HEIGHT_EM, UNITS_PER_EM, WIDTHS
from tlfgen.tlf.model import Table

Align = Literal["left", "center", "decimal"]
_EXTRA = {c: k for k, c in enumerate(EXTRA_CODEPOINTS)}
#: a number or statistic: digits and the signs around them, "NE" / "NA" where not estimable
_NUMERIC = re.compile(r"(?:[\d.,()%<>=≤≥+\-\u2212 ]|\bN[EA]\b)+")
#: cell padding left + right (points) and above + below
CELL_PAD_X = 5.0
CELL_PAD_Y = 1.0
#: a small margin on every computed width against rounding in the renderers (points)
SAFETY = 1.0
#: points a line's width is kept under the room to be known to fit without wrapping it (``count_lines``:
#: its words' widths summed one by one may round above the width of the whole line, never by this much)
FITS_MARGIN = 1e-6


@dataclass(frozen=True)
class DocumentStyle:
    """The look of every output of a study (``specs/study.yaml`` ``documents:``)."""

    font: str = "DejaVu Sans"
    size: float = 8.0  # table text, points
    listing_size: float = 7.0  # listing text, points (a listing has many more columns)
    title_size: float = 9.0
    footnote_size: float = 7.5
    max_column_share: float = 0.4  # widest a column may be, as a share of the text width
    study_id: str = ""  # printed at the left of the page header
    page_width: float = 841.9  # A4 landscape, points
    page_height: float = 595.3
    margin_x: float = 42.5  # 1.5 cm
    margin_top: float = 42.5  # 1.5 cm: the header sits above the body
    margin_bottom: float = 42.5
    header_distance: float = 22.7  # 0.8 cm from the page edge
    footer_distance: float = 22.7

    @property
    def text_width(self) -> float:
        return self.page_width - 2 * self.margin_x

    def body_size(self, table: Table) -> float:
        """Text size of a table's cells: listings are set smaller."""
        return self.listing_size if table.kind == "listing" else self.size


@dataclass(frozen=True)
class ColumnLayout:
    width: float  # points, cell padding included
    align: Align
    #: a "decimal" column: points from the start of a cell's text (the padding left of it excluded)
    #: to where every cell's first number has its decimal point (or its end)
    decimal_at: float = 0.0


@dataclass(frozen=True)
class TableLayout:
    columns: tuple[ColumnLayout, ...]  # the stub first
    size: float  # text size of the cells, points
    header_height: float  # points, all header rows
    row_heights: tuple[float, ...]  # points, per body row
    font: str = "DejaVu Sans"  # the cells' font family

    @property
    def widths(self) -> tuple[float, ...]:
        return tuple(c.width for c in self.columns)


def text_width(text: str, *, font: str, size: float, bold: bool = False) -> float:
    """Width in points of one line of ``text`` in ``font`` at ``size`` points."""
    return _units(text, font, bold) * size / UNITS_PER_EM


@lru_cache(maxsize=65536)
def _units(text: str, font: str, bold: bool) -> int:
    table = WIDTHS.get(font)
    if table is None:
        raise ValueError(f"no font metrics for {font!r}; known: {', '.join(sorted(WIDTHS))}")
    widths = table[1 if bold else 0]
    total = 0
    for ch in text:
        code = ord(ch)
        if 32 <= code <= 255:
            total += widths[code - 32]
        elif code in _EXTRA:
            total += widths[224 + _EXTRA[code]]
        else:
            total += UNITS_PER_EM  # an unknown glyph counted as one em (wide, never too narrow)
    return total


_BREAK = re.compile(r"(?<=/)(?=[^\s/])")


def split_words(line: str) -> list[str]:
    """The unbreakable pieces of a line: words between spaces, and a word with a slash split after
    it ("RECOVERED/" "RESOLVED": both renderers may break a line there; never inside a word)."""
    return [piece for word in line.split(" ") for piece in _BREAK.split(word)]


def count_lines(text: str, width: float, *, font: str, size: float, bold: bool = False) -> int:
    """Lines ``text`` takes when wrapped into ``width`` points as LibreOffice wraps it: at spaces; a
    word wider than the line after its slashes ("RECOVERED/" "RESOLVED"; "RECOVERED/NOT", which
    fits, stays whole: measured with LibreOffice 7.4); a piece still wider is cut (never here: the
    columns are as wide as the longest piece)."""
    if "\n" not in text and text_width(text, font=font, size=size, bold=bold) <= width - FITS_MARGIN:
        return 1  # the whole text fits: the wrapping below would sum its words to this width
    lines = 0
    space = text_width(" ", font=font, size=size, bold=bold)
    for part in text.split("\n"):
        lines += 1
        used = 0.0
        for k, word in enumerate(part.split(" ")):
            whole = text_width(word, font=font, size=size, bold=bold)
            pieces = [word] if whole <= width else _BREAK.split(word)
            for m, piece in enumerate(pieces):
                w = whole if len(pieces) == 1 else text_width(piece, font=font, size=size, bold=bold)
                gap = space if (m == 0 and k > 0) else 0.0
                if used and used + gap + w > width:
                    lines += 1
                    used = w
                else:
                    used = used + gap + w if (used or k or m) else w
                if w > width:
                    lines += math.ceil(w / width) - 1
                    used = w % width
    return lines


def is_numeric_text(text: str) -> bool:
    """True for a statistic or number printed in a cell ("27 (90.0)", "0.370", "< 0.001", "NE")."""
    text = text.strip()
    return bool(_NUMERIC.fullmatch(text)) and (any(ch.isdigit() for ch in text) or "NE" in text or "NA" in text)


_FIRST_TOKEN = re.compile(r"\d+|[A-Za-z]+")


def split_at_decimal(text: str) -> int:
    """Index in ``text`` of the point a decimal column aligns: the end of the first number's
    integer digits ("16|.03 (9.49, 22.58)", "12| (40.0)", "< 0|.001"), or of the first word
    ("NE| (12.3, NE)"); no number or word: the end of the text."""
    match = _FIRST_TOKEN.search(text)
    return match.end() if match else len(text)


def decimal_tab_anchor(text: str) -> int:
    """Index of the character a decimal tab stop aligns ``text`` on in Word and LibreOffice (its
    Word-compatible mode, which a DOCX opens in): the first ".", or the first character that is
    not a digit after a digit; neither: the end of the text (measured with LibreOffice 7.4)."""
    digit = False
    for k, ch in enumerate(text):
        if ch == ".":
            return k
        if ch.isdigit():
            digit = True
        elif digit:
            return k
    return len(text)


def decimal_offset(text: str, column: ColumnLayout, *, font: str, size: float) -> float:
    """Points from the start of a cell's text area to where ``text`` starts in a decimal column."""
    return column.decimal_at - text_width(text[:split_at_decimal(text)], font=font, size=size)


def _decimal_parts(texts: Sequence[str], *, font: str, size: float) -> tuple[float, float]:
    """The widest text left of the alignment point and the widest from it on, in points."""
    left = right = 0.0
    for text in texts:
        cut = split_at_decimal(text)
        left = max(left, text_width(text[:cut], font=font, size=size))
        right = max(right, text_width(text[cut:], font=font, size=size))
    return left, right


def compute_table_layout(table: Table, style: DocumentStyle) -> TableLayout:
    """Column widths, alignments and row heights of ``table`` on a page of ``style``."""
    font, size = style.font, style.body_size(table)
    n = 1 + len(table.columns)
    indent = 10.0  # points per indent level (200 twips)
    headers = [table.stub_header] + [table.header_lines(c) for c in table.columns]
    longest_word = [0.0] * n
    longest_line = [0.0] * n
    texts = column_texts(table)
    for j, head in enumerate(headers):
        # headers wrap at spaces: their words set the narrowest width, not their lines
        for line in head.split("\n"):
            for word in split_words(line):
                longest_word[j] = max(longest_word[j], text_width(word, font=font, size=size, bold=True))
    labels = dict.fromkeys((row.label, row.indent, row.kind == "header" or (row.indent == 0 and table.kind == "table"),
                            row.kind == "header") for row in table.rows)
    for label, level, bold, block in labels:  # each distinct label measured once
        extra = indent * level
        for line in label.split("\n"):
            # a block label with no cells may run over the data columns: only its words count
            if not block:
                longest_line[0] = max(longest_line[0], extra + text_width(line, font=font, size=size, bold=bold))
            for word in split_words(line):
                longest_word[0] = max(longest_word[0], extra + text_width(word, font=font, size=size, bold=bold))
    for j in range(1, n):
        for text in set(texts[j]):
            for line in text.split("\n"):
                longest_line[j] = max(longest_line[j], text_width(line, font=font, size=size))
                for word in split_words(line):
                    longest_word[j] = max(longest_word[j], text_width(word, font=font, size=size))
    aligns: list[Align] = ["left"]
    parts: dict[int, tuple[float, float]] = {}
    for j in range(1, n):
        filled = sorted({t for t in texts[j] if t.strip()})
        numeric = bool(filled) and all(is_numeric_text(t) for t in filled)
        aligns.append("left" if not numeric else "center" if any("\n" in t for t in filled) else "decimal")
        if aligns[j] == "decimal":
            parts[j] = _decimal_parts(filled, font=font, size=size)
            longest_line[j] = max(longest_line[j], sum(parts[j]))
        if aligns[j] != "left":
            longest_word[j] = max(longest_word[j], longest_line[j])  # a statistic is never wrapped
    pad = CELL_PAD_X + SAFETY
    minimum = [w + pad for w in longest_word]
    cap = style.max_column_share * style.text_width
    natural = [max(m, min(w + pad, cap)) for m, w in zip(minimum, longest_line)]
    widths = fit_widths(minimum, natural, style.text_width, columns=texts,
                        lines=lambda text, width: count_lines(text, width - pad, font=font, size=size))
    columns = []
    for j in range(n):
        width = round(widths[j], 2)
        at = 0.0
        if j in parts:  # the block of numbers centred in the cell's text area
            left, right = parts[j]
            at = round((width - CELL_PAD_X - left - right) / 2 + left, 2)
        columns.append(ColumnLayout(width, aligns[j], at))
    line = size * LINE_HEIGHT_EM
    header_lines = max(count_lines(h, widths[j] - CELL_PAD_X, font=font, size=size, bold=True)
                       for j, h in enumerate(headers))
    header_rows = 2 if table.has_spanners else 1
    header_height = (header_lines + header_rows - 1) * line + header_rows * CELL_PAD_Y
    stub = widths[0] - CELL_PAD_X
    label_lines = lines_each([(row.label, indent * row.indent) for row in table.rows],
                             lambda label: count_lines(label[0], stub - label[1], font=font, size=size))
    cell_lines = [lines_each(texts[j], lambda text: count_lines(text, widths[j] - CELL_PAD_X, font=font, size=size)
                             if text else 0) for j in range(1, n)]
    # half the padding above the text, half below
    heights = [lines * line + CELL_PAD_Y for lines in map(max, zip(label_lines, *cell_lines))]
    return TableLayout(tuple(columns), size, header_height, tuple(heights), font)


def column_texts(table: Table) -> list[list[str]]:
    """The body's texts column by column, the stub first: a data row's label and cells, "" in every
    column of another row (a block label, a blank row)."""
    rows = table.rows
    return [[row.label if row.kind == "data" else "" for row in rows]] + [
        [row.cells[j].text if row.kind == "data" else "" for row in rows] for j in range(len(table.columns))]


class Memo(dict):
    """``memo[key]`` is ``make(key)``, made on the first look-up of ``key`` only (a writer keeps one
    per column of an output: a listing repeats its texts)."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.make(key)
        return value


def lines_each(items: Sequence[Any], lines: Callable[[Any], int]) -> list[int]:
    """``lines(item)`` of each of ``items``, computed once per distinct item (a listing repeats its texts)."""
    known = {item: lines(item) for item in set(items)}
    return [known[item] for item in items]


def fit_widths(minimum: Sequence[float], natural: Sequence[float], available: float, *,
               columns: Sequence[Sequence[str]] = (), lines: Callable[[str, float], int] | None = None) -> list[float]:
    """Widths between ``minimum`` and ``natural`` filling ``available``.

    When the natural widths leave room, it is shared in proportion. When they do not fit, every
    column starts at its minimum and the room left is handed out greedily, a few points at a time,
    to the column where they save the most wrapped lines of the body (``columns``: each column's texts;
    ``lines(text, width)`` counts them) per point: the table gets as short as this search finds.
    When even the minimums do not fit they are returned as they are (the page is too narrow for
    the longest words).
    """
    total_min, total_nat = sum(minimum), sum(natural)
    if total_min >= available:
        return list(minimum)
    if total_nat <= available:
        spare = available - total_nat
        return [w + spare * w / total_nat for w in natural]
    widths = list(minimum)
    if lines is None or not columns or not columns[0]:
        return _share(widths, natural, available)
    import numpy as np

    # each column's distinct texts, and which of them each row holds: lines are counted per distinct text
    distinct = [list(dict.fromkeys(column)) for column in columns]
    where = []
    for column, texts in zip(columns, distinct):
        index = {t: k for k, t in enumerate(texts)}
        where.append(np.array([index[t] for t in column]))
    memo: dict[tuple[int, float], Any] = {}

    def count(j: int, width: float) -> Any:
        key = (j, round(width, 1))
        if key not in memo:
            memo[key] = np.array([lines(t, width) if t else 1 for t in distinct[j]], dtype=np.int32)[where[j]]
        return memo[key]

    grid = np.stack([count(j, widths[j]) for j in range(len(widths))], axis=1)
    while True:
        spare = available - sum(widths)
        best = None
        for j in range(len(widths)):
            if widths[j] >= natural[j]:
                continue
            others = np.delete(grid, j, axis=1).max(axis=1) if grid.shape[1] > 1 else 0
            now = float(np.maximum(others, grid[:, j]).sum())
            for extra in (2.0, 4.0, 8.0, 16.0, 32.0, 64.0):
                extra = min(extra, spare, natural[j] - widths[j])
                if extra <= 0:
                    break
                wider = count(j, widths[j] + extra)
                saved = now - float(np.maximum(others, wider).sum())
                if saved > 0 and (best is None or saved / extra > best[0]):
                    best = (saved / extra, j, extra)
        if best is None:
            return _share(widths, natural, available)
        _, j, extra = best
        widths[j] += extra
        grid[:, j] = count(j, widths[j])


def _share(widths: list[float], natural: Sequence[float], available: float) -> list[float]:
    """The room left shared in proportion to what each column still lacks of its natural width
    (or, when none lacks any, to the widths)."""
    spare = available - sum(widths)
    lack = [max(0.0, n - w) for w, n in zip(widths, natural)]
    weights = lack if sum(lack) > 0 else widths
    return [w + spare * k / sum(weights) for w, k in zip(widths, weights)]


def count_pages(layout: TableLayout, body_height: float) -> int:
    """Pages a table of ``layout`` takes when ``body_height`` points of each page hold the table."""
    room = body_height - layout.header_height
    pages, used = 1, 0.0
    for height in layout.row_heights:
        if used and used + height > room:
            pages += 1
            used = 0.0
        used += height
    return pages


def footnote_height(lines: Sequence[str], style: DocumentStyle) -> float:
    """Height in points of footnote paragraphs wrapped to the text width."""
    size = style.footnote_size
    return sum(count_lines(line, style.text_width, font=style.font, size=size) for line in lines) \
        * size * LINE_HEIGHT_EM
