"""Tests for tlfgen.spec.adam: ADaM spec loading and resolution errors (exact messages with file:line)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tlfgen.errors import ExpressionError, SpecError
from tlfgen.spec.adam import load_adam_spec_files

ADSL = """\
dataset: ADSL
label: Subject-Level Analysis Dataset
class: SUBJECT LEVEL ANALYSIS DATASET
structure: One record per subject
keys: [USUBJID]
inputs: [sdtm.DM]
steps:
  - id: dm
    derive: create_dataset
    args: {source: sdtm.DM, keep: [USUBJID, AGE]}
  - id: agegr1
    derive: derive_var_cat
    args:
      new_var: AGEGR1
      cats:
        - {condition: "AGE < 65", value: "<65"}
        - {condition: "AGE >= 65", value: ">=65"}
variables:
  - {name: USUBJID, label: Unique Subject Identifier, type: text, origin: Predecessor, source: sdtm.DM.USUBJID}
  - {name: AGE, label: Age, type: integer, origin: Predecessor, source: sdtm.DM.AGE}
  - {name: AGEGR1, label: Pooled Age Group 1, type: text, method: "AGE < 65, >= 65"}
"""

ADAE = """\
dataset: ADAE
label: Adverse Events Analysis Dataset
class: OCCURRENCE DATA STRUCTURE
structure: One record per adverse event
keys: [USUBJID, AESEQ]
inputs: [sdtm.AE, adam.ADSL]
steps:
  - id: ae
    derive: create_dataset
    args: {source: sdtm.AE, keep: [USUBJID, AESEQ]}
  - id: adsl
    derive: derive_vars_merged
    args: {source: adam.ADSL, new_vars: [AGEGR1]}
variables:
  - {name: USUBJID, label: Unique Subject Identifier, type: text}
  - {name: AESEQ, label: Sequence Number, type: integer}
  - {name: AGEGR1, label: Pooled Age Group 1, type: text}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "specs" / "adam"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, **texts: str):
    paths = [write(tmp_path, name, text) for name, text in sorted(texts.items())]
    return load_adam_spec_files(paths, root=tmp_path)


def test_load_01_orders_datasets_adsl_first_and_steps(tmp_path):
    specs = load(tmp_path, ADAE=ADAE, ADSL=ADSL)
    assert [d.name for d in specs.datasets] == ["ADSL", "ADAE"]
    assert [s.spec.id for s in specs["ADAE"].steps] == ["ae", "adsl"]
    assert specs["ADAE"].steps[1].requires == ("USUBJID", "adam.ADSL.USUBJID", "adam.ADSL.AGEGR1")
    assert specs.graph.upstream("ADAE.AGEGR1") == [
        "ADAE.USUBJID", "ADAE.adsl()", "ADAE.ae()", "ADSL.AGE", "ADSL.AGEGR1", "ADSL.USUBJID",
        "ADSL.agegr1()", "ADSL.dm()", "sdtm.AE.AESEQ", "sdtm.AE.USUBJID", "sdtm.DM.AGE", "sdtm.DM.USUBJID"]


def test_error_01_unknown_key(tmp_path):
    text = ADSL.replace("{name: AGE, label: Age,", "{name: AGE, labl: Age,")
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=text)
    assert str(err.value) == (
        "2 spec error(s):\n"
        "  specs/adam/ADSL.yaml:20:5: missing required key 'label' (at variables[1].label)\n"
        "  specs/adam/ADSL.yaml:20:17: unknown key 'labl' (at variables[1].labl)\n"
        "  hint: did you mean 'label'?")


def test_error_02_misspelled_derivation(tmp_path):
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=ADSL.replace("derive: derive_var_cat", "derive: derive_var_kat"))
    assert str(err.value) == (
        "specs/adam/ADSL.yaml:12:5: unknown derivation 'derive_var_kat' (at steps[1].derive)\n"
        "  hint: did you mean 'derive_var_cat' or 'derive_vars_cat' or 'derive_vars_dt'?")


def test_error_03_unknown_argument(tmp_path):
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=ADSL.replace("new_var: AGEGR1", "new_vr: AGEGR1"))
    assert str(err.value) == (
        "specs/adam/ADSL.yaml:14:7: derivation 'derive_var_cat' has no argument 'new_vr' (at steps[1].args.new_vr)\n"
        "  hint: did you mean 'new_var' or 'new_varn'?")


