"""Spec layer: controlled terminology (``specs/ct/*.yaml``).

Each file holds codelists; each codelist maps the raw spellings collected on
the CRF to one submission value::

    codelists:
      - id: SEX
        name: Sex
        nci_code: C66731
        items:
          - {value: M, decode: Male, raw: [Male, M]}

Matching is case- and space-insensitive (``" male "`` matches ``Male``). The
submission value itself always matches. A raw value with no mapping is a
finding in the SDTM stage, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import Field, model_validator

from tlfgen.errors import ErrorList, Location, SpecError
from tlfgen.spec.base import StrictModel, load_yaml, validate_model
from tlfgen.spec.study import ResolvedStudy

_SPACES = re.compile(r"\s+")


def normalise_term(value: str) -> str:
    """The matching key of a raw value: upper case, single spaces, no outer spaces."""
    return _SPACES.sub(" ", str(value)).strip().upper()


class CodelistItemSpec(StrictModel):
    value: str = Field(min_length=1, max_length=200)
    decode: str | None = None
    raw: list[str] = Field(default_factory=list)
    nci_code: str | None = Field(default=None, pattern=r"^C\d+$")  # the term's C-code in CDISC CT
    extended: bool = False  # a sponsor value added to an extensible CDISC codelist


class CtStandardSpec(StrictModel):
    """The CDISC CT package the file's CDISC codelists come from (declared in define.xml)."""

    name: str = "CDISC/NCI"
    publishing_set: str = "SDTM"
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


class CodelistSpec(StrictModel):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")
    name: str
    nci_code: str | None = Field(default=None, pattern=r"^C\d+$")
    data_type: str = "text"
    items: list[CodelistItemSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_clashes(self) -> "CodelistSpec":
        seen: dict[str, str] = {}
        for item in self.items:
            for spelling in [item.value, *item.raw]:
                key = normalise_term(spelling)
                if key in seen and seen[key] != item.value:
                    raise ValueError(
                        f"raw value '{spelling}' maps to both '{seen[key]}' and '{item.value}'"
                    )
                seen[key] = item.value
        return self


class CodelistFile(StrictModel):
    standard: CtStandardSpec | None = None
    codelists: list[CodelistSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Codelist:
    """A resolved codelist: ``lookup`` maps a normalised raw value to its submission value."""

    id: str
    name: str
    nci_code: str | None
    items: tuple[CodelistItemSpec, ...]
    lookup: dict[str, str] = field(repr=False)
    location: Location | None = None
    #: (name, publishing set, version) of the file's CT package; None when it declares none
    standard: tuple[str, str, str] | None = None

    def map_value(self, raw: str) -> str | None:
        return self.lookup.get(normalise_term(raw))

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(item.value for item in self.items)


def build_codelist(spec: CodelistSpec, location: Location | None = None,
                   standard: CtStandardSpec | None = None) -> Codelist:
    lookup: dict[str, str] = {}
    for item in spec.items:
        for spelling in [item.value, *item.raw]:
            lookup[normalise_term(spelling)] = item.value
    package = (standard.name, standard.publishing_set, standard.version) if standard else None
    return Codelist(spec.id, spec.name, spec.nci_code, tuple(spec.items), lookup, location, package)


def load_codelists(study: ResolvedStudy) -> dict[str, Codelist]:
    """Load every ``specs/ct/*.yaml``; an id defined twice is a spec error naming both files."""
    result: dict[str, Codelist] = {}
    errors = ErrorList()
    for path in study.spec_files("ct"):
        doc = load_yaml(path, root=study.root)
        spec = validate_model(CodelistFile, doc)
        for i, cl in enumerate(spec.codelists):
            location = doc.source.location(("codelists", i))
            if cl.id in result:
                errors.add(SpecError(
                    f"codelist {cl.id} is defined twice (first at {result[cl.id].location})",
                    location=location, key_path=f"codelists[{i}].id",
                ))
                continue
            result[cl.id] = build_codelist(cl, location, spec.standard)
    errors.raise_if_any()
    return dict(sorted(result.items()))


def load_study_codelists(study: ResolvedStudy) -> dict[str, Codelist]:
    """``load_codelists(study)`` once per study object: the entry ``spec.check.load_stage_specs(study,
    "ct")`` keeps too (``study.cache["ct"]``), so the specs of other stages share one load."""
    if "ct" not in study.cache:
        study.cache["ct"] = load_codelists(study)
    return study.cache["ct"]
