"""``tlfgen check`` finds every seeded spec or template mistake before any data is read (issue 17).

Each case copies the embedded study, makes one mistake in one file, and asserts exit 2 and the
exact file:line(:column) and the did-you-mean of the message. The expected positions are the
lines of the embedded specs where the edit is made (see the ``old`` text of each case).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from study_copy import copy_study
from tlfgen.cli import app

runner = CliRunner()

# (case id, file, old text, new text, expected position, expected phrases)
CASES = [
    ("adam-arg-type", "specs/adam/ADRS.yaml", "confirm_min_days: 28", "confirm_min_days: four weeks",
     "specs/adam/ADRS.yaml:32:7",
     ["argument 'confirm_min_days' of 'derive_param_bor': input should be a valid integer (got 'four weeks')",
      "(at steps[1].args.confirm_min_days)", "hint: expected int (default 28)"]),
    ("adam-arg-choice", "specs/adam/ADRS.yaml", "ne_between_responses: ignore", "ne_between_responses: skip",
     "specs/adam/ADRS.yaml:34:7",
     ["argument 'ne_between_responses' of 'derive_param_bor' is 'skip', not one of the choices",
      "expected one of 'ignore', 'break' (default 'ignore')"]),
    ("adam-arg-choice-near", "specs/adam/ADSL.yaml", "order: [DSSTDTC, DSSEQ]\n      mode: first",
     "order: [DSSTDTC, DSSEQ]\n      mode: frist", "specs/adam/ADSL.yaml:36:7",
     ["argument 'mode' of 'derive_vars_merged' is 'frist'", "did you mean 'first'?"]),
    ("adam-unknown-arg", "specs/adam/ADRS.yaml", "confirm_min_days: 28", "confirm_min_dayz: 28",
     "specs/adam/ADRS.yaml:32:7",
     ["derivation 'derive_param_bor' has no argument 'confirm_min_dayz'", "did you mean 'confirm_min_days'"]),
    ("adtte-source-key", "specs/adam/ADTTE.yaml", "date: ADT,\n           evntdesc: DISEASE PROGRESSION",
     "date: ADT,\n           evntdsc: DISEASE PROGRESSION", "specs/adam/ADTTE.yaml:25:12",
     ["argument 'events[0]' of 'derive_param_tte' has an unknown key 'evntdsc'", "did you mean 'evntdesc'?"]),
    ("sdtm-arg-choice", "specs/sdtm/DM.yaml", "args: {fields: [ex.EXSTDAT], how: min}},\n",
     "args: {fields: [ex.EXSTDAT], how: minimum}},\n", "specs/sdtm/DM.yaml:16:72",
     ["argument 'how' of 'compute_subject_date' is 'minimum', not one of the choices", "did you mean 'min'?"]),
    ("sdtm-arg-type", "specs/sdtm/AE.yaml", "args: {order: [AESTDTC, AEDECOD, AETOXGR]}",
     "args: {order: AESTDTC}", "specs/sdtm/AE.yaml:13:",
     ["argument 'order' of 'compute_seq'", "(got 'AESTDTC')", "expected list[str] | None (default None)"]),
    ("raw-header", "raw/dm.csv", "BRTHDAT,SEX,", "BRTHDAT,SEXX,", "specs/sdtm/forms.yaml:7:25",
     ["raw file raw/dm.csv has no column SEX (its header, line 1, has", "did you mean SEXX?",
      "read by DM.SEX at specs/sdtm/DM.yaml:"]),
    ("sdtm-source-column", "specs/sdtm/DM.yaml", "source: dm.SEX,", "source: dm.SEXE,", "specs/sdtm/DM.yaml:38:53",
     ["form dm has no column SEXE", "(at variables[16].source)", "did you mean SEX"]),
    ("tlf-variable", "specs/tlf/T2.yaml", "    variable: AVALC\n", "    variable: AVALCC\n",
     "specs/tlf/T2.yaml:16:5",
     ["variable AVALCC is not declared by the ADaM spec of ADRS (specs/adam/ADRS.yaml)",
      "(at blocks[0].variable)", "did you mean AVALC"]),
    ("tlf-listing-column", "specs/tlf/L2.yaml", "{variable: DCSREAS,", "{variable: DCSREASON,",
     "specs/tlf/L2.yaml:14:6", ["variable DCSREASON is not declared by the ADaM spec of ADSL", "did you mean DCSREAS"]),
    ("tlf-filter-column", "specs/tlf/T1.yaml", 'filter: "FASFL == \'Y\'"', 'filter: "FASLF == \'Y\'"',
     "specs/tlf/T1.yaml:5:", ["variable FASLF is not declared by the ADaM spec of ADSL", "(at population.filter)",
                               "did you mean FASFL"]),
    ("template-attribute", "specs/templates/T2.j2", "{{ methods.ORR.ci }}", "{{ methods.ORR.cii }}",
     "specs/templates/T2.j2:7",
     ["template names 'methods.ORR.cii', which the context of T2 does not provide", "did you mean 'methods.ORR.ci'?"]),
    ("template-root", "specs/templates/T1.j2", "{{ population }}", "{{ populaton }}", "specs/templates/T1.j2:3",
     ["template names 'populaton', which the context of T1 does not provide", "did you mean 'population'"]),
    ("template-block-field", "specs/templates/T2.j2", "{% if blocks.ORR.test ==", "{% if blocks.ORR.tset ==",
     "specs/templates/T2.j2:8", ["template names 'blocks.ORR.tset'", "did you mean 'blocks.ORR.test' or 'blocks.ORR.dataset'?"]),
    ("template-block-id", "specs/templates/T2.j2", "{{ methods.DCR.test.split", "{{ methods.DCRR.test.split",
     "specs/templates/T2.j2:8", ["template names 'methods.DCRR'", "did you mean 'methods.DCR'?"]),
]


def seed(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{file}: the text to replace is not there: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")  # the first occurrence


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_check_finds_the_seeded_mistake(tmp_path, case):
    _, file, old, new, position, phrases = case
    study = copy_study(tmp_path)
    seed(study.root, file, old, new)
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out
    assert f"{position}" in out, out
    line = next(line for line in out.splitlines() if position in line)
    for phrase in phrases:
        assert phrase in out, f"{phrase!r} not in {out}"
    assert phrases[0] in line  # the position and the problem are on one line


def test_the_embedded_study_checks_clean():
    result = runner.invoke(app, ["--study", str(Path(__file__).resolve().parents[2]), "check"])
    assert result.exit_code == 0, result.output
    assert "raw: 17 raw file header(s) ok" in result.output


def test_a_mistake_found_by_run_is_a_spec_error_before_any_data_is_read(tmp_path):
    study = copy_study(tmp_path)
    seed(study.root, "specs/templates/T2.j2", "{{ methods.ORR.ci }}", "{{ methods.ORR.cii }}")
    result = runner.invoke(app, ["--study", str(study.root), "run", "--allow-data-errors"])
    assert result.exit_code == 2, result.output
    assert "specs/templates/T2.j2:7: template names 'methods.ORR.cii'" in result.output
    assert not (study.root / "sdtm").exists() or not any((study.root / "sdtm").iterdir())
