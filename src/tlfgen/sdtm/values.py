"""SDTM stage: the value of one variable for the rows of one source block.

A rule is ``source`` (a raw field) or ``assign`` (a constant); raw text is
cleaned (stray spaces), then converted by ``format`` (EDC date -> ISO 8601,
number, upper case) and mapped through its codelist. Every problem is a
finding naming file, row, column and value; the value is then blank, never
guessed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tlfgen.sdtm.context import MappingContext
from tlfgen.sdtm.iso8601 import INVALID, PARTIAL, DateStyle, join_date_time, parse_edc_date_cached, parse_time
from tlfgen.spec.ct import Codelist, normalise_term

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_WITH_UNIT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([A-Za-z%/][A-Za-z0-9%/^.]*)$")
#: text a number conversion would read as infinity, NaN or a number in E-notation
_FLOAT_TEXT = re.compile(r"^[+-]?(inf|infinity|nan|(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?)$", re.IGNORECASE)
#: the magnitudes an XPT (IBM 370) double holds: 16**-65 up to (1 - 16**-14) * 16**63
XPT_SMALLEST, XPT_LARGEST = 16.0 ** -65, (1 - 16.0 ** -14) * 16.0 ** 63
#: raw codes that mean "no number" without being an error
NOT_A_NUMBER = {"NE", "ND", "NA", "NOT EVALUABLE", "NOT DONE", "UNK"}


def compute_clean_text(values: pd.Series) -> pd.Series:
    """Raw text with runs of spaces collapsed and outer spaces removed; missing -> ''."""
    return compute_unique_map(values, compute_clean_unique, missing="")


def compute_unique_map(values: pd.Series, func, missing=None) -> pd.Series:
    """``values.map(func)`` computed once per distinct value (raw columns repeat a lot).

    With ``missing`` given, a missing value (None, NaN) maps to it instead of through ``func``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=missing is not None)
    mapped = np.array([func(u) for u in uniques] + ([missing] if missing is not None else []), dtype=object)
    return pd.Series(mapped[codes] if len(codes) else np.array([], dtype=object), index=values.index, dtype=object)


def map_codelist(text: pd.Series, codelist: Codelist) -> tuple[pd.Series, pd.Series]:
    """(submission values, unmapped mask). Blank stays blank and is not 'unmapped'."""
    uniques = text.unique()
    table = {u: codelist.lookup.get(normalise_term(u), None) if u else "" for u in uniques}
    mapped = text.map(table)
    unmapped = mapped.isna()
    return mapped.fillna(""), unmapped


def compute_unstorable_number(text: str) -> bool:
    """True for text that reads as a number XPT cannot hold: infinity, NaN, or a magnitude over
    ``XPT_LARGEST`` or (not zero) under ``XPT_SMALLEST`` (``1e308``, ``-inf``, ``nan``)."""
    if not text or _FLOAT_TEXT.match(text) is None:
        return False
    value = abs(float(text))
    return not np.isfinite(value) or value > XPT_LARGEST or 0 < value < XPT_SMALLEST


