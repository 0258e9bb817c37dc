"""Tests for tlfgen.io.generation: several output roots published together, or not at all.

Each case builds a tiny study (two output roots holding generation "old", one input folder),
stages generation "new" and stops it at a chosen point: an error, a kill before the journal,
a kill between two swaps (with and without RENAME_EXCHANGE), Ctrl-C while publishing.
After recovery every root holds one generation.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tlfgen.errors import EnvironmentFault
from tlfgen.io import generation
from tlfgen.io.atomic import atomic_write_text
from tlfgen.io.generation import CONTROL, JOURNAL, RunStaging, recover_if_needed, recover_run

ROOTS = ("sdtm", "outputs")


def _study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    for name in ROOTS:
        (root / name / "sub").mkdir(parents=True)
        (root / name / "a.txt").write_text(f"old {name}")
        (root / name / "sub" / "b.txt").write_text(f"old {name} b")
    (root / "raw").mkdir()
    (root / "raw" / "dm.csv").write_text("USUBJID\n1\n")
    return root


def _staging(root: Path) -> RunStaging:
    return RunStaging(root, outputs=[root / n for n in ROOTS], inputs=[root / "raw"])


def _write_new(staging: RunStaging) -> None:
    """Replace a.txt in each staged root as every tlfgen writer does (by rename: ``io.atomic``);
    the staged roots hold hard links to the published files, which must not change."""
    for name in ROOTS:
        atomic_write_text(staging.staged(staging.root / name) / "a.txt", f"new {name}")


def _state(root: Path) -> dict[str, str]:
    return {name: (root / name / "a.txt").read_text() for name in ROOTS}


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in (root / CONTROL).iterdir() if p.name != "lock")


def test_1_a_finished_block_publishes_every_root_and_leaves_no_staging(tmp_path):
    root = _study(tmp_path)
    with _staging(root) as staging:
        assert staging.study_root == root / CONTROL / staging.staging.name / "new"
        _write_new(staging)
        assert _state(root) == {"sdtm": "old sdtm", "outputs": "old outputs"}  # nothing visible yet
    assert _state(root) == {"sdtm": "new sdtm", "outputs": "new outputs"}
    assert (root / "sdtm" / "sub" / "b.txt").read_text() == "old sdtm b"  # carried over
    assert _leftovers(root) == []


def test_2_the_run_sees_inputs_and_previous_outputs_by_hard_link_at_the_same_paths(tmp_path):
    root = _study(tmp_path)
    (root / "archive").mkdir()
    (root / "archive" / "ae.csv").write_text("AETERM\n")
    os.symlink("../archive/ae.csv", root / "raw" / "ae.csv")
    os.symlink("/etc/hostname", root / "raw" / "outside.csv")
    with _staging(root) as staging:
        new = staging.study_root
        assert os.stat(new / "raw" / "dm.csv").st_ino == os.stat(root / "raw" / "dm.csv").st_ino
        assert os.stat(new / "sdtm" / "sub" / "b.txt").st_ino == os.stat(root / "sdtm" / "sub" / "b.txt").st_ino
        # a link inside the study resolves to the same study-relative path, one outside stays outside
        assert (new / "raw" / "ae.csv").resolve().relative_to(new.resolve()) == Path("archive/ae.csv")
        assert (new / "raw" / "outside.csv").resolve() == Path("/etc/hostname").resolve()
        assert not (new / CONTROL).exists()


def test_3_an_error_in_the_block_publishes_nothing(tmp_path):
    root = _study(tmp_path)
    with pytest.raises(ValueError, match="stage failed"):
        with _staging(root) as staging:
            _write_new(staging)
            raise ValueError("stage failed")
    assert _state(root) == {"sdtm": "old sdtm", "outputs": "old outputs"}
    assert _leftovers(root) == []


def test_4_a_kill_before_the_journal_is_undone_at_the_next_start(tmp_path):
    root = _study(tmp_path)
    staging = _staging(root).open()
    _write_new(staging)
    staging._lock.release()  # the process dies: the kernel drops its lock, the staging stays
    assert _leftovers(root) == [staging.staging.name]
    note = recover_run(root)
    assert note == ("a previous run was stopped before it finished; its unpublished files were removed, "
                    "the outputs are those of the last complete run")
    assert _state(root) == {"sdtm": "old sdtm", "outputs": "old outputs"}
    assert _leftovers(root) == []
    assert recover_run(root) is None


def test_4b_a_kill_while_the_journal_is_written_leaves_its_temporary_file_which_the_next_start_removes(tmp_path):
    # seen in CI: SIGKILL inside atomic_write_text(journal) left ".publish.json.<random>.tmp"
    root = _study(tmp_path)
    staging = _staging(root).open()
    _write_new(staging)
    (root / CONTROL / f".{JOURNAL}.k1l2d3.tmp").write_text('{"swaps": [', encoding="utf-8")
    staging._lock.release()
    note = recover_run(root)
    assert note == ("a previous run was stopped before it finished; its unpublished files were removed, "
                    "the outputs are those of the last complete run")
    assert _state(root) == {"sdtm": "old sdtm", "outputs": "old outputs"}
    assert _leftovers(root) == []


class _Killed(BaseException):
    pass


@pytest.mark.parametrize("exchange", [True, False])
def test_5_a_kill_between_two_swaps_is_completed_at_the_next_start(tmp_path, monkeypatch, exchange):
    root = _study(tmp_path)
    if not exchange:
        monkeypatch.setattr(generation, "_exchange_paths", lambda a, b: False)
    real_swap = generation._swap_in
    calls = []

    def swap_then_die(root_path, staged, aside):
        calls.append(root_path.name)
        if len(calls) == 2:
            raise _Killed()
        real_swap(root_path, staged, aside)

    monkeypatch.setattr(generation, "_swap_in", swap_then_die)
    staging = _staging(root).open()
    _write_new(staging)
    with pytest.raises(_Killed):
        staging.publish()
    staging._lock.release()
    assert _state(root) == {"sdtm": "new sdtm", "outputs": "old outputs"}  # the moment a kill can leave
    assert (root / CONTROL / JOURNAL).is_file()
    monkeypatch.setattr(generation, "_swap_in", real_swap)
    assert recover_if_needed(root) == ("a previous run was stopped while it published its outputs; the "
                                       "publish was completed, the outputs are that run's")
    assert _state(root) == {"sdtm": "new sdtm", "outputs": "new outputs"}
    assert (root / "outputs" / "sub" / "b.txt").read_text() == "old outputs b"
    assert _leftovers(root) == []


def test_6_a_kill_between_the_two_renames_of_the_fallback_is_completed(tmp_path, monkeypatch):
    root = _study(tmp_path)
    monkeypatch.setattr(generation, "_exchange_paths", lambda a, b: False)
    staging = _staging(root).open()
    _write_new(staging)
    new = staging.study_root
    journal = {"staging": staging.staging.name,
               "swaps": [{"root": n, "inode": os.stat(new / n).st_ino} for n in ROOTS]}
    (root / CONTROL / JOURNAL).write_text(json.dumps(journal))
    os.rename(root / "sdtm", staging.staging / "old-sdtm")  # first rename done, then the kill
    staging._lock.release()
    assert not (root / "sdtm").exists()
    recover_run(root)
    assert _state(root) == {"sdtm": "new sdtm", "outputs": "new outputs"}


def test_7_ctrl_c_while_publishing_does_not_stop_the_publish(tmp_path, monkeypatch):
    root = _study(tmp_path)
    real_swap = generation._swap_in

    def swap_and_interrupt(root_path, staged, aside):
        os.kill(os.getpid(), signal.SIGINT)
        real_swap(root_path, staged, aside)

    monkeypatch.setattr(generation, "_swap_in", swap_and_interrupt)
    with _staging(root) as staging:
        _write_new(staging)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert _state(root) == {"sdtm": "new sdtm", "outputs": "new outputs"}
    assert _leftovers(root) == []


def test_7b_ctrl_c_while_the_staged_trees_are_synced_publishes_nothing_and_leaves_no_staging(tmp_path, monkeypatch):
    # seen in CI: SIGINT during publish's fsync, before the journal, left the run-* folder behind
    root = _study(tmp_path)

    def interrupted(_path):
        raise KeyboardInterrupt

    monkeypatch.setattr(generation, "_fsync_tree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with _staging(root) as staging:
            _write_new(staging)
    assert _state(root) == {"sdtm": "old sdtm", "outputs": "old outputs"}
    assert _leftovers(root) == []


def test_8_a_second_command_on_the_same_study_is_refused_and_leaves_the_first_alone(tmp_path):
    root = _study(tmp_path)
    with _staging(root) as first:
        with pytest.raises(EnvironmentFault) as caught:
            _staging(root).open()
        assert caught.value.exit_code == 4
        assert str(caught.value) == (
            f"another tlfgen command is writing this study (it holds {root / CONTROL / 'lock'})\n"
            "  hint: wait for it to finish, then run again")
        assert recover_if_needed(root) is None
        assert first.staging.is_dir()
        _write_new(first)
    assert _state(root) == {"sdtm": "new sdtm", "outputs": "new outputs"}


def test_9_an_output_root_that_is_a_file_is_refused_before_the_run(tmp_path):
    root = _study(tmp_path)
    (root / "adam").write_text("not a folder")
    with pytest.raises(EnvironmentFault, match=f"output folder {root / 'adam'} is a file, not a folder"):
        RunStaging(root, outputs=[root / "adam"]).open()
    assert _leftovers(root) == []


def test_10_a_root_created_by_the_run_is_published_and_a_missing_one_stays_missing(tmp_path):
    root = _study(tmp_path)
    with RunStaging(root, outputs=[root / "adam", root / "tables"]) as staging:
        (staging.staged(root / "adam")).mkdir()
        (staging.staged(root / "adam") / "adsl.xpt").write_bytes(b"x")
    assert (root / "adam" / "adsl.xpt").read_bytes() == b"x"
    assert not (root / "tables").exists()


def test_11_unstaged_text_names_the_study_paths(tmp_path):
    root = _study(tmp_path)
    with _staging(root) as staging:
        text = f"cannot read {staging.staged(root / 'sdtm') / 'ae.json'}"
        assert staging.unstaged_text(text) == f"cannot read {root / 'sdtm' / 'ae.json'}"
