"""Lineage layer: JSON text as ``json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)`` writes it
(or with ``sort_keys=False``: keys in insertion order).

The standard library switches to its pure-Python encoder (a generator per
container) as soon as ``indent`` is given; on the tens of thousands of record
links of ``lineage.json`` that is most of the writing time. ``dumps_indented``
builds the same characters with one list of parts and the C string encoder,
joining lists of plain strings in one step (strings that need no escape are
only quoted). Same output, byte for byte (tests/lineage/test_jsondump.py
compares it with ``json.dumps``). Two additions: a value with a
``json_text(newline)`` method that returns text is written as that text (the
pre-rendered record links of ``lineage.records``; ``json_parts(newline)``: the
same as a list of pieces), and any other ``Mapping`` is written as a dict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from itertools import chain
from typing import Any, Callable, Iterable

ENCODE_STR: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]
#: the characters ``encode_basestring`` escapes (ensure_ascii=False); any other string is only quoted
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
_INF = float("inf")
_CONTAINERS = (dict, list, tuple)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def dumps_indented(value: Any, *, allow_nan: bool = True, default: Callable[[Any], Any] | None = None,
                   sort_keys: bool = True) -> str:
    """``json.dumps(value, indent=1, sort_keys=..., ensure_ascii=False, allow_nan=..., default=...)``."""
    return "".join(dump_parts(value, allow_nan=allow_nan, default=default, sort_keys=sort_keys))


def dump_parts(value: Any, *, allow_nan: bool = True, default: Callable[[Any], Any] | None = None,
               sort_keys: bool = True) -> list[str]:
    """The text of ``dumps_indented`` in pieces (joined, they are that text): a large document can be
    written piece by piece, without one more copy of all of it."""
    parts: list[str] = []
    _Dumper(allow_nan, default, sort_keys).into(value, parts, "\n")
    return parts


class _Dumper:
    def __init__(self, allow_nan: bool, default: Callable[[Any], Any] | None, sort_keys: bool = True) -> None:
        self.allow_nan = allow_nan
        self.default = default
        self.sort_keys = sort_keys

    def into(self, value: Any, parts: list[str], newline: str) -> None:
        """Append the JSON of ``value``; ``newline`` is a line break plus the current indent."""
        if isinstance(value, str):
            parts.append(ENCODE_STR(value))
        elif isinstance(value, dict):
            self._dict(value, parts, newline)
        elif isinstance(value, (list, tuple)):
            self._list(value, parts, newline)
        elif hasattr(value, "json_parts") and (pieces := value.json_parts(newline)) is not None:
            parts.extend(pieces)  # pre-rendered in pieces (lineage.record_blocks.RenderedSection)
        elif hasattr(value, "json_text") and (text := value.json_text(newline)) is not None:
            parts.append(text)  # pre-rendered (e.g. lineage.records.LinkSection)
        elif isinstance(value, Mapping):
            self._dict(dict(value.items()), parts, newline)
        else:
            text = self.scalar(value)
            if text is None:
                self.into(self._fallback(value), parts, newline)
            else:
                parts.append(text)

    def scalar(self, value: Any) -> str | None:
        """JSON of a str, None, bool, int or float; None for anything else."""
        if isinstance(value, str):
            return ENCODE_STR(value)
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if isinstance(value, int):
            return int.__repr__(value)
        if isinstance(value, float):
            return self._float(value)
        return None

    def _float(self, value: float) -> str:
        if value != value:
            text = "NaN"
        elif value == _INF:
            text = "Infinity"
        elif value == -_INF:
            text = "-Infinity"
        else:
            return float.__repr__(value)
        if not self.allow_nan:
            raise ValueError("Out of range float values are not JSON compliant: " + repr(value))
        return text

    def _fallback(self, value: Any) -> Any:
        if self.default is None:
            raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")
        return self.default(value)

    def _key(self, key: Any) -> str:
        if isinstance(key, str):
            return key
        if isinstance(key, float):
            return self._float(key)
        if key is True or key is False or key is None:
            return {True: "true", False: "false", None: "null"}[key]
        if isinstance(key, int):
            return int.__repr__(key)
        raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")

    def _dict(self, value: dict, parts: list[str], newline: str) -> None:
        if not value:
            parts.append("{}")
            return
        inner = newline + " "
        sep = "," + inner
        if all(type(key) is str for key in value):
            # unique keys: the order of sorted(items), with str comparisons only
            keys = sorted(value) if self.sort_keys else list(value)
            if _all_str_lists(value.values()):  # e.g. record id -> [source record ids]
                if plain(keys) and plain(chain.from_iterable(value.values())):  # no escapes: quote only
                    opened, sep2, closed = '": [' + inner + ' "', '",' + inner + ' "', '"' + inner + "]"
                    parts.append("{" + inner + sep.join([
                        '"' + key + opened + sep2.join(item) + closed if item else '"' + key + '": []'
                        for key, item in zip(keys, map(value.__getitem__, keys))]) + newline + "}")
                    return
                opened, sep2, closed = ": [" + inner + " ", "," + inner + " ", inner + "]"
                enc = ENCODE_STR
                parts.append("{" + inner + sep.join([
                    enc(key) + opened + sep2.join(map(enc, item)) + closed if item else enc(key) + ": []"
                    for key, item in zip(keys, map(value.__getitem__, keys))]) + newline + "}")
                return
            items = [(key, value[key]) for key in keys]
        else:
            items = sorted(value.items()) if self.sort_keys else list(value.items())
        parts.append("{")
        for k, (key, item) in enumerate(items):
            parts.append((sep if k else inner) + ENCODE_STR(self._key(key)) + ": ")
            text = self.scalar(item) if type(item) in _SCALARS else None  # plain values without recursion
            if text is None:
                self.into(item, parts, inner)
            else:
                parts.append(text)
        parts.append(newline + "}")

    def _list(self, value: list | tuple, parts: list[str], newline: str) -> None:
        if not value:
            parts.append("[]")
            return
        if all(type(item) is str for item in value):
            parts.append(_str_list(value, newline))
            return
        inner = newline + " "
        if all(type(item) is int for item in value):  # e.g. the --SEQ numbers of a lineage source
            parts.append("[" + inner + ("," + inner).join(map(int.__repr__, value)) + newline + "]")
            return
        sep = "," + inner
        parts.append("[")
        for k, item in enumerate(value):
            parts.append(sep if k else inner)
            self.into(item, parts, inner)
        parts.append(newline + "]")


def plain(strings: Iterable[str]) -> bool:
    """No string needs an escape (its JSON is the text in quotes)."""
    return _NEEDS_ESCAPE.search("".join(strings)) is None


def _all_str_lists(values: Any) -> bool:
    """Every value is a list (or tuple) of plain strings."""
    return {type(v) for v in values} <= {list, tuple} and {type(x) for v in values for x in v} <= {str}


def _str_list(value: list | tuple, newline: str) -> str:
    """JSON of a list of plain strings (``newline``: line break + the list's own indent)."""
    if not value:
        return "[]"
    inner = newline + " "
    return "[" + inner + ("," + inner).join(map(ENCODE_STR, value)) + newline + "]"
