"""Statistics layer: binomial proportions and differences of proportions with CIs.

Thin wrappers over ``statsmodels.stats.proportion`` (Clopper-Pearson straight from
scipy's beta quantiles, the same formula, so the common case does not import
statsmodels); tlfgen names the method and its SAS equivalent. Estimates and limits are proportions (0-1); multiply by 100
for percentages (``formatting.fmt_ci`` does not rescale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tlfgen.errors import DataError
from tlfgen.stats._checks import check_choice, check_conf

CI_METHODS = {
    # tlfgen name: (statsmodels name, label)
    "clopper-pearson": ("beta", "Clopper-Pearson exact (SAS PROC FREQ BINOMIAL(EXACT); R binom.test)"),
    "wilson": ("wilson", "Wilson score (SAS PROC FREQ BINOMIAL(WILSON); R prop.test correct=FALSE)"),
    "wald": ("normal", "Wald asymptotic (SAS PROC FREQ BINOMIAL default ASE limits)"),
    "agresti-coull": ("agresti_coull", "Agresti-Coull (SAS PROC FREQ BINOMIAL(AGRESTICOULL))"),
    "jeffreys": ("jeffreys", "Jeffreys (SAS PROC FREQ BINOMIAL(JEFFREYS))"),
}
DIFF_METHODS = {
    "mn": ("mn", "Miettinen-Nurminen asymptotic score, N/(N-1) variance correction "
           "(SAS PROC FREQ RISKDIFF(CL=MN); R DescTools BinomDiffCI method='mn')"),
    "newcombe": ("newcomb", "Newcombe hybrid score, no continuity correction "
                 "(SAS PROC FREQ RISKDIFF(CL=NEWCOMBE))"),
    "wald": ("wald", "Wald asymptotic (SAS PROC FREQ RISKDIFF(CL=WALD))"),
    "agresti-caffo": ("agresti-caffo", "Agresti-Caffo, Wald after adding one success and one failure per group "
                      "(SAS PROC FREQ RISKDIFF(CL=AC); R DescTools BinomDiffCI method='ac')"),
}


@dataclass(frozen=True)
class ProportionCI:
    """A proportion x/n with its confidence interval (all on the 0-1 scale)."""

    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    method: str
    method_label: str
    conf: float = 0.95


@dataclass(frozen=True)
class DiffCI:
    """Difference of two proportions x1/n1 - x2/n2 with its confidence interval."""

    estimate: float
    lower: float
    upper: float
    method: str
    method_label: str
    conf: float = 0.95


def _check_count(x: int, n: int, name: str) -> tuple[int, int]:
    if isinstance(x, bool) or isinstance(n, bool) or int(x) != x or int(n) != n:
        raise DataError(f"{name}: counts must be whole numbers, got x={x!r}, n={n!r}", column=name)
    if n <= 0 or x < 0 or x > n:
        raise DataError(f"{name}: need 0 <= x <= n and n > 0, got x={x}, n={n}", column=name)
    return int(x), int(n)


def ci_proportion(x: int, n: int, *, method: str = "clopper-pearson", conf: float = 0.95) -> ProportionCI:
    """Binomial proportion x/n with a two-sided CI.

    Methods: clopper-pearson (exact), wilson, wald, agresti-coull, jeffreys.
    """
    x, n = _check_count(x, n, "proportion")
    check_choice(method, tuple(CI_METHODS), "method")
    conf = check_conf(conf)
    sm_name, label = CI_METHODS[method]
    if method == "clopper-pearson":
        lower, upper = _clopper_pearson(x, n, 1.0 - conf)
    else:
        from statsmodels.stats.proportion import proportion_confint

        lower, upper = proportion_confint(x, n, alpha=1.0 - conf, method=sm_name)
    # Wald limits are truncated to [0, 1], as SAS does.
    lower, upper = max(float(lower), 0.0), min(float(upper), 1.0)
    return ProportionCI(x, n, x / n, lower, upper, method, label, conf)


def _clopper_pearson(x: int, n: int, alpha: float) -> tuple[float, float]:
    """Exact limits from beta quantiles, as ``proportion_confint(method="beta")`` computes them
    (without importing statsmodels): Beta(x, n - x + 1) lower, Beta(x + 1, n - x) upper."""
    from scipy.stats import beta

    half = alpha / 2.0
    lower = 0.0 if x == 0 else float(beta.ppf(half, float(x), float(n) - float(x) + 1.0))
    upper = 1.0 if x == n else float(beta.isf(half, float(x) + 1.0, float(n) - float(x)))
    return lower, upper


def diff_proportions(
    x1: int, n1: int, x2: int, n2: int, *, method: str = "newcombe", conf: float = 0.95
) -> DiffCI:
    """Difference x1/n1 - x2/n2 with a two-sided CI (Newcombe, Wald, Agresti-Caffo)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    x1, n1 = _check_count(x1, n1, "group 1")
    x2, n2 = _check_count(x2, n2, "group 2")
    check_choice(method, tuple(DIFF_METHODS), "method")
    conf = check_conf(conf)
    sm_name, label = DIFF_METHODS[method]
    if method == "mn":
        lower, upper = _mn_limits(x1, n1, x2, n2, conf)
        return DiffCI(x1 / n1 - x2 / n2, lower, upper, method, label, conf)
    lower, upper = confint_proportions_2indep(
        x1, n1, x2, n2, method=sm_name, compare="diff", alpha=1.0 - conf
    )
    lower, upper = float(lower), float(upper)
    if math.isnan(lower) or math.isnan(upper):
        raise DataError(f"difference CI not estimable for {x1}/{n1} vs {x2}/{n2} with {method}")
    return DiffCI(x1 / n1 - x2 / n2, lower, upper, method, label, conf)


