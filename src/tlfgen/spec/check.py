"""Spec layer: ``tlfgen check`` — load and resolve every spec and template without touching data.

Besides each stage's specs it reads the header line (only) of every raw file the SDTM
specs use, so a column a spec names but the export lacks is a spec error before any
data row is read.
"""

from __future__ import annotations

import csv
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlfgen.errors import ErrorList, SpecError, SpecErrors
from tlfgen.spec.study import ResolvedStudy

#: stage -> "module:function(study) -> loaded specs"; each loader resolves references and
#: raises SpecError (or SpecErrors) on the first pass that fails.
SPEC_LOADERS: tuple[tuple[str, str], ...] = (
    ("ct", "tlfgen.spec.ct:load_codelists"),
    ("sdtm", "tlfgen.spec.sdtm:load_sdtm_specs"),
    ("raw", "tlfgen.spec.check:check_raw_headers"),
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
STAGE_FOLDERS = {"ct": ("ct",), "sdtm": ("sdtm",), "raw": ("sdtm",), "adam": ("adam",), "tlf": ("tlf", "templates")}


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
        if study.supplies("sdtm" if stage == "raw" else stage):
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


#: largest header line read from a raw file, in bytes
MAX_HEADER_BYTES = 1_000_000


def read_header(path: Path, *, upper: bool = True) -> list[str] | None:
    """The column names on line 1 of a raw CSV export (upper case, stripped; as written when not
    ``upper``), reading that line only.

    None when the file is empty or its header cannot be parsed: the raw reader reports that
    as a data problem (exit 1) when the run reads the file.
    """
    with open(path, "rb") as handle:
        line = handle.readline(MAX_HEADER_BYTES)
    text = line.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not text.strip():
        return None
    try:
        fields = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        return None
    return [f.strip().upper() for f in fields] if upper else fields


def check_raw_headers(study: ResolvedStudy) -> list[str]:
    """Every column the SDTM specs declare for a form their domains use is in that raw file's header.

    Before that, a raw file linked from outside the study is refused and a header naming one
    column twice (``AEOUT`` and ``aeout``) is an error (both ``DataError``, exit 1).

    Reads line 1 of each raw file only (an empty or unparseable header is left to the reader). A file that does not exist is left to the run (a missing
    form stops it, unless the form is optional). Returns the forms checked.
    """
    specs = load_stage_specs(study, "sdtm")
    used = {src.form for domain in specs.domains.values() for src in domain.spec.sources}
    errors = ErrorList()
    checked: list[str] = []
    where = specs.forms_source
    from tlfgen.io.rawfile import check_inside_study, unique_header

    for index, form in enumerate(specs.forms.values()):
        path = study.raw_dir / form.file
        if path.is_file() or path.is_symlink():
            check_inside_study(path, study.root, study.display(study.raw_dir) + "/" + form.file)
        if form.name not in used or not path.is_file():
            continue
        checked.append(form.name)
        header = read_header(path)
        if header is None:
            continue
        display = study.display(path)
        if len(set(header)) != len(header):  # AEOUT and aeout: the reader could not tell them apart
            unique_header(read_header(path, upper=False) or [], display)
        # the leading columns (STUDYID, SUBJID ...) are the export's own contract: a file without
        # them is broken data, which the raw reader reports (exit 1)
        for key, names in ((("forms", index, "columns"), list(form.columns)),):
            for j, column in enumerate(names):
                if column.upper() in header:
                    continue
                from tlfgen.spec.base import closest, format_key_path

                near = closest(column.upper(), header)
                users = _readers(specs, f"{form.name}.{column}")
                errors.add(SpecError(
                    f"raw file {display} has no column {column} (its header, line 1, has "
                    f"{', '.join(header) if header else 'no columns'})",
                    location=where.location(key + (j,)) if where is not None else None,
                    key_path=format_key_path(key + (j,)),
                    hint=(("did you mean " + " or ".join(near) + "?") if near
                          else f"add {column} to {display} or remove it from the form's columns")
                    + (f"; read by {', '.join(users)}" if users else ""),
                ))
    errors.raise_if_any()
    return checked


def _readers(specs: Any, source: str) -> list[str]:
    """Where the domain specs read ``form.FIELD`` (``DM.SEX at specs/sdtm/DM.yaml:14:5``)."""
    found = []
    for domain in specs.domains.values():
        for part in ("variables", "supp"):
            for j, rule in enumerate(getattr(domain.spec, part)):
                if getattr(rule, "source", None) == source:
                    name = getattr(rule, "name", None) or getattr(rule, "qnam", "")
                    found.append(f"{domain.name}.{name} at {domain.source.location((part, j, 'source'))}")
    return found
