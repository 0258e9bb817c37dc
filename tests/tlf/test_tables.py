"""Tests of tlf/tables.py and tlf/blocks.py: table models built from the embedded specs on inline ADaM data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tlf_helpers import REPO, write_spec
from tlfgen.errors import DataError
from tlfgen.spec.study import ResolvedStudy
from tlfgen.spec.tlf import load_tlf_specs
from tlfgen.tlf.model import Table
from tlfgen.tlf.tables import create_table


def _build(study: ResolvedStudy, adam, *ids: str) -> dict[str, Table]:
    for output_id in ids:
        shutil.copy(REPO / "specs" / "tlf" / f"{output_id}.yaml", study.specs_dir / "tlf" / f"{output_id}.yaml")
    specs = load_tlf_specs(study)
    return {o.id: create_table(o, study, adam, specs.templates) for o in specs.outputs}


def test_01_table2_response_cells(study, adam) -> None:
    t2 = _build(study, adam, "T2")["T2"]
    assert [c.header for c in t2.columns] == ["TCAC\n(N=30)", "TCC\n(N=30)", "Total\n(N=60)", "p-value / HR (95% CI)"]
    orr = "Objective response rate (CR + PR), n (%)"
    assert t2.cell(orr, "TCAC").text == "27 (90.0)"
    assert t2.cell(orr, "TCC").text == "13 (43.3)"
    assert t2.cell(orr, "CMP").text == "< 0.001"
    assert t2.cell("95% CI", "TCAC", block_id="ORR").text == "73.5, 97.9"
    assert t2.cell("95% CI", "TCC", block_id="ORR").text == "25.5, 62.6"
    assert t2.cell("Complete response (CR)", "TCAC").text == "3 (10.0)"
    assert t2.cell("Not evaluable (NE)", "TCC").text == "0 (0.0)"
    assert t2.cell("Depth of response > 50%, n (%)", "TCC").text == "6 (20.0)"


def test_02_table2_cells_carry_analysis_and_subjects(study, adam) -> None:
    t2 = _build(study, adam, "T2")["T2"]
    cell = t2.cell("Objective response rate (CR + PR), n (%)", "TCAC")
    assert cell.analysis_id == "T2.ORR.TCAC"
    assert cell.values == (("n", 27), ("denominator", 30), ("pct", 90.0))
    assert len(cell.subjects) == 27 and cell.subjects[:2] == ("S-001", "S-002")
    meta = t2.analysis("T2.ORR.TCAC")
    assert (meta.dataset, meta.population, meta.subset, meta.group, meta.role) == (
        "ADRS", "FASFL == 'Y'", "PARAMCD == 'ORR'", "TCAC", "ci")
    assert meta.method.startswith("Clopper-Pearson exact")
    ci = t2.cell("95% CI", "TCAC", block_id="ORR")
    assert ci.value("lower") == pytest.approx(73.47, abs=0.005)
    assert t2.analysis("T2.ORR.TEST").method.startswith("Pearson chi-square")
    assert t2.analysis("T2.DCR.TEST").method.startswith("Fisher's exact test")


def test_03_table2_time_to_event_block(study, adam) -> None:
    t2 = _build(study, adam, "T2")["T2"]
    events = t2.cell("Progression or death, n (%)", "TCAC", block_id="PFS")
    assert events.text == "25 (83.3)" and events.analysis_id == "T2.PFS.TCAC.EVENTS"
    median = t2.cell("Median, months (95% CI)", "TCAC", block_id="PFS")
    assert median.text == "25.50 (16.40, 34.60)"
    assert t2.analysis(median.analysis_id).method.startswith("median +/- 1.96 x SE(median)")
    assert t2.cell("Hazard ratio TCAC vs TCC (95% CI)", "CMP", block_id="PFS").text == "0.34 (0.18, 0.64)"
    assert t2.cell("Log-rank p-value", "CMP", block_id="OS").text == "0.096"
    assert t2.cell("Progression or death, n (%)", "TCC", block_id="DOR").text == "10 (76.9)"
    assert t2.cell("Follow-up, months, median (range)", "TCAC").text == "16.5 (2.0, 31.0)"
    assert t2.cell("Median, months (95% CI)", "TOTAL", block_id="PFS").analysis_id == "T2.PFS.TOTAL.MEDIAN"


def test_04_table2_footnotes_name_the_methods(study, adam) -> None:
    t2 = _build(study, adam, "T2")["T2"]
    assert t2.title == ("Table 2. Tumour response (RECIST v1.1, investigator-assessed, confirmed) and efficacy summary",
                        "Full analysis set")
    assert t2.footnotes[2] == (
        "p-values by Cochran's rule (Fisher's exact test if any expected count is below 5, otherwise "
        "Pearson chi-square): ORR, Pearson chi-square test; DCR, Fisher's exact test, two-sided; "
        "depth of response, Pearson chi-square test.")
    assert t2.footnotes[5].startswith("Hazard ratio TCAC vs TCC: log-rank hazard ratio (O/E ratio)")


def test_05_table1_baseline(study, adam) -> None:
    t1 = _build(study, adam, "T1")["T1"]
    assert [c.key for c in t1.columns] == ["TCAC", "TCC", "TOTAL", "CMP"]
    # the paper's tests: Student's t test for age (scipy here), Cochran's rule for the categories
    from scipy.stats import ttest_ind

    adsl = adam["ADSL"]
    ages = [adsl.loc[adsl["TRT01PN"] == code, "AGE"] for code in (1, 2)]
    assert t1.cell("n", "CMP", block_id="AGE").value("p") == pytest.approx(ttest_ind(*ages).pvalue, rel=1e-12)
    assert "Student's t test, pooled variance" in t1.footnotes[3]
    assert t1.columns[2].header == "Total\n(N=60)"
    assert t1.cell("Mean (SD)", "TCAC", block_id="AGE").text == "57.8 (5.61)"
    assert t1.cell("Median (min, max)", "TOTAL", block_id="AGE").text == "59.5 (50, 69)"
    assert t1.cell("Male", "TCAC").text == "24 (80.0)"
    assert t1.cell("\u226565", "TCC", block_id="AGEGR1").text == "10 (33.3)"
    assert t1.cell("Middle thoracic", "TOTAL").text == "15 (25.0)"
    assert t1.cell("Current", "TOTAL", block_id="ALCOHOL").text == "0 (0.0)"
    assert [r.label for r in t1.rows if r.block_id == "PDL1"] == [
        "PD-L1 CPS, n (%)", "<1", "1-9", "\u226510", "Not evaluable"]


def test_06_table1_missing_values_get_a_row(study, adam) -> None:
    adam["ADSL"].loc[0, "SEX"] = ""
    t1 = _build(study, adam, "T1")["T1"]
    assert t1.cell("Missing", "TCAC", block_id="SEX").text == "1 (3.3)"
    assert t1.cell("Missing", "TCAC", block_id="SEX").subjects == ("S-001",)


def test_07_table3_trae_by_term(study, adam) -> None:
    t3 = _build(study, adam, "T3")["T3"]
    assert [c.key for c in t3.columns] == ["TCAC.ANY", "TCAC.HIGH", "TCC.ANY", "TCC.HIGH"]
    assert [c.spanner for c in t3.columns] == ["TCAC\n(N=29)", "TCAC\n(N=29)", "TCC\n(N=30)", "TCC\n(N=30)"]
    assert [r.label for r in t3.rows] == ["Any TRAE", "Nausea", "Hypertension", "Rash"]
    texts = {r.label: [c.text for c in r.cells] for r in t3.rows}
    assert texts["Any TRAE"] == ["2 (6.9)", "1 (3.4)", "1 (3.3)", "1 (3.3)"]
    assert texts["Nausea"] == ["1 (3.4)", "1 (3.4)", "1 (3.3)", "0 (0.0)"]
    assert texts["Rash"] == ["0 (0.0)", "0 (0.0)", "1 (3.3)", "1 (3.3)"]
    nausea = t3.cell("Nausea", "TCAC.HIGH")
    assert (nausea.analysis_id, nausea.subjects) == ("T3.TRAE.NAUSEA.TCAC.HIGH", ("S-002",))


def test_08_cox_regression_table(study, adam) -> None:
    t5 = _build(study, adam, "T5")["T5"]
    row = "Treatment: TCAC vs TCC"
    assert [t5.cell(row, k).text for k in ("UNI.EST", "UNI.P", "MULTI.EST", "MULTI.P")] == [
        "0.22 (0.10, 0.45)", "< 0.001", "0.22 (0.09, 0.53)", "< 0.001"]
    assert t5.cell("<65 (reference)", "UNI.EST").text == ""
    assert t5.cell("Female vs Male", "UNI.EST").text == "1.25 (0.62, 2.50)"
    # complete case: the 15 subjects with PD-L1 "Not evaluable" (not a listed level) are left out
    assert len(t5.cell(row, "MULTI.EST").subjects) == 45
    assert t5.analysis("T5.PFS.MULTI").description == "Progression-free survival: hazard ratio: multivariable model (45 subjects)"
    assert t5.analysis("T5.PFS.MULTI").method.startswith("Cox proportional hazards, Breslow ties")


def test_09_changing_a_cell_template_changes_the_look(study, adam) -> None:
    cells = study.specs_dir / "templates" / "cells.j2"
    cells.write_text(cells.read_text(encoding="utf-8").replace(
        "{{ n }} ({{ pct }})", "{{ n }} [{{ pct }}%]"), encoding="utf-8")
    t2 = _build(study, adam, "T2")["T2"]
    assert t2.cell("Objective response rate (CR + PR), n (%)", "TCAC").text == "27 [90.0%]"


def test_10_missing_dataset_is_a_data_error(study, adam) -> None:
    del adam["ADRS"]
    with pytest.raises(DataError) as info:
        _build(study, adam, "T2")
    assert str(info.value).splitlines()[0] == (
        "adam/adrs.xpt: dataset ADRS is needed by block 'Best overall response, n (%)' of T2 but was not found")


def test_11_unknown_arm_number_is_a_data_error(study, adam) -> None:
    adam["ADSL"].loc[4, "TRT01PN"] = 7.0
    with pytest.raises(DataError) as info:
        _build(study, adam, "T1")
    assert str(info.value).splitlines()[0] == (
        "adam/adsl.xpt, column TRT01PN: TRT01PN of USUBJID S-005 is not an arm number of the study (1=TCAC, 2=TCC)")


def test_12_two_records_per_subject_is_a_data_error(study, adam, study_dir: Path) -> None:
    (study_dir / "specs" / "templates" / "X.j2").write_text(
        "{% set title %}\nX\n{% endset %}\n{% set footnotes %}\n{% endset %}\n", encoding="utf-8")
    write_spec(study_dir, "X.yaml", "id: X\ntype: table\nblocks:\n"
               "  - {kind: categorical, id: B, label: B, dataset: ADRS, variable: AVALC, levels: [{value: Y}]}\n")
    with pytest.raises(DataError, match="block B: more than one ADRS record for USUBJID S-001"):
        _build(study, adam)


def test_13_logistic_regression_table(study, adam) -> None:
    t4 = _build(study, adam, "T4")["T4"]
    row = "Treatment: TCAC vs TCC"
    assert [t4.cell(row, k).text for k in ("UNI.EST", "UNI.P", "MULTI.EST", "MULTI.P")] == [
        "11.77 (2.92, 47.46)", "< 0.001", "20.11 (2.90, 139.55)", "0.002"]
    # the univariable treatment model uses all 60 subjects, the multivariable one the 45 complete cases
    assert (len(t4.cell(row, "UNI.EST").subjects), len(t4.cell(row, "MULTI.EST").subjects)) == (60, 45)
    assert t4.analysis("T4.ORR.MULTI").method.startswith("logistic regression, maximum likelihood, Wald CI")


def test_14_map_distinct_calls_once_per_distinct_value_and_keeps_types_apart() -> None:
    from tlfgen.tlf.blocks import map_distinct

    calls = []

    def describe(value):
        calls.append(value)
        return f"{type(value).__name__}:{value}"

    values = ["a", "a", 1, True, 1.0, 1, -0.0, 0.0, float("nan"), "a"]
    assert map_distinct(describe, values) == [
        "str:a", "str:a", "int:1", "bool:True", "float:1.0", "int:1", "float:-0.0", "float:0.0", "float:nan", "str:a"]
    assert calls[:5] == ["a", 1, True, 1.0, -0.0]  # repeats of "a" and 1 are not formatted again
    assert len(calls) == 7


PILOT = REPO / "examples" / "cdiscpilot01"


def test_15_pilot_demographics_headers_are_arm_labels_over_n() -> None:
    """header: label prints the arms' labels from study.yaml with N under them; the pilot's Table
    14-2.01 (safety population) heads its columns Placebo (N=86), Xanomeline Low Dose (N=84),
    Xanomeline High Dose (N=84), Total (N=254). The columns stay keyed by arm code."""
    import pyreadstat

    from tlfgen.spec.study import load_study

    pilot = load_study(PILOT)
    specs = load_tlf_specs(pilot)
    adsl, _ = pyreadstat.read_xport(str(PILOT / "reference" / "adsl.xpt"))
    t1 = create_table(next(o for o in specs.outputs if o.id == "T1"), pilot, {"ADSL": adsl}, specs.templates)
    assert [c.header for c in t1.columns] == [
        "Placebo\n(N=86)", "Xanomeline Low Dose\n(N=84)", "Xanomeline High Dose\n(N=84)", "Total\n(N=254)"]
    assert [c.key for c in t1.columns] == ["Pbo", "Xan_Lo", "Xan_Hi", "TOTAL"]


def test_16_header_code_is_the_default(study, adam, study_dir: Path) -> None:
    """Without header: the armcd (the embedded study's tables); with header: label, the arm's label,
    also in the names of the comparison columns."""
    text = (REPO / "specs" / "tlf" / "T1.yaml").read_text(encoding="utf-8")
    t1 = _build(study, adam, "T1")["T1"]
    assert [c.header for c in t1.columns][:2] == ["TCAC\n(N=30)", "TCC\n(N=30)"]
    arms = {a.armcd: a.arm for a in study.spec.study.arms}
    write_spec(study_dir, "T1.yaml", text.replace("columns: {", "columns: {header: label, "))
    specs = load_tlf_specs(study)
    labelled = create_table(specs.outputs[0], study, adam, specs.templates)
    assert [c.header for c in labelled.columns][:2] == [f"{arms['TCAC']}\n(N=30)", f"{arms['TCC']}\n(N=30)"]
    assert [c.key for c in labelled.columns] == [c.key for c in t1.columns]


def test_17_ae_severity_columns_from_the_block(study, adam, study_dir: Path) -> None:
    """The high column counts subjects by the block's grade variable and threshold, under its header:
    ASEVN (1 MILD, 2 MODERATE, 3 SEVERE) with high_header Severe. Hand count: TCAC (N=29) S-002 Nausea
    mild + moderate (worst 2), S-003 Hypertension severe; TCC (N=30) S-031 Nausea mild, Rash severe."""
    text = (REPO / "specs" / "tlf" / "T3.yaml").read_text(encoding="utf-8")
    write_spec(study_dir, "T3.yaml", text.replace("grade: ATOXGRN", "grade: ASEVN\n    any_header: Any severity\n"
                                                  "    high_header: Severe"))
    adam["ADAE"] = adam["ADAE"].assign(ASEVN=[1.0, 2.0, 3.0, 1.0, 3.0, 3.0, 3.0])
    specs = load_tlf_specs(study)
    t3 = create_table(specs.outputs[0], study, adam, specs.templates)
    assert [c.label for c in t3.columns] == ["Any severity", "Severe"] * 2
    texts = {r.label: [c.text for c in r.cells] for r in t3.rows}
    assert texts["Any TRAE"] == ["2 (6.9)", "1 (3.4)", "1 (3.3)", "1 (3.3)"]
    assert texts["Nausea"] == ["1 (3.4)", "0 (0.0)", "1 (3.3)", "0 (0.0)"]
    assert texts["Hypertension"] == ["1 (3.4)", "1 (3.4)", "0 (0.0)", "0 (0.0)"]
    assert t3.cell("Rash", "TCC.HIGH").subjects == ("S-031",)
    assert t3.analysis("T3.TRAE.NAUSEA.TCAC.HIGH").description == (
        "Nausea: subjects with Severe (worst ASEVN >= 3)")


def test_18_pilot_ae_table_is_headed_by_severity() -> None:
    """The pilot records severity (AESEV), not toxicity grades: its AE table's columns say so."""
    from tlfgen.spec.study import load_study

    pilot = load_study(PILOT)
    specs = load_tlf_specs(pilot)
    t2 = next(o for o in specs.outputs if o.id == "T2")
    blocks = t2.spec.blocks
    assert [(b.soc, b.term, b.grade, b.high_grade, b.any_header, b.high_text) for b in blocks] == [
        ("AEBODSYS", "AEDECOD", "ASEVN", 3, "Any severity", "Severe")]


def test_19_ae_terms_nested_under_their_class(study, adam, study_dir: Path) -> None:
    """soc: AEBODSYS gives a row per class (a subject counted once in it, at the worst grade over its terms),
    then its terms indented; classes and terms by descending count, then name. Hand count on the inline ADAE
    plus S-002 Vomiting grade 2: GI = S-002 (Nausea 1+3, Vomiting 2) and S-031 (Nausea 2)."""
    import pandas as pd

    text = (REPO / "specs" / "tlf" / "T3.yaml").read_text(encoding="utf-8")
    write_spec(study_dir, "T3.yaml", text.replace("term: AEDECOD", "term: AEDECOD\n    soc: AEBODSYS"))
    soc = {"Nausea": "GASTROINTESTINAL DISORDERS", "Vomiting": "GASTROINTESTINAL DISORDERS",
           "Hypertension": "VASCULAR DISORDERS", "Rash": "SKIN AND SUBCUTANEOUS TISSUE DISORDERS"}
    extra = adam["ADAE"].iloc[[0]].assign(AEDECOD="Vomiting", ATOXGRN=2.0, AETERM="vomiting")
    adae = pd.concat([adam["ADAE"], extra], ignore_index=True)
    adam["ADAE"] = adae.assign(AEBODSYS=adae["AEDECOD"].map(soc))
    specs = load_tlf_specs(study)
    t3 = create_table(specs.outputs[0], study, adam, specs.templates)
    assert [(r.label, r.indent) for r in t3.rows] == [
        ("Any TRAE", 0), ("Gastrointestinal disorders", 0), ("Nausea", 1), ("Vomiting", 1),
        ("Skin and subcutaneous tissue disorders", 0), ("Rash", 1), ("Vascular disorders", 0), ("Hypertension", 1)]
    texts = {r.label: [c.text for c in r.cells] for r in t3.rows}
    assert texts["Gastrointestinal disorders"] == ["1 (3.4)", "1 (3.4)", "1 (3.3)", "0 (0.0)"]
    assert texts["Vomiting"] == ["1 (3.4)", "0 (0.0)", "0 (0.0)", "0 (0.0)"]
    assert texts["Skin and subcutaneous tissue disorders"] == ["0 (0.0)", "0 (0.0)", "1 (3.3)", "1 (3.3)"]
    nausea = t3.cell("Nausea", "TCAC.HIGH")
    assert (nausea.analysis_id, nausea.subjects) == ("T3.TRAE.GASTROINTESTINAL_DISORDERS.NAUSEA.TCAC.HIGH", ("S-002",))
    assert t3.analysis(nausea.analysis_id).description == (
        "Gastrointestinal disorders / Nausea: subjects with worst grade >= 3")
