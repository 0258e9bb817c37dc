"""A run stopped at any moment leaves one complete generation of outputs (``io.generation``).

Unlike ``test_determinism``'s kill test, the inputs CHANGE between runs: two raw exports of
the same design (generations A and B, ``tlfgen simulate`` with two seeds) each give a
complete reference set of outputs. Each trial puts the other generation's raw files in
place, starts ``tlfgen run`` and stops it at a random moment of a chosen stage: SIGKILL,
SIGINT, a data error that aborts the TLF stage, a full disk. Afterwards every file under
sdtm/, adam/ and outputs/ (hidden ones included) must be byte-identical to one complete
reference generation, manifest included, and ``tlfgen verify`` (with that generation's raw
files back) must pass.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_helpers import ROOT, invoke, one_line

TLFGEN = Path(sys.executable).with_name("tlfgen")
OUTPUT_ROOTS = ("sdtm", "adam", "outputs")
STAGE_LINES = ("SDTM stage done", "ADAM stage done", "TLF stage done", "LINEAGE stage done")
#: generation -> (seed, subjects per arm)
#: C: A's export with one subject's arm (ic.csv ARMSEL) changed to a code the study does not
#: have: SDTM and ADaM are built in staging (a CT finding, ADSL.TRT01PN missing), then the TLF
#: stage stops on a data error (the subject's arm is not an arm of the study)
EXPORTS = {"A": (20200803, 15), "B": (20200804, 15), "C": (20200803, 15)}
#: SIGKILL trials: the stage each one is killed in (0 SDTM .. 3 LINEAGE, its manifest and publish)
KILL_PLAN = (0, 1, 2, 3, 0, 1, 2, 3, 2, 0)
UNPUBLISHED = "nothing was published; the outputs are those of the last complete run"
JOURNAL_NAME = "publish.json"


def _env() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


def _hashes(study: Path) -> dict[str, str]:
    """SHA-256 of every file under the output roots, hidden files included."""
    found = {}
    for name in OUTPUT_ROOTS:
        for path in sorted((study / name).rglob("*")):
            if path.is_file():
                found[path.relative_to(study).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class _Run:
    """``tlfgen run`` in a subprocess, its output lines collected with the time they came."""

    def __init__(self, study: Path) -> None:
        self.study = study
        self.stale = set(_staging_left(study))
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(TLFGEN), "--study", str(study), "run", "--allow-data-errors"],
                                     env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def stage_started(self, stage: int) -> bool:
        """True once stage number ``stage`` runs: the line of the stage before it came (stage 0:
        the run's staging folder exists, so the command is past its start-up)."""
        if stage == 0:
            return bool(set(_staging_left(self.study)) - self.stale - {JOURNAL_NAME})
        return any(STAGE_LINES[stage - 1] in text for _, text in self.lines)

    def finish(self, timeout: float = 600) -> tuple[int, str]:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=60)
        self.proc.stdout.close()
        return code, "\n".join(text for _, text in self.lines)


def _put_raw(study: Path, raws: dict[str, Path], gen: str) -> None:
    shutil.rmtree(study / "raw", ignore_errors=True)
    shutil.copytree(raws[gen], study / "raw")


@pytest.fixture(scope="module")
def generations(tmp_path_factory):
    """The study with generation B published; the raw exports of A, B and C; A's and B's output
    hashes; the seconds each stage of B's run took."""
    from tlfgen.simulate.run import simulate

    base = tmp_path_factory.mktemp("generations")
    raws = {}
    for gen, (seed, subjects) in EXPORTS.items():
        raws[gen] = base / f"raw_{gen}"
        simulate(raws[gen], subjects_per_arm=subjects, seed=seed, inject_problems=False)
    ic = raws["C"] / "ic.csv"
    ic.write_text(ic.read_text().replace(",TCC,Yes", ",TCX,Yes", 1))
    study = base / "study"
    shutil.copytree(ROOT / "specs", study / "specs")
    reference, durations = {}, []
    for gen in ("A", "B"):
        _put_raw(study, raws, gen)
        run = _Run(study)
        code, output = run.finish()
        assert code == 0, output
        reference[gen] = _hashes(study)
        times = [run.started] + [next(t for t, text in run.lines if mark in text) for mark in STAGE_LINES]
        durations = [b - a for a, b in zip(times, times[1:])]
        durations[-1] += run.lines[-1][0] - times[-1]  # the lineage stage, the manifest and the publish
    assert reference["A"]["outputs/manifest.json"] != reference["B"]["outputs/manifest.json"]
    changed = [k for k in reference["A"] if reference["A"][k] != reference["B"].get(k)]
    assert len(changed) > 50  # the two generations differ in most files, SDTM to tables
    return study, raws, reference, durations


def _which_generation(study: Path, reference: dict[str, dict[str, str]]) -> str:
    published = _hashes(study)
    for gen, hashes in reference.items():
        if published == hashes:
            return gen
    nearest = min(reference, key=lambda g: sum(published.get(k) != v for k, v in reference[g].items()))
    mixed = sorted(k for k in set(published) | set(reference[nearest])
                   if published.get(k) != reference[nearest].get(k))
    raise AssertionError(f"outputs are a mix of generations: {len(mixed)} file(s) differ from "
                         f"generation {nearest}: {mixed[:10]}")


