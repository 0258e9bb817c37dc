"""Tables on any data (issues 18 and 19): an arm without events, a column with N=0 and several
comparisons per table build, print NE or dashes with footnotes that say why, and render in DOCX
and XLSX. Inline ADaM from ``tlf_helpers.make_adam`` (30 TCAC, 30 TCC), edited per test."""

from __future__ import annotations

import io
import re
import shutil

import pandas as pd
import pytest
from docx import Document
from openpyxl import load_workbook

from tlf_helpers import REPO, write_spec
from tlfgen.errors import SpecError
from tlfgen.io.ooxml import run_timestamp
from tlfgen.spec.study import load_study
from tlfgen.spec.tlf import load_tlf_specs
from tlfgen.tlf.docx_writer import create_docx
from tlfgen.tlf.tables import create_table
from tlfgen.tlf.xlsx_writer import create_xlsx

DASH = "\u2013"


def _build(study, adam, *ids: str):
    for output_id in ids:
        shutil.copy(REPO / "specs" / "tlf" / f"{output_id}.yaml", study.specs_dir / "tlf" / f"{output_id}.yaml")
    specs = load_tlf_specs(study)
    return {o.id: create_table(o, study, adam, specs.templates) for o in specs.outputs}


def _docx_text(table) -> tuple[list[list[str]], list[str]]:
    doc = Document(io.BytesIO(create_docx([table], run_timestamp())))
    grid = [[cell.text for cell in row.cells] for row in doc.tables[0].rows]
    # footnotes sit in the page footer (repeated on every page), titles in the page header
    footers = [p.text for section in doc.sections for part in (section.header, section.footer)
               for p in part.paragraphs]
    return grid, [p.text for p in doc.paragraphs] + footers


def _xlsx_text(table) -> list[str]:
    ws = load_workbook(io.BytesIO(create_xlsx([table], run_timestamp())))[table.id]
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


# 1. OS with no deaths in TCAC: the log-rank HR is NE (the O/E ratio would be 0), with a footnote;
#    the TCAC median is not reached (NE); the log-rank p-value is still printed. DOCX and XLSX.
def test_01_arm_without_events_prints_ne_with_footnote(study, adam) -> None:
    tte = adam["ADTTE"]
    tcac = adam["ADSL"].loc[adam["ADSL"]["TRT01PN"] == 1, "USUBJID"]
    tte.loc[(tte["PARAMCD"] == "OS") & tte["USUBJID"].isin(tcac), "CNSR"] = 1.0
    t2 = _build(study, adam, "T2")["T2"]
    hr = t2.cell("Hazard ratio TCAC vs TCC (95% CI)", "CMP", block_id="OS")
    assert hr.text == "NE (NE, NE)"
    assert t2.cell("Deaths, n (%)", "TCAC", block_id="OS").text == "0 (0.0)"
    assert t2.cell("Median, months (95% CI)", "TCAC", block_id="OS").text == "NE (NE, NE)"
    assert re.fullmatch(r"< 0\.001|0\.\d+", t2.cell("Log-rank p-value", "CMP", block_id="OS").text)
    assert t2.cell("Hazard ratio TCAC vs TCC (95% CI)", "CMP", block_id="PFS").text != "NE (NE, NE)"
    note = ("Hazard ratio TCAC vs TCC not estimable (NE): no events in TCAC; the O/E ratio would be 0 or "
            "infinite.")
    assert "NE = not estimable." in t2.footnotes and note in t2.footnotes
    assert "Median not reached (NE): the Kaplan-Meier curve stays above 0.5." in t2.footnotes
    grid, paragraphs = _docx_text(t2)
    assert ["Hazard ratio TCAC vs TCC (95% CI)", "", "", "", "NE (NE, NE)"] in [
        [text.strip() for text in row] for row in grid]
    assert any(note in p for p in paragraphs)
    cells = _xlsx_text(t2)
    assert "NE (NE, NE)" in cells and any(note in c for c in cells)


