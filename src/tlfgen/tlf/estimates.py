"""TLF stage: the bridge from table blocks to ``tlfgen.stats``.

Table builders ask for a number and the name of the method that produced it;
this module calls the statistics layer (which chooses and names methods over
scipy, statsmodels and lifelines) and unpacks its results into plain tuples,
percentages on the 0-100 scale. No arithmetic of its own beyond unit changes.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd



def proportion_ci(x: int, n: int, method: str) -> tuple[float, float, str]:
    """Two-sided 95% CI of x/n in percent, and the method label."""
    from tlfgen.stats.proportions import ci_proportion

    if n == 0:
        return float("nan"), float("nan"), method
    res = ci_proportion(x, n, method=method)
    return 100.0 * float(res.lower), 100.0 * float(res.upper), _label(res, method)


def difference(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float, str]:
    """Difference of proportions (group 1 - group 2) in percent with its 95% CI."""
    from tlfgen.stats.proportions import diff_proportions

    res = diff_proportions(x1, n1, x2, n2)
    return (100.0 * float(res.estimate), 100.0 * float(res.lower), 100.0 * float(res.upper),
            _label(res, "difference of proportions"))


def compare_counts(table: Sequence[Sequence[int]], rule: str) -> tuple[float, str]:
    """p-value of a contingency table (rows: arms, columns: categories) by the declared rule."""
    from tlfgen.stats.hypothesis_tests import categorical_test

    arr = np.asarray(table, dtype=int)
    arr = arr[:, arr.sum(axis=0) > 0]  # categories nobody has carry no information
    if arr.shape[1] < 2:
        return float("nan"), "not computed (one category)"
    res = categorical_test(arr, rule=rule)
    return float(res.p), res.method_label


def km_median(time: Any, event: Any, method: str) -> tuple[float, float, float, str]:
    from tlfgen.stats.survival import km_median_ci

    res = km_median_ci(np.asarray(time, dtype=float), np.asarray(event, dtype=float), method=method)
    return float(res.median), float(res.lower), float(res.upper), res.method_label


def hazard_ratio(time: Any, event: Any, group: Any, treatment: str, reference: str,
                 method: str) -> tuple[float, float, float, str]:
    """HR treatment vs reference: log-rank O/E ratio or univariable Cox (Breslow)."""
    from tlfgen.stats.survival import cox_hr, logrank_hr

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group, dtype=object)
    if method == "logrank":
        res = logrank_hr(t, e, g, treatment=treatment, reference=reference)
    else:
        df = pd.DataFrame({"time": t, "event": e, "arm": g})
        res = cox_hr(df, "time", "event", [], treatment_col="arm", treatment=treatment, reference=reference)
    return float(res.hr), float(res.lower), float(res.upper), res.method_label


def logrank_p(time: Any, event: Any, group: Any) -> tuple[float, str]:
    from tlfgen.stats.survival import logrank_test

    res = logrank_test(np.asarray(time, dtype=float), np.asarray(event, dtype=float), np.asarray(group, dtype=object))
    return float(res.p), res.method_label


def _label(result: Any, default: str) -> str:
    for name in ("method_label", "method"):
        value = getattr(result, name, None)
        if value:
            return str(value)
    return default


def fit_terms(model: str, frame: pd.DataFrame, outcome: Sequence[str], covariates: Sequence[str],
              references: dict[str, Any], ties: str) -> tuple[pd.DataFrame, str]:
    """Fit a logistic or Cox model; one row per term: term ("COL=LEVEL"), est (OR/HR), lower, upper, p."""
    if model == "cox":
        from tlfgen.stats.survival import cox_model

        res = cox_model(frame, outcome[0], outcome[1], list(covariates), ties=ties,
                        references={k: v for k, v in references.items() if k in covariates})
        terms = res.terms.rename(columns={"hr": "est"})
        return terms[["term", "est", "lower", "upper", "p"]], res.method_label
    from tlfgen.stats.regression import logistic_model

    res = logistic_model(frame, outcome[0], list(covariates),
                         references={k: v for k, v in references.items() if k in covariates})
    terms = res.terms.rename(columns={"or": "est", "odds_ratio": "est"})
    return terms[["term", "est", "lower", "upper", "p"]], _label(res, "logistic regression")
