"""Stage services: work units, the declared pieces of work of one study, and running them.

A ``Unit`` is an id (``sdtm.DM``, ``write.sdtm.DM``, ``adam.ADSL``, ``tlf.T2``...), the ids of the
units whose values it takes (``inputs``, in order) and a function of those values alone
(``run(*values)``) returning a frame, a model, or for a writer the paths it wrote. A unit forks
nothing, caches nothing, does not touch the garbage collector and hands nothing to other units
except through its return value: what runs where, and when, is decided by ``run_units``.

``run_units(units, want)`` runs every unit in dependency order and returns the values of the
units ``want`` names. It keeps each value in memory only while a unit still to run takes it.
With one job (``TLFGEN_JOBS=1``, or not on Linux) it runs them one after another in this
process; with more it shares them with forked worker processes (``tlfgen.forks``). The order
in which units run never changes what they return, so the bytes written do not depend on it.

Four hints steer the scheduling, never the values:

- ``cost``: among units ready at once, the most urgent starts first, then the costliest (the
  largest domain); a unit is as urgent as its own cost or the most urgent unit taking its value
  (``urgency``: a quick read the tables wait for goes before costlier work nothing waits for);
- ``main``: the unit runs in the calling process (its value is large and taken by several later
  units: shipping it back from a worker would cost more than it saves);
- ``imports``: modules the unit imports on first use. When the units share processes they are
  imported once here before the first worker is forked (a forked worker starts with its parent's
  modules; imported after the fork, scipy.stats, matplotlib and pyreadstat were imported by both
  processes: about 1.2 s CPU of the embedded run's 12-13 s, 8 interleaved pairs);
- ``heavy``: the unit needs much memory of its own while it runs (it reads every file of the
  study, or builds the explorer page of every output): with workers it runs in a worker, never in
  the calling process (which holds the values of the run), and never while another heavy unit
  runs (ignored for a ``main`` unit).
"""

from __future__ import annotations

import importlib
import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterable, Sequence

from tlfgen.errors import SpecError

#: environment variable: the processes a study may use (1: everything in this process)
JOBS_ENV = "TLFGEN_JOBS"


@dataclass(frozen=True)
class Unit:
    """One declared piece of work: ``run(*values of inputs)`` -> its value."""

    id: str
    inputs: tuple[str, ...]
    run: Callable[..., Any]
    cost: float = 0.0
    main: bool = False
    imports: tuple[str, ...] = ()
    heavy: bool = False


#: Hook (issue 23, the Dask unit mode of ``tlfgen.executor``): when set in the calling context,
#: ``run_units`` hands the ordered units to it, ``runner(ordered, wanted, on_unit) -> values``,
#: instead of running them here or in forked workers. Nothing in this module sets it.
RUNNER: ContextVar[Callable[[list["Unit"], set[str], Callable[[str, Any], None] | None], dict[str, Any]] | None] = \
    ContextVar("tlfgen_units_runner", default=None)


def jobs() -> int:
    """Processes a study may use: ``TLFGEN_JOBS`` (default 2; anything but a whole number >= 1 is 2)."""
    text = os.environ.get(JOBS_ENV, "").strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    return 2


def order_units(units: Sequence[Unit]) -> list[Unit]:
    """``units`` in an order where each comes after its inputs (declared order kept where free).

    An id declared twice, an input no unit produces or a circle of units is an error in the
    graph a stage built (a bug, not the user's): ``SpecError`` naming the unit.
    """
    by_id: dict[str, Unit] = {}
    for unit in units:
        if unit.id in by_id:
            raise SpecError(f"internal: work unit '{unit.id}' is declared twice")
        by_id[unit.id] = unit
    for unit in units:
        for name in unit.inputs:
            if name not in by_id:
                raise SpecError(f"internal: work unit '{unit.id}' takes '{name}', which no unit produces")
    done: set[str] = set()
    ordered: list[Unit] = []
    visiting: set[str] = set()

    def visit(unit: Unit) -> None:
        if unit.id in done:
            return
        if unit.id in visiting:
            raise SpecError(f"internal: work units form a circle through '{unit.id}'")
        visiting.add(unit.id)
        for name in unit.inputs:
            visit(by_id[name])
        visiting.discard(unit.id)
        done.add(unit.id)
        ordered.append(unit)

    for unit in units:
        visit(unit)
    return ordered