# 2. The same with a Cox HR: R warns the estimate is infinite; tlfgen prints NE and says why.
def test_02_cox_hazard_ratio_infinite_is_ne(study, adam, study_dir) -> None:
    tte = adam["ADTTE"]
    tcac = adam["ADSL"].loc[adam["ADSL"]["TRT01PN"] == 1, "USUBJID"]
    tte.loc[(tte["PARAMCD"] == "OS") & tte["USUBJID"].isin(tcac), "CNSR"] = 1.0
    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8")
    text = text.replace("param: OS, event_label: \"Deaths, n (%)\", median_ci: symmetric, hr: logrank",
                        "param: OS, event_label: \"Deaths, n (%)\", median_ci: symmetric, hr: cox, ties: efron")
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    assert t2.cell("Hazard ratio TCAC vs TCC (95% CI)", "CMP", block_id="OS").text == "NE (NE, NE)"
    assert any("the Cox estimate is infinite" in f for f in t2.footnotes)
    assert t2.analysis("T2.OS.HR").method.startswith("univariable Cox proportional hazards, Efron ties")


# 3. No TCC subject in the population: the column prints N=0 and dashes, tests are NE with a
#    footnote; no chi-square crash ("contingency table has an all-zero row or column"). DOCX, XLSX.
def test_03_empty_column_prints_dashes(study, adam) -> None:
    adsl = adam["ADSL"]
    adsl.loc[adsl["TRT01PN"] == 2, "FASFL"] = "N"
    tables = _build(study, adam, "T1", "T2")
    t1, t2 = tables["T1"], tables["T2"]
    assert t1.columns[1].header == "TCC\n(N=0)"
    assert t1.cell("Male", "TCC").text == DASH
    assert t1.cell("n", "TCC", block_id="AGE").text == "0"
    assert t1.cell("Mean (SD)", "TCC", block_id="AGE").text == DASH
    assert t1.cell("Male", "TOTAL").text == "24 (80.0)"
    orr = "Objective response rate (CR + PR), n (%)"
    assert t2.cell(orr, "TCC").text == DASH
    assert t2.cell("95% CI", "TCC", block_id="ORR").text == DASH
    assert t2.cell(orr, "CMP").text == "NE"
    assert t2.cell("Median, months (95% CI)", "TCC", block_id="PFS").text == DASH
    assert t2.cell("Hazard ratio TCAC vs TCC (95% CI)", "CMP", block_id="PFS").text == "NE (NE, NE)"
    assert t2.cell("Log-rank p-value", "CMP", block_id="PFS").text == "NE"
    dash_note = f"{DASH}: no subjects in the column or denominator (N=0); nothing is estimated."
    assert dash_note in t1.footnotes and dash_note in t2.footnotes
    assert "P-value not computed (NE): an arm of the comparison has no subjects." in t2.footnotes
    assert "Hazard ratio TCAC vs TCC not estimable (NE): no subjects in TCC." in t2.footnotes
    grid, paragraphs = _docx_text(t2)
    assert "TCC\n(N=0)" in [c.strip() for c in grid[0]] or any("N=0" in c for c in grid[0])
    assert any(DASH == c.strip() for row in grid for c in row)
    assert any(dash_note in p for p in paragraphs)
    cells = _xlsx_text(t2)
    assert any("N=0" in c for c in cells) and DASH in cells and any(dash_note in c for c in cells)


# 4. A third arm: comparisons each-vs-control give one column per arm vs the control, pairwise one
#    per pair; a single pair keeps the original column key and row labels.
@pytest.fixture()
def three_arm(study_dir, adam):
    text = (study_dir / "specs" / "study.yaml").read_text(encoding="utf-8")
    tcc = '      description: "Camrelizumab 200 mg plus chemotherapy every 21 days"\n'
    assert tcc in text
    text = text.replace(tcc, tcc + '    - armcd: CTRL\n      arm: "Control"\n      trtn: 3\n      description: "Control"\n', 1)
    (study_dir / "specs" / "study.yaml").write_text(text, encoding="utf-8")
    adsl = adam["ADSL"]
    ctrl = adsl["USUBJID"].isin([f"S-{i:03d}" for i in range(46, 61)])
    adsl.loc[ctrl, "TRT01PN"] = 3.0
    return load_study(study_dir), adam


