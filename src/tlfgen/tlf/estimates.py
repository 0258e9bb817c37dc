"""TLF stage: the bridge from table blocks to ``tlfgen.stats``.

Table builders ask for a number and the name of the method that produced it;
this module calls the statistics layer (which chooses and names methods over
scipy, statsmodels and lifelines) and unpacks its results into plain values,
percentages on the 0-100 scale. No arithmetic of its own beyond unit changes.

Where a number is not estimable on the data (an arm without subjects or events,
a single category, a zero standard error) the value is NaN, printed "NE", and
``note`` carries the declared convention for the table's footnotes: a table
stage never stops on data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tlfgen.stats.results import ModelNotEstimable

NAN = float("nan")


@dataclass(frozen=True)
class Estimate:
    """An estimate with its CI, a p-value, the method label and a convention note ("" if none)."""

    est: float = NAN
    lower: float = NAN
    upper: float = NAN
    p: float = NAN
    method: str = ""
    note: str = ""


def proportion_ci(x: int, n: int, method: str) -> tuple[float, float, str]:
    """Two-sided 95% CI of x/n in percent, and the method label."""
    from tlfgen.stats.proportions import ci_proportion

    if n == 0:
        return NAN, NAN, method
    res = ci_proportion(x, n, method=method)
    return 100.0 * float(res.lower), 100.0 * float(res.upper), _label(res, method)


def difference_est(x1: int, n1: int, x2: int, n2: int, method: str = "newcombe") -> Estimate:
    """Difference of proportions (group 1 - group 2) in percent with its 95% CI."""
    from tlfgen.stats.proportions import DIFF_METHODS, diff_proportions

    if n1 == 0 or n2 == 0:
        return Estimate(method=DIFF_METHODS[method][1],
                        note="difference not estimable (NE): an arm of the comparison has no subjects")
    res = diff_proportions(x1, n1, x2, n2, method=method)
    return Estimate(100.0 * res.estimate, 100.0 * res.lower, 100.0 * res.upper, method=_label(res, method))


def mh_difference_est(tables: Any, method: str = "mh") -> Estimate:
    """Mantel-Haenszel common risk difference over strata (2 x 2 tables: arms x responder yes/no), in percent."""
    from tlfgen.errors import DataError
    from tlfgen.stats.stratified import MH_RD_LABELS, mh_risk_difference

    variance = "sato" if method == "mh" else method.removeprefix("mh-")
    try:
        res = mh_risk_difference(tables, variance=variance)
    except DataError as exc:
        return Estimate(method=MH_RD_LABELS[variance], note=f"difference not estimable (NE): {exc.message}")
    return Estimate(100.0 * res.estimate, 100.0 * res.lower, 100.0 * res.upper, method=res.method_label)


def difference(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float, str]:
    """Difference of proportions (group 1 - group 2) in percent with its Newcombe 95% CI."""
    res = difference_est(x1, n1, x2, n2)
    return res.est, res.lower, res.upper, res.method


def compare_counts_est(table: Sequence[Sequence[int]], rule: str) -> Estimate:
    """p-value of a contingency table (rows: arms, columns: categories) by the declared rule.

    Arms without subjects and categories nobody has carry no information and are left out;
    fewer than two of either leaves no test (p NaN with a note).
    """
    from tlfgen.stats.hypothesis_tests import categorical_test

    arr = np.asarray(table, dtype=int)
    arr = arr[arr.sum(axis=1) > 0]
    if arr.shape[0] < 2:
        return Estimate(method="not computed", note="p-value not computed (NE): an arm of the comparison has no subjects")
    arr = arr[:, arr.sum(axis=0) > 0]
    if arr.shape[1] < 2:
        return Estimate(method="not computed (one category)",
                        note="p-value not computed (NE): every subject of the comparison is in one category")
    res = categorical_test(arr, rule=rule)
    return Estimate(p=float(res.p), method=res.method_label)


def ratio_est(x1: int, n1: int, x2: int, n2: int, measure: str) -> Estimate:
    """Relative risk or odds ratio group 1 vs group 2 with its Wald CI on the log scale."""
    from tlfgen.stats.proportions import RATIO_METHODS, ratio_proportions

    if n1 == 0 or n2 == 0:
        return Estimate(method=RATIO_METHODS[measure][2],
                        note="ratio not estimable (NE): an arm of the comparison has no subjects")
    res = ratio_proportions(x1, n1, x2, n2, measure=measure)
    return Estimate(res.estimate, res.lower, res.upper, method=res.method_label, note=res.note)


def cmh_est(tables: Any) -> Estimate:
    """CMH p-value over strata (2 x 2 tables: arms x responder yes/no)."""
    from tlfgen.errors import DataError
    from tlfgen.stats.stratified import cmh_test

    try:
        res = cmh_test(tables)
    except DataError as exc:
        return Estimate(method="Cochran-Mantel-Haenszel test", note=f"CMH p-value not computed (NE): {exc.message}")
    return Estimate(res.odds_ratio, res.lower, res.upper, res.p, res.method_label)


def compare_counts(table: Sequence[Sequence[int]], rule: str) -> tuple[float, str]:
    res = compare_counts_est(table, rule)
    return res.p, res.method


def compare_values(x: Any, y: Any, test: str) -> Estimate:
    """Two-sample test of a continuous variable: ttest (pooled), welch, wilcoxon."""
    from tlfgen.stats.hypothesis_tests import t_test, wilcoxon_test

    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    need = 1 if test == "wilcoxon" else 2
    if a.size < need or b.size < need:
        return Estimate(method=test, note=f"p-value not computed (NE): fewer than {need} values in an arm")
    if test == "wilcoxon":
        res = wilcoxon_test(a, b)
    else:
        res = t_test(a, b, equal_var=test == "ttest")
    return Estimate(p=float(res.p), method=res.method_label)


def km_median_est(time: Any, event: Any, method: str, *, plateau: str = "r") -> Estimate:
    from tlfgen.stats.survival import km_median_ci

    if len(time) == 0:
        return Estimate()
    res = km_median_ci(np.asarray(time, dtype=float), np.asarray(event, dtype=float), method=method, plateau=plateau)
    note = res.note
    if math.isnan(res.median):
        from tlfgen.stats.survival import km_median

        at_half = plateau == "sas" and not math.isnan(km_median(time, event, plateau="r"))
        note = ("median NE: S(t) = 0.5 on the last plateau, which ends censored (SAS convention; R would print "
                "the plateau midpoint)" if at_half else "median not reached (NE): the Kaplan-Meier curve stays above 0.5")
        if not math.isnan(res.lower):
            note += "; the lower confidence limit is shown as R and SAS report it"
    return Estimate(float(res.median), float(res.lower), float(res.upper), method=res.method_label, note=note)


def km_median(time: Any, event: Any, method: str) -> tuple[float, float, float, str]:
    res = km_median_est(time, event, method)
    return res.est, res.lower, res.upper, res.method


def km_quantile_est(time: Any, event: Any, prob: float, method: str, *, plateau: str = "r") -> Estimate:
    """The ``prob`` quantile of the event time (0.25: first quartile) with a Brookmeyer-Crowley CI."""
    from tlfgen.stats.km_summary import km_quantiles

    if len(time) == 0:
        return Estimate()
    row = km_quantiles(np.asarray(time, dtype=float), np.asarray(event, dtype=float), [prob],
                       method=method, plateau=plateau).iloc[0]
    return Estimate(float(row["estimate"]), float(row["lower"]), float(row["upper"]), method=str(row["method"]))


def km_landmark_est(time: Any, event: Any, at: float, method: str, *, beyond: str = "sas") -> Estimate:
    """KM survival (percent) at time ``at`` with a pointwise CI."""
    from tlfgen.stats.survival import BAND_LABELS, km_at

    if len(time) == 0:
        return Estimate()
    row = km_at(np.asarray(time, dtype=float), np.asarray(event, dtype=float), [at], method=method,
                beyond=beyond).iloc[0]
    note = ""
    if math.isnan(row["survival"]):
        note = f"survival at {at:g} not estimable (NE): past the last observed time (SAS convention)"
    elif 0.0 < row["survival"] < 1.0 and math.isnan(row["lower"]):
        note = "CI not estimable (NE): the standard error is 0"
    return Estimate(100.0 * row["survival"], 100.0 * row["lower"], 100.0 * row["upper"],
                    method=f"Kaplan-Meier, Greenwood SE, {BAND_LABELS[method]}", note=note)


def rmst_est(time: Any, event: Any, tau: float) -> Estimate:
    """Restricted mean survival time up to ``tau`` with its 95% CI."""
    from tlfgen.stats.km_summary import km_rmst

    if len(time) == 0:
        return Estimate()
    res = km_rmst(np.asarray(time, dtype=float), np.asarray(event, dtype=float), tau)
    return Estimate(res.estimate, res.lower, res.upper, method=res.method_label)


def hazard_ratio_est(time: Any, event: Any, group: Any, treatment: str, reference: str, method: str, *,
                     ties: str = "breslow", strata: Any | None = None) -> Estimate:
    """HR treatment vs reference: log-rank O/E ratio, Mantel-Haenszel, or univariable Cox."""
    from tlfgen.stats.survival import cox_hr, logrank_hr

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group, dtype=object)
    present = set(g.tolist())
    missing = [arm for arm in (treatment, reference) if arm not in present]
    if missing:
        return Estimate(method=method, note=f"hazard ratio {treatment} vs {reference} not estimable (NE): "
                                            f"no subjects in {' and '.join(missing)}")
    if method in ("logrank", "mantel-haenszel"):
        res = logrank_hr(t, e, g, treatment=treatment, reference=reference, method=method, strata=strata)
    else:
        df = pd.DataFrame({"time": t, "event": e, "arm": g})
        if strata is not None:
            res = _stratified_cox(df, np.asarray(strata, dtype=object), treatment, reference, ties)
        else:
            res = cox_hr(df, "time", "event", [], treatment_col="arm", treatment=treatment, reference=reference,
                         ties=ties)
    return Estimate(float(res.hr), float(res.lower), float(res.upper), float(res.p), res.method_label,
                    getattr(res, "note", ""))


def _stratified_cox(df: pd.DataFrame, strata: np.ndarray, treatment: str, reference: str, ties: str) -> Any:
    from tlfgen.stats.results import HazardRatio
    from tlfgen.stats.survival import cox_model

    df = df.assign(stratum=[str(s) for s in strata])
    fit = cox_model(df, "time", "event", ["arm"], ties=ties, references={"arm": reference}, strata_col="stratum")
    row = fit.terms.set_index("term").loc[f"arm={treatment}"]
    label = f"stratified {fit.method_label} (SAS PROC PHREG STRATA; R coxph + strata())"
    if bool(row["infinite"]):
        return HazardRatio(NAN, NAN, NAN, fit.tests["lr"].p, fit.method, label,
                           note=f"hazard ratio {treatment} vs {reference} not estimable (NE): the Cox estimate is "
                                "infinite (monotone likelihood)")
    return HazardRatio(float(row["hr"]), float(row["lower"]), float(row["upper"]), float(row["p"]), fit.method,
                       label)


def hazard_ratio(time: Any, event: Any, group: Any, treatment: str, reference: str,
                 method: str) -> tuple[float, float, float, str]:
    """HR treatment vs reference: log-rank O/E ratio or univariable Cox (Breslow)."""
    res = hazard_ratio_est(time, event, group, treatment, reference, method)
    return res.est, res.lower, res.upper, res.method


def logrank_est(time: Any, event: Any, group: Any, *, strata: Any | None = None) -> Estimate:
    from tlfgen.stats.survival import logrank_test

    g = np.asarray(group, dtype=object)
    e = np.asarray(event, dtype=float)
    if len(set(g.tolist())) < 2:
        return Estimate(method="log-rank test", note="log-rank p-value not computed (NE): an arm has no subjects")
    if e.sum() == 0:
        return Estimate(method="log-rank test", note="log-rank p-value not computed (NE): no events")
    res = logrank_test(np.asarray(time, dtype=float), e, g, strata=strata)
    return Estimate(p=float(res.p), method=res.method_label)


def cox_test_est(time: Any, event: Any, group: Any, treatment: str, reference: str, test: str, *,
                 ties: str = "breslow", strata: Any | None = None) -> Estimate:
    """p-value of a global test (lr, score, wald) of the Cox model of the arm (stratified if given)."""
    from tlfgen.stats.survival import cox_model

    g = np.asarray(group, dtype=object)
    if {treatment, reference} - set(g.tolist()):
        return Estimate(method="Cox model test", note="Cox p-value not computed (NE): an arm has no subjects")
    df = pd.DataFrame({"time": np.asarray(time, dtype=float), "event": np.asarray(event, dtype=float), "arm": g})
    strata_col = None
    if strata is not None:
        df["stratum"] = [str(s) for s in strata]
        strata_col = "stratum"
    fit = cox_model(df, "time", "event", ["arm"], ties=ties, references={"arm": reference}, strata_col=strata_col)
    res = fit.tests[test]
    note = "" if not np.isnan(res.p) else "Wald p-value not computed (NE): the Cox estimate is infinite"
    return Estimate(p=res.p, method=f"{res.label}, {fit.method_label}", note=note)


def ph_check_est(time: Any, event: Any, group: Any, treatment: str, reference: str, transform: str) -> Estimate:
    """p-value of the proportional-hazards check of the arm term (Schoenfeld residuals)."""
    from tlfgen.stats.cox import ph_test

    g = np.asarray(group, dtype=object)
    e = np.asarray(event, dtype=float)
    if {treatment, reference} - set(g.tolist()) or e.sum() == 0:
        return Estimate(method="proportional-hazards check",
                        note="proportional-hazards check not computed (NE): an arm has no subjects or no events")
    df = pd.DataFrame({"time": np.asarray(time, dtype=float), "event": e, "arm": g})
    row = ph_test(df, "time", "event", ["arm"], transform=transform, references={"arm": reference}).iloc[0]
    return Estimate(p=float(row["p"]), method=str(row["method"]))


def logrank_p(time: Any, event: Any, group: Any) -> tuple[float, str]:
    res = logrank_est(time, event, group)
    return res.p, res.method


def _label(result: Any, default: str) -> str:
    for name in ("method_label", "method"):
        value = getattr(result, name, None)
        if value:
            return str(value)
    return default


def fit_terms(model: str, frame: pd.DataFrame, outcome: Sequence[str], covariates: Sequence[str],
              references: dict[str, Any], ties: str, *, method: str = "ml",
              separation: str = "firth", ci: str = "wald",
              test: str = "wald") -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """Fit a logistic or Cox model; one row per term: term ("COL=LEVEL"), est (OR/HR), lower, upper, p.

    ``test`` (wald, lr, score) is the test of each term's p; ``ci`` (wald, profile) its CI.
    Infinite Cox estimates come back as NaN (printed NE) with a note (a Wald p too; a likelihood
    ratio or score p stays defined); a logistic fit that fails by separation is refitted by
    Firth's method when ``separation="firth"``, with a note (Wald CI and p). A model the data
    cannot support (``stats.results.ModelNotEstimable``) gives its terms NE with the reason.
    """
    refs = {k: v for k, v in references.items() if k in covariates}
    try:
        return _fit_terms(model, frame, outcome, covariates, refs, ties, method=method, separation=separation,
                          ci=ci, test=test)
    except ModelNotEstimable as exc:
        return _not_estimable_terms(frame, covariates, refs), "", (f"not estimable: {exc.message}; printed NE",)


def _not_estimable_terms(frame: pd.DataFrame, covariates: Sequence[str], refs: dict[str, Any]) -> pd.DataFrame:
    """The terms a model would have had, every estimate NaN (printed NE)."""
    from tlfgen.stats.cox import build_design

    try:
        names = list(build_design(frame, list(covariates), refs).columns)
    except ModelNotEstimable:
        names = []
    return pd.DataFrame({"term": names, "est": NAN, "lower": NAN, "upper": NAN, "p": NAN})


def _fit_terms(model: str, frame: pd.DataFrame, outcome: Sequence[str], covariates: Sequence[str],
               refs: dict[str, Any], ties: str, *, method: str, separation: str, ci: str,
               test: str) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    if model == "cox":
        from tlfgen.stats.survival import cox_model

        res = cox_model(frame, outcome[0], outcome[1], list(covariates), ties=ties, references=refs, test=test, ci=ci,
                        term_tests=False)  # only the p of ``test`` is printed
        terms = res.terms.rename(columns={"hr": "est"})
        terms.loc[terms["infinite"], ["est", "lower", "upper", *(["p"] if test == "wald" else [])]] = NAN
        return terms[["term", "est", "lower", "upper", "p"]], res.method_label, tuple(res.notes)
    from tlfgen.stats.regression import logistic_model

    res = logistic_model(frame, outcome[0], list(covariates), references=refs, method=method, separation=separation,
                         ci=ci if method == "ml" else "wald", test=test)
    terms = res.terms.rename(columns={"or": "est", "odds_ratio": "est"})
    return terms[["term", "est", "lower", "upper", "p"]], _label(res, "logistic regression"), tuple(res.notes)
