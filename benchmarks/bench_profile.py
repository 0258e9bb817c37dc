"""Benchmark profiler: sample a pipeline stage with py-spy and rank the hot spots.

``profile_stage`` runs ``tlfgen --study <dir> <stage>`` under
``py-spy record --format raw`` (collapsed stacks, one line per distinct stack:
``func (file:line);func (file:line);... count``). ``summarise_stacks`` turns
those into three rankings, each as a share of all samples:

- ``lines``: the innermost tlfgen frame of every sample (function, file:line),
  i.e. the tlfgen line responsible for the time, library calls included;
- ``functions``: tlfgen functions by inclusive time (on the stack at all);
- ``leaves``: the innermost frame of every sample (any package), self time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class Profile:
    stage: str
    samples: int
    lines: list[tuple[str, str, float]] = field(default_factory=list)  # (function, file:line, share)
    functions: list[tuple[str, str, float]] = field(default_factory=list)  # (function, file, share)
    leaves: list[tuple[str, str, float]] = field(default_factory=list)  # (function, file, share)
    error: str | None = None


def parse_frame(text: str) -> tuple[str, str, int | None]:
    """``'derive_x (/a/src/tlfgen/adam/x.py:12)'`` -> ('derive_x', '/a/src/tlfgen/adam/x.py', 12)."""
    match = FRAME.match(text.strip())
    if not match:
        return text.strip(), "", None
    line = match.group("line")
    return match.group("func"), match.group("file"), int(line) if line else None


def short_path(path: str) -> str:
    """Shorten a file path for the report: from ``tlfgen/`` or ``site-packages/`` on."""
    for marker in ("/src/tlfgen/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1] if marker == "/site-packages/" else "tlfgen/" + path.split(marker, 1)[1]
    return path if not path.startswith("/") else "/".join(path.rsplit("/", 3)[-3:])


def is_tlfgen(path: str) -> bool:
    """A frame in the tlfgen package (py-spy prints ``tlfgen/x.py`` or, with full names, ``.../tlfgen/x.py``)."""
    inside = path.startswith("tlfgen/") or "/tlfgen/" in path
    return inside and "/benchmarks/" not in path and not path.endswith("tlfgen/cli.py")


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    """Collapsed-stack text -> [(frames outermost first, count)]."""
    stacks = []
    for raw in text.splitlines():
        raw = raw.rstrip()
        if not raw or " " not in raw:
            continue
        stack, _, count = raw.rpartition(" ")
        if not count.isdigit():
            continue
        stacks.append((stack.split(";"), int(count)))
    return stacks


def _top(counter: Counter, total: int, top: int) -> list[tuple[str, str, float]]:
    return [(func, where, count / total) for (func, where), count in counter.most_common(top)]


def summarise_stacks(stage: str, stacks: list[tuple[list[str], int]], top: int = 12) -> Profile:
    total = sum(count for _, count in stacks)
    if total == 0:
        return Profile(stage=stage, samples=0, error="no samples")
    lines: Counter = Counter()
    functions: Counter = Counter()
    leaves: Counter = Counter()
    for frames, count in stacks:
        parsed = [parse_frame(f) for f in frames]
        func, path, _ = parsed[-1]
        leaves[(func, short_path(path))] += count
        own = [(f, p, n) for f, p, n in parsed if is_tlfgen(p)]
        if own:
            f, p, n = own[-1]
            lines[(f, f"{short_path(p)}:{n}")] += count
        else:
            lines[("(outside tlfgen: start-up, imports, CLI)", "-")] += count
        for key in {(f, short_path(p)) for f, p, _ in own}:
            functions[key] += count
    return Profile(stage=stage, samples=total, lines=_top(lines, total, top),
                   functions=_top(functions, total, top), leaves=_top(leaves, total, top))


def find_pyspy(tlfgen: Path) -> str | None:
    return shutil.which("py-spy", path=str(tlfgen.parent)) or shutil.which("py-spy")


def sampler_command(pyspy: str, out: Path, rate: int = 100) -> list[str]:
    """py-spy arguments to attach to a running stage (``--pid`` is added by the caller)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return [pyspy, "record", "--format", "raw", "--rate", str(rate), "--nonblocking", "--output", str(out)]


def read_profile(stage: str, out: Path) -> Profile:
    if not out.exists():
        return Profile(stage=stage, samples=0, error=f"py-spy wrote no {out.name}")
    return summarise_stacks(stage, parse_collapsed(out.read_text(encoding="utf-8", errors="replace")))


def profile_stage(tlfgen: Path, study: Path, stage: str, out: Path, rate: int = 100) -> Profile:
    """Run one stage under py-spy; return its hot spots (or a Profile with ``error``)."""
    pyspy = find_pyspy(tlfgen)
    if pyspy is None:
        return Profile(stage=stage, samples=0, error="py-spy not installed (pip install py-spy into .venv)")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [pyspy, "record", "--format", "raw", "--rate", str(rate), "--output", str(out), "--",
           str(tlfgen), "--study", str(study), stage]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if not out.exists():
        return Profile(stage=stage, samples=0, error=f"py-spy failed: {proc.stderr.strip()[-400:]}")
    return summarise_stacks(stage, parse_collapsed(out.read_text(encoding="utf-8", errors="replace")))
