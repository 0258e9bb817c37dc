"""I/O layer: SAS transport (XPT) version 5 writer, reader and v5 conformance checks.

Used by the SDTM and ADaM stages to write ``<dataset>.xpt``. The writer reads
only ``DatasetMetadata`` (io/metadata.py), never specs.

How the file is produced (pyreadstat 1.3 ``write_xport``, file_format_version=5):

* character variable length = the longest value in bytes (pyreadstat sizes each
  character column from its data; an all-empty column gets length 1). When the
  metadata declares a longer ``length`` the values are right-padded with spaces
  up to it, which SAS and pyreadstat strip again on reading.
* numeric variables are 8-byte IBM floats. ``date``/``datetime`` variables held
  as pandas datetime64 (ADaM) become SAS days / seconds since 1960-01-01 with
  display format ``DATE9.`` / ``DATETIME20.`` unless the metadata sets one;
  ``date`` variables held as ISO 8601 text (SDTM --DTC) stay character.
* pyreadstat stamps the wall-clock time into the library and member headers
  (four 16-byte ``ddMMMyy:hh:mm:ss`` fields). ``write_xpt`` overwrites them with
  ``fixed_timestamp()`` (``SOURCE_DATE_EPOCH`` or 1970-01-01), so the same data
  always gives the same bytes.
* the file is written to a temporary file beside the target and renamed over it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from itertools import repeat
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from tlfgen.errors import DataError
from tlfgen.io.atomic import atomic_output, fixed_timestamp
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata

NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
MAX_NAME = 8
MAX_LABEL = 40
MAX_TEXT_BYTES = 200
SAS_EPOCH = pd.Timestamp("1960-01-01")
NUMERIC_TYPES = ("integer", "float")
TEMPORAL_TYPES = ("date", "datetime")
DEFAULT_FORMATS = {"date": "DATE9.", "datetime": "DATETIME20."}

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_STAMP_RE = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d\Z")
_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
_IBM_MISSING = 0x2E << 56  # SAS missing '.': 0x2E then seven zero bytes


@dataclass(frozen=True)
class XptViolation:
    """One XPT v5 problem: where it is, what is wrong and how to resolve it."""

    dataset: str
    variable: str | None
    rule: str
    message: str
    resolution: str
    row: int | None = None  # 1-based record number of the first offending record
    usubjid: str | None = None
    records: int = 0  # how many records break the rule (0: not a data rule)

    def __str__(self) -> str:
        where = self.dataset if self.variable is None else f"{self.dataset}.{self.variable}"
        if self.row is not None:
            where += f" record {self.row}"
            if self.usubjid is not None:
                where += f" (USUBJID {self.usubjid})"
        text = f"{where}: {self.message}"
        if self.records > 1:
            text += f" ({self.records} records)"
        return f"{text}; resolve: {self.resolution}"


# ---------------------------------------------------------------- checks


def _check_name(dataset: str, variable: str | None, name: str) -> list[XptViolation]:
    kind = "dataset" if variable is None else "variable"
    found: list[XptViolation] = []
    if len(name) > MAX_NAME:
        found.append(XptViolation(
            dataset, variable, f"{kind}-name-length",
            f"{kind} name {name!r} is {len(name)} characters; XPT v5 allows at most {MAX_NAME}",
            f"rename the {kind} in the spec to {MAX_NAME} characters or fewer",
        ))
    if not NAME_RE.match(name):
        suggestion = re.sub(r"[^A-Z0-9_]", "", name.upper()) or "X"
        found.append(XptViolation(
            dataset, variable, f"{kind}-name-chars",
            f"{kind} name {name!r} must be upper-case letters, digits and '_', starting with a letter",
            f"rename the {kind} in the spec (e.g. {suggestion!r})",
        ))
    return found


def _first_non_ascii(text: str) -> tuple[int, str] | None:
    for pos, char in enumerate(text, start=1):
        if ord(char) > 127:
            return pos, char
    return None


def _check_label(dataset: str, variable: str | None, label: str) -> list[XptViolation]:
    kind = "dataset label" if variable is None else "label"
    rule = "dataset-label" if variable is None else "variable-label"
    found: list[XptViolation] = []
    if len(label) > MAX_LABEL:
        found.append(XptViolation(
            dataset, variable, f"{rule}-length",
            f"{kind} {label!r} is {len(label)} characters; XPT v5 allows at most {MAX_LABEL}",
            f"shorten the {kind} in the spec to {MAX_LABEL} characters or fewer",
        ))
    bad = _first_non_ascii(label)
    if bad is not None:
        pos, char = bad
        found.append(XptViolation(
            dataset, variable, f"{rule}-ascii",
            f"{kind} {label!r} has non-ASCII character {char!r} (U+{ord(char):04X}) at position {pos}",
            f"rewrite the {kind} in the spec using ASCII characters only",
        ))
    return found


def _usubjid_at(df: pd.DataFrame, index: int) -> str | None:
    if "USUBJID" not in df.columns:
        return None
    value = df["USUBJID"].iloc[index]
    return None if _is_missing(value) else str(value)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and np.isnan(value)


def _values_of(series: pd.Series) -> list:
    """The values ``for v in series`` yields, as a list (one C-level copy for object columns)."""
    return series.tolist() if series.dtype == object else list(series)


def _all_text(values: list) -> bool:
    """True when every value is a str (so none is missing): checked once per distinct type."""
    return all(issubclass(t, str) for t in set(map(type, values)))


def _has_date_values(values: list) -> bool:
    """True when a non-missing value is a date/datetime (pd.NaT is a datetime but missing)."""
    nat = type(pd.NaT)
    return any(t is not nat and issubclass(t, (date, datetime)) for t in set(map(type, values)))


def _split_text(values: list) -> tuple[list[int], list[int] | None, list[str]]:
    """(positions of non-missing non-text values, positions of the texts or None for all, the texts)."""
    if _all_text(values):
        return [], None, values
    is_text = np.fromiter(map(isinstance, values, repeat(str)), dtype=bool, count=len(values))
    not_text = [i for i in np.flatnonzero(~is_text).tolist() if not _is_missing(values[i])]
    texts = np.fromiter(values, dtype=object, count=len(values))[is_text].tolist()
    return not_text, np.flatnonzero(is_text).tolist(), texts


def blank_missing(values: list, positions: list[int], not_text: list[int]) -> list:
    """``values`` with every missing value (neither a text at ``positions`` nor a value at
    ``not_text``) replaced by "" (what XPT stores for a missing character value)."""
    missing = np.ones(len(values), dtype=bool)
    missing[positions] = False
    missing[not_text] = False
    out = np.fromiter(values, dtype=object, count=len(values))
    out[missing] = ""
    return out.tolist()


def compute_text_sizes(texts: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """UTF-8 byte size of each text, and the mask of the non-ASCII ones (None: all ASCII).

    ASCII text has one byte per character, so only non-ASCII values are encoded.
    """
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    if "".join(texts).isascii():
        return sizes, None
    wide = ~np.fromiter(map(str.isascii, texts), dtype=bool, count=len(texts))
    for index in np.flatnonzero(wide).tolist():
        sizes[index] = len(texts[index].encode("utf-8"))
    return sizes, wide


@dataclass(frozen=True)
class _TextProfile:
    """One text column looked at once: its values, the texts among them and their UTF-8 sizes."""

    values: list
    not_text: list[int]  # positions of non-missing values that are not str
    positions: list[int] | None  # positions of the texts (None: every value is a text)
    texts: list[str]
    sizes: np.ndarray
    wide: np.ndarray | None  # non-ASCII mask (None: all ASCII)
    nul: bool  # a text holds U+0000

    @property
    def max_size(self) -> int:
        """The XPT length pyreadstat writes: longest value in bytes, at least 1."""
        return int(self.sizes.max()) or 1 if len(self.sizes) else 1


def _text_profile(series: pd.Series, profiles: dict | None = None) -> _TextProfile:
    """The profile of a text column, computed once per write (``profiles`` keeps it by name)."""
    if profiles is not None and series.name in profiles:
        return profiles[series.name]
    values = _values_of(series)
    not_text, positions, texts = _split_text(values)
    joined = "".join(texts)
    if joined.isascii():
        sizes, wide = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), None
    else:
        sizes, wide = compute_text_sizes(texts)
    profile = _TextProfile(values, not_text, positions, texts, sizes, wide, "\x00" in joined)
    if profiles is not None and series.name is not None:
        profiles[series.name] = profile
    return profile


def _data_violation(
    meta: DatasetMetadata, df: pd.DataFrame, var: str, rule: str, positions: list[int],
    message: str, resolution: str,
) -> XptViolation:
    first = positions[0]
    return XptViolation(
        meta.name, var, rule, message, resolution,
        row=first + 1, usubjid=_usubjid_at(df, first), records=len(positions),
    )


def _split_advice(meta: DatasetMetadata, name: str) -> str:
    if meta.standard.upper().startswith("ADAM"):
        stem = name[:7]
        return f"split into {name}, {stem}1, {stem}2 ... of at most {MAX_TEXT_BYTES} characters each"
    return "split into SUPPQUAL (QNAM, QNAM1 ...) per SDTMIG 4.5.3"


def _is_text_column(var: VariableMetadata, series: pd.Series) -> bool:
    """True when the variable is written as character (text, ISO dates, durations)."""
    if var.data_type in NUMERIC_TYPES:
        return False
    if var.data_type in TEMPORAL_TYPES:
        if pd.api.types.is_datetime64_any_dtype(series) or _is_numeric_dtype(series):
            return False
        return not _has_date_values(_values_of(series))
    return True


def _is_numeric_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _check_text_values(meta: DatasetMetadata, df: pd.DataFrame, var: VariableMetadata,
                       profiles: dict | None = None) -> list[XptViolation]:
    series = df[var.name]
    if _is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return [XptViolation(
            meta.name, var.name, "text-dtype",
            f"declared {var.data_type} but the column holds {series.dtype} values",
            "convert the column to text in the derivation or declare integer/float in the spec",
        )]
    profile = _text_profile(series, profiles)
    not_text, positions, texts = profile.not_text, profile.positions, profile.texts
    sizes, wide = profile.sizes, profile.wide
    where = np.arange(len(texts)) if positions is None else np.asarray(positions, dtype=np.int64)
    too_long = where[sizes > MAX_TEXT_BYTES].tolist()
    over_length = where[sizes > var.length].tolist() if var.length is not None else []
    non_ascii = where[wide].tolist() if wide is not None else []
    found: list[XptViolation] = []
    if not_text:
        value = series.iloc[not_text[0]]
        found.append(_data_violation(
            meta, df, var.name, "text-value", not_text,
            f"declared {var.data_type} but holds {value!r} ({type(value).__name__})",
            "convert the value to text in the derivation",
        ))
    if too_long:
        size = len(series.iloc[too_long[0]].encode("utf-8"))
        found.append(_data_violation(
            meta, df, var.name, "value-length", too_long,
            f"value is {size} bytes; XPT v5 character values hold at most {MAX_TEXT_BYTES}",
            _split_advice(meta, var.name),
        ))
    if over_length and var.length is not None and var.length < MAX_TEXT_BYTES:
        size = len(series.iloc[over_length[0]].encode("utf-8"))
        found.append(_data_violation(
            meta, df, var.name, "declared-length", over_length,
            f"value is {size} bytes, longer than the declared length {var.length}",
            "raise length in the spec or leave it empty to size it from the data",
        ))
    if non_ascii:
        pos, char = _first_non_ascii(series.iloc[non_ascii[0]])  # type: ignore[misc]
        found.append(_data_violation(
            meta, df, var.name, "value-ascii", non_ascii,
            f"value has non-ASCII character {char!r} (U+{ord(char):04X}) at position {pos}",
            "transliterate in the spec or map through a codelist",
        ))
    return found


def _check_numeric_values(meta: DatasetMetadata, df: pd.DataFrame, var: VariableMetadata) -> list[XptViolation]:
    series = df[var.name]
    if pd.api.types.is_datetime64_any_dtype(series):
        if var.data_type in TEMPORAL_TYPES:
            return []
        return [XptViolation(
            meta.name, var.name, "numeric-dtype",
            f"declared {var.data_type} but the column holds dates ({series.dtype})",
            "declare the variable date/datetime in the spec or convert it in the derivation",
        )]
    if _is_numeric_dtype(series):
        return []
    bad: list[int] = []
    for index, value in enumerate(series):
        if _is_missing(value):
            continue
        ok_number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        )
        ok_date = var.data_type in TEMPORAL_TYPES and isinstance(value, (date, datetime))
        if not (ok_number or ok_date):
            bad.append(index)
    if not bad:
        return []
    value = series.iloc[bad[0]]
    return [_data_violation(
        meta, df, var.name, "numeric-value", bad,
        f"declared {var.data_type} but holds {value!r} ({type(value).__name__})",
        "convert the column to numbers in the derivation or declare it text in the spec",
    )]


def check_xpt_v5(df: pd.DataFrame, meta: DatasetMetadata) -> list[XptViolation]:
    """Return every XPT v5 violation of ``df`` under ``meta`` (empty list: writable)."""
    return _check_xpt_v5(df, meta, None)


def _check_xpt_v5(df: pd.DataFrame, meta: DatasetMetadata, profiles: dict | None) -> list[XptViolation]:
    found = _check_name(meta.name, None, meta.name) + _check_label(meta.name, None, meta.label)
    declared = [v.name for v in meta.variables]
    for column in df.columns:
        if column not in declared:
            found.append(XptViolation(
                meta.name, str(column), "column-undeclared",
                f"column {column!r} is in the data but not in the dataset metadata",
                "add the variable to the spec or drop the column before writing",
            ))
    for var in meta.variables:
        found += _check_name(meta.name, var.name, var.name) + _check_label(meta.name, var.name, var.label)
        if var.name not in df.columns:
            found.append(XptViolation(
                meta.name, var.name, "variable-missing",
                f"variable {var.name!r} is in the metadata but not in the data",
                "derive the variable or remove it from the spec",
            ))
            continue
        if _is_text_column(var, df[var.name]):
            found += _check_text_values(meta, df, var, profiles)
        else:
            found += _check_numeric_values(meta, df, var)
    return found


# ---------------------------------------------------------------- conversion


def compute_sas_dates(series: pd.Series, data_type: str) -> pd.Series:
    """Dates to SAS numbers: days (``date``) or seconds (``datetime``) since 1960-01-01."""
    if _is_numeric_dtype(series):
        return series.astype("float64")
    # already datetime64: pd.to_datetime would still look at its values one by one (cache check)
    stamps = series if pd.api.types.is_datetime64_any_dtype(series) else pd.to_datetime(series)
    if data_type == "date":
        return ((stamps.dt.normalize() - SAS_EPOCH).dt.days).astype("float64")
    return ((stamps - SAS_EPOCH).dt.total_seconds()).astype("float64")


def compute_text_length(series: pd.Series) -> int:
    """Longest value in bytes (UTF-8), at least 1: the XPT length pyreadstat writes."""
    return _max_text_size(_values_of(series))


def _max_text_size(values: list) -> int:
    texts = _split_text(values)[2]
    if not texts:
        return 1
    return int(compute_text_sizes(texts)[0].max()) or 1


def complete_metadata(meta: DatasetMetadata, df: pd.DataFrame, *, profiles: dict | None = None) -> DatasetMetadata:
    """Copy of ``meta`` with what the data decides filled in, as ``write_xpt`` writes it.

    ``length=None`` becomes the longest value in bytes (character variables)
    or 8 (numeric); a date/datetime held as numbers or datetime64 without a
    display format gets ``DATE9.`` / ``DATETIME20.``. Call it before building
    define.xml so ItemDef Length and DisplayFormat match the XPT. ``profiles``:
    see ``write_xpt``.
    """
    variables = []
    for var in meta.variables:
        if var.name in df.columns:
            is_text = _is_text_column(var, df[var.name])
            if var.length is None:
                length = _text_profile(df[var.name], profiles).max_size if is_text else 8
                var = dataclasses.replace(var, length=length)
            if not is_text and var.data_type in TEMPORAL_TYPES and not var.display_format:
                var = dataclasses.replace(var, display_format=DEFAULT_FORMATS[var.data_type])
        variables.append(var)
    return dataclasses.replace(meta, variables=tuple(variables))


def _prepare_frame(df: pd.DataFrame, meta: DatasetMetadata,
                   profiles: dict | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Columns in metadata order, converted to what XPT stores; plus display formats."""
    columns: dict[str, pd.Series] = {}
    formats: dict[str, str] = {}
    for var in meta.variables:
        series = df[var.name].reset_index(drop=True)
        if _is_text_column(var, series):
            profile = _text_profile(series, profiles)
            values = profile.values
            if profile.positions is not None:  # some values missing (or not text)
                values = blank_missing(values, profile.positions, profile.not_text)
            if var.length is not None and var.length > profile.max_size:
                values = [v.ljust(var.length) for v in values]
            elif values is profile.values and series.dtype == object:
                columns[var.name] = pd.Series(series.to_numpy(), dtype=object, name=var.name)
                continue  # every value already a text of the right size: no copy into a new list
            if profiles is not None:
                profiles.pop(var.name, None)  # the written values differ from the profiled ones
            columns[var.name] = pd.Series(values, dtype=object, name=var.name)
        elif var.data_type in TEMPORAL_TYPES:
            columns[var.name] = compute_sas_dates(series, var.data_type)
            formats[var.name] = var.display_format or DEFAULT_FORMATS[var.data_type]
        else:
            columns[var.name] = pd.to_numeric(series).astype("float64")
        if var.display_format and var.name not in formats:
            formats[var.name] = var.display_format
    return pd.DataFrame(columns), formats