def test_04_each_vs_control_and_pairwise(three_arm, study_dir) -> None:
    study, adam = three_arm
    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8")
    text = text.replace("treatment: TCAC, reference: TCC}", "reference: CTRL, comparisons: each-vs-control}")
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    keys = [c.key for c in t2.columns]
    assert keys == ["TCAC", "TCC", "CTRL", "TOTAL", "CMP.TCAC.CTRL", "CMP.TCC.CTRL"]
    assert t2.columns[4].header == "TCAC vs CTRL\np-value / HR (95% CI)"
    hr_tcac = t2.cell("Hazard ratio (95% CI)", "CMP.TCAC.CTRL", block_id="PFS")
    hr_tcc = t2.cell("Hazard ratio (95% CI)", "CMP.TCC.CTRL", block_id="PFS")
    assert hr_tcac.analysis_id == "T2.PFS.HR.TCAC_CTRL" and hr_tcc.analysis_id == "T2.PFS.HR.TCC_CTRL"
    assert hr_tcac.text != hr_tcc.text
    # TCC (S-031..S-045) vs CTRL (S-046..S-060) ORR: 13 responders are S-031..S-043 -> 13/15 vs 0/15
    orr = "Objective response rate (CR + PR), n (%)"
    assert t2.cell(orr, "CTRL").text == "0 (0.0)"
    assert t2.cell(orr, "CMP.TCC.CTRL").text == "< 0.001"
    text = text.replace("reference: CTRL, comparisons: each-vs-control}", "comparisons: pairwise}")
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    assert [c.key for c in t2.columns if c.kind == "comparison"] == [
        "CMP.TCAC.TCC", "CMP.TCAC.CTRL", "CMP.TCC.CTRL"]


# 5. One p-value rule per study: conventions.yaml declares it; a table may not differ.
def test_05_one_p_value_rule_per_study(study, adam, study_dir) -> None:
    write_spec(study_dir, "conventions.yaml", "type: conventions\np_values: sas\n")
    t2 = _build(study, adam, "T2")["T2"]
    cell = t2.cell("Objective response rate (CR + PR), n (%)", "CMP")
    assert 0.0001 <= cell.value("p") < 0.00015 and cell.text == "0.0001"  # PVALUE6.4, half up
    text = (REPO / "specs" / "tlf" / "T1.yaml").read_text(encoding="utf-8") + "precision: {p_style: paper}\n"
    write_spec(study_dir, "T1.yaml", text)
    with pytest.raises(SpecError, match="one p-value rule per study"):
        load_tlf_specs(study)


# 6. Table 1 p-values by the declared methods: Wilcoxon rank-sum (normal approximation with continuity
#    correction, as SAS NPAR1WAY and R wilcox.test(exact = FALSE)) for a continuous row, and the Cochran
#    rule (chi-square, or Fisher when an expected count is below 5) for a categorical block.
#    AGE is 50 + (i % 20): TCAC (i = 0..29) and TCC (i = 30..59) are checked against scipy's test.
def test_06_table1_p_values(study, adam, study_dir) -> None:
    from scipy.stats import mannwhitneyu

    text = (REPO / "specs" / "tlf" / "T1.yaml").read_text(encoding="utf-8")
    assert "columns: {by: TRT01PN, total: true, comparison: \"p-value\", treatment: TCAC, reference: TCC}" in text
    assert "    variable: SEX\n    test: cochran\n" in text  # the study's spec: the paper's methods
    text = text.replace("variable: AGE, test: ttest}", "variable: AGE, test: wilcoxon}")
    write_spec(study_dir, "T1.yaml", text)
    t1 = _build(study, adam)["T1"]
    age = adam["ADSL"]["AGE"]
    expected = mannwhitneyu(age[:30], age[30:], alternative="two-sided", use_continuity=True).pvalue
    assert t1.cell("n", "CMP", block_id="AGE").value("p") == pytest.approx(expected, rel=1e-12)
    assert t1.analysis("T1.AGE.TEST").method.startswith("Wilcoxon rank-sum test")
    # SEX: 24 M / 6 F in each arm (i % 5 == 0 is F): expected counts 6 >= 5 -> chi-square, p = 1
    assert t1.analysis("T1.SEX.TEST").method.startswith("Pearson chi-square")
    assert t1.cell("Male", "CMP").text == "1.00"


