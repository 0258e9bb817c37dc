"""Spec layer: SDTM mapping specs (``specs/sdtm/forms.yaml`` and ``specs/sdtm/<DOMAIN>.yaml``).

``forms.yaml`` declares the raw forms: file name, the columns after the
leading ones, and the keys of a record. A domain spec declares where its
records come from (``sources``: forms stacked, other forms merged on keys (``by``),
an optional filter) and, per variable, its metadata and exactly one rule:
``source: <form>.<FIELD>``, ``assign: <constant>`` or ``derive: {name, args}``.
A stacked source may override rules for its own rows (``values``).

Trial design domains (TA, TE, TS) give their ``records`` literally.

Resolution checks every reference (forms, fields, codelists, derivations)
and reports all problems at once, each with file:line and key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from tlfgen.errors import ErrorList, Location, SpecError
from tlfgen.registry import get_derivation
from tlfgen.spec.base import SpecSource, StrictModel, closest, load_yaml, validate_model
from tlfgen.spec.ct import Codelist
from tlfgen.spec.expr import Expression, parse_expression
from tlfgen.spec.study import ResolvedStudy

FORMS_FILE = "forms.yaml"
NAME = r"^[A-Z][A-Z0-9_]{0,7}$"
Scalar = str | int | float


# ---------------------------------------------------------------- raw forms


class FormSpec(StrictModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    file: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.csv$")
    label: str
    columns: list[str] = Field(min_length=1)
    keys: list[str] = Field(default_factory=lambda: ["SUBJID", "FOLDER", "RECPOS"])


class FormsFile(StrictModel):
    leading: list[str] = Field(default_factory=lambda: ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"])
    subject_forms: list[str] = Field(default_factory=lambda: ["dm", "ic"])
    forms: list[FormSpec] = Field(min_length=1)


# ---------------------------------------------------------------- domains


class DeriveSpec(StrictModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class RuleSpec(StrictModel):
    """How one value is obtained. ``format`` converts raw text (EDC dates, numbers)."""

    source: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.[A-Z][A-Z0-9_]*$")
    assign: Scalar | None = None
    derive: DeriveSpec | None = None
    format: Literal["edc_date", "number", "upper"] | None = None
    codelist: str | None = None
    unit: str | None = None  # a number's expected unit (stripped with a finding)

    @model_validator(mode="after")
    def _one_rule(self) -> "RuleSpec":
        given = [k for k in ("source", "assign", "derive") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of source, assign, derive" + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class VariableSpec(RuleSpec):
    name: str = Field(pattern=NAME)
    label: str = Field(max_length=40)
    type: Literal["text", "integer", "float"] = "text"
    length: int | Literal["auto"] = "auto"
    role: Literal["Identifier", "Topic", "Timing", "Grouping Qualifier", "Result Qualifier",
                  "Synonym Qualifier", "Record Qualifier", "Variable Qualifier", "Rule"] = "Record Qualifier"
    origin: Literal["Collected", "Derived", "Assigned", "Protocol"] = "Collected"
    required: bool = False
    comment: str | None = None


class SuppSpec(RuleSpec):
    qnam: str = Field(pattern=NAME)
    qlabel: str = Field(max_length=40)
    qorig: Literal["CRF", "Derived", "Assigned", "Collected"] = "CRF"
    qeval: str = ""


class OverrideSpec(StrictModel):
    source: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.[A-Z][A-Z0-9_]*$")
    assign: Scalar | None = None
    format: Literal["edc_date", "number", "upper"] | None = None
    codelist: str | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> "OverrideSpec":
        if (self.source is None) == (self.assign is None):
            raise ValueError("give exactly one of source, assign")
        return self


class SourceSpec(StrictModel):
    form: str
    join: Literal["stack", "merge"] = "stack"
    by: list[str] = Field(default_factory=lambda: ["SUBJID"])
    filter: str | None = None
    values: dict[str, OverrideSpec] = Field(default_factory=dict)


class DomainSpec(StrictModel):
    domain: str = Field(pattern=r"^[A-Z]{2}$")
    label: str = Field(max_length=40)
    class_: str = Field(alias="class")
    structure: str
    keys: list[str] = Field(min_length=1)
    sources: list[SourceSpec] = Field(default_factory=list)
    distinct: list[str] = Field(default_factory=list)
    order: list[str] = Field(default_factory=list)  # which record ``distinct`` keeps (first; blanks last)
    variables: list[VariableSpec] = Field(min_length=1)
    supp: list[SuppSpec] = Field(default_factory=list)
    records: list[dict[str, Scalar]] = Field(default_factory=list)
    comment: str | None = None


# ---------------------------------------------------------------- resolved


@dataclass(frozen=True)
class ResolvedDomain:
    spec: DomainSpec
    source: SpecSource
    filters: dict[int, Expression] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.domain

    @property
    def display(self) -> str:
        return self.source.display

    def line(self, *key_path: str | int) -> int:
        return self.source.line(key_path)


@dataclass(frozen=True)
class SdtmSpecs:
    forms: dict[str, FormSpec]
    leading: tuple[str, ...]
    subject_forms: tuple[str, ...]
    domains: dict[str, ResolvedDomain]
    codelists: dict[str, Codelist]
    forms_source: SpecSource | None = None

    def __len__(self) -> int:
        return len(self.domains)


def load_sdtm_specs(study: ResolvedStudy) -> SdtmSpecs:
    """Load forms.yaml and every domain spec; resolve every reference (all errors at once)."""
    from tlfgen.spec.check import load_stage_specs

    codelists = load_stage_specs(study, "ct")
    forms_path = study.specs_dir / "sdtm" / FORMS_FILE
    forms_doc = load_yaml(forms_path, root=study.root)
    forms_file = validate_model(FormsFile, forms_doc)
    forms = {f.name: f for f in forms_file.forms}
    errors = ErrorList()
    domains: dict[str, ResolvedDomain] = {}
    for path in study.spec_files("sdtm"):
        if path.name == FORMS_FILE:
            continue
        doc = load_yaml(path, root=study.root)
        spec = validate_model(DomainSpec, doc)
        where = doc.source
        if path.stem.upper() != spec.domain:
            errors.add(SpecError(f"file name {path.name} does not match domain {spec.domain}",
                                 location=where.location(("domain",)), key_path="domain"))
        if spec.domain in domains:
            errors.add(SpecError(f"domain {spec.domain} is defined twice", location=where.location(("domain",))))
            continue
        filters = _resolve_domain(spec, where, forms, forms_file.leading, codelists, errors)
        domains[spec.domain] = ResolvedDomain(spec, where, filters)
    errors.raise_if_any()
    return SdtmSpecs(forms, tuple(forms_file.leading), tuple(forms_file.subject_forms),
                     domains, codelists, forms_doc.source)


def _resolve_domain(spec: DomainSpec, where: SpecSource, forms: dict[str, FormSpec],
                    leading: list[str], codelists: dict[str, Codelist], errors: ErrorList) -> dict[int, Expression]:
    def err(message: str, path: tuple, hint: str | None = None) -> None:
        from tlfgen.spec.base import format_key_path

        errors.add(SpecError(message, location=where.location(path), key_path=format_key_path(path), hint=hint))

    filters: dict[int, Expression] = {}
    used_forms: list[str] = []
    for i, src in enumerate(spec.sources):
        if src.form not in forms:
            near = closest(src.form, forms)
            err(f"unknown form '{src.form}'", ("sources", i, "form"),
                hint=("did you mean " + " or ".join(near) + "?") if near else "forms are declared in forms.yaml")
            continue
        used_forms.append(src.form)
        if src.join == "stack" and i > 0 and spec.sources[0].join != "stack":
            err("the first source must be a stack source", ("sources", 0, "join"))
        if src.filter:
            try:
                expr = parse_expression(src.filter, location=where.location(("sources", i, "filter")))
            except SpecError as exc:
                errors.add(exc)
            else:
                cols = set(leading) | set(forms[src.form].columns)
                for col in sorted(expr.columns - cols):
                    err(f"filter uses '{col}', which is not a column of form {src.form}", ("sources", i, "filter"))
                filters[i] = expr
        for var, rule in src.values.items():
            if var not in {v.name for v in spec.variables} | {s.qnam for s in spec.supp}:
                err(f"override of unknown variable '{var}'", ("sources", i, "values", var))
            _check_rule(rule, ("sources", i, "values", var), forms, leading, codelists, err, allowed=[src.form] +
                        [s.form for s in spec.sources if s.join == "merge"])
    if not spec.sources and not spec.records:
        err("a domain needs sources (forms) or records (trial design)", ("domain",))
    names = [v.name for v in spec.variables]
    seen: set[str] = set()
    for j, var in enumerate(spec.variables):
        if var.name in seen:
            err(f"variable {var.name} is listed twice", ("variables", j, "name"))
        seen.add(var.name)
        _check_rule(var, ("variables", j), forms, leading, codelists, err, allowed=used_forms)
    for j, supp in enumerate(spec.supp):
        if supp.qnam in seen:
            err(f"supplemental qualifier {supp.qnam} has the name of a variable", ("supp", j, "qnam"))
        _check_rule(supp, ("supp", j), forms, leading, codelists, err, allowed=used_forms)
    for k, key in enumerate(spec.keys):
        if key not in names:
            err(f"key {key} is not a variable of {spec.domain}", ("keys", k))
    for k, key in enumerate(spec.order):
        if key not in names:
            err(f"order variable {key} is not a variable of {spec.domain}", ("order", k))
    for k, key in enumerate(spec.distinct):
        if key not in names:
            err(f"distinct key {key} is not a variable of {spec.domain}", ("distinct", k))
    for r, record in enumerate(spec.records):
        for key in record:
            if key not in names:
                err(f"record sets unknown variable '{key}'", ("records", r, key))
    return filters


def _check_rule(rule: Any, path: tuple, forms: dict[str, FormSpec], leading: list[str],
                codelists: dict[str, Codelist], err, allowed: list[str]) -> None:
    source = getattr(rule, "source", None)
    if source:
        form, col = source.split(".", 1)
        if form not in forms:
            err(f"unknown form '{form}' in source {source}", path + ("source",))
        elif form not in allowed:
            err(f"source {source} reads form {form}, which is not in this domain's sources", path + ("source",))
        elif col not in forms[form].columns and col not in leading:
            near = closest(col, forms[form].columns)
            err(f"form {form} has no column {col}", path + ("source",),
                hint=("did you mean " + " or ".join(near) + "?") if near else None)
    if rule.codelist and rule.codelist not in codelists:
        near = closest(rule.codelist, codelists)
        err(f"unknown codelist '{rule.codelist}'", path + ("codelist",),
            hint=("did you mean " + " or ".join(near) + "?") if near else "codelists live in specs/ct/")
    derive = getattr(rule, "derive", None)
    if derive is not None:
        try:
            found = get_derivation(derive.name)
            found.check_args(derive.args)
        except SpecError as exc:
            err(exc.message, path + ("derive",), hint=exc.hint)


def spec_location(domain: ResolvedDomain, *key_path: str | int) -> Location:
    return domain.source.location(tuple(key_path))


def domain_files(study: ResolvedStudy) -> list[Path]:
    return [p for p in study.spec_files("sdtm") if p.name != FORMS_FILE]
