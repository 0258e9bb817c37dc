"""Pipeline: runs a portfolio of studies, each study one unit of work, on a backend, with progress.

A unit (``StudyUnit``) is one study folder and the stages to run: ``run_study`` loads and
checks its specs, runs the stages (``pipeline.run_stages``) and writes its manifest, as
``tlfgen --study <folder> run`` does. It returns a ``StudyOutcome`` (picklable: it travels back
from a worker) and never raises: a study that fails is reported, the others still run.

Backends (``run_portfolio``):

- ``inprocess``: one study after another in this process (each study's work units shared with
  forked workers as usual, ``tlfgen.units``, ``TLFGEN_JOBS``);
- ``processes``: a local pool of ``jobs`` processes (spawned, not forked), one study per process
  at a time;
- ``dask``: a Dask distributed cluster (``pip install 'tlfgen[dask]'``): a ``LocalCluster`` of
  ``jobs`` single-threaded worker processes, or the scheduler at ``scheduler``
  (``tcp://host:8786``) of a real cluster, whose workers must have tlfgen and the study folders
  (a shared file system) and the same ``SOURCE_DATE_EPOCH``.

In a pool or on a cluster each study runs in one process (``TLFGEN_JOBS=1`` inside the unit):
the backend spreads the studies over the cores instead. The bytes a study writes do not depend
on the backend, nor on the order the studies finish in (tests/test_executor.py).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from tlfgen.errors import UsageError
from tlfgen.results import StageResult

BACKENDS = ("inprocess", "processes", "dask")
#: what ``tlfgen run`` runs
FULL_RUN = ("sdtm", "adam", "tlf", "lineage")


@dataclass(frozen=True)
class StudyUnit:
    """One study of a portfolio: its folder and the stages to run."""

    root: str
    stages: tuple[str, ...] = FULL_RUN
    jobs: int | None = None  # TLFGEN_JOBS inside the unit; None: as the environment says


@dataclass
class StudyOutcome:
    """What one study's run gave: the stage results, or the error that stopped it."""

    root: str
    results: list[StageResult] = field(default_factory=list)
    manifest: str | None = None
    error: str | None = None  # the message of the error that stopped the run
    exit_code: int = 0  # of that error: 1 data, 2 specs or usage, 3 a bug in tlfgen; 0 without one
    seconds: float = 0.0
    worker: str = ""  # where it ran (process id, or the Dask worker's address)

    @property
    def data_errors(self) -> int:
        """Error findings in the data (exit 1 unless --allow-data-errors)."""
        return sum(r.errors for r in self.results)


@contextmanager
def _jobs(value: int | None) -> Iterator[None]:
    from tlfgen.units import JOBS_ENV

    old = os.environ.get(JOBS_ENV)
    if value is not None:
        os.environ[JOBS_ENV] = str(value)
    try:
        yield
    finally:
        if value is not None:
            if old is None:
                os.environ.pop(JOBS_ENV, None)
            else:
                os.environ[JOBS_ENV] = old


def run_study(unit: StudyUnit) -> StudyOutcome:
    """Run one study (specs checked, stages, manifest); an error ends it and is returned, not raised."""
    from tlfgen.errors import TlfgenError
    from tlfgen.lineage.manifest import manifest_path, write_manifest
    from tlfgen.pipeline import published_run, run_stages
    from tlfgen.spec.check import check_all
    from tlfgen.spec.study import load_study

    os.environ.setdefault("MPLBACKEND", "Agg")
    start = time.perf_counter()
    outcome = StudyOutcome(unit.root, worker=_where())
    with _jobs(unit.jobs):
        try:
            study = load_study(Path(unit.root))
            with published_run(study) as (staged, _recovered):  # all outputs or none (io.generation)
                check_all(staged)
                outcome.results = run_stages(staged, unit.stages)
                write_manifest(staged)
            outcome.manifest = str(manifest_path(study))
        except TlfgenError as exc:
            outcome.error, outcome.exit_code = str(exc), exc.exit_code
        except Exception as exc:  # noqa: BLE001 - a bug: reported with the others, as an internal error
            outcome.error, outcome.exit_code = f"internal error: {type(exc).__name__}: {exc}", 3
    outcome.seconds = time.perf_counter() - start
    return outcome


def _where() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


#: ``on_done(outcome, finished, total)``: called in this process as each study finishes
OnDone = Callable[[StudyOutcome, int, int], None]


def run_portfolio(units: Sequence[StudyUnit], *, backend: str = "inprocess", jobs: int = 1,
                  scheduler: str | None = None, on_done: OnDone | None = None) -> list[StudyOutcome]:
    """Run every unit on ``backend``; the outcomes in the order of ``units``."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}'", hint="use one of: " + ", ".join(BACKENDS))
    if jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    if scheduler is not None and backend != "dask":
        raise UsageError("--scheduler names a Dask scheduler", hint="add --backend dask")
    units = list(units)
    if backend == "inprocess":
        outcomes = []
        for unit in units:
            outcomes.append(run_study(unit))
            if on_done is not None:
                on_done(outcomes[-1], len(outcomes), len(units))
        return outcomes
    units = [StudyUnit(u.root, u.stages, jobs=1) for u in units]  # the backend spreads the studies
    if backend == "processes":
        return _run_in_pool(units, jobs, on_done)
    return _run_on_dask(units, jobs, scheduler, on_done)


def _collect(pairs: Iterator[tuple[int, StudyOutcome]], total: int, on_done: OnDone | None) -> list[StudyOutcome]:
    outcomes: list[StudyOutcome | None] = [None] * total
    for finished, (index, outcome) in enumerate(pairs, start=1):
        outcomes[index] = outcome
        if on_done is not None:
            on_done(outcome, finished, total)
    return outcomes  # type: ignore[return-value]


def _run_in_pool(units: list[StudyUnit], jobs: int, on_done: OnDone | None) -> list[StudyOutcome]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_study, unit): i for i, unit in enumerate(units)}
        return _collect(((futures[f], f.result()) for f in as_completed(futures)), len(units), on_done)


def _run_on_dask(units: list[StudyUnit], jobs: int, scheduler: str | None,
                 on_done: OnDone | None) -> list[StudyOutcome]:
    try:
        import logging

        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise UsageError("the dask backend needs Dask distributed, which is not installed",
                         hint="pip install 'tlfgen[dask]'") from exc
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = client.map(run_study, units, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            return _collect(((index[f.key], f.result()) for f in as_completed(futures)), len(units), on_done)
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}",
                         hint="start it (dask scheduler) or check the address") from exc
    finally:
        if cluster is not None:
            cluster.close()
