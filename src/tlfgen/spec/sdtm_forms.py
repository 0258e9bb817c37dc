"""Spec layer: the raw forms of an SDTM mapping (``specs/sdtm/forms.yaml``).

Each form names its file, the columns after the leading ones and the keys of one record.
File-level defaults, which a form may override:

- ``leading``: columns every export of the form starts with (a missing one makes the file
  unusable);
- ``identifiers``: which raw columns hold the subject, site, study and visit, and the USUBJID
  pattern (``IdentifiersSpec``); the mapping reads them as ``SUBJID``, ``SITEID``, ``STUDYID``
  and ``FOLDER`` whatever the export calls them;
- ``dates``: how the form's date fields are written (``DateFormatSpec``).

The defaults are the embedded study's export (``STUDYID, SITEID, SUBJID, FOLDER, RECPOS``).
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field, model_validator

from tlfgen.errors import ErrorList, SpecError
from tlfgen.spec.base import SpecSource, StrictModel

NAME = r"^[A-Z][A-Z0-9_]{0,7}$"
COLUMN = r"^[A-Z_][A-Z0-9_]*$"  # raw column names are read upper case
#: SDTM-side names of the identifiers (the raw columns are read under these names too)
IDENTIFIER_NAMES = ("STUDYID", "SITEID", "SUBJID", "FOLDER")
USUBJID_FIELDS = ("STUDYID", "SITEID", "SUBJID")


class IdentifiersSpec(StrictModel):
    """Which raw columns hold a record's subject, site, study and visit, and how USUBJID is built.

    The mapping reads them under their SDTM-side names (``SUBJID``, ``SITEID``, ``STUDYID``,
    ``FOLDER``) whatever the export calls them, so specs say ``by: [SUBJID]`` for any EDC.
    ``study: null``: the export has no study column; STUDYID is study.yaml's ``studyid``.
    ``usubjid``: a pattern of ``{STUDYID}``, ``{SITEID}`` and ``{SUBJID}``.
    """

    subject: str = Field(default="SUBJID", pattern=COLUMN)
    site: str | None = Field(default="SITEID", pattern=COLUMN)
    study: str | None = Field(default="STUDYID", pattern=COLUMN)
    visit: str | None = Field(default="FOLDER", pattern=COLUMN)
    usubjid: str = "{STUDYID}-{SUBJID}"

    def aliases(self) -> dict[str, str]:
        """SDTM-side name -> raw column, for the identifiers the export has."""
        pairs = {"SUBJID": self.subject, "SITEID": self.site, "STUDYID": self.study, "FOLDER": self.visit}
        return {k: v for k, v in pairs.items() if v is not None}


class DateFormatSpec(StrictModel):
    """How a raw date field is written: ``order`` of day, month and year (``auto``: the embedded
    EDC's ``03 AUG 2020`` or ISO), and ``yearcutoff``: the first year of the 100-year window a
    two-digit year falls in (SAS YEARCUTOFF=; without it a two-digit year is invalid)."""

    order: Literal["auto", "DMY", "MDY", "YMD"] = "auto"
    yearcutoff: int | None = Field(default=None, ge=1800, le=2100)


class FormSpec(StrictModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    file: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.csv$")
    label: str
    columns: list[str] = Field(min_length=1)
    keys: list[str] = Field(default_factory=lambda: ["SUBJID", "FOLDER", "RECPOS"])
    #: this form's own leading columns / identifiers / date format (default: the file-level ones)
    leading: list[str] | None = None
    identifiers: IdentifiersSpec | None = None
    dates: DateFormatSpec | None = None
    optional: bool = False  # a study may lack the file (else a missing file stops the run, exit 1)
    #: columns of amounts that cannot be below zero (a dose, a lesion diameter): a negative value
    #: is an ERROR finding and is read as missing (raw.checks.check_non_negative)
    non_negative: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _non_negative_are_columns(self) -> "FormSpec":
        unknown = [c for c in self.non_negative if c not in self.columns]
        if unknown:
            raise ValueError(f"non_negative names {', '.join(unknown)}, which is not in the form's columns")
        return self


class FormsFile(StrictModel):
    leading: list[str] = Field(default_factory=lambda: ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"])
    subject_forms: list[str] = Field(default_factory=lambda: ["dm", "ic"])
    identifiers: IdentifiersSpec = Field(default_factory=IdentifiersSpec)
    dates: DateFormatSpec = Field(default_factory=DateFormatSpec)
    forms: list[FormSpec] = Field(min_length=1)


def usubjid_fields(pattern: str) -> list[str]:
    """The ``{NAME}`` fields of a USUBJID pattern (ValueError when it is not a valid pattern)."""
    return [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]


def form_leading(forms: FormsFile, form: FormSpec) -> list[str]:
    return list(form.leading if form.leading is not None else forms.leading)


def form_identifiers(forms: FormsFile, form: FormSpec) -> IdentifiersSpec:
    return form.identifiers if form.identifiers is not None else forms.identifiers


def form_dates(forms: FormsFile, form: FormSpec) -> DateFormatSpec:
    return form.dates if form.dates is not None else forms.dates


def form_required_columns(forms: FormsFile, form: FormSpec) -> list[str]:
    """Columns the form's file must have: its leading ones and the identifier columns."""
    ids = form_identifiers(forms, form).aliases()
    return list(dict.fromkeys(form_leading(forms, form) + list(ids.values())))


def form_key_columns(forms: FormsFile, form: FormSpec) -> list[str]:
    """Columns of the form that are not fields: required ones and the identifiers' SDTM-side names."""
    return list(dict.fromkeys(form_required_columns(forms, form) + list(IDENTIFIER_NAMES)))


def form_available_columns(forms: FormsFile, form: FormSpec) -> set[str]:
    """Every column a spec may read from the form (fields, leading, identifiers by either name)."""
    ids = form_identifiers(forms, form)
    return set(form_required_columns(forms, form)) | set(form.columns) | set(ids.aliases()) | {"STUDYID"}


def check_date_options(rule):
    """``date``/``time`` describe an EDC date read from ``source`` (they imply ``format: edc_date``)."""
    if rule.date is None and rule.time is None:
        return rule
    if getattr(rule, "source", None) is None:
        raise ValueError("date and time options need a source (the raw date field)")
    if rule.format not in (None, "edc_date"):
        raise ValueError(f"date and time options read an EDC date; format {rule.format} reads something else")
    return rule


def resolve_forms(forms_file: FormsFile, where: SpecSource, errors: ErrorList) -> None:
    """Each form's keys are columns it has; each USUBJID pattern uses known identifier fields."""
    from tlfgen.spec.base import closest, format_key_path

    def err(message: str, path: tuple, hint: str | None = None) -> None:
        errors.add(SpecError(message, location=where.location(path), key_path=format_key_path(path), hint=hint))

    def check_ids(ids: IdentifiersSpec, path: tuple) -> None:
        try:
            fields = usubjid_fields(ids.usubjid)
        except ValueError as exc:
            err(f"usubjid pattern '{ids.usubjid}' is not valid ({exc})", path + ("usubjid",))
            return
        for name in fields:
            if name not in USUBJID_FIELDS or (name == "SITEID" and ids.site is None):
                err(f"usubjid pattern uses {{{name}}}", path + ("usubjid",),
                    hint="a pattern may use {STUDYID}, {SUBJID} and {SITEID} (when site names a column)")
        if "SUBJID" not in fields:
            err("usubjid pattern must contain {SUBJID}", path + ("usubjid",))

    check_ids(forms_file.identifiers, ("identifiers",))
    for i, form in enumerate(forms_file.forms):
        if form.identifiers is not None:
            check_ids(form.identifiers, ("forms", i, "identifiers"))
        available = form_available_columns(forms_file, form)
        for k, key in enumerate(form.keys):
            if key not in available:
                near = closest(key, sorted(available))
                err(f"key {key} of form {form.name} is not one of its columns", ("forms", i, "keys", k),
                    hint=("did you mean " + " or ".join(near) + "?") if near
                    else "declare it in columns, leading or identifiers")
