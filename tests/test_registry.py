"""Derivation registry: names, requires/produces templates, argument checks."""

import pytest

from tlfgen import registry
from tlfgen.errors import SpecError


@registry.derivation(requires=("sdtm.{domain}.{var}", "{by_vars}"), produces=("{new_var}",))
def derive_var_test_merge(dataset, *, domain, var, new_var, by_vars=("USUBJID",)):
    """Merge one variable from an SDTM domain (test fixture)."""
    return dataset


def test_requires_and_produces_expand_from_arguments():
    deriv = registry.get_derivation("derive_var_test_merge")
    args = {"domain": "DM", "var": "AGE", "new_var": "AGE", "by_vars": ["USUBJID", "STUDYID"]}
    assert deriv.required_vars(args) == ["sdtm.DM.AGE", "USUBJID", "STUDYID"]
    assert deriv.produced_vars(args) == ["AGE"]
    assert deriv.parameters == ("domain", "var", "new_var", "by_vars")
    assert deriv.required_parameters == ("domain", "var", "new_var")
    assert deriv.description == "Merge one variable from an SDTM domain (test fixture)."


def test_misspelled_derivation_names_the_closest():
    with pytest.raises(SpecError) as info:
        registry.get_derivation("derive_var_test_merg")
    assert "unknown derivation 'derive_var_test_merg'" in str(info.value)
    assert "hint: did you mean 'derive_var_test_merge'" in str(info.value)


def test_unknown_and_missing_arguments():
    deriv = registry.get_derivation("derive_var_test_merge")
    with pytest.raises(SpecError, match="(?s)has no argument 'new_vr'.*did you mean 'new_var'"):
        deriv.check_args({"domain": "DM", "var": "AGE", "new_vr": "X"})
    with pytest.raises(SpecError, match="needs argument\\(s\\) new_var"):
        deriv.check_args({"domain": "DM", "var": "AGE"})


def test_names_must_carry_a_verb_prefix():
    with pytest.raises(ValueError, match="must start with"):
        registry.derivation()(lambda dataset: dataset)
