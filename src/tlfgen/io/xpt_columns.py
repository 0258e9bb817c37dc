"""I/O layer: how the XPT writer, its checks and Dataset-JSON look at a column's values.

Text columns are profiled once per write (``text_profile``): the values, which are texts,
their UTF-8 sizes and non-ASCII mask, so the v5 checks, ``complete_metadata`` and the writer
share one pass over each column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat

import numpy as np
import pandas as pd

from tlfgen.io.metadata import VariableMetadata

NUMERIC_TYPES = ("integer", "float")
TEMPORAL_TYPES = ("date", "datetime")


def is_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and np.isnan(value)


def values_of(series: pd.Series) -> list:
    """The values ``for v in series`` yields, as a list (one C-level copy for object columns)."""
    return series.tolist() if series.dtype == object else list(series)


def _all_text(values: list) -> bool:
    """True when every value is a str (so none is missing): checked once per distinct type."""
    return all(issubclass(t, str) for t in set(map(type, values)))


def has_date_values(values: list) -> bool:
    """True when a non-missing value is a date/datetime (pd.NaT is a datetime but missing)."""
    nat = type(pd.NaT)
    return any(t is not nat and issubclass(t, (date, datetime)) for t in set(map(type, values)))


def split_text(values: list) -> tuple[list[int], list[int] | None, list[str]]:
    """(positions of non-missing non-text values, positions of the texts or None for all, the texts)."""
    if _all_text(values):
        return [], None, values
    is_text = np.fromiter(map(isinstance, values, repeat(str)), dtype=bool, count=len(values))
    not_text = [i for i in np.flatnonzero(~is_text).tolist() if not is_missing(values[i])]
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
class TextProfile:
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


def text_profile(series: pd.Series, profiles: dict | None = None) -> TextProfile:
    """The profile of a text column, computed once per write (``profiles`` keeps it by name)."""
    if profiles is not None and series.name in profiles:
        return profiles[series.name]
    values = values_of(series)
    not_text, positions, texts = split_text(values)
    joined = "".join(texts)
    if joined.isascii():
        sizes, wide = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), None
    else:
        sizes, wide = compute_text_sizes(texts)
    profile = TextProfile(values, not_text, positions, texts, sizes, wide, "\x00" in joined)
    if profiles is not None and series.name is not None:
        profiles[series.name] = profile
    return profile


def is_text_column(var: VariableMetadata, series: pd.Series) -> bool:
    """True when the variable is written as character (text, ISO dates, durations)."""
    if var.data_type in NUMERIC_TYPES:
        return False
    if var.data_type in TEMPORAL_TYPES:
        if pd.api.types.is_datetime64_any_dtype(series) or is_numeric_dtype(series):
            return False
        return not has_date_values(values_of(series))
    return True


def is_numeric_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
