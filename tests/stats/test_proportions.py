"""Tests for tlfgen.stats.proportions against published values.

* Clopper-Pearson 27/30 -> 73.5-97.9 % and 13/30 -> 25.5-62.6 % (target paper, ORR 95% CI).
* Wilson 27/30 -> 74.4-96.5 % (target paper's note on the alternative method).
* Clopper-Pearson 0/10 -> (0, 0.3085) (R binom.test(0, 10): 0.0000000 0.3084971).
* Newcombe (1998, Stat Med 17:873, Table II, example 56/70 vs 48/80): difference 0.2000,
  method 10 (hybrid score, no CC) 0.0524 to 0.3339; method 1 (Wald) 0.0575 to 0.3425.
"""

from __future__ import annotations

import math

import pytest

from tlfgen.errors import DataError
from tlfgen.stats.proportions import ci_proportion, diff_proportions


def pct(value: float) -> float:
    return round(value * 100, 1)


# 1. Clopper-Pearson exact matches the paper's ORR CIs.
@pytest.mark.parametrize(("x", "limits"), [(27, (73.5, 97.9)), (13, (25.5, 62.6))])
def test_clopper_pearson_paper_values(x, limits):
    res = ci_proportion(x, 30)
    assert (pct(res.lower), pct(res.upper)) == limits
    assert res.method == "clopper-pearson"
    assert "SAS PROC FREQ BINOMIAL(EXACT)" in res.method_label
    assert res.estimate == x / 30


# 2. Wilson score gives the narrower interval quoted in the targets file.
def test_wilson_27_of_30():
    res = ci_proportion(27, 30, method="wilson")
    assert (pct(res.lower), pct(res.upper)) == (74.4, 96.5)


# 3. Boundaries: 0/10 and 10/10 (exact limits 0 and 1).
def test_clopper_pearson_boundaries():
    zero = ci_proportion(0, 10)
    assert zero.lower == 0.0 and round(zero.upper, 7) == 0.3084971
    full = ci_proportion(10, 10)
    assert full.upper == 1.0 and round(full.lower, 7) == 0.6915029


# 4. Wald limits are truncated to [0, 1] (as SAS does).
def test_wald_truncated():
    res = ci_proportion(1, 10, method="wald")
    # 0.1 -/+ 1.959964 * sqrt(0.1*0.9/10) = 0.1 -/+ 1.959964 * 0.0948683 = 0.1 -/+ 0.185939 -> (0, 0.285939)
    assert res.lower == 0.0
    assert round(res.upper, 6) == 0.285939


# 5. Newcombe and Wald differences match Newcombe (1998).
def test_diff_newcombe_and_wald():
    newcombe = diff_proportions(56, 70, 48, 80)
    assert round(newcombe.estimate, 4) == 0.2
    assert (round(newcombe.lower, 4), round(newcombe.upper, 4)) == (0.0524, 0.3339)
    wald = diff_proportions(56, 70, 48, 80, method="wald")
    assert (round(wald.lower, 4), round(wald.upper, 4)) == (0.0575, 0.3425)
    assert "CL=NEWCOMBE" in newcombe.method_label


# 6. Bad counts and unknown methods raise DataError.
@pytest.mark.parametrize(
    ("x", "n", "message"),
    [(31, 30, "0 <= x <= n"), (1, 0, "n > 0"), (1.5, 30, "whole numbers"), (-1, 30, "0 <= x")],
)
def test_bad_counts(x, n, message):
    with pytest.raises(DataError, match=message):
        ci_proportion(x, n)


def test_unknown_method():
    with pytest.raises(DataError, match="unknown method 'exact'"):
        ci_proportion(3, 10, method="exact")
    with pytest.raises(DataError, match="unknown method"):
        diff_proportions(3, 10, 4, 10, method="score")


# 7. Clopper-Pearson from scipy's beta quantiles equals statsmodels' method="beta" bit for bit.
@pytest.mark.parametrize(("n", "conf"), [(1, 0.95), (7, 0.95), (30, 0.95), (30, 0.9), (250, 0.99)])
def test_clopper_pearson_equals_statsmodels(n, conf):
    from statsmodels.stats.proportion import proportion_confint

    for x in range(n + 1):
        res = ci_proportion(x, n, conf=conf)
        lower, upper = proportion_confint(x, n, alpha=1.0 - conf, method="beta")
        assert (res.lower, res.upper) == (max(float(lower), 0.0), min(float(upper), 1.0))


# --- issue 19: Agresti-Caffo difference ----------------------------------------------------------

# 7. Agresti-Caffo (Agresti & Caffo 2000, Am Stat 54:280), by hand: 57/72 - 49/82 = 0.194106;
#    SE = sqrt(0.791667*0.208333/72 + 0.597561*0.402439/82) = 0.072273 -> 0.0525 to 0.3358.
def test_diff_agresti_caffo_hand_worked():
    res = diff_proportions(56, 70, 48, 80, method="agresti-caffo")
    assert (round(res.lower, 4), round(res.upper, 4)) == (0.0525, 0.3358)
    assert round(res.estimate, 4) == 0.2  # the point estimate stays the observed difference


# 8. Miettinen-Nurminen score interval (Miettinen & Nurminen 1985, Stat Med 4:213):
#    * 10/10 vs 0/20: lower limit 0.7156, upper 1 (the paper's example, as the R package cicalc's
#      test snapshot "ci_prop_diff_mn matches the values in the paper" prints it: (0.7156, 1));
#    * 56/70 vs 48/80: 0.0528 to 0.3382 (Newcombe 1998, Stat Med 17:873, Table II, method 6).
def test_diff_miettinen_nurminen_published_values():
    res = diff_proportions(10, 10, 0, 20, method="mn")
    assert (round(res.lower, 4), res.upper) == (0.7156, 1.0)
    res = diff_proportions(56, 70, 48, 80, method="mn")
    assert (round(res.lower, 4), round(res.upper, 4)) == (0.0528, 0.3382)
    assert "CL=MN" in res.method_label


# 9. Relative risk and odds ratio with Wald CIs on the log scale, by hand for 56/70 vs 48/80:
#    RR = 0.8 / 0.6 = 1.333333, SE(ln RR) = sqrt(1/56 - 1/70 + 1/48 - 1/80) = 0.109109
#    -> exp(0.287682 -/+ 1.959964 * 0.109109) = 1.0766 to 1.6512 (Katz);
#    OR = (56 * 32) / (14 * 48) = 2.666667, SE(ln OR) = sqrt(1/56 + 1/14 + 1/48 + 1/32) = 0.375991
#    -> 1.2762 to 5.5721 (Woolf). A zero cell: NE with a note.
def test_relative_risk_and_odds_ratio():
    from tlfgen.stats.proportions import ratio_proportions

    rr = ratio_proportions(56, 70, 48, 80, measure="rr")
    assert (round(rr.estimate, 6), round(rr.lower, 4), round(rr.upper, 4)) == (1.333333, 1.0766, 1.6512)
    odds = ratio_proportions(56, 70, 48, 80, measure="or")
    assert (round(odds.estimate, 6), round(odds.lower, 4), round(odds.upper, 4)) == (2.666667, 1.2762, 5.5720)
    zero = ratio_proportions(10, 10, 5, 10, measure="or")
    assert math.isnan(zero.estimate) and "zero cell" in zero.note
