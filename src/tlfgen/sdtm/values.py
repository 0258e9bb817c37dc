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
from tlfgen.sdtm.iso8601 import INVALID, PARTIAL, compute_iso8601
from tlfgen.spec.ct import Codelist, normalise_term

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_WITH_UNIT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([A-Za-z%/][A-Za-z0-9%/^.]*)$")
#: raw codes that mean "no number" without being an error
NOT_A_NUMBER = {"NE", "ND", "NA", "NOT EVALUABLE", "NOT DONE", "UNK"}


def compute_clean_text(values: pd.Series) -> pd.Series:
    """Raw text with runs of spaces collapsed and outer spaces removed; missing -> ''."""
    return compute_unique_map(values, lambda v: " ".join(str(v).split()), missing="")


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
    return value, stripped, invalid


def evaluate_value(frame: pd.DataFrame, rule, ctx: MappingContext, *, domain: str, var: str,
                   var_type: str = "text") -> pd.Series:
    """Value of ``var`` for every row of ``frame`` by a source/assign rule (with findings)."""
    if rule.assign is not None:
        if var_type == "text":
            return pd.Series(str(rule.assign), index=frame.index, dtype=object)
        number = float(rule.assign) if str(rule.assign).strip() != "" else np.nan
        return pd.Series(number, index=frame.index, dtype="float64")
    form, col = rule.source.split(".", 1)
    text = compute_clean_text(frame[col]) if col in frame else pd.Series("", index=frame.index)
    quiet = form in ctx.forms and col in ctx.forms[form].missing_columns
    shown = frame[col].fillna("").astype(str) if col in frame else text

    def report(mask, severity, rule_id, message, action):
        if not quiet:
            ctx.report(mask, frame, severity=severity, rule=rule_id, form=form, column=col, values=shown,
                       message=message, domain=domain, action=action)

    fmt = rule.format or ("number" if var_type in ("integer", "float") else None)
    if fmt == "edc_date":
        iso, status = compute_iso8601(text)
        report(status == INVALID, "ERROR", "DATE-INVALID", "'{value}' is not a valid date", "set to blank")
        report(status == PARTIAL, "NOTE", "DATE-PARTIAL", "'{value}' is a partial date", "kept partial")
        text = iso
    if rule.codelist:
        text, unmapped = map_codelist(text, ctx.specs.codelists[rule.codelist])
        report(unmapped, "ERROR", "CT-UNMAPPED",
               "'{value}' is not in codelist " + rule.codelist, "set to blank")
    if fmt == "upper":
        text = text.str.upper()
    if fmt == "number":
        value, stripped, invalid = compute_number(text, rule.unit)
        report(stripped, "WARNING", "NUMBER-UNIT", "'{value}' carries its unit; number kept", "unit removed")
        comma = invalid & text.str.contains(",", regex=False)
        report(comma, "ERROR", "NUMBER-COMMA", "'{value}' has a comma; decimal or thousands separator is "
               "ambiguous", "set to blank")
        report(invalid & ~comma, "ERROR", "NUMBER-INVALID", "'{value}' is not a number", "set to blank")
        if var_type == "text":
            return value.map(lambda v: "" if pd.isna(v) else format(v, ".12g")).astype(object)
        return value
    return text.astype(object)
