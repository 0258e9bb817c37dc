"""Stage services: a study's work units shared between this process and forked workers (Linux).

``run_forked`` is what ``units.run_units`` uses with more than one job. This process and up to
``jobs - 1`` worker processes each take (claim, in a table in shared memory) the next unit whose
inputs they hold, the costliest first, a unit's takers right after it (a writer runs where its
dataset was made, so the dataset never travels). A worker is forked when at least two units are
ready: it starts with a copy of this process's memory (the values made so far are simply there:
nothing is pickled on the way in), runs what it can with them and its own values, and ends
sending back only the values a unit outside it, or the caller, still needs. Units marked
``main`` run here only.

Rules kept from the stage runners' hand-written children:

- an error in a worker is raised again here: a ``TlfgenError`` as itself (an ``OSError`` of the
  environment, a full disk, first becomes an ``EnvironmentFault``), anything else (a bug) as a
  ``WorkerError`` naming the original exception with the worker's traceback as a note, so the
  command line reports it as the same bug in one process ("internal error", exit 3);
- when a unit fails (here or in a worker) every other worker is killed and reaped; a worker
  whose parent is killed (SIGKILL) is killed by the kernel: no stray process writes after the
  run has stopped;
- workers write files only through ``io.atomic`` and leave with ``os._exit`` (no teardown of
  the copied datasets, no flushing of a stdout lock held at the fork).
"""

from __future__ import annotations

import gc
import os
import traceback
from typing import Any, Callable, Mapping, Sequence

from tlfgen.errors import RenderError, TlfgenError
from tlfgen.gc_pause import paused_gc

#: a ``units.Unit`` (id, inputs, run, cost, main, heavy); not imported: ``units`` imports this module
Unit = Any

#: True in a worker process: it never forks workers of its own
IN_WORKER = False


class WorkerError(Exception):
    """A bug (not a ``TlfgenError``) raised in a worker, raised again in the parent.

    Its message is the worker's last traceback line (``KeyError: 'b'``) and the unit's process;
    the whole traceback is attached as a note (printed with ``--debug``). Not a ``TlfgenError`` on
    purpose: the command line reports it as an internal error, exit 3, like the same bug in one process.
    """


def run_one(unit: Unit, values: dict[str, Any]) -> Any:
    """``unit.run`` on its inputs' values, the cyclic garbage collector paused meanwhile.

    The executor's garbage-collector policy: a unit builds many small containers (frames' cells,
    table cells, lineage records) and almost no reference cycles, so the collector would only
    scan them again and again while it runs (a third of the ADaM time at 5,000 subjects); what
    the unit leaves is scanned after it. Objects freed by reference counting are freed as usual.
    (Freezing the objects alive before each fork was measured: +207 MiB peak at 5,000 subjects,
    no time saved; not done.)
    """
    with paused_gc():
        return unit.run(*(values[name] for name in unit.inputs))


class _Graph:
    """The units, their takers and the shared claim table: what every process schedules with."""

    def __init__(self, ordered: Sequence[Unit], wanted: set[str], claims: Any, heavy_running: Any,
                 over: Any, urgent: Mapping[str, float] | None = None) -> None:
        self.units = list(ordered)
        self.index = {u.id: k for k, u in enumerate(self.units)}
        self.takers: dict[str, list[str]] = {u.id: [] for u in self.units}
        for unit in self.units:
            for name in unit.inputs:
                self.takers[name].append(unit.id)
        self.wanted = wanted
        self.claims = claims
        self.heavy_running = heavy_running  # shared: 1 while a worker runs a ``heavy`` unit
        self.over = over  # shared: 1 while more workers run than the jobs allow (``run_forked``)
        self.heavy = [u.heavy and not u.main for u in self.units]  # a ``main`` unit runs here all the same
        # the order units are claimed in, among those ready at once: the most urgent, then the costliest
        urgent = urgent or {}
        self.rank = [(-urgent.get(u.id, u.cost), -u.cost) for u in self.units]
        self.start = sorted(range(len(self.units)), key=lambda k: (self.rank[k], k))

    def ready(self, have: dict[str, Any], main: bool) -> list[int]:
        """Unclaimed units whose inputs are all in ``have`` (``main``: this process's units too)."""
        return [k for k in self.start if not self.claims[k] and (main or not self.units[k].main)
                and all(name in have for name in self.units[k].inputs)]

    def claim(self, have: dict[str, Any], main: bool, after: str | None) -> Unit | None:
        """Claim the next unit this process can run: the most urgent (``units.urgency``), then the
        costliest, among equals a taker of ``after``
        (a writer runs where, and right after, its dataset was made); here (``main``) the ``main``
        units first. A ``heavy`` unit only in a worker, and one at a time."""
        takers = set(self.takers[after]) if after is not None else set()
        with self.claims.get_lock():
            heavy_ok = not main and not self.heavy_running.value
            ready = [k for k in self.start if not self.claims[k] and (main or not self.units[k].main)
                     and (heavy_ok or not self.heavy[k]) and all(n in have for n in self.units[k].inputs)]
            if not ready:
                return None
            # this process takes the units only it may run first (the workers take the others)
            k = min(ready, key=lambda k: (main and not self.units[k].main, self.rank[k],
                                          self.units[k].id not in takers, k))
            self.claims[k] = 1
            if self.heavy[k]:
                self.heavy_running.value = 1
            return self.units[k]

    def claim_heavy(self, have: dict[str, Any]) -> Unit | None:
        """Claim, for a worker about to be forked, the first ``heavy`` unit ready with ``have``
        (none while one runs)."""
        with self.claims.get_lock():
            if self.heavy_running.value:
                return None
            k = next((k for k in self.start if self.heavy[k] and not self.claims[k]
                      and all(n in have for n in self.units[k].inputs)), None)
            if k is None:
                return None
            self.claims[k] = 1
            self.heavy_running.value = 1
            return self.units[k]

    def still_wanted_by_workers(self) -> set[str]:
        """The values some unclaimed unit a worker may run takes: a worker keeps its copies of
        these between its units (it may claim such a unit next), before any but a ``heavy`` one."""
        with self.claims.get_lock():
            return {name for k, u in enumerate(self.units) if not self.claims[k] and not u.main
                    for name in u.inputs}

    def heavy_done(self) -> None:
        with self.claims.get_lock():
            self.heavy_running.value = 0


