"""TLF stage (figures): typed models of ``specs/tlf/figures.yaml``.

One file lists every figure of the study under ``figures:`` (``type: figures``
at the top tells it apart from the one-output table and listing specs). Each
figure has a ``kind`` (km, forest, waterfall, swimmer, consort) that selects
its model; unknown keys are errors with file:line. Filters are safe expressions
(``tlfgen.spec.expr``), parsed at load time so a bad filter fails with its
file and line before any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from tlfgen.errors import ErrorList, SpecError, SpecErrors
from tlfgen.spec.base import SpecSource, StrictModel, YamlDoc, load_yaml, validate_model
from tlfgen.spec.expr import Expression, parse_expression
from tlfgen.spec.tlf import ID_PATTERN, Level

FIGURES_SPEC = Path("tlf") / "figures.yaml"


class FigurePopulation(StrictModel):
    """Subjects drawn: an ADSL filter (``None``: every ADSL subject) and its label."""

    filter: str | None = "FASFL == 'Y'"
    label: str = "Full analysis set"


class _FigureBase(StrictModel):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    footnotes: list[str] = Field(default_factory=list)
    order: int = 0
    population: FigurePopulation = FigurePopulation()
    width: float = Field(default=9.0, ge=3.0, le=11.0)  # inches
    height: float = Field(default=6.0, ge=2.0, le=11.0)
    treatment: str | None = None  # armcd; default: the first study arm
    reference: str | None = None  # armcd; default: the second study arm


class KmFigure(_FigureBase):
    kind: Literal["km"]
    dataset: str = "ADTTE"
    param: str
    time: str = "AVALM"
    time_unit: str = "months"  # unit of ``time`` in the median annotation (e.g. days for AVAL)
    censor: str = "CNSR"
    analysis: str | None = None  # key of precomputed results (Table 2 block id); default: param
    x_label: str = "Months since first dose"
    y_label: str = "Survival probability"
    tick_step: float = Field(default=3.0, gt=0)
    x_max: float | None = Field(default=None, gt=0)
    ci_bands: bool = False
    ci_method: Literal["loglog", "log", "linear"] = "loglog"
    censor_marks: bool = True
    median_lines: bool = True
    median_ci: Literal["symmetric", "loglog", "log", "linear"] = "symmetric"
    hr: Literal["logrank", "cox"] = "logrank"
    time_decimals: int = Field(default=2, ge=0, le=4)
    ratio_decimals: int = Field(default=2, ge=0, le=4)
    p_style: Literal["paper", "sas"] = "paper"


class Subgroup(StrictModel):
    variable: str  # ADSL variable
    label: str
    levels: list[Level] = Field(min_length=1)


class ForestFigure(_FigureBase):
    kind: Literal["forest"]
    dataset: str = "ADTTE"
    param: str = "PFS"
    time: str = "AVALM"
    censor: str = "CNSR"
    hr: Literal["logrank", "cox"] = "logrank"
    overall_label: str = "Overall"
    subgroups: list[Subgroup] = Field(min_length=1)
    x_label: str = "Hazard ratio (95% CI, log scale)"
    x_limits: tuple[float, float] = (0.02, 50.0)
    ratio_decimals: int = Field(default=2, ge=0, le=4)


class WaterfallFigure(_FigureBase):
    kind: Literal["waterfall"]
    dataset: str = "ADRS"
    param: str = "BESTPCHG"
    response_param: str = "BOR"
    reference_lines: list[float] = Field(default_factory=lambda: [-30.0, 20.0])
    by_arm: bool = True
    y_label: str = "Best change from baseline in sum of target-lesion diameters (%)"
    response_labels: dict[str, str] = Field(
        default_factory=lambda: {"CR": "Complete response", "PR": "Partial response", "SD": "Stable disease",
                                 "PD": "Progressive disease", "NE": "Not evaluable"}
    )


class SwimmerFigure(_FigureBase):
    kind: Literal["swimmer"]
    response_dataset: str = "ADRS"
    response_param: str = "OVR"
    responses: list[str] = Field(default_factory=lambda: ["CR", "PR"])
    tte_dataset: str = "ADTTE"
    pfs_param: str = "PFS"
    months_divisor: float = Field(default=30.4375, gt=0)
    x_label: str = "Months since first dose"
    #: lanes end at conversion surgery (ADSL SURGDT), where the time-to-event analyses censor
    censor_at_surgery: bool = True


class ConsortBox(StrictModel):
    label: str
    filter: str  # ADSL expression counted within each arm


class ConsortFigure(_FigureBase):
    kind: Literal["consort"]
    population: FigurePopulation = FigurePopulation(filter=None, label="Enrolled")
    enrolled_label: str = "Enrolled"
    allocated_label: str = "Allocated to"
    arm_boxes: list[ConsortBox] = Field(min_length=1)
    analysis_boxes: list[ConsortBox] = Field(min_length=1)


FigureSpec = KmFigure | ForestFigure | WaterfallFigure | SwimmerFigure | ConsortFigure
KINDS: dict[str, type[StrictModel]] = {
    "km": KmFigure, "forest": ForestFigure, "waterfall": WaterfallFigure, "swimmer": SwimmerFigure,
    "consort": ConsortFigure,
}


class FiguresFile(StrictModel):
    """The raw shape of the file; each figure is then validated by its kind's model."""

    type: Literal["figures"]
    figures: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedFigure:
    """One validated figure spec, its parsed filters and where it came from."""

    spec: FigureSpec
    source: SpecSource
    index: int  # position in the ``figures`` list (for key paths)
    filters: dict[str, Expression]  # "population", "arm_boxes[i]", "analysis_boxes[i]"

    @property
    def id(self) -> str:
        return self.spec.id


