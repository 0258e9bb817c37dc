"""Tests of spec/tlf.py: loading and checking specs/tlf/*.yaml and compiling the templates."""

from __future__ import annotations

import shutil

import pytest

from tlf_helpers import REPO, write_spec
from tlfgen.errors import ExpressionError, SpecError, SpecErrors
from tlfgen.spec.check import check_all
from tlfgen.spec.study import load_study
from tlfgen.spec.tlf import RateBlock, TableSpec, load_tlf_specs


def test_01_embedded_specs_load_in_order(study) -> None:
    for path in (REPO / "specs" / "tlf").glob("*.yaml"):
        shutil.copy(path, study.specs_dir / "tlf" / path.name)
    specs = load_tlf_specs(study)
    assert [o.id for o in specs.outputs] == ["T1", "T2", "T3", "T4", "T5", "L1", "L2", "L3", "L4"]
    assert len(specs.template_names) == 10
    t2 = specs.outputs[1]
    assert isinstance(t2.spec, TableSpec) and t2.template == "T2.j2"
    orr = next(b for b in t2.spec.blocks if b.id == "ORR")
    assert isinstance(orr, RateBlock) and orr.ci_method == "clopper-pearson" and orr.test == "cochran"
    assert t2.expression("ORR.responder").text == "AVALC == 'Y'"
    assert [b.median_ci for b in t2.spec.blocks if b.kind == "tte"] == ["symmetric"] * 3


def test_02_unknown_key_names_file_and_line(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks:\n  - kind: rate\n    id: R\n    label: R\n"
               "    responder: \"AVALC == 'Y'\"\n    ci_metod: wilson\n")
    with pytest.raises(SpecError) as info:
        load_tlf_specs(study)
    assert str(info.value).splitlines() == [
        "specs/tlf/X.yaml:8:5: unknown key 'ci_metod' (at blocks[0].ci_metod)",
        "  hint: did you mean 'ci_method'?"]


def test_03_bad_filter_is_refused_at_load(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks:\n"
               "  - {kind: continuous, id: A, label: A, variable: AGE, filter: \"__import__('os')\"}\n")
    with pytest.raises(ExpressionError) as info:
        load_tlf_specs(study)
    assert str(info.value).startswith("specs/tlf/X.yaml:4:")


def test_04_comparison_needs_known_arms(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\ncolumns: {treatment: TCAC, reference: NOPE}\nblocks:\n"
               "  - {kind: continuous, id: A, label: A, variable: AGE}\n")
    with pytest.raises(SpecError) as info:
        load_tlf_specs(study)
    assert str(info.value).splitlines()[0] == "specs/tlf/X.yaml:3:28: columns.reference 'NOPE' is not an arm of the study"


def test_05_test_without_arms_is_refused(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks:\n"
               "  - {kind: rate, id: R, label: R, responder: \"AVALC == 'Y'\", test: fisher}\n")
    with pytest.raises(SpecError, match="block R compares arms but columns.treatment / columns.reference are not set"):
        load_tlf_specs(study)


def test_06_missing_template_and_errors_collected(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks:\n  - {kind: continuous, id: A, label: A, variable: AGE}\n")
    write_spec(study_dir, "Y.yaml", "id: Y\ntype: plot\n")
    with pytest.raises(SpecError) as info:
        load_tlf_specs(study)
    assert "specs/tlf/Y.yaml:2" in str(info.value)
    (study_dir / "specs" / "tlf" / "Y.yaml").unlink()
    with pytest.raises(SpecError) as info:
        load_tlf_specs(study)
    assert str(info.value).splitlines()[0] == "specs/tlf/X.yaml:1:1: template X.j2 does not exist"


def test_07_regression_needs_its_outcome(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\ntemplate: T1.j2\ncolumns: {treatment: TCAC, reference: TCC}\n"
               "blocks:\n  - {kind: regression, id: R, label: R, model: cox}\n")
    with pytest.raises(SpecError, match="a Cox regression needs 'param'"):
        load_tlf_specs(study)


def test_08_check_all_reports_tlf_errors_with_other_stages(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks: []\n")
    with pytest.raises((SpecError, SpecErrors)) as info:
        check_all(load_study(study_dir))
    assert "specs/tlf/X.yaml:3" in str(info.value)


def test_09_duplicate_output_ids(study, study_dir) -> None:
    text = "id: T1\ntype: table\nblocks:\n  - {kind: continuous, id: A, label: A, variable: AGE}\n"
    write_spec(study_dir, "A.yaml", text)
    write_spec(study_dir, "B.yaml", text)
    with pytest.raises(SpecError) as info:
        load_tlf_specs(study)
    assert str(info.value).splitlines()[0] == "specs/tlf/B.yaml:1:1: output id T1 is also used by specs/tlf/A.yaml"


def test_10_unknown_block_kind(study, study_dir) -> None:
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks:\n  - {kind: pie, id: A, label: A}\n")
    with pytest.raises(SpecError) as info:
        load_tlf_specs(study)
    assert str(info.value).splitlines()[0] == "specs/tlf/X.yaml:4:6: unknown block kind 'pie' (at blocks[0].kind)"


def test_11_ae_blocks_of_one_table_share_their_columns(study, study_dir) -> None:
    block = ("  - {{kind: ae_by_term, id: {id}, label: {id}, term: AEDECOD, grade: ASEVN, high_grade: 3, "
             "high_header: {header}}}\n")
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks:\n" + block.format(id="A", header="Severe")
               + block.format(id="B", header="Grade 3+"))
    with pytest.raises(SpecError, match="the ae_by_term blocks of one table share its columns"):
        load_tlf_specs(study)
