"""Raw stage: read one raw EDC export (CSV) as text, with exact row and line numbers.

Every value stays text (nothing is inferred); each record keeps ``__row`` (the
1-based data row number: the header is line 1, row 1 starts on line 2) and
``__line`` (the file line it starts on; differs from ``__row + 1`` only when a
quoted value holds a line break). Problems become findings, not crashes:

- bytes that are not UTF-8: the line is decoded as Windows-1252 (Latin-1 for
  the 5 bytes cp1252 leaves undefined) and a WARNING names file and line;
- an empty file (no header) is an ERROR; a header without rows is a NOTE;
- a row with more or fewer fields than the header is rejected (ERROR);
- a declared column missing from the file is an ERROR finding and the column
  is read as blank, so every row still maps; a missing *leading* column
  (STUDYID, SUBJID ...) makes the file unusable: ``DataError``;
- a column the spec does not declare is a NOTE and is ignored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tlfgen.errors import DataError
from tlfgen.pipeline import Finding

ROW = "__row"
LINE = "__line"


@dataclass
class RawForm:
    """One raw file read: the good rows, and the rows rejected while reading (row -> reason)."""

    name: str
    file: str
    data: pd.DataFrame
    rows_read: int
    rejected: dict[int, str] = field(default_factory=dict)
    missing_columns: tuple[str, ...] = ()
    findings: list[Finding] = field(default_factory=list)

    def reject(self, mask: pd.Series, reason: str) -> None:
        """Move the rows where ``mask`` is True from ``data`` to ``rejected``."""
        rows = self.data.loc[mask, ROW].tolist()
        for row in rows:
            self.rejected.setdefault(int(row), reason)
        self.data = self.data.loc[~mask].reset_index(drop=True)


def decode_bytes(raw: bytes, display: str) -> tuple[str, list[Finding]]:
    """UTF-8 text of a file; lines that are not UTF-8 are decoded as cp1252 with a finding each."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    findings: list[Finding] = []
    lines = raw.split(b"\n")
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(line.decode("utf-8-sig" if number == 1 else "utf-8"))
            continue
        except UnicodeDecodeError as exc:
            bad = line[exc.start:exc.start + 1]
        try:
            text = line.decode("cp1252")
        except UnicodeDecodeError:
            text = line.decode("latin-1")
        out.append(text)
        findings.append(Finding(
            "WARNING", "RAW-ENCODING",
            f"line {number} is not UTF-8 (byte 0x{bad.hex().upper()}); read as Windows-1252/Latin-1",
            file=display, row=max(number - 1, 0), value=text.strip()[:80], action="decoded as Latin-1",
        ))
    return "\n".join(out), findings


def read_raw_form(path: Path, *, name: str, columns: list[str], leading: list[str],
                  display: str) -> RawForm:
    """Read one raw CSV export as text. ``columns`` are the declared fields after ``leading``."""
    declared = list(leading) + [c for c in columns if c not in leading]
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in declared + [ROW, LINE]})
    if not path.is_file():
        finding = Finding("ERROR", "RAW-FILE-MISSING", "raw file not found; its domains are built without it",
                          file=display, action="form treated as empty")
        return RawForm(name, display, empty, 0, findings=[finding], missing_columns=tuple(columns))
    text, findings = decode_bytes(path.read_bytes(), display)
    if not text.strip():
        findings.append(Finding("ERROR", "RAW-FILE-EMPTY", "file is empty (no header row)", file=display,
                                action="form treated as empty"))
        return RawForm(name, display, empty, 0, findings=findings, missing_columns=tuple(columns))
    fast = _read_fast(text)
    if fast is not None:
        header, records, rows, lines, rejected, row = fast
        return _finish(name, display, header, records, rows, lines, rejected, row, declared, columns,
                       leading, findings)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().upper() for h in next(reader)]
    width = len(header)
    records: list[list[str]] = []
    rows: list[int] = []
    lines: list[int] = []
    rejected: dict[int, str] = {}
    last_line = reader.line_num
    row = 0
    for values in reader:
        start, last_line = last_line + 1, reader.line_num
        if not values:
            continue  # a blank line is not a record
        row += 1
        if len(values) != width:
            rejected[row] = "ragged row"
            findings.append(Finding(
                "ERROR", "RAW-RAGGED-ROW",
                f"line {start} has {len(values)} fields, the header has {width}", file=display, row=row,
                value=",".join(values)[:80], action="rejected",
            ))
            continue
        records.append(values)
        rows.append(row)
        lines.append(start)
    return _finish(name, display, header, records, rows, lines, rejected, row, declared, columns, leading, findings)


def _read_fast(text: str):
    """pandas' C parser for the common case: no ragged rows, no blank lines, no line breaks in values.

    Returns None when any of those is present, so the exact (csv module) path handles the file.
    """
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    widths = [len(r) for r in csv.reader(io.StringIO(text, newline=""))]
    if len(widths) != physical or len(set(widths)) != 1:
        return None  # ragged rows, blank lines or line breaks inside values: exact path
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        return None
    if len(frame) + 1 != physical:
        return None
    header = [str(h).strip().upper() for h in frame.columns]
    if len(set(header)) != len(header) or any(h.startswith("UNNAMED:") for h in header):
        return None
    frame.columns = header
    n = len(frame)
    rows = list(range(1, n + 1))
    return header, frame, rows, [r + 1 for r in rows], {}, n


def _finish(name, display, header, records, rows, lines, rejected, row, declared, columns, leading, findings):
    if isinstance(records, pd.DataFrame):
        data = records.astype(object)
    else:
        data = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(
            {h: pd.Series(dtype=object) for h in header})
    data[ROW] = pd.Series(rows, dtype="int64")
    data[LINE] = pd.Series(lines, dtype="int64")
    missing_leading = [c for c in leading if c not in header]
    if missing_leading:
        raise DataError(
            f"required column {missing_leading[0]} is missing (header: {', '.join(header)})",
            file=display, row=0, column=missing_leading[0],
            hint="every raw export starts with " + ", ".join(leading),
        )
    missing = tuple(c for c in columns if c not in header)
    for col in missing:
        findings.append(Finding("ERROR", "RAW-COLUMN-MISSING",
                                f"declared column {col} is missing from the file; its values are blank",
                                file=display, column=col, action="column read as blank"))
        data[col] = ""
    for col in [h for h in header if h not in declared]:
        findings.append(Finding("NOTE", "RAW-COLUMN-EXTRA", f"column {col} is not declared in forms.yaml; ignored",
                                file=display, column=col, action="ignored"))
    data = data[declared + [ROW, LINE]].copy()
    for col in leading:
        data[col] = data[col].str.strip()
    if row == 0:
        findings.append(Finding("NOTE", "RAW-FILE-NO-ROWS", "file has a header but no data rows", file=display))
    return RawForm(name, display, data.reset_index(drop=True), row, rejected, missing, findings)
