"""The embedded study prints the paper's figures exactly: read back from its DOCX and XLSX files.

The session fixture ``embedded_run`` runs every stage on a copy of the committed specs/ and raw/;
this test opens the tables it wrote (outputs/tables/T2..T5 and L4, .docx and .xlsx) and looks for
every figure of tests/data/paper_results.yaml (a copy of shared/targets/paper_results.yaml), the
``stretch`` ones included, as the text the paper prints: tolerance 0 on the printed text. The
expected texts are built from the targets file (the paper's numbers), not from tlfgen's output.

Figures the paper reports that no table prints (lost to follow-up, treatment ongoing at the
cutoff, discontinuation, dose reduction, anlotinib haemorrhage) are checked on the ADaM data by
test_paper_targets.py.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from statistics import NormalDist

import pytest
from docx import Document
from openpyxl import load_workbook

from tlfgen.stats.formatting import fmt_p

ARMS = ("TCAC", "TCC")
HEADER = "<column header>"


# ------------------------------------------------------------------ reading the files back


def docx_rows(path: Path) -> list[list[str]]:
    """Every row of the first table of a DOCX file, as cell texts (label cell stripped)."""
    table = Document(str(path)).tables[0]
    return [[c.text.strip() for c in row.cells] for row in table.rows]


def xlsx_text(cell) -> str:
    """A cell as Excel shows it: numbers through their number format ("0.000" -> 3 decimals)."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        fmt = re.fullmatch(r"0(?:\.(0+))?", cell.number_format or "")
        assert fmt, f"{cell.coordinate}: unexpected number format {cell.number_format!r}"
        return f"{value:.{len(fmt.group(1) or '')}f}"
    return str(value).strip()


def xlsx_rows(path: Path) -> list[list[str]]:
    ws = load_workbook(str(path)).worksheets[0]
    return [[xlsx_text(c) for c in row] for row in ws.iter_rows()]


def find_row(rows: list[list[str]], label: str, after: str | None = None) -> list[str]:
    """The first row labelled ``label`` (after the first row labelled ``after``, if given);
    ``HEADER``: the column header row (the first naming an arm with its N)."""
    if label == HEADER:
        return next(r for r in rows if any(c.startswith(f"{ARMS[0]}\n(N=") for c in r))
    start = 0
    if after is not None:
        start = next(i for i, r in enumerate(rows) if r and r[0] == after) + 1
    return next(r for r in rows[start:] if r and r[0] == label)


@pytest.fixture(scope="module", params=["docx", "xlsx"])
def printed(request, embedded_run):
    """Output id -> rows of text, read back from the files the run wrote."""
    study, _ = embedded_run
    folder = study.outputs_dir / "tables"
    read = docx_rows if request.param == "docx" else xlsx_rows
    return {out: read(folder / f"{out}.{request.param}") for out in ("T2", "T3", "T4", "T5", "L4")}


# ------------------------------------------------------------------ the paper's texts


