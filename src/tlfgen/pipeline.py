"""Pipeline: runs the stages (raw -> SDTM -> ADaM -> TLF) for a study folder.

Each stage module exposes one ``run_*`` function taking a ``ResolvedStudy``
and returning a ``StageResult``: records in and out per dataset, findings and
outputs written. The pipeline knows nothing of the terminal; the CLI reports.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, Iterable

from tlfgen.units import Unit, run_units

# the result types live below the stages; named here too (``from tlfgen.pipeline import Finding``)
from tlfgen.results import SEVERITIES, DatasetCount, Finding, StageResult  # noqa: F401
from tlfgen.spec.study import ResolvedStudy

#: stage name -> "module:function" running it on its own (``tlfgen sdtm`` runs the one-stage graph instead)
STAGES: dict[str, str] = {
    "sdtm": "tlfgen.sdtm.run:run_sdtm",
    "adam": "tlfgen.adam.run:run_adam",
    "tlf": "tlfgen.tlf.run:run_tlf",
    "lineage": "tlfgen.lineage.run:run_lineage",
}

#: stage name -> "module:function" declaring its work units, given the ids of those of the
#: stages before it in the same run (``tlfgen.units``)
STAGE_UNITS: dict[str, str] = {
    "sdtm": "tlfgen.sdtm.run:sdtm_units",
    "adam": "tlfgen.adam.run:adam_units",
    "tlf": "tlfgen.tlf.run:tlf_units",
    "lineage": "tlfgen.lineage.run:lineage_units",
}


#: units that need much memory of their own while they run (``Unit.heavy``: with workers, run in
#: a worker holding little, one at a time). Measured at 5,000 subjects: the explorer page about
#: 1.4-1.6 GiB above the process it runs in, the conformance checks (every SDTM and ADaM file
#: read) about 1.3-1.5 GiB. Named here because the lineage stage's declarations do not say it yet.
HEAVY_UNITS = frozenset({"lineage.html", "lineage.conformance"})


def _load(target: str) -> Callable[..., Any]:
    module_name, func = target.split(":")
    return getattr(importlib.import_module(module_name), func)


def stage_runner(name: str) -> Callable[[ResolvedStudy], StageResult]:
    return _load(STAGES[name])


def study_units(study: ResolvedStudy, names: Iterable[str]) -> list[Unit]:
    """One graph of work units for the stages ``names`` (in pipeline order): a stage takes what an
    earlier one makes in the same run (``adam.ADSL`` reads ``sdtm/dm.xpt`` once ``write.sdtm.DM``
    wrote it; the TLF units take the ADaM datasets built) and reads from disk what none makes."""
    from dataclasses import replace

    units: list[Unit] = []
    for name in names:
        declared = {u.id for u in units}
        units += _load(STAGE_UNITS[name])(study, declared)
    return [replace(u, heavy=True) if u.id in HEAVY_UNITS else u for u in units]


def stages_to_run(study: ResolvedStudy, stages: Iterable[str]) -> list[str]:
    """``stages`` without those whose datasets the study supplies (``study.start`` in study.yaml).

    Asking only for such stages (``tlfgen sdtm`` on a study that starts at SDTM) is a usage
    error: the supplied datasets are never rebuilt or overwritten.
    """
    from tlfgen.errors import SpecError

    names = list(stages)
    kept = [n for n in names if not study.supplies(n)]
    if names and not kept:
        raise SpecError(
            f"this study starts at {study.start.upper()}: its {'/'.join(n.upper() for n in names)} "
            "datasets are supplied, not built", location=study.source.location(("study", "start")),
            hint="run the later stages (tlfgen adam, tlfgen tlf, tlfgen run), or set study.start: raw")
    return kept


def check_raw_forms(study: ResolvedStudy) -> None:
    """Every raw form the SDTM specs read is in the study, unless its spec says ``optional: true``.

    A missing one stops the run before the SDTM stage starts (``DataError``, exit 1, even with
    ``--allow-data-errors``): mapping without it would silently change the results (a missing
    pr.csv moves the OS median from 24.51 to 45.73 months).
    """
    from tlfgen.errors import DataError
    from tlfgen.spec.check import load_stage_specs

    specs = load_stage_specs(study, "sdtm")
    readers: dict[str, list[str]] = {}
    for domain in specs.domains.values():
        for source in domain.spec.sources:
            readers.setdefault(source.form, []).append(domain.name)
    from tlfgen.raw.reader import check_inside_study

    for form in specs.forms.values():
        path = study.raw_dir / form.file
        if path.is_symlink():
            check_inside_study(path, study.root, study.display(study.raw_dir) + "/" + form.file)
        if form.name in readers and not getattr(form, "optional", False) and not path.is_file():
            domains = ", ".join(dict.fromkeys(readers[form.name]))
            raise DataError(
                f"raw form '{form.name}' ({form.label}) is missing; the SDTM specs read it for {domains}",
                file=study.display(path),
                hint=f"add {form.file} to {study.display(study.raw_dir)}/, or mark the form "
                     "'optional: true' in specs/sdtm/forms.yaml if a study may lack it")


def run_stages(study: ResolvedStudy, stages: Iterable[str],
               on_stage: Callable[[str], None] | None = None,
               on_done: Callable[[StageResult], None] | None = None) -> list[StageResult]:
    """Run ``stages`` as one graph of work units (``study_units``, ``units.run_units``); the stage
    results in pipeline order. ``on_stage(name)``: the stage is under way (the first at the start,
    each next one when the one before it is done); ``on_done(result)``: as each stage's result is."""
    names = stages_to_run(study, stages)
    if study.start == "adam" and "lineage" in names:  # supplied ADaM: its records start the lineage
        from tlfgen.adam.supplied import write_supplied_adam_lineage

        write_supplied_adam_lineage(study)
    if "sdtm" in names:
        check_raw_forms(study)
    if not names:
        return []
    units = study_units(study, names)
    announced = [names[0]]
    if on_stage is not None:
        on_stage(names[0])

    def on_unit(unit_id: str, value: Any) -> None:
        if unit_id not in names:
            return
        if on_done is not None:
            on_done(value)
        following = [n for n in names if n not in announced]
        if following:
            announced.append(following[0])
            if on_stage is not None:
                on_stage(following[0])

    values = run_units(units, names, on_unit=on_unit)
    return [values[name] for name in names]


