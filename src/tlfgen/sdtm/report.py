"""SDTM stage: the findings report ``outputs/qc/findings.xlsx``.

Sheet "findings": every finding, sorted (severity, file, line, column, rule); "line" is the
file's line number (header = line 1), as in every message and in ``tlfgen trace``.
Sheet "reconciliation": per raw file and per domain, rows in / out / rejected
by reason. Integers are number cells; everything else is an inline-string
cell built by ``xlsx_safe.inline_text_xml`` (control characters escaped,
length checked), so nothing ever becomes a formula; text starting with
= + - @ also gets a ``quotePrefix`` cell format so Excel keeps it text after
an edit. Empty values are empty inline-string cells.

Speed: openpyxl writes the package with empty sheets (styles, workbook parts);
each sheet's ``<sheetData>`` is generated here as one string (cell XML memoised
per distinct text) and put into the saved package, as the TLF XLSX writer
does. Deterministic bytes: fixed workbook properties and zip entry times (io.ooxml.write_package).
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from tlfgen.io.atomic import atomic_write_bytes
from tlfgen.io.ooxml import read_entries, store_zip, write_package
from tlfgen.io.xlsx_safe import inline_text_xml
from tlfgen.results import DatasetCount, Finding

FINDING_COLUMNS = ("severity", "rule", "file", "line", "column", "value", "usubjid", "domain", "message", "action")
_FINDING_FIELDS = {"line": "row"}  # sheet column -> Finding field
RECON_COLUMNS = ("dataset", "rows_in", "rows_out", "rows_rejected", "reason", "rows")
SHEETS = ("findings", "reconciliation")
#: column widths in characters (others: 14)
COLUMN_WIDTHS = {"severity": 10, "rule": 24, "file": 14, "line": 7, "column": 10, "value": 24, "usubjid": 20,
                 "domain": 8, "message": 60, "action": 28, "dataset": 14, "reason": 36}
_FIXED = datetime(2000, 1, 1)
_FIXED_UTC = _FIXED.replace(tzinfo=timezone.utc)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Sorted findings; one per rule and raw cell (a cell mapped into two domains is reported once)."""
    unique: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.rule, f.file, f.row, f.column) if f.row is not None else (f.rule, f.file, f.column, f.message)
        unique.setdefault(key, f)
    return sorted(unique.values(), key=lambda f: (*f.sort_key(), f.message))


def derive_finding_rows(findings: Sequence[Finding]) -> list[tuple]:
    """The "findings" sheet, header first: one row of ``FINDING_COLUMNS`` values per finding."""
    fields = [_FINDING_FIELDS.get(c, c) for c in FINDING_COLUMNS]
    return [FINDING_COLUMNS] + [tuple(getattr(f, c) for c in fields) for f in findings]


def derive_reconciliation_rows(counts: Sequence[DatasetCount]) -> list[tuple]:
    """The "reconciliation" sheet, header first: a totals row per dataset, then one row per reason."""
    rows: list[tuple] = [RECON_COLUMNS]
    for count in counts:
        rows.append((count.name, count.rows_in, count.rows_out, count.rows_rejected, "", None))
        rows.extend((count.name, None, None, None, reason, n) for reason, n in count.rejected.items())
    return rows


class _Cells:
    """Cell XML after ``<c r="A1"``: numbers for ints, inline strings (memoised) for the rest."""

    def __init__(self, quote_style: int, header_style: int) -> None:
        self.quote = f' s="{quote_style}"'
        self.header = f' s="{header_style}"'
        self.memo: dict[str, str] = {}

    def fragment(self, value: object, sheet: str, row: int, col: int) -> str:
        if row == 1:  # the header row: bold column names
            inner, _ = inline_text_xml(str(value), f"findings report: sheet {sheet!r} header column {col}")
            return f'{self.header} t="inlineStr">{inner}</c>'
        if isinstance(value, int) and not isinstance(value, bool):
            return f' t="n"><v>{value}</v></c>'
        text = value if isinstance(value, str) else ("" if value is None else str(value))
        found = self.memo.get(text)
        if found is None:
            inner, quote = inline_text_xml(text, f"findings report: sheet {sheet!r} row {row} column {col}")
            found = f'{self.quote if quote else ""} t="inlineStr">{inner}</c>'
            self.memo[text] = found
        return found


