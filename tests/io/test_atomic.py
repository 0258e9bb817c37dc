"""Tests for tlfgen.io.atomic: single-file atomic writes, staged file sets, fixed timestamps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tlfgen.errors import DataError
from tlfgen.io import atomic
from tlfgen.io.atomic import (
    AtomicDirWriter,
    atomic_output,
    atomic_write_bytes,
    atomic_write_text,
    fixed_timestamp,
    recover_staged,
    staged_outputs,
)


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# 1. single files ---------------------------------------------------------------


def test_atomic_write_bytes_creates_then_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.bin"
    assert atomic_write_bytes(target, b"one") == target
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert _hidden(target.parent) == []


def test_atomic_write_text_is_utf8(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "t.txt", "caf\u00e9\n")
    assert target.read_bytes() == b"caf\xc3\xa9\n"


def test_atomic_output_failure_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "a.xpt"
    target.write_bytes(b"previous complete file")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(target) as tmp:
            assert tmp.parent == tmp_path
            assert tmp.name.startswith(".a.xpt.") and tmp.name.endswith(".tmp")
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"previous complete file"
    assert _hidden(tmp_path) == []


def test_atomic_output_keeps_mode_of_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("x")
    os.chmod(target, 0o640)
    atomic_write_text(target, "y")
    assert target.stat().st_mode & 0o777 == 0o640


def test_atomic_output_new_file_gets_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "n.txt", "y")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


def test_atomic_output_killed_writer_leaves_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("previous")
    script = textwrap.dedent(f"""
        import os, signal
        from tlfgen.io.atomic import atomic_output
        with atomic_output({str(target)!r}) as tmp:
            tmp.write_text("half written")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_text() == "previous"
    leftovers = _hidden(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".a.txt.")


# 2. fixed timestamp --------------------------------------------------------------


def test_fixed_timestamp_default_is_unix_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert fixed_timestamp() == datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_fixed_timestamp_from_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert fixed_timestamp() == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


def test_fixed_timestamp_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert fixed_timestamp(datetime(2024, 5, 6, 7, 8, 9, 123)) == datetime(
        2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc
    )


def test_fixed_timestamp_bad_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(DataError, match="SOURCE_DATE_EPOCH='yesterday' is not a whole number"):
        fixed_timestamp()


@pytest.mark.parametrize("value", ["-1", "253402300800", "99999999999999", "-99999999999"])
def test_fixed_timestamp_out_of_range_is_a_data_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """Issue 24 item 4: values datetime cannot hold were an OverflowError/ValueError traceback."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(DataError, match=f"SOURCE_DATE_EPOCH='{value}' is out of range"):
        fixed_timestamp()


def test_fixed_timestamp_range_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert fixed_timestamp() == datetime(1970, 1, 1, tzinfo=timezone.utc)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "253402300799")
    assert fixed_timestamp() == datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def test_cli_out_of_range_epoch_exits_1_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    env = {**__import__("os").environ, "SOURCE_DATE_EPOCH": "99999999999999"}
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "tlfgen.cli", "check"], env=env, capture_output=True, text=True,
                          cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SOURCE_DATE_EPOCH='99999999999999' is out of range" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# 3. staged file sets ---------------------------------------------------------------


@pytest.fixture
def previous_set(tmp_path: Path) -> Path:
    target = tmp_path / "sdtm"
    (target / "lineage").mkdir(parents=True)
    (target / "ae.xpt").write_text("old ae")
    (target / "dm.xpt").write_text("old dm")
    (target / "lineage" / "ae.json").write_text("old lineage")
    (target / "README.md").write_text("readme")
    return target


def test_staged_outputs_swaps_complete_set(previous_set: Path) -> None:
    with staged_outputs(previous_set, preserve=["README.md"]) as out:
        out.write_text("ae.xpt", "new ae")
        out.write_bytes("lineage/ae.json", b"new lineage")
        assert _tree(previous_set)["ae.xpt"] == "old ae"  # nothing visible before commit
    assert _tree(previous_set) == {
        "README.md": "readme",
        "ae.xpt": "new ae",
        "lineage/ae.json": "new lineage",
    }
    assert _hidden(previous_set.parent) == []


def test_staged_outputs_error_keeps_previous_set(previous_set: Path) -> None:
    before = _tree(previous_set)
    with pytest.raises(ValueError, match="derivation failed"):
        with staged_outputs(previous_set) as out:
            out.write_text("ae.xpt", "new ae")
            raise ValueError("derivation failed")
    assert _tree(previous_set) == before
    assert _hidden(previous_set.parent) == []


def test_staged_outputs_fallback_two_renames(previous_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic, "_exchange_paths", lambda a, b: False)
    with staged_outputs(previous_set) as out:
        out.write_text("dm.xpt", "new dm")
    assert _tree(previous_set) == {"dm.xpt": "new dm"}
    assert _hidden(previous_set.parent) == []


def test_staged_outputs_creates_missing_target(tmp_path: Path) -> None:
    with staged_outputs(tmp_path / "adam") as out:
        out.write_text("adsl.xpt", "x")
    assert _tree(tmp_path / "adam") == {"adsl.xpt": "x"}


def test_killed_run_leaves_previous_set_and_next_run_cleans_up(previous_set: Path) -> None:
    before = _tree(previous_set)
    script = textwrap.dedent(f"""
        import os, signal
        from tlfgen.io.atomic import staged_outputs
        with staged_outputs({str(previous_set)!r}) as out:
            out.write_text("ae.xpt", "half of the new set")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert _tree(previous_set) == before
    assert len(_hidden(previous_set.parent)) == 1  # the stale staging folder
    AtomicDirWriter(previous_set).abort()
    assert _hidden(previous_set.parent) == []


def test_recover_after_kill_between_fallback_renames(tmp_path: Path) -> None:
    old = tmp_path / ".sdtm.old-abc123"
    old.mkdir()
    (old / "ae.xpt").write_text("old ae")
    staging = tmp_path / ".sdtm.staging-def456"
    staging.mkdir()
    (staging / "ae.xpt").write_text("new ae")
    assert recover_staged(tmp_path / "sdtm") is True
    assert _tree(tmp_path / "sdtm") == {"ae.xpt": "old ae"}
    assert _hidden(tmp_path) == []


def test_recover_with_nothing_to_do(tmp_path: Path) -> None:
    assert recover_staged(tmp_path / "sdtm") is False


def test_staged_path_must_stay_inside(tmp_path: Path) -> None:
    writer = AtomicDirWriter(tmp_path / "out")
    try:
        with pytest.raises(DataError, match=r"output path \.\./x must be relative and stay inside"):
            writer.path("../x")
    finally:
        writer.abort()


def test_commit_twice_is_an_error(tmp_path: Path) -> None:
    writer = AtomicDirWriter(tmp_path / "out")
    writer.write_text("a.txt", "a")
    writer.commit()
    with pytest.raises(DataError, match="already committed or aborted"):
        writer.commit()
