"""SDTM stage: ISO 8601 dates from EDC date text.

The EDC prints ``03 AUG 2020``; unknown parts as ``UN`` (day), ``UNK`` (month)
and ``UNKN`` (year). Partial dates stay partial (``UN JAN 2021`` -> ``2021-01``,
``UN UNK 2021`` -> ``2021``), never imputed. A date that does not exist
(``31 FEB 2021``) or cannot be read is invalid: blank in SDTM, and a finding.
Already-ISO text (``2020-08-03``, ``2020-08``, ``2020``) is accepted as is.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
UNKNOWN = {"UN", "UK", "UNK", "UNKN", "XX", "XXX", "XXXX", "--", "NK"}
_EDC = re.compile(r"^(\w{1,4})[ \-/]+(\w{2,4})[ \-/]+(\w{2,4})$")
_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
MIN_YEAR, MAX_YEAR = 1900, 2100

#: statuses
OK, PARTIAL, INVALID, BLANK = "", "partial", "invalid", "blank"


def parse_edc_date(text: str) -> tuple[str, str]:
    """One EDC date -> (ISO 8601 text, status). Status is '', 'partial', 'invalid' or 'blank'."""
    value = " ".join(str(text).split()).upper()
    if not value:
        return "", BLANK
    iso = _ISO.match(value)
    if iso:
        year, month, day = iso.groups()
        return _build(year, month, day)
    m = _EDC.match(value)
    if not m:
        return "", INVALID
    day, month, year = m.groups()
    if year in UNKNOWN:
        return ("", BLANK) if day in UNKNOWN and month in UNKNOWN else ("", INVALID)
    if not year.isdigit() or len(year) != 4:
        return "", INVALID
    if month in UNKNOWN:
        if day not in UNKNOWN and not day.isdigit():
            return "", INVALID
        return _build(year, None, None)
    if month not in MONTHS:
        return "", INVALID
    if day in UNKNOWN:
        return _build(year, f"{MONTHS[month]:02d}", None)
    if not day.isdigit():
        return "", INVALID
    return _build(year, f"{MONTHS[month]:02d}", f"{int(day):02d}")


#: ``parse_edc_date`` remembering its answers: the same date texts come back in many columns and domains
parse_edc_date_cached = lru_cache(maxsize=1 << 17, typed=True)(parse_edc_date)


def _build(year: str, month: str | None, day: str | None) -> tuple[str, str]:
    y = int(year)
    if not MIN_YEAR <= y <= MAX_YEAR:
        return "", INVALID
    if month is None:
        return f"{y:04d}", PARTIAL
    mo = int(month)
    if not 1 <= mo <= 12:
        return "", INVALID
    if day is None:
        return f"{y:04d}-{mo:02d}", PARTIAL
    try:
        date(y, mo, int(day))
    except ValueError:
        return "", INVALID
    return f"{y:04d}-{mo:02d}-{int(day):02d}", OK


def compute_iso8601(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised ``parse_edc_date``: (ISO text, status), aligned to ``values``.

    Each distinct text is parsed once (dates repeat a lot), so 300k rows take milliseconds.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = [parse_edc_date_cached(str(u)) for u in uniques] + [("", BLANK)]  # the last one: missing values
    iso = np.array([p[0] for p in parsed], dtype=object)[codes]
    status = np.array([p[1] for p in parsed], dtype=object)[codes]
    return (pd.Series(iso, index=values.index, dtype=object, name=values.name),
            pd.Series(status, index=values.index, dtype=object, name=values.name))


def iso_to_date(iso: pd.Series) -> pd.Series:
    """Complete ISO dates to datetime64; partial or blank -> NaT.

    Each distinct text is converted once (dates repeat a lot), then spread back over the rows.
    """
    codes, uniques = pd.factorize(iso, use_na_sentinel=True)
    texts = pd.Series(uniques, dtype=object)
    full = texts.where(texts.str.len() == 10) if len(texts) else texts
    parsed = pd.to_datetime(full, format="%Y-%m-%d", errors="coerce").to_numpy(dtype="datetime64[ns]")
    values = np.append(parsed, np.datetime64("NaT", "ns"))[codes]
    return pd.Series(values, index=iso.index, dtype="datetime64[ns]", name=iso.name)
