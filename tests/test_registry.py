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


# ---------------------------------------------------------------- typed arguments (issue 17)

from typing import Literal  # noqa: E402


@registry.derivation(produces=("{new_var}",))
def derive_var_test_typed(dataset, *, new_var: str, days: int = 28, mode: Literal["first", "last"] = "first",
                          by_vars: list[str] | None = None):
    """A typed fixture."""
    return dataset


def test_arguments_model_takes_types_and_defaults_from_the_signature():
    deriv = registry.get_derivation("derive_var_test_typed")
    args = {a.name: a for a in deriv.arguments()}
    assert [a.name for a in deriv.arguments()] == ["new_var", "days", "mode", "by_vars"]
    assert (args["days"].type_text, args["days"].default, args["days"].required) == ("int", 28, False)
    assert args["mode"].type_text == "'first' | 'last'"
    assert args["by_vars"].type_text == "list[str] | None"
    assert args["new_var"].required
    deriv.check_args({"new_var": "X", "days": 7, "mode": "last", "by_vars": ["USUBJID"]})  # valid: no error


def test_wrong_type_and_wrong_choice_are_spec_errors_with_the_expected_type():
    deriv = registry.get_derivation("derive_var_test_typed")
    with pytest.raises(SpecError) as info:
        deriv.check_args({"new_var": "X", "days": "four weeks"})
    assert "argument 'days' of 'derive_var_test_typed': input should be a valid integer (got 'four weeks')" \
        in str(info.value)
    assert "hint: expected int (default 28)" in str(info.value)
    with pytest.raises(SpecError) as info:
        deriv.check_args({"new_var": "X", "mode": "lsat"})
    assert "argument 'mode' of 'derive_var_test_typed' is 'lsat', not one of the choices" in str(info.value)
    assert "did you mean 'last'?; expected one of 'first', 'last' (default 'first')" in str(info.value)
    with pytest.raises(SpecError, match="input should be a valid string"):
        deriv.check_args({"new_var": "X", "by_vars": ["USUBJID", 3]})  # strict: a number is not text


def test_each_argument_error_points_at_its_own_line():
    from tlfgen.spec.base import parse_yaml_text

    doc = parse_yaml_text("args:\n  new_var: X\n  days: soon\n  mode: both\n", display="specs/adam/T.yaml")
    deriv = registry.get_derivation("derive_var_test_typed")
    with pytest.raises(SpecError) as info:
        deriv.check_args(doc.data["args"], source=doc.source, prefix=("args",))
    errors = info.value.errors  # both reported at once
    assert [str(e.location) for e in errors] == ["specs/adam/T.yaml:3:3", "specs/adam/T.yaml:4:3"]
    assert [e.key_path for e in errors] == ["args.days", "args.mode"]


def test_every_builtin_derivation_has_typed_keyword_only_arguments_and_a_summary():
    import inspect
    import typing

    problems = []
    builtin = {n: d for n, d in registry.registered().items() if d.func.__module__.startswith("tlfgen.")}
    assert len(builtin) >= 35
    for name, deriv in builtin.items():
        hints = typing.get_type_hints(deriv.func)  # annotations resolve (no name left to type checkers)
        params = inspect.signature(deriv.func).parameters
        for arg in deriv.parameters:
            if params[arg].kind is not inspect.Parameter.KEYWORD_ONLY:
                problems.append(f"{name}: {arg} is not keyword-only")
            if arg not in hints:
                problems.append(f"{name}: {arg} has no annotation")
        if not deriv.summary:
            problems.append(f"{name}: no docstring")
        deriv.arguments_model()  # builds
    assert problems == []


def test_adtte_sources_are_typed_entries():
    deriv = registry.get_derivation("derive_param_tte")
    base = {"paramcd": "OS", "param": "Overall survival", "start": {"dataset": "adam.ADSL", "date": "TRTSDT"},
            "censors": [{"dataset": "adam.ADSL", "date": "LSTALVDT", "cnsdtdsc": "LAST KNOWN ALIVE"}]}
    deriv.check_args({**base, "events": [{"dataset": "adam.ADSL", "date": "DTHDT", "evntdesc": "DEATH"}]})
    with pytest.raises(SpecError) as info:
        deriv.check_args({**base, "events": [{"dataset": "adam.ADSL", "date": "DTHDT", "evntdesc": "DEATH",
                                              "conditon": "DTHFL == 'Y'"}]})
    assert "argument 'events[0]' of 'derive_param_tte' has an unknown key 'conditon'" in str(info.value)
    assert "did you mean 'condition'?" in str(info.value)
    with pytest.raises(SpecError, match="'events\\[0\\]' of 'derive_param_tte' needs the key 'evntdesc'"):
        deriv.check_args({**base, "events": [{"dataset": "adam.ADSL", "date": "DTHDT"}]})
    with pytest.raises(SpecError, match="has an unknown key 'preempts'"):  # a censor-only key on an event
        deriv.check_args({**base, "events": [{"dataset": "adam.ADSL", "date": "DTHDT", "evntdesc": "D",
                                              "preempts": True}]})