# 7. Time-to-event options: quartiles, landmark rates (arcsine CI), stratified log-rank and Cox HR.
#    Values are checked against the stats layer's own functions on the same subjects (each of those
#    is tested against R/SAS/CAMIS references in tests/stats).
def test_07_tte_quartiles_landmarks_strata(study, adam, study_dir) -> None:
    from tlfgen.stats.km_summary import km_quantiles
    from tlfgen.stats.survival import km_at, logrank_test

    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "{kind: tte, id: PFS, label: \"Progression-free survival\", param: PFS, event_label: \"Progression or death, "
        "n (%)\", median_ci: symmetric, hr: logrank}",
        "{kind: tte, id: PFS, label: \"Progression-free survival\", param: PFS, event_label: \"Progression or death, "
        "n (%)\", median_ci: loglog, hr: cox, ties: efron, strata: [SEX], quartiles: true, landmarks: [12], "
        "survival_ci: arcsine, rmst_tau: 20}")
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    tte = adam["ADTTE"][adam["ADTTE"]["PARAMCD"] == "PFS"].set_index("USUBJID")
    tcac = tte.loc[[f"S-{i:03d}" for i in range(1, 31)]]
    q = km_quantiles(tcac["AVALM"], 1 - tcac["CNSR"]).set_index("prob")
    cell = t2.cell("25th percentile, months (95% CI)", "TCAC", block_id="PFS")
    assert cell.value("quantile") == q.loc[0.25, "estimate"]
    at = km_at(tcac["AVALM"], 1 - tcac["CNSR"], [12], method="arcsine").iloc[0]
    cell = t2.cell("Event-free at 12 months, % (95% CI)", "TCAC", block_id="PFS")
    assert cell.value("survival") == pytest.approx(100 * at["survival"])
    assert cell.value("lower") == pytest.approx(100 * at["lower"])
    sex = adam["ADSL"].set_index("USUBJID").loc[tte.index, "SEX"]
    arm = ["TCAC" if int(s[2:]) <= 30 else "TCC" for s in tte.index]
    expected = logrank_test(tte["AVALM"], 1 - tte["CNSR"], arm, strata=sex.to_numpy()).p
    assert t2.cell("Stratified log-rank p-value", "CMP", block_id="PFS").value("p") == pytest.approx(expected)
    assert "stratified" in t2.analysis("T2.PFS.HR").method and "Efron" in t2.analysis("T2.PFS.HR").method
    from tlfgen.stats.km_summary import km_rmst

    rm = km_rmst(tcac["AVALM"], 1 - tcac["CNSR"], 20)
    assert t2.cell("RMST up to 20 months (95% CI)", "TCAC", block_id="PFS").value("rmst") == pytest.approx(rm.estimate)


# 8. Regression tables with an empty arm: the treatment row is NE with a footnote, the covariate
#    models are still fitted; no exception.
def test_08_regression_with_empty_arm(study, adam) -> None:
    adsl = adam["ADSL"]
    adsl.loc[adsl["TRT01PN"] == 2, "FASFL"] = "N"
    tables = _build(study, adam, "T4", "T5")
    for tid in ("T4", "T5"):
        row = "Treatment: TCAC vs TCC"
        assert [tables[tid].cell(row, k).text for k in ("UNI.EST", "UNI.P", "MULTI.EST", "MULTI.P")] == [
            "NE (NE, NE)", "NE", "NE (NE, NE)", "NE"]
        assert tables[tid].cell("Female vs Male", "UNI.EST").text not in ("", "NE (NE, NE)")
        assert any("TCAC vs TCC not estimable (NE): an arm has no subjects" in f for f in tables[tid].footnotes)


