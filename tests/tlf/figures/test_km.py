"""Tests of tlfgen.tlf.figures.km: drawn KM steps, censor marks, at-risk numbers and annotation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlfgen.errors import DataError
from tlfgen.spec.expr import parse_expression
from tlfgen.stats.formatting import fmt_estimate_ci, fmt_p
from tlfgen.stats.survival import km_median_ci, logrank_hr, logrank_test
from tlfgen.tlf.figures.km import (
    KmAnalysis, compute_ticks, create_km_figure, format_annotation, km_analyses_from_table,
)
from tlfgen.tlf.figures.spec import KmFigure
from tlfgen.tlf.model import Analysis, Cell, Column, Row, Table

FAS = parse_expression("FASFL == 'Y'")


def km_spec(**kw) -> KmFigure:
    return KmFigure(**{"id": "F1", "kind": "km", "title": "KM", "param": "PFS", "tick_step": 3.0, **kw})


# 1. step coordinates read from the drawn Line2D equal the KM estimates (S09, not in the FAS, is left out)
def test_steps_equal_km_estimates(fig_adam, arms):
    drawn = create_km_figure(km_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert drawn.data["steps"]["TCAC"] == [(0.0, 1.0), (2.0, 0.75), (4.0, 0.75), (6.0, 0.375), (8.0, 0.375)]
    assert drawn.data["steps"]["TCC"] == [(0.0, 1.0), (1.0, 0.75), (3.0, 0.5), (5.0, 0.5), (7.0, 0.0)]
    assert drawn.figure.axes[0].get_lines()[0].get_drawstyle() == "steps-post"


# 2. censor marks sit at the censored times on the curve
def test_censor_marks(fig_adam, arms):
    drawn = create_km_figure(km_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert drawn.data["censors"] == {"TCAC": [(4.0, 0.75), (8.0, 0.375)], "TCC": [(5.0, 0.5)]}


# 3. at-risk numbers are the counts with time >= tick, placed at the x ticks
def test_at_risk_numbers_at_ticks(fig_adam, arms):
    drawn = create_km_figure(km_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert drawn.data["at_risk"] == {
        "TCAC": [(0.0, 4), (3.0, 3), (6.0, 2), (9.0, 0)],
        "TCC": [(0.0, 4), (3.0, 3), (6.0, 1), (9.0, 0)],
    }
    assert list(drawn.figure.axes[0].get_xticks()) == [0.0, 3.0, 6.0, 9.0]


# 4. without precomputed analyses, the annotation prints the tlfgen.stats results
def test_annotation_equals_stats_results(fig_adam, arms):
    drawn = create_km_figure(km_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    t_a, e_a = np.array([2.0, 4.0, 6.0, 8.0]), np.array([1.0, 0.0, 1.0, 0.0])
    t_b, e_b = np.array([1.0, 3.0, 5.0, 7.0]), np.array([1.0, 1.0, 0.0, 1.0])
    med_a, med_b = km_median_ci(t_a, e_a, method="symmetric"), km_median_ci(t_b, e_b, method="symmetric")
    group = np.array(["TCAC"] * 4 + ["TCC"] * 4, dtype=object)
    hr = logrank_hr(np.r_[t_a, t_b], np.r_[e_a, e_b], group, treatment="TCAC", reference="TCC")
    p = logrank_test(np.r_[t_a, t_b], np.r_[e_a, e_b], group).p
    assert (med_a.median, med_b.median) == (6.0, 5.0)
    assert drawn.data["annotation"] == [
        f"TCAC: median {fmt_estimate_ci(med_a.median, med_a.lower, med_a.upper, 2)} months",
        f"TCC: median {fmt_estimate_ci(med_b.median, med_b.lower, med_b.upper, 2)} months",
        f"HR TCAC vs TCC: {fmt_estimate_ci(hr.hr, hr.lower, hr.upper, 2)}",
        f"Log-rank p = {fmt_p(p)}",
    ]


# 5. precomputed analyses (one computation, two displays) are printed as given; the curves still come from data
def test_annotation_uses_given_analysis(fig_adam, arms):
    given = KmAnalysis({"TCAC": (16.03, 9.49, 22.58), "TCC": (7.30, 4.08, 10.52)}, (0.35, 0.19, 0.65), 0.0004)
    drawn = create_km_figure(km_spec(), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS, analysis=given)
    assert drawn.data["annotation"] == [
        "TCAC: median 16.03 (9.49, 22.58) months",
        "TCC: median 7.30 (4.08, 10.52) months",
        "HR TCAC vs TCC: 0.35 (0.19, 0.65)",
        "Log-rank p < 0.001",
    ]
    assert drawn.data["median_lines"]["TCAC"] == [(0.0, 0.5), (16.03, 0.5), (16.03, 0.0)]
    assert drawn.data["steps"]["TCAC"][1] == (2.0, 0.75)


# 6. KM results read from a Table 2 model: the cells' raw values and methods
def test_km_analyses_from_table():
    cols = (Column("TCAC", "TCAC", 30), Column("TCC", "TCC", 30), Column("CMP", "HR", kind="comparison"))
    med = Row("Median, months (95% CI)", (
        Cell("16.03 (9.49, 22.58)", "T2.PFS.TCAC.MEDIAN", (("median", 16.03), ("lower", 9.49), ("upper", 22.58))),
        Cell("7.30 (4.08, 10.52)", "T2.PFS.TCC.MEDIAN", (("median", 7.3), ("lower", 4.08), ("upper", 10.52))),
        Cell("")), block_id="PFS")
    hr = Row("Hazard ratio", (Cell(""), Cell(""), Cell("0.35 (0.19, 0.65)", "T2.PFS.HR",
                                                         (("hr", 0.35), ("lower", 0.19), ("upper", 0.65)))),
             block_id="PFS")
    p = Row("Log-rank p-value", (Cell(""), Cell(""), Cell("< 0.001", "T2.PFS.LOGRANK", (("p", 0.0002),))),
            block_id="PFS")
    orr = Row("ORR", (Cell("27 (90.0)", "T2.ORR.TCAC", (("n", 27),)), Cell(""), Cell("")), block_id="ORR")
    table = Table("T2", "table", ("Table 2",), "", cols, (med, hr, p, orr),
                  analyses=(Analysis("T2.PFS.HR", "hr", method="log-rank O/E"),))
    found = km_analyses_from_table(table)
    assert list(found) == ["PFS"]
    assert found["PFS"].medians == {"TCAC": (16.03, 9.49, 22.58), "TCC": (7.3, 4.08, 10.52)}
    assert (found["PFS"].hr, found["PFS"].p) == ((0.35, 0.19, 0.65), 0.0002)
    assert found["PFS"].methods["hr"] == "log-rank O/E"


# 7. no events in the treatment arm: no HR / p lines, NE median
def test_no_hr_when_an_arm_has_no_event(fig_adam, arms):
    drawn = create_km_figure(km_spec(param="DOR"), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert drawn.data["annotation"][0] == "TCAC: median NE (NE, NE) months"
    assert len(drawn.data["annotation"]) == 2
    assert "TCAC" not in drawn.data["median_lines"]


# 8. CI bands come from km_at (log-log) at the step times
def test_ci_bands_drawn(fig_adam, arms):
    drawn = create_km_figure(km_spec(ci_bands=True), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    xs = sorted({x for x, _ in drawn.data["bands"]["TCAC"]})
    assert xs == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert all(0.0 <= y <= 1.0 for _, y in drawn.data["bands"]["TCAC"] if not math.isnan(y))


# 9. ticks: multiples of the step up to x_max, or past the longest time
@pytest.mark.parametrize(("max_time", "step", "x_max", "expected"), [
    (8.0, 3.0, None, [0.0, 3.0, 6.0, 9.0]),
    (9.0, 3.0, None, [0.0, 3.0, 6.0, 9.0]),
    (8.0, 6.0, 24.0, [0.0, 6.0, 12.0, 18.0, 24.0]),
])
def test_compute_ticks(max_time, step, x_max, expected):
    assert list(compute_ticks(max_time, step, x_max)) == expected


# 10. a parameter absent from the population gives the placeholder, saying which records are missing
def test_missing_param_draws_a_placeholder(fig_adam, arms):
    drawn = create_km_figure(km_spec(param="OS"), fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS)
    assert drawn.data["placeholder"] == "no ADTTE records with PARAMCD OS in the population"
    assert "curves" not in drawn.data


# 11. a missing time value names dataset, column and subject
def test_missing_time_is_data_error(fig_adam, arms):
    adtte = fig_adam["ADTTE"].copy()
    adtte.loc[2, "AVALM"] = float("nan")
    with pytest.raises(DataError, match=r"ADTTE.AVALM is missing for USUBJID S03"):
        create_km_figure(km_spec(), fig_adam["ADSL"], adtte, arms, population=FAS)


# 12. format_annotation p-value styles
def test_format_annotation_p_style(arms):
    res = KmAnalysis({"TCAC": (24.5, 12.43, 36.57), "TCC": (17.97, 11.43, 24.5)}, (0.75, 0.39, 1.43), 0.3712)
    lines = format_annotation(res, arms, treatment="TCAC", reference="TCC")
    assert lines[-2:] == ["HR TCAC vs TCC: 0.75 (0.39, 1.43)", "Log-rank p = 0.37"]
    assert format_annotation(res, arms, treatment="TCAC", reference="TCC", p_style="sas")[-1] == "Log-rank p = 0.3712"
