"""spec.tlf_check: the declared template context is the one the TLF stage passes (no false
alarm, no miss), and template names / TLF variables are checked against it."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from tlfgen.spec.tlf_check import ANY_KEY, LEAF, check_template, template_context_shape


def _assert_matches(shape: Any, context: Any, path: str) -> None:
    """Every key of the real context is declared and every declared key is there (arms: any key)."""
    if shape is LEAF:
        return
    assert isinstance(context, dict), f"{path}: the context holds {type(context).__name__}, the shape a mapping"
    if ANY_KEY in shape:
        for key, value in context.items():
            _assert_matches(shape[ANY_KEY], value, f"{path}.{key}")
        return
    assert set(context) == set(shape), f"{path}: context keys {sorted(context)} != declared {sorted(shape)}"
    for key in shape:
        _assert_matches(shape[key], context[key], f"{path}.{key}")


def test_the_declared_shape_is_the_context_of_every_embedded_output(embedded_run, monkeypatch):
    from tlfgen.spec.tlf import load_tlf_specs
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam
    from tlfgen.tlf.text import TemplateSet

    study, _ = embedded_run
    specs = load_tlf_specs(study)
    seen: dict[str, dict] = {}
    real = TemplateSet.output_text

    def capture(self, name, context):
        seen[name] = context
        return real(self, name, context)

    monkeypatch.setattr(TemplateSet, "output_text", capture)
    build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    assert len(seen) == len(specs.outputs) >= 9
    for out in specs.outputs:
        _assert_matches(template_context_shape(out.spec), seen[out.template], out.id)


SHAPE = {"population": LEAF, "methods": {"ORR": {"ci": LEAF, "test": LEAF}}, "arms": {ANY_KEY: {"n": LEAF}}}


@pytest.mark.parametrize("text, found", [
    ("{{ population }} {{ methods.ORR.ci }} {{ methods['ORR'].test.split(' (')[0] }}", []),
    ("{{ arms.TCAC.n }} {% for k, a in arms.items() %}{{ a.n }}{% endfor %}", []),
    ("{% set x = 1 %}{{ x }} {{ range(2)|list }}", []),
    ("line one\n{{ methods.ORR.cii }}", [("T.j2:2", "methods.ORR.cii", "did you mean 'methods.ORR.ci'?")]),
    ("{{ populaton }}", [("T.j2:1", "populaton", "did you mean 'population'?")]),
    ("{{ methods.ORRR.ci }}", [("T.j2:1", "methods.ORRR", "did you mean 'methods.ORR'?")]),
    ("{{ arms.TCAC.label }}", [("T.j2:1", "arms.TCAC.label", "available here: n")]),
])
def test_template_names_are_checked_against_the_shape(text, found):
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    errors = check_template(env, text, "T.j2", "T.j2", SHAPE, "T9")
    assert [(str(e.location), e.key_path, e.hint) for e in errors] == found


def test_an_unknown_soc_variable_is_a_spec_error_at_check(tmp_path):
    """The nested SOC/PT block's ``soc`` variable is checked like its term and grade (pilot T2)."""
    import shutil
    from pathlib import Path

    from typer.testing import CliRunner

    from tlfgen.cli import app

    pilot = Path(__file__).resolve().parents[2] / "examples" / "cdiscpilot01"
    study = tmp_path / "pilot"
    shutil.copytree(pilot / "specs", study / "specs")
    spec = study / "specs" / "tlf" / "T2.yaml"
    text = spec.read_text(encoding="utf-8")
    line = text[:text.index("soc: AEBODSYS")].count("\n") + 1
    spec.write_text(text.replace("soc: AEBODSYS", "soc: AEBODSYX"), encoding="utf-8")
    result = CliRunner().invoke(app, ["--study", str(study), "check"])
    assert result.exit_code == 2, result.output
    assert f"specs/tlf/T2.yaml:{line}:" in result.output and "AEBODSYX" in result.output
    assert "did you mean AEBODSYS" in result.output
