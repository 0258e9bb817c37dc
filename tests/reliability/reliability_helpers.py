"""Helpers for the reliability corpus: copy a built study, mutate one raw file, run the CLI, read the report.

Every case starts from a small study that has already been through ``tlfgen sdtm``
cleanly (``clean_study`` fixture), so "the previous outputs" exist and can be
compared byte for byte after a failed run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from tlfgen.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@dataclass(frozen=True)
class Row:
    """One findings.xlsx entry, as the data manager sees it."""

    severity: str
    rule: str
    file: str | None
    row: int | None
    column: str | None
    value: str | None
    message: str


def copy_study(src: Path, dest: Path) -> Path:
    """Copy a study folder (specs, raw and any outputs already written)."""
    shutil.copytree(src, dest)
    return dest


def invoke(study: Path, *args: str):
    """``tlfgen --study STUDY ARGS`` in-process; returns the click Result."""
    return runner.invoke(app, ["--study", str(study), *args])


def one_line(text: str) -> str:
    """Terminal output with the wrapping undone (rich wraps long messages)."""
    return " ".join(text.split())


def read_findings(study: Path) -> list[Row]:
    ws = openpyxl.load_workbook(study / "outputs" / "qc" / "findings.xlsx")["findings"]
    header = [c.value for c in ws[1]]
    rows = []
    for values in ws.iter_rows(min_row=2, values_only=True):
        rec = dict(zip(header, values))
        rows.append(Row(rec["severity"], rec["rule"], rec["file"],
                        None if rec["line"] in (None, "") else int(rec["line"]), rec["column"], rec["value"],
                        rec["message"]))
    return rows


def read_reconciliation(study: Path) -> dict[str, dict]:
    """``{dataset: {"in": n, "out": n, "rejected": n, "reasons": {reason: n}}}`` from findings.xlsx."""
    ws = openpyxl.load_workbook(study / "outputs" / "qc" / "findings.xlsx")["reconciliation"]
    table: dict[str, dict] = {}
    for name, rows_in, rows_out, rows_rejected, reason, n in ws.iter_rows(min_row=2, values_only=True):
        if reason in (None, ""):
            table[name] = {"in": int(rows_in), "out": int(rows_out), "rejected": int(rows_rejected), "reasons": {}}
        else:
            table[name]["reasons"][reason] = int(n)
    return table


def hashes(folder: Path, pattern: str = "*") -> dict[str, str]:
    """sha256 of every file under ``folder`` matching ``pattern`` (relative path -> hex)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob(pattern)) if p.is_file()}


def outputs_snapshot(study: Path) -> dict[str, str]:
    """Hashes of everything the SDTM stage writes (datasets, lineage, define.xml, findings)."""
    snap = {f"sdtm/{k}": v for k, v in hashes(study / "sdtm").items()}
    snap.update({f"outputs/{k}": v for k, v in hashes(study / "outputs").items()})
    return snap


# ---------------------------------------------------------------- raw file mutations

def raw_lines(study: Path, name: str) -> list[str]:
    return (study / "raw" / name).read_text(encoding="utf-8").splitlines(keepends=True)


def write_lines(study: Path, name: str, lines: list[str]) -> None:
    (study / "raw" / name).write_text("".join(lines), encoding="utf-8")


def records(study: Path, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((study / "raw" / name).read_text(encoding="utf-8"), newline="")))


def write_records(study: Path, name: str, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (study / "raw" / name).write_text(out.getvalue(), encoding="utf-8")


def set_value(study: Path, name: str, row: int, column: str, value: str) -> str:
    """Set one raw cell (data row ``row``, 1-based); returns the old value."""
    rows = records(study, name)
    col = rows[0].index(column)
    old = rows[row][col]
    rows[row][col] = value
    write_records(study, name, rows)
    return old


def get_value(study: Path, name: str, row: int, column: str) -> str:
    rows = records(study, name)
    return rows[row][rows[0].index(column)]