def _sas_stamp(when: datetime) -> bytes:
    text = f"{when.day:02d}{_MONTHS[when.month - 1]}{when.year % 100:02d}:{when:%H:%M:%S}"
    return text.encode("ascii")


def stamp_xpt_header(data: bytes, when: datetime) -> bytes:
    """Replace the created/modified stamps of a one-member v5 XPT file with ``when``.

    Layout (80-byte records): record 1 library header, record 2 bytes 64-79
    created, record 3 bytes 0-15 modified; record 4 member header, record 5
    descriptor header, record 6 bytes 64-79 created, record 7 bytes 0-15 modified.
    """
    stamp = _sas_stamp(when)
    checks = {0: b"HEADER RECORD*******LIBRARY HEADER RECORD", 240: b"HEADER RECORD*******MEMBER  HEADER RECORD",
              320: b"HEADER RECORD*******DSCRPTR HEADER RECORD"}
    for offset, expected in checks.items():
        if data[offset:offset + len(expected)] != expected:
            raise DataError(f"unexpected XPT header layout at byte {offset}; cannot fix the timestamp")
    out = bytearray(data)
    for offset in (80 + 64, 160, 400 + 64, 480):
        if not _STAMP_RE.match(bytes(out[offset:offset + 16])):
            raise DataError(f"no SAS timestamp at XPT byte {offset}; cannot fix the timestamp")
        out[offset:offset + 16] = stamp
    return bytes(out)


