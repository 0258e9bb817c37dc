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

In a pool, and on Dask with ``granularity="study"``, each study is one task and runs in one
process (``TLFGEN_JOBS=1`` inside it): the backend spreads the studies over the cores instead.
On Dask with ``granularity="unit"`` each study's work units (``tlfgen.units``) are Dask tasks of
their own (``run_study_as_units``), so one large study spreads over the workers and the units of
a portfolio's studies interleave. The bytes a study writes do not depend on the backend, the
granularity, nor on the order the studies finish in (tests/test_executor.py).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from tlfgen.errors import UsageError
from tlfgen.results import StageResult

if TYPE_CHECKING:
    from tlfgen.spec.study import ResolvedStudy
    from tlfgen.units import Unit

BACKENDS = ("inprocess", "processes", "dask")
#: what one Dask task is: a whole study, or one of its work units
GRANULARITIES = ("study", "unit")
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
    return _run_study(unit, None)


#: ``around(staged study, stages)``: a context the stages run in (``_units_on_dask``)
Around = Callable[["ResolvedStudy", tuple[str, ...]], AbstractContextManager[None]]


def _run_study(unit: StudyUnit, around: Around | None) -> StudyOutcome:
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
                with around(staged, unit.stages) if around is not None else nullcontext():
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
                  scheduler: str | None = None, on_done: OnDone | None = None,
                  granularity: str = "study") -> list[StudyOutcome]:
    """Run every unit on ``backend``; the outcomes in the order of ``units``.

    ``granularity`` (Dask only): ``study``, one Dask task per study; ``unit``, one per work unit.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}'", hint="use one of: " + ", ".join(BACKENDS))
    if jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    if scheduler is not None and backend != "dask":
        raise UsageError("--scheduler names a Dask scheduler", hint="add --backend dask")
    if granularity not in GRANULARITIES:
        raise UsageError(f"unknown granularity '{granularity}'", hint="use one of: " + ", ".join(GRANULARITIES))
    if granularity != "study" and backend != "dask":
        raise UsageError(f"--granularity {granularity} schedules work units on Dask", hint="add --backend dask")
    units = list(units)
    if backend == "inprocess":
        outcomes = []
        for unit in units:
            outcomes.append(run_study(unit))
            if on_done is not None:
                on_done(outcomes[-1], len(outcomes), len(units))
        return outcomes
    if granularity == "unit":  # TLFGEN_JOBS is not read: the study's units go to the cluster
        return _run_on_dask([StudyUnit(u.root, u.stages) for u in units], jobs, scheduler, on_done,
                            run_study_as_units, priority=-1)
    units = [StudyUnit(u.root, u.stages, jobs=1) for u in units]  # the backend spreads the studies
    if backend == "processes":
        return _run_in_pool(units, jobs, on_done)
    return _run_on_dask(units, jobs, scheduler, on_done, run_study)


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


def _run_on_dask(units: list[StudyUnit], jobs: int, scheduler: str | None, on_done: OnDone | None,
                 task: Callable[[StudyUnit], StudyOutcome], priority: int = 0) -> list[StudyOutcome]:
    """``task`` of each unit on Dask (``priority`` -1 for a study's driver task: its own unit tasks,
    priority 0, come before the next study's start, so fewer studies are held in memory at once
    and an idle worker still starts the next study)."""
    try:
        import logging

        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise UsageError("the dask backend needs Dask distributed, which is not installed",
                         hint="pip install 'tlfgen[dask]'") from exc
    cluster = None
    if scheduler is None:
        # ":0": the scheduler's HTTP routes on a free port (None means 8787, and a warning when another
        # cluster on the machine holds it)
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = client.map(task, units, pure=False, priority=priority)
            index = {f.key: i for i, f in enumerate(futures)}
            return _collect(((index[f.key], f.result()) for f in as_completed(futures)), len(units), on_done)
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}",
                         hint="start it (dask scheduler) or check the address") from exc
    finally:
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------- Dask: one task per work unit


@dataclass(frozen=True)
class _StudyRef:
    """What a Dask worker needs to run a unit of a study: the study as the run sees it (staged
    folders, no cached specs) and the stages, from which it declares the same units again."""

    token: str
    study: "ResolvedStudy"
    names: tuple[str, ...]


def run_study_as_units(unit: StudyUnit) -> StudyOutcome:
    """Dask task: run one study (as ``run_study``) whose work units are Dask tasks of their own.

    This task loads and checks the study, submits its units from the worker (``worker_client``,
    which frees the worker's thread while it waits), and writes the manifest and publishes the
    outputs once they are done.
    """
    return _run_study(unit, _units_on_dask)


@contextmanager
def _units_on_dask(staged: "ResolvedStudy", stages: tuple[str, ...]) -> Iterator[None]:
    """``units.run_units`` in this context sends the units to Dask (``units.RUNNER``)."""
    from tlfgen.pipeline import stages_to_run
    from tlfgen.units import RUNNER

    ref = _StudyRef(uuid.uuid4().hex, replace(staged, cache={}), tuple(stages_to_run(staged, stages)))
    token = RUNNER.set(partial(_run_units_on_dask, ref))
    try:
        yield
    finally:
        RUNNER.reset(token)
        _forget(ref.token)


#: per worker process: the units of the studies it ran a unit of, by ``_StudyRef.token`` (the last
#: ``_KEPT``; one forgotten is declared again if needed)
_GRAPHS: "OrderedDict[str, dict[str, Unit]]" = OrderedDict()
_GRAPHS_LOCK = threading.Lock()
_KEPT = 32


def _remember(token: str, graph: dict[str, "Unit"]) -> None:
    with _GRAPHS_LOCK:
        _GRAPHS[token] = graph
        _GRAPHS.move_to_end(token)
        while len(_GRAPHS) > _KEPT:
            _GRAPHS.popitem(last=False)


def _forget(token: str) -> None:
    with _GRAPHS_LOCK:
        _GRAPHS.pop(token, None)


def _graph(ref: _StudyRef) -> dict[str, "Unit"]:
    """The study's units in this process: the driver's own, or declared again from the study."""
    with _GRAPHS_LOCK:
        graph = _GRAPHS.get(ref.token)
    if graph is None:
        from tlfgen.pipeline import study_units

        graph = {u.id: u for u in study_units(replace(ref.study, cache={}), ref.names)}
        _remember(ref.token, graph)
    return graph


def _run_unit(ref: _StudyRef, unit_id: str, *values: Any) -> Any:
    """Dask task: one work unit of a study, on its inputs' values."""
    from tlfgen.forks import run_one

    os.environ.setdefault("MPLBACKEND", "Agg")
    unit = _graph(ref)[unit_id]
    return run_one(unit, dict(zip(unit.inputs, values)))


def _cost_order(ordered: Sequence["Unit"], takers: dict[str, list[str]]) -> list["Unit"]:
    """``ordered`` as one process would start them: among units ready at once the most urgent, then
    the costliest first (``units.urgency``; Dask runs tasks submitted earlier first)."""
    import heapq

    from tlfgen.units import urgency

    urgent = urgency(ordered)
    index = {u.id: k for k, u in enumerate(ordered)}
    waiting = {u.id: len(u.inputs) for u in ordered}
    ready = [(-urgent[u.id], -u.cost, index[u.id]) for u in ordered if not u.inputs]
    heapq.heapify(ready)
    out: list[Unit] = []
    while ready:
        unit = ordered[heapq.heappop(ready)[-1]]
        out.append(unit)
        for taker in takers[unit.id]:
            waiting[taker] -= 1
            if not waiting[taker]:
                heapq.heappush(ready, (-urgent[taker], -ordered[index[taker]].cost, index[taker]))
    return out


def _home_units(ordered: Sequence["Unit"]) -> set[str]:
    """The units that run on the study's home worker: the ``main`` ones and those taking a ``main``
    unit's value, so a ``main`` value never leaves the worker that made it (the SDTM mapping
    context does not even pickle: it holds the specs' derivation functions)."""
    main = {u.id for u in ordered if u.main}
    return main | {u.id for u in ordered if any(name in main for name in u.inputs)}


def _run_units_on_dask(ref: _StudyRef, ordered: list["Unit"], wanted: set[str],
                       on_unit: Callable[[str, Any], None] | None) -> dict[str, Any]:
    """``units.run_units`` on Dask: one task per unit, its inputs' futures as dependencies.

    ``main`` units and the units taking their values run on this worker (the study's home, where
    this task runs, ``_home_units``): ``main`` values are large and taken by several units, so
    they stay where they were made. The others go where Dask places them, by default beside the
    largest of their inputs (a writer where its dataset is). Only the values ``wanted`` come back
    to this task; each other value is released once every unit taking it is done. The first
    failing unit's error is raised here, as in one process, after the study's units not yet
    started are cancelled (a unit already running elsewhere is not stopped).
    """
    from distributed import as_completed, get_worker, worker_client

    from tlfgen.units import consumers

    _remember(ref.token, {u.id: u for u in ordered})
    home = get_worker().address
    takers = consumers(ordered)
    by_id = {u.id: u for u in ordered}
    home_ids = _home_units(ordered)
    values: dict[str, Any] = {}
    with worker_client() as client:
        futures: dict[str, Any] = {}
        for unit in _cost_order(ordered, takers):
            futures[unit.id] = client.submit(
                _run_unit, ref, unit.id, *(futures[name] for name in unit.inputs), key=f"{unit.id}-{ref.token}",
                workers=[home] if unit.id in home_ids else None, allow_other_workers=False)
        ids = {f.key: unit_id for unit_id, f in futures.items()}
        left = {unit_id: len(names) for unit_id, names in takers.items()}
        try:
            for future in as_completed(list(futures.values())):
                unit_id = ids[future.key]
                if future.status != "finished":
                    future.result()  # raises the unit's error (or CancelledError)
                if unit_id in wanted:
                    values[unit_id] = future.result()
                if on_unit is not None:
                    on_unit(unit_id, values.get(unit_id))
                for name in (*by_id[unit_id].inputs, unit_id):
                    if name != unit_id:
                        left[name] -= 1
                    if not left[name] and name not in wanted:
                        futures.pop(name, None)  # no unit still to run takes it: Dask may free it
        except BaseException:
            client.cancel(list(futures.values()))
            raise
    return values