def test_error_04_reference_to_missing_variable(tmp_path):
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=ADSL, ADAE=ADAE.replace("new_vars: [AGEGR1]", "new_vars: [AGEGR]"))
    assert str(err.value) == (
        "specs/adam/ADAE.yaml:13:5: step 'adsl' needs adam.ADSL.AGEGR, which ADSL does not declare\n"
        "  hint: did you mean AGEGR1 or AGE?")


def test_error_05_own_variable_no_step_produces(tmp_path):
    text = ADSL.replace('"AGE < 65"', '"AGEX < 65"')
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=text)
    assert str(err.value) == (
        "specs/adam/ADSL.yaml:13:5: step 'agegr1' (derive_var_cat) needs ADSL.AGEX, which no step of ADSL "
        "produces\n  hint: did you mean AGE or AGEGR1?")


def test_error_06_dependency_cycle_between_two_steps(tmp_path):
    text = ADSL + textwrap.dedent("""\
        value_level: []
        """).replace("value_level: []\n", "")
    text = text.replace("""variables:""", """  - id: flag_a
    derive: derive_var_flag
    args: {new_var: AFL, condition: "BFL == 'Y'"}
  - id: flag_b
    derive: derive_var_flag
    args: {new_var: BFL, condition: "AFL == 'Y'"}
variables:""")
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=text)
    message = str(err.value)
    assert message.startswith("specs/adam/ADSL.yaml:")
    assert "dependency cycle between variables: " in message
    cycle = message.split("dependency cycle between variables: ")[1].split("\n")[0]
    assert set(cycle.split(" -> ")) == {"ADSL.AFL", "ADSL.BFL", "ADSL.flag_a()", "ADSL.flag_b()"}
    assert "ADSL.flag_a() at specs/adam/ADSL.yaml:18:5" in message
    assert "ADSL.flag_b() at specs/adam/ADSL.yaml:21:5" in message


def test_error_07_unsafe_expression_in_filter(tmp_path):
    text = ADSL.replace("keep: [USUBJID, AGE]}", "keep: [USUBJID, AGE], filter: \"__import__('os')\"}")
    with pytest.raises(ExpressionError) as err:
        load(tmp_path, ADSL=text)
    assert str(err.value).startswith(
        "specs/adam/ADSL.yaml:10:51: expression '__import__('os')' calls '__import__', "
        "which is not an allowed function")


def test_error_08_input_not_listed(tmp_path):
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=ADSL, ADAE=ADAE.replace("inputs: [sdtm.AE, adam.ADSL]", "inputs: [sdtm.AE]"))
    assert str(err.value) == (
        "specs/adam/ADAE.yaml:13:5: step 'adsl' reads adam.ADSL, which is not listed in inputs\n"
        "  hint: add adam.ADSL to inputs: ['sdtm.AE']")


def test_error_09_declared_but_never_produced(tmp_path):
    text = ADSL + "  - {name: SEX, label: Sex, type: text}\n"
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=text)
    assert str(err.value) == (
        "specs/adam/ADSL.yaml:22:5: ADSL.SEX is declared but no step produces it\n"
        "  hint: add a step that derives it (e.g. derive_vars_merged for a copied variable)")


def test_error_10_file_name_must_match_dataset(tmp_path):
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSLX=ADSL)
    assert str(err.value) == ("specs/adam/ADSLX.yaml:1:1: file ADSLX.yaml holds dataset ADSL\n"
                              "  hint: name the file ADSL.yaml")


def test_error_computed_expression_is_checked_at_load(tmp_path):
    """derive_vars_computed: each NAME: expression is parsed when the spec loads (file:line of the value)."""
    old = """    derive: derive_var_cat
    args:
      new_var: AGEGR1
      cats:
        - {condition: "AGE < 65", value: "<65"}
        - {condition: "AGE >= 65", value: ">=65"}
"""
    assert old in ADSL
    bad = ADSL.replace(old, """    derive: derive_vars_computed
    args:
      new_vars:
        AGEGR1: "eval(AGE)"
""")
    with pytest.raises(SpecError) as err:
        load(tmp_path, ADSL=bad)
    assert str(err.value).startswith("specs/adam/ADSL.yaml:15:9: expression 'eval(AGE)' calls 'eval', which is not "
                                     "an allowed function")
