"""Tests of tlf/text.py: the sandboxed Jinja templates (cells.j2 macros, output titles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlfgen.errors import SpecError
from tlfgen.tlf.text import TemplateSet

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "specs" / "templates"


def _templates(tmp_path: Path, **files: str) -> TemplateSet:
    for name in ("cells.j2",):
        (tmp_path / name).write_text((REPO_TEMPLATES / name).read_text(encoding="utf-8"), encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name.replace("_j2", ".j2")).write_text(text, encoding="utf-8")
    return TemplateSet(tmp_path)


def test_01_cell_macros_of_the_embedded_study() -> None:
    t = TemplateSet(REPO_TEMPLATES)
    assert t.cell("n_pct", n="27", pct="90.0") == "27 (90.0)"
    assert t.cell("ci", lower="73.5", upper="97.9") == "73.5, 97.9"
    assert t.cell("est_ci", est="16.03", lower="9.49", upper="22.58") == "16.03 (9.49, 22.58)"
    assert t.cell("median_range", median="14.5", min="1.9", max="45.9") == "14.5 (1.9, 45.9)"
    assert t.cell("column_header", label="TCAC", n="30") == "TCAC\n(N=30)"
    assert t.cell("p_value", p="< 0.001") == "< 0.001"


def test_02_every_embedded_template_compiles() -> None:
    names = TemplateSet(REPO_TEMPLATES).compile_all()
    assert names == ["L1.j2", "L2.j2", "L3.j2", "L4.j2", "T1.j2", "T2.j2", "T3.j2", "T4.j2", "T5.j2", "cells.j2"]


def test_03_output_title_and_footnotes(tmp_path: Path) -> None:
    t = _templates(tmp_path, X_j2="{% set title %}\nTable X\n{{ population }}\n{% endset %}\n"
                               "{% set footnotes %}\nNote one.\n\nN={{ arms.A.n }}\n{% endset %}\n")
    title, notes = t.output_text("X.j2", {"population": "FAS", "arms": {"A": {"n": 3}}})
    assert title == ("Table X", "FAS")
    assert notes == ("Note one.", "N=3")


def test_04_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    t = _templates(tmp_path, BAD_j2="{% set title %}{{ ''.__class__.__mro__ }}{% endset %}\n")
    with pytest.raises(SpecError) as info:
        t.output_text("BAD.j2", {})
    assert str(info.value).splitlines()[0] == (
        "specs/templates/BAD.j2:1: template refused by the sandbox: "
        "access to attribute '__class__' of 'str' object is unsafe.")


def test_05_sandbox_refuses_calling_unsafe_callables(tmp_path: Path) -> None:
    t = _templates(tmp_path, BAD_j2="{% set title %}\nok\n{{ cycler.__init__.__globals__ }}\n{% endset %}\n")
    with pytest.raises(SpecError) as info:
        t.output_text("BAD.j2", {})
    assert "specs/templates/BAD.j2:3" in str(info.value)


def test_06_unknown_variable_names_the_template_and_line(tmp_path: Path) -> None:
    t = _templates(tmp_path, X_j2="{% set title %}\nTable\n{{ nosuch }}\n{% endset %}\n")
    with pytest.raises(SpecError) as info:
        t.output_text("X.j2", {})
    assert str(info.value).splitlines()[0] == "specs/templates/X.j2:3: template failed: 'nosuch' is undefined"


def test_07_syntax_error_names_the_line(tmp_path: Path) -> None:
    t = _templates(tmp_path, X_j2="{% set title %}\nTable {{ x \n{% endset %}\n")
    with pytest.raises(SpecError) as info:
        t.compile_all()
    assert str(info.value).startswith("specs/templates/X.j2:3: template syntax error: expected token")


def test_08_cells_template_must_define_every_macro(tmp_path: Path) -> None:
    (tmp_path / "cells.j2").write_text("{% macro n_pct(n, pct) %}{{ n }}{% endmacro %}", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        TemplateSet(tmp_path).cells()
    assert str(info.value).startswith("specs/templates/cells.j2: template does not define the macro ci(lower, upper)")


def test_09_output_template_without_title(tmp_path: Path) -> None:
    t = _templates(tmp_path, X_j2="{% set footnotes %}x{% endset %}")
    with pytest.raises(SpecError, match="template sets no title"):
        t.output_text("X.j2", {})


def test_10_missing_template(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        _templates(tmp_path).template("NOPE.j2")
    assert str(info.value).startswith("specs/templates/NOPE.j2: template NOPE.j2 not found")


def test_population_is_printed_by_its_label_never_its_expression(tmp_path) -> None:
    from tlfgen.tlf.text import TemplateSet

    (tmp_path / "X.j2").write_text("{% set title %}T{% endset %}{% set footnotes %}Population: {{ population_filter }}."
                                   "{% endset %}", encoding="utf-8")
    templates = TemplateSet(tmp_path)
    context = {"population": "Full analysis set", "population_filter": "FASFL == 'Y'"}
    assert templates.output_text("X.j2", context) == (("T",), ("Population: Full analysis set.",))
    assert templates.output_text("X.j2", {"population_filter": "FASFL == 'Y'"})[1] == ("Population: FASFL == 'Y'.",)


def test_20_a_study_without_cells_j2_gets_the_packaged_formats(tmp_path: Path) -> None:
    """No specs/templates/cells.j2: the package's default_cells.j2 gives the cell formats; a study's own
    cells.j2 overrides it."""
    (tmp_path / "X.j2").write_text("{% set title %}Table X{% endset %}", encoding="utf-8")
    t = TemplateSet(tmp_path)
    assert t.compile_all() == ["X.j2"]
    assert t.cell("n_pct", n="27", pct="90.0") == "27 (90.0)"
    assert t.cell("column_header", label="Placebo", n="86") == "Placebo\n(N=86)"
    assert t.display("cells.j2") == "tlfgen/tlf/default_cells.j2 (built in)"
    (tmp_path / "cells.j2").write_text((REPO_TEMPLATES / "cells.j2").read_text(encoding="utf-8").replace(
        "{{ n }} ({{ pct }})", "{{ n }} [{{ pct }}%]"), encoding="utf-8")
    own = TemplateSet(tmp_path)
    assert own.cell("n_pct", n="27", pct="90.0") == "27 [90.0%]"
    assert own.display("cells.j2") == "specs/templates/cells.j2"
