"""Tests of spec/sandbox.py: templates run with limits (issue 24, item 5).

Each hostile template of the issue is tried twice: written with literals, ``tlfgen check``
refuses it before any data is read (exit 2, file:line); written so that only rendering shows
the size (a variable), the render stops at the limit with a SpecError at the template line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from study_copy import copy_study
from tlfgen.cli import app
from tlfgen.errors import SpecError
from tlfgen.spec import sandbox
from tlfgen.tlf.text import TemplateSet

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "specs" / "templates"
HINT = "hint: templates word the outputs; loops, sizes and recursion are limited (spec/sandbox.py)"
runner = CliRunner()


def _render(tmp_path: Path, body: str) -> str:
    (tmp_path / "cells.j2").write_text((REPO_TEMPLATES / "cells.j2").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "X.j2").write_text("{% set title %}\nTable X\n" + body + "\n{% endset %}\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        TemplateSet(tmp_path).output_text("X.j2", {"population": "FAS"})
    assert info.value.exit_code == 2
    return str(info.value).splitlines()[0]


# rendering: the size shows only at run time -------------------------------------------------

def test_1_nested_loops_stop_at_the_iteration_budget(tmp_path):
    line = _render(tmp_path, "{% set n = 5000 %}{% for i in range(n) %}{% for j in range(n) %}"
                             "{% endfor %}{% endfor %}")
    assert line == ("specs/templates/X.j2:3: template refused by the sandbox: the template loops more than "
                    "1,000,000 times in one render")


def test_2_a_range_of_a_billion_is_refused(tmp_path):
    line = _render(tmp_path, "{% set n = 1000000000 %}{% for i in range(n) %}{% endfor %}")
    assert line == "specs/templates/X.j2:3: template refused by the sandbox: range() of 1,000,000,000 items; a template may loop over at most 10,000"


def test_3_a_recursive_macro_stops_at_the_depth_limit(tmp_path):
    line = _render(tmp_path, "{% macro f(n) %}{{ f(n) }}{% endmacro %}{% set g = f %}{{ g(1) }}")
    assert line == ("specs/templates/X.j2:3: template refused by the sandbox: macro f() is nested more than 50 calls deep "
                    "(does it call itself?)")


def test_4_repeating_a_text_2_5_billion_times_is_refused(tmp_path):
    line = _render(tmp_path, "{% set k = 2500000000 %}{{ 'x' * k }}")
    assert line == ("specs/templates/X.j2:3: template refused by the sandbox: '*' would build 2,500,000,000 items; "
                    "a template may build at most 1,000,000")


def test_5_a_huge_power_is_refused(tmp_path):
    line = _render(tmp_path, "{% set k = 100000000 %}{{ 10 ** k }}")
    assert line == "specs/templates/X.j2:3: template refused by the sandbox: 10 ** 100000000 is too large a number for a template"


def test_6_a_render_over_the_time_limit_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.0)
    line = _render(tmp_path, "{% for i in range(3) %}{{ i }}{% endfor %}")
    assert line == "specs/templates/X.j2:3: template refused by the sandbox: the template ran for more than 0 seconds"


def test_7_a_long_output_within_the_other_limits_is_refused(tmp_path):
    line = _render(tmp_path, "{% set k = 900000 %}{{ 'x' * k }}{{ 'y' * k }}")
    # "Table X\n" (8) + 900,000 x + 900,000 y + the line's "\n" (1)
    assert line == ("specs/templates/X.j2: template wrote 1,800,009 characters of title and footnotes; "
                    "a template may write at most 1,000,000")


def test_8_division_by_zero_is_the_template_s_error_not_a_bug(tmp_path):
    line = _render(tmp_path, "{% set z = 0 %}{{ 1 / z }}")
    assert line == "specs/templates/X.j2:3: template failed: ZeroDivisionError: division by zero"


def test_9_templates_within_the_limits_render(tmp_path):
    (tmp_path / "cells.j2").write_text((REPO_TEMPLATES / "cells.j2").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "X.j2").write_text("{% set title %}\nT{% for i in range(3) %}{{ i }}{% endfor %} "
                                   "{{ range(4)|length }} {{ 'ab' * 2 }} {{ 2 ** 10 }}\n{% endset %}\n")
    assert TemplateSet(tmp_path).output_text("X.j2", {}) == (("T012 4 abab 1024",), ())


# check: the plain cases, without data ----------------------------------------------------------

@pytest.mark.parametrize("body, line, problem", [
    ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", 4,
     "range() of 100,000 items; a template may loop over at most 10,000"),
    ("{% for i in range(5000) %}\n{% for j in range(5000) %}x{% endfor %}{% endfor %}", 4,
     "nested loops over literal ranges take 25,000,000 steps; a template may take at most 1,000,000"),
    ("{{ range(10**9)|length }}", 4, "range() of 1,000,000,000 items; a template may loop over at most 10,000"),
    ("{{ 'x' * 2500000000 }}", 4, "a '*' or '**' of literals builds a value too large for a template "
                                  "(at most 1,000,000 characters, 4,096-bit numbers)"),
    ("{% macro f(n) %}\n{{ f(n) }}\n{% endmacro %}", 5, "macro f() calls itself (f() -> f()); templates may not recurse"),
    ("{% macro a() %}{{ b() }}{% endmacro %}\n{% macro b() %}\n{{ a() }}{% endmacro %}", 6,
     "macro a() calls itself (a() -> b() -> a()); templates may not recurse"),
])
def test_10_check_refuses_the_plain_cases_with_the_template_line(tmp_path, body, line, problem):
    study = copy_study(tmp_path, parts=("specs",))
    path = study.specs_dir / "templates" / "T5.j2"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("{{ population }}\n", "{{ population }}\n" + body + "\n", 1), encoding="utf-8")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"error: specs/templates/T5.j2:{line}: template goes over a limit: {problem}" in text, text
    assert HINT in text
