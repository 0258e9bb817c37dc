"""Spec layer: table and listing specs (``specs/tlf/*.yaml``) for the TLF stage.

One YAML file per output. A table names its population, its columns (arms,
optional total, comparison columns: one pair, each arm vs a control, or all
pairs) and a list of row blocks; a listing names its dataset, columns and sort
order. ``specs/tlf/conventions.yaml`` (``type: conventions``, optional) declares
the study-wide statistical conventions: one p-value rule, the R or SAS rule for
Kaplan-Meier edges, the text of empty cells. Filters are safe
expressions (``tlfgen.spec.expr``), parsed here so a bad filter fails at
``tlfgen check`` with its file and line. ``load_tlf_specs`` also compiles every
template in ``specs/templates`` (the wording of titles, footnotes and cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
#: pointwise CI transform of S(t) at landmark times (tlfgen.stats.survival.BAND_METHODS)
SURVIVAL_CI_METHODS = Literal["loglog", "log", "linear", "arcsine"]
P_VALUE_STYLES = Literal["paper", "sas", "fixed3", "spss", "paper-spss"]  # tlfgen.stats.formatting.P_STYLES
CONVENTIONS_SPEC = "conventions.yaml"
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
    survival: int = 1  # landmark survival, percent
    #: must equal the study's rule (conventions.yaml p_values) when given: one p-value rule per study
    p_style: P_VALUE_STYLES | None = None


class Conventions(StrictModel):
    """Study-wide statistical conventions (``specs/tlf/conventions.yaml``), each named after R or SAS."""

    type: Literal["conventions"] = "conventions"
    #: one p-value and rounding rule for every table: paper ("< 0.001", 3 then 2 decimals),
    #: sas (PVALUE6.4), fixed3 (3 decimals), spss (threshold on the p rounded to 3 decimals), paper-spss
    #: (spss's threshold, the paper's digits); always half-up rounding
    p_values: P_VALUE_STYLES = "paper"
    #: S(t) = 0.5 on a final censored plateau: r = midpoint to the last time, sas = NE
    median_plateau: Literal["r", "sas"] = "r"
    #: landmark past the last observed (censored) time: sas = NE, r = last value carried (extend=TRUE)
    survival_beyond_last: Literal["sas", "r"] = "sas"
    #: text of a cell in a column with N=0
    empty_cell: str = "\u2013"

class Population(StrictModel):
    dataset: str = "ADSL"
    filter: str = "FASFL == 'Y'"
    label: str = "Full analysis set"


class Pair(StrictModel):
    treatment: str
    reference: str


class ColumnsSpec(StrictModel):
    by: str = "TRT01PN"  # numeric arm variable, matched to study arms' trtn
    total: bool = False
    total_label: str = "Total"
    comparison: str | None = None  # header of the comparison column (p-values, HRs, differences)
    treatment: str | None = None  # armcd of the treatment arm for comparisons
    reference: str | None = None  # armcd of the reference arm (the control for each-vs-control)
    #: pair: treatment vs reference (one column); each-vs-control: every other arm vs ``reference``;
    #: pairwise: every pair of arms in study order; or an explicit list of pairs
    comparisons: Literal["pair", "each-vs-control", "pairwise"] | list[Pair] = "pair"
    #: text over each arm column: code (the study's armcd, "Pbo") or label (its arm, "Placebo"),
    #: with the column's N under it (cells.j2 column_header)
    header: Literal["code", "label"] = "code"



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
    #: ttest: Student pooled (SAS PROC TTEST Pooled); welch (R t.test default);
    #: wilcoxon: rank-sum, normal approximation (SAS NPAR1WAY; R wilcox.test exact=FALSE)
    test: Literal["none", "ttest", "welch", "wilcoxon"] = "none"


class RateBlock(_BlockBase):
    kind: Literal["rate"]
    responder: str  # expression true for responders
    ci_method: CI_METHODS = "clopper-pearson"
    ci_label: str = "95% CI"
    #: the categorical rules, or cmh: Cochran-Mantel-Haenszel over ``strata`` (SAS PROC FREQ CMH;
    #: R mantelhaen.test)
    test: Literal["none", "cochran", "cochran-rxc", "fisher", "chisq", "cmh"] = "none"
    strata: list[str] = Field(default_factory=list)  # ADSL variables for test: cmh
    #: an extra comparison row: rr (relative risk) or or (odds ratio), Wald CI on the log scale
    ratio: Literal["none", "rr", "or"] = "none"
    difference: bool = False
    #: CI of the difference: newcombe (SAS RISKDIFF CL=NEWCOMBE), wald, mn (Miettinen-Nurminen,
    #: SAS CL=MN), agresti-caffo (SAS CL=AC); stratified by ``strata``: mh (Mantel-Haenszel common risk
    #: difference, Sato variance: SAS COMMONRISKDIFF(CL=MH)) or mh-greenland-robins (RevMan's variance)
    difference_method: Literal["newcombe", "wald", "mn", "agresti-caffo", "mh", "mh-greenland-robins"] = "newcombe"

    @model_validator(mode="after")
    def _check_cmh(self) -> "RateBlock":
        if self.test == "cmh" and not self.strata:
            raise ValueError("test: cmh needs strata (ADSL variables)")
        if self.difference_method.startswith("mh") and not self.strata:
            raise ValueError(f"difference_method: {self.difference_method} needs strata (ADSL variables)")
        return self


class TteBlock(_BlockBase):
    kind: Literal["tte"]
    dataset: str = "ADTTE"
    param: str  # PARAMCD
    time: str = "AVALM"
    censor: str = "CNSR"
    event_label: str = "Events, n (%)"
    median_ci: MEDIAN_CI_METHODS = "loglog"
    #: logrank: O/E ratio; mantel-haenszel: exp((O-E)/V); cox: Cox model (``ties``)
    hr: Literal["logrank", "mantel-haenszel", "cox"] = "logrank"
    ties: Literal["breslow", "efron"] = "breslow"
    logrank_p: bool = True
    #: the test printed on the p-value row: logrank (SAS LIFETEST; R survdiff), or a test of the Cox model
    #: of the HR (``ties``, ``strata``): cox-lr, cox-score, cox-wald (SAS PHREG global tests; R summary(coxph))
    p_test: Literal["logrank", "cox-lr", "cox-score", "cox-wald"] = "logrank"
    #: a row with the proportional-hazards check of the arm (scaled Schoenfeld residuals; R cox.zph)
    ph_check: Literal["none", "km", "rank", "identity"] = "none"
    #: ADSL variables: stratified log-rank (SAS STRATA/GROUP=; R survdiff + strata()) and stratified HR
    strata: list[str] = Field(default_factory=list)
    quartiles: bool = False  # rows for the 25th and 75th percentiles (with CIs by median_ci, or loglog)
    landmarks: list[float] = Field(default_factory=list)  # times for "Event-free at t, % (95% CI)" rows
    survival_ci: SURVIVAL_CI_METHODS = "loglog"
    landmark_label: str = "Event-free at {t} months, % (95% CI)"
    #: restricted mean survival time up to this time (R survRM2::rmst2; SAS PROC LIFETEST RMST), None: no row
    rmst_tau: float | None = None


class FollowupBlock(_BlockBase):
    kind: Literal["followup"]
    dataset: str = "ADTTE"
    param: str = "FUTIME"
    time: str = "AVALM"


class AeBlock(_BlockBase):
    kind: Literal["ae_by_term"]
    dataset: str = "ADAE"
    term: str = "AEDECOD"
    #: the class the terms are nested under (AEBODSYS): a row per class, then its terms indented
    soc: str | None = None
    grade: str = "ATOXGRN"
    high_grade: int = 3  # the high column counts subjects whose worst ``grade`` is at least this
    #: column headers under each arm: every record, and worst grade >= high_grade. None: "Grade \u2265<high_grade>";
    #: for severity (AESEV/ASEVN 1-3) e.g. ``any_header: Any severity``, ``high_header: Severe``
    any_header: str = "Any grade"
    high_header: str | None = None
    any_label: str = "Any TRAE"
    sort: Literal["frequency", "alphabetical"] = "frequency"
    min_subjects: int = 1  # terms shown when at least this many subjects in the total
    term_case: Literal["as_is", "sentence"] = "as_is"  # sentence: "NEUTROPHIL COUNT" -> "Neutrophil count"


    @property
    def high_text(self) -> str:
        """Header of the high-grade column."""
        return self.high_header if self.high_header is not None else f"Grade \u2265{self.high_grade}"


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
    #: logistic: ml, or firth (SAS FIRTH; R logistf); separation: error, or firth when ml fails
    method: Literal["ml", "firth"] = "ml"
    separation: Literal["error", "firth"] = "firth"
    #: CIs: wald (SAS Wald CL; R confint.default) or profile likelihood (logistic: SAS CLODDS=PL, R confint;
    #: Cox: SAS PHREG RISKLIMITS=PL)
    ci: Literal["wald", "profile"] = "wald"
    #: p of each term: wald (SAS "Analysis of Maximum Likelihood Estimates"; R summary Pr(>|z|)), lr
    #: (likelihood ratio of dropping the term: SAS TYPE3(LR), R drop1 / anova) or score (Rao score test of the
    #: term: SAS TYPE3(SCORE); one covariate: PROC PHREG "Score" = log-rank, SPSS "Overall (score)")
    test: Literal["wald", "score", "lr"] = "wald"
    treatment_label: str = "Treatment"
    covariates: list[Covariate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_model(self) -> "RegressionBlock":
        if self.model == "logistic" and not self.response:
            raise ValueError("a logistic regression needs 'response' (an expression true for responders)")
        if self.model == "cox" and not self.param:
            raise ValueError("a Cox regression needs 'param' (the ADTTE PARAMCD)")
        if self.method == "firth" and (self.ci, self.test) != ("wald", "wald"):
            raise ValueError("Firth's logistic regression prints Wald CIs and p-values: drop ci/test or use method: ml")
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

    type: Literal["table", "listing", "figures", "conventions"]


@dataclass(frozen=True)
class LoadedOutput:
    """One validated output spec with its source and its parsed filters."""

    spec: TableSpec | ListingSpec
    source: SpecSource
    path: Path
    display: str
    filters: dict[str, Expression]  # key ("population", "<block id>", "<block id>.responder", "listing")
    conventions: Conventions = field(default_factory=Conventions)

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
    templates: Any  # tlfgen.spec.templates.TemplateSet
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
    if isinstance(cols.comparisons, list):
        for i, pair in enumerate(cols.comparisons):
            for key in ("treatment", "reference"):
                if getattr(pair, key) not in armcds:
                    raise SpecError(f"columns.comparisons[{i}].{key} '{getattr(pair, key)}' is not an arm of the study",
                                    location=source.location(("columns", "comparisons", i, key)),
                                    hint="arms: " + ", ".join(sorted(armcds)))
    elif cols.comparisons == "each-vs-control" and cols.reference is None:
        raise SpecError("comparisons: each-vs-control needs columns.reference (the control arm)",
                        location=source.location(("columns", "comparisons")))
    several_refs = cols.comparisons == "pairwise" or (
        isinstance(cols.comparisons, list) and len({p.reference for p in cols.comparisons}) > 1)
    if several_refs and any(isinstance(b, RegressionBlock) for b in spec.blocks):
        raise SpecError("a regression table compares every arm with one reference arm",
                        location=source.location(("columns", "comparisons")),
                        hint="use comparisons: each-vs-control (with reference) or one pair")
    for key in ("treatment", "reference"):
        value = getattr(cols, key)
        if value is not None and value not in armcds:
            raise SpecError(
                f"columns.{key} '{value}' is not an arm of the study",
                location=source.location(("columns", key)), hint="arms: " + ", ".join(sorted(armcds)),
            )
    ae_columns = {(b.grade, b.high_grade, b.any_header, b.high_text) for b in spec.blocks if isinstance(b, AeBlock)}
    if len(ae_columns) > 1:
        raise SpecError("the ae_by_term blocks of one table share its columns: grade, high_grade, any_header and "
                        "high_header must be the same in each", location=source.location(("blocks",)),
                        hint="put blocks with other grading in another table")
    seen: set[str] = set()
    for i, block in enumerate(spec.blocks):
        if block.id in seen:
            raise SpecError(f"block id {block.id} is used twice", location=source.location(("blocks", i, "id")))
        seen.add(block.id)
        needs_pair = (
            getattr(block, "test", "none") != "none" or getattr(block, "difference", False)
            or getattr(block, "ratio", "none") != "none"
            or isinstance(block, (TteBlock, RegressionBlock))
        )
        if needs_pair and cols.comparisons == "pair" and (cols.treatment is None or cols.reference is None):
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
OTHER_TYPES = ("figures", "conventions")


def load_output_spec(path: Path, study: ResolvedStudy) -> LoadedOutput | None:
    """One table or listing spec; None for a file of another type (figures)."""
    doc = load_yaml(path, root=study.root)
    if not isinstance(doc.data, dict):
        raise SpecError("a TLF spec must be a mapping", location=doc.source.location())
    if doc.data.get("type") in OTHER_TYPES:
        return None
    kind = validate_model(_Envelope, doc, data={"type": doc.data.get("type")}).type
    if kind == "conventions":
        return None
    if kind == "table":
        _prevalidate_blocks(doc)
    spec: TableSpec | ListingSpec = validate_model(TableSpec if kind == "table" else ListingSpec, doc)
    if isinstance(spec, TableSpec):
        _check_table(spec, doc.source, {a.armcd for a in study.spec.study.arms})
    return LoadedOutput(spec, doc.source, path, doc.source.display, _parse_filters(spec, doc.source))


def load_conventions(study: ResolvedStudy) -> Conventions:
    """The study's ``specs/tlf/conventions.yaml``; the defaults when the file is absent."""
    path = study.specs_dir / "tlf" / CONVENTIONS_SPEC
    if not path.is_file():
        return Conventions()
    doc = load_yaml(path, root=study.root)
    return validate_model(Conventions, doc)


