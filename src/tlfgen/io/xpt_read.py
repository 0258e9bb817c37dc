"""I/O layer: a column-wise reader of SAS transport (XPT) version 5 files.

``read_xpt_columns`` returns what ``pyreadstat.read_xport(path, usecols=...,
disable_datetime_conversion=True)`` returns (same columns, float64 numbers, str text, same
values, NaN where readstat gives a missing or special missing), but column-wise with numpy
instead of value by value: XPT v5 observations are fixed-width records, so each column is a
strided slice of a block of records; only the selected columns' bytes are kept. The rules are readstat's
(``readstat_xport_read.c`` and SAS TS-140 ``xpt2ieee``), restated here:

* the rows are the whole records after the OBS header; trailing all-blank records are the
  file's padding and are dropped (all-blank records followed by data are kept);
* text: trailing blanks stripped; the fast path takes ASCII text without NUL bytes;
* numbers (length 3 to 8, zero-filled to 8 bytes): a first byte ``.``, ``_`` or ``A``-``Z``
  and zeros after it is a missing value (special missings ``.A``-``.Z``, ``._`` too); any other
  non-zero first byte with zeros after it is NaN as well; IBM 370 doubles become IEEE by
  TS-140's bit shuffle (the fraction truncated, not rounded, as readstat does); other lengths
  read as missing.

``None`` (the caller then asks pyreadstat) for anything else: not a one-member V5 file, 136-byte
namestrs, non-ASCII or NUL bytes in a name, label or text value, an empty dataset.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Container

import numpy as np
import pandas as pd

RECORD = 80
_LIBRARY = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
_MEMBER = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
_DSCRPTR = b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!"
_NAMESTR = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"
_OBS = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
_NAMESTR_LAYOUT = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")  # SAS TS-140, 140 bytes


@dataclass(frozen=True)
class XptVariable:
    """One variable as its namestr describes it; ``offset``: its first byte in a record."""

    name: str
    numeric: bool
    length: int
    offset: int
    label: str
    format: str | None


@dataclass(frozen=True)
class XptLayout:
    """Where things are in a one-member XPT v5 file."""

    table_name: str
    file_label: str
    variables: tuple[XptVariable, ...]
    data_offset: int  # first byte of the first record

    @property
    def row_length(self) -> int:
        return sum(v.length for v in self.variables)


def _text(raw: bytes) -> str | None:
    """A header text as readstat gives it (trailing blanks stripped, up to a NUL); None if not ASCII."""
    raw = raw.split(b"\x00", 1)[0].rstrip(b" ")
    return raw.decode("ascii") if raw.isascii() else None


def _format_text(name: str, width: int, decimals: int) -> str | None:
    """The format as pyreadstat 1.3 reports it: NAME, then ``w.`` with a width, ``.d`` with decimals
    (``DATE9.``, ``8.2``, ``3.``, ``$CHAR20.``); None when the namestr has none of them."""
    text = name + (f"{width}." if width else "") + (f"{'' if width else '.'}{decimals}" if decimals else "")
    return text or None


def parse_xpt_layout(head: bytes) -> XptLayout | None:
    """The layout of a one-member XPT v5 file from its first bytes (at least up to the OBS header)."""
    if any(head[at:at + len(mark)] != mark for at, mark in ((0, _LIBRARY), (240, _MEMBER), (320, _DSCRPTR),
                                                               (560, _NAMESTR))):
        return None
    if head[240 + 74:240 + 78] != b"0140":  # 136: VAX/VMS namestrs
        return None
    table_name, file_label = _text(head[408:416]), _text(head[512:552])
    try:
        count = int(head[560 + 53:560 + 58])
    except ValueError:
        return None
    start = 640
    end = start + 140 * count
    obs = end + (-end % RECORD)
    if table_name is None or file_label is None or head[obs:obs + len(_OBS)] != _OBS:
        return None
    variables, offset = [], 0
    for i in range(count):
        (ntype, _hfun, length, _num, name, label, form, width, decimals, *_rest
         ) = _NAMESTR_LAYOUT.unpack_from(head, start + 140 * i)
        texts = [_text(name), _text(label), _text(form)]
        if None in texts or length <= 0:
            return None
        variables.append(XptVariable(texts[0], ntype != 2, length, offset, texts[1],
                                     _format_text(texts[2], width, decimals)))
        offset += length
    return XptLayout(table_name, file_label, tuple(variables), obs + RECORD)


def compute_ieee_from_ibm(words: np.ndarray) -> np.ndarray:
    """Big-endian IBM 370 doubles (``>u8``) as float64, bit for bit as readstat's ``xpt2ieee``.

    All zero -> 0.0; a non-zero first byte with seven zero bytes -> NaN (SAS missing values);
    exponent 0x7F with an all-ones fraction -> infinity; otherwise the fraction is shifted so
    its leading one becomes IEEE's implicit bit (the last 0-3 bits are dropped) and the hex
    exponent becomes a binary one.
    """
    x = words.astype(np.uint64)
    first = x >> np.uint64(56)
    rest = x & np.uint64(0x00FFFFFFFFFFFFFF)
    frac = rest
    shift = np.where(frac & np.uint64(1 << 55), 3,
                     np.where(frac & np.uint64(1 << 54), 2, np.where(frac & np.uint64(1 << 53), 1, 0))
                     ).astype(np.uint64)
    mantissa = (frac >> shift) & ~np.uint64(1 << 52)
    exponent = (((first & np.uint64(0x7F)).astype(np.int64) - 65) << 2) + shift.astype(np.int64) + 1023
    high = (exponent << 20) & 0xFFFFFFFF  # the C code ORs it into a 32-bit word
    bits = mantissa | (high.astype(np.uint64) << np.uint64(32)) | (x & np.uint64(1 << 63))
    infinite = ((x >> np.uint64(32)) & np.uint64(0x7FFFFFFF)) == np.uint64(0x7FFFFFFF)
    infinite &= (x & np.uint64(0xFFFFFFFF)) == np.uint64(0xFFFFFFFF)
    bits = np.where(infinite, (x & np.uint64(1 << 63)) | np.uint64(0x7FF0000000000000), bits)
    out = bits.view(np.float64)
    out[x == 0] = 0.0
    out[(rest == 0) & (first != 0)] = np.nan
    return out


def _rows(handle: BinaryIO, offset: int, width: int, count: int) -> int:
    """Records up to the last one that is not all blanks (readstat drops trailing blank records),
    looking at the file from its end, 256 records at a time."""
    end = count
    while end:
        start = max(0, end - 256)
        handle.seek(offset + start * width)
        block = np.frombuffer(handle.read((end - start) * width), dtype=np.uint8).reshape(end - start, width)
        blank = (block == 0x20).all(axis=1)
        if not blank.all():
            return start + int(np.flatnonzero(~blank)[-1]) + 1
        end = start
    return 0


def _numbers(cells: np.ndarray) -> np.ndarray:
    """float64 values of one numeric column (``cells``: rows x length bytes)."""
    length = cells.shape[1]
    if not 3 <= length <= 8:  # readstat reads these as missing
        return np.full(len(cells), np.nan)
    full = np.zeros((len(cells), 8), dtype=np.uint8)
    full[:, :length] = cells
    return compute_ieee_from_ibm(full.view(">u8").ravel())


def compute_row_codes(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct rows of a bytes matrix (0, 1, ... in order of first appearance) and the
    position of each code's first row, without a Python object per row.

    The rows are cut into 8-byte words; each word is factorised as an integer and the codes are
    combined word by word (``codes * distinct + word code``, factorised again)."""
    rows, length = cells.shape
    words = -(-length // 8)
    padded = np.zeros((rows, words * 8), dtype=np.uint8)
    padded[:, :length] = cells
    as_words = padded.view(np.uint64)
    codes = pd.factorize(as_words[:, 0])[0]
    for i in range(1, words):
        part, distinct = pd.factorize(as_words[:, i])
        codes = pd.factorize(codes.astype(np.int64) * len(distinct) + part)[0]
    highest = np.maximum.accumulate(codes)  # a code is new where it first exceeds all before it
    first = np.flatnonzero(np.concatenate(([True], highest[1:] > highest[:-1]))) if rows else np.empty(0, np.intp)
    return codes, first


def _texts(cells: np.ndarray) -> np.ndarray | None:
    """str values of one text column (one str object per distinct value); None for non-ASCII or NUL."""
    if len(cells) == 0:
        return np.empty(0, dtype=object)
    if int(cells.max()) >= 0x80 or not cells.all():
        return None
    codes, first = compute_row_codes(cells)
    keys = np.ascontiguousarray(cells[first]).view(f"S{cells.shape[1]}").ravel()
    decoded = np.array([bytes(k).rstrip(b" ").decode("ascii") for k in keys], dtype=object)
    return decoded[codes]


def read_xpt_columns(path: str | os.PathLike[str], columns: Container[str] | None = None,
                     rows: np.ndarray | None = None) -> tuple[pd.DataFrame, XptLayout] | None:
    """The data of a one-member XPT v5 file (only ``columns``, in file order, when given) and its
    layout (all variables of the file). ``rows``: only the records at these positions (0-based,
    ascending; records are fixed-width, so the others are skipped, never decoded).

    The records are read in blocks of about ``CHUNK`` bytes; only the bytes of the selected
    columns are kept, so memory holds those, not the file. None when the file is not one this
    reader takes (see the module docstring): read it with pyreadstat then. Raises OSError when
    the file cannot be read.
    """
    with open(path, "rb") as handle:
        head = handle.read(640)
        try:
            count = int(head[560 + 53:560 + 58])
        except ValueError:
            return None
        head += handle.read(140 * count + 2 * RECORD)
        layout = parse_xpt_layout(head)
        if layout is None or not layout.variables:
            return None
        selected = [v for v in layout.variables if columns is None or v.name in columns]
        cells = _read_cells(handle, layout, selected, rows)
    if cells is None:
        return None
    out: dict[str, np.ndarray] = {}
    for var in selected:
        if var.numeric:
            out[var.name] = _numbers(cells[var.name])
        else:
            values = _texts(cells.pop(var.name))
            if values is None:
                return None
            out[var.name] = values
    rows = next(iter(out.values())).shape[0] if out else _count_rows(cells)
    return pd.DataFrame(out, index=pd.RangeIndex(rows), copy=False), layout


CHUNK = 1 << 23  # bytes of records read at a time


def _count_rows(cells: dict[str, np.ndarray]) -> int:
    """The records read when no column was selected (``_read_cells`` keeps an empty column "")."""
    return int(cells.get("", np.empty(0)).shape[0])


def _read_cells(handle: BinaryIO, layout: XptLayout, selected: list[XptVariable],
                picked: np.ndarray | None = None) -> dict[str, np.ndarray] | None:
    """The bytes of each selected column (rows x length), read block by block (only the records at
    the positions ``picked``, when given); None when the file holds a second member (readstat would
    read its headers as records) or no records."""
    width = layout.row_length
    size = os.fstat(handle.fileno()).st_size
    count = (size - layout.data_offset) // width
    rows = _rows(handle, layout.data_offset, width, count)
    if rows == 0:
        return None
    if picked is not None:
        picked = np.asarray(picked, dtype=np.intp)
        if len(picked) and (picked[0] < 0 or picked[-1] >= rows or (np.diff(picked) <= 0).any()):
            raise ValueError("record positions must be ascending and inside the file")
    kept = rows if picked is None else len(picked)
    cells = {v.name: np.empty((kept, v.length), dtype=np.uint8) for v in selected}
    if not selected:
        cells[""] = np.empty((kept, 0), dtype=np.uint8)
    step = max(1, CHUNK // width)
    handle.seek(layout.data_offset)
    tail = b""
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        raw = handle.read((stop - start) * width)
        if (tail + raw[:len(_MEMBER)]).find(_MEMBER) >= 0 or raw.find(_MEMBER) >= 0:
            return None
        tail = raw[-len(_MEMBER):]
        block = np.frombuffer(raw, dtype=np.uint8).reshape(stop - start, width)
        into = slice(start, stop)
        if picked is not None:
            lo, hi = np.searchsorted(picked, [start, stop])
            block, into = block[picked[lo:hi] - start], slice(int(lo), int(hi))
        for var in selected:
            cells[var.name][into] = block[:, var.offset:var.offset + var.length]
    rest = handle.read()  # the records after the last one kept (blank) and the padding
    if (tail + rest).find(_MEMBER) >= 0:
        return None
    return cells
