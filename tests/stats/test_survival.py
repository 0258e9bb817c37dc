"""Tests for tlfgen.stats.survival against published R output for the `aml` data.

Reference values (R survival package, data `aml`, weeks), as printed by R:
* summary(survfit(Surv(time, status) ~ x, aml)), Maintained stratum:
  time 9 13 18 23 31 34 48; survival 0.909 0.818 0.716 0.614 0.491 0.368 0.184;
  std.err 0.0867 0.1163 0.1397 0.1526 0.1642 0.1627 0.1535;
  lower 95% CI (log) 0.7541 0.6192 0.4884 0.3769 0.2549 0.1549 0.0359.
* print(survfit(...)): median 31 (0.95LCL 18, 0.95UCL NA) Maintained,
  23 (8, NA) Nonmaintained.
* survdiff(Surv(time, status) ~ x, aml): Observed 7 / 11, Expected 10.69 / 7.31,
  Chisq= 3.4 on 1 df, p= 0.0653 (survival 3.8-3; older versions print p= 0.07).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.stats.survival import (
    km_at,
    km_estimate,
    km_median,
    km_median_ci,
    logrank_hr,
    logrank_test,
)

MAINT_T = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
MAINT_E = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
NONM_T = [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
NONM_E = [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
AML_T = MAINT_T + NONM_T
AML_E = MAINT_E + NONM_E
AML_X = ["Maintained"] * 11 + ["Nonmaintained"] * 12


# 1. KM table matches R summary(survfit) for the Maintained group.
def test_km_estimate_matches_r_summary():
    table = km_estimate(MAINT_T, MAINT_E)
    events = table[table["n_event"] > 0]
    assert events["time"].tolist() == [9, 13, 18, 23, 31, 34, 48]
    assert events["n_at_risk"].tolist() == [11, 10, 8, 7, 5, 4, 2]
    assert np.round(events["survival"], 3).tolist() == [0.909, 0.818, 0.716, 0.614, 0.491, 0.368, 0.184]
    assert np.round(events["std_err"], 4).tolist() == [
        0.0867, 0.1163, 0.1397, 0.1526, 0.1642, 0.1627, 0.1535,
    ]
    assert table["n_censor"].sum() == 4
    assert len(table) == 10  # distinct observed times


# 2. Accepts numpy arrays and pandas Series as well as lists.
def test_km_estimate_accepts_array_likes():
    a = km_estimate(np.array(MAINT_T), pd.Series(MAINT_E))
    b = km_estimate(MAINT_T, MAINT_E)
    pd.testing.assert_frame_equal(a, b)


# 3. Medians and R's default (log) Brookmeyer-Crowley CIs.
@pytest.mark.parametrize(
    ("times", "events", "expected"),
    [(MAINT_T, MAINT_E, (31.0, 18.0)), (NONM_T, NONM_E, (23.0, 8.0))],
)
def test_km_median_ci_log_matches_r(times, events, expected):
    res = km_median_ci(times, events, method="log")
    assert (res.median, res.lower) == expected
    assert math.isnan(res.upper)  # R prints NA
    assert res.method == "log"
    assert "R survfit default" in res.method_label


# 4. Other transforms on aml (values from the rule: first event time where the band <= 0.5).
def test_km_median_ci_loglog_and_linear():
    loglog = km_median_ci(NONM_T, NONM_E, method="loglog")
    assert (loglog.median, loglog.lower, loglog.upper) == (23.0, 5.0, 33.0)
    linear = km_median_ci(MAINT_T, MAINT_E, method="linear")
    assert (linear.median, linear.lower, linear.upper) == (31.0, 18.0, 48.0)
    assert "CONFTYPE=LOGLOG" in loglog.method_label


# 5. Symmetric (SPSS) CI, worked by hand.
def test_km_median_ci_symmetric_hand_example():
    # Times 1..9, all events, n = 9: S(k) = 1 - k/9.
    # Median: first S <= 0.5 is S(5) = 4/9 -> 5.
    # Greenwood (no censoring) Var S(5) = S(1-S)/n = (4/9)(5/9)/9 = 20/729.
    # u = largest event time with S >= 0.55: t=4 (S=5/9); l = smallest with S <= 0.45: t=5 (4/9).
    # f_hat = (5/9 - 4/9)/(5 - 4) = 1/9; SE = sqrt(20/729) * 9 = sqrt(20)/3 = 1.490712.
    # CI = 5 -/+ 1.959964 * 1.490712 = 5 -/+ 2.921742 -> (2.078258, 7.921742).
    res = km_median_ci(range(1, 10), [1] * 9, method="symmetric")
    assert res.median == 5.0
    assert res.se == pytest.approx(math.sqrt(20) / 3, abs=1e-9)
    assert round(res.lower, 6) == 2.078258
    assert round(res.upper, 6) == 7.921742
    assert "SPSS" in res.method_label


# 6. Median on an exact 0.5 plateau is the midpoint to the next event time (SAS/R).
def test_km_median_midpoint_rule():
    # Times 1..10, all events: S(5) = 0.5 exactly, next event at 6 -> median 5.5.
    assert km_median(range(1, 11), [1] * 10) == 5.5
    # Symmetric SE at that median uses Var S(5) = 0.5*0.5/10 = 0.025, u=4 (0.6), l=6 (0.4):
    # f_hat = 0.2/2 = 0.1 -> SE = sqrt(0.025)/0.1 = 1.581139.
    res = km_median_ci(range(1, 11), [1] * 10)
    assert round(res.se, 6) == 1.581139


# 7. Median not reached -> NE median and upper limit, but the lower limit is kept (R and SAS
#    print it; issue 19: colon Lev+5FU, R LCL 2725). Hand-worked: S(1) = 3/4, Greenwood
#    se = 0.75 sqrt(1/12) = 0.216506; log-log lower band 0.75^exp(1.959964 * 0.216506 /
#    (0.75 * 0.287682)) = 0.75^7.1468 = 0.128 <= 0.5 -> lower limit 1.
def test_km_median_not_reached():
    res = km_median_ci([1, 2, 3, 4], [1, 0, 0, 0], method="loglog")
    assert math.isnan(res.median) and res.lower == 1.0 and math.isnan(res.upper)
    sym = km_median_ci([1, 2, 3, 4], [1, 0, 0, 0], method="symmetric")
    assert math.isnan(sym.median) and math.isnan(sym.lower) and math.isnan(sym.upper)


# 8. Survival at timepoints, with R's log-transform CI.
def test_km_at_matches_r_log_ci():
    out = km_at(MAINT_T, MAINT_E, [0, 10, 31, 200], method="log")
    assert out["n_at_risk"].tolist() == [11, 10, 5, 0]
    assert out["survival"].round(3).tolist()[:3] == [1.0, 0.909, 0.491]
    assert out["lower"].round(4).tolist()[1:3] == [0.7541, 0.2549]
    assert out["upper"].round(3).tolist()[1:3] == [1.0, 0.946]
    assert math.isnan(out["survival"].iloc[3])


# 9. Log-rank test matches R survdiff.
def test_logrank_test_matches_r_survdiff():
    res = logrank_test(AML_T, AML_E, AML_X)
    assert round(res.chisq, 1) == 3.4
    assert res.df == 1
    assert round(res.p, 4) == 0.0653
    assert res.observed == {"Maintained": 7.0, "Nonmaintained": 11.0}
    assert round(res.expected["Maintained"], 2) == 10.69
    assert round(res.expected["Nonmaintained"], 2) == 7.31


# 10. Stratified log-rank, worked by hand; a single stratum equals the unstratified test.
def test_logrank_test_stratified_hand_example():
    # Two strata, each: T dies at 1, R dies at 2.
    # Per stratum at t=1: n=2 (1 T, 1 R), d=1 -> E_T = 0.5, V = 1*1/1 * 0.5*0.5 = 0.25; t=2: only R.
    # Stratified: O-E = 2*(1-0.5) = 1, V = 0.5 -> chisq = 1/0.5 = 2.
    # Pooled: t=1: n=4, d=2 -> E_T = 1, V = 2*2/3 * 0.25 = 1/3; O-E = 1 -> chisq = 3.
    time, event = [1, 2, 1, 2], [1, 1, 1, 1]
    group, strata = ["T", "R", "T", "R"], ["A", "A", "B", "B"]
    assert logrank_test(time, event, group, strata=strata).chisq == pytest.approx(2.0)
    assert logrank_test(time, event, group).chisq == pytest.approx(3.0)
    single = logrank_test(AML_T, AML_E, AML_X, strata=["s"] * 23)
    assert single.chisq == pytest.approx(logrank_test(AML_T, AML_E, AML_X).chisq, rel=1e-10)
    assert single.method == "logrank-stratified"


# 11. Log-rank (O/E) hazard ratio as Prism computes it, from R's O and E.
def test_logrank_hr_oe_ratio():
    res = logrank_hr(AML_T, AML_E, AML_X, treatment="Maintained", reference="Nonmaintained")
    e_t, e_r = res.expected["Maintained"], res.expected["Nonmaintained"]
    # From R's rounded O/E: (7/10.69)/(11/7.31) = 0.4352.
    assert round(res.hr, 4) == 0.4352
    half = 1.959964 * math.sqrt(1 / e_t + 1 / e_r)
    assert res.lower == pytest.approx(res.hr * math.exp(-half), rel=1e-6)
    assert res.upper == pytest.approx(res.hr * math.exp(half), rel=1e-6)
    assert round(res.p, 4) == 0.0653
    assert res.method == "logrank"


# 12. Mantel-Haenszel hazard ratio: exp((O-E)/V), worked from the hand example.
def test_logrank_hr_mantel_haenszel_hand_example():
    # Pooled hand example above: O-E = 1, V = 1/3 -> HR = exp(3) = 20.0855;
    # CI exp(3 -/+ 1.959964*sqrt(3)).
    res = logrank_hr(
        [1, 2, 1, 2], [1, 1, 1, 1], ["T", "R", "T", "R"],
        treatment="T", reference="R", method="mantel-haenszel",
    )
    assert res.hr == pytest.approx(math.exp(3.0))
    assert res.lower == pytest.approx(math.exp(3.0 - 1.959964 * math.sqrt(3.0)), rel=1e-6)
    assert res.upper == pytest.approx(math.exp(3.0 + 1.959964 * math.sqrt(3.0)), rel=1e-6)


# 13. A group outside treatment/reference is rejected; an arm without events too.
def test_logrank_hr_rejects_third_group_and_no_events():
    with pytest.raises(DataError, match="exactly 'A' and 'B'"):
        logrank_hr([1, 2, 3], [1, 1, 1], ["A", "B", "C"], treatment="A", reference="B")
    res = logrank_hr([1, 2, 3, 4], [0, 0, 1, 1], ["A", "A", "B", "B"], treatment="A", reference="B")
    assert math.isnan(res.hr) and math.isnan(res.lower) and not res.estimable
    assert "not estimable (NE): no events in A" in res.note


# 14. Bad input raises DataError naming the problem.
@pytest.mark.parametrize(
    ("time", "event", "message"),
    [
        ([1, 2], [1], "time has 2 values but event has 1"),
        ([1, -2], [1, 1], "time must be >= 0"),
        ([1, 2], [1, 2], "event must be 0"),
        ([1, float("nan")], [1, 1], "missing or infinite"),
        ([], [], "no observations"),
    ],
)
def test_bad_input_raises_data_error(time, event, message):
    with pytest.raises(DataError, match=message):
        km_median_ci(time, event)


def test_unknown_method():
    with pytest.raises(DataError, match="unknown method 'bogus'"):
        km_median_ci(MAINT_T, MAINT_E, method="bogus")


# 16. Cox functions are importable from the survival module (the calibrator's API).
def test_cox_reexported_from_survival():
    from tlfgen.stats import cox, survival

    assert survival.cox_hr is cox.cox_hr and survival.cox_model is cox.cox_model


# 15. The numpy KM table equals lifelines KaplanMeierFitter (ties, censoring at event times).
def test_km_estimate_agrees_with_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(20240501)
    time = np.round(rng.exponential(10.0, 80))  # rounding creates many ties
    event = rng.integers(0, 2, 80)
    ours = km_estimate(time, event)
    fitter = KaplanMeierFitter().fit(time, event_observed=event)
    table = fitter.event_table[fitter.event_table["removed"] > 0]
    assert ours["time"].tolist() == table.index.tolist()
    assert ours["n_at_risk"].tolist() == table["at_risk"].tolist()
    assert ours["n_event"].tolist() == table["observed"].tolist()
    assert ours["n_censor"].tolist() == table["censored"].tolist()
    expected = fitter.survival_function_.iloc[:, 0].reindex(table.index).to_numpy()
    np.testing.assert_allclose(ours["survival"].to_numpy(), expected, rtol=1e-12)


# 14. The log-rank sums (O, E, V) over arrays equal a loop over the event times, bit for bit.
def test_logrank_components_equal_a_loop_over_event_times():
    from tlfgen.stats.survival import _oev

    def loop(time, event, group, levels):
        k = len(levels)
        obs, exp_, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
        codes = np.array([levels.index(g) for g in group])
        for t in np.unique(time[event == 1]):
            n_j = np.bincount(codes[time >= t], minlength=k).astype(float)
            d_j = np.bincount(codes[(time == t) & (event == 1)], minlength=k).astype(float)
            n, d = n_j.sum(), d_j.sum()
            obs += d_j
            exp_ += d * n_j / n
            if n > 1:
                frac = n_j / n
                var += d * (n - d) / (n - 1) * (np.diag(frac) - np.outer(frac, frac))
        return obs, exp_, var

    rng = np.random.default_rng(3)
    for size, k in ((1, 2), (2, 2), (40, 2), (300, 3)):
        levels = ["A", "B", "C"][:k]
        time = rng.integers(0, 30, size).astype(float)  # many tied times
        event = (rng.random(size) < 0.7).astype(float)
        group = np.array([levels[i] for i in rng.integers(0, k, size)], dtype=object)
        for got, want in zip(_oev(time, event, group, levels), loop(time, event, group, levels)):
            assert got.tobytes() == want.tobytes()
    no_events = _oev(np.array([1.0, 2.0]), np.array([0.0, 0.0]), np.array(["A", "B"], dtype=object), ["A", "B"])
    assert [a.tolist() for a in no_events] == [[0.0, 0.0], [0.0, 0.0], [[0.0, 0.0], [0.0, 0.0]]]


# --- issue 19: edge cases, each answered by a declared convention -----------------------------

# PHUSE CAMIS, "R vs SAS - Kaplan Meier and Cox-proportion hazards modelling"
# (Comp/r-sas_survival.qmd, "Other Cases Where Discrepancies Are Found"): 10 subjects,
# first 5 events, last 5 censored. S = 0.5 from day 87 to the last (censored) time 118.
CAMIS_T = [54, 75, 77, 84, 87, 92, 103, 105, 112, 118]
CAMIS_E = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]


# 15. Final censored plateau at 0.5: R's midpoint (87 + 118) / 2 = 102.5, SAS NE (CAMIS).
def test_median_on_final_plateau_r_and_sas():
    assert km_median(CAMIS_T, CAMIS_E) == 102.5
    assert math.isnan(km_median(CAMIS_T, CAMIS_E, plateau="sas"))
    assert km_median_ci(CAMIS_T, CAMIS_E, method="loglog").median == 102.5
    assert math.isnan(km_median_ci(CAMIS_T, CAMIS_E, method="loglog", plateau="sas").median)
    with pytest.raises(DataError, match="unknown plateau"):
        km_median(CAMIS_T, CAMIS_E, plateau="spss")


# 16. Landmark past the last observation (CAMIS, day 120): last time censored -> SAS NE, R carries
#     0.5 (0.184, 0.753) forward (log-log); last time an event -> both print 0.
def test_survival_past_last_time():
    sas = km_at(CAMIS_T, CAMIS_E, [120], method="loglog")
    assert math.isnan(sas["survival"].iloc[0])
    r = km_at(CAMIS_T, CAMIS_E, [120], method="loglog", beyond="r")
    assert r["survival"].iloc[0] == 0.5
    assert (round(r["lower"].iloc[0], 3), round(r["upper"].iloc[0], 3)) == (0.184, 0.753)
    ended = km_at(CAMIS_T, CAMIS_E[:-1] + [1], [120], method="loglog")
    assert ended["survival"].iloc[0] == 0.0


# 17. A single event: Greenwood SE 0, so no interval is printed (NE), with a note; never the
#     collapsed "5.00 (5.00, 5.00)" of issue 19.
@pytest.mark.parametrize("method", ["symmetric", "loglog", "log", "linear"])
def test_single_event_ci_not_estimable(method):
    res = km_median_ci([5.0], [1], method=method)
    assert res.median == 5.0
    assert math.isnan(res.lower) and math.isnan(res.upper)
    assert "standard error is 0" in res.note


# 18. Zero events in one arm: HR NE with a note (no exception); log-rank p still printed.
#     Hand-worked: A censored at 1, 2; B events at 3, 4 -> at t=3 only B at risk (n=2),
#     at t=4 n=1: E_A = 0, V = 0 -> HR NE, p NE.
def test_logrank_hr_zero_events_is_ne():
    res = logrank_hr(AML_T, [0] * 11 + NONM_E, AML_X, treatment="Maintained", reference="Nonmaintained")
    assert math.isnan(res.hr) and "no events in Maintained" in res.note
    assert 0.0 < res.p < 1.0
    res = logrank_hr([1, 2, 3, 4], [0, 0, 1, 1], ["A", "A", "B", "B"], treatment="A", reference="B")
    assert math.isnan(res.p)


# 19. Arcsine-square-root band (SAS CONFTYPE=ASINSQRT), hand-worked at day 87 of the CAMIS data:
#     S = 0.5, se = sqrt(0.025) = 0.158114; arcsin(sqrt 0.5) = pi/4; half-width
#     0.5 * 1.959964 * 0.158114 / sqrt(0.25) = 0.309903 -> sin^2(0.475496) = 0.2096,
#     sin^2(1.095301) = 0.7904.
def test_km_at_arcsine_band():
    out = km_at(CAMIS_T, CAMIS_E, [87], method="arcsine")
    assert out["survival"].iloc[0] == 0.5
    assert round(out["std_err"].iloc[0], 6) == 0.158114
    assert (round(out["lower"].iloc[0], 4), round(out["upper"].iloc[0], 4)) == (0.2096, 0.7904)
