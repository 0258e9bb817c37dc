"""Tests of tlfgen.tlf.figures.forest: rows, counts and hazard ratios as drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.spec.expr import parse_expression
from tlfgen.stats.formatting import fmt_estimate_ci
from tlfgen.stats.survival import logrank_hr
from tlfgen.tlf.figures.forest import create_forest_figure, level_mask
from tlfgen.tlf.figures.spec import ForestFigure

FAS = parse_expression("FASFL == 'Y'")


def forest_spec(**kw) -> ForestFigure:
    return ForestFigure(**{
        "id": "F4", "kind": "forest", "title": "Forest",
        "subgroups": [
            {"variable": "SEX", "label": "Sex", "levels": [{"value": "M", "label": "Male"},
                                                           {"value": "F", "label": "Female"}]},
            {"variable": "ECOGBL", "label": "ECOG", "levels": [{"value": 0}, {"value": 1}]},
        ], **kw})


def hr_of(time, event, group) -> tuple[float, float, float]:
    res = logrank_hr(np.array(time), np.array(event), np.array(group, dtype=object), treatment="TCAC",
                     reference="TCC")
    return res.hr, res.lower, res.upper


# 1. rows in order: overall, then each subgroup header and level
def test_row_order_and_labels(fig_adam, arms):
    drawn = create_forest_figure(forest_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert [r["label"] for r in drawn.data["rows"]] == ["Overall", "Sex", "Male", "Female", "ECOG", "0", "1"]


# 2. events/n per arm as printed
def test_counts_per_arm(fig_adam, arms):
    drawn = create_forest_figure(forest_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    counts = {r["key"]: r["counts"] for r in drawn.data["rows"]}
    assert counts["OVERALL"] == {"TCAC": "2/4", "TCC": "3/4"}
    assert counts["SEX=M"] == {"TCAC": "2/2", "TCC": "2/2"}
    assert counts["SEX=F"] == {"TCAC": "0/2", "TCC": "1/2"}
    assert counts["ECOGBL=0"] == {"TCAC": "2/2", "TCC": "1/2"}
    assert counts["SEX"] == {}


# 3. the plotted point and CI equal the log-rank HR of the row's subjects; text is the formatted HR
def test_hr_points_equal_logrank_hr(fig_adam, arms):
    drawn = create_forest_figure(forest_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    rows = {r["key"]: r for r in drawn.data["rows"]}
    overall = hr_of([2, 4, 6, 8, 1, 3, 5, 7], [1, 0, 1, 0, 1, 1, 0, 1], ["TCAC"] * 4 + ["TCC"] * 4)
    assert rows["OVERALL"]["hr"] == pytest.approx(overall[0], rel=1e-12)
    assert rows["OVERALL"]["ci"] == pytest.approx(overall[1:], rel=1e-12)
    assert rows["OVERALL"]["hr_text"] == fmt_estimate_ci(*overall, 2)
    male = hr_of([2, 6, 1, 3], [1, 1, 1, 1], ["TCAC", "TCAC", "TCC", "TCC"])
    assert rows["SEX=M"]["hr"] == pytest.approx(male[0], rel=1e-12)


# 4. a subgroup where an arm has no event prints NE and draws nothing
def test_not_estimable_row(fig_adam, arms):
    drawn = create_forest_figure(forest_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    female = next(r for r in drawn.data["rows"] if r["key"] == "SEX=F")
    assert female["hr_text"] == "NE"
    assert "hr" not in female and "ci" not in female


# 5. the x axis is logarithmic
def test_log_axis(fig_adam, arms):
    drawn = create_forest_figure(forest_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert drawn.figure.axes[0].get_xscale() == "log"


# 6. numeric levels match numeric columns; text levels are compared stripped
def test_level_mask():
    assert level_mask(pd.Series([0.0, 1.0, None]), 1).tolist() == [False, True, False]
    assert level_mask(pd.Series([" M", "F"]), "M").tolist() == [True, False]


# 7. a subgroup variable missing from ADSL is a DataError naming it
def test_missing_subgroup_variable(fig_adam, arms):
    spec = forest_spec(subgroups=[{"variable": "STAGE", "label": "Stage", "levels": [{"value": "IV"}]}])
    with pytest.raises(DataError, match="ADSL has no column STAGE"):
        create_forest_figure(spec, fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)


# 6. a CI running past the axis is drawn to the axis limit and ends in an arrow there
def test_ci_beyond_axis_gets_an_arrow(fig_adam, arms):
    import math

    hr, lo, hi = hr_of([2, 4, 6, 8, 1, 3, 5, 7], [1, 0, 1, 0, 1, 1, 0, 1], ["TCAC"] * 4 + ["TCC"] * 4)
    limits = (math.sqrt(lo * hr), math.sqrt(hr * hi))  # both CI ends outside, the point inside
    drawn = create_forest_figure(forest_spec(x_limits=limits), fig_adam["ADSL"], fig_adam["ADTTE"], arms,
                                 population=FAS)
    overall = next(r for r in drawn.data["rows"] if r["key"] == "OVERALL")
    assert overall["ci"] == pytest.approx(limits, rel=1e-12)
    assert overall["arrows"] == [("left", pytest.approx(limits[0])), ("right", pytest.approx(limits[1]))]
    assert overall["hr_text"] == fmt_estimate_ci(hr, lo, hi, 2)  # the text keeps the real limits
    inside = create_forest_figure(forest_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert "arrows" not in next(r for r in inside.data["rows"] if r["key"] == "OVERALL")
