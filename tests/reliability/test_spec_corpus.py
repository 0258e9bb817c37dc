"""Reliability corpus, specs, templates and the command line: hostile or broken input that must stop
the run with exit 2, one error naming file:line:column, and every previous output untouched.

Each spec case edits one file of the clean, already-mapped study and runs ``tlfgen sdtm``
(every spec and template is checked before any data is read), so the assertions are: the exit
code, the exact error text with its location, no traceback, and byte-identical previous outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
from reliability_helpers import invoke, one_line, outputs_snapshot


@dataclass(frozen=True)
class SpecCase:
    mutate: Callable
    error: str  # the whole error text, one line (rich wrapping undone)


def _sub(rel: str, old: str, new: str):
    def mutate(study):
        path = study / "specs" / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return mutate


def _write(rel: str, data: bytes):
    return lambda study: (study / "specs" / rel).write_bytes(data)


HINT_EXPR = ("hint: allowed: column names, literals, comparisons, in, and/or/not, + - * /, and the functions abs, "
             "case_when, coalesce, contains, date, days_between, floor, if_else, is_missing, is_number, length, lower, "
             "not_missing, number, round, startswith, strip, upper")
HINT_FUNCS = ("hint: allowed functions: abs, case_when, coalesce, contains, date, days_between, floor, if_else, "
              "is_missing, is_number, length, lower, not_missing, number, round, startswith, strip, upper")
HINT_JINJA = "hint: templates may use the variables tlfgen passes and Jinja filters only"
FILTER = "filter: not_missing(STAGE)"
BOMB = (b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        b"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n")
ALIAS = "YAML error: YAML aliases (*name) are not allowed in specs; write the value out"


def _outside(study) -> str:
    return str(study.resolve())


CASES = {
    # -- YAML
    "yaml_alias_bomb": SpecCase(_write("ct/bomb.yaml", BOMB), f"error: specs/ct/bomb.yaml:2:8: {ALIAS}"),
    "yaml_alias_in_study": SpecCase(_sub("study.yaml", "  name:", "  x: &x [1, 2]\n  y: *x\n  name:"),
                                    f"error: specs/study.yaml:5:6: {ALIAS}"),
    "yaml_merge_key": SpecCase(_sub("study.yaml", "  name:", "  <<: {a: 1}\n  name:"),
                               "error: specs/study.yaml:4:3: YAML merge keys (<<) are not allowed in specs"),
    "yaml_python_object_tag": SpecCase(
        _sub("study.yaml", "  name:", "  name: !!python/object/apply:os.system ['echo pwned']\n  namex:"),
        "error: specs/study.yaml:4:9: YAML error: unsafe or unknown YAML tag "
        "tag:yaml.org,2002:python/object/apply:os.system hint: specs are plain YAML: mappings, lists and scalars only"),
    "yaml_python_name_tag": SpecCase(
        _sub("sdtm/AE.yaml", "domain:", "domain: !!python/name:os.system\ndomainx:"),
        "error: specs/sdtm/AE.yaml:1:9: YAML error: unsafe or unknown YAML tag: "
        "'tag:yaml.org,2002:python/name:os.system'"),
    "yaml_custom_tag": SpecCase(
        _sub("sdtm/AE.yaml", "domain:", "domain: !include /etc/passwd\ndomainx:"),
        "error: specs/sdtm/AE.yaml:1:9: YAML error: unsafe or unknown YAML tag: '!include'"),
    "yaml_duplicate_key": SpecCase(_sub("study.yaml", "  name:", "  country: CHN\n  country: USA\n  name:"),
                                   "error: specs/study.yaml:5:3: duplicate key 'country' (at study.country)"),
    "spec_not_utf8": SpecCase(_write("sdtm/AE.yaml", "domain: AE # caf\u00e9\n".encode("latin-1")),
                              "error: specs/sdtm/AE.yaml: spec file is not UTF-8 (byte 16) hint: save the file as UTF-8"),
    "spec_too_big": SpecCase(_write("sdtm/AE.yaml", b"# " + b"x" * 2_000_000 + b"\n"),
                             "error: specs/sdtm/AE.yaml: spec file is 2000003 bytes, more than the 2000000 allowed"),
    # -- expressions
    "expr_import": SpecCase(
        _sub("sdtm/SC.yaml", FILTER, "filter: \"__import__('os').system('echo pwned')\""),
        "error: specs/sdtm/SC.yaml:8:5: expression '__import__('os').system('echo pwned')' calls "
        f"'__import__('os').system', which is not an allowed function {HINT_FUNCS}"),
    "expr_dunder_attribute": SpecCase(
        _sub("sdtm/SC.yaml", FILTER, 'filter: "STAGE.__class__.__mro__"'),
        "error: specs/sdtm/SC.yaml:8:5: expression 'STAGE.__class__.__mro__' uses attribute access, which is "
        f"not allowed in specs {HINT_EXPR}"),
    "expr_function_globals": SpecCase(
        _sub("sdtm/SC.yaml", FILTER, 'filter: "upper.__globals__"'),
        "error: specs/sdtm/SC.yaml:8:5: expression 'upper.__globals__' uses attribute access, which is not "
        f"allowed in specs {HINT_EXPR}"),
    "expr_lambda": SpecCase(
        _sub("sdtm/SC.yaml", FILTER, 'filter: "(lambda: 1)()"'),
        f"error: specs/sdtm/SC.yaml:8:5: expression '(lambda: 1)()' calls 'lambda: 1', which is not an allowed "
        f"function {HINT_FUNCS}"),
    "expr_comprehension": SpecCase(
        _sub("sdtm/SC.yaml", FILTER, 'filter: "[x for x in ().__class__.__bases__[0].__subclasses__()]"'),
        "error: specs/sdtm/SC.yaml:8:5: expression '[x for x in ().__class__.__bases__[0].__subclasses__()]' "
        f"uses comprehensions, which is not allowed in specs {HINT_EXPR}"),
    # -- Jinja templates
    "jinja_str_mro": SpecCase(
        _sub("templates/T1.j2", "{{ population }}", "{{ ''.__class__.__mro__ }}"),
        "error: specs/templates/T1.j2:3: template reaches for Python internals ('__class__', '__mro__'), "
        f"which is not allowed {HINT_JINJA}"),
    "jinja_cycler_globals": SpecCase(
        _sub("templates/T1.j2", "{{ population }}", "{{ cycler.__init__.__globals__ }}"),
        "error: specs/templates/T1.j2:3: template reaches for Python internals ('__init__', '__globals__'), "
        f"which is not allowed {HINT_JINJA}"),
    "jinja_attr_filter": SpecCase(
        _sub("templates/T2.j2", "{% set title %}", "{{ population|attr('__class__') }}{% set title %}"),
        f"error: specs/templates/T2.j2:1: template reaches for Python internals ('__class__'), which is not "
        f"allowed {HINT_JINJA}"),
    "jinja_subscript_private": SpecCase(
        _sub("templates/T1.j2", "{{ population }}", "{{ self['_TemplateReference__context'] }}"),
        "error: specs/templates/T1.j2:3: template reaches for Python internals ('_TemplateReference__context'), "
        f"which is not allowed {HINT_JINJA}"),
    "jinja_syntax_error": SpecCase(
        _sub("templates/T1.j2", "{{ population }}", "{{ population "),
        # Jinja reports the line where the unclosed {{ is noticed: the next tag, on line 4
        "error: specs/templates/T1.j2:4: template syntax error: expected token 'end of print statement', got '{'"),
    # -- paths outside the study folder
    "study_path_parent": SpecCase(_sub("study.yaml", "    raw: raw", "    raw: ../elsewhere"), ""),
    "study_path_absolute": SpecCase(_sub("study.yaml", "    raw: raw", "    raw: /etc"), ""),
    "form_file_outside": SpecCase(
        _sub("sdtm/forms.yaml", "file: ae.csv", "file: ../../etc/passwd.csv"),
        "error: specs/sdtm/forms.yaml:26:16: String should match pattern '^[A-Za-z0-9_.-]+\\.csv$' "
        "(got '../../etc/passwd.csv') (at forms[10].file)"),
    "template_outside": SpecCase(
        _sub("tlf/T1.yaml", "type: table", "type: table\ntemplate: ../../../etc/passwd"),
        "error: specs/tlf/T1.yaml:4:1: template ../../../etc/passwd does not exist "
        "hint: create specs/templates/../../../etc/passwd"),
}

EXPECTED_PATH_ERRORS = {
    "study_path_parent": "error: specs/study.yaml:22:5: raw path '../elsewhere' points outside the study folder {root} "
                         "hint: keep specs, raw data and outputs inside the study folder, or pass the path on the "
                         "command line",
    "study_path_absolute": "error: specs/study.yaml:22:5: raw path '/etc' points outside the study folder {root} "
                           "hint: keep specs, raw data and outputs inside the study folder, or pass the path on the "
                           "command line",
}


def test_the_corpus_has_enough_spec_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", sorted(CASES))
def test_spec_case(name, case_study, clean_snapshot):
    case = CASES[name]
    case.mutate(case_study)
    result = invoke(case_study, "sdtm")
    out = one_line(result.output)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    expected = EXPECTED_PATH_ERRORS[name].format(root=_outside(case_study)) if name in EXPECTED_PATH_ERRORS \
        else case.error
    assert out.startswith(expected), result.output
    assert outputs_snapshot(case_study) == clean_snapshot["hashes"]  # nothing written


def test_check_reports_a_bomb_once_and_without_data(case_study):
    CASES["yaml_alias_bomb"].mutate(case_study)
    result = invoke(case_study, "check")
    assert result.exit_code == 2
    assert one_line(result.output) == f"error: specs/ct/bomb.yaml:2:8: {ALIAS}"


# ---------------------------------------------------------------- command line

def test_missing_study_folder_exits_2(tmp_path):
    missing = tmp_path / "nowhere"
    result = invoke(missing, "run")
    assert result.exit_code == 2
    assert one_line(result.output) == f"error: {missing}: study folder {missing} does not exist"


def test_study_that_is_a_file_exits_2(tmp_path):
    path = tmp_path / "study.txt"
    path.write_text("x")
    result = invoke(path, "sdtm")
    assert result.exit_code == 2
    assert one_line(result.output) == f"error: {path}: study folder {path} does not exist"


@pytest.mark.parametrize("args, message", [
    (["run", "--bogus"], "No such option: --bogus"),
    (["--bogus", "run"], "No such option: --bogus"),
    (["frobnicate"], "No such command 'frobnicate'."),
    (["simulate", "--subjects-per-arm", "0"], "Invalid value for '--subjects-per-arm'"),
])
def test_bad_command_line_exits_2(args, message, case_study, clean_snapshot):
    result = invoke(case_study, *args)
    assert result.exit_code == 2
    assert message in one_line(result.output.replace("│", " "))
    assert outputs_snapshot(case_study) == clean_snapshot["hashes"]
