"""SDTM stage: identifiers and timing derivations (USUBJID, VISIT, VISITNUM, EPOCH, --DY, --SEQ).

Each is a registered ``compute_*`` function: it takes the domain's working
frame and the mapping context and returns one Series aligned to the frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.raw.keys import USUBJID
from tlfgen.registry import derivation
from tlfgen.sdtm.context import BLOCK, ROW, MappingContext
from tlfgen.sdtm.iso8601 import iso_to_date
from tlfgen.sdtm.sorting import compute_sort_positions
from tlfgen.sdtm.values import factorize_column, spread

CTX = ("dataset", "ctx")


@derivation(requires=("SUBJID",), produces=(), context=CTX)
def compute_usubjid(dataset: pd.DataFrame, *, ctx: MappingContext) -> pd.Series:
    """USUBJID = STUDYID-SUBJID.

    That is the default pattern; forms.yaml may declare another (``identifiers: usubjid``).
    """
    if USUBJID in dataset:
        return dataset[USUBJID].astype(object)
    return (ctx.studyid + "-" + dataset["SUBJID"].astype(str)).astype(object)


@derivation(context=CTX)
def compute_studyid(dataset: pd.DataFrame, *, ctx: MappingContext) -> pd.Series:
    """STUDYID from the study spec."""
    return pd.Series(ctx.studyid, index=dataset.index, dtype=object)


def _visits(dataset: pd.DataFrame, ctx: MappingContext, part: int, no_visit: list[str] | None = None) -> pd.Series:
    """Part ``part`` (0 VISIT, 1 VISITNUM, 2 EPOCH) of each row's visit, looked up once per distinct
    FOLDER; an unknown folder is a WARNING (reported with part 0) and gives a blank; so does a
    folder in ``no_visit`` (log forms: their records belong to no visit), without a warning."""
    codes, uniques = factorize_column(dataset["FOLDER"])
    folders = ["" if u is None else str(u) for u in uniques]
    table = {f: ctx.study.visit_of(f) for f in dict.fromkeys(folders)}
    for folder in no_visit or ():
        if folder in table:
            table[folder] = ("", None, "")
    if part == 0 and any(v is None for v in table.values()):
        _report_unknown_folders(dataset, ctx)
    values = [table[f][part] if table[f] else None for f in folders]
    if part == 1:
        return spread(pd.Series(values, dtype=object).astype("float64"), codes, dataset.index, dtype="float64")
    return spread(["" if v is None else v for v in values], codes, dataset.index)


def _report_unknown_folders(dataset: pd.DataFrame, ctx: MappingContext) -> None:
    folders = dataset["FOLDER"].fillna("").astype(str)
    for folder in folders.unique():
        if ctx.study.visit_of(folder) is None:
            mask = folders == folder
            form = dataset.loc[mask, "__form"].iloc[0] if "__form" in dataset else ""
            ctx.report(mask, dataset, severity="WARNING", rule="VISIT-UNKNOWN", form=form, column="FOLDER",
                       values=folders, message="folder '{value}' is not in the study's visit schedule",
                       domain=None, action="VISIT left blank")


@derivation(requires=("FOLDER",), context=CTX)
def compute_visit(dataset: pd.DataFrame, *, ctx: MappingContext,
                 no_visit: list[str] | None = None) -> pd.Series:
    """VISIT from the raw FOLDER by the study's visit schedule (blank for the ``no_visit`` folders)."""
    return _visits(dataset, ctx, 0, no_visit)


@derivation(requires=("FOLDER",), context=CTX)
def compute_visitnum(dataset: pd.DataFrame, *, ctx: MappingContext,
                 no_visit: list[str] | None = None) -> pd.Series:
    """VISITNUM from the raw FOLDER by the study's visit schedule (blank for the ``no_visit`` folders)."""
    return _visits(dataset, ctx, 1, no_visit)


@derivation(requires=("USUBJID",), context=CTX)
def compute_epoch(dataset: pd.DataFrame, *, ctx: MappingContext, dtc: str | None = None) -> pd.Series:
    """EPOCH: from the visit schedule, or (with ``dtc``) from the date against RFSTDTC/RFENDTC.

    By date: before first dose SCREENING, up to last dose TREATMENT, after it FOLLOW-UP; a subject
    never dosed is in SCREENING throughout. A partial date (YYYY-MM, YYYY) stands for the days it
    may be: all before first dose SCREENING, all after last dose FOLLOW-UP, else TREATMENT (it
    cannot be ruled out that the record falls on treatment, as for treatment emergence). A blank
    date gives a blank EPOCH.
    """
    if dtc is None:
        return _visits(dataset, ctx, 2)
    low, high = compute_date_bounds(dataset[dtc].fillna("").astype(str))
    start = ctx.reference_dates(dataset["USUBJID"], "RFSTDTC")
    end = ctx.reference_dates(dataset["USUBJID"], "RFENDTC")
    epoch = np.select(
        [low.isna(), start.isna() | (high < start), end.notna() & (low > end)],
        ["", "SCREENING", "FOLLOW-UP"], default="TREATMENT")
    return pd.Series(epoch, index=dataset.index, dtype=object)


