"""Work units: ordering, values kept only while needed, the same values in one process and with workers."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tlfgen.errors import DataError, SpecError
from tlfgen.forks import WorkerError
from tlfgen.units import Unit, can_fork, order_late, order_units, run_units, urgency

needs_fork = pytest.mark.skipif(not can_fork(), reason="needs fork (Linux)")


def counted() -> type:
    """A new class whose ``alive`` is the number of its instances not yet freed."""

    class Counted:
        alive = 0

        def __init__(self):
            type(self).alive += 1

        def __del__(self):
            type(self).alive -= 1

    return Counted


def _diamond(log: list | None = None) -> list[Unit]:
    def note(name, value):
        if log is not None:
            log.append((name, os.getpid()))
        return value

    return [
        Unit("sum", ("a", "b"), lambda a, b: note("sum", a + b)),
        Unit("a", ("base",), lambda base: note("a", base * 2), cost=5),
        Unit("b", ("base",), lambda base: note("b", base + 1), cost=9),
        Unit("base", (), lambda: note("base", 10)),
        Unit("write.a", ("a",), lambda a: note("write.a", f"a={a}")),
    ]


def test_1_order_puts_each_unit_after_its_inputs_and_keeps_declared_order_otherwise():
    assert [u.id for u in order_units(_diamond())] == ["base", "a", "b", "sum", "write.a"]


@pytest.mark.parametrize("units, message", [
    ([Unit("a", (), lambda: 1), Unit("a", (), lambda: 2)], "'a' is declared twice"),
    ([Unit("a", ("x",), lambda x: 1)], "'a' takes 'x', which no unit produces"),
    ([Unit("a", ("b",), lambda b: 1), Unit("b", ("a",), lambda a: 1)], "circle through 'a'"),
])
def test_2_a_broken_graph_is_named(units, message):
    with pytest.raises(SpecError, match=message):
        order_units(units)


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_3_values_are_those_worked_by_hand_whatever_the_jobs(jobs):
    # base 10 -> a 20, b 11 -> sum 31; write.a "a=20"
    assert run_units(_diamond(), ["sum", "write.a"], jobs_=jobs) == {"sum": 31, "write.a": "a=20"}


def test_4_in_one_process_a_value_is_dropped_after_its_last_taker():
    seen: dict[str, list] = {}

    Big = counted()

    units = [Unit("x", (), Big), Unit("y", ("x",), lambda x: Big.alive),
             Unit("z", ("y",), lambda y: seen.setdefault("z", [y, Big.alive]))]
    run_units(units, ["z"], jobs_=1)
    assert seen["z"] == [1, 0]  # x alive while y ran, gone when z ran


@needs_fork
def test_5_with_two_jobs_both_processes_work_and_a_writer_runs_where_its_input_was_made():
    def slow(value):
        time.sleep(0.3)  # long enough that the other process claims the other branch meanwhile
        return (value, os.getpid())

    units = [Unit("base", (), lambda: 1),
             Unit("a", ("base",), lambda base: slow("a")), Unit("b", ("base",), lambda base: slow("b")),
             Unit("write.a", ("a",), lambda a: (a[1], os.getpid())),
             Unit("write.b", ("b",), lambda b: (b[1], os.getpid()))]
    got = run_units(units, ["a", "b", "write.a", "write.b"], jobs_=2)
    assert got["a"][1] != got["b"][1] and os.getpid() in (got["a"][1], got["b"][1])
    assert got["write.a"][0] == got["write.a"][1] and got["write.b"][0] == got["write.b"][1]


@needs_fork
def test_6_a_main_unit_runs_in_the_calling_process():
    units = [Unit("base", (), lambda: 1)] + [
        Unit(f"u{k}", ("base",), lambda base: os.getpid(), main=True) for k in range(4)]
    got = run_units(units, [f"u{k}" for k in range(4)], jobs_=2)
    assert set(got.values()) == {os.getpid()}


@needs_fork
@pytest.mark.parametrize("jobs", [1, 2])
def test_7_a_data_error_in_a_unit_comes_back_as_itself(jobs):
    def fail(base):
        raise DataError("AE.csv has no header", file="raw/ae.csv")

    units = [Unit("base", (), lambda: 1), Unit("ok", ("base",), lambda base: time.sleep(0.2)),
             Unit("bad", ("base",), fail, cost=1)]
    with pytest.raises(DataError, match="AE.csv has no header") as info:
        run_units(units, ["ok", "bad"], jobs_=jobs)
    assert info.value.exit_code == 1


@needs_fork
def test_8_a_bug_in_a_worker_is_a_worker_error_with_the_traceback_and_the_others_are_killed(tmp_path):
    marker = tmp_path / "late"

    def late(base):
        time.sleep(3)
        marker.write_text("written after the failure")

    # this process holds the main unit while the two workers take the bug and the slow writer
    units = [Unit("base", (), lambda: 1), Unit("hold", ("base",), lambda base: time.sleep(1), cost=10, main=True),
             Unit("bug", ("base",), lambda base: {}["b"], cost=2), Unit("late", ("base",), late, cost=1)]
    with pytest.raises(WorkerError, match="KeyError: 'b'") as info:
        run_units(units, ["hold", "bug", "late"], jobs_=3)
    assert any("traceback in the worker process running bug" in n for n in info.value.__notes__)
    time.sleep(3.5)
    assert not marker.exists()  # the worker running "late" was killed and reaped


@needs_fork
def test_9_a_worker_killed_by_a_signal_is_reported_not_waited_for():
    units = [Unit("base", (), lambda: 1), Unit("hold", ("base",), lambda base: time.sleep(0.5), cost=10, main=True),
             Unit("die", ("base",), lambda base: os.kill(os.getpid(), signal.SIGKILL))]
    with pytest.raises(Exception, match="a worker process ended without a result \\(exit code -9\\)"):
        run_units(units, ["hold", "die"], jobs_=2)


@needs_fork
def test_10_a_worker_runs_a_graph_of_its_own_in_its_own_process():
    def nested(base):
        inner = [Unit("x", (), os.getpid), Unit("y", (), os.getpid), Unit("z", ("x", "y"), lambda x, y: (x, y))]
        return can_fork(), os.getpid(), run_units(inner, ["z"], jobs_=2)["z"]

    units = [Unit("base", (), lambda: 1), Unit("hold", ("base",), lambda base: time.sleep(0.5), cost=10, main=True),
             Unit("nested", ("base",), nested)]
    forks, pid, (x, y) = run_units(units, ["hold", "nested"], jobs_=2)["nested"]
    assert forks is False and pid != os.getpid() and x == y == pid


@needs_fork
def test_11_a_worker_dies_with_its_killed_parent(tmp_path):
    """SIGKILL of the run (or the OOM killer) must not leave a worker writing files."""
    import subprocess
    import sys

    marker = tmp_path / "written-after-the-parent-died"
    code = ("import os, signal, time\n"
            "from pathlib import Path\n"
            "from tlfgen.units import Unit, run_units\n"
            f"marker = Path({str(marker)!r})\n"
            "units = [Unit('base', (), lambda: 1),\n"
            "         Unit('kill', ('base',), lambda b: time.sleep(0.5) or os.kill(os.getpid(), signal.SIGKILL),\n"
            "              cost=10, main=True),\n"
            "         Unit('late', ('base',), lambda b: time.sleep(2) or marker.write_text('x'))]\n"
            "run_units(units, ['kill', 'late'], jobs_=2)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -9
    time.sleep(3)
    assert not marker.exists()


@needs_fork
@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_12_runs_one_after_another_never_share_a_worker(jobs):
    """A worker that found nothing to claim is reaped before the run returns: left running, it
    claimed units of the next run (the claim tables reuse the same shared memory)."""
    import multiprocessing

    for _ in range(25):
        assert run_units(_diamond(), ["sum", "write.a"], jobs_=jobs) == {"sum": 31, "write.a": "a=20"}
        assert multiprocessing.active_children() == []


def test_13_in_one_process_each_unit_runs_just_before_its_first_taker():
    """Two domains mapped and written: the first is written before the second is mapped, so one
    mapped domain is alive at a time (declared order would map both, then write both)."""
    log: list[tuple[str, int]] = []

    Mapped = counted()

    def step(name, made=None):
        def run(*_):
            log.append((name, Mapped.alive))
            return made() if made else name
        return run

    units = [Unit("forms", (), step("forms")),
             Unit("map.A", ("forms",), step("map.A", Mapped)), Unit("map.B", ("forms",), step("map.B", Mapped)),
             Unit("write.A", ("map.A",), step("write.A")), Unit("write.B", ("map.B",), step("write.B")),
             Unit("done", ("forms", "write.A", "write.B"), step("done"))]
    assert [u.id for u in order_late(order_units(units))] == ["forms", "map.A", "write.A", "map.B", "write.B", "done"]
    assert run_units(units, ["done"], jobs_=1) == {"done": "done"}
    # (unit, mapped domains alive when it started): never two at once
    assert log == [("forms", 0), ("map.A", 0), ("write.A", 1), ("map.B", 0), ("write.B", 1), ("done", 0)]


@needs_fork
def test_14_a_worker_holds_no_value_copied_at_the_fork_that_its_unit_does_not_take():
    """``big`` is alive in this process (a later unit here takes it); the worker running ``w``
    (which takes only ``small``) dropped its copy before running it: 0 alive there, 1 here."""
    Big = counted()

    def in_worker(small):
        return (os.getpid(), Big.alive, small)

    def here(big, small):
        time.sleep(0.5)  # long enough for the worker to claim ``w`` meanwhile
        return (os.getpid(), Big.alive)

    # big, small, then w and here are ready: a worker is forked (holding big and small) and takes w
    units = [Unit("big", (), Big, main=True), Unit("small", (), lambda: 7, main=True),
             Unit("w", ("small",), in_worker, cost=1.0),
             Unit("here", ("big", "small"), here, main=True),
             Unit("last", ("w", "here"), lambda w, here: (w, here), main=True)]
    (pid_w, alive_w, small), (pid_here, alive_here) = run_units(units, ["last"], jobs_=2)["last"]
    assert pid_here == os.getpid() and pid_w != os.getpid()
    assert (alive_w, small, alive_here) == (0, 7, 1)


@needs_fork
def test_15_heavy_units_run_in_workers_one_at_a_time():
    """Three heavy units ready at once with three jobs: none runs in this process and their
    running times never overlap (each logs its start and end in a file)."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="tlfgen-heavy-"))

    def heavy(name):
        def run(base):
            start = time.monotonic()
            time.sleep(0.3)
            (folder / name).write_text(f"{os.getpid()} {start} {time.monotonic()}")
            return name
        return run

    units = [Unit("base", (), lambda: 1)] + [Unit(f"h{k}", ("base",), heavy(f"h{k}"), heavy=True) for k in range(3)] \
        + [Unit("light", ("base",), lambda base: os.getpid())]
    got = run_units(units, ["h0", "h1", "h2", "light"], jobs_=3)
    assert [got[f"h{k}"] for k in range(3)] == ["h0", "h1", "h2"]
    spans = sorted(tuple(float(x) for x in (folder / f"h{k}").read_text().split()) for k in range(3))
    assert all(int(pid) != os.getpid() for pid, _, _ in spans)
    assert all(spans[k][2] <= spans[k + 1][1] for k in range(2))  # each ended before the next began


