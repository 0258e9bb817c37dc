"""Tests of tlfgen.tlf.figures.spec: loading specs/tlf/figures.yaml, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlfgen.errors import ExpressionError, SpecError, SpecErrors
from tlfgen.tlf.figures.spec import ConsortFigure, KmFigure, load_figures_file

REPO_SPEC = Path(__file__).resolve().parents[3] / "specs" / "tlf" / "figures.yaml"


# 1. the embedded study's figures spec loads; figures sorted by order
def test_embedded_spec_loads():
    loaded = load_figures_file(REPO_SPEC, ["TCAC", "TCC"])
    assert [f.id for f in loaded] == ["F1", "F2", "F3", "F4", "F5", "F6", "F7"]
    assert [f.spec.kind for f in loaded] == ["km", "km", "km", "forest", "waterfall", "swimmer", "consort"]
    km = loaded[0].spec
    assert isinstance(km, KmFigure) and (km.param, km.median_ci, km.hr) == ("PFS", "symmetric", "logrank")


# 2. defaults: FAS population for KM, every ADSL subject for the CONSORT flow
def test_population_defaults(load_figs):
    km, flow = load_figs("""
type: figures
figures:
  - {id: A, kind: km, title: t, param: PFS}
  - id: B
    kind: consort
    title: t
    arm_boxes: [{label: x, filter: "SAFFL == 'Y'"}]
    analysis_boxes: [{label: y, filter: "FASFL == 'Y'"}]
""")
    assert km.filters["population"].text == "FASFL == 'Y'"
    assert isinstance(flow.spec, ConsortFigure) and "population" not in flow.filters
    assert flow.filters["arm_boxes[0]"].text == "SAFFL == 'Y'"


# 3. an unknown key names file, line and the closest valid key
def test_unknown_key(load_figs):
    with pytest.raises(SpecError) as info:
        load_figs("type: figures\nfigures:\n  - {id: A, kind: km, title: t, param: PFS, tick_stp: 3}\n")
    assert str(info.value) == (
        "figures.yaml:3:45: unknown key 'tick_stp' (at figures[0].tick_stp)\n  hint: did you mean 'tick_step'?")


# 4. an unknown kind is refused
def test_unknown_kind(load_figs):
    with pytest.raises(SpecError, match="figures.yaml:3"):
        load_figs("type: figures\nfigures:\n  - {id: A, kind: pie, title: t}\n")


# 5. a duplicate id and an unknown arm are both reported
def test_duplicate_id_and_unknown_arm(load_figs):
    with pytest.raises(SpecErrors) as info:
        load_figs("type: figures\nfigures:\n  - {id: A, kind: km, title: t, param: PFS}\n"
                  "  - {id: A, kind: km, title: t, param: OS}\n"
                  "  - {id: B, kind: km, title: t, param: OS, treatment: XYZ}\n")
    messages = [e.message for e in info.value.errors]
    assert messages == ["figure id A is used twice (first at figures[0])",
                        "figure B: treatment 'XYZ' is not an arm of the study"]
    assert info.value.errors[0].location.line == 4


# 6. a bad filter fails at load time with its line
def test_bad_filter(load_figs):
    with pytest.raises(ExpressionError) as info:
        load_figs("type: figures\nfigures:\n  - id: A\n    kind: km\n    title: t\n    param: PFS\n"
                  "    population: {filter: \"__import__('os')\"}\n")
    assert info.value.location.line == 7


# 7. the file must say type: figures
def test_type_required(load_figs):
    with pytest.raises(SpecError, match="type"):
        load_figs("type: table\nfigures:\n  - {id: A, kind: km, title: t, param: PFS}\n")
