"""No destructive defaults (issue 17): ``simulate`` never overwrites a folder that holds files
unless ``--force``; a raw form the specs read but the study lacks stops the run with exit 1, even
under ``--allow-data-errors``, unless the form is marked optional."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from study_copy import copy_study
from tlfgen.cli import app
from tlfgen.errors import DataError
from tlfgen.pipeline import check_raw_forms
from tlfgen.spec.study import load_study

runner = CliRunner()


def _tree(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_simulate_into_a_folder_with_files_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "dm.csv").write_text("STUDYID,SITEID,SUBJID,FOLDER,RECPOS\nX,01,01001,SCRN,0\n")
    (out / "notes.txt").write_text("keep me\n")
    before = _tree(tmp_path)
    result = runner.invoke(app, ["simulate", "--out", str(out), "--subjects-per-arm", "2", "--seed", "5"])
    assert result.exit_code == 2, result.output
    assert "already holds 2 file(s) (dm.csv, notes.txt); simulate would overwrite them" in result.output
    assert "hint: pass --force to overwrite them" in result.output
    assert _tree(tmp_path) == before  # nothing written, nothing replaced


def test_simulate_with_force_overwrites_and_into_a_new_folder_writes(tmp_path):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "dm.csv").write_text("old\n")
    result = runner.invoke(app, ["simulate", "--out", str(out), "--subjects-per-arm", "2", "--seed", "5", "--force"])
    assert result.exit_code == 0, result.output
    assert (out / "dm.csv").read_text() != "old\n"
    fresh = tmp_path / "new"
    result = runner.invoke(app, ["simulate", "--out", str(fresh), "--subjects-per-arm", "2", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert (fresh / "dm.csv").is_file() and (fresh / "README.md").is_file()


def test_a_missing_raw_form_stops_the_run_with_exit_1_even_when_data_errors_are_allowed(tmp_path):
    study = copy_study(tmp_path)
    (study.raw_dir / "pr.csv").unlink()
    result = runner.invoke(app, ["--study", str(study.root), "run", "--allow-data-errors"])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "error: raw/pr.csv: raw form 'pr' (Conversion surgery) is missing; the SDTM specs read it for PR" in out
    assert "mark the form 'optional: true' in specs/sdtm/forms.yaml" in out
    assert not study.sdtm_dir.exists() or not any(study.sdtm_dir.iterdir())  # stopped before the SDTM stage


def test_an_optional_form_may_be_missing(tmp_path):
    study = copy_study(tmp_path)
    forms = study.specs_dir / "sdtm" / "forms.yaml"
    text = forms.read_text()
    old = "{name: pr, file: pr.csv, label: Conversion surgery,"
    assert old in text
    forms.write_text(text.replace(old, old + " optional: true,"))
    (study.raw_dir / "pr.csv").unlink()
    check_raw_forms(study)  # no error: the SDTM stage maps PR as empty and reports RAW-FILE-MISSING
    (study.raw_dir / "ae.csv").unlink()
    with pytest.raises(DataError, match="raw form 'ae' \\(Adverse events\\) is missing"):
        check_raw_forms(load_study(study.root))


def test_a_missing_optional_form_is_a_note_not_an_error(tmp_path):
    from tlfgen.raw.reader import read_raw_form

    lead = ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"]
    kept = read_raw_form(tmp_path / "pr.csv", name="pr", columns=["PRDAT"], leading=lead, display="raw/pr.csv",
                         optional=True)
    [note] = kept.findings
    assert (note.severity, note.rule, note.message) == (
        "NOTE", "RAW-FILE-MISSING", "optional form: raw file not found; its domains are built without it")
    [error] = read_raw_form(tmp_path / "pr.csv", name="pr", columns=["PRDAT"], leading=lead,
                            display="raw/pr.csv").findings
    assert error.severity == "ERROR"
