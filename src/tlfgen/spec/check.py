"""Spec layer: ``tlfgen check`` — load and resolve every spec and template without touching data."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from tlfgen.errors import ErrorList, SpecError, SpecErrors
from tlfgen.spec.study import ResolvedStudy

#: stage -> "module:function(study) -> loaded specs"; each loader resolves references and
#: raises SpecError (or SpecErrors) on the first pass that fails.
SPEC_LOADERS: tuple[tuple[str, str], ...] = (
    ("ct", "tlfgen.spec.ct:load_codelists"),
    ("sdtm", "tlfgen.spec.sdtm:load_sdtm_specs"),
    ("adam", "tlfgen.spec.adam:load_adam_specs"),
    ("tlf", "tlfgen.spec.tlf:load_tlf_specs"),
)


@dataclass(frozen=True)
class CheckedStage:
    stage: str
    items: int  # specs (or codelists, templates) checked


def loader(stage: str):
    for name, target in SPEC_LOADERS:
        if name == stage:
            module_name, func = target.split(":")
            return getattr(importlib.import_module(module_name), func)
    raise KeyError(stage)


def load_stage_specs(study: ResolvedStudy, stage: str) -> Any:
    """Load (once per study object) the specs of one stage.

    A stage whose datasets the study supplies (``study.start``) needs no specs: its specs are
    empty (SDTM: no forms.yaml, no domain specs).
    """
    if stage not in study.cache:
        study.cache[stage] = empty_specs(study, stage) if study.supplies(stage) else loader(stage)(study)
    return study.cache[stage]


def empty_specs(study: ResolvedStudy, stage: str) -> Any:
    """The specs of a stage the study does not run (its datasets are supplied)."""
    if stage == "sdtm":
        from tlfgen.spec.sdtm import SdtmSpecs

        return SdtmSpecs(forms={}, leading=(), subject_forms=(), domains={},
                         codelists=load_stage_specs(study, "ct"))
    from tlfgen.spec.adam import load_adam_spec_files

    return load_adam_spec_files([], root=study.root)  # "adam": no dataset is derived


def _add_new(errors: ErrorList, found: list[SpecError]) -> None:
    """Add errors not already reported (two stages may load the same file, e.g. specs/ct)."""
    seen = {str(e) for e in errors.errors}
    for err in found:
        if str(err) not in seen:
            seen.add(str(err))
            errors.add(err)


#: stage -> folders under specs/ holding its specs; a study without any of them skips the stage
#: (an SDTM-only study has no specs/adam, specs/tlf or specs/templates)
STAGE_FOLDERS = {"ct": ("ct",), "sdtm": ("sdtm",), "adam": ("adam",), "tlf": ("tlf", "templates")}


def stage_present(study: ResolvedStudy, stage: str) -> bool:
    """Whether the study has specs for ``stage`` (any of its folders under specs/)."""
    return any((study.specs_dir / d).is_dir() for d in STAGE_FOLDERS.get(stage, (stage,)))


def check_all(study: ResolvedStudy, stages: tuple[str, ...] | None = None) -> list[CheckedStage]:
    """Load every stage's specs (or those of ``stages``) the study has; collect the errors of all
    stages, then raise them together."""
    checked: list[CheckedStage] = []
    errors = ErrorList()
    for stage, target in SPEC_LOADERS:
        if (stages is not None and stage not in stages) or not stage_present(study, stage):
            continue
        if study.supplies(stage):
            continue  # the study starts later: these datasets are supplied, their specs not needed
        try:
            loaded = load_stage_specs(study, stage)
        except ModuleNotFoundError as exc:
            if exc.name != target.split(":")[0]:
                raise
            continue  # that stage's spec module is not part of this build
        except SpecErrors as exc:
            _add_new(errors, exc.errors)
            continue
        except SpecError as exc:
            _add_new(errors, [exc])
            continue
        checked.append(CheckedStage(stage, len(loaded) if hasattr(loaded, "__len__") else 1))
    errors.raise_if_any()
    return checked
