"""SDTM and CT spec loading and resolution (tlfgen.spec.sdtm, tlfgen.spec.ct): errors name file:line."""

import pytest
from sdtm_helpers import make_study

from tlfgen.errors import SpecError
from tlfgen.spec.check import load_stage_specs


def edit(study, name, old, new):
    path = study.specs_dir / "sdtm" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_embedded_specs_resolve(small_study):
    specs = load_stage_specs(small_study, "sdtm")
    assert len(specs) == 16
    assert specs.codelists["SEX"].map_value(" female ") == "F"


def test_unknown_key_in_a_domain_spec(small_study):
    edit(small_study, "AE.yaml", "structure:", "structur: x\nstructure:")
    with pytest.raises(SpecError) as err:
        load_stage_specs(small_study, "sdtm")
    assert str(err.value) == ("specs/sdtm/AE.yaml:4:1: unknown key 'structur' (at structur)\n"
                              "  hint: did you mean 'structure'?")


def test_unknown_field_codelist_and_derivation_are_reported_together(small_study):
    edit(small_study, "AE.yaml", "source: ae.AETERM,", "source: ae.AETERN,")
    edit(small_study, "AE.yaml", "codelist: OUT}", "codelist: OUTT}")
    edit(small_study, "AE.yaml", "name: compute_study_day", "name: compute_studyday")
    with pytest.raises(SpecError) as err:
        load_stage_specs(small_study, "sdtm")
    lines = str(err.value).splitlines()
    assert lines[0] == "3 spec error(s):"
    assert "specs/sdtm/AE.yaml:15:77: form ae has no column AETERN (at variables[5].source)" in lines[1]
    assert lines[2] == "  hint: did you mean AETERM or AESER or AETOXGR?"
    assert any("unknown codelist 'OUTT'" in line for line in lines)
    assert any("unknown derivation 'compute_studyday'" in line for line in lines)


def test_rule_needs_exactly_one_of_source_assign_derive(small_study):
    edit(small_study, "PR.yaml", "assign: CONVERSION SURGERY}", "assign: X, source: pr.PRTRT}")
    with pytest.raises(SpecError) as err:
        load_stage_specs(small_study, "sdtm")
    assert "give exactly one of source, assign, derive (got source, assign)" in str(err.value)
    assert str(err.value).startswith("specs/sdtm/PR.yaml:")