def create_sheet_data(rows: Iterable[Sequence[object]], sheet: str, cells: _Cells) -> tuple[str, str]:
    """(``<dimension>``, ``<sheetData>``) XML of one sheet whose rows start at A1."""
    parts = ["<sheetData>"]
    letters: list[str] = []
    n_rows = 0
    for r, values in enumerate(rows, start=1):
        while len(letters) < len(values):
            letters.append(get_column_letter(len(letters) + 1))
        row = [f'<c r="{letters[c]}{r}"{cells.fragment(v, sheet, r, c + 1)}' for c, v in enumerate(values)]
        parts.append(f'<row r="{r}">{"".join(row)}</row>')
        n_rows = r
    parts.append("</sheetData>")
    last = f"{letters[-1] if letters else 'A'}{max(n_rows, 1)}"
    return f'<dimension ref="A1:{last}"/>', "".join(parts)


def _register_quote_style(wb: Workbook) -> int:
    """The cell format id of a quote-prefixed cell (text Excel must not read as a formula)."""
    cell = WriteOnlyCell(wb.active)
    cell.quotePrefix = True
    return cell.style_id


def _register_header_style(wb: Workbook) -> int:
    """The cell format id of a header cell (bold)."""
    cell = WriteOnlyCell(wb.active)
    cell.font = Font(bold=True)
    return cell.style_id


def _set_layout(ws, columns: Sequence[str], n_rows: int) -> None:
    """Frozen header row, an autofilter over the table, and column widths a reader can work with."""
    ws.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{max(n_rows, 1)}"
    for i, name in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = COLUMN_WIDTHS.get(name, 14)


def build_findings_workbook(findings: list[Finding], counts: list[DatasetCount]) -> bytes:
    """The findings.xlsx bytes (same findings and counts -> same bytes)."""
    wb = Workbook()
    wb.properties.creator = "tlfgen"
    wb.properties.created = _FIXED
    wb.properties.modified = _FIXED
    wb.active.title = SHEETS[0]
    wb.create_sheet(SHEETS[1])
    cells = _Cells(_register_quote_style(wb), _register_header_style(wb))
    finding_rows, recon_rows = derive_finding_rows(findings), derive_reconciliation_rows(counts)
    _set_layout(wb[SHEETS[0]], FINDING_COLUMNS, len(finding_rows))
    _set_layout(wb[SHEETS[1]], RECON_COLUMNS, len(recon_rows))
    sheets = {
        "xl/worksheets/sheet1.xml": create_sheet_data(finding_rows, SHEETS[0], cells),
        "xl/worksheets/sheet2.xml": create_sheet_data(recon_rows, SHEETS[1], cells),
    }
    buffer = io.BytesIO()
    with store_zip(buffer) as archive:
        ExcelWriter(wb, archive).write_data()
    return write_package(_fill_sheets(read_entries(buffer.getvalue()), sheets), _FIXED_UTC)


def _fill_sheets(entries: list[tuple[str, bytes]], sheets: dict[str, tuple[str, str]]) -> list[tuple[str, bytes]]:
    """The package entries with each empty sheet's dimension and ``<sheetData>`` replaced."""
    filled = []
    for name, blob in entries:
        if name in sheets:
            dimension, data = sheets[name]
            blob = (blob.replace(b'<dimension ref="A1:A1"/>', dimension.encode(), 1)
                    .replace(b"<sheetData/>", b"<sheetData></sheetData>", 1)
                    .replace(b"<sheetData></sheetData>", data.encode("utf-8"), 1))
        filled.append((name, blob))
    return filled


def write_findings_report(findings: list[Finding], counts: list[DatasetCount], path: Path) -> Path:
    return atomic_write_bytes(path, build_findings_workbook(findings, counts))
