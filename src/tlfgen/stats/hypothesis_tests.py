"""Statistics layer: hypothesis tests for categorical and continuous comparisons.

Thin wrappers over scipy. Every result names its method and the SAS / R
equivalent. ``categorical_test`` applies a declared rule to choose between
Pearson's chi-square and Fisher's exact test and records which rule fired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tlfgen.errors import DataError
from tlfgen.stats._checks import as_float_array, check_choice

CATEGORICAL_RULES = ("cochran", "cochran-rxc", "chisq", "fisher")


@dataclass(frozen=True)
class TestResult:
    """A test statistic with its p-value (``df`` is None where not applicable)."""

    __test__ = False  # not a pytest test class

    statistic: float
    p: float
    method: str
    method_label: str
    df: float | None = None


@dataclass(frozen=True)
class CategoricalTestResult:
    """The chosen categorical test, the rule that chose it and why."""

    test: TestResult
    rule: str
    reason: str
    min_expected: float

    @property
    def p(self) -> float:
        return self.test.p

    @property
    def method(self) -> str:
        return self.test.method

    @property
    def method_label(self) -> str:
        return self.test.method_label


def _as_table(table: Any) -> np.ndarray:
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise DataError(f"contingency table must be 2-D with at least 2 rows and 2 columns, got {arr.shape}")
    if (arr < 0).any() or not np.all(arr == np.round(arr)):
        raise DataError("contingency table must hold non-negative whole counts")
    if (arr.sum(axis=0) == 0).any() or (arr.sum(axis=1) == 0).any():
        raise DataError(
            "contingency table has an all-zero row or column; the test is not defined",
            hint="drop empty categories before testing",
        )
    return arr.astype(int)


def expected_counts(table: Any) -> np.ndarray:
    """Expected counts under independence: row total x column total / N."""
    arr = _as_table(table).astype(float)
    return np.outer(arr.sum(axis=1), arr.sum(axis=0)) / arr.sum()


def chisq_test(table: Any, *, correction: bool = False) -> TestResult:
    """Pearson chi-square test of independence (SAS PROC FREQ CHISQ; R chisq.test).

    ``correction=True`` applies Yates' continuity correction (2x2 tables only,
    as R ``chisq.test`` does by default and SAS prints as "Continuity Adj. Chi-Square").
    """
    from scipy.stats import chi2_contingency

    arr = _as_table(table)
    if correction and arr.shape != (2, 2):
        raise DataError(f"Yates' correction applies to 2x2 tables only, got {arr.shape}")
    res = chi2_contingency(arr, correction=correction)
    if correction:
        label = (
            "chi-square test with Yates' continuity correction "
            "(SAS PROC FREQ Continuity Adj. Chi-Square; R chisq.test default)"
        )
        method = "chisq-yates"
    else:
        label = "Pearson chi-square test (SAS PROC FREQ CHISQ; R chisq.test correct=FALSE)"
        method = "chisq"
    return TestResult(float(res.statistic), float(res.pvalue), method, label, float(res.dof))


def fisher_test(table: Any) -> TestResult:
    """Fisher's exact test, two-sided (SAS PROC FREQ EXACT FISHER; R fisher.test).

    For 2x2 tables ``statistic`` is the sample odds ratio (ad/bc; R prints the
    conditional MLE instead); for larger tables it is the probability of the
    observed table and the p-value sums the tables no more probable (as R and SAS do).
    """
    from scipy.stats import fisher_exact

    arr = _as_table(table)
    label = "Fisher's exact test, two-sided (SAS PROC FREQ EXACT FISHER; R fisher.test)"
    if arr.shape == (2, 2):
        res = fisher_exact(arr)
        return TestResult(float(res.statistic), float(min(res.pvalue, 1.0)), "fisher", label)
    # scipy's R x C Fisher test is Monte Carlo (not reproducible): enumerate exactly.
    p_obs, p_value = _fisher_rxc_exact(arr)
    return TestResult(p_obs, p_value, "fisher", label)


_MAX_TABLES = 2_000_000


def _fisher_rxc_exact(arr: np.ndarray) -> tuple[float, float]:
    """Exact R x C Fisher test by enumerating all tables with the observed margins.

    Returns (probability of the observed table, p-value = total probability of
    tables no more probable than it, with R's relative tolerance 1e-7).
    """
    rows = [int(v) for v in arr.sum(axis=1)]
    cols = [int(v) for v in arr.sum(axis=0)]
    n = sum(rows)
    const = sum(math.lgamma(v + 1) for v in rows + cols) - math.lgamma(n + 1)

    def log_prob(cells: list[int]) -> float:
        return const - sum(math.lgamma(v + 1) for v in cells)

    obs_log = log_prob([int(v) for v in arr.ravel()])
    limit = obs_log + math.log1p(1e-7)
    total = 0.0
    count = 0
    n_rows, n_cols = len(rows), len(cols)

    def fill(col: int, col_left: list[int], cells: list[int]) -> None:
        nonlocal total, count
        if col == n_cols - 1:
            last = cells + col_left  # the last column is fixed by the row totals
            count += 1
            if count > _MAX_TABLES:
                raise DataError(
                    f"table too large for the exact Fisher test ({_MAX_TABLES} tables enumerated)",
                    hint="use rule='chisq' or collapse categories",
                )
            lp = log_prob(last)
            if lp <= limit:
                total += math.exp(lp)
            return
        for column in _columns(cols[col], col_left):
            fill(col + 1, [a - b for a, b in zip(col_left, column, strict=True)], cells + column)

    def _columns(total_col: int, caps: list[int]) -> list[list[int]]:
        out: list[list[int]] = []

        def rec(i: int, left: int, acc: list[int]) -> None:
            if i == n_rows - 1:
                if left <= caps[i]:
                    out.append(acc + [left])
                return
            rest_cap = sum(caps[i + 1 :])
            for v in range(max(0, left - rest_cap), min(caps[i], left) + 1):
                rec(i + 1, left - v, acc + [v])

        rec(0, total_col, [])
        return out

    fill(0, rows, [])
    # cells were collected column by column; log_prob only needs the multiset of cells
    return math.exp(obs_log), min(total, 1.0)


def categorical_test(table: Any, *, rule: str = "cochran", correction: bool = False) -> CategoricalTestResult:
    """Choose and run the chi-square or Fisher test by a declared rule.

    Rules:
    * ``cochran`` (default): Fisher's exact test if any expected count is < 5,
      otherwise Pearson chi-square (the common practical reading of Cochran 1954).
    * ``cochran-rxc``: Cochran's rule for larger tables: Fisher if any expected
      count is < 1 or more than 20% of cells have expected counts < 5.
    * ``chisq`` / ``fisher``: always that test.
    """
    check_choice(rule, CATEGORICAL_RULES, "rule")
    exp_ = expected_counts(table)
    min_exp = float(exp_.min())
    n_small = int((exp_ < 5).sum())
    share = n_small / exp_.size
    if rule == "chisq":
        use_fisher, reason = False, "chi-square requested by the spec"
    elif rule == "fisher":
        use_fisher, reason = True, "Fisher's exact test requested by the spec"
    elif rule == "cochran":
        use_fisher = min_exp < 5
        reason = (
            f"{n_small} cell(s) with expected count < 5 (minimum {min_exp:.2f}): Fisher's exact test"
            if use_fisher
            else f"all expected counts >= 5 (minimum {min_exp:.2f}): Pearson chi-square"
        )
    else:
        use_fisher = min_exp < 1 or share > 0.2
        reason = (
            f"minimum expected {min_exp:.2f}, {share:.0%} of cells < 5: "
            + ("Fisher's exact test" if use_fisher else "Pearson chi-square")
        )
    test = fisher_test(table) if use_fisher else chisq_test(table, correction=correction)
    return CategoricalTestResult(test=test, rule=rule, reason=reason, min_expected=min_exp)


def t_test(x: Any, y: Any, *, equal_var: bool = True) -> TestResult:
    """Two-sample t test: Student's pooled (default) or Welch-Satterthwaite.

    SAS PROC TTEST prints both ("Pooled" and "Satterthwaite"); R t.test
    defaults to Welch (var.equal=FALSE).
    """
    from scipy.stats import ttest_ind

    a, b = as_float_array(x, "x"), as_float_array(y, "y")
    if a.size < 2 or b.size < 2:
        raise DataError(f"t test needs at least 2 values per group, got {a.size} and {b.size}")
    res = ttest_ind(a, b, equal_var=equal_var)
    if equal_var:
        label = "Student's t test, pooled variance (SAS PROC TTEST Pooled; R t.test var.equal=TRUE)"
        method = "t-student"
    else:
        label = "Welch's t test, Satterthwaite df (SAS PROC TTEST Satterthwaite; R t.test default)"
        method = "t-welch"
    return TestResult(float(res.statistic), float(res.pvalue), method, label, float(res.df))


def wilcoxon_test(x: Any, y: Any, *, method: str = "asymptotic") -> TestResult:
    """Wilcoxon rank-sum (Mann-Whitney) test, two-sided.

    ``asymptotic``: normal approximation with continuity correction and tie
    correction (SAS PROC NPAR1WAY WILCOXON default; R wilcox.test exact=FALSE).
    ``exact``: exact null distribution (no ties allowed; R wilcox.test exact=TRUE).
    ``statistic`` is the Mann-Whitney U of ``x`` (R's W).
    """
    from scipy.stats import mannwhitneyu

    check_choice(method, ("asymptotic", "exact"), "method")
    a, b = as_float_array(x, "x"), as_float_array(y, "y")
    if a.size == 0 or b.size == 0:
        raise DataError("Wilcoxon test needs at least 1 value per group")
    if method == "exact" and np.unique(np.concatenate([a, b])).size < a.size + b.size:
        raise DataError("exact Wilcoxon test is not available with tied values; use method='asymptotic'")
    res = mannwhitneyu(a, b, alternative="two-sided", method=method, use_continuity=True)
    label = (
        "Wilcoxon rank-sum test, normal approximation with continuity correction "
        "(SAS PROC NPAR1WAY WILCOXON; R wilcox.test exact=FALSE)"
        if method == "asymptotic"
        else "Wilcoxon rank-sum test, exact (SAS NPAR1WAY EXACT WILCOXON; R wilcox.test exact=TRUE)"
    )
    p = float(res.pvalue)
    return TestResult(float(res.statistic), p if not math.isnan(p) else 1.0, f"wilcoxon-{method}", label)
