"""Spec layer: table and listing specs (``specs/tlf/*.yaml``) for the TLF stage.

One YAML file per output. A table names its population, its columns (arms,
optional total, optional comparison column) and a list of row blocks; a
listing names its dataset, columns and sort order. Filters are safe
expressions (``tlfgen.spec.expr``), parsed here so a bad filter fails at
``tlfgen check`` with its file and line. ``load_tlf_specs`` also compiles every
template in ``specs/templates`` (the wording of titles, footnotes and cells).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from tlfgen.errors import ErrorList, SpecError, SpecErrors
from tlfgen.spec.base import SpecSource, StrictModel, load_yaml, validate_model
from tlfgen.spec.expr import Expression, parse_expression
from tlfgen.spec.study import ResolvedStudy

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,39}$"
CI_METHODS = Literal["clopper-pearson", "wilson", "wald"]
MEDIAN_CI_METHODS = Literal["symmetric", "loglog", "log", "linear"]
#: declared rule choosing the categorical test (tlfgen.stats.hypothesis_tests.categorical_test)
TEST_RULES = Literal["none", "cochran", "cochran-rxc", "fisher", "chisq"]


class Precision(StrictModel):
    """Decimal places printed (half-up rounding)."""

    pct: int = 1
    mean: int = 1
    sd: int = 2
    median: int = 1
    range: int = 0
    time: int = 2  # medians of time to event, follow-up
    ratio: int = 2  # HR, OR
    p_style: Literal["paper", "sas"] = "paper"  # tlfgen.stats.formatting.P_STYLES


class Population(StrictModel):
    dataset: str = "ADSL"
    filter: str = "FASFL == 'Y'"
    label: str = "Full analysis set"


class ColumnsSpec(StrictModel):
    by: str = "TRT01PN"  # numeric arm variable, matched to study arms' trtn
    total: bool = False
    total_label: str = "Total"
    comparison: str | None = None  # header of the comparison column (p-values, HRs, differences)
    treatment: str | None = None  # armcd of the treatment arm for comparisons
    reference: str | None = None  # armcd of the reference arm


class Level(StrictModel):
    value: str | int | float
    label: str | None = None

    @property
    def text(self) -> str:
        return self.label if self.label is not None else str(self.value)


class _BlockBase(StrictModel):
    id: str = Field(pattern=ID_PATTERN)
    label: str
    dataset: str = "ADSL"
    filter: str | None = None


class CategoricalBlock(_BlockBase):
    kind: Literal["categorical"]
    variable: str
    levels: list[Level] = Field(min_length=1)
    missing_label: str | None = "Missing"  # row for subjects with no level (shown if any)
    test: TEST_RULES = "none"


class ContinuousBlock(_BlockBase):
    kind: Literal["continuous"]
    variable: str
    test: Literal["none", "ttest"] = "none"


class RateBlock(_BlockBase):
    kind: Literal["rate"]
    responder: str  # expression true for responders
    ci_method: CI_METHODS = "clopper-pearson"
    ci_label: str = "95% CI"
    test: TEST_RULES = "none"
    difference: bool = False


class TteBlock(_BlockBase):
    kind: Literal["tte"]
    dataset: str = "ADTTE"
    param: str  # PARAMCD
    time: str = "AVALM"
    censor: str = "CNSR"
    event_label: str = "Events, n (%)"
    median_ci: MEDIAN_CI_METHODS = "loglog"
    hr: Literal["logrank", "cox"] = "logrank"
    logrank_p: bool = True


class FollowupBlock(_BlockBase):
    kind: Literal["followup"]
    dataset: str = "ADTTE"
    param: str = "FUTIME"
    time: str = "AVALM"


class AeBlock(_BlockBase):
    kind: Literal["ae_by_term"]
    dataset: str = "ADAE"
    term: str = "AEDECOD"
    grade: str = "ATOXGRN"
    high_grade: int = 3
    any_label: str = "Any TRAE"
    sort: Literal["frequency", "alphabetical"] = "frequency"
    min_subjects: int = 1  # terms shown when at least this many subjects in the total
    term_case: Literal["as_is", "sentence"] = "as_is"  # sentence: "NEUTROPHIL COUNT" -> "Neutrophil count"


class Covariate(StrictModel):
    variable: str
    label: str
    reference: str | int | float | None = None  # reference level; None: first sorted level
    #: print order and labels; when given, subjects with another value are left out of the models
    levels: list[Level] = Field(default_factory=list)


class RegressionBlock(_BlockBase):
    kind: Literal["regression"]
    model: Literal["logistic", "cox"]
    response: str | None = None  # logistic: expression true for an event (responder)
    param: str | None = None  # cox: ADTTE PARAMCD
    time: str = "AVALM"
    censor: str = "CNSR"
    ties: Literal["breslow", "efron"] = "breslow"
    treatment_label: str = "Treatment"
    covariates: list[Covariate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_model(self) -> "RegressionBlock":
        if self.model == "logistic" and not self.response:
            raise ValueError("a logistic regression needs 'response' (an expression true for responders)")
        if self.model == "cox" and not self.param:
            raise ValueError("a Cox regression needs 'param' (the ADTTE PARAMCD)")
        return self


Block = Annotated[
    Union[CategoricalBlock, ContinuousBlock, RateBlock, TteBlock, FollowupBlock, AeBlock, RegressionBlock],
    Field(discriminator="kind"),
]


class TableSpec(StrictModel):
    id: str = Field(pattern=ID_PATTERN)
    type: Literal["table"]
    order: int = 0
    template: str | None = None  # default "<id>.j2"
    population: Population = Population()
    columns: ColumnsSpec = ColumnsSpec()
    stub_header: str = ""
    precision: Precision = Precision()
    blocks: list[Block] = Field(min_length=1)
    formats: list[Literal["docx", "xlsx", "rtf"]] | None = None  # None: the study's documents.formats


class ListingColumn(StrictModel):
    variable: str
    label: str
    format: Literal["text", "date", "number"] = "text"
    decimals: int = 1
    source: str | None = None  # dataset to take it from (default: the listing dataset, then ADSL)


class ListingSpec(StrictModel):
    id: str = Field(pattern=ID_PATTERN)
    type: Literal["listing"]
    order: int = 0
    template: str | None = None
    population: Population = Population(filter="SAFFL == 'Y'", label="Safety set")
    arm: str = "TRT01PN"
    dataset: str
    filter: str | None = None
    columns: list[ListingColumn] = Field(min_length=1)
    sort: list[str] = Field(default_factory=lambda: ["USUBJID"])  # after the arm
    rows_per_page: int = Field(default=25, ge=5, le=500)
    empty_text: str = "No records."
    formats: list[Literal["docx", "xlsx", "rtf"]] | None = None  # None: the study's documents.formats


class _Envelope(StrictModel):
    """Reads the discriminator first so errors point into the right model."""

    type: Literal["table", "listing", "figures"]


@dataclass(frozen=True)
class LoadedOutput:
    """One validated output spec with its source and its parsed filters."""

    spec: TableSpec | ListingSpec
    source: SpecSource
    path: Path
    display: str
    filters: dict[str, Expression]  # key ("population", "<block id>", "<block id>.responder", "listing")

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def template(self) -> str:
        return self.spec.template or f"{self.spec.id}.j2"

    def expression(self, key: str) -> Expression | None:
        return self.filters.get(key)


@dataclass(frozen=True)
class TlfSpecs:
    outputs: tuple[LoadedOutput, ...]
    templates: Any  # tlfgen.tlf.text.TemplateSet
    template_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.outputs)


def _parse_filters(spec: TableSpec | ListingSpec, source: SpecSource) -> dict[str, Expression]:
    found: dict[str, Expression] = {}

    def add(key: str, text: str | None, key_path: tuple) -> None:
        if text:
            found[key] = parse_expression(text, location=source.location(key_path))

    add("population", spec.population.filter, ("population", "filter"))
    if isinstance(spec, ListingSpec):
        add("listing", spec.filter, ("filter",))
        return found
    for i, block in enumerate(spec.blocks):
        add(block.id, block.filter, ("blocks", i, "filter"))
        if isinstance(block, RateBlock):
            add(f"{block.id}.responder", block.responder, ("blocks", i, "responder"))
        if isinstance(block, RegressionBlock):
            add(f"{block.id}.responder", block.response, ("blocks", i, "response"))
    return found


def _check_table(spec: TableSpec, source: SpecSource, armcds: set[str]) -> None:
    cols = spec.columns
    for key in ("treatment", "reference"):
        value = getattr(cols, key)
        if value is not None and value not in armcds:
            raise SpecError(
                f"columns.{key} '{value}' is not an arm of the study",
                location=source.location(("columns", key)), hint="arms: " + ", ".join(sorted(armcds)),
            )
    seen: set[str] = set()
    for i, block in enumerate(spec.blocks):
        if block.id in seen:
            raise SpecError(f"block id {block.id} is used twice", location=source.location(("blocks", i, "id")))
        seen.add(block.id)
        needs_pair = (
            getattr(block, "test", "none") != "none" or getattr(block, "difference", False)
            or isinstance(block, (TteBlock, RegressionBlock))
        )
        if needs_pair and (cols.treatment is None or cols.reference is None):
            raise SpecError(
                f"block {block.id} compares arms but columns.treatment / columns.reference are not set",
                location=source.location(("blocks", i)),
            )


BLOCK_KINDS: dict[str, type[StrictModel]] = {
    "categorical": CategoricalBlock, "continuous": ContinuousBlock, "rate": RateBlock, "tte": TteBlock,
    "followup": FollowupBlock, "ae_by_term": AeBlock, "regression": RegressionBlock,
}


def _prevalidate_blocks(doc: Any) -> None:
    """Validate each block against its own model so errors carry the block's file:line and key hints."""
    blocks = doc.data.get("blocks")
    if not isinstance(blocks, list):
        return
    errors = ErrorList()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        model = BLOCK_KINDS.get(str(block.get("kind")))
        if model is None:
            errors.add(SpecError(
                f"unknown block kind {block.get('kind')!r}", location=doc.source.location(("blocks", i, "kind")),
                key_path=f"blocks[{i}].kind", hint="kinds: " + ", ".join(BLOCK_KINDS)))
            continue
        try:
            validate_model(model, doc, prefix=("blocks", i), data=block)
        except SpecErrors as exc:
            errors.errors.extend(exc.errors)
        except SpecError as exc:
            errors.add(exc)
    errors.raise_if_any()


