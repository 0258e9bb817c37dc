"""Benchmark measurement: run one command in a fresh subprocess and measure it.

``measure(cmd)`` starts the command, reaps it with ``os.wait4`` and returns wall
time, CPU time (user + system from the child's own rusage, which also counts
any grandchildren it waited for; this equals the RUSAGE_CHILDREN delta of the
runner) and peak RSS (``ru_maxrss``, KiB on Linux). Exit codes 0 and 1 count as
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
        if sampler:
            attached = subprocess.Popen(sampler + ["--pid", str(proc.pid)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if attached is not None:
        attached.wait(timeout=60)
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen quiet
    rc = proc.returncode
    result = Measurement(wall=wall, user=usage.ru_utime, sys=usage.ru_stime,
                         peak_mb=usage.ru_maxrss / 1024.0, rc=rc)
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