@contextmanager
def published_run(study: ResolvedStudy) -> Iterator[tuple[ResolvedStudy, str | None]]:
    """Scope of one command's stages: yields the study as the run sees it, and the note of the
    recovery of an earlier interrupted command (or None).

    The yielded study is ``study`` with every folder moved into the staging area of
    ``io.generation.RunStaging`` (paths relative to its root unchanged). Leaving the block
    normally publishes every output root (sdtm, adam, outputs) in one step; an error or an
    interrupt publishes nothing, and the error names the study's own paths.
    """
    from dataclasses import replace

    from tlfgen.errors import EnvironmentFault, TlfgenError
    from tlfgen.io.generation import RunStaging

    staging = RunStaging(study.root, outputs=[study.sdtm_dir, study.adam_dir, study.outputs_dir],
                         inputs=[study.raw_dir, study.specs_dir])
    with staging:
        staged = replace(study, root=staging.study_root, raw_dir=staging.staged(study.raw_dir),
                         sdtm_dir=staging.staged(study.sdtm_dir), adam_dir=staging.staged(study.adam_dir),
                         outputs_dir=staging.staged(study.outputs_dir),
                         specs_dir=staging.staged(study.specs_dir), cache={})
        try:
            yield staged, staging.note
        except TlfgenError as exc:
            exc.map_text(staging.unstaged_text)
            raise
        except OSError as exc:
            fault = EnvironmentFault.from_os_error(exc, staging.unstaged_text)
            if fault is None:
                raise
            raise fault from exc