@needs_fork
def test_16_a_unit_both_main_and_heavy_runs_here():
    units = [Unit("base", (), lambda: 1), Unit("h", ("base",), lambda base: os.getpid(), main=True, heavy=True),
             Unit("w", ("base",), lambda base: os.getpid())]
    assert run_units(units, ["h", "w"], jobs_=2)["h"] == os.getpid()


def test_17_in_one_process_the_wanted_units_come_in_their_order():
    """``s1`` (wanted) is taken by ``s2``'s chain too: it still runs before ``s2``'s own inputs
    (the stage results are reported in pipeline order; s1's input is dropped after it)."""
    units = [Unit("a", (), lambda: 1), Unit("s1", ("a",), lambda a: a),
             Unit("b", (), lambda: 2), Unit("s2", ("b", "s1"), lambda b, s1: b + s1)]
    assert [u.id for u in order_late(order_units(units), {"s1", "s2"})] == ["a", "s1", "b", "s2"]
    assert [u.id for u in order_late(order_units(units))] == ["b", "a", "s1", "s2"]
    seen: list[str] = []
    run_units(units, ["s1", "s2"], jobs_=1, on_unit=lambda name, value: seen.append(name))
    assert seen == ["a", "s1", "b", "s2"]


@needs_fork
def test_18_a_unit_is_as_urgent_as_the_most_urgent_unit_waiting_for_it():
    """A quick read (cost 0) that a costly table (999) waits for goes before record work of cost
    17 that nothing waits for: at 5,000 subjects the main process built all 17 record blocks
    (14 s) before the 0.1 s read its five tables were waiting for."""
    units = [Unit("base", (), lambda: 1, main=True),
             Unit("records", ("base",), lambda base: "r", cost=17, main=True),
             Unit("read", ("base",), lambda base: "frame", main=True),
             Unit("table", ("read",), lambda frame: "t", cost=999, main=True),
             Unit("done", ("records", "table"), lambda r, t: r + t, main=True)]
    assert urgency(order_units(units)) == {"base": 999, "records": 17, "read": 999, "table": 999, "done": 0}
    seen: list[str] = []
    run_units(units, ["done"], jobs_=2, on_unit=lambda name, value: seen.append(name))  # every unit main: here
    assert seen == ["base", "read", "table", "records", "done"]


