"""I/O layer: JSON text through orjson, as the standard ``json`` module writes and reads it.

orjson (compiled) writes JSON about ten times faster than ``json`` and reads it somewhat faster;
tlfgen uses it for the large documents it writes and reads again (Dataset-JSON, the record lineage
files, the explorer page). ``dumps_text`` gives what ``json.dumps(value, separators=(",", ":"),
check_circular=False, ensure_ascii=..., allow_nan=..., default=...)`` gives and ``loads`` what
``json.loads`` gives: the same text, value or error. orjson's result is taken where it is the same
for sure, else the standard library does the work:

- NaN and infinity: orjson writes ``null``. A text holding ``null`` is written again by ``json``,
  which writes ``NaN`` or raises as ``allow_nan`` says; ``finite=True`` skips that for a document
  whose builder rejects NaN and infinity (its ``null`` are all None).
- Values orjson would refuse or write otherwise go to ``json`` (with ``default``): integers beyond
  64 bits, keys that are not text, float subclasses (numpy.float64), other numpy values, dates,
  times and dataclasses (these orjson is told to pass on).
- ``ensure_ascii=True``: a text with a non-ASCII character or DEL (``json`` writes ``\\u007f``) is
  written again by ``json``.
- Reading: a text orjson refuses (bad JSON, ``NaN``, a number beyond the double range, a byte
  order mark, a lone surrogate) is read by ``json``, so the value or the error is ``json``'s; so is
  a text holding a run of 19 or more digits (orjson reads an integer beyond 64 bits as a float).

One difference stays: a float of magnitude below 1e-4 (not 0) is written in orjson's form, ``0.00001``
or ``1e-7`` where ``json`` writes ``1e-05`` or ``1e-07``: the same number; from 1e-4 on, and below
1e-9, both write the same digits. (Enum and UUID values, which these documents never hold, orjson
writes as their value and text where ``json`` refuses them.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson

#: what orjson must not write itself (``json`` refuses them or writes ``default`` of them)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
#: digits as "0": a run of 19 zeros after ``translate`` is a number orjson may read as a float
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def _same_as_json(data: bytes, *, ensure_ascii: bool, finite: bool) -> bool:
    """True when orjson's ``data`` is the text ``json`` writes for sure."""
    return (finite or b"null" not in data) and (not ensure_ascii or (data.isascii() and b"\x7f" not in data))


def _orjson_bytes(value: Any, *, ensure_ascii: bool, finite: bool) -> bytes | None:
    """orjson's text of ``value`` when ``json`` writes the same, else None."""
    try:
        data = orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return None
    return data if _same_as_json(data, ensure_ascii=ensure_ascii, finite=finite) else None


def _json_text(value: Any, *, ensure_ascii: bool, allow_nan: bool, default: Callable[[Any], Any] | None) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=allow_nan, default=default,
                      separators=(",", ":"), check_circular=False)


def dumps_text(value: Any, *, ensure_ascii: bool = False, allow_nan: bool = False,
               default: Callable[[Any], Any] | None = None, finite: bool = False) -> str:
    """Compact JSON text of ``value`` (a tree of plain data, no container inside itself): the text of
    ``json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=allow_nan, default=default,
    separators=(",", ":"), check_circular=False)`` (or its error), made by orjson when that is the
    same text. ``finite``: the caller's builder rejects NaN and infinity."""
    data = _orjson_bytes(value, ensure_ascii=ensure_ascii, finite=finite)
    if data is not None:
        return data.decode("utf-8")
    return _json_text(value, ensure_ascii=ensure_ascii, allow_nan=allow_nan, default=default)


def dumps_bytes(value: Any, *, ensure_ascii: bool = False, allow_nan: bool = False,
                default: Callable[[Any], Any] | None = None, finite: bool = False) -> bytes:
    """``dumps_text(value, ...)`` in UTF-8, without a detour through ``str`` when orjson writes it."""
    data = _orjson_bytes(value, ensure_ascii=ensure_ascii, finite=finite)
    if data is not None:
        return data
    return _json_text(value, ensure_ascii=ensure_ascii, allow_nan=allow_nan, default=default).encode("utf-8")


def dumps_indented(value: Any) -> bytes:
    """``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`` in UTF-8 (or its error),
    made by orjson when that is the same text (a document without ``null``: orjson writes NaN and
    infinity as ``null``, ``json`` as ``NaN``)."""
    try:
        data = orjson.dumps(value, option=_OPTIONS | orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        data = None
    if data is not None and _same_as_json(data, ensure_ascii=False, finite=False):
        return data
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def join_texts(values: list[Any], separator: str, *, ensure_ascii: bool = False, allow_nan: bool = False,
               finite: bool = False) -> str:
    """``separator.join(dumps_text(v, ...) for v in values)``, in one orjson pass when it can."""
    try:
        joined = separator.encode("utf-8").join([orjson.dumps(v, option=_OPTIONS) for v in values])
    except orjson.JSONEncodeError:
        joined = None
    if joined is not None and _same_as_json(joined, ensure_ascii=ensure_ascii, finite=finite):
        return joined.decode("utf-8")
    return separator.join([dumps_text(v, ensure_ascii=ensure_ascii, allow_nan=allow_nan, finite=finite)
                           for v in values])


def loads(data: str | bytes) -> Any:
    """``json.loads(data)``: its value or its error; read by orjson when that gives the same value."""
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if _LONG_NUMBER not in raw.translate(_DIGITS):
            return orjson.loads(raw)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        pass
    return json.loads(data)


def finite_value(value: Any) -> Any:
    """``value``, unless it is a NaN or infinite float: then the ValueError ``json.dumps(value,
    allow_nan=False)`` raises (for a builder that hands ``dumps_text(..., finite=True)`` its document)."""
    if isinstance(value, float) and not math.isfinite(value):
        json.dumps(value, allow_nan=False)  # raises the standard encoder's own error
    return value
