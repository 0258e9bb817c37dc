"""Simulation stage, offline: the small survival statistics of the calibration search.

Fast, pure-Python versions of the formulas of ``tlfgen.stats.survival`` (the search
calls them hundreds of thousands of times): KM with Greenwood, the symmetric median CI
(Collett/SPSS SE of the median, eps 0.05), the log-rank O/E hazard ratio (GraphPad
Prism) and a one-covariate Breslow Cox model. tests/simulate/test_truth.py checks the
calibrated study with ``tlfgen.stats`` itself.
"""

from __future__ import annotations

import math
from statistics import NormalDist

#: Days per month, as ``specs/study.yaml`` ``study.days_per_month`` says for the embedded study:
#: the paper's months are days / 30 (docs/paper_months.md; a test checks the two agree).
MONTH = 30.0
#: Two-sided 95% normal quantile, as ``tlfgen.stats`` uses it (not 1.96).
Z95 = NormalDist().inv_cdf(0.975)


def compute_km(times: list[int], events: list[int]) -> list[tuple[int, int, int, float, float]]:
    """KM steps at distinct event times: (t, at risk, events, S, Greenwood sum)."""
    pairs = sorted(zip(times, events))
    n = len(pairs)
    steps = []
    s, gw, i = 1.0, 0.0, 0
    while i < n:
        t = pairs[i][0]
        j, d = i, 0
        while j < n and pairs[j][0] == t:
            d += pairs[j][1]
            j += 1
        if d:
            at_risk = n - i
            s *= 1.0 - d / at_risk
            gw += d / (at_risk * (at_risk - d)) if at_risk > d else 0.0
            steps.append((t, at_risk, d, s, gw))
        i = j
    return steps


def compute_median_ci(times: list[int], events: list[int]) -> dict[str, float]:
    """KM median (days) with symmetric CI in months: median +/- z SE (Collett, eps 0.05).

    ``ambiguous`` > 0 flags data where the conventions could disagree (S exactly 0.5:
    smallest time versus SAS/R midpoint).
    """
    steps = compute_km(times, events)
    amb = sum(1 for st in steps if abs(st[3] - 0.5) < 1e-9)
    med = next((st for st in steps if st[3] <= 0.5 + 1e-12), None)
    if med is None:
        return {"median": math.nan, "lower": math.nan, "upper": math.nan, "ambiguous": amb}
    upper_steps = [st for st in steps if st[3] >= 0.55 - 1e-12]
    u_t, u_s = (upper_steps[-1][0], upper_steps[-1][3]) if upper_steps else (0, 1.0)
    low = next((st for st in steps if st[3] <= 0.45 + 1e-12), None)
    if low is None:
        return {"median": med[0], "lower": math.nan, "upper": math.nan, "ambiguous": amb}
    se_s = med[3] * math.sqrt(med[4])
    se = se_s * (low[0] - u_t) / (u_s - low[3])
    m = med[0] / MONTH
    return {"median": med[0], "lower": m - Z95 * se / MONTH, "upper": m + Z95 * se / MONTH, "ambiguous": amb}


def _event_risk_sets(times: list[int], events: list[int], groups: list[int]) -> list[tuple[int, int, int, int]]:
    """(deaths, deaths in group 1, at risk, at risk in group 1) at each distinct event time."""
    data = sorted(zip(times, events, groups))
    risk = []
    n, n1 = len(data), sum(groups)
    i = 0
    while i < len(data):
        t = data[i][0]
        j, d, d1, c1 = i, 0, 0, 0
        while j < len(data) and data[j][0] == t:
            d += data[j][1]
            d1 += data[j][1] * data[j][2]
            c1 += data[j][2]
            j += 1
        if d:
            risk.append((d, d1, n, n1))
        n -= j - i
        n1 -= c1
        i = j
    return risk


def compute_logrank(times: list[int], events: list[int], groups: list[int]) -> dict[str, float]:
    """Log-rank test; HR = (O1/E1)/(O2/E2), CI exp(log HR +/- z sqrt(1/E1 + 1/E2)); group 1 = treatment."""
    o1 = e1 = v = 0.0
    o = 0
    for d, d1, n, n1 in _event_risk_sets(times, events, groups):
        e1 += d * n1 / n
        if n > 1:
            v += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
        o1 += d1
        o += d
    e2, o2 = o - e1, o - o1
    hr = (o1 / e1) / (o2 / e2)
    se = math.sqrt(1 / e1 + 1 / e2)
    chi2 = (o1 - e1) ** 2 / v
    p = math.erfc(math.sqrt(chi2 / 2))
    return {"hr": hr, "lower": hr * math.exp(-Z95 * se), "upper": hr * math.exp(Z95 * se), "p": p}


def compute_cox_breslow(times: list[int], events: list[int], groups: list[int]) -> dict[str, float]:
    """Cox model with one binary covariate, Breslow ties, Wald CI and p-value."""
    risk = [(d, d1, n - n1, n1) for d, d1, n, n1 in _event_risk_sets(times, events, groups)]  # (d, d1, n0, n1)
    b = 0.0
    info = 1.0
    for _ in range(50):
        eb = math.exp(b)
        score = info = 0.0
        for d, d1, r0, r1 in risk:
            p = r1 * eb / (r0 + r1 * eb)
            score += d1 - d * p
            info += d * p * (1 - p)
        step = score / info
        b += step
        if abs(step) < 1e-12:
            break
    se = 1 / math.sqrt(info)
    return {"hr": math.exp(b), "lower": math.exp(b - Z95 * se), "upper": math.exp(b + Z95 * se),
            "p": math.erfc(abs(b / se) / math.sqrt(2))}
