"""forms.yaml identifiers and date formats (tlfgen.spec.sdtm_forms), wide-form tests
(tlfgen.spec.sdtm_findings) and rule options: each mistake is a spec error at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tlfgen.errors import SpecError
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.study import load_study

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "edc_oak"


@pytest.fixture()
def folder(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "study")
    return tmp_path / "study"


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / "specs" / "sdtm" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def error_of(folder: Path) -> str:
    with pytest.raises(SpecError) as err:
        load_stage_specs(load_study(folder), "sdtm")
    return str(err.value)


def test_the_example_resolves_with_its_identifiers_and_dates(folder):
    specs = load_stage_specs(load_study(folder), "sdtm")
    assert specs.identifiers("cm").aliases() == {"SUBJID": "PATNUM"}
    assert specs.identifiers("dm").aliases() == {"SUBJID": "PATNUM", "SITEID": "SITE"}
    assert specs.identifiers("vs").aliases() == {"SUBJID": "PATNUM", "FOLDER": "VISIT"}
    assert (specs.dates("cm").order, specs.dates("cm").yearcutoff) == ("DMY", 1950)
    assert specs.required_columns("vs") == ["PATNUM", "VISIT"]
    # the VS source with four tests became four stacked sources, one per test
    vs = specs.domains["VS"].spec
    assert [s.values["VSTESTCD"].assign for s in vs.sources] == ["SYSBP", "DIABP", "PULSE", "TEMP"]
    assert vs.sources[1].filter == "(not_missing(DIABP))"
    assert vs.sources[1].values["VSSTRESN"].format == "number"


def test_embedded_defaults_are_the_embedded_export():
    from tlfgen.spec.sdtm_forms import FormsFile, form_required_columns

    forms = FormsFile.model_validate({"forms": [{"name": "ae", "file": "ae.csv", "label": "AE", "columns": ["AETERM"]}]})
    assert form_required_columns(forms, forms.forms[0]) == ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"]
    assert forms.identifiers.usubjid == "{STUDYID}-{SUBJID}"


def test_usubjid_pattern_fields_are_checked(folder):
    edit(folder, "forms.yaml", 'usubjid: "{STUDYID}-{SUBJID}"', 'usubjid: "{STUDYID}-{SITEID}-{PATNUM}"')
    text = error_of(folder)
    assert "specs/sdtm/forms.yaml:6:70: usubjid pattern uses {SITEID}" in text
    assert "usubjid pattern uses {SITEID}" in text and "usubjid pattern uses {PATNUM}" in text
    assert "usubjid pattern must contain {SUBJID}" in text


def test_a_form_key_must_be_one_of_its_columns(folder):
    edit(folder, "forms.yaml", "keys: [SUBJID, MDNUM]", "keys: [SUBJID, MDNUMBER]")
    assert "key MDNUMBER of form cm is not one of its columns" in error_of(folder)


def test_a_test_reading_an_unknown_column_is_an_error(folder):
    edit(folder, "VS.yaml", "result: PULSE,", "result: PULS,")
    assert "specs/sdtm/VS.yaml:12:" in error_of(folder)
    assert "form vs has no column PULS" in error_of(folder)


def test_a_test_listed_twice_is_an_error(folder):
    edit(folder, "VS.yaml", "{testcd: PULSE,", "{testcd: SYSBP,")
    assert "test SYSBP is listed twice" in error_of(folder)


def test_a_variable_without_rule_must_be_set_by_every_stacked_source(folder):
    edit(folder, "CM.yaml", "{name: CMINDC, label: Indication, role: Record Qualifier, source: cm.MDIND}",
         "{name: CMINDC, label: Indication, role: Record Qualifier}")
    text = error_of(folder)
    assert "variable CMINDC has no rule" in text and "specs/sdtm/CM.yaml:" in text


def test_date_options_need_a_source(folder):
    edit(folder, "DM.yaml", "origin: Assigned, assign: USA}", "origin: Assigned, assign: USA, date: {order: DMY}}")
    assert "date and time options need a source" in error_of(folder)


def test_a_time_field_must_exist(folder):
    edit(folder, "CM.yaml", "time: cm.MDETM", "time: cm.MDETIME")
    assert "form cm has no column MDETIME (at variables[14].time)" in error_of(folder)


def test_a_yearcutoff_is_a_four_digit_year(folder):
    edit(folder, "forms.yaml", "yearcutoff: 1950", "yearcutoff: 50")
    assert "yearcutoff" in error_of(folder)


def test_a_bad_expression_in_a_derivation_is_a_spec_error_at_check_time(folder):
    edit(folder, "CM.yaml", "condition: is_number(DOS)", "condition: eval(DOS)")
    text = error_of(folder)
    assert "specs/sdtm/CM.yaml:" in text and "calls 'eval', which is not an allowed function" in text