def pct(n: int, of: int) -> str:
    return str((Decimal(100 * n) / Decimal(of)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def n_pct(n: int, of: int = 30) -> str:
    return f"{n} ({pct(n, of)})"


def est_ci(value: float, ci: list[float], decimals: int = 2) -> str:
    return f"{value:.{decimals}f} ({ci[0]:.{decimals}f}, {ci[1]:.{decimals}f})"


def p_text(p) -> str:
    """The paper's p-values: "< 0.001" as is, numbers with the digits the paper printed."""
    return p if isinstance(p, str) else str(p)


# columns: T2 TCAC 1, TCC 2, Total 3, comparison 4; T3 TCAC any 1, >=3 2, TCC any 3, >=3 4;
# T4/T5 univariable estimate 1, p 2, multivariable estimate 3, p 4
T2_COL = {"TCAC": 1, "TCC": 2, "TOTAL": 3, "CMP": 4}
SECTIONS = {"pfs": "Progression-free survival", "os": "Overall survival", "dor": "Duration of response (responders)"}
UNIVARIABLE_P_GAP = (
    "the paper prints the univariable logistic p as 'P = 0.001' (SPSS rounds the Wald p 0.00053 of "
    "27/30 vs 13/30 to 3 decimals: p-value style 'paper-spss'); the study's 'paper' style prints '< 0.001'. "
    "Switching the study to 'paper-spss' would print the univariable Cox Wald p as '0.001' where the paper "
    "prints '< 0.001', and no data can avoid it (test_cox_wald_p_cannot_print_below_0001_under_spss). A Cox "
    "score test (T5 'test: score') gives '< 0.001' but then the multivariable p prints 0.014, not the paper's "
    "0.016; only a score p for the univariable and a Wald p for the multivariable model prints every figure, "
    "and the paper names neither test (test_univariable_cox_p_needs_a_test_the_paper_does_not_name; "
    "docs/paper_months.md)")


def expected_cells(t: dict) -> list[tuple]:
    """(figure, output, row label, after row, column, paper text, stretch) for every paper figure."""
    resp, pfs, dor, os_, safety = t["response"], t["pfs"], t["dor"], t["os"], t["safety"]
    n = t["study"]["n_per_arm"]
    rows: list[tuple] = []

    def add(figure, out, label, col, text, after=None, stretch=False):
        rows.append((figure, out, label, after, col, text, stretch))

    for arm in ARMS:
        c = T2_COL[arm]
        add(f"n_per_arm.{arm}", "T2", HEADER, c, f"{arm}\n(N={n[arm]})")
        add(f"CR.{arm}", "T2", "Complete response (CR)", c, n_pct(resp["CR"][arm]))
        add(f"PR.{arm}", "T2", "Partial response (PR)", c, n_pct(resp["PR"][arm]))
        add(f"ORR.{arm}", "T2", "Objective response rate (CR + PR), n (%)", c,
            f"{resp['ORR_n'][arm]} ({resp['ORR_pct'][arm]:.1f})")
        lo, hi = resp["ORR_ci95"][arm]
        add(f"ORR_ci95.{arm}", "T2", "95% CI", c, f"{lo:.1f}, {hi:.1f}",
            after="Objective response rate (CR + PR), n (%)")
        add(f"depth.{arm}", "T2", "Depth of response > 50%, n (%)", c,
            n_pct(resp["depth_of_response_gt50pct"][arm]))
        add(f"pfs.events.{arm}", "T2", "Progression or death, n (%)", c, n_pct(pfs["events"][arm]),
            after=SECTIONS["pfs"])
        add(f"os.deaths.{arm}", "T2", "Deaths, n (%)", c, n_pct(os_["deaths"][arm]), after=SECTIONS["os"])
        for key, section in (("pfs", pfs), ("dor", dor), ("os", os_)):
            add(f"{key}.median.{arm}", "T2", "Median, months (95% CI)", c,
                est_ci(section["median_months"][arm], section["median_ci95_symmetric"][arm]),
                after=SECTIONS[key])
    add("fas_n", "T2", HEADER, T2_COL["TOTAL"], f"Total\n(N={t['population']['fas_n']})")
    add("ORR_p", "T2", "Objective response rate (CR + PR), n (%)", T2_COL["CMP"], resp["ORR_p"])
    for key, section in (("pfs", pfs), ("dor", dor), ("os", os_)):
        hr = section["hr_logrank"]
        add(f"{key}.hr_logrank", "T2", "Hazard ratio TCAC vs TCC (95% CI)", T2_COL["CMP"],
            est_ci(hr["value"], hr["ci95"]), after=SECTIONS[key])
        add(f"{key}.logrank_p", "T2", "Log-rank p-value", T2_COL["CMP"], p_text(section["logrank_p"]),
            after=SECTIONS[key])
    fu = t["population"]["follow_up_months"]
    add("follow_up_months", "T2", "Follow-up, months, median (range)", T2_COL["TOTAL"],
        f"{fu['median']:.1f} ({fu['min']:.1f}, {fu['max']:.1f})")
    # Table 3 (safety set): any grade and grade >= 3 (no grade 4-5 TRAE: grade >= 3 is grade 3)
    assert safety["grade4_5_trae_patients"] == {"TCAC": 0, "TCC": 0}
    for arm, (any_col, high_col) in (("TCAC", (1, 2)), ("TCC", (3, 4))):
        add(f"safety_n.{arm}", "T3", HEADER, any_col, f"{arm}\n(N={t['population']['safety_n'] // 2})")
        add(f"any_grade_trae.{arm}", "T3", "Any TRAE", any_col, n_pct(safety["any_grade_trae_patients"][arm]))
        add(f"grade3_trae.{arm}", "T3", "Any TRAE", high_col, n_pct(safety["grade3_trae_patients"][arm]))
        add(f"rccep.{arm}", "T3", "Reactive cutaneous capillary endothelial proliferation", any_col,
            n_pct(safety["rccep_patients"][arm]))
    for term, count in {**safety["grade3_by_term_tcac"], **safety["grade3_other_tcac"]}.items():
        add(f"grade3.{term}", "T3", term, 2, n_pct(count))
    # Tables 4 and 5: treatment rows of the logistic and Cox models
    treat = "Treatment: TCAC vs TCC"
    uni = resp["logistic_orr_p_univariable"]["value"]
    add("logistic_orr_p_univariable", "T4", treat, 2, f"{uni:.3f}")
    multi = resp["logistic_orr_p_multivariable"]
    add("logistic_orr_p_multivariable", "T4", treat, 4, f"{multi['value']:.3f}", stretch=multi.get("stretch", False))
    cox = pfs["cox_univariable"]
    add("cox_univariable", "T5", treat, 1, est_ci(cox["hr"], cox["ci95"]))
    add("cox_univariable.p", "T5", treat, 2, p_text(cox["p"]))
    cox_m = pfs["cox_multivariable"]
    add("cox_multivariable", "T5", treat, 3, est_ci(cox_m["hr"], cox_m["ci95"]), stretch=True)
    add("cox_multivariable.p", "T5", treat, 4, f"{cox_m['p']:.3f}", stretch=True)
    return rows


def test_every_paper_figure_is_in_the_list(targets):
    """The list below covers the targets file: a figure added to it must be added here too."""
    figures = {row[0].split(".")[0] for row in expected_cells(targets)}
    printed_sections = {"CR", "PR", "ORR", "ORR_ci95", "ORR_p", "depth", "pfs", "dor", "os", "fas_n",
                        "safety_n", "n_per_arm", "follow_up_months", "any_grade_trae", "grade3_trae", "rccep",
                        "grade3", "logistic_orr_p_univariable", "logistic_orr_p_multivariable",
                        "cox_univariable", "cox_multivariable"}
    assert figures == printed_sections
    stretch = {row[0] for row in expected_cells(targets) if row[6]}
    assert stretch == {"logistic_orr_p_multivariable", "cox_multivariable", "cox_multivariable.p"}


def _cases():
    import yaml

    targets = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "paper_results.yaml").read_text())
    for figure, out, label, after, col, text, stretch in expected_cells(targets):
        marks = []
        if figure == "logistic_orr_p_univariable":
            marks.append(pytest.mark.xfail(strict=True, reason=UNIVARIABLE_P_GAP))
        yield pytest.param(out, label, after, col, text, id=figure + (" (stretch)" if stretch else ""), marks=marks)


