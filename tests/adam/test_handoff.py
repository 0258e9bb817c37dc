"""ADaM stage input: the SDTM frames handed on by the SDTM stage of the same run (pipeline.take_written).

Every SDTM domain of the embedded study taken from the hand-off equals what reading its
XPT file gives (values and dtypes); a file changed on disk is read again; ``run_adam``
takes every input from the hand-off when there is one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from study_copy import copy_study
import tlfgen.io.xpt as xpt
from tlfgen.adam.engine import read_sdtm
from tlfgen.adam.run import run_adam
from tlfgen.io.xpt import read_xpt, write_xpt
from tlfgen.pipeline import HANDOFF_CACHE, run_stages, stage_handoff, take_written
from tlfgen.sdtm.run import run_sdtm

#: the domains the embedded study writes (SDTM + SUPP--), lower case as on disk
DOMAINS = ("ae", "cm", "dm", "ds", "ex", "mh", "pr", "qs", "rs", "sc", "suppae", "suppcm", "suppdm", "suppex", "supppr",
           "sv", "ta", "te", "tr", "ts", "tu")


@pytest.fixture(scope="module")
def sdtm_study(tmp_path_factory):
    """The embedded study with its SDTM stage run once (files on disk), outside any hand-off."""
    study = copy_study(tmp_path_factory.mktemp("handoff_sdtm"))
    run_sdtm(study)
    return study


def _published(study) -> dict:
    """Run the SDTM stage again with the hand-off open; return the entries it left."""
    study.cache.pop(HANDOFF_CACHE, None)
    with stage_handoff(study):
        run_sdtm(study)
    return study.cache[HANDOFF_CACHE]


def test_every_domain_written_is_handed_on(sdtm_study):
    entries = _published(sdtm_study)
    written = sorted(p.stem for p in sdtm_study.sdtm_dir.glob("*.xpt"))
    assert written == list(DOMAINS)
    assert sorted(Path(k).stem for k in entries) == list(DOMAINS)
    assert {stage for stage, _, _ in entries.values()} == {"sdtm"}


def test_taken_frame_equals_the_file_read_back_for_every_domain(sdtm_study):
    _published(sdtm_study)
    for domain in DOMAINS:
        path = sdtm_study.sdtm_dir / f"{domain}.xpt"
        taken = take_written(sdtm_study.cache, path)
        assert taken is not None, domain
        pd.testing.assert_frame_equal(taken, read_xpt(path)[0], check_dtype=True, check_exact=True, obj=domain)
        assert take_written(sdtm_study.cache, path) is None  # handed out once
    assert sdtm_study.cache[HANDOFF_CACHE] == {}


def test_read_sdtm_from_the_hand_off_equals_read_sdtm_from_the_file(sdtm_study):
    entries = _published(sdtm_study)
    for domain in ("DM", "AE", "TR", "SUPPAE", "TS"):
        taken = read_sdtm(sdtm_study.sdtm_dir, domain, sdtm_study.cache)
        assert str((sdtm_study.sdtm_dir / f"{domain.lower()}.xpt").absolute()) not in entries
        pd.testing.assert_frame_equal(taken, read_sdtm(sdtm_study.sdtm_dir, domain), check_dtype=True,
                                      check_exact=True, obj=domain)
    assert len(entries) == len(DOMAINS) - 5


def test_a_file_changed_on_disk_is_read_again(sdtm_study):
    _published(sdtm_study)
    path = sdtm_study.sdtm_dir / "dm.xpt"
    original, meta = read_xpt(path)
    try:
        write_xpt(original.iloc[:3], meta, path)  # another process rewrote dm.xpt
        taken = read_sdtm(sdtm_study.sdtm_dir, "DM", sdtm_study.cache)
        assert len(taken) == 3
        assert taken["USUBJID"].tolist() == original["USUBJID"].iloc[:3].tolist()
    finally:
        run_sdtm(sdtm_study)


def test_a_touched_file_is_read_again(sdtm_study, monkeypatch):
    _published(sdtm_study)
    path = sdtm_study.sdtm_dir / "ae.xpt"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    reads = []
    real = xpt.read_xpt
    monkeypatch.setattr(xpt, "read_xpt", lambda p, **kw: reads.append(Path(p).name) or real(p, **kw))
    read_sdtm(sdtm_study.sdtm_dir, "AE", sdtm_study.cache)
    assert reads == ["ae.xpt"]


def test_nothing_is_kept_outside_a_hand_off(sdtm_study):
    sdtm_study.cache.pop(HANDOFF_CACHE, None)
    run_sdtm(sdtm_study)
    assert HANDOFF_CACHE not in sdtm_study.cache


def test_run_adam_takes_every_sdtm_input_from_the_hand_off(sdtm_study, monkeypatch):
    _published(sdtm_study)
    reads = []
    real = xpt.read_xpt
    monkeypatch.setattr(xpt, "read_xpt", lambda p, **kw: reads.append(Path(p).name) or real(p, **kw))
    with stage_handoff(sdtm_study, enabled=False):
        run_adam(sdtm_study)
    assert reads == []
    assert not any(stage == "sdtm" for stage, _, _ in sdtm_study.cache[HANDOFF_CACHE].values())


def test_run_stages_hands_on_and_then_drops_the_frames(tmp_path, monkeypatch):
    study = copy_study(tmp_path)
    reads = []
    real = xpt.read_xpt
    monkeypatch.setattr(xpt, "read_xpt", lambda p, **kw: reads.append(Path(p).name) or real(p, **kw))
    run_stages(study, ["sdtm", "adam"])
    assert reads == []
    assert HANDOFF_CACHE not in study.cache
