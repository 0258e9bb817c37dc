"""Embedded study: KM annotations print the Table 2 cells (one computation, two displays).

Runs on the study the session fixture ``embedded_run`` builds from the committed raw/.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def embedded(embedded_run):
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf import run as tlf_run
    from tlfgen.tlf.figures.run import build_figures, needed_datasets, read_adam
    from tlfgen.tlf.figures.spec import load_figure_specs

    study, _ = embedded_run
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


# 3. the PFS annotation shows the paper's figures, exactly as the paper prints them
def test_pfs_annotation_shows_the_papers_figures(embedded):
    _, figures = embedded
    lines = figures["F1"].data["annotation"]
    assert lines[0] == "TCAC: median 16.03 (9.49, 22.58) months"
    assert lines[1] == "TCC: median 7.30 (4.08, 10.52) months"
    assert lines[2] == "HR TCAC vs TCC: 0.35 (0.19, 0.65)"
    assert lines[3] == "Log-rank p < 0.001"
