"""SDTM stage: subject-level derivations for DM (reference dates, age, arms) and AE relatedness.

Reference dates read raw forms through the context (dates converted with the
same ISO 8601 rules as everywhere; only complete dates count).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from tlfgen.registry import derivation
from tlfgen.sdtm.context import MappingContext
from tlfgen.sdtm.iso8601 import iso_to_date, parse_edc_date_cached
from tlfgen.sdtm.values import compute_clean_text, compute_clean_unique, factorize_column

CTX = ("dataset", "ctx")


def _form_dates(ctx: MappingContext, ref: str) -> pd.DataFrame:
    """SUBJID and complete ISO dates of one raw field ``form.FIELD`` (computed once per run)."""
    key = ("form_dates", ref)
    if key not in ctx.cache:
        ctx.cache[key] = _read_form_dates(ctx, ref)
    return ctx.cache[key]


def _subject_dates(ctx: MappingContext, ref: str, how: str) -> pd.Series:
    """Per SUBJID, the earliest (``min``) or latest (``max``) complete date of one raw field (once
    per run): RFPENDTC takes the latest over 14 fields, so each field is reduced to one date per
    subject before the fields are combined."""
    key = ("subject_dates", ref, how)
    if key not in ctx.cache:
        ctx.cache[key] = _form_dates(ctx, ref).groupby("SUBJID")["when"].agg(how)
    return ctx.cache[key]


def _read_form_dates(ctx: MappingContext, ref: str) -> pd.DataFrame:
    form, field = ref.split(".", 1)
    if form not in ctx.forms:
        return pd.DataFrame({"SUBJID": pd.Series(dtype=object), "when": pd.Series(dtype="datetime64[ns]")})
    data = ctx.forms[form].data
    # cleaned, parsed and converted once per distinct raw text (missing -> '' -> no date)
    codes, uniques = factorize_column(data[field])
    style = ctx.date_style(form)
    iso = [parse_edc_date_cached(compute_clean_unique(u), style)[0] for u in uniques]
    when = iso_to_date(pd.Series(iso, dtype=object)).to_numpy()[codes]
    return pd.DataFrame({"SUBJID": data["SUBJID"], "when": pd.Series(when, index=data.index)}).dropna()


def _as_iso(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%d").fillna("").astype(object)


@derivation(requires=("SUBJID",), context=CTX)
def compute_subject_date(dataset: pd.DataFrame, *, ctx: MappingContext, fields: list[str],
                         how: Literal["min", "max"] = "min") -> pd.Series:
    """Per subject, the earliest (``how: min``) or latest (``max``) complete date over raw ``fields``.

    ``fields`` are ``form.FIELD`` references, e.g. ``[ex.EXSTDAT]`` for RFSTDTC (first dose).
    """
    if how not in ("min", "max"):
        raise ValueError(f"how must be min or max, not {how}")
    per_subject = pd.concat([_subject_dates(ctx, f, how) for f in fields]).groupby(level=0).agg(how)
    return _as_iso(dataset["SUBJID"].map(per_subject).astype("datetime64[ns]"))


@derivation(requires=("{var}",), context=CTX)
def compute_flag(dataset: pd.DataFrame, *, ctx: MappingContext, var: str, value: str = "Y") -> pd.Series:
    """``value`` where ``var`` is not blank, else blank (e.g. DTHFL from DTHDTC)."""
    has = dataset[var].fillna("").astype(str).str.strip() != ""
    return pd.Series(np.where(has, value, ""), index=dataset.index, dtype=object)


@derivation(requires=("{birth}", "{ref}"), context=CTX)
def compute_age(dataset: pd.DataFrame, *, ctx: MappingContext, birth: str, ref: str) -> pd.Series:
    """Age in completed years at ``ref`` (e.g. RFICDTC); blank when either date is not complete."""
    b = iso_to_date(dataset[birth].fillna("").astype(str))
    r = iso_to_date(dataset[ref].fillna("").astype(str))
    years = r.dt.year - b.dt.year
    before_birthday = (r.dt.month < b.dt.month) | ((r.dt.month == b.dt.month) & (r.dt.day < b.dt.day))
    return (years - before_birthday.astype(int)).astype("float64")


@derivation(requires=("{armcd}",), context=CTX)
def compute_arm(dataset: pd.DataFrame, *, ctx: MappingContext, armcd: str) -> pd.Series:
    """ARM (or ACTARM) description of an arm code from the study spec."""
    names = {a.armcd: a.arm for a in ctx.study.spec.study.arms}
    names.update({"NOTTRT": "Not Treated", "SCRNFAIL": "Screen Failure", "NOTASSGN": "Not Assigned"})
    return dataset[armcd].fillna("").astype(str).map(names).fillna("").astype(object)


@derivation(requires=("SUBJID", "{armcd}"), context=CTX)
def compute_actual_armcd(dataset: pd.DataFrame, *, ctx: MappingContext, armcd: str,
                         form: str = "ex", dose: str = "EXDOSE") -> pd.Series:
    """ACTARMCD: the planned arm when the subject has a dose record with a dose > 0, else NOTTRT."""
    treated: set[str] = set()
    if form in ctx.forms:
        data = ctx.forms[form].data
        codes, uniques = factorize_column(data[dose])  # each distinct dose text converted once
        dose_value = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy()[codes]
        treated = set(data.loc[dose_value > 0, "SUBJID"])
    planned = dataset[armcd].fillna("").astype(str)
    return pd.Series(np.where(dataset["SUBJID"].isin(treated), planned, "NOTTRT"), index=dataset.index,
                     dtype=object).where(planned != "", "")


@derivation(requires=("{fields}",), context=CTX)
def compute_any_related(dataset: pd.DataFrame, *, ctx: MappingContext, fields: list[str],
                        related: str = "RELATED", not_related: str = "NOT RELATED") -> pd.Series:
    """AEREL: ``related`` if any drug's relationship is related, ``not_related`` if any is assessed, else blank.

    ``fields`` are raw columns (AERELCAM ...) holding Related / Not related / Not applicable.
    """
    norm = {f: compute_clean_text(dataset[f]).str.upper() for f in fields}
    any_rel = np.logical_or.reduce([norm[f] == "RELATED" for f in fields])
    any_not = np.logical_or.reduce([norm[f].isin(["NOT RELATED", "UNRELATED"]) for f in fields])
    return pd.Series(np.select([any_rel, any_not], [related, not_related], default=""),
                     index=dataset.index, dtype=object)


@derivation(requires=("{var}",), context=CTX)
def compute_to_number(dataset: pd.DataFrame, *, ctx: MappingContext, var: str) -> pd.Series:
    """A numeric result (--STRESN) from a character one; non-numeric text gives blank."""
    return pd.to_numeric(dataset[var].fillna("").astype(str), errors="coerce").astype("float64")


@derivation(requires=("{var}",), context=CTX)
def compute_copy(dataset: pd.DataFrame, *, ctx: MappingContext, var: str) -> pd.Series:
    """The value of another variable (e.g. --STRESC from --ORRES when no standardisation applies)."""
    return dataset[var].copy()