@pytest.mark.parametrize(("out", "label", "after", "col", "text"), list(_cases()))
def test_paper_figure_printed_exactly(printed, out, label, after, col, text):
    row = find_row(printed[out], label, after)
    assert row[col] == text


def test_conversion_surgery_listing_counts(printed, targets):
    """Listing 4: 10 TCAC and 2 TCC patients had conversion surgery; 5 of the 10 TCAC had a pCR."""
    rows = printed["L4"]
    header = next(i for i, r in enumerate(rows) if r and r[0] == "Subject")
    body = [r for r in rows[header + 1:] if r and r[0].startswith("NCT04471480-")]
    by_arm = {arm: [r for r in body if r[1] == arm] for arm in ARMS}
    assert {arm: len(by_arm[arm]) for arm in ARMS} == targets["population"]["surgery_censored"]
    pcr = targets["population"]["pcr_among_surgery_tcac"]
    col = rows[header].index("Pathological complete response")
    assert (sum(r[col] == "Y" for r in by_arm["TCAC"]), len(by_arm["TCAC"])) == (pcr["n"], pcr["of"])


def _wald_p_from_printed(hr: float, upper: float) -> float:
    """Two-sided Wald p of a log-symmetric 95% CI with estimate ``hr`` and upper limit ``upper``."""
    z = math.log(hr) * -1 * NormalDist().inv_cdf(0.975) / math.log(upper / hr)
    return 2 * NormalDist().cdf(-z)


