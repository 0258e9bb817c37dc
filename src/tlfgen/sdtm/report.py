"""SDTM stage: the findings report ``outputs/qc/findings.xlsx``.

Sheet "findings": every finding, sorted (severity, file, line, column, rule); "line" is the
file's line number (header = line 1), as in every message and in ``tlfgen trace``.
Sheet "reconciliation": per raw file and per domain, rows in / out / rejected
by reason. Written with XlsxWriter: integers are number cells; everything else is
text (``xlsx_safe.checked_cell_text``: control characters escaped, length checked)
written with ``write_string``, so nothing ever becomes a formula; text starting with
= + - @ also gets a ``quote_prefix`` cell format so Excel keeps it text after an
edit. Empty values are empty cells. Deterministic bytes: a fixed created date
(2000-01-01) and XlsxWriter's fixed zip entry dates (io.ooxml.create_workbook).
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from tlfgen.io.atomic import atomic_write_bytes
from tlfgen.io.ooxml import CELL_PADDING, create_workbook, set_print_margins
from tlfgen.io.xlsx_safe import FORMULA_STARTS, checked_cell_text
from tlfgen.results import DatasetCount, Finding

FINDING_COLUMNS = ("severity", "rule", "file", "line", "column", "value", "usubjid", "domain", "message", "action")
_FINDING_FIELDS = {"line": "row"}  # sheet column -> Finding field
RECON_COLUMNS = ("dataset", "rows_in", "rows_out", "rows_rejected", "reason", "rows")
SHEETS = ("findings", "reconciliation")
#: column widths in characters (others: 14)
COLUMN_WIDTHS = {"severity": 10, "rule": 24, "file": 14, "line": 7, "column": 10, "value": 24, "usubjid": 20,
                 "domain": 8, "message": 60, "action": 28, "dataset": 14, "reason": 36}
_FIXED = datetime(2000, 1, 1, tzinfo=timezone.utc)


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


def _write_rows(ws, rows: Iterable[Sequence[object]], header_style, quote_style) -> int:
    """Write ``rows`` from A1 (the first row bold): ints as numbers, the rest as text; the row count."""
    n_rows = 0
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if r and isinstance(value, int) and not isinstance(value, bool):
                ws.write_number(r, c, value)
                continue
            where = (f"findings report: sheet {ws.name!r} header column {c + 1}" if r == 0
                     else f"findings report: sheet {ws.name!r} row {r + 1} column {c + 1}")
            text = checked_cell_text("" if value is None else value, where)
            if text:
                quote = r > 0 and text.startswith(FORMULA_STARTS)
                ws.write_string(r, c, text, header_style if r == 0 else (quote_style if quote else None))
        n_rows = r + 1
    return n_rows


def _set_layout(ws, columns: Sequence[str], n_rows: int) -> None:
    """Frozen header row, an autofilter over the table, and column widths a reader can work with."""
    ws.freeze_panes(1, 0)
    set_print_margins(ws)
    ws.autofilter(0, 0, max(n_rows, 1) - 1, len(columns) - 1)
    for i, name in enumerate(columns):
        ws.set_column(i, i, COLUMN_WIDTHS.get(name, 14) - CELL_PADDING)


def build_findings_workbook(findings: list[Finding], counts: list[DatasetCount]) -> bytes:
    """The findings.xlsx bytes (same findings and counts -> same bytes)."""
    buffer = io.BytesIO()
    wb = create_workbook(buffer, _FIXED)
    header, quote = wb.add_format({"bold": True}), wb.add_format({"quote_prefix": True})
    try:
        for name, columns, rows in ((SHEETS[0], FINDING_COLUMNS, derive_finding_rows(findings)),
                                    (SHEETS[1], RECON_COLUMNS, derive_reconciliation_rows(counts))):
            ws = wb.add_worksheet(name)
            _set_layout(ws, columns, _write_rows(ws, rows, header, quote))
    finally:
        wb.close()
    return buffer.getvalue()


def write_findings_report(findings: list[Finding], counts: list[DatasetCount], path: Path) -> Path:
    return atomic_write_bytes(path, build_findings_workbook(findings, counts))