def run_forked(ordered: Sequence[Unit], wanted: set[str], jobs: int,
               on_unit: Callable[[str, Any], None] | None = None,
               urgent: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Run ``ordered`` here and in up to ``jobs - 1`` forked workers; the values ``wanted``.

    ``urgent``: unit id -> urgency (``units.urgency``); without it a unit's urgency is its cost."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    graph = _Graph(ordered, wanted, ctx.Array("b", len(ordered)), ctx.Value("b", 0, lock=False),
                   ctx.Value("b", 0, lock=False), urgent)
    values: dict[str, Any] = {}
    left = {k: len(v) for k, v in graph.takers.items()}
    done: set[str] = set()
    workers: list[tuple[Any, Any]] = []

    freed = [False]  # values dropped since the heap was last trimmed

    def finish(unit_id: str) -> None:
        done.add(unit_id)
        if on_unit is not None:
            on_unit(unit_id, values.get(unit_id))
        for name in graph.units[graph.index[unit_id]].inputs:
            left[name] -= 1
            if not left[name] and name not in wanted:
                freed[0] |= values.pop(name, None) is not None
        if not left[unit_id] and unit_id not in wanted:
            freed[0] |= values.pop(unit_id, None) is not None

    def reap(block: bool) -> None:
        from multiprocessing.connection import wait

        ready = wait([conn for _, conn in workers]) if block else [c for _, c in workers if c.poll()]
        for process, conn in [w for w in workers if w[1] in ready]:
            workers.remove((process, conn))
            with paused_gc():  # the values come back as many new containers (the record links: ~1 M)
                sent, ran = _receive(process, conn)
            values.update(sent)
            for unit_id in ran:
                finish(unit_id)

    def start_worker(first: Unit | None = None) -> None:
        release_memory()  # the worker starts with this process's pages: as few as can be
        freed[0] = False
        parent_end, child_end = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_worker_main, args=(graph, values, child_end, os.getpid(), first),
                              name="tlfgen-worker", daemon=True)
        process.start()
        child_end.close()
        workers.append((process, parent_end))

    after: str | None = None
    try:
        while len(done) < len(graph.units):
            reap(block=False)
            # a heavy unit ready starts at once in a worker of its own, even when that is one
            # process more than the jobs: the other worker ends after the unit it is running
            # (``over``) instead of this longest unit waiting for it, or for this process to
            # end the unit it is about to claim
            if len(workers) < jobs and (heavy := graph.claim_heavy(values)) is not None:
                start_worker(heavy)
            while len(workers) < jobs - 1 and _worth_a_worker(graph, values):
                start_worker()
            graph.over.value = int(len(workers) > jobs - 1)
            unit = graph.claim(values, main=True, after=after)
            if unit is None:
                if len(done) == len(graph.units):  # the last ones came back from a worker just now
                    break
                if not workers:
                    raise RenderError("internal: no work unit can start and no worker is running")
                reap(block=True)
                after = None
                continue
            if freed[0]:  # the unit grows this process from the pages the dropped values left
                release_memory()
                freed[0] = False
            values[unit.id] = run_one(unit, values)
            finish(unit.id)
            after = unit.id
        while workers:  # those that found nothing to claim: reaped before their claim table is freed
            reap(block=True)
    except BaseException:
        for process, conn in workers:
            if process.is_alive():
                process.kill()
            process.join()
            conn.close()
        raise
    return {k: values[k] for k in wanted}


