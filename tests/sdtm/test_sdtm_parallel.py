"""SDTM stage as work units: the graph, and the same files, findings and counts in one process and with workers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from study_copy import copy_study
import tlfgen.sdtm.run as sdtm_run
from tlfgen.errors import DerivationError
from tlfgen.units import can_fork
from tlfgen.raw.reconcile import FileUsage
from tlfgen.sdtm.run import merge_usage, run_sdtm



def test_1_merge_usage_keeps_the_first_reason_and_adds_rows():
    into = FileUsage(mapped={"AE": {1, 2}}, skipped={5: "AE source filter"})
    merge_usage(into, FileUsage(mapped={"AE": {3}, "CM": {4}}, skipped={5: "CM filter", 6: "CM filter"}))
    assert into.mapped == {"AE": {1, 2, 3}, "CM": {4}}
    assert into.skipped == {5: "AE source filter", 6: "CM filter"}


def _study(tmp_path: Path, name: str):
    return copy_study(tmp_path / name)


@pytest.mark.skipif(not can_fork(), reason="needs fork (Linux)")
def test_3_one_process_or_workers_give_the_same_files_findings_and_counts(tmp_path, monkeypatch):
    results, files = [], []
    for jobs in ("1", "2"):
        monkeypatch.setenv("TLFGEN_JOBS", jobs)
        study = _study(tmp_path, f"jobs{jobs}")
        results.append(run_sdtm(study))
        files.append({p.relative_to(study.root).as_posix(): p.read_bytes()
                      for folder in (study.sdtm_dir, study.outputs_dir / "qc")
                      for p in sorted(folder.rglob("*")) if p.is_file()})
    one, two = results
    assert len(files[0]) == 61  # 21 datasets x (xpt, json) + 16 lineage + define.xml, its stylesheet, findings.xlsx
    assert sorted(files[0]) == sorted(files[1])
    assert [f for f in files[0] if files[0][f] != files[1][f]] == []
    assert one.findings == two.findings and len(one.findings) == 86  # 79 partial dates + the 7 injected problems
    assert [c.__dict__ for c in one.counts] == [c.__dict__ for c in two.counts]
    assert [p.name for p in one.outputs] == [p.name for p in two.outputs]
    assert one.notes == two.notes


def test_3b_every_domain_after_dm_takes_its_reference_dates_and_each_writer_its_domain(tmp_path):
    units = {u.id: u for u in sdtm_run.sdtm_units(_study(tmp_path, "graph"))}
    assert units["sdtm.DM"].inputs == ("sdtm.forms",)
    assert units["sdtm.AE"].inputs == ("sdtm.forms", "sdtm.reference")
    assert units["write.sdtm.AE"].inputs == ("sdtm.AE",)
    assert units["sdtm"].inputs[0] == "sdtm.forms" and len(units["sdtm"].inputs) == 17  # + 16 domain writers


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