# 9. Rate comparisons a statistician chooses: Miettinen-Nurminen difference, relative risk, CMH
#    stratified by sex. Each number is the stats layer's (tested against published values in
#    tests/stats) on ORR 27/30 vs 13/30; CMH on the per-sex 2 x 2 tables built here by hand.
def test_09_rate_mn_difference_ratio_and_cmh(study, adam, study_dir) -> None:
    from tlfgen.stats.proportions import diff_proportions, ratio_proportions
    from tlfgen.stats.stratified import cmh_test

    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(    id: ORR\n(?:    .*\n)*?)    test: cochran\n",
                      r"\1    test: cmh\n    strata: [SEX]\n    difference: true\n    difference_method: mn\n"
                      r"    ratio: rr\n", text)
    assert n == 1
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    mn = diff_proportions(27, 30, 13, 30, method="mn")
    cell = t2.cell("Difference TCAC - TCC, % (95% CI)", "CMP", block_id="ORR")
    assert cell.value("lower") == pytest.approx(100 * mn.lower) and cell.value("upper") == pytest.approx(100 * mn.upper)
    rr = ratio_proportions(27, 30, 13, 30)
    assert t2.cell("Relative risk TCAC vs TCC (95% CI)", "CMP", block_id="ORR").text == (
        f"{rr.estimate:.2f} ({rr.lower:.2f}, {rr.upper:.2f})")
    adsl = adam["ADSL"].set_index("USUBJID")
    orr = adam["ADRS"][(adam["ADRS"]["PARAMCD"] == "ORR") & (adam["ADRS"]["AVALC"] == "Y")]["USUBJID"]
    tables = []
    for sex in ("F", "M"):
        table = []
        for arm in (1.0, 2.0):
            ids = adsl.index[(adsl["SEX"] == sex) & (adsl["TRT01PN"] == arm)]
            yes = int(ids.isin(orr).sum())
            table.append([yes, len(ids) - yes])
        tables.append(table)
    expected = cmh_test(tables).p
    assert t2.cell("Objective response rate (CR + PR), n (%)", "CMP").value("p") == pytest.approx(expected)
    assert t2.analysis("T2.ORR.TEST").method.startswith("Cochran-Mantel-Haenszel test")


# 10. Median conventions in a table (not reached: test 1): the R rule (midpoint, default) and the SAS rule at a final 0.5 plateau (conventions.yaml median_plateau: sas) prints NE and says why.
#     DOR in TCC: 13 responders (S-031..S-043), made to follow the CAMIS example (PHUSE CAMIS
#     Comp/r-sas_survival.qmd): 5 events then 5 censored with S = 0.5 from the 5th event on.
def test_10_median_not_reached_and_plateau(study, adam, study_dir) -> None:
    tte = adam["ADTTE"]
    dor = tte["PARAMCD"] == "DOR"
    tcc = [f"S-{i:03d}" for i in range(31, 44)]
    camis_t = [54, 75, 77, 84, 87, 92, 103, 105, 112, 118]
    camis_c = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    keep = tte[~(dor & tte["USUBJID"].isin(tcc[10:]))]
    for sid, t, c in zip(tcc[:10], camis_t, camis_c):
        keep.loc[(keep["PARAMCD"] == "DOR") & (keep["USUBJID"] == sid), ["AVALM", "CNSR"]] = [float(t), float(c)]
    adam["ADTTE"] = keep
    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8").replace(
        "param: DOR, event_label: \"Progression or death, n (%)\", median_ci: symmetric",
        "param: DOR, event_label: \"Progression or death, n (%)\", median_ci: loglog")
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    assert t2.cell("Median, months (95% CI)", "TCC", block_id="DOR").text.startswith("102.50 (")
    write_spec(study_dir, "conventions.yaml", "type: conventions\nmedian_plateau: sas\n")
    t2 = _build(study, adam)["T2"]
    cell = t2.cell("Median, months (95% CI)", "TCC", block_id="DOR")
    assert cell.text.startswith("NE (")
    assert any("S(t) = 0.5 on the last plateau, which ends censored (SAS convention" in f for f in t2.footnotes)


