"""SDTM stage: record checks while mapping: required values, date plausibility, text limits.

Findings name the raw file and row of the record (its base form). Text over
200 bytes is split (SDTM convention: first 200 in the variable, the rest in
SUPP-- as VAR1, VAR2 ...); non-ASCII text is transliterated for XPT v5.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from tlfgen.sdtm.context import FORM, MappingContext
from tlfgen.sdtm.iso8601 import iso_to_date
from tlfgen.sdtm.values import compute_unique_map, factorize_column, spread
from tlfgen.spec.sdtm import ResolvedDomain

MAX_TEXT_BYTES = 200
#: C0 control characters and DEL: not text, and XML (define.xml, Dataset-JSON readers, XLSX) refuses most
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def compute_without_control(text: str) -> str:
    """Control characters replaced by spaces, runs of spaces collapsed."""
    return " ".join(_CONTROL.sub(" ", text).split())


def report_by_form(mask: pd.Series, data: pd.DataFrame, ctx: MappingContext, rd: ResolvedDomain, var: str, *,
                   values: pd.Series | None, **kwargs) -> None:
    """``ctx.report`` for a frame that stacks several forms: one call per base form, naming the
    raw column that ``var`` comes from in that form."""
    if not mask.any():
        return
    for form in sorted(data.loc[mask, FORM].unique()):
        part = mask & (data[FORM] == form)
        ctx.report(part, data, form=form, values=values, column=source_column(rd, var, form), **kwargs)


def source_column(rd: ResolvedDomain, var: str, form: str) -> str:
    """The raw column ``var`` is read from in rows of ``form`` (the variable name when derived)."""
    for src in rd.spec.sources:
        rule = src.values.get(var)
        if src.form == form and rule is not None and rule.source:
            return rule.source.split(".", 1)[1]
    for v in rd.spec.variables:
        if v.name == var and v.source:
            return v.source.split(".", 1)[1]
    return var


def _blank(series: pd.Series) -> pd.Series:
    """Missing, or text of spaces only (computed once per distinct value)."""
    if series.dtype.kind in "iufb":
        return series.isna()  # a number's text is never spaces only (no text made of every value)
    if series.dtype != object:
        return series.isna() | (series.astype(str).str.strip() == "")
    return compute_unique_map(series, lambda v: str(v).strip() == "", missing=True).astype(bool)


def check_required(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext) -> None:
    """A blank required variable is an ERROR naming the raw row (not when its column is missing)."""
    for var in rd.spec.variables:
        if not var.required:
            continue
        mask = _blank(data[var.name])
        if var.source:
            form, col = var.source.split(".", 1)
            if form in ctx.forms and col in ctx.forms[form].missing_columns:
                continue
        report_by_form(mask, data, ctx, rd, var.name, values=None, severity="ERROR", rule="REQUIRED-MISSING",
                       domain=rd.name, action="kept blank",
                       message=f"{rd.name}.{var.name} is required but blank")


def _date_vars(rd: ResolvedDomain) -> list[str]:
    names = []
    for var in rd.spec.variables:
        overrides = [s.values.get(var.name) for s in rd.spec.sources]
        if var.format == "edc_date" or any(o is not None and o.format == "edc_date" for o in overrides):
            names.append(var.name)
    return names


def compute_date_text(values: pd.Series, cutoff: pd.Timestamp) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(text, date, after cutoff) of an ISO date column, each distinct value converted once.

    Missing -> '' and NaT; a partial date is after the cutoff when its year (month) is.
    """
    codes, uniques = factorize_column(values)
    text = pd.Series(["" if u is None else str(u) for u in uniques], dtype=object)
    when = iso_to_date(text)
    after = (when > cutoff) | ((text.str.len().isin([4, 7])) & (text > cutoff.strftime("%Y-%m-%d")[: 7]))
    return (spread(text, codes, values.index), pd.Series(when.to_numpy()[codes], index=values.index),
            spread(after.fillna(False).astype(bool), codes, values.index, dtype=bool))


