"""Raw stage: record-level checks run before mapping (unknown subjects, duplicates).

Each check returns findings and rejects the offending rows from the form, so
the reconciliation counts them as rejected with the check's reason.
Value-level checks (dates, codelists, numbers) run while mapping (``tlfgen.sdtm``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.results import Finding
from tlfgen.raw.keys import usubjids
from tlfgen.raw.reader import LINE, RawForm


def known_subjects(forms: dict[str, RawForm], subject_forms: tuple[str, ...]) -> set[str]:
    """SUBJIDs that appear on a subject-level form (demographics, consent)."""
    known: set[str] = set()
    for name in subject_forms:
        if name in forms:
            known.update(s for s in forms[name].data["SUBJID"].tolist() if s)
    return known


def check_unknown_subjects(form: RawForm, known: set[str], studyid: str, *, column: str = "SUBJID",
                           subject_files: tuple[str, ...] = ("dm.csv", "ic.csv")) -> list[Finding]:
    """Reject rows whose subject (raw ``column``, read as SUBJID) is blank or on no subject-level form."""
    data = form.data
    bad = ~data["SUBJID"].isin(known)
    where = " or ".join(subject_files) or "no subject-level form (forms.yaml subject_forms)"
    findings = [
        Finding("ERROR", "RAW-UNKNOWN-SUBJECT",
                f"{column} '{subj}' is not on {where}" if subj else f"{column} is blank",
                file=form.file, row=int(row), column=column, value=subj, usubjid=usubjid, action="rejected")
        for subj, row, usubjid in zip(data.loc[bad, "SUBJID"], data.loc[bad, LINE], usubjids(data, bad, studyid))
    ]
    form.reject(bad, "unknown subject")
    return findings


def check_duplicates(form: RawForm, keys: list[str], fields: list[str], studyid: str) -> list[Finding]:
    """Reject exact duplicate records (same values apart from RECPOS), then duplicate keys (first kept)."""
    findings: list[Finding] = []
    data = form.data
    content = [c for c in fields if c != "RECPOS"]
    # a row repeating another in every field but RECPOS, or in its key, repeats it in these key
    # fields too: only the few rows that do are compared on every field (hashing all is costly)
    within = [k for k in keys if k in content]
    candidates = (data.duplicated(subset=within, keep=False) if within and len(data)
                  else pd.Series(True, index=data.index)).to_numpy()
    if len(data) and content:
        dup = find_duplicates(data, content, candidates)
        if dup.any():
            first = data.groupby(content, sort=False, dropna=False)[LINE].transform("first")
            for row, original, usubjid in zip(data.loc[dup, LINE], first[dup], usubjids(data, dup, studyid)):
                findings.append(Finding(
                    "WARNING", "RAW-DUPLICATE-RECORD",
                    f"line {row} repeats line {original} (same values in every field but RECPOS)",
                    file=form.file, row=int(row), usubjid=usubjid,
                    action="rejected (duplicate)"))
            form.reject(dup, "duplicate record")
            candidates = candidates[~dup.to_numpy()]
    data = form.data
    if len(data) and keys:
        dup = find_duplicates(data, keys, candidates)
        if dup.any():
            for (_, rec), usubjid in zip(data.loc[dup].iterrows(), usubjids(data, dup, studyid)):
                key = ", ".join(f"{k}={rec[k]}" for k in keys)
                findings.append(Finding(
                    "ERROR", "RAW-DUPLICATE-KEY", f"key ({key}) is already used by an earlier row",
                    file=form.file, row=int(rec[LINE]), column=",".join(keys),
                    usubjid=usubjid, action="rejected (first row kept)"))
            form.reject(dup, "duplicate key")
    return findings


def find_duplicates(data: pd.DataFrame, subset: list[str], candidates: np.ndarray) -> pd.Series:
    """``data.duplicated(subset, keep="first")``, comparing only the ``candidates`` rows (a boolean
    array: every row that repeats an earlier one on ``subset`` must be among them)."""
    dup = np.zeros(len(data), dtype=bool)
    if candidates.all():
        dup = data.duplicated(subset=subset, keep="first").to_numpy()
    elif candidates.any():
        dup[candidates] = data.loc[candidates].duplicated(subset=subset, keep="first").to_numpy()
    return pd.Series(dup, index=data.index)


def check_studyid(form: RawForm, studyid: str, column: str | None = "STUDYID") -> list[Finding]:
    """A study id (raw ``column``, read as STUDYID) other than the study's is a WARNING (the study's
    id is used). No column (``None``): nothing to check, STUDYID is the study's."""
    data = form.data
    if column is None or "STUDYID" not in data:
        return []
    values = data["STUDYID"]
    other = values[values.to_numpy() != studyid.upper()]  # an exact match is fine: only the rest is cleaned
    bad = (other.str.strip().str.upper() != studyid.upper()).reindex(values.index, fill_value=False).astype(bool)
    if not bad.any():
        return []
    rows = data.loc[bad, LINE]
    values = data.loc[bad, "STUDYID"]
    return [Finding("WARNING", "RAW-STUDYID", f"{column} '{value}' is not {studyid}", file=form.file,
                    row=int(row), column=column, value=value, action=f"set to {studyid}")
            for value, row in zip(values.head(20), rows.head(20))]


def check_non_negative(form: RawForm, columns: list[str], studyid: str) -> list[Finding]:
    """A number below zero in a column of amounts (``non_negative`` in forms.yaml: a dose, a
    diameter) is an ERROR; the value is read as missing, so it never enters a sum or a derivation."""
    findings: list[Finding] = []
    data = form.data
    for column in [c for c in columns if c in data]:
        numbers = pd.to_numeric(data[column].str.strip(), errors="coerce")
        bad = (numbers < 0).fillna(False).astype(bool)
        if not bad.any():
            continue
        for value, row, usubjid in zip(data.loc[bad, column], data.loc[bad, LINE], usubjids(data, bad, studyid)):
            findings.append(Finding(
                "ERROR", "RAW-NEGATIVE", f"{column} '{value.strip()}' is below zero, which an amount cannot be",
                file=form.file, row=int(row), column=column, value=value, usubjid=usubjid, action="set to missing"))
        data.loc[bad, column] = ""
    return findings


def blank_mask(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype(str).str.strip() == "")
