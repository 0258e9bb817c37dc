"""SDTM stage: ISO 8601 dates (and date-times) from the date text EDC systems export.

One parser for every style, chosen per variable or per form (``DateStyle``):

- ``auto`` (the default, the embedded study's EDC): ``03 AUG 2020``, ``3-Aug-2020``, or ISO
  ``2020-08-03``; the month is a name;
- ``DMY``: day, month, year: ``15-Sep-20``, ``15/09/2020``, ``15.09.2020``;
- ``MDY``: month, day, year: ``09/15/2020``, ``Sep 15 2020``;
- ``YMD``: year, month, day: ``2020-09-15``, ``2020/9/15``, ``2020 SEP 15``.

With an explicit order the month may be a number or a name. Separators are spaces, ``-``, ``/``
or ``.``. Unknown parts are ``UN``/``UK``/``UNK``/``UNKN``/``XX``/``NK``/``--``: partial dates stay
partial (``UN JAN 2021`` -> ``2021-01``, ``UN UNK 2021`` -> ``2021``), never imputed. A two-digit
year needs a declared ``yearcutoff`` (SAS's YEARCUTOFF= option: the first year of the 100-year
window, so with 1950 ``49`` is 2049 and ``50`` is 1950); without one it is invalid. A date that
does not exist (``31 FEB 2021``), or cannot be read, is invalid: blank in SDTM, and a finding.
ISO text (``2020-08-03``, ``2020-08``, ``2020``) is accepted in every style.

Times (``14:30``, ``9:05:30``, ``14:UN``) are parsed by ``parse_time`` and joined to a complete
date as ``2020-09-15T14:30`` (``join_date_time``); next to a partial date the time is dropped, with
a finding (this toolkit's convention: no time without a complete date, so no ``2020-09--T14:30``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
UNKNOWN = {"UN", "UK", "UNK", "UNKN", "XX", "XXX", "XXXX", "--", "NK"}
_EDC = re.compile(r"^(\w{1,4})[ \-/]+(\w{2,4})[ \-/]+(\w{2,4})$")
_SEP = r"(?: ?[-/.] ?| )"
_PARTS = re.compile(rf"^(\w{{1,4}}|--){_SEP}(\w{{1,4}}|--){_SEP}(\w{{1,4}}|--)$")
_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}|[A-Z]{2,4}|--)[:.](\d{2}|[A-Z]{2,4}|--)(?:[:.](\d{2}|[A-Z]{2,4}|--))?$")
MIN_YEAR, MAX_YEAR = 1900, 2100

#: statuses
OK, PARTIAL, INVALID, BLANK = "", "partial", "invalid", "blank"

Order = Literal["auto", "DMY", "MDY", "YMD"]


@dataclass(frozen=True)
class DateStyle:
    """How a raw date field is written: the order of its parts and the two-digit year window."""

    order: Order = "auto"
    yearcutoff: int | None = None


#: the embedded study's EDC (and the default of every date field)
EDC_STYLE = DateStyle()


def parse_edc_date(text: str, style: DateStyle = EDC_STYLE) -> tuple[str, str]:
    """One EDC date -> (ISO 8601 text, status). Status is '', 'partial', 'invalid' or 'blank'."""
    value = " ".join(str(text).split()).upper()
    if not value:
        return "", BLANK
    iso = _ISO.match(value)
    if iso:
        year, month, day = iso.groups()
        return _build(year, month, day)
    if style.order == "auto":
        m = _EDC.match(value)
        if not m:
            return "", INVALID
        day, month, year = m.groups()
        return _from_parts(day, month, year, style, month_names_only=True)
    m = _PARTS.match(value)
    if not m:
        return "", INVALID
    a, b, c = m.groups()
    day, month, year = {"DMY": (a, b, c), "MDY": (b, a, c), "YMD": (c, b, a)}[style.order]
    return _from_parts(day, month, year, style, month_names_only=False)


def _from_parts(day: str, month: str, year: str, style: DateStyle, *, month_names_only: bool) -> tuple[str, str]:
    if year in UNKNOWN:
        return ("", BLANK) if day in UNKNOWN and month in UNKNOWN else ("", INVALID)
    year = _full_year(year, style.yearcutoff)
    if year is None:
        return "", INVALID
    if month in UNKNOWN:
        if day not in UNKNOWN and not day.isdigit():
            return "", INVALID
        return _build(year, None, None)
    number = _month_number(month, month_names_only)
    if number is None:
        return "", INVALID
    if day in UNKNOWN:
        return _build(year, f"{number:02d}", None)
    if not day.isdigit() or (len(day) > 2 and not month_names_only):
        return "", INVALID
    return _build(year, f"{number:02d}", f"{int(day):02d}")


def _full_year(year: str, cutoff: int | None) -> str | None:
    """Four-digit year text; a two-digit one in the 100-year window from ``cutoff`` (None: invalid)."""
    if not year.isdigit():
        return None
    if len(year) == 4:
        return year
    if len(year) != 2 or cutoff is None:
        return None
    full = cutoff - cutoff % 100 + int(year)
    return str(full if full >= cutoff else full + 100)


def _month_number(month: str, names_only: bool) -> int | None:
    if month in MONTHS:
        return MONTHS[month]
    if names_only or not month.isdigit() or len(month) > 2 or not 1 <= int(month) <= 12:
        return None
    return int(month)


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


@lru_cache(maxsize=1 << 14)
def parse_time(text: str) -> tuple[str, str]:
    """One EDC time -> (ISO 8601 time ``HH:MM[:SS]``, status). Unknown minutes keep the hour
    (``14:UN`` -> ``14``, partial); an unknown hour gives no time (partial)."""
    value = " ".join(str(text).split()).upper()
    if not value:
        return "", BLANK
    m = _TIME.match(value)
    if not m:
        return "", INVALID
    parts = [p for p in m.groups() if p is not None]
    if any(not p.isdigit() and p not in UNKNOWN for p in parts):
        return "", INVALID
    known: list[int] = []
    for part in parts:
        if part in UNKNOWN:
            break
        known.append(int(part))
    if any(p.isdigit() for p in parts[len(known):]):
        return "", INVALID  # a known part after an unknown one (UN:30)
    limits = (23, 59, 59)
    if any(v > limit for v, limit in zip(known, limits)):
        return "", INVALID
    text_out = ":".join(f"{v:02d}" for v in known)
    return text_out, OK if len(known) == len(parts) else PARTIAL


def join_date_time(date_iso: str, date_status: str, time_iso: str, time_status: str) -> tuple[str, str]:
    """ISO date-time from a parsed date and time: the time is joined only to a complete date; a
    time that is partial makes the result partial. Returns (ISO text, status of the result)."""
    if date_status != OK or not time_iso:
        return date_iso, date_status
    return f"{date_iso}T{time_iso}", time_status if time_status == PARTIAL else OK


def compute_iso8601(values: pd.Series, style: DateStyle = EDC_STYLE) -> tuple[pd.Series, pd.Series]:
    """Vectorised ``parse_edc_date``: (ISO text, status), aligned to ``values``.

    Each distinct text is parsed once (dates repeat a lot), so 300k rows take milliseconds.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = [parse_edc_date_cached(str(u), style) for u in uniques] + [("", BLANK)]  # the last: missing values
    iso = np.array([p[0] for p in parsed], dtype=object)[codes]
    status = np.array([p[1] for p in parsed], dtype=object)[codes]
    return (pd.Series(iso, index=values.index, dtype=object, name=values.name),
            pd.Series(status, index=values.index, dtype=object, name=values.name))


def iso_to_date(iso: pd.Series) -> pd.Series:
    """Complete ISO dates (or the date of a date-time) to datetime64; partial or blank -> NaT.

    Each distinct text is converted once (dates repeat a lot), then spread back over the rows.
    """
    codes, uniques = pd.factorize(iso, use_na_sentinel=True)
    texts = pd.Series(uniques, dtype=object)
    if len(texts):
        timed = texts.str.len().gt(10) & texts.str[10:11].eq("T")
        texts = texts.where(~timed, texts.str[:10])
    full = texts.where(texts.str.len() == 10) if len(texts) else texts
    parsed = pd.to_datetime(full, format="%Y-%m-%d", errors="coerce").to_numpy(dtype="datetime64[ns]")
    values = np.append(parsed, np.datetime64("NaT", "ns"))[codes]
    return pd.Series(values, index=iso.index, dtype="datetime64[ns]", name=iso.name)
