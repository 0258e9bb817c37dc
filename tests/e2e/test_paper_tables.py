"""The embedded study end to end: the paper's figures in Tables 1-3 and the Cox table.

Runs on the ADaM datasets that the session fixture ``embedded_run`` builds from the
committed raw/ (tests/e2e/conftest.py), so it runs on a clean checkout too.
"""

from __future__ import annotations

import io

import pytest
from docx import Document
from openpyxl import load_workbook

from tlfgen.spec.tlf import load_tlf_specs
from tlfgen.tlf.run import needed_datasets, read_adam
from tlfgen.tlf.docx_writer import create_docx
from tlfgen.io.ooxml import run_timestamp
from tlfgen.tlf.tables import create_table
from tlfgen.tlf.xlsx_writer import create_xlsx

@pytest.fixture(scope="module")
def tables(embedded_run):
    study, _ = embedded_run
    specs = load_tlf_specs(study)
    datasets = read_adam(study.adam_dir, needed_datasets(specs))
    return {o.id: create_table(o, study, datasets, specs.templates)
            for o in specs.outputs if o.id in ("T1", "T2", "T3", "T4", "T5")}


ORR = "Objective response rate (CR + PR), n (%)"
PFS_MEDIAN = ("Median, months (95% CI)", "PFS")
MATCHING = [
    ("T2", ORR, None, "TCAC", "27 (90.0)"),
    ("T2", ORR, None, "TCC", "13 (43.3)"),
    ("T2", ORR, None, "CMP", "< 0.001"),
    ("T2", "95% CI", "ORR", "TCAC", "73.5, 97.9"),
    ("T2", "95% CI", "ORR", "TCC", "25.5, 62.6"),
    ("T2", "Complete response (CR)", None, "TCAC", "3 (10.0)"),
    ("T2", "Complete response (CR)", None, "TCC", "1 (3.3)"),
    ("T2", "Partial response (PR)", None, "TCAC", "24 (80.0)"),
    ("T2", "Partial response (PR)", None, "TCC", "12 (40.0)"),
    ("T2", "Depth of response > 50%, n (%)", None, "TCAC", "15 (50.0)"),
    ("T2", "Depth of response > 50%, n (%)", None, "TCC", "6 (20.0)"),
    ("T2", "Progression or death, n (%)", "PFS", "TCAC", "16 (53.3)"),
    ("T2", "Progression or death, n (%)", "PFS", "TCC", "27 (90.0)"),
    ("T2", "Deaths, n (%)", "OS", "TCAC", "15 (50.0)"),
    ("T2", "Deaths, n (%)", "OS", "TCC", "22 (73.3)"),
    ("T2", "Follow-up, months, median (range)", None, "TOTAL", "14.5 (1.9, 45.9)"),
    ("T3", "Any TRAE", None, "TCAC.ANY", "30 (100.0)"),
    ("T3", "Any TRAE", None, "TCC.ANY", "30 (100.0)"),
    ("T3", "Any TRAE", None, "TCAC.HIGH", "12 (40.0)"),
    ("T3", "Any TRAE", None, "TCC.HIGH", "8 (26.7)"),
    ("T3", "Neutrophil count decreased", None, "TCAC.HIGH", "5 (16.7)"),
    ("T3", "White blood cell count decreased", None, "TCAC.HIGH", "4 (13.3)"),
    ("T3", "Platelet count decreased", None, "TCAC.HIGH", "3 (10.0)"),
    ("T3", "Lymphocyte count decreased", None, "TCAC.HIGH", "2 (6.7)"),
    ("T3", "Hypertension", None, "TCAC.HIGH", "2 (6.7)"),
    ("T3", "Rash", None, "TCAC.HIGH", "1 (3.3)"),
    ("T3", "Proteinuria", None, "TCAC.HIGH", "1 (3.3)"),
    ("T3", "Reactive cutaneous capillary endothelial proliferation", None, "TCAC.ANY", "6 (20.0)"),
    ("T3", "Reactive cutaneous capillary endothelial proliferation", None, "TCC.ANY", "20 (66.7)"),
]
EXACT_TEXT = [  # printed exactly as in the paper
    ("T2", "Hazard ratio TCAC vs TCC (95% CI)", "PFS", "CMP", "0.35 (0.19, 0.65)"),
    ("T2", "Hazard ratio TCAC vs TCC (95% CI)", "OS", "CMP", "0.75 (0.39, 1.43)"),
    ("T2", "Hazard ratio TCAC vs TCC (95% CI)", "DOR", "CMP", "0.37 (0.15, 0.91)"),
    ("T2", "Median, months (95% CI)", "PFS", "TCAC", "16.03 (9.49, 22.58)"),
    ("T2", "Median, months (95% CI)", "PFS", "TCC", "7.30 (4.08, 10.52)"),
    ("T2", "Median, months (95% CI)", "OS", "TCAC", "24.50 (12.43, 36.57)"),
    ("T2", "Median, months (95% CI)", "OS", "TCC", "17.97 (11.43, 24.50)"),
    ("T2", "Median, months (95% CI)", "DOR", "TCAC", "14.30 (10.03, 18.57)"),
    ("T2", "Median, months (95% CI)", "DOR", "TCC", "6.30 (4.00, 8.60)"),
    ("T2", "Log-rank p-value", "PFS", "CMP", "< 0.001"),
    ("T2", "Log-rank p-value", "OS", "CMP", "0.37"),
    ("T2", "Log-rank p-value", "DOR", "CMP", "0.009"),
    ("T5", "Treatment: TCAC vs TCC", None, "UNI.EST", "0.33 (0.18, 0.63)"),
    ("T5", "Treatment: TCAC vs TCC", None, "UNI.P", "< 0.001"),
]
# KM medians (months = days / 30, specs/study.yaml): the cell values behind the printed text
MEDIANS = [
    ("PFS", "TCAC", 481 / 30), ("PFS", "TCC", 219 / 30), ("OS", "TCAC", 735 / 30), ("OS", "TCC", 539 / 30),
    ("DOR", "TCAC", 429 / 30), ("DOR", "TCC", 189 / 30),
]


