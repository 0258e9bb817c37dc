"""A rate block with ``difference: true``: the difference of proportions row (Newcombe hybrid score CI).

ORR 27/30 vs 13/30 (tlf_helpers.make_adam): difference 46.67%; Newcombe (1998) method 10 gives
23.23% to 63.91% (statsmodels confint_proportions_2indep(method='newcomb') agrees to 1e-12).
"""

from __future__ import annotations

import re

from tlf_helpers import REPO, write_spec
from tlfgen.spec.tlf import load_tlf_specs
from tlfgen.tlf.tables import create_table


def test_difference_row_with_newcombe_ci(study, adam) -> None:
    text = (REPO / "specs" / "tlf" / "T2.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(    id: ORR\n(?:    .*\n)*?    test: cochran\n)", r"\1    difference: true\n", text)
    assert n == 1
    write_spec(study.specs_dir.parent, "T2.yaml", text)
    specs = load_tlf_specs(study)
    t2 = create_table(next(o for o in specs.outputs if o.id == "T2"), study, adam, specs.templates)
    row = next(r for r in t2.rows if r.label.startswith("Difference"))
    assert row.label == "Difference TCAC - TCC, % (95% CI)"
    cell = t2.cell(row.label, "CMP", block_id="ORR")
    assert cell.text == "46.7 (23.2, 63.9)"
    values = dict(cell.values)
    assert abs(values["difference"] - 100 * 14 / 30) < 1e-9
    assert abs(values["lower"] - 23.2317195133) < 1e-8 and abs(values["upper"] - 63.9108199703) < 1e-8
    analysis = next(a for a in t2.analyses if a.id == cell.analysis_id)
    assert "Newcombe" in analysis.method
