"""TLF stage with the figures drawn in a second process (tlfgen.parallel): same bytes, same errors."""

from __future__ import annotations

import multiprocessing

import pytest

from study_copy import copy_study
import tlfgen.tlf.figures.run as figures_run
from tlfgen.errors import RenderError
from tlfgen.parallel import can_fork
from tlfgen.tlf.run import run_tlf

FOLDERS = ("tables", "figures", "ard")


def _copy(embedded_run, tmp_path, name):
    return copy_study(tmp_path / name, source=embedded_run[0].root, parts=("specs", "raw", "sdtm", "adam"))


def _files(study) -> dict[str, bytes]:
    return {f"{folder}/{p.name}": p.read_bytes()
            for folder in FOLDERS for p in sorted((study.outputs_dir / folder).iterdir())}


@pytest.mark.skipif(not can_fork(), reason="needs fork (Linux)")
def test_figures_in_a_second_process_give_the_same_bytes_as_one_process(embedded_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    one = _copy(embedded_run, tmp_path, "one")
    monkeypatch.setenv("TLFGEN_JOBS", "1")
    result_one = run_tlf(one)
    two = _copy(embedded_run, tmp_path, "two")
    monkeypatch.setenv("TLFGEN_JOBS", "2")
    result_two = run_tlf(two)
    files_one, files_two = _files(one), _files(two)
    assert sorted(files_one) == sorted(files_two)
    assert len([f for f in files_one if f.startswith("figures/")]) == 14  # F1-F7, PNG and SVG
    assert [f for f in files_one if files_one[f] != files_two[f]] == []
    assert result_one.notes == result_two.notes
    assert [p.relative_to(one.root) for p in result_one.outputs] == [p.relative_to(two.root)
                                                                     for p in result_two.outputs]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_error_drawing_a_figure_stops_the_stage_with_its_message(embedded_run, tmp_path, monkeypatch, jobs):
    monkeypatch.setenv("TLFGEN_JOBS", jobs)
    study = _copy(embedded_run, tmp_path, "broken")

    def broken(loaded, *args):
        raise RenderError(f"figure {loaded.id}: the arm labels do not fit", hint="shorten them")

    monkeypatch.setattr(figures_run, "draw_figure", broken)
    with pytest.raises(RenderError, match="the arm labels do not fit") as info:
        run_tlf(study)
    assert info.value.hint == "shorten them"
    assert multiprocessing.active_children() == []
    assert not (study.outputs_dir / "tables" / "combined.docx").exists()


@pytest.mark.skipif(not can_fork(), reason="needs fork (Linux)")
def test_an_error_building_a_table_stops_the_figure_process(embedded_run, tmp_path, monkeypatch):
    import tlfgen.tlf.tables as tables

    study = _copy(embedded_run, tmp_path, "tables_broken")

    def broken(out, *args):
        raise RenderError(f"table {out.id}: no rows")

    monkeypatch.setattr(tables, "create_table", broken)
    with pytest.raises(RenderError, match="table T1: no rows"):
        run_tlf(study)
    assert multiprocessing.active_children() == []


def test_the_table_process_does_not_import_matplotlib():
    """Only the figure process draws: reading figure results (their KM data) must not import it."""
    import subprocess
    import sys

    code = ("import sys, tlfgen.tlf.run, tlfgen.tlf.figures.run, tlfgen.tlf.figures.km, tlfgen.tlf.docx_writer\n"
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _lineage_files(study) -> dict[str, bytes]:
    out = study.outputs_dir
    paths = [out / "lineage.json", out / "lineage.html", *sorted((out / "ars").iterdir())]
    return {str(p.relative_to(out)): p.read_bytes() for p in paths}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_lineage_is_built_once_by_the_tlf_stage_when_it_follows(embedded_run, tmp_path, monkeypatch, jobs):
    """``tlf`` then ``lineage`` in one run: a process forked by the TLF stage once the tables are
    built writes the lineage while they are written; the lineage stage takes it. Same files as
    the lineage stage on its own."""
    import os

    import tlfgen.lineage.run as lineage_run
    from tlfgen.pipeline import run_stages

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("TLFGEN_JOBS", jobs)
    alone = _copy(embedded_run, tmp_path, "alone")
    run_tlf(alone)  # nothing follows: the lineage is left to the lineage stage
    assert not (alone.outputs_dir / "lineage.json").exists()
    result_alone = lineage_run.run_lineage(alone)

    calls = tmp_path / "calls.txt"
    original = lineage_run.write_lineage_outputs

    def counted(*args):
        with calls.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return original(*args)

    monkeypatch.setattr(lineage_run, "write_lineage_outputs", counted)
    together = _copy(embedded_run, tmp_path, "together")
    results = run_stages(together, ["tlf", "lineage"])
    pids = calls.read_text().split()
    assert len(pids) == 1  # built once, by the TLF stage
    assert (pids[0] != str(os.getpid())) is (jobs == "2" and can_fork())
    assert _lineage_files(together) == _lineage_files(alone)
    assert results[1].notes == result_alone.notes
    assert [p.relative_to(together.root) for p in results[1].outputs] == [
        p.relative_to(alone.root) for p in result_alone.outputs]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_error_building_the_lineage_in_the_tlf_stage_stops_the_run(embedded_run, tmp_path, monkeypatch, jobs):
    import tlfgen.lineage.graph as graph
    from tlfgen.errors import DataError
    from tlfgen.pipeline import run_stages

    monkeypatch.setenv("TLFGEN_JOBS", jobs)
    study = _copy(embedded_run, tmp_path, "lineage_broken")

    def broken(*args):
        raise DataError("adam/lineage/adsl.json does not match adam/adsl.xpt", file="adam/lineage/adsl.json")

    monkeypatch.setattr(graph, "create_variable_lineage", broken)
    with pytest.raises(DataError, match="does not match") as info:
        run_stages(study, ["tlf", "lineage"])
    assert info.value.file == "adam/lineage/adsl.json"
    assert multiprocessing.active_children() == []
    assert not (study.outputs_dir / "lineage.json").exists()


def test_the_figure_process_is_sent_the_km_results_not_table_2(embedded_run, tmp_path, monkeypatch):
    """Table 2 with its cells' record lists filled the pipe at 5,000 subjects and the table process
    waited for the figure process to read it; only the KM results (a few numbers per block) go."""
    import pickle

    from tlfgen.parallel import Child
    from tlfgen.tlf.figures.km import KmAnalysis

    sent: list = []
    real_send = Child.send

    def recording_send(self, obj):
        sent.append(obj)
        real_send(self, obj)

    monkeypatch.setattr(Child, "send", recording_send)
    run_tlf(_copy(embedded_run, tmp_path, "sent"))
    assert len(sent) == 1
    assert sorted(sent[0]) == ["DOR", "OS", "PFS"]
    assert all(isinstance(v, KmAnalysis) for v in sent[0].values())
    assert len(pickle.dumps(sent[0])) < 4096  # far below a pipe's 64 KiB buffer