def _parse_filters(spec: FigureSpec, source: SpecSource, index: int) -> dict[str, Expression]:
    base = ("figures", index)
    found: dict[str, Expression] = {}
    if spec.population.filter:
        found["population"] = parse_expression(
            spec.population.filter, location=source.location(base + ("population", "filter")))
    if isinstance(spec, ConsortFigure):
        for key in ("arm_boxes", "analysis_boxes"):
            for i, box in enumerate(getattr(spec, key)):
                found[f"{key}[{i}]"] = parse_expression(box.filter, location=source.location(base + (key, i, "filter")))
    return found


def _check_arms(spec: FigureSpec, source: SpecSource, index: int, armcds: list[str]) -> None:
    for key in ("treatment", "reference"):
        value = getattr(spec, key)
        if value is not None and value not in armcds:
            raise SpecError(f"figure {spec.id}: {key} '{value}' is not an arm of the study",
                            location=source.location(("figures", index, key)),
                            hint="arms: " + ", ".join(armcds))
    if spec.treatment is not None and spec.treatment == spec.reference:
        raise SpecError(f"figure {spec.id}: treatment and reference are the same arm",
                        location=source.location(("figures", index, "reference")))


def validate_figure(doc: YamlDoc, raw: dict[str, Any], index: int) -> FigureSpec:
    """Validate one entry of ``figures`` by the model its ``kind`` names."""
    kind = raw.get("kind")
    model = KINDS.get(str(kind)) if kind is not None else None
    if model is None:
        raise SpecError(f"unknown figure kind {kind!r}" if kind is not None else "missing required key 'kind'",
                        location=doc.source.location(("figures", index, "kind") if kind is not None
                                                     else ("figures", index)),
                        key_path=f"figures[{index}].kind", hint="kinds: " + ", ".join(KINDS))
    return validate_model(model, doc, prefix=("figures", index), data=raw)  # type: ignore[return-value]


def load_figures_file(path: Path, armcds: list[str], *, root: Path | None = None) -> tuple[LoadedFigure, ...]:
    """Load and check one figures spec file; figures come back sorted by (order, id)."""
    doc = load_yaml(path, root=root)
    specs = validate_model(FiguresFile, doc)
    errors = ErrorList()
    loaded: list[LoadedFigure] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(specs.figures):
        try:
            fig = validate_figure(doc, raw, i)
            if fig.id in seen:
                raise SpecError(f"figure id {fig.id} is used twice (first at figures[{seen[fig.id]}])",
                                location=doc.source.location(("figures", i, "id")))
            seen[fig.id] = i
            _check_arms(fig, doc.source, i, armcds)
            loaded.append(LoadedFigure(fig, doc.source, i, _parse_filters(fig, doc.source, i)))
        except SpecErrors as exc:
            errors.errors.extend(exc.errors)
        except SpecError as exc:
            errors.add(exc)
    errors.raise_if_any()
    return tuple(sorted(loaded, key=lambda f: (f.spec.order, f.id)))


def load_figure_specs(study) -> tuple[LoadedFigure, ...]:  # study: tlfgen.spec.study.ResolvedStudy
    """The figures of a study folder (``specs/tlf/figures.yaml``); empty if the file is absent."""
    path = study.specs_dir / FIGURES_SPEC
    if not path.is_file():
        return ()
    figures = load_figures_file(path, [a.armcd for a in study.spec.study.arms], root=study.root)
    per_month = getattr(study.spec.study, "days_per_month", None)  # the study's month, unless the spec sets one
    return tuple(replace(f, spec=f.spec.model_copy(update={"months_divisor": per_month}))
                 if per_month and isinstance(f.spec, SwimmerFigure) and "months_divisor" not in f.spec.model_fields_set
                 else f for f in figures)