def compute_ibm_doubles(numbers: np.ndarray) -> np.ndarray | None:
    """IEEE doubles as big-endian IBM 370 doubles (XPT numbers), NaN -> SAS missing '.'.

    IEEE -> IBM is exact in the IBM range (53-bit mantissa into 56 bits), so this equals
    readstat's conversion; None for a value it may treat otherwise (infinite, -0.0,
    at the edges of the IBM exponent range): the caller then lets pyreadstat write the file.
    """
    x = np.asarray(numbers, dtype=np.float64)
    missing = np.isnan(x)
    if np.isinf(x).any():
        return None
    size = np.abs(np.where(missing, 0.0, x))
    zero = size == 0.0
    if (zero & ~missing & np.signbit(x)).any():
        return None
    mant, exp = np.frexp(size)  # size = mant * 2**exp, 0.5 <= mant < 1
    hexp = -((-exp) // 4)  # IBM: size = frac * 16**hexp, 1/16 <= frac < 1
    if (~zero & ((hexp + 64 < 1) | (hexp + 64 > 126))).any():  # readstat clamps near the limits
        return None
    frac = (mant * 2.0**53).astype(np.uint64) << (3 - (4 * hexp - exp)).astype(np.uint64)
    word = frac | ((hexp + 64).astype(np.uint64) << np.uint64(56)) | (np.signbit(x).astype(np.uint64) << np.uint64(63))
    word = np.where(zero, np.uint64(0), word)
    return np.where(missing, np.uint64(_IBM_MISSING), word).astype(">u8")


def _encode_rows(frame: pd.DataFrame, profiles: dict | None = None) -> tuple[bytes, dict[str, int]] | None:
    """The observation records of ``frame`` (ASCII text, float64 numbers) and the text widths;
    None when a column is anything else (pyreadstat then writes the whole file).

    ``profiles`` holds the columns already looked at (the written values, unchanged)."""
    fields: list[tuple[str, np.ndarray]] = []
    widths: dict[str, int] = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == np.float64:
            ibm = compute_ibm_doubles(column.to_numpy())
            if ibm is None:
                return None
            fields.append((name, ibm))
            continue
        profile = profiles.get(name) if profiles is not None else None
        if profile is not None and profile.positions is None:
            if profile.wide is not None or profile.nul:
                return None
            texts = profile.texts
            widths[name] = profile.max_size
        else:
            texts = _values_of(column) if column.dtype == object else None
            if texts is None or not set(map(type, texts)) <= {str}:
                return None
            joined = "".join(texts)
            if not joined.isascii() or "\x00" in joined:
                return None
            widths[name] = max(map(len, texts), default=0) or 1
        cells = np.array(texts, dtype=f"S{widths[name]}")
        pad = cells.view(np.uint8)
        pad[pad == 0] = 0x20  # blank-padded like readstat (no NUL in the text, checked above)
        fields.append((name, cells))
    records = np.empty(len(frame), dtype=[(f"f{i}", a.dtype) for i, (_, a) in enumerate(fields)])
    for i, (_, values) in enumerate(fields):
        records[f"f{i}"] = values
    data = records.tobytes()
    return data + b" " * (-len(data) % 80), widths


def create_xpt_bytes(frame: pd.DataFrame, meta: DatasetMetadata, formats: dict[str, str], scratch: Path,
                     profiles: dict | None = None) -> bytes:
    """The XPT v5 file of a prepared frame (before the header stamps).

    pyreadstat writes the headers (from a one-record frame with the same widths); the
    observations are encoded column-wise here. The per-cell pyreadstat path is kept for
    empty frames and for values the fast encoder does not handle.
    """
    labels = {var.name: var.label for var in meta.variables}

    def written(data: pd.DataFrame) -> bytes:
        pyreadstat.write_xport(
            data, str(scratch), file_label=meta.label, column_labels=labels,
            table_name=meta.name, file_format_version=5, variable_format=formats or None,
        )
        return scratch.read_bytes()

    encoded = _encode_rows(frame, profiles) if len(frame) else None
    if encoded is None:
        return written(frame)
    rows, widths = encoded
    template = pd.DataFrame({
        name: pd.Series(["x" * widths[name]], dtype=object) if name in widths else pd.Series([0.0])
        for name in frame.columns
    })
    head = written(template)
    cut = head.find(_OBS_HEADER) + len(_OBS_HEADER)
    row_size = sum(widths.values()) + 8 * (len(frame.columns) - len(widths))
    if cut < len(_OBS_HEADER) or len(head) - cut != row_size + (-row_size % 80):
        return written(frame)
    return head[:cut] + rows


def write_xpt(
    df: pd.DataFrame, meta: DatasetMetadata, path: str | os.PathLike[str], *, created: datetime | None = None,
    profiles: dict | None = None,
) -> Path:
    """Check ``df`` against XPT v5 rules, then write it atomically to ``path``.

    Raises DataError listing every violation. The header timestamps are
    ``fixed_timestamp(created)``. Returns the path written. ``profiles``: pass the
    same empty dict to ``complete_metadata`` and here so each text column of ``df``
    is measured once (``df`` must not change in between).
    """
    target = Path(path)
    profiles = {} if profiles is None else profiles  # each text column is looked at once
    violations = _check_xpt_v5(df, meta, profiles)
    if violations:
        lines = "\n".join(f"  - {v}" for v in violations)
        raise DataError(
            f"{len(violations)} XPT v5 violation(s) in dataset {meta.name}:\n{lines}",
            file=target,
            hint="fix the spec or the derivation as each line says; nothing was written",
        )
    frame, formats = _prepare_frame(df, meta, profiles)
    when = fixed_timestamp(created)
    with atomic_output(target) as tmp:
        tmp.write_bytes(stamp_xpt_header(create_xpt_bytes(frame, meta, formats, tmp, profiles), when))
    return target


# ---------------------------------------------------------------- reading


def _format_with_dot(fmt: str | None) -> str | None:
    if not fmt:
        return None
    return fmt if "." in fmt else f"{fmt}."


def _numbers_as_read(column: pd.Series, fmt: str | None) -> tuple[pd.Series, str]:
    """A numeric XPT column as ``read_xpt`` returns it, with its data type: SAS numbers become
    datetime64 under a DATETIME (seconds) or DATE / E8601DA (days) format, others stay float."""
    if fmt and fmt.startswith("DATETIME"):
        return SAS_EPOCH + pd.to_timedelta(column, unit="s"), "datetime"
    if fmt and (fmt.startswith("DATE") or fmt.startswith("E8601DA")):
        return SAS_EPOCH + pd.to_timedelta(column, unit="D"), "date"
    return column, "float"


def read_xpt(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, DatasetMetadata]:
    """Read an XPT file back: data plus the metadata the file itself carries.

    Character columns come back as str ('' for missing); numeric columns as
    float64 (XPT has no integer type, so data_type is "float"); numeric columns
    with a DATE/DATETIME format as datetime64 with data_type "date"/"datetime".
    ``structure`` and ``class_`` are empty: XPT does not store them.
    """
    try:
        df, info = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
        raise DataError(f"cannot read XPT file: {exc}", file=path) from exc
    variables = []
    for name in info.column_names:
        fmt = _format_with_dot(info.original_variable_types.get(name))
        data_type = "text"
        if info.readstat_variable_types[name] != "string":
            column, data_type = _numbers_as_read(df[name], fmt)
            if data_type != "float":
                df[name] = column
        variables.append(VariableMetadata(
            name=name,
            label=info.column_names_to_labels.get(name) or "",
            data_type=data_type,
            length=int(info.variable_storage_width[name]),
            display_format=fmt,
        ))
    meta = DatasetMetadata(
        name=info.table_name or "", label=info.file_label or "", structure="", class_="",
        variables=tuple(variables),
    )
    return df, meta


def create_read_frame(data: pd.DataFrame, meta: DatasetMetadata) -> pd.DataFrame | None:
    """The frame ``read_xpt`` returns for the XPT file ``write_xpt(data, meta)`` writes; None when unsure.

    Text columns: missing -> '', trailing blanks stripped (as readstat reads them); numbers
    float64 (IEEE -> IBM 370 -> IEEE is exact where ``compute_ibm_doubles`` encodes them);
    dates as SAS numbers, then datetime64 by the display format exactly as ``read_xpt`` does.
    None (the caller then reads the file) for non-ASCII or NUL text, non-text values in a
    text column, and numbers the IBM encoder does not take (inf, -0.0, exponent limits).
    ``meta`` must be the completed metadata (``complete_metadata``) that was written.
    """
    if len(data) == 0:
        return None  # pyreadstat writes and reads empty files its own way: read them
    columns = {}
    for var in meta.variables:
        series = data[var.name].reset_index(drop=True)
        if _is_text_column(var, series):
            codes, uniques = pd.factorize(series.to_numpy(dtype=object))
            texts = uniques.tolist()
            if not all(type(t) is str for t in texts):
                return None
            joined = "".join(texts)
            if not joined.isascii() or "\x00" in joined:
                return None
            stripped = [t.rstrip(" ") for t in texts]
            if (codes < 0).any() or stripped != texts:
                values = np.array(stripped + [""], dtype=object)[codes]  # code -1 (missing) -> ''
            else:
                values = series.to_numpy(dtype=object, copy=True)
            columns[var.name] = pd.Series(values, dtype=object, name=var.name)
            continue
        if var.data_type in TEMPORAL_TYPES:
            numbers = compute_sas_dates(series, var.data_type)
            fmt = var.display_format or DEFAULT_FORMATS[var.data_type]
        else:
            numbers = pd.to_numeric(series).astype("float64")
            fmt = var.display_format
        array = numbers.to_numpy(dtype=np.float64, copy=True)
        if compute_ibm_doubles(array) is None:
            return None
        columns[var.name], _ = _numbers_as_read(pd.Series(array, name=var.name), _format_with_dot(fmt))
    return pd.DataFrame(columns, index=pd.RangeIndex(len(data)))
