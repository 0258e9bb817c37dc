"""Benchmark measurement: run one command in a fresh subprocess and measure it.

``measure(cmd)`` starts the command, reaps it with ``os.wait4`` and returns wall
time, CPU time (user + system from the child's own rusage, which also counts
any grandchildren it waited for; this equals the RUSAGE_CHILDREN delta of the
runner) and peak RSS (``ru_maxrss``, KiB on Linux: the largest single process of the
tree, since tlfgen forks a second process for parts of a stage). ``tree_peak_mb`` is the
memory of the whole process tree: the sum of PSS (``/proc/<pid>/smaps_rollup``; pages
shared after a fork counted once) over the command and its descendants, sampled every
50 ms, highest sum seen. Exit codes 0 and 1 count as
success: tlfgen exits 1 when the data has error findings, which the embedded
study has on purpose.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

OK_CODES = (0, 1)


@dataclass
class Measurement:
    wall: float  # seconds
    user: float  # CPU seconds
    sys: float
    peak_mb: float  # MiB
    rc: int
    message: str = ""  # tail of the output when the command failed
    tree_peak_mb: float | None = None  # MiB, PSS summed over the process tree (sampled)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def ok(self) -> bool:
        return self.rc in OK_CODES

    def to_dict(self) -> dict:
        return dict(asdict(self), cpu=self.cpu, ok=self.ok)


def _tail(path: Path, lines: int = 12) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _children_of(pids: set[int]) -> set[int]:
    """``pids`` and every live descendant (from the parent pid in /proc/<pid>/stat)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                parent_of[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree = set(pids)
    grew = True
    while grew:
        more = {pid for pid, ppid in parent_of.items() if ppid in tree and pid not in tree}
        tree |= more
        grew = bool(more)
    return tree


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeMemory:
    """Highest PSS sum over a process and its descendants, sampled in a thread every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        import threading

        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.available = os.path.exists("/proc/self/smaps_rollup")
        if self.available:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(_pss_kib(pid) for pid in _children_of({self.pid}))
            self.peak_kib = max(self.peak_kib, total)
            self._stop.wait(self.interval)

    def stop(self) -> float | None:
        """Stop sampling; the peak in MiB (None where /proc has no smaps_rollup)."""
        if not self.available:
            return None
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024.0


def measure(cmd: list[str], log: Path, env: dict[str, str] | None = None,
            sampler: list[str] | None = None) -> Measurement:
    """Run ``cmd`` once, output to ``log``; measure wall, CPU and peak RSS of that child only.

    ``sampler``: a profiler command (py-spy record ... --nonblocking) to attach with
    ``--pid <child>``. It runs as a sibling, not a parent, so the child's rusage
    stays its own; it only competes for CPU while sampling.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    attached = None
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        tree = TreeMemory(proc.pid)
        if sampler:
            attached = subprocess.Popen(sampler + ["--pid", str(proc.pid)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        tree_peak = tree.stop()
    if attached is not None:
        attached.wait(timeout=60)
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen quiet
    rc = proc.returncode
    result = Measurement(wall=wall, user=usage.ru_utime, sys=usage.ru_stime,
                         peak_mb=usage.ru_maxrss / 1024.0, rc=rc, tree_peak_mb=tree_peak)
    if not result.ok:
        result.message = _tail(log)
    return result


def median_measurement(runs: list[Measurement]) -> Measurement:
    """The run with the median wall time (upper median for an even count); failures win."""
    failed = [m for m in runs if not m.ok]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda m: m.wall)
    return ordered[len(ordered) // 2]


def median_wall(cmd: list[str], log: Path, runs: int, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Median wall seconds of ``runs`` runs of ``cmd`` and the last exit code."""
    walls = []
    rc = 0
    for _ in range(max(1, runs)):
        m = measure(cmd, log, env)
        walls.append(m.wall)
        rc = m.rc
    return statistics.median(walls), rc