def test_cox_wald_p_cannot_print_below_0001_under_spss(targets):
    """No data printing the paper's Cox HR 0.33 (0.18, 0.63) has a Wald p that SPSS prints "< 0.001".

    ln HR is the midpoint of the log limits, so the Wald p depends on (HR, upper) only; every
    (HR, L, U) rounding to the printed figures gives p > 0.000588 > 0.0005 (docs/paper_months.md),
    while the logistic Wald p the paper prints as "0.001" is 0.00053: no monotone rule prints both.
    """
    cox = targets["pfs"]["cox_univariable"]
    assert (cox["hr"], cox["ci95"], cox["p"]) == (0.33, [0.18, 0.63], "< 0.001")
    grid = [i / 400 for i in range(400)]
    smallest = min(
        _wald_p_from_printed(hr, up)
        for hr in (0.325 + 0.01 * g for g in grid)
        for up in (0.625 + 0.01 * g for g in grid)
        if 0.175 <= hr * hr / up < 0.185
    )
    assert 0.000588 < smallest < 0.000589  # supremum of z at HR -> 0.335, U = 0.625: z = 3.4371
    assert fmt_p(smallest, "spss") == "0.001"
    logistic_z = math.log(27 * 17 / (3 * 13)) / math.sqrt(1 / 27 + 1 / 3 + 1 / 13 + 1 / 17)
    logistic_p = 2 * NormalDist().cdf(-logistic_z)
    assert fmt_p(logistic_p, "spss") == "0.001" and logistic_p < smallest


def test_univariable_cox_p_needs_a_test_the_paper_does_not_name(adam, targets):
    """Which Cox test would print the paper's p-values under SPSS's threshold (style ``paper-spss``)?

    On the embedded ADaM data (T5's model: treatment, then treatment + age group, sex, ECOG, stage and
    PD-L1 among the subjects with a listed PD-L1 level): the univariable p prints "< 0.001" only by the
    score test (0.00041; Wald 0.00074 and likelihood ratio 0.00052 print "0.001"), while the multivariable
    p prints the paper's "0.016" only by the Wald test (score 0.0138 -> "0.014"). So one declared test per
    block cannot print both; the paper's methods section names neither (it says "Cox proportional hazards
    regression model" and SPSS v23.0), which is why the univariable logistic p stays a strict xfail.
    """
    from tlfgen.stats.cox import cox_model

    adsl = adam["ADSL"][adam["ADSL"]["FASFL"] == "Y"]
    covs = ["AGEGR1", "SEX", "ECOGBL", "STAGE", "PDL1GR1"]
    pfs = adam["ADTTE"][adam["ADTTE"]["PARAMCD"] == "PFS"].merge(adsl[["USUBJID", "TRT01PN", *covs]])
    pfs["TRT"] = pfs["TRT01PN"].map({1.0: "TCAC", 2.0: "TCC"})
    pfs["EVENT"] = 1 - pfs["CNSR"]
    refs = {"TRT": "TCC", "AGEGR1": "<65", "SEX": "M", "ECOGBL": 0.0, "STAGE": "III", "PDL1GR1": "<1"}
    known = pfs[pfs["PDL1GR1"].isin(["<1", "1-9", ">=10"])]
    cox = targets["pfs"]
    printed = {}
    for test in ("wald", "score", "lr"):
        uni = cox_model(pfs, "AVALM", "EVENT", ["TRT"], references=refs, test=test).terms.iloc[0]["p"]
        multi = cox_model(known, "AVALM", "EVENT", ["TRT", *covs], references=refs, test=test).terms.iloc[0]["p"]
        printed[test] = (fmt_p(uni, "paper-spss"), fmt_p(multi, "paper-spss"))
    paper = (cox["cox_univariable"]["p"], f"{cox['cox_multivariable']['p']:.3f}")
    assert paper == ("< 0.001", "0.016")
    assert printed["wald"] == ("0.001", paper[1])  # the multivariable p as the paper, the univariable not
    assert printed["score"][0] == paper[0] and printed["score"][1] != paper[1]  # 0.014 on the embedded data
    assert printed["lr"][0] != paper[0]