def _worth_a_worker(graph: _Graph, values: dict[str, Any]) -> bool:
    """Two units or more ready, one of them a worker may run: one for a worker, one for here."""
    ready = graph.ready(values, main=True)
    return len(ready) >= 2 and any(not graph.units[k].main for k in ready)


def _receive(process: Any, conn: Any) -> tuple[dict[str, Any], list[str]]:
    """A finished worker's values and units run; its error raised here."""
    try:
        try:
            status, payload, ran, text = conn.recv()
        except EOFError:
            process.join()
            raise RenderError(f"internal: a worker process ended without a result (exit code {process.exitcode})",
                              hint="run again with TLFGEN_JOBS=1 to do all the work in the main process") from None
    finally:
        conn.close()
    process.join()
    if status == "ok":
        return payload, ran
    if isinstance(payload, TlfgenError):
        raise payload
    error = WorkerError(f"{payload or 'error'} (raised in the worker process running {ran[0]})")
    error.add_note(f"traceback in the worker process running {ran[0]}:\n{text}")
    raise error


def shed_inherited(values: dict[str, Any], keep: set[str]) -> None:
    """In a worker: drop the values copied at the fork that the unit about to run does not take
    (``keep``: its inputs, the values this worker made and, before a unit that is not ``heavy``,
    those another unit a worker may run still takes), then give their pages back.

    The parent keeps them and runs what takes them, so nothing is lost; the worker only stops
    holding pages it will not read, so its memory is its own units' and theirs alone (a lineage
    unit of 1.3 GB ran in a worker that still held the 700 MiB of the parent's values and heap
    copied at the fork). The worker then claims only units whose inputs it kept.
    """
    dropped = [name for name in values if name not in keep]
    for name in dropped:
        del values[name]
    if dropped:
        release_memory()


def release_memory() -> None:
    """Return the heap pages freed so far to the kernel (glibc ``malloc_trim``; elsewhere nothing).

    Freed memory otherwise stays in the process (glibc keeps it for later allocations), counted
    in its RSS and, before a fork, copied into the worker's page tables."""
    global _TRIM
    if _TRIM is None:
        import ctypes

        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # pragma: no cover - not glibc
            _TRIM = False
    if _TRIM:
        _TRIM(0)


#: glibc's ``malloc_trim`` once looked up (False: not available)
_TRIM: Any = None


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this worker when its parent dies (SIGKILL, the OOM killer): a killed
    run must not go on writing files. Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def _worker_main(graph: _Graph, values: dict[str, Any], conn: Any, parent_pid: int, first: Unit | None) -> None:
    global IN_WORKER
    IN_WORKER = True
    die_with_parent(parent_pid)
    ran: list[str] = []
    mine: set[str] = set()
    current = "?"
    # the objects copied at the fork are never scanned by this process's collector: a scan writes
    # to every object it visits, which copies the page the parent shares with this process
    gc.freeze()
    try:
        after = None
        # ``first``: a heavy unit claimed for this worker; then, while no more workers run than
        # the jobs allow, the next unit it can claim
        while (unit := first or (None if graph.over.value else graph.claim(values, main=False, after=after))):
            first = None
            current = unit.id
            shed_inherited(values, keep=mine.union(unit.inputs, () if graph.heavy[graph.index[unit.id]]
                                                   else graph.still_wanted_by_workers()))
            values[unit.id] = run_one(unit, values)
            if graph.heavy[graph.index[unit.id]]:
                graph.heavy_done()
            ran.append(unit.id)
            mine.add(unit.id)
            for name in (*unit.inputs, unit.id):  # drop what only this process's units took
                if name in mine and name not in graph.wanted and all(t in mine for t in graph.takers[name]):
                    values.pop(name, None)
            after = unit.id
        sent = {k: values[k] for k in ran if k in values}
        message = ("ok", sent, ran, "")
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        if isinstance(exc, OSError):  # a full disk, no permission: the environment, not a bug
            from tlfgen.errors import EnvironmentFault

            exc = EnvironmentFault.from_os_error(exc) or exc
        text = "".join(traceback.format_exception(exc)).rstrip()
        last = traceback.format_exception_only(exc)[-1].strip()  # "KeyError: 'b'"
        message = ("error", exc if isinstance(exc, TlfgenError) else last, [current], text)
    try:
        conn.send(message)
    except Exception as exc:  # noqa: BLE001 - e.g. a value that cannot be pickled
        conn.send(("error", f"{type(exc).__name__}: {exc} (the worker's values could not be sent)",
                   [current], message[3]))
    finally:
        conn.close()
    os._exit(0)
