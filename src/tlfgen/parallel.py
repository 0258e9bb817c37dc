"""Pipeline: independent parts of a stage in a forked child process (the second core).

``start_child(work)`` forks a child that runs ``work(channel)`` on a copy of the parent's
memory (nothing is pickled on the way in: the datasets already built are simply there),
and sends back ``work``'s return value. The parent goes on with its own part and later
calls ``child.result()``; ``child.send(obj)`` hands the child something computed
meanwhile (the child takes it with ``channel.recv()``).

Rules the callers keep:

- the child writes files only through ``io.atomic`` (a killed child leaves the previous
  file), and never the files the parent writes;
- what the child returns and receives is pickled: small results, or frames when that is
  cheaper than recomputing them; datasets it offers the next stages (``pipeline.publish_written``)
  come back with its result and are offered by the parent (``pipeline.publish_collected``);
- an error in the child is raised again in the parent by ``result()``: a ``TlfgenError``
  as itself (an ``OSError`` of the environment, a full disk, first becomes an ``EnvironmentFault``), anything else (a bug) as a ``WorkerError`` naming the original exception, with the
  child's traceback as a note, so the command line reports it as it reports the same bug in one
  process ("internal error", exit 3, the traceback only with --debug);
- used as a context manager, a child still running when the parent's block fails is
  killed and reaped, and a child whose parent is killed (SIGKILL) is killed by the kernel,
  so no stray process writes after the run has stopped.

Forking is used on Linux only; elsewhere, with ``TLFGEN_JOBS=1`` or when the process is
itself such a child, ``start_child`` runs ``work`` in the same process when its result
is first asked for (same outputs, one core). The bytes written never depend on which.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Callable, Generic, TypeVar

from tlfgen.errors import RenderError, TlfgenError

T = TypeVar("T")

#: environment variable: the number of processes a stage may use (1: no child processes)
JOBS_ENV = "TLFGEN_JOBS"
_IN_CHILD = False


def jobs() -> int:
    """Processes a stage may use: ``TLFGEN_JOBS`` (default 2; anything but a whole number >= 1 is 2)."""
    text = os.environ.get(JOBS_ENV, "").strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    return 2


def can_fork() -> bool:
    """True when ``start_child`` forks: Linux, more than one job, not already inside a child."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and jobs() > 1 and not _IN_CHILD


class WorkerError(Exception):
    """A bug (not a ``TlfgenError``) raised in a child, raised again in the parent.

    Its message is the child's last traceback line (``KeyError: 'b'``) and the process name; the
    whole traceback is attached as a note (printed with ``--debug``). Not a ``TlfgenError`` on
    purpose: the command line reports it as an internal error, exit 3, like the same bug in one process.
    """


class _LocalChannel:
    """The channel of a child run in-process: what the parent sends is queued for ``recv``."""

    def __init__(self) -> None:
        self.queue: list[Any] = []

    def send(self, obj: Any) -> None:
        self.queue.append(obj)

    def recv(self) -> Any:
        if not self.queue:
            raise RenderError("internal: the in-process child asked for a value the parent has not sent")
        return self.queue.pop(0)


class Child(Generic[T]):
    """A piece of work running in a forked child (or, when forking is off, deferred in-process)."""

    def __init__(self, work: Callable[[Any], T], name: str) -> None:
        self.name = name
        self._work = work
        self._done = False
        self._value: Any = None
        self._process = None
        self._conn = None
        self._local: _LocalChannel | None = None
        if can_fork():
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            parent_end, child_end = ctx.Pipe(duplex=True)
            self._process = ctx.Process(target=_child_main, args=(work, child_end, os.getpid()),
                                        name=f"tlfgen-{name}", daemon=True)
            self._process.start()
            child_end.close()
            self._conn = parent_end
        else:
            self._local = _LocalChannel()

    @property
    def forked(self) -> bool:
        return self._process is not None

    def send(self, obj: Any) -> None:
        """Hand ``obj`` to the child (it takes it with ``channel.recv()``)."""
        if self._conn is not None:
            try:
                self._conn.send(obj)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the child has already stopped: result() raises its error
        else:
            self._local.send(obj)

    def result(self) -> T:
        """Wait for the child; its return value, or its error raised here."""
        if self._done:
            return self._value
        self._done = True
        if self._process is None:
            self._value = self._work(self._local)
            return self._value
        try:
            try:
                status, payload, text, published = self._conn.recv()
            except EOFError:
                self._process.join()
                raise RenderError(f"internal: the {self.name} worker process ended without a result "
                                  f"(exit code {self._process.exitcode})",
                                  hint="run again with TLFGEN_JOBS=1 to do this work in the main process") from None
        finally:
            self._conn.close()
        self._process.join()
        if status == "ok":
            from tlfgen.handoff import publish_collected

            publish_collected(published)  # what the child offered the next stages (its files exist now)
            self._value = payload
            return payload
        if isinstance(payload, TlfgenError):
            raise payload
        error = WorkerError(f"{payload or 'error'} (raised in the {self.name} worker process)")
        error.add_note(f"traceback in the {self.name} worker process:\n{text}")
        raise error

    def stop(self) -> None:
        """Kill the child if it still runs and reap it (the parent failed; its work is not wanted)."""
        if self._process is not None and not self._done:
            self._done = True
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._conn.close()

    def __enter__(self) -> "Child[T]":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.stop()


class WorkQueue:
    """Indices 0..n-1 handed out once each, shared by the parent and the children forked after it
    was made (a counter in shared memory): each process takes the next one when it is free, so
    the work balances itself whatever each piece costs."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._shared = None
        self._next = 0
        if can_fork():
            import multiprocessing

            self._shared = multiprocessing.get_context("fork").Value("l", 0)

    def take(self) -> int | None:
        """The next index not yet taken by any process, or None when all are."""
        if self._shared is None:
            index, self._next = self._next, self._next + 1
        else:
            with self._shared.get_lock():
                index = self._shared.value
                self._shared.value = index + 1
        return index if index < self.size else None


def start_child(work: Callable[[Any], T], name: str) -> Child[T]:
    """Run ``work(channel)`` in a forked child (see the module docstring); ``name`` labels its errors."""
    return Child(work, name)


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this child when its parent dies (SIGKILL, the OOM killer): a killed
    run must not go on writing files. Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def _child_main(work: Callable[[Any], Any], conn: Any, parent_pid: int) -> None:
    global _IN_CHILD
    _IN_CHILD = True
    _die_with_parent(parent_pid)
    from tlfgen.handoff import collect_published

    try:
        with collect_published() as published:  # the stage hand-off, made by the parent
            value = work(conn)
        message = ("ok", value, "", published)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        if isinstance(exc, OSError):  # a full disk, no permission: the environment, not a bug
            from tlfgen.errors import EnvironmentFault

            exc = EnvironmentFault.from_os_error(exc) or exc
        text = "".join(traceback.format_exception(exc)).rstrip()
        last = traceback.format_exception_only(exc)[-1].strip()  # "KeyError: 'b'"
        message = ("error", exc if isinstance(exc, TlfgenError) else last, text, [])
    try:
        conn.send(message)
    except Exception as exc:  # noqa: BLE001 - e.g. an error object that cannot be pickled
        conn.send(("error", f"{type(exc).__name__}: {exc} (the child's result could not be sent)",
                   message[2], []))
    finally:
        conn.close()
    # Leave now: no interpreter teardown (freeing the copied datasets costs time at scale) and no
    # flushing of stdout, whose lock a thread of the parent (the terminal progress display) may
    # have held at the fork. Everything the child had to say went through ``conn``.
    os._exit(0)