def _verify_passes(study: Path, raws: dict[str, Path], gen: str) -> None:
    _put_raw(study, raws, gen)
    result = invoke(study, "verify")
    assert result.exit_code == 0, result.output
    assert "nothing changed since the run" in result.output


def _stop_during(study: Path, stage: int, seconds: float, sig: int) -> tuple[bool, int, str]:
    """Start a run, wait until ``stage`` runs, wait ``seconds`` more, send ``sig``; returns
    (whether the run was still going when signalled, exit code, output)."""
    run = _Run(study)
    deadline = time.monotonic() + 600
    while not run.stage_started(stage) and run.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(seconds)
    running = run.proc.poll() is None
    if running:
        run.proc.send_signal(sig)
    code, output = run.finish()
    return running, code, output


def _staging_left(study: Path) -> list[str]:
    control = study / ".tlfgen"
    return sorted(p.name for p in control.iterdir() if p.name != "lock") if control.is_dir() else []


def test_sigkill_at_random_moments_of_each_stage_leaves_one_generation(generations):
    study, raws, reference, durations = generations
    rng = random.Random(24)
    current, stopped_while_running = "B", []
    for stage in KILL_PLAN:
        target = "A" if current == "B" else "B"
        _put_raw(study, raws, target)
        running, _code, _output = _stop_during(study, stage, rng.uniform(0, durations[stage]), signal.SIGKILL)
        stopped_while_running.append(running)
        current = _which_generation(study, {current: reference[current], target: reference[target]})
        _verify_passes(study, raws, current)
    assert sum(stopped_while_running) >= len(KILL_PLAN) // 2, stopped_while_running
    # the next run removes what the killed ones left, says so, and publishes its generation
    target = "A" if current == "B" else "B"
    _put_raw(study, raws, target)
    code, output = _Run(study).finish()
    assert code == 0, output
    if any(stopped_while_running):
        assert "note: a previous run was stopped" in one_line(output)
    assert _which_generation(study, reference) == target
    assert _staging_left(study) == []


def test_sigint_stops_the_run_with_one_line_and_publishes_nothing(generations):
    study, raws, reference, durations = generations
    rng = random.Random(130)
    current = _which_generation(study, reference)
    for stage in (0, 1, 2):
        target = "A" if current == "B" else "B"
        _put_raw(study, raws, target)
        running, code, output = _stop_during(study, stage, rng.uniform(0, durations[stage]), signal.SIGINT)
        if running and code != 0:
            assert code == 130, output
            assert output.strip().splitlines()[-1] == f"interrupted: {UNPUBLISHED}"
            assert "Traceback" not in output
            assert _which_generation(study, reference) == current
        current = _which_generation(study, reference)
        assert _staging_left(study) == []  # Ctrl-C cleans up at once
        _verify_passes(study, raws, current)


def test_a_data_error_in_the_tlf_stage_publishes_nothing(generations):
    study, raws, reference, _ = generations
    current = _which_generation(study, reference)
    _put_raw(study, raws, "C")
    code, output = _Run(study).finish()
    assert code == 1, output
    text = one_line(output)
    # SDTM was built in staging; ADSL too (the error names it): in one graph of work units the
    # tables start as soon as ADSL is written, so the ADaM stage's last unit may not have ended
    assert "SDTM stage done" in text
    assert "error: adam/adsl.xpt, column TRT01PN: TRT01PN of USUBJID" in text
    assert "is not an arm number of the study (1=TCAC, 2=TCC)" in text
    assert UNPUBLISHED in text
    assert _which_generation(study, reference) == current
    assert _staging_left(study) == []
    _verify_passes(study, raws, current)


def _mount_tmpfs(folder: Path, size_kb: int) -> bool:
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        return False
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    return done.returncode == 0


def test_a_full_disk_publishes_nothing_and_names_the_fault(generations, tmp_path):
    study, raws, reference, _ = generations
    current = _which_generation(study, reference)
    used_kb = sum(p.stat().st_size for p in study.rglob("*") if p.is_file()) // 1024
    outputs_kb = sum(p.stat().st_size for r in OUTPUT_ROOTS for p in (study / r).rglob("*") if p.is_file()) // 1024
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, used_kb + outputs_kb // 3):
        pytest.skip("cannot mount a small tmpfs here (needs Linux and the right to mount, e.g. root "
                    "with CAP_SYS_ADMIN): the full-disk case is not checked")
    try:
        small = disk / "study"
        shutil.copytree(study, small, symlinks=True)
        _put_raw(small, raws, "A" if current == "B" else "B")
        code, output = _Run(small).finish()
        text = one_line(output)
        assert code == 4, output
        assert "error: no space left on the device:" in text
        assert "hint: free disk space" in text and UNPUBLISHED in text
        assert ".tmp" not in text and "internal error" not in text
        assert _which_generation(small, reference) == current
        assert _staging_left(small) == []
        _verify_passes(small, raws, current)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