# ------------------------------------------------------------------ Table 1 p-values

#: T1 block -> (ADSL variable, label of the row that carries the p-value)
T1_TESTS = {"AGE": ("AGE", "n"), "AGEGR1": ("AGEGR1", "<65"), "SEX": ("SEX", "Male"), "ECOG": ("ECOGBL", "0"),
            "STAGE": ("STAGE", "III"), "TUMLOC": ("TUMLOC", "Cervical"), "DYSPH": ("DYSPHBL", "0"),
            "PDL1": ("PDL1GR1", "<1"), "SMOKE": ("SMOKSTAT", "Never"), "ALCOHOL": ("ALCSTAT", "Never")}
T1_BLOCK_LABELS = {"AGE": "Age, years", "AGEGR1": "Age group, n (%)", "SEX": "Sex, n (%)",
                   "ECOG": "ECOG performance status, n (%)", "STAGE": "Clinical stage, n (%)",
                   "TUMLOC": "Tumour site, n (%)", "DYSPH": "Dysphagia score, n (%)", "PDL1": "PD-L1 CPS, n (%)",
                   "SMOKE": "Smoking history, n (%)", "ALCOHOL": "Alcohol use, n (%)"}


def _fisher_2xk(table) -> float:
    """Exact Fisher p of a 2 x k table: every first row with the column margins, by scipy's hypergeometric pmf."""
    import itertools

    import numpy as np
    from scipy.stats import multivariate_hypergeom

    cols = table.sum(axis=0)
    first = int(table[0].sum())
    rows = np.array([x for x in itertools.product(*(range(int(c) + 1) for c in cols)) if sum(x) == first])
    probs = multivariate_hypergeom.pmf(rows, m=cols, n=first)
    observed = multivariate_hypergeom.pmf(table[0], m=cols, n=first)
    return float(min(1.0, probs[probs <= observed * (1 + 1e-7)].sum()))


def _t1_expected_p(adsl, block: str) -> float:
    """The paper's tests computed by scipy from ADSL: Student's t test; chi-square, or Fisher's exact test when
    an expected count is below 5 (Cochran)."""
    import pandas as pd
    from scipy.stats import chi2_contingency, ttest_ind

    fas = adsl[adsl["FASFL"] == "Y"]
    variable = T1_TESTS[block][0]
    arm = fas["TRT01PN"].map({1.0: "TCAC", 2.0: "TCC"})
    if block == "AGE":
        return float(ttest_ind(fas.loc[arm == "TCAC", "AGE"], fas.loc[arm == "TCC", "AGE"], equal_var=True).pvalue)
    table = pd.crosstab(arm, fas[variable]).to_numpy()
    chi = chi2_contingency(table, correction=False)
    return _fisher_2xk(table) if chi.expected_freq.min() < 5 else float(chi.pvalue)


@pytest.fixture(scope="module", params=["docx", "xlsx"])
def table1(request, embedded_run):
    study, _ = embedded_run
    read = docx_rows if request.param == "docx" else xlsx_rows
    return read(study.outputs_dir / "tables" / f"T1.{request.param}")


@pytest.mark.parametrize("block", list(T1_TESTS))
def test_table1_p_values_by_the_papers_methods(table1, adam, block):
    """Table 1 prints, for each characteristic, the p-value of the paper's stated test ("Student's t test";
    "chi-square test or Fisher's exact test"), recomputed here by scipy from ADSL, in the study's p style."""
    header = find_row(table1, HEADER)
    assert header[4] == "p-value"
    row = find_row(table1, T1_TESTS[block][1], after=T1_BLOCK_LABELS[block])
    assert row[4] == fmt_p(_t1_expected_p(adam["ADSL"], block), "paper")
