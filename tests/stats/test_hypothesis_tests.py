"""Tests for tlfgen.stats.hypothesis_tests against hand-computed and published values.

* Fisher, R fisher.test(TeaTasting) two-sided: p-value = 0.4857 (= 34/70).
* Student t, x = 1,2,3 vs y = 4,5,6 (R t.test(var.equal=TRUE)): t = -3.6742, df = 4, p = 0.02131.
* Wilcoxon, same data: W = 0; exact p = 2/20 = 0.1; normal approx with continuity
  correction: z = (0 - 4.5 + 0.5)/sqrt(3*3*7/12) = -1.7457, p = 0.08086 (R wilcox.test exact=FALSE).
"""

from __future__ import annotations

import numpy as np
import pytest

from tlfgen.errors import DataError
from tlfgen.stats.hypothesis_tests import (
    categorical_test,
    chisq_test,
    expected_counts,
    fisher_test,
    t_test,
    wilcoxon_test,
)

ORR_TABLE = [[27, 3], [13, 17]]  # responders / non-responders, TCAC vs TCC (the paper's ORR)


# 1. Pearson chi-square by hand: expected [[20, 10], [20, 10]];
#    chisq = 49/20 + 49/10 + 49/20 + 49/10 = 14.7; Yates: 6.5^2 * (2/20 + 2/10) = 12.675.
def test_chisq_hand_values():
    plain = chisq_test(ORR_TABLE)
    assert plain.statistic == pytest.approx(14.7)
    assert plain.df == 1
    assert round(plain.p, 6) == 0.000126
    yates = chisq_test(ORR_TABLE, correction=True)
    assert yates.statistic == pytest.approx(12.675)
    assert yates.method == "chisq-yates"


def test_yates_only_for_2x2():
    with pytest.raises(DataError, match="2x2 tables only"):
        chisq_test([[1, 2, 3], [4, 5, 6]], correction=True)


# 2. Fisher 2x2: R's TeaTasting example.
def test_fisher_tea_tasting():
    res = fisher_test([[3, 1], [1, 3]])
    assert round(res.p, 4) == 0.4857
    assert res.p == pytest.approx(34 / 70)
    assert res.statistic == 9.0  # sample odds ratio (R prints the conditional MLE 6.408309)


# 3. Fisher R x C: exact, deterministic, equal to a brute-force sum over scipy's hypergeometric pmf.
def test_fisher_rxc_exact_and_deterministic():
    from scipy.stats import random_table

    table = np.array([[3, 1, 2], [1, 3, 4]])
    dist = random_table(table.sum(axis=1), table.sum(axis=0))
    p_obs = dist.pmf(table)
    brute = 0.0
    for a in range(0, 5):           # first-row cells; column totals are 4, 4, 6
        for b in range(0, 5):
            c = 6 - a - b
            if 0 <= c <= 6:
                other = np.array([[a, b, c], [4 - a, 4 - b, 6 - c]])
                p = dist.pmf(other)
                if p <= p_obs * (1 + 1e-7):
                    brute += p
    res = fisher_test(table)
    assert res.p == pytest.approx(brute, rel=1e-12)
    assert res.p == pytest.approx(501 / 1001, rel=1e-12)
    assert fisher_test(table).p == res.p  # no Monte Carlo


# 4. The declared choosing rule and its reason.
def test_categorical_test_cochran_rule():
    chosen = categorical_test(ORR_TABLE)
    assert chosen.method == "chisq"
    assert chosen.reason == "all expected counts >= 5 (minimum 10.00): Pearson chi-square"
    small = categorical_test([[3, 1], [1, 3]])
    assert small.method == "fisher"
    assert small.reason.startswith("4 cell(s) with expected count < 5 (minimum 2.00)")
    assert small.p == pytest.approx(34 / 70)


def test_categorical_test_rxc_rule_and_forced_choices():
    # Expected counts: row totals 30, 30; columns 6, 24, 30 -> [[3, 12, 15], [3, 12, 15]]:
    # 2 of 6 cells (33%) < 5 -> Fisher under cochran-rxc as well.
    table = [[2, 13, 15], [4, 11, 15]]
    assert np.allclose(expected_counts(table), [[3, 12, 15], [3, 12, 15]])
    assert categorical_test(table, rule="cochran-rxc").method == "fisher"
    # Columns 10, 20, 30 and rows 10, 50 -> expected row 1: 1.67, 3.33, 5 (2 of 6 < 5, min >= 1).
    table2 = [[1, 4, 5], [9, 16, 25]]
    res = categorical_test(table2, rule="cochran-rxc")
    assert res.method == "fisher" and "33% of cells < 5" in res.reason
    # Columns 8, 13, 13, 13, 13 and rows 30, 30 -> expected 4 in 2 of 10 cells (20%, not > 20%):
    # chi-square under cochran-rxc, Fisher under the default rule (a cell < 5).
    table3 = [[3, 7, 6, 7, 7], [5, 6, 7, 6, 6]]
    assert categorical_test(table3, rule="cochran-rxc").method == "chisq"
    assert categorical_test(table3).method == "fisher"
    assert categorical_test(ORR_TABLE, rule="fisher").method == "fisher"
    assert categorical_test([[3, 1], [1, 3]], rule="chisq").method == "chisq"
    with pytest.raises(DataError, match="unknown rule"):
        categorical_test(ORR_TABLE, rule="auto")


def test_bad_tables():
    with pytest.raises(DataError, match="all-zero row or column"):
        chisq_test([[0, 0], [1, 2]])
    with pytest.raises(DataError, match="whole counts"):
        fisher_test([[1.5, 2], [1, 2]])
    with pytest.raises(DataError, match="at least 2 rows"):
        chisq_test([[1, 2]])


# 5. Continuous comparisons.
def test_student_and_welch_t():
    res = t_test([1, 2, 3], [4, 5, 6])
    assert round(res.statistic, 4) == -3.6742
    assert res.df == 4.0
    assert round(res.p, 5) == 0.02131
    welch = t_test([1, 2, 3], [4, 5, 7], equal_var=False)
    assert welch.method == "t-welch" and welch.df < 4
    with pytest.raises(DataError, match="at least 2 values"):
        t_test([1], [2, 3])


def test_wilcoxon_rank_sum():
    asym = wilcoxon_test([1, 2, 3], [4, 5, 6])
    assert asym.statistic == 0.0
    assert round(asym.p, 5) == 0.08086
    exact = wilcoxon_test([1, 2, 3], [4, 5, 6], method="exact")
    assert exact.p == pytest.approx(0.1)
    with pytest.raises(DataError, match="tied values"):
        wilcoxon_test([1, 2, 3], [3, 4, 5], method="exact")
