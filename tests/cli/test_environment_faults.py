"""Faults of the environment (issue 24, item 6): exit 4 with a message naming the path and what
to do, never "internal error" and never a hidden temporary name.

Permission faults are real when the tests run as an ordinary user (chmod). As root, whom file
modes do not stop, the same OSError the kernel gives an ordinary user is raised at the same
place instead; read-only and full file systems are real tmpfs mounts where the test may mount
(else skipped). The full disk during a whole run is in tests/reliability/test_generations.py.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from study_copy import copy_study
from tlfgen.cli import app

runner = CliRunner()
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _assert_environment_fault(result, message: str, hint: str) -> None:
    text = _one_line(result.output)
    assert result.exit_code == 4, result.output
    assert f"error: {message}" in text, text
    assert f"hint: {hint}" in text, text
    assert "internal error" not in text and ".tmp" not in text and "Traceback" not in text


@pytest.fixture
def mount_tmpfs(tmp_path):
    mounted: list[Path] = []

    def mount(folder: Path, size_kb: int, *, read_only: bool = False) -> None:
        if not sys.platform.startswith("linux") or not AS_ROOT or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs Linux and root: the read-only / full file system case "
                        "is not checked here")
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
        mounted.append(folder)

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=False)


def test_1_a_read_only_study_folder(tmp_path, mount_tmpfs):
    disk = tmp_path / "disk"
    mount_tmpfs(disk, 20_000)
    study = copy_study(disk / "study")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    _assert_environment_fault(result, f"the file system is read-only: {study.root / '.tlfgen'}",
                              "run the study from a writable folder")
    assert "nothing was published; the outputs are those of the last complete run" in _one_line(result.output)


def test_2_an_output_folder_that_is_a_mount_point(tmp_path, mount_tmpfs):
    study = copy_study(tmp_path / "study")
    mount_tmpfs(study.root / "outputs", 1_000)
    result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    _assert_environment_fault(
        result, f"output folder {study.root / 'outputs'} is a mount point or on another file system than "
                "the study: a run cannot replace it in one step",
        "make it an ordinary folder of the study (mount the whole study folder instead)")


def test_3_an_output_folder_without_write_permission(tmp_path, monkeypatch):
    study = copy_study(tmp_path / "study")
    (study.root / "outputs").mkdir()
    os.chmod(study.root / "outputs", 0o555)  # the run's copy of outputs/ keeps this mode
    if AS_ROOT:
        from tlfgen.io import atomic

        real_mkdir = Path.mkdir

        def mkdir_as_user(self, *args, **kwargs):
            if self.parent.name == "outputs" and ".tlfgen" in self.parts and not self.exists():
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(atomic.Path, "mkdir", mkdir_as_user)
    try:
        result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    finally:
        os.chmod(study.root / "outputs", 0o755)
    _assert_environment_fault(result, f"permission denied: {study.root / 'outputs' / 'qc'}",
                              "give your user write access to it (or read access, for an input)")
    assert not (study.root / "outputs" / "qc").exists()


def test_4_an_unreadable_raw_file(tmp_path, monkeypatch):
    study = copy_study(tmp_path / "study")
    raw = study.raw_dir / "dm.csv"
    os.chmod(raw, 0)
    if AS_ROOT:
        real_read = Path.read_bytes

        def read_as_user(path):
            if path.name == "dm.csv":
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_read(path)

        monkeypatch.setattr(Path, "read_bytes", read_as_user)
    try:
        result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    finally:
        os.chmod(raw, 0o644)
    _assert_environment_fault(result, f"permission denied: {raw}",
                              "give your user write access to it (or read access, for an input)")


def test_5_simulate_onto_a_file(tmp_path):
    target = tmp_path / "raw"
    target.write_text("not a folder")
    result = runner.invoke(app, ["simulate", "--out", str(target)])
    _assert_environment_fault(result, f"--out {target} is a file, not a folder",
                              "give --out a new or empty folder, or move that file away")


def test_6_simulate_onto_a_full_disk_names_the_folder_it_writes_in(tmp_path, mount_tmpfs):
    disk = tmp_path / "disk"
    mount_tmpfs(disk, 64)
    result = runner.invoke(app, ["simulate", "--out", str(disk / "raw")])
    text = _one_line(result.output)
    assert result.exit_code == 4, result.output
    assert f"error: no space left on the device: while writing in {disk / 'raw'}" in text
    assert "hint: free disk space (or point the study at a larger disk), then run again" in text
    assert ".tmp" not in text and "internal error" not in text


def test_7_visible_names_drop_the_temporary_suffix():
    from tlfgen.errors import EnvironmentFault

    fault = EnvironmentFault.from_os_error(OSError(errno.ENOSPC, "No space left", "/s/outputs/.t1.docx.k2j3.tmp"))
    assert str(fault) == ("no space left on the device: /s/outputs/t1.docx\n"
                          "  hint: free disk space (or point the study at a larger disk), then run again")
    assert EnvironmentFault.from_os_error(OSError(errno.ENOENT, "gone", "/x")) is None
