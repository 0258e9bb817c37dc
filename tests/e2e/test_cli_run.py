"""The command line on the embedded study: the deliberate raw problems give exit 1,
unless --allow-data-errors; outputs and the manifest are written either way."""

from typer.testing import CliRunner

from tlfgen.cli import app


def test_sdtm_exit_code_follows_error_findings(embedded_run):
    study, results = embedded_run
    assert results["sdtm"].errors == 4  # the deliberate problems of raw/README.md that are errors
    runner = CliRunner()
    strict = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    assert strict.exit_code == 1
    assert "4 error finding(s) in the data: see outputs/qc/findings.xlsx" in strict.output
    lenient = runner.invoke(app, ["--study", str(study.root), "sdtm", "--allow-data-errors"])
    assert lenient.exit_code == 0
    assert "(exit 0: --allow-data-errors)" in lenient.output
    assert (study.outputs_dir / "manifest.json").is_file()