#: spec types in specs/tlf that other modules load (tlfgen.tlf.figures reads ``type: figures``)
OTHER_TYPES = ("figures",)


def load_output_spec(path: Path, study: ResolvedStudy) -> LoadedOutput | None:
    """One table or listing spec; None for a file of another type (figures)."""
    doc = load_yaml(path, root=study.root)
    if not isinstance(doc.data, dict):
        raise SpecError("a TLF spec must be a mapping", location=doc.source.location())
    if doc.data.get("type") in OTHER_TYPES:
        return None
    kind = validate_model(_Envelope, doc, data={"type": doc.data.get("type")}).type
    if kind == "table":
        _prevalidate_blocks(doc)
    spec: TableSpec | ListingSpec = validate_model(TableSpec if kind == "table" else ListingSpec, doc)
    if isinstance(spec, TableSpec):
        _check_table(spec, doc.source, {a.armcd for a in study.spec.study.arms})
    return LoadedOutput(spec, doc.source, path, doc.source.display, _parse_filters(spec, doc.source))


def load_tlf_specs(study: ResolvedStudy) -> TlfSpecs:
    """Load every ``specs/tlf/*.yaml`` and compile every ``specs/templates/*.j2``."""
    from tlfgen.tlf.text import TemplateSet  # the spec layer only compiles; tlf renders

    errors = ErrorList()
    outputs: list[LoadedOutput] = []
    for path in study.spec_files("tlf"):
        try:
            loaded = load_output_spec(path, study)
            if loaded is not None:
                outputs.append(loaded)
        except SpecErrors as exc:
            errors.errors.extend(exc.errors)
        except SpecError as exc:
            errors.add(exc)
    ids: dict[str, str] = {}
    for out in outputs:
        if out.id in ids:
            errors.add(SpecError(f"output id {out.id} is also used by {ids[out.id]}",
                                 location=out.source.location(("id",))))
        ids[out.id] = out.display
    templates = TemplateSet(study.specs_dir / "templates", display_prefix=study.display(study.specs_dir / "templates"))
    names: list[str] = []
    try:
        names = templates.compile_all()
    except SpecError as exc:
        errors.add(exc)
    for out in outputs:
        if out.template not in names and not errors.errors:
            errors.add(SpecError(f"template {out.template} does not exist",
                                 location=out.source.location(("template",)),
                                 hint=f"create specs/templates/{out.template}"))
    errors.raise_if_any()
    outputs.sort(key=lambda o: (o.spec.order, o.id))
    return TlfSpecs(tuple(outputs), templates, tuple(names))
