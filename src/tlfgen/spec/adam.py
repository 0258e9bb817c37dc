"""Spec layer (ADaM stage): models of ``specs/adam/<NAME>.yaml`` and their resolution.

Two stages, as everywhere in ``tlfgen.spec``: ``AdamSpec`` is the strict shape
of one file (unknown keys rejected); ``load_adam_specs`` resolves every file of
a study together: derivation names and arguments, expressions, references to
other datasets' variables, the variable-level dependency graph (cycle check),
the order of datasets and of steps. See docs/adam_engine.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tlfgen.errors import ErrorList, Location, SpecError
from tlfgen.io.metadata import DATA_TYPES, ORIGINS
from tlfgen.registry import Derivation, get_derivation
from tlfgen.spec.base import (
    SpecSource,
    StrictModel,
    closest,
    format_key_path,
    load_yaml,
    validate_model,
)
from tlfgen.spec.expr import parse_expression
from tlfgen.spec.graph import DependencyGraph

NAME = r"^[A-Z][A-Z0-9_]{0,7}$"
VarType = Literal["text", "integer", "float", "date", "datetime"]
Origin = Literal["Collected", "Derived", "Assigned", "Protocol", "Predecessor"]
assert set(VarType.__args__) <= set(DATA_TYPES) and set(Origin.__args__) <= set(ORIGINS)  # type: ignore[attr-defined]

_INPUT = re.compile(r"^(sdtm|adam)\.[A-Z][A-Z0-9]{1,7}$")
_EXPR_ARG = re.compile(r"^(filter|condition|join_filter|.*_filter|.*_condition)$")
#: derivations whose argument maps NAME: expression (each value parsed when the spec loads)
_EXPRESSION_MAPS = {"derive_vars_computed": "new_vars"}


class AdamStep(StrictModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    derive: str
    args: dict[str, Any] = Field(default_factory=dict)
    description: str = ""


class AdamVariable(StrictModel):
    name: str = Field(pattern=NAME)
    label: str = Field(max_length=40)
    type: VarType
    origin: Origin = "Derived"
    source: str | None = None
    method: str | None = None
    length: int | None = Field(default=None, ge=1, le=200)
    comment: str | None = None


class AdamValueLevel(StrictModel):
    variable: str = Field(pattern=NAME)
    where: dict[str, str] = Field(min_length=1, max_length=1)
    label: str
    type: VarType
    origin: Origin = "Derived"
    method: str | None = None
    source: str | None = None


class AdamSpec(StrictModel):
    dataset: str = Field(pattern=NAME)
    label: str = Field(max_length=40)
    class_: str = Field(alias="class")
    structure: str
    keys: list[str] = Field(min_length=1)
    inputs: list[str] = Field(default_factory=list)
    steps: list[AdamStep] = Field(min_length=1)
    variables: list[AdamVariable] = Field(min_length=1)
    value_level: list[AdamValueLevel] = Field(default_factory=list)

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, inputs: list[str]) -> list[str]:
        for item in inputs:
            if not _INPUT.match(item):
                raise ValueError(f"input '{item}' must look like sdtm.AE or adam.ADSL")
        return inputs

    @model_validator(mode="after")
    def _unique(self) -> "AdamSpec":
        names = [v.name for v in self.variables]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"variable {dup[0]} is declared twice")
        ids = [s.id for s in self.steps]
        dup = sorted({n for n in ids if ids.count(n) > 1})
        if dup:
            raise ValueError(f"step id {dup[0]} is used twice")
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise ValueError(f"key {missing[0]} is not a declared variable")
        return self


@dataclass(frozen=True)
class ResolvedStep:
    spec: AdamStep
    index: int
    derivation: Derivation
    requires: tuple[str, ...]
    produces: tuple[str, ...]
    location: Location


@dataclass
class ResolvedAdamSpec:
    """One ADaM spec with its source positions and steps in run order."""

    spec: AdamSpec
    source: SpecSource
    steps: list[ResolvedStep] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.dataset

    def variable_location(self, name: str) -> Location:
        for i, var in enumerate(self.spec.variables):
            if var.name == name:
                return self.source.location(("variables", i))
        return self.source.location(("variables",))


@dataclass
class AdamSpecs:
    """Every ADaM spec of a study, in run order, and the variable-level graph."""

    datasets: list[ResolvedAdamSpec]
    graph: DependencyGraph

    def __len__(self) -> int:
        return len(self.datasets)

    def __getitem__(self, name: str) -> ResolvedAdamSpec:
        for ds in self.datasets:
            if ds.name == name:
                return ds
        raise KeyError(name)


def _check_expressions(args: Any, source: SpecSource, key_path: tuple) -> None:
    """Parse every expression argument so a bad one is a spec error with file:line."""
    if isinstance(args, dict):
        for key, value in args.items():
            path = key_path + (key,)
            if isinstance(value, str) and _EXPR_ARG.match(str(key)):
                parse_expression(value, location=source.location(path))
            elif isinstance(value, (dict, list)):
                _check_expressions(value, source, path)
    elif isinstance(args, list):
        for i, item in enumerate(args):
            _check_expressions(item, source, key_path + (i,))


def _defaults(deriv: Derivation) -> dict[str, Any]:
    """The default values of a derivation's spec arguments (so requires/produces templates see them)."""
    return {arg.name: arg.default for arg in deriv.arguments() if not arg.required}


