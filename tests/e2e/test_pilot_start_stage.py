"""Where a study starts (study.start in specs/study.yaml) and arm codes of any case.

A study that starts at SDTM or ADaM needs no raw/ folder and no specs of the stages before its
start; asking only for such a stage is a usage error (exit 2), the supplied data are never rebuilt.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlfgen.cli import app
from tlfgen.errors import SpecError
from tlfgen.pipeline import stages_to_run
from tlfgen.spec.study import load_study

STUDY = """\
study:
  id: X1
  name: x
  description: x
  protocol: x
  cutoff: 2024-01-31
  start: {start}
  arms:
    - {{armcd: {first}, arm: Placebo, trtn: 0}}
    - {{armcd: {second}, arm: Xanomeline Low Dose, trtn: 54}}
"""


def write(tmp_path, start="sdtm", first="Pbo", second="Xan_Lo"):
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "study.yaml").write_text(STUDY.format(start=start, first=first, second=second))
    return tmp_path


def test_start_01_mixed_case_arm_codes_are_valid(tmp_path):
    study = load_study(write(tmp_path))
    assert [a.armcd for a in study.spec.study.arms] == ["Pbo", "Xan_Lo"]
    assert study.start == "sdtm" and study.supplies("sdtm") and not study.supplies("adam")


def test_start_02_arm_codes_differing_only_in_case_are_an_error(tmp_path):
    with pytest.raises(SpecError) as err:
        load_study(write(tmp_path, first="PBO", second="Pbo"))
    assert "arm codes PBO and Pbo differ only in case" in str(err.value)


def test_start_03_stages_before_the_start_are_skipped_or_refused(tmp_path):
    study = load_study(write(tmp_path))
    assert stages_to_run(study, ["sdtm", "adam", "tlf", "lineage"]) == ["adam", "tlf", "lineage"]
    with pytest.raises(SpecError) as err:
        stages_to_run(study, ["sdtm"])
    assert str(err.value) == (
        "specs/study.yaml:7:3: this study starts at SDTM: its SDTM datasets are supplied, not built\n"
        "  hint: run the later stages (tlfgen adam, tlfgen tlf, tlfgen run), or set study.start: raw")
    (tmp_path / "a").mkdir()
    adam = load_study(write(tmp_path / "a", start="adam"))
    assert stages_to_run(adam, ["sdtm", "adam", "tlf", "lineage"]) == ["tlf", "lineage"]


def test_start_04_check_needs_no_sdtm_specs_and_sdtm_command_exits_2(tmp_path):
    root = write(tmp_path)
    runner = CliRunner()
    (root / "specs" / "templates").mkdir()
    cells = Path(__file__).resolve().parents[2] / "specs" / "templates" / "cells.j2"
    (root / "specs" / "templates" / "cells.j2").write_text(cells.read_text())
    checked = runner.invoke(app, ["--study", str(root), "check"])
    assert checked.exit_code == 0, checked.output
    assert "sdtm:" not in checked.output and "all specs are valid" in checked.output
    refused = runner.invoke(app, ["--study", str(root), "sdtm"])
    assert refused.exit_code == 2
    assert "this study starts at SDTM" in refused.output


def test_start_05_unknown_start_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError) as err:
        load_study(write(tmp_path, start="csv"))
    assert "start" in str(err.value) and "'raw', 'sdtm' or 'adam'" in str(err.value)
