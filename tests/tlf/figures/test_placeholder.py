"""Tests of tlfgen.tlf.figures.placeholder: a figure with nothing to plot is drawn as a placeholder
whose text and footnote say what is missing, instead of stopping the TLF stage."""

from __future__ import annotations

import pandas as pd

from tlfgen.tlf.figures.placeholder import NO_DATA
from tlfgen.tlf.figures.km import create_km_figure
from tlfgen.tlf.figures.run import build_figures, figure_arms

SPEC = """
type: figures
figures:
  - {id: F1, kind: km, order: 1, title: DOR, param: DOR, footnotes: [Responders only.]}
  - id: F2
    kind: forest
    order: 2
    title: Forest
    param: DOR
    subgroups: [{variable: SEX, label: Sex, levels: [{value: M}, {value: F}]}]
  - {id: F3, kind: waterfall, order: 3, title: Waterfall}
  - {id: F4, kind: swimmer, order: 4, title: Swimmer}
"""


def _texts(figure) -> list[str]:
    return [t.get_text() for ax in figure.axes for t in ax.texts]


def _empty(fig_adam: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """No responder (no DOR), no best percentage change, no first dose."""
    adtte, adrs, adsl = fig_adam["ADTTE"], fig_adam["ADRS"], fig_adam["ADSL"].copy()
    adsl["TRTSDT"] = pd.NaT
    return {"ADSL": adsl, "ADTTE": adtte[adtte["PARAMCD"] != "DOR"],
            "ADRS": adrs[adrs["PARAMCD"] != "BESTPCHG"]}


# 1. every kind with nothing to plot: the files exist, the footnote names what is missing
def test_each_kind_gives_a_placeholder_with_its_reason(fig_adam, study_arms, load_figs, tmp_path):
    results = build_figures(load_figs(SPEC), _empty(fig_adam), study_arms, out_dir=tmp_path)
    reasons = {r.id: r.data["placeholder"] for r in results}
    assert reasons == {
        "F1": "no ADTTE records with PARAMCD DOR in the population",
        "F2": "no ADTTE records with PARAMCD DOR in the population",
        "F3": "no ADRS PARAMCD BESTPCHG values in the population",
        "F4": "no treated subjects (ADSL.TRTSDT) in the population",
    }
    for r in results:
        assert r.png.is_file() and r.svg.is_file()
        assert r.footnotes[-1] == f"No data to display: {r.data['placeholder']}."
    assert results[0].footnotes[0] == "Responders only."  # the spec's own footnotes stay first


# 2. the drawing says it too, at the spec's size, with no axes
def test_placeholder_drawing(fig_adam, study_arms, load_figs):
    loaded = load_figs(SPEC)[0]
    empty = _empty(fig_adam)
    drawn = create_km_figure(loaded.spec, empty["ADSL"], empty["ADTTE"], figure_arms(loaded, study_arms))
    assert _texts(drawn.figure) == [NO_DATA, "no ADTTE records with PARAMCD DOR in the population"]
    assert tuple(drawn.figure.get_size_inches()) == (loaded.spec.width, loaded.spec.height)
    assert not any(ax.axison for ax in drawn.figure.axes)