def _mn_restricted(x1: int, n1: int, x2: int, n2: int, delta: float) -> tuple[float, float]:
    """Maximum likelihood (p1, p2) under p1 - p2 = delta: the closed-form root of the cubic of
    Miettinen & Nurminen (1985), as written out by Farrington & Manning (1990, appendix)."""
    p1, p2, theta = x1 / n1, x2 / n2, n2 / n1
    a = 1.0 + theta
    b = -(1.0 + theta + p1 + theta * p2 + delta * (theta + 2.0))
    c = delta**2 + delta * (2.0 * p1 + theta + 1.0) + p1 + theta * p2
    d = -p1 * delta * (1.0 + delta)
    v = b**3 / (27.0 * a**3) - b * c / (6.0 * a**2) + d / (2.0 * a)
    u = math.copysign(math.sqrt(max(b**2 / (9.0 * a**2) - c / (3.0 * a), 0.0)), v)
    ratio = v / u**3 if u != 0.0 else 0.0
    w = (math.pi + math.acos(max(-1.0, min(1.0, ratio)))) / 3.0
    r1 = 2.0 * u * math.cos(w) - b / (3.0 * a)
    return r1, r1 - delta


def _mn_limits(x1: int, n1: int, x2: int, n2: int, conf: float) -> tuple[float, float]:
    """Miettinen-Nurminen limits: the deltas where the score statistic
    (p1 - p2 - delta)^2 / [(r1(1-r1)/n1 + r2(1-r2)/n2) N/(N-1)] equals z^2 (r: restricted MLEs).

    Computed here, not by statsmodels: ``confint_proportions_2indep(method="score")`` returns
    limits that do not solve this equation (56/70 vs 48/80: 0.0526 to 0.3440 against MN's
    0.0528 to 0.3382) and fails at the boundary (10/10 vs 0/20).
    """
    from scipy.optimize import brentq

    from tlfgen.stats._checks import z_value

    z2 = z_value(conf) ** 2
    est = x1 / n1 - x2 / n2
    n = n1 + n2

    def excess(delta: float) -> float:
        r1, r2 = _mn_restricted(x1, n1, x2, n2, delta)
        var = (r1 * (1.0 - r1) / n1 + r2 * (1.0 - r2) / n2) * n / (n - 1.0)
        return ((est - delta) ** 2 / var if var > 0.0 else math.inf) - z2

    edge = 1.0 - 1e-12
    lower = -1.0 if est <= -edge or excess(-edge) <= 0.0 else brentq(excess, -edge, est, xtol=1e-14)
    upper = 1.0 if est >= edge or excess(edge) <= 0.0 else brentq(excess, est, edge, xtol=1e-14)
    return float(lower), float(upper)


RATIO_METHODS = {
    # measure: (statsmodels compare, statsmodels method, label)
    "rr": ("ratio", "log", "relative risk, Wald CI on the log scale (Katz) (SAS PROC FREQ RELRISK(CL=WALD); "
           "R epitools riskratio wald)"),
    "or": ("odds-ratio", "logit", "odds ratio, Wald CI on the log scale (Woolf) (SAS PROC FREQ OR(CL=WALD); "
           "R epitools oddsratio wald)"),
}


@dataclass(frozen=True)
class RatioCI:
    """Relative risk or odds ratio of group 1 vs group 2 with its CI (NaN where not estimable)."""

    estimate: float
    lower: float
    upper: float
    method: str
    method_label: str
    conf: float = 0.95
    note: str = ""


def ratio_proportions(x1: int, n1: int, x2: int, n2: int, *, measure: str = "rr", conf: float = 0.95) -> RatioCI:
    """Relative risk (x1/n1)/(x2/n2) or odds ratio with a Wald CI on the log scale.

    A zero cell makes the ratio 0 or infinite: the result is NaN with a ``note`` (NE), as SAS
    prints no limits then.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    x1, n1 = _check_count(x1, n1, "group 1")
    x2, n2 = _check_count(x2, n2, "group 2")
    check_choice(measure, tuple(RATIO_METHODS), "measure")
    conf = check_conf(conf)
    compare, sm_method, label = RATIO_METHODS[measure]
    cells = (x1, x2) if measure == "rr" else (x1, n1 - x1, x2, n2 - x2)
    if min(cells) == 0:
        return RatioCI(math.nan, math.nan, math.nan, measure, label, conf,
                       note=f"{'relative risk' if measure == 'rr' else 'odds ratio'} not estimable (NE): a zero cell")
    p1, p2 = x1 / n1, x2 / n2
    estimate = p1 / p2 if measure == "rr" else (p1 / (1 - p1)) / (p2 / (1 - p2))
    lower, upper = confint_proportions_2indep(x1, n1, x2, n2, method=sm_method, compare=compare, alpha=1.0 - conf)
    return RatioCI(float(estimate), float(lower), float(upper), measure, label, conf)