def test_19_the_sdtm_conformance_checks_wait_for_the_sdtm_stage_only():
    """In a whole run of the embedded study the SDTM conformance checks take only the SDTM stage's
    result, and, with the explorer page, are more urgent than every ADaM dataset: they run beside the
    ADaM stage (at 5,000 subjects 48 -> 38 s) instead of beside the explorer page at the end."""
    from pathlib import Path

    from tlfgen.pipeline import study_units
    from tlfgen.spec.study import load_study

    units = order_units(study_units(load_study(Path(__file__).resolve().parents[1]), ["sdtm", "adam", "tlf", "lineage"]))
    by_id = {u.id: u for u in units}
    assert by_id["lineage.conformance.sdtm"].inputs == ("sdtm",)
    assert by_id["lineage.conformance"].inputs == ("lineage.conformance.sdtm", "sdtm", "adam")
    urgent = urgency(units)
    assert urgent["sdtm"] >= max(urgent[u.id] for u in units if u.id.startswith("adam."))


def test_20_the_record_links_of_an_sdtm_domain_wait_for_the_sdtm_stage_only():
    """The record links of each SDTM domain (``lineage.records.<k>``, k >= 1) read only sdtm/ and its
    lineage files: they take the SDTM stage's result alone and can run beside the ADaM stage; the
    ADaM section (k = 0) waits for both stages."""
    from pathlib import Path

    from tlfgen.pipeline import study_units
    from tlfgen.spec.study import load_study

    units = order_units(study_units(load_study(Path(__file__).resolve().parents[1]), ["sdtm", "adam", "tlf", "lineage"]))
    records = {u.id: u.inputs for u in units if u.id.startswith("lineage.records.")}
    assert records.pop("lineage.records.0") == ("sdtm", "adam")
    assert len(records) == 16 and set(records.values()) == {("sdtm",)}


