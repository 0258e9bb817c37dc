"""Tests of tlfgen.tlf.figures.swimmer: lanes and event markers as drawn (months = (days + 1) / 30.4375)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.spec.expr import parse_expression
from tlfgen.tlf.figures.spec import SwimmerFigure
from tlfgen.tlf.figures.style import render_png, render_svg
from tlfgen.tlf.figures.swimmer import MAX_HEIGHT, as_dates, create_swimmer_figure

FAS = parse_expression("FASFL == 'Y'")
M = 30.4375


def sw_spec(**kw) -> SwimmerFigure:
    return SwimmerFigure(**{"id": "F6", "kind": "swimmer", "title": "Swimmer", **kw})


def draw(fig_adam, arms):
    return create_swimmer_figure(sw_spec(), fig_adam["ADSL"], fig_adam["ADRS"], fig_adam["ADTTE"], arms,
                                 population=FAS)


# 1. lanes grouped by arm, longest time on study first; S08 (no first dose) left out
def test_lane_order(fig_adam, arms):
    drawn = draw(fig_adam, arms)
    assert drawn.data["order"] == ["S01", "S04", "S03", "S02", "S06", "S07", "S05"]
    assert drawn.data["left_out"] == ["S08"]


# 2. treatment bar to TRTEDT, lane to the later of last alive and death
def test_lane_lengths(fig_adam, arms):
    lanes = draw(fig_adam, arms).data["lanes"]
    assert lanes["S01"]["treatment_end"] == pytest.approx(182 / M)  # 2020-01-01 .. 2020-06-30
    assert lanes["S01"]["study_end"] == pytest.approx(376 / M)  # .. 2021-01-10
    assert lanes["S03"]["study_end"] == pytest.approx(219 / M)  # death 2020-08-20


# 3. markers: first response, progression (not death), surgery, death, ongoing
def test_markers(fig_adam, arms):
    markers = draw(fig_adam, arms).data["markers"]
    assert markers["response"] == [("S01", pytest.approx(43 / M)), ("S02", pytest.approx(61 / M)),
                                   ("S06", pytest.approx(42 / M))]
    assert markers["progression"] == [("S01", pytest.approx(61 / M)), ("S06", pytest.approx(85 / M)),
                                      ("S05", pytest.approx(31 / M))]
    assert markers["surgery"] == [("S02", pytest.approx(105 / M))]
    assert markers["death"] == [("S03", pytest.approx(219 / M)), ("S06", pytest.approx(265 / M))]
    assert markers["ongoing"] == [("S04", pytest.approx(306 / M))]


# 4. dates from XPT as SAS day numbers are read as dates
def test_as_dates_from_sas_days():
    out = as_dates(pd.Series([0.0, 21915.0, None]), "ADSL", "TRTSDT")
    assert out.tolist()[:2] == [pd.Timestamp("1960-01-01"), pd.Timestamp("2020-01-01")]
    assert pd.isna(out.iloc[2])


# 5. text that is not a date is a DataError naming dataset and column
def test_bad_date_text():
    with pytest.raises(DataError, match="ADSL.DTHDT has a value that is not a date: 'soon'"):
        as_dates(pd.Series(["2020-01-01", "soon"]), "ADSL", "DTHDT")


def many_subjects(n: int) -> dict[str, pd.DataFrame]:
    """``n`` treated subjects alternating between the arms, lane i ending 30 + i days after the treatment end."""
    ids = [f"M{i:04d}" for i in range(n)]
    start = pd.Timestamp("2020-01-01")
    adsl = pd.DataFrame({
        "USUBJID": ids, "TRT01P": ["TCAC", "TCC"] * (n // 2), "FASFL": "Y", "EOTSTT": "DISCONTINUED",
        "TRTSDT": start, "TRTEDT": start + pd.Timedelta(days=30),
        "LSTALVDT": start + pd.to_timedelta(np.arange(n) + 31, unit="D"), "DTHDT": pd.NaT, "SURGDT": pd.NaT,
    })
    adrs = pd.DataFrame({"USUBJID": ids[:1], "PARAMCD": "OVR", "AVALC": "PR", "ADT": start})
    adtte = pd.DataFrame({"USUBJID": ids[:1], "PARAMCD": "PFS", "CNSR": 1.0, "ADT": start})
    return {"ADSL": adsl, "ADRS": adrs, "ADTTE": adtte}


# 6. each arm's treatment and follow-up bars are one artist each, whatever the number of subjects
def test_one_artist_per_arm_and_bar_kind(fig_adam, arms):
    drawn = draw(fig_adam, arms)
    gids = sorted(p.get_gid() for p in drawn.figure.axes[0].patches if (p.get_gid() or "").startswith("sw-"))
    assert gids == ["sw-follow:TCAC", "sw-follow:TCC", "sw-treat:TCAC", "sw-treat:TCC"]


# 7. up to ~110 lanes the figure grows; beyond, its height is capped, the lanes thin and a footnote says so
def test_height_capped_for_many_subjects(arms):
    few = many_subjects(40)
    small = create_swimmer_figure(sw_spec(), few["ADSL"], few["ADRS"], few["ADTTE"], arms, population=FAS)
    assert small.figure.get_size_inches().tolist() == [9.0, 6.0] and "method_notes" not in small.data
    many = many_subjects(600)
    big = create_swimmer_figure(sw_spec(), many["ADSL"], many["ADRS"], many["ADTTE"], arms, population=FAS)
    assert big.figure.get_size_inches().tolist() == [9.0, MAX_HEIGHT]
    assert big.data["method_notes"] == [
        "600 subjects: the figure height is capped at 11 in, so each lane is 0.79 pt high and the markers "
        "of neighbouring lanes overlap."]
    assert len(big.data["order"]) == 600
    assert big.data["lanes"]["M0599"]["study_end"] == pytest.approx(631 / M)  # 2020-01-01 .. day 630


# 8. the same data give the same PNG and SVG bytes
def test_same_bytes(fig_adam, arms):
    first, second = draw(fig_adam, arms).figure, draw(fig_adam, arms).figure
    assert render_png(first) == render_png(second)
    assert render_svg(first) == render_svg(second)


# 8. a lane ends at conversion surgery, where PFS/OS censor: S02 followed up and dead after surgery
def test_lane_stops_at_surgery_censoring(fig_adam, arms):
    adsl = fig_adam["ADSL"].copy()
    s02 = adsl["USUBJID"] == "S02"
    adsl.loc[s02, "LSTALVDT"] = pd.Timestamp("2020-09-01")
    adsl.loc[s02, "DTHDT"] = pd.Timestamp("2020-10-01")
    censored = create_swimmer_figure(sw_spec(), adsl, fig_adam["ADRS"], fig_adam["ADTTE"], arms, population=FAS).data
    assert censored["lanes"]["S02"]["study_end"] == pytest.approx(105 / M)  # 2020-02-01 .. surgery 2020-05-15
    assert ("S02", pytest.approx(105 / M)) in censored["markers"]["surgery"]
    assert "S02" not in [s for s, _ in censored["markers"]["death"]]  # after the censoring: not drawn
    full = create_swimmer_figure(sw_spec(censor_at_surgery=False), adsl, fig_adam["ADRS"], fig_adam["ADTTE"], arms,
                                 population=FAS).data
    assert full["lanes"]["S02"]["study_end"] == pytest.approx(244 / M)  # .. death 2020-10-01
    assert ("S02", pytest.approx(244 / M)) in full["markers"]["death"]
