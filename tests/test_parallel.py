"""tlfgen.parallel: work in a forked child, its result and errors back in the parent."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from tlfgen import parallel
from tlfgen.errors import DataError, RenderError, TlfgenError
from tlfgen.parallel import WorkerError, can_fork, jobs, start_child

FORKS = can_fork()


def _pid_and_double(channel):
    value = channel.recv()
    return os.getpid(), value * 2


def test_child_returns_its_value_and_takes_what_the_parent_sends():
    child = start_child(_pid_and_double, name="test")
    child.send(21)
    pid, doubled = child.result()
    assert doubled == 42
    assert child.forked is FORKS
    assert (pid != os.getpid()) is FORKS
    assert child.result() == (pid, 42)  # asked again: the same value, no second run


def test_child_sees_the_parents_memory_at_the_fork():
    big = list(range(100_000))
    child = start_child(lambda channel: sum(big), name="test")
    assert child.result() == sum(range(100_000))


def test_tlfgen_error_in_the_child_is_raised_as_itself():
    def work(channel):
        raise DataError("ADSL has no TRTSDT", file="adam/adsl.xpt", row=3, column="TRTSDT", hint="derive it first")

    child = start_child(work, name="test")
    with pytest.raises(DataError) as info:
        child.result()
    assert info.value.message == "ADSL has no TRTSDT"
    assert info.value.hint == "derive it first"
    assert (info.value.file, info.value.row, info.value.column) == ("adam/adsl.xpt", 3, "TRTSDT")


def test_other_errors_in_the_child_come_back_as_a_worker_error_with_the_traceback_as_a_note():
    def work(channel):
        return {"a": 1}["b"]

    child = start_child(work, name="figure")
    expected = WorkerError if FORKS else KeyError  # in one process the bug is raised as itself
    with pytest.raises(expected) as info:
        child.result()
    assert not isinstance(info.value, TlfgenError)  # a bug, not a data or spec error: exit 3
    if FORKS:
        assert str(info.value) == "KeyError: 'b' (raised in the figure worker process)"
        (note,) = info.value.__notes__
        assert note.startswith("traceback in the figure worker process:\nTraceback (most recent call last)")
        assert "in work" in note and note.endswith("KeyError: 'b'")


@pytest.mark.skipif(not FORKS, reason="needs fork (Linux)")
def test_a_failing_parent_block_kills_the_child_and_reaps_it():
    started = time.monotonic()
    with pytest.raises(ValueError):
        with start_child(lambda channel: time.sleep(60), name="test") as child:
            assert child.forked
            raise ValueError("parent failed")
    assert time.monotonic() - started < 30
    assert multiprocessing.active_children() == []


@pytest.mark.skipif(not FORKS, reason="needs fork (Linux)")
def test_a_child_that_dies_without_a_result_is_an_error_naming_it():
    child = start_child(lambda channel: os._exit(3), name="writer")
    with pytest.raises(RenderError, match=r"writer worker process ended without a result \(exit code 3\)"):
        child.result()


def test_jobs_one_runs_the_work_in_this_process_when_asked(monkeypatch):
    monkeypatch.setenv("TLFGEN_JOBS", "1")
    assert jobs() == 1 and not can_fork()
    ran = []
    child = start_child(lambda channel: ran.append(channel.recv()) or os.getpid(), name="test")
    assert ran == []  # deferred until its result is asked for
    child.send("x")
    assert child.result() == os.getpid() and ran == ["x"] and not child.forked


@pytest.mark.parametrize("text, expected", [("", 2), ("1", 1), ("4", 4), ("0", 2), ("two", 2), ("-1", 2)])
def test_jobs_reads_the_environment_variable(monkeypatch, text, expected):
    monkeypatch.setenv("TLFGEN_JOBS", text)
    assert jobs() == expected


@pytest.mark.skipif(not FORKS, reason="needs fork (Linux)")
def test_a_child_does_not_fork_again():
    child = start_child(lambda channel: (parallel.can_fork(), start_child(lambda c: os.getpid(), "inner").forked),
                        name="outer")
    assert child.result() == (False, False)


@pytest.mark.skipif(not FORKS, reason="needs fork (Linux)")
def test_a_child_dies_with_its_killed_parent(tmp_path):
    """SIGKILL of the run (or the OOM killer) must not leave its child writing files."""
    import subprocess
    import sys

    marker = tmp_path / "written-after-the-parent-died"
    code = ("import os, signal, time\n"
            "from pathlib import Path\n"
            "from tlfgen.parallel import start_child\n"
            f"marker = Path({str(marker)!r})\n"
            "child = start_child(lambda channel: time.sleep(1.5) or marker.write_text('x'), name='test')\n"
            "time.sleep(0.3)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -9
    time.sleep(2.5)
    assert not marker.exists()