# 11. Logistic table options: profile-likelihood CIs (R confint(glm)); a separated covariate is fitted by
#     Firth's method with a footnote instead of stopping the stage.
def test_11_logistic_profile_ci_and_separation(study, adam, study_dir) -> None:
    from tlfgen.stats.regression import logistic_model

    text = (REPO / "specs" / "tlf" / "T4.yaml").read_text(encoding="utf-8").replace(
        "    response: \"AVALC == 'Y'\"\n", "    response: \"AVALC == 'Y'\"\n    ci: profile\n")
    write_spec(study_dir, "T4.yaml", text)
    t4 = _build(study, adam)["T4"]
    df = pd.DataFrame({"TRT": ["TCAC"] * 30 + ["TCC"] * 30, "Y": [1.0] * 27 + [0.0] * 3 + [1.0] * 13 + [0.0] * 17})
    expected = logistic_model(df, "Y", ["TRT"], references={"TRT": "TCC"}, ci="profile").terms.iloc[0]
    cell = t4.cell("Treatment: TCAC vs TCC", "UNI.EST")
    assert cell.value("lower") == pytest.approx(expected["lower"]) and cell.value("upper") == pytest.approx(
        expected["upper"])
    assert t4.analysis("T4.ORR.UNI").method.startswith("logistic regression, maximum likelihood, profile-likelihood")
    # separation: every TCAC subject responds
    adrs = adam["ADRS"]
    tcac = [f"S-{i:03d}" for i in range(1, 31)]
    adrs.loc[(adrs["PARAMCD"] == "ORR") & adrs["USUBJID"].isin(tcac), "AVALC"] = "Y"
    t4 = _build(study, adam, "T4")["T4"]
    assert t4.cell("Treatment: TCAC vs TCC", "UNI.EST").text != ""
    assert any("Firth's penalised likelihood used instead" in f for f in t4.footnotes)


# 12. The p-value row may carry a Cox model test instead of the log-rank test (cox-lr, cox-score,
#     cox-wald; each checked against R summary(coxph) on aml in tests/stats/test_cox.py).
def test_12_cox_test_p_value_row(study, adam, study_dir) -> None:
    from tlfgen.stats.survival import cox_model

    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8").replace(
        "median_ci: symmetric, hr: logrank}\n  - {kind: tte, id: OS",
        "median_ci: symmetric, hr: cox, ties: efron, p_test: cox-lr}\n  - {kind: tte, id: OS")
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    tte = adam["ADTTE"][adam["ADTTE"]["PARAMCD"] == "PFS"].copy()
    tte["arm"] = ["TCAC" if int(s[2:]) <= 30 else "TCC" for s in tte["USUBJID"]]
    tte["event"] = 1 - tte["CNSR"]
    fit = cox_model(tte, "AVALM", "event", ["arm"], ties="efron", references={"arm": "TCC"})
    cell = t2.cell("Cox likelihood ratio p-value", "CMP", block_id="PFS")
    assert cell.value("p") == pytest.approx(fit.tests["lr"].p)
    assert t2.analysis("T2.PFS.LOGRANK").method.startswith("likelihood ratio test (SAS PROC PHREG")
    assert t2.cell("Log-rank p-value", "CMP", block_id="OS").text != ""


