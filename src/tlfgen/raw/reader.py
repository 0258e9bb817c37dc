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
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.io.rawfile import check_inside_study, unique_header  # noqa: F401 (named here too)
from tlfgen.results import Finding

ROW = "__row"
#: Longest raw value read, in characters (Excel's cell limit: the findings report must show it).
MAX_FIELD_CHARS = 32_767
# values up to MAX_FIELD_CHARS and beyond must reach the length check, not stop the csv module
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
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
        if not mask.any():
            return  # nothing to move (no copy of the data)
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
            file=display, row=number, value=text.strip()[:80], action="decoded as Latin-1",
        ))
    return "\n".join(out), findings


def read_raw_form(path: Path, *, name: str, columns: list[str], leading: list[str],
                  display: str, optional: bool = False) -> RawForm:
    """Read one raw CSV export as text. ``columns`` are the declared fields after ``leading``.

    A missing file is an ERROR finding, a NOTE for an ``optional`` form (forms.yaml).
    """
    declared = list(leading) + [c for c in columns if c not in leading]
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in declared + [ROW, LINE]})
    if not path.is_file():
        finding = Finding("NOTE" if optional else "ERROR", "RAW-FILE-MISSING",
                          ("optional form: " if optional else "") + "raw file not found; its domains are built without it",
                          file=display, action="form treated as empty")
        return RawForm(name, display, empty, 0, findings=[finding], missing_columns=tuple(columns))
    text, findings = decode_bytes(path.read_bytes(), display)
    if not text.strip():
        findings.append(Finding("ERROR", "RAW-FILE-EMPTY", "file is empty (no header row)", file=display,
                                action="form treated as empty"))
        return RawForm(name, display, empty, 0, findings=findings, missing_columns=tuple(columns))
    fast = _read_fast(text)
    if fast is not None:
        header, records, rows, lines, rejected, row, short = fast
        return _finish(name, display, header, records, rows, lines, rejected, row, declared, columns,
                       leading, findings, short=short)
    header, records, rows, lines, rejected, row = _read_exact(text, display, findings)
    return _finish(name, display, header, records, rows, lines, rejected, row, declared, columns, leading, findings)