def _with_conventions(out: LoadedOutput, conventions: Conventions) -> LoadedOutput:
    spec = out.spec
    if isinstance(spec, TableSpec) and spec.precision.p_style not in (None, conventions.p_values):
        raise SpecError(
            f"precision.p_style '{spec.precision.p_style}' differs from the study's p-value rule "
            f"'{conventions.p_values}': one p-value rule per study",
            location=out.source.location(("precision", "p_style")),
            hint=f"remove p_style here, or change p_values in specs/tlf/{CONVENTIONS_SPEC}",
        )
    return replace(out, conventions=conventions)


def load_tlf_specs(study: ResolvedStudy) -> TlfSpecs:
    """Load every ``specs/tlf/*.yaml`` and compile every ``specs/templates/*.j2``."""
    from tlfgen.spec.templates import TemplateSet  # the spec layer only compiles; tlf renders

    errors = ErrorList()
    outputs: list[LoadedOutput] = []
    conventions = Conventions()
    try:
        conventions = load_conventions(study)
    except SpecErrors as exc:
        errors.errors.extend(exc.errors)
    except SpecError as exc:
        errors.add(exc)
    for path in study.spec_files("tlf"):
        try:
            loaded = load_output_spec(path, study)
            if loaded is not None:
                outputs.append(_with_conventions(loaded, conventions))
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
    if not errors.errors:
        errors.errors.extend(_check_references(study, outputs, templates))
    errors.raise_if_any()
    outputs.sort(key=lambda o: (o.spec.order, o.id))
    return TlfSpecs(tuple(outputs), templates, tuple(names))


def _check_references(study: ResolvedStudy, outputs: list[LoadedOutput], templates: Any) -> list[SpecError]:
    """Variables the outputs name against the ADaM specs; names the templates read against their context."""
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.spec.tlf_check import check_outputs

    declared: dict[str, list[str]] | None = None
    files: dict[str, str] = {}
    try:
        adam = load_stage_specs(study, "adam")
    except (SpecError, ModuleNotFoundError):
        adam = None  # the ADaM stage reports its own errors
    if adam is not None and len(adam):  # no ADaM specs: datasets made elsewhere, nothing to check against
        declared = {ds.name: [v.name for v in ds.spec.variables] for ds in adam.datasets}
        files = {ds.name: ds.source.display for ds in adam.datasets}
    return check_outputs(outputs, templates, declared, files)
