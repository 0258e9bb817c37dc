"""SDTM stage in two processes (domains taken from a shared queue): same files, findings and counts."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from study_copy import copy_study
import tlfgen.sdtm.run as sdtm_run
from tlfgen.errors import DerivationError
from tlfgen.parallel import WorkQueue, can_fork, start_child
from tlfgen.pipeline import HANDOFF_CACHE, stage_handoff, take_written
from tlfgen.raw.reconcile import FileUsage
from tlfgen.sdtm.run import merge_usage, run_sdtm



def test_1_merge_usage_keeps_the_first_reason_and_adds_rows():
    into = FileUsage(mapped={"AE": {1, 2}}, skipped={5: "AE source filter"})
    merge_usage(into, FileUsage(mapped={"AE": {3}, "CM": {4}}, skipped={5: "CM filter", 6: "CM filter"}))
    assert into.mapped == {"AE": {1, 2, 3}, "CM": {4}}
    assert into.skipped == {5: "AE source filter", 6: "CM filter"}


def test_2_work_queue_hands_each_index_out_once_across_processes():
    queue = WorkQueue(50)

    def take_all(channel):
        got = []
        while (k := queue.take()) is not None:
            got.append(k)
        return got

    child = start_child(take_all, name="test")
    mine = take_all(None)
    theirs = child.result()
    assert sorted(mine + theirs) == list(range(50))
    assert queue.take() is None


def _study(tmp_path: Path, name: str):
    return copy_study(tmp_path / name)


@pytest.mark.skipif(not can_fork(), reason="needs fork (Linux)")
def test_3_two_processes_give_the_same_files_findings_counts_and_frames(tmp_path, monkeypatch):
    import tlfgen.handoff as handoff

    results, files, frames, from_child = [], [], [], []
    real_publish = handoff.publish_collected
    for jobs in ("1", "2"):
        monkeypatch.setenv("TLFGEN_JOBS", jobs)
        offers: list = []  # datasets the second process offered the ADaM stage (through its result)
        monkeypatch.setattr(handoff, "publish_collected", lambda got, offers=offers: offers.extend(got)
                            or real_publish(got))
        study = _study(tmp_path, f"jobs{jobs}")
        with stage_handoff(study):
            results.append(run_sdtm(study))
        files.append({p.relative_to(study.root).as_posix(): p.read_bytes()
                      for folder in (study.sdtm_dir, study.outputs_dir / "qc")
                      for p in sorted(folder.rglob("*")) if p.is_file()})
        from_child.append(len(offers))
        frames.append({Path(k).name: take_written(study.cache, Path(k))
                       for k in sorted(study.cache.get(HANDOFF_CACHE, {}))})
    one, two = results
    assert from_child[0] == 0 and from_child[1] >= 1
    assert len(files[0]) == 61  # 21 datasets x (xpt, json) + 16 lineage + define.xml, its stylesheet, findings.xlsx
    assert sorted(files[0]) == sorted(files[1])
    assert [f for f in files[0] if files[0][f] != files[1][f]] == []
    assert one.findings == two.findings and len(one.findings) == 86  # 79 partial dates + the 7 injected problems
    assert [c.__dict__ for c in one.counts] == [c.__dict__ for c in two.counts]
    assert [p.name for p in one.outputs] == [p.name for p in two.outputs]
    assert one.notes == two.notes
    assert sorted(frames[0]) == sorted(frames[1]) and len(frames[0]) == 21
    for name, frame in frames[0].items():
        assert frame is not None and frames[1][name] is not None, name
        pd.testing.assert_frame_equal(frame, frames[1][name], check_dtype=True, check_exact=True, obj=name)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_4_a_domain_failing_in_either_process_stops_the_stage_naming_it(tmp_path, monkeypatch, jobs):
    monkeypatch.setenv("TLFGEN_JOBS", jobs)
    real = sdtm_run.build_domain

    def failing(rd, ctx):
        if rd.name == "CM":  # a small domain: taken late, by whichever process is free
            raise KeyError("CMDECOD")
        return real(rd, ctx)

    monkeypatch.setattr(sdtm_run, "build_domain", failing)
    with pytest.raises(DerivationError, match="mapping failed: KeyError: 'CMDECOD'") as info:
        run_sdtm(_study(tmp_path, "broken"))
    assert info.value.dataset == "CM"
    assert multiprocessing.active_children() == []