def compute_number(text: pd.Series, unit: str | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(float values, unit-stripped mask, invalid mask). Commas and foreign units are invalid."""
    value = pd.Series(np.nan, index=text.index, dtype="float64")
    plain = text.str.match(_NUMBER)
    value[plain] = pd.to_numeric(text[plain], errors="coerce")
    blank = (text == "") | text.str.upper().isin(NOT_A_NUMBER)
    rest = ~plain & ~blank
    stripped = pd.Series(False, index=text.index)
    if rest.any() and unit:
        parts = text[rest].str.extract(_WITH_UNIT)
        ok = parts[1].str.lower() == unit.lower()
        ok = ok.fillna(False).astype(bool)
        idx = ok[ok].index
        value[idx] = pd.to_numeric(parts.loc[idx, 0], errors="coerce")
        stripped[idx] = True
    invalid = rest & ~stripped
    unstorable = value.abs().gt(XPT_LARGEST) | (value.abs().lt(XPT_SMALLEST) & value.ne(0))
    if unstorable.any():
        value[unstorable] = np.nan
        invalid = invalid | unstorable
    return value, stripped, invalid


def factorize_column(values: pd.Series) -> tuple[np.ndarray, list]:
    """(codes, distinct values): row ``i`` holds ``uniques[codes[i]]``; missing values (None, NaN)
    share the last position, which holds None (present even when nothing is missing)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes, [*uniques.tolist(), None]


def spread(per_unique, codes: np.ndarray, index: pd.Index, dtype=object) -> pd.Series:
    """Per-row values from per-distinct-value ones (``codes`` as from ``factorize_column``)."""
    return pd.Series(np.asarray(per_unique, dtype=dtype)[codes], index=index, dtype=dtype)


def compute_clean_unique(value) -> str:
    """``compute_clean_text`` of one value: spaces collapsed and stripped; missing (None) -> ''."""
    return "" if value is None else " ".join(str(value).split())


def evaluate_value(frame: pd.DataFrame, rule, ctx: MappingContext, *, domain: str, var: str,
                   var_type: str = "text") -> pd.Series:
    """Value of ``var`` for every row of ``frame`` by a source/assign rule (with findings).

    Raw columns repeat a lot: every step (cleaning, dates, codelist, case, numbers) runs once per
    distinct raw value, and the rows take their value at the end.
    """
    if rule.assign is not None:
        if var_type == "text":
            return pd.Series(str(rule.assign), index=frame.index, dtype=object)
        number = float(rule.assign) if str(rule.assign).strip() != "" else np.nan
        return pd.Series(number, index=frame.index, dtype="float64")
    form, col = rule.source.split(".", 1)
    raw = frame[col] if col in frame else pd.Series("", index=frame.index, dtype=object)
    codes, uniques = factorize_column(raw)
    text = [compute_clean_unique(v) for v in uniques]
    quiet = form in ctx.forms and col in ctx.forms[form].missing_columns

    def report(flags, severity, rule_id, message, action):
        if quiet or not any(flags):
            return
        mask = spread(flags, codes, frame.index, dtype=bool)
        ctx.report(mask, frame, severity=severity, rule=rule_id, form=form, column=col,
                   values=raw.fillna("").astype(str), message=message, domain=domain, action=action)

    dated = getattr(rule, "date", None) is not None or getattr(rule, "time", None) is not None
    fmt = rule.format or ("edc_date" if dated else "number" if var_type in ("integer", "float") else None)
    if fmt == "edc_date":
        style = ctx.date_style(form, getattr(rule, "date", None))
        parsed = [parse_edc_date_cached(t, style) for t in text]
        report([p[1] == INVALID for p in parsed], "ERROR", "DATE-INVALID", "'{value}' is not a valid date"
               + _style_hint(style), "set to blank")
        report([p[1] == PARTIAL for p in parsed], "NOTE", "DATE-PARTIAL", "'{value}' is a partial date",
               "kept partial")
        if getattr(rule, "time", None):
            return compute_date_time(frame, rule.time, parsed, codes, ctx, domain=domain,
                                     quiet=quiet)
        text = [p[0] for p in parsed]
    if fmt != "number" and not rule.codelist:  # numbers are checked by compute_number
        unstorable = [compute_unstorable_number(t) for t in text]
        report(unstorable, "ERROR", "NUMBER-RANGE", "'{value}' reads as a number outside what SAS XPT "
               "holds (infinity, NaN, or a magnitude over 7.2E+75 or under 5.4E-79)", "set to blank")
        text = ["" if bad else t for t, bad in zip(text, unstorable)]
    if rule.codelist:
        mapped, unmapped = map_codelist(pd.Series(text, dtype=object), ctx.specs.codelists[rule.codelist])
        report(unmapped.tolist(), "ERROR", "CT-UNMAPPED",
               "'{value}' is not in codelist " + rule.codelist, "set to blank")
        text = mapped.tolist()
    if fmt == "upper":
        text = [t.upper() for t in text]
    if fmt == "number":
        numbers = pd.Series(text, dtype=object)
        value, stripped, invalid = compute_number(numbers, rule.unit)
        report(stripped.tolist(), "WARNING", "NUMBER-UNIT", "'{value}' carries its unit; number kept",
               "unit removed")
        comma = invalid & numbers.str.contains(",", regex=False)
        report(comma.tolist(), "ERROR", "NUMBER-COMMA", "'{value}' has a comma; decimal or thousands separator "
               "is ambiguous", "set to blank")
        report((invalid & ~comma).tolist(), "ERROR", "NUMBER-INVALID", "'{value}' is not a number", "set to blank")
        if var_type == "text":
            return spread([("" if pd.isna(v) else format(v, ".12g")) for v in value.tolist()], codes, frame.index)
        return spread(value.to_numpy(), codes, frame.index, dtype="float64")
    return spread(text, codes, frame.index)


def _style_hint(style: DateStyle) -> str:
    if style.order == "auto":
        return ""
    return f" ({style.order}" + (f", two-digit years from {style.yearcutoff}" if style.yearcutoff else
                                 ", four-digit years") + ")"


def compute_date_time(frame: pd.DataFrame, time: str, parsed: list[tuple[str, str]], codes: np.ndarray,
                      ctx: MappingContext, *, domain: str, quiet: bool = False) -> pd.Series:
    """ISO date-times: each row's parsed date (``parsed[codes]``) joined with its raw ``time``
    field (``form.FIELD``). An invalid time is an ERROR (the date is kept alone); a time next to
    a partial date is dropped with a NOTE (no time without a complete date)."""
    form, col = time.split(".", 1)
    raw = frame[col] if col in frame else frame.get(f"{col}@{form}", pd.Series("", index=frame.index, dtype=object))
    tcodes, tuniques = factorize_column(raw)
    times = [parse_time(compute_clean_unique(u)) for u in tuniques]
    pairs, first = np.unique(codes * len(times) + tcodes, return_inverse=True)
    joined = [join_date_time(*parsed[p // len(times)], *times[p % len(times)]) for p in pairs.tolist()]
    out = np.array([j[0] for j in joined], dtype=object)[first] if len(joined) else np.array([], dtype=object)
    date_status = np.array([p[1] for p in parsed], dtype=object)[codes]
    time_iso = np.array([t[0] for t in times], dtype=object)[tcodes]
    time_status = np.array([t[1] for t in times], dtype=object)[tcodes]
    if not quiet:
        values = raw.fillna("").astype(str)
        invalid = pd.Series(time_status == INVALID, index=frame.index)
        ctx.report(invalid, frame, severity="ERROR", rule="TIME-INVALID", form=form, column=col, values=values,
                   message="'{value}' is not a valid time (HH:MM or HH:MM:SS)", domain=domain,
                   action="date kept without the time")
        dropped = pd.Series((date_status == PARTIAL) & (time_iso != ""), index=frame.index)
        ctx.report(dropped, frame, severity="NOTE", rule="TIME-DROPPED", form=form, column=col, values=values,
                   message="time '{value}' of a partial date is not kept", domain=domain,
                   action="partial date kept without the time")
    return pd.Series(out, index=frame.index, dtype=object)