def resolve_steps(spec: AdamSpec, source: SpecSource) -> list[ResolvedStep]:
    """Look up each step's derivation, check its args and expressions, expand requires/produces."""
    steps = []
    for i, step in enumerate(spec.steps):
        loc = source.location(("steps", i, "derive"))
        deriv = get_derivation(step.derive, location=loc, key_path=format_key_path(("steps", i, "derive")))
        deriv.check_args(step.args, source=source, prefix=("steps", i, "args"))
        _check_expressions(step.args, source, ("steps", i, "args"))
        if step.derive in _EXPRESSION_MAPS and isinstance(step.args.get(_EXPRESSION_MAPS[step.derive]), dict):
            key = _EXPRESSION_MAPS[step.derive]  # NAME: expression (derive_vars_computed)
            for name, text in step.args[key].items():
                parse_expression(str(text), location=source.location(("steps", i, "args", key, name)))
        full = {**_defaults(deriv), **step.args}
        steps.append(ResolvedStep(
            spec=step, index=i, derivation=deriv,
            requires=tuple(dict.fromkeys(deriv.required_vars(full))),
            produces=tuple(dict.fromkeys(deriv.produced_vars(full))),
            location=source.location(("steps", i)),
        ))
    return steps


def step_node(dataset: str, step: ResolvedStep) -> str:
    return f"{dataset}.{step.spec.id}()"


def build_graph(specs: list[ResolvedAdamSpec]) -> DependencyGraph:
    """Variable-level graph over all specs; checks every reference. Raises SpecError."""
    graph = DependencyGraph()
    declared = {ds.name: [v.name for v in ds.spec.variables] for ds in specs}
    for ds in specs:
        produced_here: dict[str, list[ResolvedStep]] = {}
        for step in ds.steps:
            for var in step.produces:
                produced_here.setdefault(var, []).append(step)
        for step in ds.steps:
            node = step_node(ds.name, step)
            graph.add_node(node, location=step.location)
            for var in step.produces:
                graph.add_node(f"{ds.name}.{var}", location=step.location)
                graph.add_edge(node, f"{ds.name}.{var}")
            for req in step.requires:
                parent = _requirement_node(ds, step, req, declared, produced_here)
                if parent is not None:
                    graph.add_edge(parent, node)
        for i, var in enumerate(ds.spec.variables):
            if var.name not in produced_here:
                raise SpecError(
                    f"{ds.name}.{var.name} is declared but no step produces it",
                    location=ds.source.location(("variables", i)),
                    hint="add a step that derives it (e.g. derive_vars_merged for a copied variable)",
                )
    graph.order()  # raises on a cycle
    return graph


