"""Tests of tlfgen.tlf.figures.waterfall: bar heights, order, colours and reference lines as drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from tlfgen.errors import DataError
from tlfgen.spec.expr import parse_expression
from tlfgen.tlf.figures.spec import WaterfallFigure
from tlfgen.tlf.figures.style import RESPONSE_STYLES, render_png, render_svg
from tlfgen.tlf.figures.waterfall import create_waterfall_figure

FAS = parse_expression("FASFL == 'Y'")


def wf_spec(**kw) -> WaterfallFigure:
    return WaterfallFigure(**{"id": "F5", "kind": "waterfall", "title": "Waterfall", **kw})


# 1. bar values (read from the Rectangle patches) equal ADRS BESTPCHG AVAL, sorted per arm, largest first
def test_bar_heights_equal_adrs(fig_adam, arms):
    drawn = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    assert [(b["USUBJID"], b["value"]) for b in drawn.data["bars"]] == [
        ("S03", 10.0), ("S02", -35.5), ("S01", -60.0),
        ("S05", 25.0), ("S07", 0.0), ("S06", -40.0), ("S08", -100.0),
    ]
    assert [b["height"] for b in drawn.data["bars"] if b["USUBJID"] != "S07"] == [10.0, -35.5, -60.0, 25.0, -40.0, -100.0]


# 1b. a best change of 0.0% (S07) still draws a bar: a thin one across the zero line, 1.2% of the y axis
def test_zero_change_draws_a_visible_bar(fig_adam, arms):
    drawn = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    assert len(drawn.data["bars"]) == 7  # one per subject with a value, the 0.0% one included
    s07 = next(b for b in drawn.data["bars"] if b["USUBJID"] == "S07")
    low, high = drawn.figure.axes[0].get_ylim()
    # y axis: -100 .. +25 padded by 8% of the range each side: 125 x 1.16 = 145; 1.2% of it = 1.74
    assert (high - low) == pytest.approx(145.0)
    assert s07["height"] == pytest.approx(1.74)
    assert drawn.data["method_notes"] == [
        "1 subject(s) with a best change of 0.0%: drawn as a thin bar across the zero line."]


# 2. subjects without BESTPCHG (S04) are left out and listed; S09 (not FAS) is not drawn
def test_left_out(fig_adam, arms):
    drawn = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    assert drawn.data["left_out"] == ["S04"]
    assert "S09" not in [b["USUBJID"] for b in drawn.data["bars"]]


# 3. colour and hatch follow the best overall response
def test_bar_colour_by_bor(fig_adam, arms):
    drawn = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    bars = {b["USUBJID"]: b for b in drawn.data["bars"]}
    assert bars["S08"]["facecolor"] == to_rgba(RESPONSE_STYLES["CR"][0])
    assert bars["S05"]["facecolor"] == to_rgba(RESPONSE_STYLES["PD"][0])
    assert (bars["S01"]["hatch"], bars["S03"]["hatch"]) == (RESPONSE_STYLES["PR"][1], RESPONSE_STYLES["SD"][1])


# 4. reference lines at -30% and +20%
def test_reference_lines(fig_adam, arms):
    drawn = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    assert drawn.data["reference_lines"] == [-30.0, 20.0]


# 5. one panel per arm, or a single panel
def test_panels(fig_adam, arms):
    two = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    one = create_waterfall_figure(wf_spec(by_arm=False), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    assert (len(two.figure.axes), len(one.figure.axes)) == (2, 1)
    assert [b["USUBJID"] for b in one.data["bars"]][:3] == ["S03", "S02", "S01"]


# 6. no BESTPCHG at all gives the placeholder, naming the parameter
def test_no_values(fig_adam, arms):
    adrs = fig_adam["ADRS"][fig_adam["ADRS"]["PARAMCD"] != "BESTPCHG"]
    drawn = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], adrs, arms, population=FAS)
    assert drawn.data["placeholder"] == "no ADRS PARAMCD BESTPCHG values in the population"


def many_bars(n: int) -> dict[str, pd.DataFrame]:
    ids = [f"M{i:04d}" for i in range(n)]
    adsl = pd.DataFrame({"USUBJID": ids, "TRT01P": ["TCAC", "TCC"] * (n // 2), "FASFL": "Y"})
    best = pd.DataFrame({"USUBJID": ids, "PARAMCD": "BESTPCHG", "AVAL": np.linspace(-100.0, 50.0, n), "AVALC": ""})
    bor = pd.DataFrame({"USUBJID": ids, "PARAMCD": "BOR", "AVAL": np.nan, "AVALC": ["PR", "PR", "SD", "SD"] * (n // 4)})
    return {"ADSL": adsl, "ADRS": pd.concat([best, bor], ignore_index=True)}


# 7. the bars of one response category in one panel are one artist; few bars keep their outlines
def test_one_artist_per_category(fig_adam, arms):
    drawn = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS)
    patches = {p.get_gid(): p for ax in drawn.figure.axes for p in ax.patches if (p.get_gid() or "").startswith("wf-")}
    assert sorted(patches) == ["wf-bar:0:PR", "wf-bar:0:SD", "wf-bar:1:CR", "wf-bar:1:PD", "wf-bar:1:PR",
                               "wf-bar:1:SD"]
    assert patches["wf-bar:0:PR"].get_linewidth() == 0.4
    assert not any("side by side" in note for note in drawn.data["method_notes"])  # bars keep their outlines


# 8. bars with less than 3 pt of room are drawn touching, without outlines, and a footnote says so
def test_narrow_bars(arms):
    data = many_bars(1000)
    drawn = create_waterfall_figure(wf_spec(), data["ADSL"], data["ADRS"], arms, population=FAS)
    assert len(drawn.data["bars"]) == 1000
    bars = [p for ax in drawn.figure.axes for p in ax.patches if (p.get_gid() or "").startswith("wf-bar")]
    assert len(bars) == 4 and all(p.get_linewidth() == 0.0 for p in bars)
    assert drawn.data["bars"][0]["x"] == -0.5 and drawn.data["bars"][1]["x"] == 0.5
    assert drawn.data["method_notes"][-1:] == [
        "1000 subjects: each bar has less than 3 pt of room, so the bars are drawn side by side without outlines."]


# 9. the same data give the same PNG and SVG bytes
def test_same_bytes(fig_adam, arms):
    first = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS).figure
    second = create_waterfall_figure(wf_spec(), fig_adam["ADSL"], fig_adam["ADRS"], arms, population=FAS).figure
    assert render_png(first) == render_png(second)
    assert render_svg(first) == render_svg(second)