# 13. A regression table with three arms and comparisons each-vs-control: one model, one treatment row per
#     arm against the control, each the coefficient of that arm's indicator (checked against the stats layer).
def test_13_regression_each_vs_control(three_arm, study_dir) -> None:
    from tlfgen.stats.survival import cox_model

    study, adam = three_arm
    text = (REPO / "specs" / "tlf" / "T5.yaml").read_text(encoding="utf-8").replace(
        "treatment: TCAC, reference: TCC}", "reference: CTRL, comparisons: each-vs-control}")
    write_spec(study_dir, "T5.yaml", text)
    t5 = _build(study, adam)["T5"]
    labels = [r.label for r in t5.rows if r.label.startswith("Treatment")]
    assert labels == ["Treatment: TCAC vs CTRL", "Treatment: TCC vs CTRL"]
    tte = adam["ADTTE"][adam["ADTTE"]["PARAMCD"] == "PFS"].merge(adam["ADSL"][["USUBJID", "TRT01PN"]])
    tte["TRT"] = tte["TRT01PN"].map({1.0: "TCAC", 2.0: "TCC", 3.0: "CTRL"})
    tte["EVENT"] = 1 - tte["CNSR"]
    fit = cox_model(tte, "AVALM", "EVENT", ["TRT"], references={"TRT": "CTRL"}).terms.set_index("term")
    assert t5.cell("Treatment: TCC vs CTRL", "UNI.EST").value("hr") == pytest.approx(fit.loc["TRT=TCC", "hr"])
    assert t5.cell("Treatment: TCAC vs CTRL", "UNI.EST").value("hr") == pytest.approx(fit.loc["TRT=TCAC", "hr"])


# 14. Pairwise comparisons cannot be one regression model: a spec error at check time, with the line.
def test_14_regression_pairwise_is_a_spec_error(three_arm, study_dir) -> None:
    study, _ = three_arm
    text = (REPO / "specs" / "tlf" / "T5.yaml").read_text(encoding="utf-8").replace(
        "treatment: TCAC, reference: TCC}", "comparisons: pairwise}")
    write_spec(study_dir, "T5.yaml", text)
    with pytest.raises(SpecError, match="one reference arm") as info:
        load_tlf_specs(study)
    assert "T5.yaml" in str(info.value)


# 15. A proportional-hazards check row (scaled Schoenfeld residuals, KM time; tests/stats/test_cox.py checks
#     the method against lifelines' documented Rossi values).
def test_15_ph_check_row(study, adam, study_dir) -> None:
    from tlfgen.stats.cox import ph_test

    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8").replace(
        "median_ci: symmetric, hr: logrank}\n  - {kind: tte, id: OS",
        "median_ci: symmetric, hr: logrank, ph_check: km}\n  - {kind: tte, id: OS")
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    tte = adam["ADTTE"][adam["ADTTE"]["PARAMCD"] == "PFS"].copy()
    tte["arm"] = ["TCAC" if int(s[2:]) <= 30 else "TCC" for s in tte["USUBJID"]]
    tte["event"] = 1 - tte["CNSR"]
    expected = ph_test(tte, "AVALM", "event", ["arm"], references={"arm": "TCC"}).iloc[0]["p"]
    cell = t2.cell("Proportional hazards (Schoenfeld) p-value", "CMP", block_id="PFS")
    assert cell.value("p") == pytest.approx(expected)