def _requirement_node(ds: ResolvedAdamSpec, step: ResolvedStep, req: str,
                      declared: dict[str, list[str]], produced_here: dict[str, list[ResolvedStep]]) -> str | None:
    loc = ds.source.location(("steps", step.index, "args"))
    parts = req.split(".")
    if len(parts) == 1:
        if req in step.produces:
            return None  # a step updating its own output
        if req not in produced_here:
            near = closest(req, list(produced_here))
            raise SpecError(
                f"step '{step.spec.id}' ({step.spec.derive}) needs {ds.name}.{req}, which no step of "
                f"{ds.name} produces",
                location=loc,
                hint=("did you mean " + " or ".join(near) + "?") if near else
                "derive it in an earlier step or read it from an input (adam.ADSL.VAR)",
            )
        return f"{ds.name}.{req}"
    if len(parts) != 3 or parts[0] not in ("sdtm", "adam"):
        raise SpecError(f"step '{step.spec.id}' needs '{req}', which is not a variable reference",
                        location=loc, hint="write sdtm.DOMAIN.VAR, adam.DATASET.VAR or a plain VAR")
    stage, name, var = parts
    if f"{stage}.{name}" not in ds.spec.inputs:
        raise SpecError(
            f"step '{step.spec.id}' reads {stage}.{name}, which is not listed in inputs",
            location=loc, hint=f"add {stage}.{name} to inputs: {ds.spec.inputs}",
        )
    if stage == "sdtm":
        return f"sdtm.{name}.{var}"
    if name not in declared:
        raise SpecError(f"step '{step.spec.id}' reads adam.{name}, which has no spec",
                        location=loc, hint="known ADaM datasets: " + ", ".join(sorted(declared)))
    if var not in declared[name]:
        near = closest(var, declared[name])
        raise SpecError(
            f"step '{step.spec.id}' needs adam.{name}.{var}, which {name} does not declare",
            location=loc,
            hint=("did you mean " + " or ".join(near) + "?") if near else f"declare {var} in {name}'s variables",
        )
    return f"{name}.{var}"


def order_datasets(specs: list[ResolvedAdamSpec]) -> list[ResolvedAdamSpec]:
    """ADSL first, then by adam.* inputs (a cycle between datasets is a spec error)."""
    graph = DependencyGraph()
    by_name = {ds.name: ds for ds in specs}
    for ds in specs:
        graph.add_node(ds.name, location=ds.source.location(("inputs",)))
        for item in ds.spec.inputs:
            stage, name = item.split(".")
            if stage == "adam":
                if name not in by_name:
                    near = closest(name, by_name)
                    raise SpecError(f"input adam.{name} has no spec in specs/adam/",
                                    location=ds.source.location(("inputs",)),
                                    hint=("did you mean " + " or ".join(near) + "?") if near else None)
                graph.add_edge(name, ds.name)
        if ds.name != "ADSL" and "ADSL" in by_name:
            graph.add_edge("ADSL", ds.name)
    return [by_name[n] for n in graph.order()]


def order_steps(ds: ResolvedAdamSpec, graph: DependencyGraph) -> list[ResolvedStep]:
    """Steps in dependency order; ties keep the spec order."""
    nodes = {step_node(ds.name, s): s for s in ds.steps}
    deps: dict[str, set[str]] = {}
    for node in nodes:
        ups = set(graph.upstream(node))
        deps[node] = {n for n in ups if n in nodes}
    ordered: list[ResolvedStep] = []
    done: set[str] = set()
    pending = list(nodes)
    while pending:
        for node in pending:
            if deps[node] <= done:
                ordered.append(nodes[node])
                done.add(node)
                pending.remove(node)
                break
        else:  # pragma: no cover - build_graph has already refused cycles
            raise SpecError(f"cannot order the steps of {ds.name}", location=ds.source.location(("steps",)))
    return ordered


def load_adam_spec_files(paths: list, *, root=None) -> AdamSpecs:
    errors = ErrorList()
    resolved: list[ResolvedAdamSpec] = []
    for path in paths:
        try:
            doc = load_yaml(path, root=root)
            spec = validate_model(AdamSpec, doc)
            if path.stem.upper() != spec.dataset:
                raise SpecError(f"file {path.name} holds dataset {spec.dataset}",
                                location=doc.source.location(("dataset",)),
                                hint=f"name the file {spec.dataset}.yaml")
            resolved.append(ResolvedAdamSpec(spec, doc.source, resolve_steps(spec, doc.source)))
        except SpecError as exc:
            errors.errors.extend(getattr(exc, "errors", [exc]))
    errors.raise_if_any()
    graph = build_graph(resolved)
    ordered = order_datasets(resolved)
    for ds in ordered:
        ds.steps = order_steps(ds, graph)
    return AdamSpecs(ordered, graph)


def load_adam_specs(study) -> AdamSpecs:
    """Load and resolve every ``specs/adam/*.yaml`` of a study (``tlfgen check`` calls this)."""
    return load_adam_spec_files(study.spec_files("adam"), root=study.root)