@needs_fork
def test_21_a_heavy_unit_starts_at_once_while_the_worker_and_this_process_are_busy():
    """``page`` (heavy) is ready when ``tables`` ends, while the one worker of two jobs runs a chain
    of light units and this process claims ``long``: it starts in a worker of its own at once
    (before, it waited 1.0 s for ``long`` to end), and the other worker ends after its current
    unit (``over``), so three processes overlap for at most one light unit."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="tlfgen-heavy-"))

    def timed(name, seconds):
        def run(*_):
            start = time.monotonic()
            time.sleep(seconds)
            (folder / name).write_text(f"{os.getpid()} {start} {time.monotonic()}")
            return name
        return run

    units = [Unit("base", (), lambda: 1, main=True),
             *(Unit(f"l{k}", ("base",), timed(f"l{k}", 0.4), cost=10.0) for k in range(4)),
             Unit("tables", ("base",), timed("tables", 0.2), main=True, cost=100.0),
             Unit("page", ("tables",), timed("page", 0.3), heavy=True, cost=2000.0),
             Unit("long", ("tables",), timed("long", 1.0), main=True)]
    run_units(units, ["page", "long", "l0", "l1", "l2", "l3"], jobs_=2)
    span = {p.name: tuple(float(x) for x in p.read_text().split()) for p in folder.iterdir()}
    assert span["page"][1] - span["tables"][2] < 0.5 < span["long"][2] - span["tables"][2]
    light_pids = {span[f"l{k}"][0] for k in range(4)}
    assert len(light_pids) >= 2  # the first worker ended after its unit; the rest ran elsewhere


@needs_fork
def test_22_a_worker_keeps_what_its_next_units_take_and_goes_on_with_them():
    """While this process runs a long unit, one worker writes ``DM`` and then maps the three other
    domains from ``forms``, one after another. Before, it dropped its copy of ``forms`` before
    writing DM (which does not take it: test 14's rule, now kept only before a heavy unit), so it
    ended after the write and the domains waited for this process (at 5,000 subjects the SDTM
    stage mapped every domain in the calling process)."""
    def mapped(forms, dm):
        time.sleep(0.2)
        return os.getpid()

    units = [Unit("forms", (), lambda: "forms", main=True),
             Unit("DM", ("forms",), lambda forms: "dm", main=True),
             Unit("write.DM", ("DM",), lambda dm: os.getpid(), cost=50.0),
             *(Unit(f"map.{k}", ("forms", "DM"), mapped, cost=10.0) for k in range(3)),
             Unit("here", ("DM",), lambda dm: time.sleep(1.0) or os.getpid(), main=True, cost=100.0)]
    got = run_units(units, ["here", "write.DM", "map.0", "map.1", "map.2"], jobs_=2)
    assert got["here"] == os.getpid() != got["write.DM"]
    assert {got[f"map.{k}"] for k in range(3)} == {got["write.DM"]}


def _collector_state() -> "CollectorProbe":
    import gc

    return CollectorProbe(gc.isenabled())


class CollectorProbe:
    """A value that notes, as it is unpickled, whether the cyclic garbage collector was on."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = enabled

    def __reduce__(self):
        return (_collector_state, ())


@needs_fork
def test_23_values_coming_back_from_a_worker_are_unpickled_with_the_collector_paused():
    """At 5,000 subjects the SDTM record links (about a million containers) came back from the
    worker while the collector ran: 0.9-1.4 s to unpickle them instead of 0.46 s."""
    import gc

    units = [Unit("base", (), lambda: 1, main=True),
             Unit("made", ("base",), lambda base: CollectorProbe()),
             Unit("here", ("base",), lambda base: time.sleep(0.5), main=True),
             Unit("done", ("made", "here"), lambda made, here: made.enabled, main=True)]
    assert gc.isenabled()
    assert run_units(units, ["done"], jobs_=2)["done"] is False
    assert gc.isenabled()
