"""Tests for tlfgen.stats.stratified against R's documented example.

R ``?mantelhaen.test``, "Penicillin and Rabbits" (Agresti 1990): mantelhaen.test(Rabbits) prints
Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747; common odds ratio 7,
95 percent confidence interval 1.026713 47.725133.
"""

from __future__ import annotations

import numpy as np
import pytest

from tlfgen.errors import DataError
from tlfgen.stats.stratified import cmh_test, mh_risk_difference

# R: array(c(0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0), dim = c(2, 2, 5)),
# filled column-major: per penicillin level, rows Delay None / 1.5h, columns Cured / Died.
RABBITS = np.array([0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0]).reshape(5, 2, 2).transpose(0, 2, 1)


# 1. The R example, to R's printed digits.
def test_cmh_matches_r_mantelhaen_rabbits():
    res = cmh_test(RABBITS)
    assert round(res.statistic, 4) == 3.9286
    assert round(res.p, 5) == 0.04747
    assert res.odds_ratio == pytest.approx(7.0)
    assert (round(res.lower, 6), round(res.upper, 6)) == (1.026713, 47.725133)
    assert "R mantelhaen.test" in res.method_label and res.strata == 5


# 2. Bad shapes are data errors.
def test_cmh_input_errors():
    with pytest.raises(DataError, match="K 2 x 2 tables"):
        cmh_test([[1, 2, 3]])
    with pytest.raises(DataError, match="no stratum"):
        cmh_test(np.zeros((2, 2, 2)))


# 3. Mantel-Haenszel common risk difference (SAS PROC FREQ COMMONRISKDIFF(CL=MH), Sato variance). Agresti (2013),
#    Categorical Data Analysis, 3rd ed., p. 231, on the 8-centre trial of p. 226 (Beitler & Landis 1985; rows drug,
#    control; columns success, failure): estimate 0.130, SE 0.050. R cardx ci_prop_diff_mh_strata (Sato) prints
#    the 95% CI (0.0313, 0.2284) for the same data in its test snapshot.
AGRESTI_CENTRES = [[[11, 25], [10, 27]], [[16, 4], [22, 10]], [[14, 5], [7, 12]], [[2, 14], [1, 16]],
                   [[6, 11], [0, 12]], [[1, 10], [0, 10]], [[1, 4], [1, 8]], [[4, 2], [6, 1]]]


def test_mh_risk_difference_matches_agresti_sato():
    res = mh_risk_difference(AGRESTI_CENTRES)
    assert (round(res.estimate, 3), round(res.se, 3)) == (0.130, 0.050)
    assert (round(res.lower, 4), round(res.upper, 4)) == (0.0313, 0.2284)
    assert res.strata == 8 and "COMMONRISKDIFF(CL=MH)" in res.method_label


# 4. Greenland-Robins variance: with one stratum it is the unpooled binomial variance p1 q1 / n1 + p0 q0 / n0
#    (9/10 vs 3/10: sqrt(0.009 + 0.021)), and the MH estimate is the crude difference; over strata it differs
#    from Sato's. A stratum with an empty arm has weight 0 and changes nothing.
def test_mh_risk_difference_greenland_robins_and_empty_strata():
    one = mh_risk_difference([[[9, 1], [3, 7]]], variance="greenland-robins")
    assert one.estimate == pytest.approx(0.6) and one.se == pytest.approx((0.009 + 0.021) ** 0.5, rel=1e-12)
    with_empty = mh_risk_difference([*AGRESTI_CENTRES, [[0, 0], [3, 4]]], variance="greenland-robins")
    plain = mh_risk_difference(AGRESTI_CENTRES, variance="greenland-robins")
    assert (with_empty.estimate, with_empty.se, with_empty.strata) == (plain.estimate, plain.se, 8)
    assert plain.se != mh_risk_difference(AGRESTI_CENTRES).se
    with pytest.raises(DataError, match="no stratum has subjects in both arms"):
        mh_risk_difference([[[0, 0], [3, 4]]])
    with pytest.raises(DataError, match="variance"):
        mh_risk_difference(AGRESTI_CENTRES, variance="wald")
