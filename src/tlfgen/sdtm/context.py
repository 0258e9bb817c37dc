"""SDTM stage: the mapping context shared by the engine and the derivations.

Holds the study, the resolved specs, the raw forms read, the reference dates
of DM once built, row usage for reconciliation and the findings collected.
Derivations receive it as ``ctx`` and only read from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tlfgen.results import Finding
from tlfgen.raw.keys import USUBJID
from tlfgen.raw.reader import LINE, RawForm
from tlfgen.raw.reconcile import FileUsage
from tlfgen.sdtm.iso8601 import EDC_STYLE, DateStyle, iso_to_date
from tlfgen.spec.sdtm import SdtmSpecs
from tlfgen.spec.study import ResolvedStudy

#: working-frame helper columns (never written)
FORM = "__form"  # base form of the record
ROW = "__row"  # data row number in the base form's file
BLOCK = "__block"  # index of the stacked source
REC = "__rec"  # record id before de-duplication (lineage)


#: longest value quoted inside a finding's message (the value column holds it whole)
MESSAGE_VALUE_CHARS = 200


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MESSAGE_VALUE_CHARS else text[:MESSAGE_VALUE_CHARS] + "..."


def row_col(form: str) -> str:
    """Column holding the raw row number of ``form`` (base or merged) in the working frame."""
    return f"__row@{form}"


@dataclass
class MappingContext:
    study: ResolvedStudy
    specs: SdtmSpecs
    forms: dict[str, RawForm]
    usage: dict[str, FileUsage] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: one row per USUBJID: RFSTDTC, RFENDTC, BRTHDTC (set once DM is built)
    reference: pd.DataFrame | None = None
    #: values computed once per run (e.g. parsed dates of a raw field), keyed by the computing function
    cache: dict = field(default_factory=dict)
    #: the domain being mapped (named by the findings of derivations)
    domain: str = ""

    @property
    def studyid(self) -> str:
        return self.study.studyid

    def date_style(self, form: str, declared=None) -> DateStyle:
        """How a date field of ``form`` is written: ``declared`` (a variable's ``date`` option),
        else the form's ``dates`` in forms.yaml, else the embedded EDC's style."""
        spec = declared if declared is not None else (self.specs.dates(form) if form in self.specs.forms else None)
        return EDC_STYLE if spec is None else DateStyle(spec.order, spec.yearcutoff)

    def file_of(self, form: str) -> str:
        return self.forms[form].file

    def add(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def report(self, mask: pd.Series, frame: pd.DataFrame, *, severity: str, rule: str, form: str,
               column: str | None, values: pd.Series | None, message: str, domain: str,
               action: str) -> None:
        """One finding per row of ``frame`` where ``mask``; ``message`` may use {value}."""
        if not mask.any():
            return
        file = self.file_of(form) if form in self.forms else form
        rows = self.line_numbers(form, frame.loc[mask, row_col(form)] if row_col(form) in frame
                                 else frame.loc[mask, ROW])
        if USUBJID in frame:
            subj = frame.loc[mask, USUBJID].fillna("")
        else:
            subj = frame.loc[mask, "SUBJID"] if "SUBJID" in frame else pd.Series("", index=rows.index)
            subj = subj.map(lambda s: f"{self.studyid}-{s}" if s else "")
        vals = values[mask] if values is not None else pd.Series("", index=rows.index)
        for row, s, v in zip(rows, subj, vals):
            self.findings.append(Finding(
                severity, rule, message.format(value=_short(v)), file=file,
                row=int(row) if pd.notna(row) else None, column=column,
                value=None if v is None else str(v), usubjid=s or None,
                domain=domain, action=action))

    def line_numbers(self, form: str, rows: pd.Series) -> pd.Series:
        """The file line each raw row of ``form`` starts on (header = line 1), as findings give it."""
        read = self.forms.get(form)
        if read is None or LINE not in read.data:
            return rows
        lines = pd.Series(read.data[LINE].to_numpy(), index=read.data[ROW].to_numpy())
        return rows.map(lines).fillna(rows + 1) if len(rows) else rows

    def reference_dates(self, usubjid: pd.Series, var: str) -> pd.Series:
        """A DM reference date (RFSTDTC ...) of each USUBJID as datetime64 (NaT when partial, blank,
        unknown or before DM is built), each subject's date converted once, not once per record."""
        if self.reference is None or var not in self.reference:
            return pd.Series(pd.NaT, index=usubjid.index, dtype="datetime64[ns]")
        key = ("reference_dates", var)
        cached = self.cache.get(key)
        if cached is None or cached[0] is not self.reference:  # converted again when DM is rebuilt
            dates = iso_to_date(self.reference[var].fillna("").astype(str))
            cached = self.cache[key] = (self.reference, pd.Series(dates.to_numpy(), index=self.reference["USUBJID"]))
        return usubjid.map(cached[1])
