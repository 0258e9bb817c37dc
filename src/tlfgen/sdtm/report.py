"""SDTM stage: the findings report ``outputs/qc/findings.xlsx``.

Sheet "findings": every finding, sorted (severity, file, row, column, rule).
Sheet "reconciliation": per raw file and per domain, rows in / out / rejected
by reason. Every text cell goes through ``xlsx_safe`` so nothing becomes a
formula. Deterministic bytes: fixed workbook properties and zip timestamps.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from tlfgen.io.atomic import atomic_write_bytes
from tlfgen.io.xlsx_safe import write_text_cell
from tlfgen.pipeline import DatasetCount, Finding

FINDING_COLUMNS = ("severity", "rule", "file", "row", "column", "value", "usubjid", "domain", "message", "action")
RECON_COLUMNS = ("dataset", "rows_in", "rows_out", "rows_rejected", "reason", "rows")
_FIXED = datetime(2000, 1, 1)
_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Sorted findings; one per rule and raw cell (a cell mapped into two domains is reported once)."""
    unique: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.rule, f.file, f.row, f.column) if f.row is not None else (f.rule, f.file, f.column, f.message)
        unique.setdefault(key, f)
    return sorted(unique.values(), key=lambda f: (*f.sort_key(), f.message))


def _write_row(ws, row: int, values) -> None:
    for col, value in enumerate(values, start=1):
        if isinstance(value, int) and not isinstance(value, bool):
            ws.cell(row=row, column=col, value=value)
        else:
            write_text_cell(ws, row, col, value)


def build_findings_workbook(findings: list[Finding], counts: list[DatasetCount]) -> bytes:
    wb = Workbook()
    wb.properties.creator = "tlfgen"
    wb.properties.created = _FIXED
    wb.properties.modified = _FIXED
    ws = wb.active
    ws.title = "findings"
    _write_row(ws, 1, FINDING_COLUMNS)
    for i, f in enumerate(findings, start=2):
        _write_row(ws, i, [getattr(f, c) for c in FINDING_COLUMNS])
    rec = wb.create_sheet("reconciliation")
    _write_row(rec, 1, RECON_COLUMNS)
    r = 2
    for count in counts:
        _write_row(rec, r, [count.name, count.rows_in, count.rows_out, count.rows_rejected, "", None])
        r += 1
        for reason, n in count.rejected.items():
            _write_row(rec, r, [count.name, None, None, None, reason, n])
            r += 1
    buffer = io.BytesIO()
    wb.save(buffer)
    return _fix_zip_times(buffer.getvalue())


def _fix_zip_times(data: bytes) -> bytes:
    """Rewrite the zip with fixed member timestamps so the same findings give the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _STAMP.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            dst.writestr(fixed, data)
    return out.getvalue()


def write_findings_report(findings: list[Finding], counts: list[DatasetCount], path: Path) -> Path:
    return atomic_write_bytes(path, build_findings_workbook(findings, counts))
