"""Spec layer: SDTM mapping specs (``specs/sdtm/forms.yaml`` and ``specs/sdtm/<DOMAIN>.yaml``).

``forms.yaml`` declares the raw forms: file name, the columns after the
leading ones, and the keys of a record. A domain spec declares where its
records come from (``sources``: forms stacked, other forms merged on keys (``by``),
an optional filter) and, per variable, its metadata and exactly one rule:
``source: <form>.<FIELD>``, ``assign: <constant>`` or ``derive: {name, args}``.
A stacked source may override rules for its own rows (``values``). A variable may
name a coding ``dictionary`` (a CSV under ``specs/``, e.g. the AE dictionary) whose
column its values must be in; with ``match`` the value must be the dictionary's
entry for another variable's coded value (the SOC of the PT).

Trial design domains (TA, TE, TS) give their ``records`` literally.

Resolution checks every reference (forms, fields, codelists, derivations)
and reports all problems at once, each with file:line and key path.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from tlfgen.errors import ErrorList, Location, SpecError
from tlfgen.registry import get_derivation
from tlfgen.spec.base import SpecSource, StrictModel, closest, load_yaml, resolve_inside, validate_model
from tlfgen.spec.ct import Codelist, load_study_codelists, normalise_term
from tlfgen.spec.expr import Expression, parse_expression
from tlfgen.spec.sdtm_findings import check_tests, expand_tests
from tlfgen.spec.sdtm_forms import (COLUMN, DateFormatSpec, FormSpec, FormsFile, IdentifiersSpec,  # noqa: F401
                                    check_date_options, form_available_columns, form_dates, form_identifiers, form_key_columns,
                                    form_leading, form_required_columns, resolve_forms)
from tlfgen.spec.study import ResolvedStudy

FORMS_FILE = "forms.yaml"
NAME = r"^[A-Z][A-Z0-9_]{0,7}$"
SOURCE = r"^[a-z][a-z0-9_]*\.[A-Z][A-Z0-9_]*$"
Scalar = str | int | float
#: largest coding dictionary read, in bytes (a MedDRA-sized LLT list is well under it)
MAX_DICTIONARY_BYTES = 50_000_000


# ---------------------------------------------------------------- raw forms


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
    #: an EDC date: how it is written (default: the form's ``dates``), and a time field joined to it
    date: DateFormatSpec | None = None
    time: str | None = Field(default=None, pattern=SOURCE)

    @model_validator(mode="after")
    def _dates(self) -> "RuleSpec":
        return check_date_options(self)

    @model_validator(mode="after")
    def _one_rule(self) -> "RuleSpec":
        given = [k for k in ("source", "assign", "derive") if getattr(self, k) is not None]
        if len(given) > 1 or (not given and not self._may_have_no_rule()):
            raise ValueError(
                "give exactly one of source, assign, derive" + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    def _may_have_no_rule(self) -> bool:
        return False

    @property
    def has_rule(self) -> bool:
        return self.source is not None or self.assign is not None or self.derive is not None


class DictionarySpec(StrictModel):
    """Values must be in ``column`` of the CSV ``file`` (relative to ``specs/``), compared case-insensitively.

    With ``match``: the value must be the ``column`` entry of the dictionary row whose key (the
    column of the ``match`` variable's own dictionary) is that variable's value.
    """

    file: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*\.csv$")
    column: str = Field(min_length=1)
    match: str | None = Field(default=None, pattern=NAME)


class VariableSpec(RuleSpec):
    name: str = Field(pattern=NAME)
    label: str = Field(max_length=40)
    type: Literal["text", "integer", "float"] = "text"
    length: int | Literal["auto"] = "auto"
    role: Literal["Identifier", "Topic", "Timing", "Grouping Qualifier", "Result Qualifier",
                  "Synonym Qualifier", "Record Qualifier", "Variable Qualifier", "Rule"] = "Record Qualifier"
    origin: Literal["Collected", "Derived", "Assigned", "Protocol"] = "Collected"
    required: bool = False
    dictionary: DictionarySpec | None = None
    comment: str | None = None

    def _may_have_no_rule(self) -> bool:
        return True  # set by every stacked source (values or tests), or by a design domain's records


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
    date: DateFormatSpec | None = None
    time: str | None = Field(default=None, pattern=SOURCE)

    @model_validator(mode="after")
    def _dates(self) -> "OverrideSpec":
        return check_date_options(self)

    @model_validator(mode="after")
    def _one_rule(self) -> "OverrideSpec":
        if (self.source is None) == (self.assign is None):
            raise ValueError("give exactly one of source, assign")
        return self


class TestSpec(StrictModel):
    """One test of a wide findings form: one raw row gives one record per test.

    Sets the domain's ``--TESTCD``, ``--TEST``, ``--ORRES`` (the raw ``result`` field),
    ``--ORRESU``/``--STRESU`` (``unit``, or the raw ``unit_field``), ``--STRESC`` (the result,
    through ``codelist`` if given) and ``--STRESN`` (the number, when ``numeric``), each only
    when the domain declares it; ``values`` sets more variables for this test's records.
    A row whose result is blank gives no record unless ``keep_blank``.
    """

    testcd: str = Field(pattern=NAME)
    test: str = Field(min_length=1, max_length=40)
    result: str = Field(pattern=COLUMN)
    unit: str | None = None
    unit_field: str | None = Field(default=None, pattern=COLUMN)
    numeric: bool = True
    codelist: str | None = None
    keep_blank: bool = False
    values: dict[str, OverrideSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_unit(self) -> "TestSpec":
        if self.unit is not None and self.unit_field is not None:
            raise ValueError("give unit (a constant) or unit_field (a raw column), not both")
        return self


class SourceSpec(StrictModel):
    form: str
    join: Literal["stack", "merge"] = "stack"
    by: list[str] = Field(default_factory=lambda: ["SUBJID"])
    filter: str | None = None
    values: dict[str, OverrideSpec] = Field(default_factory=dict)
    tests: list[TestSpec] = Field(default_factory=list)


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
class CodingDictionary:
    """A coding dictionary read from ``specs/`` (header + text rows)."""

    display: str  # the file as shown to users, e.g. specs/dictionaries/ae_dictionary.csv
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def values(self, column: str) -> list[str]:
        i = self.columns.index(column)
        return [row[i] for row in self.rows]

    def terms(self, column: str) -> frozenset[str]:
        """The matching keys (upper case, single spaces) of one column, blanks left out."""
        return frozenset(k for k in map(normalise_term, self.values(column)) if k)

    def entries(self, key: str, column: str) -> dict[str, tuple[str, ...]]:
        """Matching key of ``key`` -> the ``column`` values of its rows, as written in the file."""
        found: dict[str, tuple[str, ...]] = {}
        for k, v in zip(self.values(key), self.values(column)):
            k = normalise_term(k)
            if k and v not in found.get(k, ()):
                found[k] = found.get(k, ()) + (v,)
        return found


@dataclass(frozen=True)
class SdtmSpecs:
    forms: dict[str, FormSpec]
    leading: tuple[str, ...]
    subject_forms: tuple[str, ...]
    domains: dict[str, ResolvedDomain]
    codelists: dict[str, Codelist]
    forms_source: SpecSource | None = None
    #: coding dictionaries, keyed by the ``file`` the specs name (relative to specs/)
    dictionaries: dict[str, CodingDictionary] = field(default_factory=dict)
    #: forms.yaml as read (file-level identifiers and date format); None: the defaults
    forms_file: FormsFile | None = None

    def __len__(self) -> int:
        return len(self.domains)

    def _file(self) -> FormsFile:
        return self.forms_file or FormsFile(leading=list(self.leading), subject_forms=list(self.subject_forms),
                                            forms=list(self.forms.values()))

    def identifiers(self, form: str) -> IdentifiersSpec:
        """The identifier columns and USUBJID pattern of one form."""
        return form_identifiers(self._file(), self.forms[form])

    def dates(self, form: str) -> DateFormatSpec:
        """How the date fields of one form are written."""
        return form_dates(self._file(), self.forms[form])

    def required_columns(self, form: str) -> list[str]:
        """Columns the form's file must have (leading and identifier columns)."""
        return form_required_columns(self._file(), self.forms[form])

    def key_columns(self, form: str) -> list[str]:
        """The form's columns that are not fields (leading, identifiers by either name)."""
        return form_key_columns(self._file(), self.forms[form])


def load_sdtm_specs(study: ResolvedStudy) -> SdtmSpecs:
    """Load forms.yaml and every domain spec; resolve every reference (all errors at once)."""
    codelists = load_study_codelists(study)
    forms_path = study.specs_dir / "sdtm" / FORMS_FILE
    forms_doc = load_yaml(forms_path, root=study.root)
    forms_file = validate_model(FormsFile, forms_doc)
    forms = {f.name: f for f in forms_file.forms}
    errors = ErrorList()
    resolve_forms(forms_file, forms_doc.source, errors)
    domains: dict[str, ResolvedDomain] = {}
    dictionaries: dict[str, CodingDictionary | None] = {}
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
        filters = _resolve_domain(spec, where, forms, forms_file, codelists, errors)
        _resolve_dictionaries(spec, where, study, dictionaries, errors)
        if any(src.tests for src in spec.sources) and not errors.errors:
            spec = expand_tests(spec, OverrideSpec)
            filters = _resolve_domain(spec, where, forms, forms_file, codelists, errors)
        domains[spec.domain] = ResolvedDomain(spec, where, filters)
    errors.raise_if_any()
    return SdtmSpecs(forms, tuple(forms_file.leading), tuple(forms_file.subject_forms),
                     domains, codelists, forms_doc.source,
                     {k: v for k, v in sorted(dictionaries.items()) if v is not None}, forms_file)


def _resolve_domain(spec: DomainSpec, where: SpecSource, forms: dict[str, FormSpec],
                    forms_file: FormsFile, codelists: dict[str, Codelist], errors: ErrorList) -> dict[int, Expression]:
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
                cols = form_available_columns(forms_file, forms[src.form])
                for col in sorted(expr.columns - cols):
                    err(f"filter uses '{col}', which is not a column of form {src.form}", ("sources", i, "filter"))
                filters[i] = expr
        for var, rule in src.values.items():
            if var not in {v.name for v in spec.variables} | {s.qnam for s in spec.supp}:
                err(f"override of unknown variable '{var}'", ("sources", i, "values", var))
            _check_rule(rule, ("sources", i, "values", var), forms, forms_file, codelists, err, allowed=[src.form] +
                        [s.form for s in spec.sources if s.join == "merge"])
        check_tests(spec, i, forms[src.form], forms_file, codelists, err)
    if not spec.sources and not spec.records:
        err("a domain needs sources (forms) or records (trial design)", ("domain",))
    names = [v.name for v in spec.variables]
    seen: set[str] = set()
    for j, var in enumerate(spec.variables):
        if var.name in seen:
            err(f"variable {var.name} is listed twice", ("variables", j, "name"))
        seen.add(var.name)
        _check_rule(var, ("variables", j), forms, forms_file, codelists, err, allowed=used_forms)
        stacks = [s for s in spec.sources if s.join == "stack"]
        if not var.has_rule and stacks and any(var.name not in s.values and not s.tests for s in stacks):
            err(f"variable {var.name} has no rule", ("variables", j, "name"),
                hint="give source, assign or derive, or set it in every stacked source (values or tests)")
    for j, supp in enumerate(spec.supp):
        if supp.qnam in seen:
            err(f"supplemental qualifier {supp.qnam} has the name of a variable", ("supp", j, "qnam"))
        _check_rule(supp, ("supp", j), forms, forms_file, codelists, err, allowed=used_forms)
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


def _check_rule(rule: Any, path: tuple, forms: dict[str, FormSpec], forms_file: FormsFile,
                codelists: dict[str, Codelist], err, allowed: list[str]) -> None:
    for key in ("source", "time"):
        source = getattr(rule, key, None)
        if not source:
            continue
        form, col = source.split(".", 1)
        if form not in forms:
            err(f"unknown form '{form}' in {key} {source}", path + (key,))
        elif form not in allowed:
            err(f"{key} {source} reads form {form}, which is not in this domain's sources", path + (key,))
        elif col not in form_available_columns(forms_file, forms[form]):
            near = closest(col, forms[form].columns)
            err(f"form {form} has no column {col}", path + (key,),
                hint=("did you mean " + " or ".join(near) + "?") if near else None)
    if rule.codelist and rule.codelist not in codelists:
        near = closest(rule.codelist, codelists)
        err(f"unknown codelist '{rule.codelist}'", path + ("codelist",),
            hint=("did you mean " + " or ".join(near) + "?") if near else "codelists live in specs/ct/")
    derive = getattr(rule, "derive", None)
    if derive is not None:
        try:
            found = get_derivation(derive.name)
            args = dict(derive.args)
            if "new_var" in found.parameters:  # filled with the rule's variable by the engine
                args.setdefault("new_var", getattr(rule, "name", None) or getattr(rule, "qnam", None) or "")
            found.check_args(args)
            try:
                found.required_vars(args)  # parses the expressions it is given (conditions, values)
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # an argument of the wrong shape: the derivation itself reports it when it runs
        except SpecError as exc:
            for one in getattr(exc, "errors", [exc]):  # each argument's error on its own line
                arg_path = getattr(one, "arg_path", None)
                err(one.message, path + ("derive",) + (("args", *arg_path) if arg_path is not None else ()),
                    hint=one.hint)


def _resolve_dictionaries(spec: DomainSpec, where: SpecSource, study: ResolvedStudy,
                          loaded: dict[str, CodingDictionary | None], errors: ErrorList) -> None:
    """Read each dictionary once (``loaded``: file -> dictionary, None when unreadable) and check
    every ``dictionary`` option: the column exists, ``match`` names a variable coded on the same file."""
    coded = {v.name: v.dictionary for v in spec.variables if v.dictionary is not None}
    for j, var in enumerate(spec.variables):
        option = var.dictionary
        if option is None:
            continue
        path = ("variables", j, "dictionary")
        if option.file not in loaded:
            try:
                loaded[option.file] = read_dictionary(study, option.file, where.location(path + ("file",)),
                                                      _key(path + ("file",)))
            except SpecError as exc:
                loaded[option.file] = None
                errors.add(exc)
        found = loaded[option.file]
        if found is None:
            continue
        if option.column not in found.columns:
            errors.add(SpecError(f"dictionary {found.display}: no column '{option.column}'",
                                 location=where.location(path + ("column",)), key_path=_key(path + ("column",)),
                                 hint="its columns: " + ", ".join(found.columns)))
        if option.match is None:
            continue
        other = coded.get(option.match)
        if option.match == var.name or other is None or other.file != option.file or other.match is not None:
            errors.add(SpecError(
                f"match '{option.match}' must be another variable of {spec.domain} coded on {option.file} "
                "without a match of its own", location=where.location(path + ("match",)),
                key_path=_key(path + ("match",)),
                hint=f"give {option.match} the option dictionary: {{file: {option.file}, column: <key column>}}"))


def _key(path: tuple) -> str:
    from tlfgen.spec.base import format_key_path

    return format_key_path(path)


def read_dictionary(study: ResolvedStudy, file: str, location: Location,
                    key_path: str | None = None) -> CodingDictionary:
    """Read a coding dictionary CSV under ``specs/`` (UTF-8, one header row, no ragged rows).

    ``location``/``key_path``: the spec key naming the file (every error points there).
    """
    path = resolve_inside(study.specs_dir, file, what="dictionary", location=location)
    display = study.display(path)

    def fail(message: str, hint: str | None = None) -> SpecError:
        return SpecError(f"dictionary {display}: {message}", location=location, key_path=key_path, hint=hint)

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail("file not found", f"the file is relative to {study.display(study.specs_dir)}/; "
                                     "correct the name or add the dictionary there") from None
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror})") from exc
    if len(raw) > MAX_DICTIONARY_BYTES:
        raise fail(f"{len(raw)} bytes, more than the {MAX_DICTIONARY_BYTES} allowed")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 (byte {exc.start})", "save the file as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    try:
        for record in reader:
            if not record:
                continue  # blank line
            if records and len(record) != len(records[0]):
                raise fail(f"line {reader.line_num} has {len(record)} fields, the header has {len(records[0])}")
            records.append(record)
    except csv.Error as exc:
        raise fail(f"line {reader.line_num} is not valid CSV ({exc})") from None
    if not records:
        raise fail("empty (no header row)")
    header = tuple(c.strip() for c in records[0])
    return CodingDictionary(display, header, tuple(tuple(r) for r in records[1:]))


def spec_location(domain: ResolvedDomain, *key_path: str | int) -> Location:
    return domain.source.location(tuple(key_path))


def domain_files(study: ResolvedStudy) -> list[Path]:
    return [p for p in study.spec_files("sdtm") if p.name != FORMS_FILE]