def compute_date_bounds(dtc: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The first and last day an ISO 8601 date (complete or partial: YYYY-MM, YYYY) may be; NaT
    for a blank or unreadable date."""
    text = dtc.str.slice(0, 10)
    full = iso_to_date(dtc)
    month = pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}-\d{2}")) + "-01", format="%Y-%m-%d", errors="coerce")
    year = pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}")) + "-01-01", format="%Y-%m-%d", errors="coerce")
    low = full.fillna(month).fillna(year)
    high = full.fillna(month + pd.offsets.MonthEnd(0)).fillna(year + pd.offsets.YearEnd(0))
    return low, high


def compute_day_number(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Study day of datetime64 dates (NaT when not complete): date - reference + 1 on or after the
    reference, date - reference before it (no day 0); NaN when either is missing."""
    diff = (dates - reference).dt.days
    day = diff.where(diff < 0, diff + 1)
    return day.astype("Float64").astype("float64")


@derivation(requires=("USUBJID", "{dtc}"), context=CTX)
def compute_study_day(dataset: pd.DataFrame, *, ctx: MappingContext, dtc: str) -> pd.Series:
    """--DY from a --DTC and DM.RFSTDTC; blank when either is partial or missing."""
    return compute_day_number(iso_to_date(dataset[dtc].fillna("").astype(str)),
                              ctx.reference_dates(dataset["USUBJID"], "RFSTDTC"))


@derivation(requires=("USUBJID", "{order}"), context=CTX)
def compute_seq(dataset: pd.DataFrame, *, ctx: MappingContext, order: list[str] | None = None) -> pd.Series:
    """--SEQ: 1..n per USUBJID in the order of ``order`` then source block and raw row (deterministic)."""
    by = ["USUBJID", *(order or [])]
    extra = [c for c in (BLOCK, ROW) if c in dataset]
    positions = compute_sort_positions(dataset[list(dict.fromkeys(by + extra))])  # only the keys are sorted
    subjects = dataset["USUBJID"].take(positions)
    seq = np.empty(len(dataset), dtype="float64")
    seq[positions] = subjects.groupby(subjects, sort=False).cumcount().to_numpy() + 1
    return pd.Series(seq, index=dataset.index)


@derivation(requires=("{var}",), context=CTX)
def compute_group_max(dataset: pd.DataFrame, *, ctx: MappingContext, var: str, by: list[str]) -> pd.Series:
    """The largest value of ``var`` within each ``by`` group (ISO text compares as dates)."""
    codes, uniques = pd.factorize(dataset[var].fillna("").astype(str), sort=True)  # codes in text order
    groups = [dataset[b].to_numpy() for b in by]
    top = pd.Series(codes, index=dataset.index).groupby(groups, sort=False, dropna=False).transform("max")
    return pd.Series(np.asarray(uniques, dtype=object)[top.to_numpy()], index=dataset.index, dtype=object)


@derivation(requires=("USUBJID", "{dtc}", "{result}"), context=CTX)
def compute_baseline_flag(dataset: pd.DataFrame, *, ctx: MappingContext, dtc: str, result: str,
                          by: list[str] | None = None) -> pd.Series:
    """--BLFL = 'Y' on the last record with a result on or before RFSTDTC, per USUBJID and ``by``."""
    when = iso_to_date(dataset[dtc].fillna("").astype(str))
    start = ctx.reference_dates(dataset["USUBJID"], "RFSTDTC")
    has = dataset[result].notna() & (dataset[result].astype(str).str.strip() != "")
    ok = has & when.notna() & start.notna() & (when <= start)
    keys = ["USUBJID", *(by or [])]
    cand = dataset.loc[ok, keys].assign(__when=when[ok], __row=dataset.loc[ok, ROW] if ROW in dataset else 0)
    last = cand.sort_values(keys + ["__when", "__row"], kind="mergesort").groupby(keys, sort=False).tail(1).index
    flag = pd.Series("", index=dataset.index, dtype=object)
    flag[last] = "Y"
    return flag
