"""ADaM stage as work units: the graph, and the same files and result in one process and with a worker."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from study_copy import copy_study
from tlfgen.adam.run import _dependents, adam_units, run_adam
from tlfgen.units import can_fork


def _ds(name: str, *inputs: str):
    return SimpleNamespace(name=name, spec=SimpleNamespace(inputs=list(inputs)))


ADSL = _ds("ADSL", "sdtm.DM", "sdtm.EX")
ADAE = _ds("ADAE", "sdtm.AE", "adam.ADSL")
ADRS = _ds("ADRS", "sdtm.RS", "adam.ADSL")
ADTTE = _ds("ADTTE", "adam.ADSL", "adam.ADRS")


def test_1_a_dataset_read_by_others_starts_first():
    # ADSL is read by ADAE, ADRS and ADTTE (through ADRS too); ADRS by ADTTE; the others by none
    assert _dependents([ADSL, ADAE, ADRS, ADTTE]) == {"ADSL": 4, "ADAE": 1, "ADRS": 2, "ADTTE": 1}


def test_2_the_units_of_the_embedded_study_take_what_the_specs_read(embedded_run):
    units = {u.id: u for u in adam_units(embedded_run[0])}
    assert units["adam.ADTTE"].inputs == ("adam.ADSL", "adam.ADRS")
    assert units["adam.ADAE"].inputs == ("read.sdtm.AE", "read.sdtm.SUPPAE", "adam.ADSL")
    assert units["write.adam.ADRS"].inputs == ("adam.ADRS", "adam.folders")
    assert units["adam"].inputs == ("write.adam.ADSL", "write.adam.ADAE", "write.adam.ADRS", "write.adam.ADTTE")
    assert sorted(u for u in units if u.startswith("read.")) == [
        "read.sdtm.AE", "read.sdtm.CM", "read.sdtm.DM", "read.sdtm.DS", "read.sdtm.EX", "read.sdtm.PR",
        "read.sdtm.QS", "read.sdtm.RS", "read.sdtm.SC", "read.sdtm.SUPPAE", "read.sdtm.SUPPDM",
        "read.sdtm.SUPPPR", "read.sdtm.TR", "read.sdtm.TU"]


def _study(embedded_run, tmp_path, name):
    return copy_study(tmp_path / name, source=embedded_run[0].root, parts=("specs", "raw", "sdtm"))


@pytest.mark.skipif(not can_fork(), reason="needs fork (Linux)")
def test_6_one_process_or_workers_write_the_same_files_and_result(embedded_run, tmp_path, monkeypatch):
    results, files = [], []
    for jobs in ("1", "2"):
        monkeypatch.setenv("TLFGEN_JOBS", jobs)
        study = _study(embedded_run, tmp_path, f"jobs{jobs}")
        results.append(run_adam(study))
        files.append({p.relative_to(study.root).as_posix(): p.read_bytes()
                      for p in sorted(study.adam_dir.rglob("*")) if p.is_file()})
    one, two = results
    assert len(files[0]) == 14  # 4 x (xpt, json, lineage) + define.xml and its stylesheet
    assert files[0] == files[1]
    assert [c.__dict__ for c in one.counts] == [c.__dict__ for c in two.counts]
    assert one.findings == two.findings
    assert [p.name for p in one.outputs] == [p.name for p in two.outputs]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_7_an_error_deriving_the_split_off_dataset_stops_the_stage_with_its_message(embedded_run, tmp_path,
                                                                                   monkeypatch, jobs):
    import multiprocessing

    import tlfgen.adam.run as adam_run
    from tlfgen.errors import DerivationError

    monkeypatch.setenv("TLFGEN_JOBS", jobs)
    real = adam_run.run_dataset

    def failing(ds, inputs, study_spec):
        if ds.name == "ADAE":
            raise DerivationError("AETOXGR is not a grade", dataset="ADAE", variable="AETOXGR")
        return real(ds, inputs, study_spec)

    monkeypatch.setattr(adam_run, "run_dataset", failing)
    study = _study(embedded_run, tmp_path, f"broken{jobs}")
    with pytest.raises(DerivationError, match="AETOXGR is not a grade") as info:
        run_adam(study)
    assert info.value.dataset == "ADAE"
    assert multiprocessing.active_children() == []
    assert not (study.adam_dir / "define.xml").exists()
