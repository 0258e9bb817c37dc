"""I/O layer: how the XPT writer, its checks and Dataset-JSON look at a column's values.

Text columns are profiled once per write (``text_profile``): each cell as a code into the
column's distinct values, and per distinct value whether it is a text, its UTF-8 size and
whether it is ASCII. The v5 checks, ``complete_metadata``, the XPT writer and Dataset-JSON
share that one pass over each column and then work per distinct value (SDTM text columns
hold few), taking the result for every cell by its code.
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


def has_date_values(values: list) -> bool:
    """True when a non-missing value is a date/datetime (pd.NaT is a datetime but missing)."""
    nat = type(pd.NaT)
    return any(t is not nat and issubclass(t, (date, datetime)) for t in set(map(type, values)))


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


#: the missing values factorize and ``is_missing`` agree on (pandas also takes np.float32 NaN, NaT of numpy...)
_PLAIN_MISSING = (type(None), float, np.float64, type(pd.NaT), type(pd.NA))


@dataclass(frozen=True)
class TextProfile:
    """One text column looked at once: each cell as a code into the column's distinct values.

    Per distinct value: whether it is a text, its UTF-8 size (0 for a non-text) and whether it
    is non-ASCII; code -1 is a missing value (None, NaN, NaT, NA). The writers turn each distinct
    value into bytes or JSON once and take them by code.
    """

    codes: np.ndarray  # per cell: index into ``uniques``, -1 for a missing value
    uniques: list  # the distinct non-missing values, in order of first appearance
    is_text: np.ndarray  # per distinct value: a str
    sizes: np.ndarray  # per distinct value: UTF-8 bytes (0: not a text)
    wide: np.ndarray  # per distinct value: a text with a non-ASCII character
    nul: bool  # a text holds U+0000

    @property
    def max_size(self) -> int:
        """The XPT length pyreadstat writes: longest value in bytes, at least 1."""
        return int(self.sizes.max()) or 1 if len(self.sizes) else 1

    @property
    def all_text(self) -> bool:
        """Every value is a text or missing."""
        return bool(self.is_text.all())

    def cells(self, per_value: np.ndarray, missing: object) -> np.ndarray:
        """``per_value`` (one entry per distinct value) spread to every cell; ``missing`` at missing ones."""
        return np.append(per_value, np.array([missing], dtype=per_value.dtype))[self.codes]

    def positions(self, per_value: np.ndarray) -> list[int]:
        """The cells whose distinct value is True in ``per_value`` (missing cells never)."""
        return np.flatnonzero(self.cells(per_value, False)).tolist()


def factorize_text(series: pd.Series) -> tuple[np.ndarray, list]:
    """(code of each cell, distinct non-missing values): missing (``is_missing``) is code -1.

    Through ``pd.factorize`` when every distinct value is a str and every missing value is one
    ``is_missing`` takes (factorize would merge 1, 1.0 and True, and takes np.float32 NaN as
    missing); otherwise each cell is its own value.
    """
    array = series.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(array, use_na_sentinel=True)
    except TypeError:  # an unhashable value
        codes, uniques = None, None
    if codes is not None and set(map(type, uniques.tolist())) <= {str}:
        missing = array[codes < 0].tolist()
        if all(issubclass(t, _PLAIN_MISSING) for t in set(map(type, missing))):
            return codes, uniques.tolist()
    values = array.tolist()
    present = np.fromiter((not is_missing(v) for v in values), dtype=bool, count=len(values))
    codes = np.where(present, np.cumsum(present) - 1, -1)
    return codes, [v for v, keep in zip(values, present.tolist()) if keep]


def text_profile(series: pd.Series, profiles: dict | None = None) -> TextProfile:
    """The profile of a text column, computed once per write (``profiles`` keeps it by name)."""
    if profiles is not None and series.name in profiles:
        return profiles[series.name]
    codes, uniques = factorize_text(series)
    is_text = np.fromiter(map(isinstance, uniques, repeat(str)), dtype=bool, count=len(uniques))
    texts = uniques if is_text.all() else [v if isinstance(v, str) else "" for v in uniques]
    sizes, wide = compute_text_sizes(texts)
    profile = TextProfile(codes, uniques, is_text, sizes, np.zeros(len(texts), dtype=bool) if wide is None else wide,
                          "\x00" in "".join(texts))
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
