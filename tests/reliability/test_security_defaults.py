"""Security defaults, proven: safe YAML, sandboxed Jinja, whitelisted expressions, no eval, no network.

The CLI-level cases are in test_spec_corpus.py; these tests hit the layers directly,
including what only shows at evaluation or render time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from tlfgen.errors import ExpressionError, SpecError
from tlfgen.spec.base import parse_yaml_text
from tlfgen.spec.expr import parse_expression
from tlfgen.tlf.text import TemplateSet

SRC = Path(__file__).resolve().parents[2] / "src" / "tlfgen"
BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)])


def test_billion_laughs_is_refused_at_the_first_alias():
    with pytest.raises(SpecError) as err:
        parse_yaml_text(BILLION_LAUGHS, display="specs/bomb.yaml")
    assert str(err.value) == ("specs/bomb.yaml:2:8: YAML error: YAML aliases (*name) are not allowed in specs; "
                              "write the value out")


@pytest.mark.parametrize("text, message", [
    ("x: !!python/object/apply:os.system [id]\n",
     "specs/x.yaml:1:4: YAML error: unsafe or unknown YAML tag tag:yaml.org,2002:python/object/apply:os.system"),
    ("x: [!!python/name:os.system a]\n",
     "specs/x.yaml:1:5: YAML error: unsafe or unknown YAML tag: 'tag:yaml.org,2002:python/name:os.system'"),
    ("x: !!python/object/new:tuple [[1]]\n",
     "specs/x.yaml:1:4: YAML error: unsafe or unknown YAML tag tag:yaml.org,2002:python/object/new:tuple"),
])
def test_unsafe_tags_are_refused(text, message):
    with pytest.raises(SpecError) as err:
        parse_yaml_text(text, display="specs/x.yaml")
    assert str(err.value).startswith(message)


def test_text_arithmetic_on_literals_is_refused_when_parsed():
    with pytest.raises(ExpressionError) as err:  # issue 24: known before any data is read
        parse_expression("'x' * 10000000000 == 'a'")
    assert "'*' between 'x' and 10000000000: text and a number" in str(err.value)


@pytest.mark.parametrize("text", ["upper(SEX) * 100000000 == 'a'", "SEX / 2 > 1"])
def test_text_arithmetic_is_refused_at_evaluation(text):
    expr = parse_expression(text)  # passes the whitelist: the operands are only known when evaluated
    with pytest.raises(ExpressionError) as err:
        expr.evaluate(pd.DataFrame({"SEX": ["M", "F"]}))
    assert "needs numbers, not text" in str(err.value)


def test_number_arithmetic_still_works():
    expr = parse_expression("AVAL * 2 / 4 == 1")
    assert expr.evaluate(pd.DataFrame({"AVAL": [2.0, 3.0]})).tolist() == [True, False]


@pytest.mark.parametrize("text", [
    "__import__('os')", "SEX.__class__", "(lambda: 1)()", "[c for c in SEX]", "SEX[0]", "eval('1')",
    "open('/etc/passwd')", "getattr(SEX, 'upper')", "{'a': 1}", "(x := 1)", "f'{SEX}'", "__builtins__",
])
def test_expression_whitelist_refuses_escapes(text):
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_sandbox_refuses_dynamic_attribute_at_render(tmp_path):
    """A name built at render time escapes the static check; the sandbox still refuses it."""
    (tmp_path / "X.j2").write_text("{% set n = '__cla' ~ 'ss__' %}{% set title %}{{ population|attr(n) }}"
                                   "{{ population|attr(n)|attr('mro')() }}{% endset %}")
    templates = TemplateSet(tmp_path)
    templates.check_internals("X.j2")  # nothing private is named literally
    with pytest.raises(SpecError) as err:
        templates.output_text("X.j2", {"population": "FAS"})
    assert str(err.value).startswith("specs/templates/X.j2:1: template ")
    assert "undefined" in str(err.value) or "unsafe" in str(err.value)


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            yield func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _modules():
    return sorted(SRC.rglob("*.py"))


def test_no_eval_exec_or_dataframe_query_anywhere():
    bad = [(p.relative_to(SRC).as_posix(), name) for p in _modules()
           for name in _calls(ast.parse(p.read_text())) if name in {"eval", "exec", "query", "unsafe_load",
                                                                    "full_load", "load_all"}]
    assert bad == []


def test_yaml_is_only_loaded_safely():
    for path in _modules():
        text = path.read_text()
        assert "yaml.load(" not in text and "yaml.Loader" not in text and "FullLoader" not in text, path


def test_no_network_modules_are_imported():
    network = {"socket", "urllib", "http", "requests", "ftplib", "smtplib", "httpx", "aiohttp", "urllib3"}
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [(path.name, n) for n in names if n.split(".")[0] in network]
    assert found == []


def test_every_jinja_environment_is_sandboxed_and_html_is_autoescaped():
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                assert name not in {"Environment", "Template", "NativeEnvironment"}, path
                if name == "SandboxedEnvironment" and "html" in path.name:
                    assert any(k.arg == "autoescape" and getattr(k.value, "value", None) is True
                               for k in node.keywords), path