@pytest.mark.parametrize(("output", "row", "block", "column", "expected"), MATCHING + EXACT_TEXT)
def test_01_paper_cells(tables, output, row, block, column, expected) -> None:
    assert tables[output].cell(row, column, block_id=block).text == expected


@pytest.mark.parametrize(("block", "arm", "median"), MEDIANS)
def test_02_km_median_cells_are_whole_days_over_30(tables, block, arm, median) -> None:
    cell = tables["T2"].cell("Median, months (95% CI)", arm, block_id=block)
    assert cell.value("median") == pytest.approx(median, abs=1e-9)
    assert cell.text == f"{cell.value('median'):.2f} ({cell.value('lower'):.2f}, {cell.value('upper'):.2f})"


def test_03_logistic_orr_p_value_within_the_papers_tolerance(tables) -> None:
    p = tables["T4"].cell("Treatment: TCAC vs TCC", "UNI.P").value("p")
    assert abs(p - 0.001) <= 0.001  # paper: univariable P = 0.001 (tolerance 0.001)


def test_04_docx_and_xlsx_read_back_show_the_paper_cells(tables) -> None:
    t2 = tables["T2"]
    doc = Document(io.BytesIO(create_docx([t2], run_timestamp())))
    rows = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    orr = next(i for i, r in enumerate(rows) if r[0] == ORR)
    assert rows[orr][1:3] == ["27 (90.0)", "13 (43.3)"] and rows[orr][4] == "< 0.001"
    assert rows[orr + 1][1:3] == ["73.5, 97.9", "25.5, 62.6"]
    ws = load_workbook(io.BytesIO(create_xlsx([t2], run_timestamp())))["T2"]
    cells = [[ws.cell(row=r, column=c).value for c in range(1, 6)] for r in range(1, ws.max_row + 1)]
    orr = next(i for i, r in enumerate(cells) if r[0] == ORR)
    assert cells[orr][1:3] == ["27 (90.0)", "13 (43.3)"]
    assert cells[orr + 1][1:3] == ["73.5, 97.9", "25.5, 62.6"]


def test_05_baseline_cells_equal_adsl_counts(tables, adam) -> None:
    """Table 1 is the synthetic study's choice (not in the paper): its cells must equal ADSL."""
    adsl = adam["ADSL"]
    males = int((adsl["SEX"] == "M").sum())
    assert tables["T1"].cell("Male", "TOTAL").text == f"{males} ({100 * males / len(adsl):.1f})"
    for arm in ("TCAC", "TCC"):
        sub = adsl[adsl["TRT01P"] == arm]
        n = int((sub["SEX"] == "M").sum())
        assert tables["T1"].cell("Male", arm).text == f"{n} ({100 * n / len(sub):.1f})"
