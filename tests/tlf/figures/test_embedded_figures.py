"""Embedded study: KM annotations print the Table 2 cells (one computation, two displays).

Runs only when the ADaM stage has written adam/*.xpt in the repository's study folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not (ROOT / "adam" / "adtte.xpt").is_file(), reason="run the ADaM stage first")


@pytest.fixture(scope="module")
def embedded():
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.spec.study import load_study
    from tlfgen.tlf import run as tlf_run
    from tlfgen.tlf.figures.run import build_figures, needed_datasets, read_adam
    from tlfgen.tlf.figures.spec import load_figure_specs

    study = load_study(ROOT)
    specs = load_stage_specs(study, "tlf")
    tables = tlf_run.build_outputs(study, specs, tlf_run.read_adam(study.adam_dir, tlf_run.needed_datasets(specs)))
    t2 = next(t for t in tables if t.id == "T2")
    figures = [f for f in load_figure_specs(study) if f.spec.kind == "km"]
    datasets = read_adam(study.adam_dir, needed_datasets(figures))
    arms = [(a.armcd, a.arm) for a in study.spec.study.arms]
    return t2, {r.id: r for r in build_figures(figures, datasets, arms, analyses=t2)}


def _cell(t2, block: str, label_start: str, column: str) -> str:
    index = [c.key for c in t2.columns].index(column)
    row = next(r for r in t2.rows if r.block_id == block and r.kind == "data" and r.label.startswith(label_start))
    return row.cells[index].text


# 1. each KM annotation line is the Table 2 cell text of the same block
@pytest.mark.parametrize(("figure_id", "block"), [("F1", "PFS"), ("F2", "OS"), ("F3", "DOR")])
def test_annotation_equals_table2_cells(embedded, figure_id, block):
    t2, figures = embedded
    lines = figures[figure_id].data["annotation"]
    assert lines[0] == f"TCAC: median {_cell(t2, block, 'Median', 'TCAC')} months"
    assert lines[1] == f"TCC: median {_cell(t2, block, 'Median', 'TCC')} months"
    assert lines[2] == f"HR TCAC vs TCC: {_cell(t2, block, 'Hazard ratio', 'CMP')}"
    p = _cell(t2, block, "Log-rank", "CMP")
    assert lines[3] == (f"Log-rank p {p}" if p.startswith("<") else f"Log-rank p = {p}")


# 2. the PFS curves start with every FAS subject at risk (30 per arm)
def test_pfs_at_risk_at_zero(embedded):
    _, figures = embedded
    at_risk = figures["F1"].data["at_risk"]
    assert (at_risk["TCAC"][0], at_risk["TCC"][0]) == ((0.0, 30), (0.0, 30))
