"""The command line: exit codes and one-line errors without tracebacks."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlfgen.cli import app
from study_copy import copy_study
from tlfgen.units import can_fork

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def make_study(tmp_path: Path, study_yaml: str | None = None) -> Path:
    (tmp_path / "specs").mkdir()
    text = study_yaml if study_yaml is not None else (ROOT / "specs" / "study.yaml").read_text()
    (tmp_path / "specs" / "study.yaml").write_text(text)
    return tmp_path


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "sdtm", "adam", "tlf", "check", "simulate", "trace"):
        assert command in result.output


def test_missing_study_spec_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["--study", str(tmp_path), "check"])
    assert result.exit_code == 2
    assert "error: " in result.output and "no study spec found" in result.output
    assert "Traceback" not in result.output


def test_unknown_key_in_study_spec_exits_2_with_file_line(tmp_path):
    text = (ROOT / "specs" / "study.yaml").read_text().replace("  cutoff: 2025-04-12", "  cutof: 2025-04-12")
    study = make_study(tmp_path, text)
    result = runner.invoke(app, ["--study", str(study), "check"])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "specs/study.yaml:11:3: unknown key 'cutof' (at study.cutof)" in out
    assert "hint: did you mean 'cutoff'?" in out
    assert "missing required key 'cutoff' (at study.cutoff)" in out


def test_yaml_syntax_error_exits_2(tmp_path):
    study = make_study(tmp_path, "study:\n  id: [X\n")
    result = runner.invoke(app, ["--study", str(study), "check"])
    assert result.exit_code == 2
    assert "specs/study.yaml:3:1: YAML error:" in result.output


def test_paths_outside_the_study_are_refused(tmp_path):
    text = (ROOT / "specs" / "study.yaml").read_text().replace("    raw: raw", "    raw: ../../etc")
    study = make_study(tmp_path, text)
    result = runner.invoke(app, ["--study", str(study), "check"])
    assert result.exit_code == 2
    assert "raw path '../../etc' points outside the study folder" in " ".join(result.output.split())


def test_debug_shows_the_traceback(tmp_path):
    result = runner.invoke(app, ["--debug", "--study", str(tmp_path), "check"])
    assert result.exit_code != 0
    assert result.exception is not None


def _bug_in_a_child(study, stages, on_stage, on_done=None):
    import time

    from tlfgen.units import Unit, run_units

    # this process holds the main unit while a worker (with two jobs) runs the one with the bug
    units = [Unit("base", (), lambda: 1), Unit("hold", ("base",), lambda base: time.sleep(0.5), cost=1, main=True),
             Unit("figure.F1", ("base",), lambda base: {"a": 1}["b"])]
    return run_units(units, ["hold", "figure.F1"])


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bug_in_a_worker_process_is_an_internal_error_like_in_one_process(tmp_path, monkeypatch, jobs):
    import tlfgen.pipeline

    copy_study(tmp_path, parts=("specs",))
    monkeypatch.setenv("TLFGEN_JOBS", jobs)
    monkeypatch.setattr(tlfgen.pipeline, "run_stages", _bug_in_a_child)
    result = runner.invoke(app, ["--study", str(tmp_path), "run"])
    assert result.exit_code == 3
    assert "internal error" in result.output and "KeyError: 'b'" in result.output
    assert "this is a bug in tlfgen; run again with --debug" in result.output
    assert "Traceback" not in result.output
    assert ("raised in the worker process running figure.F1" in result.output) is (jobs == "2" and can_fork())


def test_the_stages_of_one_run_are_one_graph_and_a_stage_alone_reads_from_disk(tmp_path):
    import tlfgen.pipeline as pipeline

    study = copy_study(tmp_path, parts=("specs",))
    together = {u.id: u for u in pipeline.study_units(study, ["adam", "tlf", "lineage"])}
    assert together["read.adam.ADSL"].inputs == ("adam.ADSL", "write.adam.ADSL")  # the frame, not the file
    outputs = ("tlf.T1", "tlf.T2", "tlf.T3", "tlf.T4", "tlf.T5", "tlf.L1", "tlf.L2", "tlf.L3", "tlf.L4")
    assert together["lineage.ars"].inputs[-9:] == outputs  # the TLF stage's models, not built again
    assert sorted(u for u in together if u.startswith(("tlf.T", "tlf.L"))) == sorted(outputs)
    alone = {u.id: u for u in pipeline.study_units(study, ["tlf"])}
    assert alone["read.adam.ADSL"].inputs == ()
    full = {u.id: u for u in pipeline.study_units(study, ["sdtm", "adam"])}
    assert full["read.sdtm.SUPPAE"].inputs == ("write.sdtm.AE",)  # read once AE's writer wrote it


def test_a_blank_source_date_epoch_is_unset_and_a_bad_one_is_an_error(tmp_path, monkeypatch):
    import os

    study = copy_study(tmp_path, parts=("specs",))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", " ")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 0, result.output
    assert "SOURCE_DATE_EPOCH" not in os.environ  # numpy.f2py, imported by the TLF stage, reads it with int()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 1
    assert "SOURCE_DATE_EPOCH='yesterday' is not a whole number of seconds" in result.output
    assert "Traceback" not in result.output


def test_an_sdtm_only_study_needs_no_tlf_template_or_adam_spec(tmp_path):
    """examples/edc_oak has specs/sdtm and specs/ct only: check and sdtm both work."""
    study = tmp_path / "study"
    shutil.copytree(ROOT / "examples" / "edc_oak", study)
    assert not (study / "specs" / "templates").exists() and not (study / "specs" / "adam").exists()
    result = runner.invoke(app, ["--study", str(study), "check"])
    assert result.exit_code == 0, result.output
    assert "sdtm: 3 spec(s) ok" in result.output and "tlf" not in result.output
    result = runner.invoke(app, ["--study", str(study), "sdtm", "--allow-data-errors"])
    assert result.exit_code == 0, result.output
    assert (study / "sdtm" / "cm.xpt").is_file()


def test_check_names_a_key_column_missing_from_a_raw_header(tmp_path):
    study = tmp_path / "study"
    shutil.copytree(ROOT / "examples" / "edc_oak", study)
    (study / "raw" / "cm.csv").write_text((study / "raw" / "cm.csv").read_text().replace("PATNUM", "PATIENT", 1))
    result = runner.invoke(app, ["--study", str(study), "check"])
    assert result.exit_code == 2
    assert "specs/sdtm/forms.yaml:15:5: form cm: raw/cm.csv has no column PATNUM" in result.output


@pytest.mark.parametrize("argv, expected", [([], 2), (["--jobs", "1"], 1), (["--jobs", "3"], 3)])
def test_run_jobs_sets_the_processes_of_one_study(tmp_path, monkeypatch, argv, expected):
    import tlfgen.pipeline as pipeline
    from tlfgen.units import Unit, jobs

    monkeypatch.setenv("TLFGEN_JOBS", "")  # restored after the test; blank: the default, 2
    seen = []

    def fake(study, names):
        return [Unit(name, (), lambda name=name: seen.append(jobs()) or pipeline.StageResult(name), main=True)
                for name in names]

    monkeypatch.setattr(pipeline, "study_units", fake)
    monkeypatch.setattr(pipeline, "check_raw_forms", lambda s: None)
    result = runner.invoke(app, ["--study", str(copy_study(tmp_path, parts=("specs",)).root), "run", *argv])
    assert result.exit_code == 0, result.output
    assert seen == [expected] * 4
