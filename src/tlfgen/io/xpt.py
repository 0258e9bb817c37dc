"""I/O layer: SAS transport (XPT) version 5 writer and reader (checks: ``xpt_checks``).

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
from datetime import datetime
from pathlib import Path
from typing import Container

import numpy as np
import pandas as pd
import pyreadstat

from tlfgen.errors import DataError
from tlfgen.io.atomic import atomic_output, fixed_timestamp
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt_checks import check_xpt_v5
from tlfgen.io.xpt_columns import TEMPORAL_TYPES, TextProfile, is_numeric_dtype, is_text_column, text_profile

SAS_EPOCH = pd.Timestamp("1960-01-01")
DEFAULT_FORMATS = {"date": "DATE9.", "datetime": "DATETIME20."}

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_STAMP_RE = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d\Z")
_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
_IBM_MISSING = 0x2E << 56  # SAS missing '.': 0x2E then seven zero bytes


# ---------------------------------------------------------------- conversion


def compute_sas_dates(series: pd.Series, data_type: str) -> pd.Series:
    """Dates to SAS numbers: days (``date``) or seconds (``datetime``) since 1960-01-01."""
    if is_numeric_dtype(series):
        return series.astype("float64")
    # already datetime64: pd.to_datetime would still look at its values one by one (cache check)
    stamps = series if pd.api.types.is_datetime64_any_dtype(series) else pd.to_datetime(series)
    if data_type == "date":
        return ((stamps.dt.normalize() - SAS_EPOCH).dt.days).astype("float64")
    return ((stamps - SAS_EPOCH).dt.total_seconds()).astype("float64")


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
            is_text = is_text_column(var, df[var.name])
            if var.length is None:
                length = text_profile(df[var.name], profiles).max_size if is_text else 8
                var = dataclasses.replace(var, length=length)
            if not is_text and var.data_type in TEMPORAL_TYPES and not var.display_format:
                var = dataclasses.replace(var, display_format=DEFAULT_FORMATS[var.data_type])
        variables.append(var)
    return dataclasses.replace(meta, variables=tuple(variables))


def _prepare_frame(df: pd.DataFrame, meta: DatasetMetadata) -> tuple[dict[str, pd.Series], dict[str, str],
                                                                      dict[str, int]]:
    """Columns in metadata order as XPT stores them (numbers and dates as float64, text columns as
    they are; each keeps the index of ``df``: only the order of the values counts); the display
    formats; the declared length of each text column that has one."""
    columns: dict[str, pd.Series] = {}
    formats: dict[str, str] = {}
    lengths: dict[str, int] = {}
    for var in meta.variables:
        series = df[var.name]
        if is_text_column(var, series):
            columns[var.name] = series
            if var.length is not None:
                lengths[var.name] = var.length
        elif var.data_type in TEMPORAL_TYPES:
            columns[var.name] = compute_sas_dates(series, var.data_type)
            formats[var.name] = var.display_format or DEFAULT_FORMATS[var.data_type]
        else:
            columns[var.name] = pd.to_numeric(series).astype("float64", copy=False)
        if var.display_format and var.name not in formats:
            formats[var.name] = var.display_format
    return columns, formats, lengths


def create_padded_texts(profile: TextProfile, length: int) -> np.ndarray:
    """The values pyreadstat is given for a text column: missing -> "", every text right-padded
    with blanks to ``length`` when the declared length is longer than the longest value."""
    pad = length if length > profile.max_size else 0
    table = [value.ljust(pad) if isinstance(value, str) else value for value in profile.uniques]
    return np.array(table + ["".ljust(pad)], dtype=object)[profile.codes]


def create_text_cells(profile: TextProfile, width: int) -> np.ndarray:
    """The fixed-width XPT field of each cell of an ASCII text column (blank-padded, missing ->
    blanks): each distinct value encoded once, then taken by code."""
    table = np.array([value.ljust(width) for value in profile.uniques] + [" " * width], dtype=f"S{width}")
    return table[profile.codes]


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


def _encode_rows(columns: dict[str, pd.Series], records: int, lengths: dict[str, int],
                 profiles: dict | None = None) -> tuple[np.ndarray, dict[str, int]] | None:
    """The observation records of prepared ``columns`` (float64 numbers, ASCII text), one byte
    array, and the text widths (the longest value or the declared ``lengths``, if longer); None
    when a column is anything else (pyreadstat then writes the whole file). ``profiles``: see
    ``write_xpt``."""
    fields: list[np.ndarray] = []
    widths: dict[str, int] = {}
    for name, column in columns.items():
        if column.dtype == np.float64:
            ibm = compute_ibm_doubles(column.to_numpy())
            if ibm is None:
                return None
            fields.append(ibm.view("V8"))
            continue
        profile = text_profile(column, profiles)
        if not profile.all_text or profile.wide.any() or profile.nul:
            return None
        widths[name] = max(lengths.get(name, 0), profile.max_size)
        fields.append(create_text_cells(profile, widths[name]).view(f"V{widths[name]}"))
    table = np.empty(records, dtype=[(f"f{i}", a.dtype) for i, a in enumerate(fields)])
    for i, values in enumerate(fields):  # each field copied as raw bytes into its place in every record
        table[f"f{i}"] = values
    return table.view(np.uint8), widths


def create_xpt_parts(frame: pd.DataFrame | dict[str, pd.Series], meta: DatasetMetadata, formats: dict[str, str],
                     scratch: Path, profiles: dict | None = None,
                     lengths: dict[str, int] | None = None) -> list[bytes | np.ndarray]:
    """The XPT v5 file of prepared columns (``_prepare_frame``; before the header stamps), as
    parts to write one after the other: the headers (the first part, at least up to the member
    header's stamps), then the records and the blanks filling the last 80-byte record.

    pyreadstat writes the headers (from a one-record frame with the same widths); the
    observations are encoded column-wise here. The per-cell pyreadstat path (the whole file in
    one part) is kept for empty frames and for values the fast encoder does not handle.
    ``lengths``: the declared length of text columns, written when longer than the longest value.
    """
    labels = {var.name: var.label for var in meta.variables}
    lengths = lengths or {}
    columns = dict(frame.items())
    records = len(next(iter(columns.values()))) if columns else 0

    def written(data: pd.DataFrame) -> bytes:
        pyreadstat.write_xport(
            data, str(scratch), file_label=meta.label, column_labels=labels,
            table_name=meta.name, file_format_version=5, variable_format=formats or None,
        )
        return scratch.read_bytes()

    def written_whole() -> list[bytes | np.ndarray]:
        return [written(pd.DataFrame({
            name: column.to_numpy() if column.dtype == np.float64
            else create_padded_texts(text_profile(column, profiles), lengths.get(name, 0))
            for name, column in columns.items()}, index=pd.RangeIndex(records)))]

    encoded = _encode_rows(columns, records, lengths, profiles) if records else None
    if encoded is None:
        return written_whole()
    rows, widths = encoded
    template = pd.DataFrame({
        name: pd.Series(["x" * widths[name]], dtype=object) if name in widths else pd.Series([0.0])
        for name in columns
    })
    head = written(template)
    cut = head.find(_OBS_HEADER) + len(_OBS_HEADER)
    row_size = sum(widths.values()) + 8 * (len(columns) - len(widths))
    if cut < len(_OBS_HEADER) or len(head) - cut != row_size + (-row_size % 80):
        return written_whole()
    return [head[:cut], rows, b" " * (-len(rows) % 80)]


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
    violations = check_xpt_v5(df, meta, profiles)
    if violations:
        lines = "\n".join(f"  - {v}" for v in violations)
        raise DataError(
            f"{len(violations)} XPT v5 violation(s) in dataset {meta.name}:\n{lines}",
            file=target,
            hint="fix the spec or the derivation as each line says; nothing was written",
        )
    columns, formats, lengths = _prepare_frame(df, meta)
    when = fixed_timestamp(created)
    with atomic_output(target) as tmp:
        parts = create_xpt_parts(columns, meta, formats, tmp, profiles, lengths)
        parts[0] = stamp_xpt_header(parts[0], when)  # the headers only: the records are not copied again
        with open(tmp, "wb") as handle:
            for part in parts:
                handle.write(part)
    return target


# ---------------------------------------------------------------- reading


def format_with_dot(fmt: str | None) -> str | None:
    """A display format as ``read_xpt`` reports it (``DATE9`` -> ``DATE9.``); None for none."""
    if not fmt:
        return None
    return fmt if "." in fmt else f"{fmt}."


def compute_from_sas_numbers(column: pd.Series, unit: str) -> pd.Series:
    """SAS dates (``unit`` "D": days) or datetimes ("s": seconds) since 1960-01-01 as datetime64;
    missing numbers become NaT.

    No NaN reaches ``pd.to_timedelta``: pandas 2.x (``cast_from_unit_vectorized``) leaves the
    fractional part of a NaN position uninitialised and rounds it, so whatever the memory held
    there intermittently raised "overflow encountered in multiply" (pandas GH#57366; fixed
    upstream in PR #64438)."""
    values = column.to_numpy(dtype=np.float64)
    missing = np.isnan(values)
    stamps = SAS_EPOCH + pd.to_timedelta(np.where(missing, 0.0, values), unit=unit)
    return pd.Series(stamps, index=column.index, name=column.name).where(~missing)


def compute_numbers_as_read(column: pd.Series, fmt: str | None) -> tuple[pd.Series, str]:
    """A numeric XPT column as ``read_xpt`` returns it, with its data type: SAS numbers become
    datetime64 under a DATETIME (seconds) or DATE / E8601DA (days) format, others stay float."""
    if fmt and fmt.startswith("DATETIME"):
        return compute_from_sas_numbers(column, "s"), "datetime"
    if fmt and (fmt.startswith("DATE") or fmt.startswith("E8601DA")):
        return compute_from_sas_numbers(column, "D"), "date"
    return column, "float"


def read_xpt(path: str | os.PathLike[str], *, columns: Container[str] | None = None,
             rows: np.ndarray | None = None) -> tuple[pd.DataFrame, DatasetMetadata]:
    """Read an XPT file back: data plus the metadata the file itself carries.

    Character columns come back as str ('' for missing); numeric columns as
    float64 (XPT has no integer type, so data_type is "float"); numeric columns
    with a DATE/DATETIME format as datetime64 with data_type "date"/"datetime".
    ``structure`` and ``class_`` are empty: XPT does not store them. ``columns``: read only the
    columns ``in`` it (a set, a list, ``spec.inputs.ColumnNeeds``; file order is kept); None reads
    every column. ``rows``: only the records at these positions (0-based, ascending), renumbered
    from 0.

    One-member V5 files with ASCII text are read column-wise (``io/xpt_read.py``, the same
    values as pyreadstat's); others by pyreadstat.
    """
    from tlfgen.io.xpt_read import read_xpt_columns

    try:
        fast = read_xpt_columns(path, columns) if rows is None else read_xpt_columns(path, columns, rows)
    except (OSError, ValueError):
        fast = None  # pyreadstat below says what is wrong with the file
    if fast is not None:
        df, layout = fast
        described = [(v.name, v.label, v.format, v.length, not v.numeric) for v in layout.variables
                     if v.name in df.columns]
        return _as_read(df, described, layout.table_name, layout.file_label)
    try:
        if columns is not None:
            _, head = pyreadstat.read_xport(str(path), metadataonly=True)
            columns = [name for name in head.column_names if name in columns]
        df, info = pyreadstat.read_xport(str(path), disable_datetime_conversion=True,
                                         usecols=list(columns) if columns is not None else None)
    except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
        raise DataError(f"cannot read XPT file: {exc}", file=path) from exc
    if rows is not None:
        df = df.iloc[np.asarray(rows, dtype=np.intp)].reset_index(drop=True)
    described = [(name, info.column_names_to_labels.get(name) or "", info.original_variable_types.get(name),
                  int(info.variable_storage_width[name]), info.readstat_variable_types[name] == "string")
                 for name in info.column_names]
    return _as_read(df, described, info.table_name or "", info.file_label or "")


def _as_read(df: pd.DataFrame, described: list[tuple[str, str, str | None, int, bool]], table_name: str,
             file_label: str) -> tuple[pd.DataFrame, DatasetMetadata]:
    """Numbers with a date format as datetime64, and the metadata (``described``: per column its
    name, label, format, length and whether it is text)."""
    variables = []
    for name, label, raw_format, length, is_text in described:
        fmt = format_with_dot(raw_format)
        data_type = "text"
        if not is_text:
            column, data_type = compute_numbers_as_read(df[name], fmt)
            if data_type != "float":
                df[name] = column
        variables.append(VariableMetadata(name=name, label=label, data_type=data_type, length=length,
                                          display_format=fmt))
    meta = DatasetMetadata(name=table_name, label=file_label, structure="", class_="", variables=tuple(variables))
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
        if is_text_column(var, series):
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
        columns[var.name], _ = compute_numbers_as_read(pd.Series(array, name=var.name), format_with_dot(fmt))
    return pd.DataFrame(columns, index=pd.RangeIndex(len(data)))
