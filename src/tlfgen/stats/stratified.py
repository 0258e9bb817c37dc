"""Statistics layer: stratified 2 x 2 x K analyses (statsmodels ``StratifiedTable``).

``cmh_test``: the Cochran-Mantel-Haenszel test of conditional independence with the
Mantel-Haenszel common odds ratio and its Robins-Breslow-Greenland CI, as R
``mantelhaen.test`` (continuity correction by default) and SAS PROC FREQ CMH print them.
Each stratum is a 2 x 2 table: rows = treatment, reference; columns = event, no event.
Strata with fewer than two subjects carry no information and are dropped (R and SAS
drop them the same way).

``mh_risk_difference``: the Mantel-Haenszel common risk difference (stratum weights
n1 n0 / N), as SAS PROC FREQ RISKDIFF COMMONRISKDIFF(CL=MH) prints it, with the variance
of Sato (1989), SAS's choice, or of Greenland & Robins (1985), RevMan's. statsmodels'
``StratifiedTable`` has odds ratios only, so the published formulas are written out here:
d = sum w_h d_h / sum w_h with d_h = a_h / n1_h - c_h / n0_h and w_h = n1_h n0_h / N_h;
Sato: var = (d sum P_h + sum Q_h) / (sum w_h)^2 with
P_h = (n1_h^2 c_h - n0_h^2 a_h + n1_h n0_h (n0_h - n1_h) / 2) / N_h^2 and
Q_h = (a_h (n0_h - c_h) + c_h (n1_h - a_h)) / (2 N_h);
Greenland-Robins: var = sum (a_h b_h n0_h^3 + c_h d_h n1_h^3) / (n1_h n0_h N_h^2) / (sum w_h)^2.
Wald limits d -/+ z sqrt(var). Strata without subjects in an arm have weight 0 and are dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tlfgen.errors import DataError
from tlfgen.stats._checks import check_choice, check_conf

CMH_LABEL = ("Cochran-Mantel-Haenszel test{cc}; Mantel-Haenszel common odds ratio with Robins-Breslow-Greenland CI "
             "(SAS PROC FREQ CMH; R mantelhaen.test{r})")


@dataclass(frozen=True)
class CmhResult:
    statistic: float
    p: float
    odds_ratio: float
    lower: float
    upper: float
    method: str
    method_label: str
    strata: int
    conf: float = 0.95


def cmh_test(tables: Any, *, correction: bool = True, conf: float = 0.95) -> CmhResult:
    """CMH test over K 2 x 2 tables (array of shape (K, 2, 2) or a list of 2 x 2 tables)."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    check_conf(conf)
    arr = np.asarray(tables, dtype=float)
    if arr.ndim != 3 or arr.shape[1:] != (2, 2):
        raise DataError(f"CMH needs K 2 x 2 tables, got shape {arr.shape}")
    if (arr < 0).any() or not np.all(arr == np.round(arr)):
        raise DataError("CMH tables must hold non-negative whole counts")
    arr = arr[arr.sum(axis=(1, 2)) > 1]
    if arr.shape[0] == 0:
        raise DataError("CMH: no stratum has two or more subjects")
    table = StratifiedTable(np.moveaxis(arr, 0, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        test = table.test_null_odds(correction=correction)
        lower, upper = table.oddsratio_pooled_confint(alpha=1.0 - conf)
    label = CMH_LABEL.format(cc=" with continuity correction" if correction else "",
                             r="" if correction else " correct=FALSE")
    return CmhResult(float(test.statistic), float(test.pvalue), float(table.oddsratio_pooled), float(lower),
                     float(upper), "cmh", label, int(arr.shape[0]), conf)


MH_RD_LABELS = {
    "sato": "Mantel-Haenszel common risk difference, Sato variance (SAS PROC FREQ COMMONRISKDIFF(CL=MH); "
            "R cardx ci_prop_diff_mh_strata)",
    "greenland-robins": "Mantel-Haenszel common risk difference, Greenland-Robins variance (RevMan; "
                        "R metafor rma.mh measure='RD')",
}


@dataclass(frozen=True)
class CommonRiskDifference:
    """A common risk difference over strata (a proportion, treatment - reference) with its Wald CI."""

    estimate: float
    lower: float
    upper: float
    se: float
    method: str
    method_label: str
    strata: int
    conf: float = 0.95


def mh_risk_difference(tables: Any, *, conf: float = 0.95, variance: str = "sato") -> CommonRiskDifference:
    """Mantel-Haenszel common risk difference over K 2 x 2 tables (rows: treatment, reference; columns: event,
    no event), with the Sato or Greenland-Robins variance (module docstring)."""
    from scipy.stats import norm

    check_conf(conf)
    check_choice(variance, tuple(MH_RD_LABELS), "variance")
    arr = np.asarray(tables, dtype=float)
    if arr.ndim != 3 or arr.shape[1:] != (2, 2):
        raise DataError(f"the Mantel-Haenszel risk difference needs K 2 x 2 tables, got shape {arr.shape}")
    if (arr < 0).any() or not np.all(arr == np.round(arr)):
        raise DataError("stratified tables must hold non-negative whole counts")
    n1, n0 = arr[:, 0].sum(axis=1), arr[:, 1].sum(axis=1)
    arr = arr[(n1 > 0) & (n0 > 0)]
    if arr.shape[0] == 0:
        raise DataError("Mantel-Haenszel risk difference: no stratum has subjects in both arms")
    a, b, c, d = arr[:, 0, 0], arr[:, 0, 1], arr[:, 1, 0], arr[:, 1, 1]
    n1, n0 = a + b, c + d
    total = n1 + n0
    weight = n1 * n0 / total
    estimate = float(np.sum(weight * (a / n1 - c / n0)) / weight.sum())
    if variance == "sato":
        p_h = (n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2.0) / total**2
        q_h = (a * (n0 - c) + c * (n1 - a)) / (2.0 * total)
        var = (estimate * p_h.sum() + q_h.sum()) / weight.sum() ** 2
    else:
        var = float(np.sum((a * b * n0**3 + c * d * n1**3) / (n1 * n0 * total**2)) / weight.sum() ** 2)
    se = float(np.sqrt(max(var, 0.0)))
    z = float(norm.ppf(0.5 + conf / 2.0))
    return CommonRiskDifference(estimate, estimate - z * se, estimate + z * se, se, f"mh-{variance}",
                                MH_RD_LABELS[variance], int(arr.shape[0]), conf)
