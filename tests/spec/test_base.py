"""Spec loader: safe YAML, positions, strict models, error texts with file:line."""

from pathlib import Path

import pytest
from pydantic import Field

from tlfgen.errors import SpecError, SpecErrors
from tlfgen.spec.base import StrictModel, load_yaml, parse_yaml_text, resolve_inside, validate_model


class Inner(StrictModel):
    name: str
    label: str = ""


class Outer(StrictModel):
    dataset: str
    variables: list[Inner] = Field(default_factory=list)


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_positions_of_keys_and_list_items(tmp_path):
    doc = load_yaml(write(tmp_path, "dataset: ADSL\nvariables:\n  - name: AGE\n    label: Age\n"), root=tmp_path)
    assert doc.data == {"dataset": "ADSL", "variables": [{"name": "AGE", "label": "Age"}]}
    assert doc.source.positions[("dataset",)] == (1, 1)
    assert doc.source.positions[("variables", 0, "label")] == (4, 5)
    assert str(doc.source.location(("variables", 0, "name"))) == "spec.yaml:3:5"


def test_yaml_syntax_error_names_file_line_column(tmp_path):
    path = write(tmp_path, "dataset: ADSL\nvariables: [\n  - name: AGE\n")
    with pytest.raises(SpecError) as info:
        load_yaml(path, root=tmp_path)
    assert str(info.value).startswith("spec.yaml:3:3: YAML error:")


def test_unknown_key_names_line_and_closest_name(tmp_path):
    doc = load_yaml(write(tmp_path, "dataset: ADSL\nvariables:\n  - name: AGE\n    lable: Age\n"), root=tmp_path)
    with pytest.raises(SpecError) as info:
        validate_model(Outer, doc)
    assert str(info.value) == (
        "spec.yaml:4:5: unknown key 'lable' (at variables[0].lable)\n  hint: did you mean 'label'?"
    )


def test_missing_key_and_several_errors_reported_together(tmp_path):
    doc = load_yaml(write(tmp_path, "variables:\n  - label: Age\n"), root=tmp_path)
    with pytest.raises(SpecErrors) as info:
        validate_model(Outer, doc)
    messages = [str(e) for e in info.value.errors]
    assert messages == [
        "spec.yaml:1:1: missing required key 'dataset' (at dataset)",
        "spec.yaml:2:5: missing required key 'name' (at variables[0].name)",
    ]


def test_aliases_are_refused(tmp_path):
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n'
    with pytest.raises(SpecError) as info:
        load_yaml(write(tmp_path, bomb), root=tmp_path)
    assert "spec.yaml:2:8: YAML error: YAML aliases (*name) are not allowed in specs" in str(info.value)


def test_unsafe_tag_is_refused(tmp_path):
    with pytest.raises(SpecError) as info:
        load_yaml(write(tmp_path, "x: !!python/object/apply:os.system ['echo hi']\n"), root=tmp_path)
    assert str(info.value).startswith(
        "spec.yaml:1:4: YAML error: unsafe or unknown YAML tag tag:yaml.org,2002:python/object/apply:os.system"
    )


def test_unsafe_scalar_tag_is_refused(tmp_path):
    with pytest.raises(SpecError) as info:
        load_yaml(write(tmp_path, "x: !!python/name:os.system ''\n"), root=tmp_path)
    assert str(info.value).startswith("spec.yaml:1:4: YAML error:")


def test_duplicate_keys_are_refused():
    with pytest.raises(SpecError) as info:
        parse_yaml_text("a: 1\nb: 2\na: 3\n", display="d.yaml")
    assert str(info.value) == "d.yaml:3:1: duplicate key 'a' (at a)"


def test_merge_keys_are_refused():
    with pytest.raises(SpecError, match="merge keys"):
        parse_yaml_text("base: {a: 1}\nx:\n  <<: {a: 2}\n", display="m.yaml")


def test_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("label: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_yaml(path, root=tmp_path)
    assert str(info.value) == "latin.yaml: spec file is not UTF-8 (byte 10)\n  hint: save the file as UTF-8"


def test_paths_outside_the_study_folder_are_refused(tmp_path):
    assert resolve_inside(tmp_path, "raw", what="raw") == (tmp_path / "raw").resolve()
    with pytest.raises(SpecError, match="points outside the study folder"):
        resolve_inside(tmp_path, "../elsewhere", what="raw")
    with pytest.raises(SpecError, match="points outside the study folder"):
        resolve_inside(tmp_path, "/etc", what="raw")