# 16. A Cox regression block may choose the test of each term (test: score | lr | wald, SAS PHREG TYPE3) and
#     profile-likelihood CIs (ci: profile, SAS RISKLIMITS=PL). The univariable treatment p is then the global
#     score test of the one-covariate model (PROC PHREG "Score"; R summary(coxph) "Score (logrank) test").
def test_16_cox_regression_score_test_and_profile_ci(study, adam, study_dir) -> None:
    from tlfgen.stats.survival import cox_model

    text = (REPO / "specs" / "tlf" / "T5.yaml").read_text(encoding="utf-8").replace(
        "    test: wald\n", "    test: score\n    ci: profile\n")
    write_spec(study_dir, "T5.yaml", text)
    t5 = _build(study, adam)["T5"]
    tte = adam["ADTTE"][adam["ADTTE"]["PARAMCD"] == "PFS"].merge(adam["ADSL"][["USUBJID", "TRT01PN"]])
    tte["TRT"] = tte["TRT01PN"].map({1.0: "TCAC", 2.0: "TCC"})
    tte["EVENT"] = 1 - tte["CNSR"]
    fit = cox_model(tte, "AVALM", "EVENT", ["TRT"], references={"TRT": "TCC"}, ci="profile")
    cell = t5.cell("Treatment: TCAC vs TCC", "UNI.P")
    assert cell.value("p") == pytest.approx(fit.tests["score"].p, rel=1e-9)
    est = t5.cell("Treatment: TCAC vs TCC", "UNI.EST")
    assert (est.value("lower"), est.value("upper")) == pytest.approx(
        (fit.terms.iloc[0]["lower"], fit.terms.iloc[0]["upper"]))
    assert "TYPE3(SCORE)" in t5.analysis("T5.PFS.UNI").method
    assert "RISKLIMITS=PL" in t5.analysis("T5.PFS.MULTI").method


# 17. Firth's logistic regression prints Wald CIs and p: another test or CI is a spec error with the line.
def test_17_firth_with_score_test_is_a_spec_error(study, study_dir) -> None:
    text = (REPO / "specs" / "tlf" / "T4.yaml").read_text(encoding="utf-8").replace(
        "    response: \"AVALC == 'Y'\"\n", "    response: \"AVALC == 'Y'\"\n    method: firth\n    test: score\n")
    write_spec(study_dir, "T4.yaml", text)
    with pytest.raises(SpecError, match="Firth's logistic regression prints Wald") as info:
        load_tlf_specs(study)
    assert "T4.yaml:" in str(info.value)


# 18. A stratified difference: the Mantel-Haenszel common risk difference by sex (difference_method: mh, Sato
#     variance, SAS COMMONRISKDIFF(CL=MH); tested against Agresti 2013 in tests/stats), on per-sex 2 x 2 tables
#     built here by hand; without strata the spec is refused with its line.
def test_18_rate_mh_stratified_difference(study, adam, study_dir) -> None:
    from tlfgen.stats.stratified import mh_risk_difference

    base = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(    id: ORR\n(?:    .*\n)*?)    test: cochran\n",
                      r"\1    test: cochran\n    strata: [SEX]\n    difference: true\n    difference_method: mh\n", base)
    assert n == 1
    write_spec(study_dir, "T2.yaml", text)
    t2 = _build(study, adam)["T2"]
    adsl = adam["ADSL"].set_index("USUBJID")
    orr = adam["ADRS"][(adam["ADRS"]["PARAMCD"] == "ORR") & (adam["ADRS"]["AVALC"] == "Y")]["USUBJID"]
    tables = []
    for sex in ("F", "M"):
        table = []
        for arm in (1.0, 2.0):
            ids = adsl.index[(adsl["SEX"] == sex) & (adsl["TRT01PN"] == arm)]
            yes = int(ids.isin(orr).sum())
            table.append([yes, len(ids) - yes])
        tables.append(table)
    expected = mh_risk_difference(tables)
    cell = t2.cell("Difference TCAC - TCC, % (95% CI)", "CMP", block_id="ORR")
    assert (cell.value("difference"), cell.value("lower"), cell.value("upper")) == pytest.approx(
        (100 * expected.estimate, 100 * expected.lower, 100 * expected.upper))
    assert t2.analysis("T2.ORR.DIFF").method.startswith("Mantel-Haenszel common risk difference, Sato variance")
    write_spec(study_dir, "T2.yaml", text.replace("    strata: [SEX]\n", ""))
    with pytest.raises(SpecError, match="difference_method: mh needs strata") as info:
        load_tlf_specs(study)
    assert "T2.yaml:" in str(info.value)
