"""TLF stage as work units (tables, figures, writers) in one process or with workers: same bytes, same errors."""

from __future__ import annotations

import multiprocessing

import pytest

from study_copy import copy_study
import tlfgen.tlf.figures.run as figures_run
from tlfgen.errors import RenderError
from tlfgen.units import can_fork
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
def test_tlf_and_lineage_in_one_run_build_the_tables_once_and_write_what_the_lineage_stage_alone_does(
        embedded_run, tmp_path, monkeypatch, jobs):
    """``tlf`` then ``lineage`` in one graph: the lineage units take the TLF stage's table units
    (the tables are built once); the lineage stage on its own builds them again from adam/."""
    import tlfgen.lineage.run as lineage_run
    import tlfgen.tlf.tables as tables
    from tlfgen.pipeline import run_stages

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("TLFGEN_JOBS", jobs)
    alone = _copy(embedded_run, tmp_path, "alone")
    run_tlf(alone)
    assert not (alone.outputs_dir / "lineage.json").exists()
    result_alone = lineage_run.run_lineage(alone)

    calls = tmp_path / "calls.txt"
    original = tables.create_table

    def counted(out, *args):
        with calls.open("a") as handle:
            handle.write(f"{out.id}\n")
        return original(out, *args)

    monkeypatch.setattr(tables, "create_table", counted)
    together = _copy(embedded_run, tmp_path, "together")
    results = run_stages(together, ["tlf", "lineage"])
    assert sorted(calls.read_text().split()) == ["T1", "T2", "T3", "T4", "T5"]  # once each
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


def test_each_km_figure_takes_the_table_with_the_km_block_of_its_analysis(embedded_run, tmp_path):
    """No table is named in the code: F1-F3 (PFS, OS, DOR) print Table 2's KM results because
    T2.yaml has the tte blocks PFS, OS and DOR; the forest plot (F4, also PFS) takes no table."""
    from tlfgen.tlf.run import tlf_units

    units = {u.id: u for u in tlf_units(_copy(embedded_run, tmp_path, "graph"))}
    assert [units[f"figure.F{k}"].inputs[-1] for k in (1, 2, 3)] == ["tlf.T2"] * 3
    assert not any(i.startswith("tlf.") for k in (4, 5, 6, 7) for i in units[f"figure.F{k}"].inputs)


def test_a_km_figure_follows_its_block_to_another_table(embedded_run, tmp_path):
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.figures.spec import load_figure_specs
    from tlfgen.tlf.run import km_table

    study = _copy(embedded_run, tmp_path, "moved")
    t2 = study.specs_dir / "tlf" / "T2.yaml"
    t2.write_text(t2.read_text().replace("{kind: tte, id: OS,", "{kind: tte, id: OS2,"))
    specs = load_stage_specs(study, "tlf")
    figures = {f.id: f for f in load_figure_specs(study)}
    assert km_table(figures["F1"], specs) == "T2"
    assert km_table(figures["F2"], specs) is None  # no table has an OS block now: the figure estimates it