class _Lines:
    """The physical lines of a text, handed to ``csv.reader`` one at a time; ``pos`` is the next one."""

    def __init__(self, lines: list[str], pos: int) -> None:
        self.lines, self.pos = lines, pos

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _physical_lines(text: str) -> list[str]:
    """Lines split at "\n" only (control characters inside values are not line ends)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


#: a carriage return that does not end a line ("\r\n") or the file: part of a value
_BARE_CR = re.compile(r"\r(?!\n|\Z)")


def _free_mark(text: str) -> str:
    """A private-use character absent from ``text``, to stand for a bare CR while csv reads it."""
    return next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)


def _restore_cr(value: str, mark: str | None) -> str:
    return value.replace(mark, "\r") if mark is not None else value


def _read_exact(text: str, display: str, findings: list[Finding]):
    """The csv-module path: ragged rows, blank lines, quoted line breaks and broken quotes.

    A record that cannot be parsed (a quote not closed, text after a closing quote), or that
    swallows the lines after it (a quote opened and closed rows later), rejects its *first*
    line only; reading resumes on the next line, so no later row is lost.
    """
    mark = _free_mark(text) if _BARE_CR.search(text) else None
    if mark is not None:  # csv ends a value at a bare CR; lines end at "\n" only: keep it as text
        text = _BARE_CR.sub(mark, text)
    lines = _physical_lines(text)
    src = _Lines(lines, 0)
    try:
        names = [_restore_cr(n, mark) for n in next(csv.reader(src, strict=True))]
    except csv.Error as exc:
        raise DataError(f"the header line cannot be parsed ({exc})", file=display, line=1,
                        hint="the first line must be the column names, comma separated") from None
    header = unique_header(names, display)
    width = len(header)
    records: list[list[str]] = []
    rows: list[int] = []
    line_numbers: list[int] = []
    rejected: dict[int, str] = {}
    row = 0
    reader = csv.reader(src, strict=True)
    while src.pos < len(lines):
        first = src.pos  # 0-based index of the record's first line
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            values, problem = None, f"cannot be parsed ({exc})"
        else:
            problem = _swallowed(values, width, src.pos - first)
            if mark is not None:
                values = [_restore_cr(v, mark) for v in values]
        if values == []:
            continue  # a blank line is not a record
        row += 1
        start = first + 1
        if problem is not None:
            rejected[row] = "malformed quotes"
            findings.append(Finding(
                "ERROR", "RAW-MALFORMED-QUOTES",
                f"line {start} {problem}: a quoted value is not closed, or has text after its closing "
                f"quote; the line is rejected and reading resumes on line {start + 1}",
                file=display, row=start, value=_restore_cr(lines[first].rstrip("\r\n")[:80], mark),
                action="rejected"))
            src.pos = first + 1
            reader = csv.reader(src, strict=True)
            continue
        if len(values) != width:
            rejected[row] = "ragged row"
            findings.append(Finding(
                "ERROR", "RAW-RAGGED-ROW",
                f"line {start} has {len(values)} fields, the header has {width}", file=display, row=start,
                value=",".join(values)[:80], action="rejected",
            ))
            continue
        records.append(values)
        rows.append(row)
        line_numbers.append(start)
    return header, records, rows, line_numbers, rejected, row


def _swallowed(values: list[str], width: int, spans: int) -> str | None:
    """Why a record that spans several lines looks like a quote that swallowed later rows (or None)."""
    if spans <= 1:
        return None
    if len(values) != width:
        return f"starts a record that runs over {spans} lines and has {len(values)} fields, not {width}"
    lead = values[0]
    if lead and any(f"\n{lead}," in v for v in values):
        return f"starts a record that runs over {spans} lines and holds later rows of the file"
    return None


def _field_counts(text: str, data: np.ndarray | None = None) -> list[int] | None:
    """Fields per record as ``csv.reader`` (strict) counts them; None when it cannot parse the text.

    Counted on the UTF-8 bytes with numpy when the quoting is regular (see ``_quoted_field_counts``);
    the csv module itself only reads texts with carriage returns or quotes inside unquoted values.
    ``data``: ``_utf8(text)`` when the caller has it.
    """
    if "\r" not in text:
        data = _utf8(text) if data is None else data
        counts = _quoted_field_counts(data) if '"' in text else _plain_field_counts(text, data)
        if counts is not _UNDECIDED:
            return counts
    try:
        return [len(r) for r in csv.reader(io.StringIO(text, newline=""), strict=True)]
    except csv.Error:
        return None


#: ``_quoted_field_counts`` cannot tell: a quote inside an unquoted value (the csv module decides)
_UNDECIDED = object()


def _utf8(text: str) -> np.ndarray:
    """The UTF-8 bytes of ``text`` as uint8 (a comma, quote or line feed byte is never part of
    another character in UTF-8, so they can be found byte by byte)."""
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def _plain_field_counts(text: str, data: np.ndarray | None = None) -> list[int]:
    """Commas + 1 per "\n"-separated line (0 for a blank line; no line after a final "\n"):
    a text without quotes and carriage returns, where every line is a record."""
    data = _utf8(text) if data is None else data
    return _count_fields(data, np.flatnonzero(data == 10), np.flatnonzero(data == 44))


def _count_fields(data: np.ndarray, breaks: np.ndarray, commas: np.ndarray) -> list[int]:
    """Separator ``commas`` + 1 between record ``breaks`` (0 for an empty record; none after a final break)."""
    starts = np.concatenate([[0], breaks + 1])
    ends = np.append(breaks, len(data))
    if len(data) and data[-1] == 10:
        starts, ends = starts[:-1], ends[:-1]
    counts = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    return np.where(ends > starts, counts, 0).tolist()


def _quoted_field_counts(data: np.ndarray):
    """Fields per record of a text with quotes and no carriage return, as strict ``csv.reader``
    counts them: a list, None (it raises), or ``_UNDECIDED``.

    When every quote that is not inside a quoted value opens one (at the start of a field) or
    doubles the quote before it, the k-th quote opens a quoted value for even k and ends it (or
    starts a doubled quote) for odd k; a comma or line feed after an even number of quotes
    separates fields or records. A closing quote followed by anything but a quote, comma, line
    feed or the end is an error in strict mode, and so is a value still open at the end. Any
    other quote (inside an unquoted value, where the csv module keeps it) is ``_UNDECIDED``.
    """
    quotes = np.flatnonzero(data == 34)
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[np.maximum(opening - 1, 0)]
    if not ((opening == 0) | (before == 44) | (before == 10) | (before == 34)).all():
        return _UNDECIDED
    after = data[np.minimum(closing + 1, len(data) - 1)]
    if len(quotes) % 2 or not ((closing == len(data) - 1) | (after == 44) | (after == 10) | (after == 34)).all():
        return None

    def outside(positions: np.ndarray) -> np.ndarray:
        return positions[np.searchsorted(quotes, positions) % 2 == 0]

    return _count_fields(data, outside(np.flatnonzero(data == 10)), outside(np.flatnonzero(data == 44)))


def _longest_line(text: str) -> int:
    """Characters in the longest "\n"-separated line."""
    return max(map(len, text.split("\n")), default=0)


def _longest_line_bytes(data: np.ndarray) -> int:
    """UTF-8 bytes in the longest "\n"-separated line (never fewer than its characters)."""
    edges = np.concatenate([[-1], np.flatnonzero(data == 10), [len(data)]])
    return int(np.diff(edges).max()) - 1


def _read_fast(text: str):
    """pandas' C parser for the common case: no ragged rows, no blank lines, no line breaks in values,
    no broken quotes (pandas would silently glue ``"LOG"X`` into ``LOGX``).

    Returns None when any of those is present, so the exact (csv module) path handles the file.
    """
    if "\x00" in text:
        return None  # pandas' C parser ends a value at NUL (the rest would be lost silently)
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    data = _utf8(text)
    widths = _field_counts(text, data)
    if widths is None:
        return None  # broken quotes: the exact path rejects the line and says why
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
    first = next(csv.reader(io.StringIO(text[:text.find("\n")] if "\n" in text else text)), [])
    if len({h.strip().upper() for h in first}) != len(first):
        return None  # pandas renamed a duplicate (AETERM.1): the exact path refuses the file
    frame.columns = header
    n = len(frame)
    rows = np.arange(1, n + 1, dtype="int64")
    # no line breaks inside values here: a value is never longer than the longest line (whose
    # UTF-8 bytes bound its characters from above: the exact count only when the bound is over)
    short = _longest_line_bytes(data) <= MAX_FIELD_CHARS or _longest_line(text) <= MAX_FIELD_CHARS
    return header, frame, rows, rows + 1, {}, n, short


def _reject_long_values(data: pd.DataFrame, columns: list[str], display: str, rejected: dict[int, str],
                        findings: list[Finding]) -> pd.DataFrame:
    """Rows holding a value over ``MAX_FIELD_CHARS`` characters are rejected (ERROR per value)."""
    bad = pd.Series(False, index=data.index)
    for col in columns:
        values = data[col].tolist()
        if set(map(type, values)) <= {str} and max(map(len, values), default=0) <= MAX_FIELD_CHARS:
            continue  # the common case: all text, none too long (no per-value pandas work)
        lengths = data[col].str.len()
        over = lengths > MAX_FIELD_CHARS
        for line, length, value in zip(data.loc[over, LINE], lengths[over], data.loc[over, col]):
            findings.append(Finding(
                "ERROR", "RAW-VALUE-TOO-LONG",
                f"{col} holds {int(length)} characters, more than the {MAX_FIELD_CHARS} a value may have",
                file=display, row=int(line), column=col, value=value[:80] + "...", action="rejected"))
        bad |= over.fillna(False).astype(bool)
    for row in data.loc[bad, ROW]:
        rejected.setdefault(int(row), "value too long")
    return data.loc[~bad].reset_index(drop=True) if bad.any() else data


def _strip(values: pd.Series) -> pd.Series:
    """``values.str.strip()``; ``values`` itself when every value is a str without outer spaces."""
    if values.dtype == object and all(type(v) is str and v == v.strip() for v in pd.unique(values.to_numpy())):
        return values  # the common case, checked once per distinct value: nothing to strip
    items = values.tolist()
    if values.dtype != object or not set(map(type, items)) <= {str}:
        return values.str.strip()
    return pd.Series(list(map(str.strip, items)), index=values.index, dtype=object, name=values.name)


def _finish(name, display, header, records, rows, lines, rejected, row, declared, columns, leading, findings,
            short=False):
    """The form read: row and line numbers, missing/extra columns, long values rejected (not when
    ``short``: no value can be too long), leading columns stripped."""
    if isinstance(records, pd.DataFrame):
        data = records if (records.dtypes == object).all() else records.astype(object)
    else:
        data = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(
            {h: pd.Series(dtype=object) for h in header})
    data[ROW] = pd.Series(rows, dtype="int64")
    data[LINE] = pd.Series(lines, dtype="int64")
    missing_leading = [c for c in leading if c not in header]
    if missing_leading:
        raise DataError(
            f"required column {missing_leading[0]} is missing (header: {', '.join(header)})",
            file=display, line=1, column=missing_leading[0],
            hint="every raw export of this form starts with " + ", ".join(leading)
            + " (specs/sdtm/forms.yaml: leading, identifiers)",
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
    keep = declared + [ROW, LINE]
    data = data.reindex(columns=keep) if data.columns.is_unique else data[keep].copy()
    if not short:
        data = _reject_long_values(data, declared, display, rejected, findings)
    for col in leading:
        values = data[col]
        stripped = _strip(values)
        if stripped is not values:
            data[col] = stripped
    if row == 0:
        findings.append(Finding("NOTE", "RAW-FILE-NO-ROWS", "file has a header but no data rows", file=display))
    return RawForm(name, display, data.reset_index(drop=True), row, rejected, missing, findings)