def check_dates(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext) -> None:
    """Dates after the cutoff (WARNING), before birth (ERROR), end before start (WARNING); all kept."""
    cutoff = pd.Timestamp(ctx.study.cutoff)
    birth = ctx.reference_dates(data["USUBJID"], "BRTHDTC") if "USUBJID" in data else None
    names = _date_vars(rd)
    dates = {}
    for name in names:
        text, when, after = dates[name] = compute_date_text(data[name], cutoff)
        report_by_form(after, data, ctx, rd, name, values=text, severity="WARNING", rule="DATE-AFTER-CUTOFF",
                       domain=rd.name, action="kept",
                       message=f"{name} {{value}} is after the data cutoff {cutoff.date()}")
        if birth is not None and not name.startswith("BRTH"):
            early = (when < birth).fillna(False)
            report_by_form(early, data, ctx, rd, name, values=text, severity="ERROR", rule="DATE-BEFORE-BIRTH",
                           domain=rd.name, action="kept",
                           message=f"{name} {{value}} is before the subject's birth date")
    for start in [n for n in names if n.endswith("STDTC")]:
        end = start[:-5] + "ENDTC"
        if end in names:
            s, e = dates[start][1], dates[end][1]
            report_by_form((e < s).fillna(False), data, ctx, rd, end, values=data[end], severity="WARNING",
                           rule="DATE-END-BEFORE-START", domain=rd.name,
                           action="kept", message=f"{end} {{value}} is before {start}")


def compute_ascii(text: str) -> str:
    """ASCII transliteration: accents dropped (é -> e), anything else -> '?'."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return plain.encode("ascii", "replace").decode("ascii")


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Split ASCII text into parts of at most ``limit`` bytes, at a space when one is near."""
    parts = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return parts


def is_plain_text(values: list) -> bool:
    """True when every value is text (a str) of ASCII without control characters, at most 200 long.

    C-level passes over the values joined by line feeds: ``check_text`` then has nothing to do for
    the column. The only control characters may be the separators, and no line may be too long.
    """
    try:
        joined = "\n".join(values)
    except TypeError:
        return False  # a value that is not text
    if not joined.isascii():
        return False
    data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    if np.count_nonzero((data < 0x20) | (data == 0x7F)) != max(len(values) - 1, 0):
        return False  # a control character inside a value
    bounds = np.concatenate([[-1], np.flatnonzero(data == 0x0A), [len(data)]])
    return int(np.diff(bounds).max()) - 1 <= MAX_TEXT_BYTES


def check_text(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext) -> dict[str, pd.Series]:
    """Replace control characters (WARNING), transliterate non-ASCII text (WARNING) and split
    text over 200 bytes (NOTE).

    Returns, per variable, the overflow parts (a list per record) to go to SUPP--.
    """
    overflow: dict[str, pd.Series] = {}
    for var in [v for v in rd.spec.variables if v.type == "text"]:
        if is_plain_text(data[var.name].tolist()):
            continue  # the common case: nothing to replace, transliterate or split
        text = data[var.name].fillna("").astype(str)
        control = compute_unique_map(text, lambda v: _CONTROL.search(v) is not None).astype(bool)
        if control.any():
            report_by_form(control, data, ctx, rd, var.name, values=text, severity="WARNING",
                           rule="TEXT-CONTROL-CHAR", domain=rd.name, action="replaced by spaces",
                           message=f"{var.name} '{{value}}' has control characters")
            text = text.where(~control, text[control].map(compute_without_control))
        non_ascii = compute_unique_map(text, lambda v: not v.isascii()).astype(bool)
        if non_ascii.any():
            report_by_form(non_ascii, data, ctx, rd, var.name, values=text, severity="WARNING", rule="TEXT-NON-ASCII",
                           domain=rd.name, action="transliterated to ASCII",
                           message=f"{var.name} '{{value}}' has non-ASCII characters")
            text = text.where(~non_ascii, text[non_ascii].map(compute_ascii))
        long = compute_unique_map(text, len).astype("int64") > MAX_TEXT_BYTES
        if long.any():
            parts = text[long].map(split_text)
            report_by_form(long, data, ctx, rd, var.name, values=text.str.len(), severity="NOTE", rule="TEXT-SPLIT",
                           domain=rd.name,
                           action=f"first 200 in {var.name}, rest in SUPP{rd.name}",
                           message=f"{var.name} is {{value}} bytes, more than 200")
            text = text.where(~long, parts.map(lambda p: p[0]))
            overflow[var.name] = parts.map(lambda p: p[1:])
        data[var.name] = text.where(data[var.name].notna(), data[var.name])
    return overflow
