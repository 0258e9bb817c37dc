"""Pipeline: runs the stages (raw -> SDTM -> ADaM -> TLF) for a study folder.

Each stage module exposes one ``run_*`` function taking a ``ResolvedStudy``
and returning a ``StageResult``: records in and out per dataset, findings and
outputs written. The pipeline knows nothing of the terminal; the CLI reports.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from tlfgen.spec.study import ResolvedStudy

if TYPE_CHECKING:
    import pandas as pd

    from tlfgen.io.metadata import DatasetMetadata

SEVERITIES = ("ERROR", "WARNING", "NOTE")


@dataclass(frozen=True)
class Finding:
    """One problem found in the data, with where it is and which rule found it."""

    severity: str  # ERROR, WARNING, NOTE
    rule: str  # rule id, e.g. "DATE-INVALID"
    message: str
    file: str | None = None  # raw file (or dataset) the problem is in
    row: int | None = None  # the file's line number (header = line 1; a raw record: the line it starts on)
    column: str | None = None
    value: str | None = None
    usubjid: str | None = None
    domain: str | None = None  # SDTM domain or ADaM dataset concerned
    action: str | None = None  # what the pipeline did: "rejected", "kept as partial", "set to missing"

    def sort_key(self) -> tuple:
        return (SEVERITIES.index(self.severity), self.file or "", self.row or 0, self.column or "", self.rule)


@dataclass
class DatasetCount:
    """Reconciliation for one input or output: rows in, out and rejected (with reasons)."""

    name: str
    rows_in: int = 0
    rows_out: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass
class StageResult:
    stage: str
    counts: list[DatasetCount] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "ERROR")


#: stage name -> "module:function"
STAGES: dict[str, str] = {
    "sdtm": "tlfgen.sdtm.run:run_sdtm",
    "adam": "tlfgen.adam.run:run_adam",
    "tlf": "tlfgen.tlf.run:run_tlf",
    "lineage": "tlfgen.lineage.run:run_lineage",
}


def stage_runner(name: str) -> Callable[[ResolvedStudy], StageResult]:
    module_name, func = STAGES[name].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, func)


#: the stages that follow the one running in this ``run_stages`` call (``stage_follows``)
_FOLLOWING: ContextVar[tuple[str, ...]] = ContextVar("tlfgen_following_stages", default=())


def stage_follows(name: str) -> bool:
    """True when the stage ``name`` runs later in this process's ``run_stages`` (so the running
    stage may prepare its work, e.g. the TLF stage starts the lineage while it writes)."""
    return name in _FOLLOWING.get()


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
    """Run ``stages`` in order; ``on_stage(name)`` before each, ``on_done(result)`` after each."""
    names = stages_to_run(study, stages)
    if study.start == "adam" and "lineage" in names:  # supplied ADaM: its records start the lineage
        from tlfgen.adam.supplied import write_supplied_adam_lineage

        write_supplied_adam_lineage(study)
    results = []
    if "sdtm" in names:
        check_raw_forms(study)
    try:
        for index, name in enumerate(names):
            if on_stage is not None:
                on_stage(name)
            # a stage hands its datasets on only when another stage follows in this process
            token = _FOLLOWING.set(tuple(names[index + 1:]))
            try:
                with stage_handoff(study, enabled=index + 1 < len(names)):
                    results.append(stage_runner(name)(study))
                if on_done is not None:
                    on_done(results[-1])
            finally:
                _FOLLOWING.reset(token)
    finally:
        study.cache.pop(HANDOFF_CACHE, None)
    return results


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


# ---------------------------------------------------------------- hand-off between stages
#
# In one process (``tlfgen run``) a stage takes the datasets the previous stage just wrote
# from memory instead of reading the XPT files back. What it gets is exactly the frame
# ``io.xpt.read_xpt`` would return (same values and dtypes); the entry is keyed by the file's
# path and guarded by its (mtime_ns, size) recorded right after the write, so a file changed
# on disk, or a stage run on its own, reads the file. Each entry is handed out once.

#: ``study.cache`` key of the hand-off entries: {absolute path: (stage, signature, frame or (data, metadata))}
HANDOFF_CACHE = "pipeline.handoff"
#: the cache writers publish into (``study.cache`` inside ``stage_handoff``; None: nothing is kept)
_CURRENT: ContextVar[dict | None] = ContextVar("tlfgen_stage_handoff", default=None)


@contextmanager
def stage_handoff(study: ResolvedStudy, enabled: bool = True) -> Iterator[None]:
    """Scope in which ``publish_written`` keeps datasets in ``study.cache`` (``enabled``) or not.

    ``run_stages`` opens one per stage; the entries stay until ``run_stages`` ends.
    """
    token = _CURRENT.set(study.cache if enabled else None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _file_signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _handoff_key(path: Path) -> str:
    return str(Path(path).absolute())


def publish_written(stage: str, path: Path, data: pd.DataFrame, meta: DatasetMetadata, *,
                    build_now: bool = False) -> None:
    """Offer the dataset just written to ``path`` (XPT) to the next stages of this run.

    Does nothing outside ``stage_handoff``. Call right after the write: the file's
    (mtime_ns, size) is recorded now. ``build_now`` builds the read frame at once (use it
    when ``data`` may still change); otherwise it is built when taken, and ``data`` must
    not be changed afterwards. ``meta``: the completed metadata that was written.
    In a child process of ``tlfgen.parallel`` the offer is collected (``collect_published``)
    and made by the parent when it takes the child's result (``publish_collected``).
    """
    cache = _CURRENT.get()
    signature = _file_signature(path)
    if cache is None or signature is None:
        return
    from tlfgen.io.xpt import create_read_frame

    payload = create_read_frame(data, meta) if build_now else (data.copy(deep=False), meta)
    if payload is None:
        return
    collected = _COLLECTED.get()
    if collected is not None:
        collected.append((stage, str(path), payload))
        return
    _offer(cache, stage, Path(path), signature, payload)


def _offer(cache: dict[str, Any], stage: str, path: Path, signature: tuple[int, int], payload: Any) -> None:
    cache.setdefault(HANDOFF_CACHE, {})[_handoff_key(path)] = (stage, signature, payload)


#: offers made in a child process, sent to the parent with the child's result (None: not collecting)
_COLLECTED: ContextVar[list | None] = ContextVar("tlfgen_handoff_collected", default=None)


@contextmanager
def collect_published() -> Iterator[list]:
    """Scope (a child process's work) in which ``publish_written`` collects its offers in the
    list yielded instead of keeping them: the child's copy of the cache dies with it."""
    collected: list = []
    token = _COLLECTED.set(collected)
    try:
        yield collected
    finally:
        _COLLECTED.reset(token)


def publish_collected(collected: Iterable[tuple[str, str, Any]]) -> None:
    """Make here the offers a child process collected (its files are written by now)."""
    cache = _CURRENT.get()
    if cache is None:
        return
    for stage, path, payload in collected:
        signature = _file_signature(Path(path))
        if signature is not None:
            _offer(cache, stage, Path(path), signature, payload)


def take_written(cache: dict[str, Any] | None, path: Path) -> pd.DataFrame | None:
    """The frame ``read_xpt(path)[0]`` would give, from the stage that wrote ``path`` in this
    process; None when there is none, the file changed since, or it was already taken."""
    if cache is None:
        return None
    entries = cache.get(HANDOFF_CACHE)
    entry = entries.pop(_handoff_key(path), None) if entries else None
    if entry is None:
        return None
    _stage, signature, payload = entry
    if signature != _file_signature(path):
        return None
    from tlfgen.io.xpt import create_read_frame

    return create_read_frame(*payload) if isinstance(payload, tuple) else payload


def release_written(cache: dict[str, Any], stage: str, keep: Iterable[Path] = ()) -> None:
    """Drop the hand-off entries ``stage`` wrote, except those of the files ``keep``."""
    entries = cache.get(HANDOFF_CACHE)
    if not entries:
        return
    kept = {_handoff_key(p) for p in keep}
    for key in [k for k, (s, _, _) in entries.items() if s == stage and k not in kept]:
        del entries[key]
