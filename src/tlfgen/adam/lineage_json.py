"""ADaM stage: the text of ``adam/lineage/<name>.json``, as ``json.dumps(doc, indent=1, ensure_ascii=False)``.

The standard library switches to its pure-Python, generator-based encoder as
soon as ``indent`` is given; for the hundreds of thousands of records of a large
study that was most of the lineage writing time. ``dumps_lineage`` writes the
same characters for the document ``run.write_lineage`` builds (version, dataset,
keys, records of ``{"key": {...}, "sources": [{"domain": ..., "seq": [...]}]}``)
with string joins and the C string encoder. Any other shape or value type goes
to ``json.dumps`` itself, so the output is always what ``json.dumps`` writes
(tests/adam/test_lineage_json.py compares the two).
"""

from __future__ import annotations

import json
from typing import Any, Callable

_ENC: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]
_INF = float("inf")
_DOC_KEYS = ("version", "dataset", "keys", "records")
_RECORD_KEYS = ("key", "sources")
_SOURCE_KEYS = ("domain", "seq")


class _Unsupported(Exception):
    """A shape or value the fast path does not write (``json.dumps`` does it instead)."""


def dumps_lineage(doc: Any) -> str:
    """``json.dumps(doc, indent=1, ensure_ascii=False)`` (no trailing newline)."""
    try:
        return _dumps_doc(doc)
    except _Unsupported:
        return json.dumps(doc, indent=1, ensure_ascii=False)


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _ENC(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        if value != value:
            return "NaN"
        if value == _INF:
            return "Infinity"
        if value == -_INF:
            return "-Infinity"
        return float.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    raise _Unsupported


def _name(key: Any) -> str:
    if type(key) is not str:
        raise _Unsupported
    return _ENC(key)


def _dumps_doc(doc: Any) -> str:
    if type(doc) is not dict or tuple(doc) != _DOC_KEYS:
        raise _Unsupported
    keys, records = doc["keys"], doc["records"]
    if type(keys) is not list or type(records) is not list:
        raise _Unsupported
    keys_text = ("[\n  " + ",\n  ".join(map(_scalar, keys)) + "\n ]") if keys else "[]"
    records_text = ("[\n  " + ",\n  ".join(map(_record, records)) + "\n ]") if records else "[]"
    return ('{\n "version": ' + _scalar(doc["version"]) + ',\n "dataset": ' + _scalar(doc["dataset"])
            + ',\n "keys": ' + keys_text + ',\n "records": ' + records_text + "\n}")


def _record(record: Any) -> str:
    if type(record) is not dict or tuple(record) != _RECORD_KEYS:
        raise _Unsupported
    key, sources = record["key"], record["sources"]
    if type(key) is not dict or type(sources) is not list:
        raise _Unsupported
    key_text = ("{\n    " + ",\n    ".join([_name(k) + ": " + _scalar(v) for k, v in key.items()]) + "\n   }"
                if key else "{}")
    sources_text = ("[\n    " + ",\n    ".join(map(_source, sources)) + "\n   ]") if sources else "[]"
    return '{\n   "key": ' + key_text + ',\n   "sources": ' + sources_text + "\n  }"


def _source(source: Any) -> str:
    if type(source) is not dict or tuple(source) != _SOURCE_KEYS:
        raise _Unsupported
    seq = source["seq"]
    if type(seq) is not list:
        raise _Unsupported
    seq_text = ("[\n      " + ",\n      ".join(map(_scalar, seq)) + "\n     ]") if seq else "[]"
    return '{\n     "domain": ' + _scalar(source["domain"]) + ',\n     "seq": ' + seq_text + "\n    }"
