"""I/O layer: writing text into XLSX cells so it stays text (openpyxl).

Two hazards with openpyxl 3.1:

* Formula injection: assigning a str that starts with "=" makes openpyxl set
  ``cell.data_type = "f"`` and write it as a formula. A leading apostrophe does
  not help (it becomes part of the value). The fix used here: assign the value,
  then set ``cell.data_type = "s"`` explicitly, so it is written as an inline
  string (``t="inlineStr"``) and re-read as the same str with data_type "s".
  The cell also gets ``quotePrefix=True`` so Excel keeps showing it as text
  even after someone edits the cell. Text starting with "+", "-" or "@" is a
  formula only to Excel on typing, never in the stored file; it gets the same
  treatment.
* Control characters: XML 1.0 cannot hold U+0000-U+0008, U+000B, U+000C,
  U+000E-U+001F; openpyxl raises IllegalCharacterError for them. They are
  replaced by a visible escape (``\\x07``) and the replacement is reported in
  the returned ``CellText`` so the caller can log a finding.

Excel cells hold at most 32,767 characters; longer text raises RenderError
rather than being cut silently.

Writers that generate the sheet XML themselves (the TLF XLSX writer streams
hundreds of thousands of cells) use ``inline_text_xml``: the same cleaning and
length check, returning the ``<is>`` inline-string element and whether the cell
needs ``quotePrefix``. An inline string is always text, never a formula.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

from tlfgen.errors import RenderError

MAX_CELL_CHARS = 32767
FORMULA_STARTS = ("=", "+", "-", "@")


@dataclass(frozen=True)
class CellText:
    """Text ready for a cell, and what had to be changed to get there."""

    text: str
    replaced: tuple[str, ...] = ()  # e.g. ("U+0007 at position 2",)

    @property
    def changed(self) -> bool:
        return bool(self.replaced)


def clean_cell_text(value: object) -> CellText:
    """Turn ``value`` into cell text: None/NaN -> "", control characters escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return CellText("")
    text = value if isinstance(value, str) else str(value)
    if ILLEGAL_CHARACTERS_RE.search(text) is None:
        return CellText(text)
    replaced: list[str] = []

    def _escape(match: object) -> str:
        char = match.group(0)  # type: ignore[attr-defined]
        replaced.append(f"U+{ord(char):04X} at position {match.start() + 1}")  # type: ignore[attr-defined]
        return f"\\x{ord(char):02x}"

    cleaned = ILLEGAL_CHARACTERS_RE.sub(_escape, text)
    return CellText(cleaned, tuple(replaced))


def safe_cell_text(value: object) -> str:
    """Cell text for ``value`` with XML-illegal control characters escaped."""
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value) is None:
        return value  # the common case, without building a CellText
    return clean_cell_text(value).text


def check_length(text: str, where: str) -> None:
    """RenderError naming ``where`` (sheet, row, column) when ``text`` is too long for an Excel cell."""
    if len(text) > MAX_CELL_CHARS:
        raise RenderError(
            f"{where}: text is {len(text)} characters; an Excel cell holds at most {MAX_CELL_CHARS}",
            hint="shorten the text or move it to a footnote",
        )


def inline_text_xml(value: object, where: str) -> tuple[str, bool]:
    """``(<is><t>..</t></is>, quote_prefix)`` for ``value`` as a literal text cell ("" when empty).

    ``quote_prefix`` is True for text starting with = + - @ (the cell style should set
    ``quotePrefix``). ``where`` ("sheet 'T1' row 5 column 2") names the cell in errors.
    """
    text = safe_cell_text(value)
    if not text:
        return "", False
    check_length(text, where)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    space = ' xml:space="preserve"' if text.strip() != text else ""
    return f"<is><t{space}>{escaped}</t></is>", text.startswith(FORMULA_STARTS)


def write_text_cell(ws: Worksheet, row: int, col: int, value: object) -> CellText:
    """Write ``value`` as a literal string cell at (row, col), never as a formula.

    Returns the ``CellText`` written; ``.replaced`` lists escaped characters.
    """
    cell_text = clean_cell_text(value)
    check_length(cell_text.text, f"sheet {ws.title!r} row {row} column {col}")
    cell = ws.cell(row=row, column=col)
    cell.value = cell_text.text
    cell.data_type = "s"
    if cell_text.text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell_text


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def formula_safe(text: str) -> str:
    """``text`` for a CSV or other text export that a spreadsheet may open: text that a
    spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return, OWASP's CSV-injection list) gets a leading apostrophe; a plain number
    such as ``-0.5`` is left as it is, since it is data, not a formula."""
    if not text or text[0] not in FORMULA_STARTS + ("\t", "\r") or _NUMBER.fullmatch(text):
        return text
    return "'" + text