def consumers(units: Iterable[Unit]) -> dict[str, list[str]]:
    """Unit id -> ids of the units taking its value."""
    out: dict[str, list[str]] = {u.id: [] for u in units}
    for unit in units:
        for name in unit.inputs:
            out[name].append(unit.id)
    return out


def urgency(ordered: Sequence[Unit]) -> dict[str, float]:
    """Unit id -> its urgency: its ``cost``, or the urgency of a unit taking its value when higher.

    ``ordered``: inputs first (``order_units``). The order the units start in among those ready
    at once is (urgency, cost), highest first: a unit the costliest later work waits for is not
    left behind work of a middling cost that nothing waits for.
    """
    takers = consumers(ordered)
    out: dict[str, float] = {}
    for unit in reversed(ordered):
        out[unit.id] = max([unit.cost, *(out[name] for name in takers[unit.id])])
    return out


def run_units(units: Sequence[Unit], want: Iterable[str], *, jobs_: int | None = None,
              on_unit: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """Run ``units`` (each after its inputs); the values of the units ``want``, by id.

    ``jobs_``: processes to use (default ``jobs()``); ``on_unit(id, value)``: called in this
    process as each unit is known to be done (progress; ``value`` None when it stayed in a worker).
    """
    ordered = order_units(units)
    wanted = set(want)
    unknown = wanted - {u.id for u in ordered}
    if unknown:
        raise SpecError(f"internal: no work unit '{sorted(unknown)[0]}' to give a value for")
    runner = RUNNER.get()
    if runner is not None:
        return runner(ordered, wanted, on_unit)
    count = jobs() if jobs_ is None else jobs_
    if count > 1 and len(ordered) > 1 and can_fork():
        from tlfgen.forks import run_forked

        import_ahead(ordered)
        return run_forked(ordered, wanted, count, on_unit, urgent=urgency(ordered))
    return run_inline(ordered, wanted, on_unit)


def import_ahead(units: Iterable[Unit]) -> None:
    """Import every module the ``units`` declare (``Unit.imports``), in name order."""
    for name in sorted({module for unit in units for module in unit.imports}):
        importlib.import_module(name)


def can_fork() -> bool:
    """True when workers can be forked: Linux, and not already inside a worker."""
    from tlfgen import forks

    return sys.platform.startswith("linux") and hasattr(os, "fork") and not forks.IN_WORKER


def order_late(ordered: Sequence[Unit], wanted: Collection[str] = ()) -> list[Unit]:
    """``ordered`` (inputs first) rearranged so each unit runs as late as it can: just before the
    first unit that takes its value, depth first from the units ``wanted`` or taken by none, in
    their order (so the stages' result units, wanted, still come in pipeline order).

    In one process this keeps each value alive for the shortest stretch: a domain is mapped and
    then written before the next is mapped, a lineage piece is made just before the document that
    joins them, instead of every domain or piece being held at once.
    """
    by_id = {u.id: u for u in ordered}
    takers = consumers(ordered)
    seen: set[str] = set()
    late: list[Unit] = []

    def visit(unit: Unit) -> None:
        if unit.id in seen:
            return
        seen.add(unit.id)
        for name in unit.inputs:
            visit(by_id[name])
        late.append(unit)

    for unit in ordered:
        if unit.id in wanted or not takers[unit.id]:
            visit(unit)
    return late


def run_inline(ordered: Sequence[Unit], wanted: set[str],
               on_unit: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """Run ``ordered`` one after another in this process (``order_late``), each value dropped
    after its last taker."""
    from tlfgen.forks import release_memory, run_one

    left = {k: len(v) for k, v in consumers(ordered).items()}
    values: dict[str, Any] = {}
    freed = False  # values dropped since the heap was last trimmed
    for unit in order_late(ordered, wanted):
        if freed:  # the unit grows this process from the pages the dropped values left
            release_memory()
            freed = False
        values[unit.id] = run_one(unit, values)
        if on_unit is not None:
            on_unit(unit.id, values[unit.id])
        for name in unit.inputs:
            left[name] -= 1
            if not left[name] and name not in wanted:
                freed |= values.pop(name, None) is not None
        if not left[unit.id] and unit.id not in wanted:
            freed |= values.pop(unit.id) is not None
    return {k: values[k] for k in wanted}
