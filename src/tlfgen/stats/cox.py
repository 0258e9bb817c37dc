"""Statistics layer: Cox proportional hazards models (statsmodels ``PHReg``).

Breslow ties by default (SAS PROC PHREG's default), Efron as an option (R
coxph's default). Wald CIs and p-values, as PROC PHREG's parameter estimates
table prints them. Non-numeric covariates become 0/1 dummies against a
reference level; term names are ``COL=LEVEL``.

The global tests of PROC PHREG's "Testing Global Null Hypothesis: BETA=0" table
and of R's summary(coxph) are returned too: likelihood ratio, score (log-rank
for one binary covariate) and Wald.

Per term, ``test`` chooses the p-value of the ``p`` column: ``wald`` (PROC PHREG's
"Analysis of Maximum Likelihood Estimates"; R summary(coxph) Pr(>|z|)), ``lr`` (the
likelihood ratio test of the term's coefficient = 0: twice the log partial likelihood
gained over the model refitted without it; SAS PHREG TYPE3(LR), R anova(reduced, full))
or ``score`` (Rao's score test of the coefficient = 0 at the refit without it; SAS PHREG
TYPE3(SCORE)). In a model of one covariate they are the global tests; every column
(``wald_p``, ``lr_p``, ``score_p``) is kept. The LR and score p of a term take a refit of the
model without it: ``term_tests=False`` skips those refits when ``test`` is ``wald`` (``lr_p``
and ``score_p`` are then NaN), for a caller that prints only the Wald p.

``ci="profile"`` gives profile-likelihood CIs (SAS PHREG RISKLIMITS=PL): the values b
of the coefficient where 2 (l_max - l_profile(b)) equals the chi-square(1) quantile,
l_profile(b) the log partial likelihood maximised over the other coefficients with this
one fixed at b (a refit with b x as offset); found by scipy's ``brentq``.

Infinite estimates (monotone likelihood, e.g. an arm without events): R coxph
warns "Loglik converged before variable k; coefficient may be infinite" and SAS
PHREG notes "the likelihood ... monotone". tlfgen flags such a term
(``infinite`` column True, ``notes``) when moving its coefficient 5 further out
(a factor of 148 on the ratio) changes the log partial likelihood by less than
1e-6; a finite estimate that far out would lose far more. The table layer prints NE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.stats._checks import as_labels, as_time_event, check_choice, check_conf
from tlfgen.stats.results import CoxModelResult, HazardRatio, ModelNotEstimable, wald_terms

COX_LABELS = {
    "breslow": "Cox proportional hazards, Breslow ties, Wald CI and p "
    "(SAS PROC PHREG default TIES=BRESLOW)",
    "efron": "Cox proportional hazards, Efron ties, Wald CI and p "
    "(R coxph default; SAS TIES=EFRON)",
}
#: what replaces "Wald CI and p" in the label when another CI or test is chosen
CI_TEXT = {"wald": "Wald CI", "profile": "profile-likelihood CI (SAS PHREG RISKLIMITS=PL)"}
P_TEXT = {"wald": "Wald p", "lr": "likelihood ratio p of each term (SAS PHREG TYPE3(LR))",
          "score": "score p of each term (SAS PHREG TYPE3(SCORE); R coxph score test)"}


def build_design(
    df: pd.DataFrame, covariates: Sequence[str], references: dict[str, Any]
) -> pd.DataFrame:
    """Numeric design matrix: numeric columns as-is, others as 0/1 dummies vs a reference."""
    return build_design_noted(df, covariates, references)[0]


def build_design_noted(
    df: pd.DataFrame, covariates: Sequence[str], references: dict[str, Any]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``build_design`` and its notes for the footnotes.

    A declared reference level absent from the data (no subject with PD-L1 < 1 in a small
    study) is replaced by the first level present in sorted order, the default reference, so
    the model can still adjust for the covariate; its terms are named ``COL=LEVEL vs FALLBACK``
    (no table row asks for them: the comparisons with the declared reference are not
    estimable) and a note says so. SAS (REF=) and R (relevel) stop with an error instead.
    """
    parts = []
    notes: list[str] = []
    for col in covariates:
        if col not in df.columns:
            raise DataError(f"covariate {col!r} is not a column of the data", column=col)
        series = df[col]
        if series.isna().any():
            raise DataError(
                f"covariate {col!r} has {int(series.isna().sum())} missing value(s)", column=col
            )
        if pd.api.types.is_numeric_dtype(series) and col not in references:
            parts.append(series.astype(float).rename(col))
            continue
        levels = sorted(series.unique().tolist(), key=str)
        ref = references.get(col, levels[0])
        suffix = ""
        if ref not in levels:
            notes.append(f"{col}: no subject has the reference level {ref!r}, so the comparisons with it are "
                         f"not estimable; the model uses {levels[0]!r} (the first level present) as reference")
            ref, suffix = levels[0], f" vs {levels[0]}"
        for level in levels:
            if level != ref:
                parts.append((series == level).astype(float).rename(f"{col}={level}{suffix}"))
    if not parts:
        raise ModelNotEstimable(f"no covariate of {list(covariates)} varies in the data: nothing to estimate",
                        column=covariates[0] if covariates else None,
                        hint="each categorical covariate needs at least two levels present")
    return pd.concat(parts, axis=1), tuple(notes)


def cox_model(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    covariates: Sequence[str],
    *,
    ties: str = "breslow",
    conf: float = 0.95,
    references: dict[str, Any] | None = None,
    strata_col: str | None = None,
    test: str = "wald",
    ci: str = "wald",
    term_tests: bool = True,
) -> CoxModelResult:
    """Fit a Cox model with statsmodels ``PHReg``; one row per term.

    Non-numeric covariates (and any named in ``references``) become 0/1
    dummies against the reference level (default: first level in sorted
    order); term names are ``COL=LEVEL``. CIs and p-values are Wald by default, as SAS
    PROC PHREG's parameter estimates table prints them; ``test`` (wald, lr, score) and
    ``ci`` (wald, profile) choose others (module docstring). ``term_tests=False`` with the
    Wald test: no refit per term (``lr_p`` and ``score_p`` NaN).
    """
    check_choice(ties, tuple(COX_LABELS), "ties")
    check_choice(test, tuple(P_TEXT), "test")
    check_choice(ci, tuple(CI_TEXT), "ci")
    check_conf(conf)
    for col in (duration_col, event_col):
        if col not in df.columns:
            raise DataError(f"column {col!r} is not in the data", column=col)
    time, event = as_time_event(df[duration_col], df[event_col])
    if not covariates:
        raise DataError("cox_model needs at least one covariate", column="covariates")
    design, design_notes = build_design_noted(df, covariates, dict(references or {}))
    strata = None if strata_col is None else as_labels(df[strata_col], strata_col, len(df))
    try:
        return _fit_cox_model(time, event, design, design_notes, strata, ties=ties, conf=conf, test=test, ci=ci,
                              term_tests=term_tests or test != "wald")
    except np.linalg.LinAlgError as exc:  # in the fit or a restricted refit (LR, score, profile)
        raise ModelNotEstimable(
            f"the Cox model on {list(design.columns)} cannot be estimated: its information matrix is "
            f"singular ({int(event.sum())} events for {design.shape[1]} terms, or covariates that move together)",
            column=str(covariates[0]), hint="fit fewer covariates, or merge sparse levels") from exc


def _fit_cox_model(time: np.ndarray, event: np.ndarray, design: pd.DataFrame, design_notes: tuple[str, ...],
                   strata: Any, *, ties: str, conf: float, test: str, ci: str, term_tests: bool) -> CoxModelResult:
    from statsmodels.duration.hazard_regression import PHReg  # not statsmodels.api: it imports all of statsmodels
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = PHReg(time, design.to_numpy(), status=event, ties=ties, strata=strata)
    with warnings.catch_warnings():  # a monotone likelihood does not converge: flagged below
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(disp=False)
    beta = np.asarray(fit.params, dtype=float)
    infinite = _infinite_terms(model, beta)
    terms = wald_terms(design.columns, beta, fit.bse, conf=conf, ratio="hr")
    terms["infinite"] = infinite
    terms["wald_p"] = terms["p"]
    llf = float(model.loglike(beta))
    if term_tests:
        restricted = [_restricted_fit(time, design.to_numpy(), event, ties, strata, j, 0.0) for j in range(beta.size)]
        terms["lr_p"] = [_lr_p(llf, ll) for ll, _ in restricted]
        terms["score_p"] = [_score_p(model, start) for _, start in restricted]
    else:
        terms["lr_p"] = terms["score_p"] = math.nan
    terms["p"] = terms[f"{test}_p"]
    if ci == "profile":
        limits = [_profile_limits(time, design.to_numpy(), event, ties, strata, j, beta, np.asarray(fit.bse), llf, conf)
                  if not infinite[j] else (math.nan, math.nan) for j in range(beta.size)]
        terms["lower"] = [math.exp(lo) for lo, _ in limits]
        terms["upper"] = [math.exp(hi) for _, hi in limits]
    notes = design_notes + tuple(
        f"{name}: estimate infinite (monotone likelihood; R coxph: 'coefficient may be infinite'), "
        "printed NE" for name, flag in zip(design.columns, infinite, strict=True) if flag
    )
    return CoxModelResult(
        terms=terms,
        n=int(time.size),
        n_events=int(event.sum()),
        ties=ties,
        method=f"cox-{ties}",
        method_label=COX_LABELS[ties].replace("Wald CI and p", f"{CI_TEXT[ci]}, {P_TEXT[test]}")
        if (test, ci) != ("wald", "wald") else COX_LABELS[ties],
        conf=conf,
        tests=_global_tests(model, beta, np.asarray(fit.cov_params(), dtype=float), infinite),
        notes=notes,
    )


def _restricted_fit(time: np.ndarray, exog: np.ndarray, event: np.ndarray, ties: str, strata: Any, j: int,
                    value: float) -> tuple[float, np.ndarray]:
    """Log partial likelihood maximised with coefficient ``j`` fixed at ``value``, and the full parameter vector."""
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    k = exog.shape[1]
    params = np.zeros(k)
    params[j] = value
    offset = value * exog[:, j]
    if k == 1:
        model = PHReg(time, exog, status=event, ties=ties, strata=strata)
        with np.errstate(all="ignore"):
            return float(model.loglike(params)), params
    others = np.delete(exog, j, axis=1)
    reduced = PHReg(time, others, status=event, ties=ties, strata=strata, offset=offset)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = reduced.fit(disp=False)
        params[np.arange(k) != j] = np.asarray(fit.params, dtype=float)
        return float(reduced.loglike(np.asarray(fit.params, dtype=float))), params


def _lr_p(llf: float, restricted: float) -> float:
    """Likelihood ratio p-value (chi-square, 1 df) of a coefficient fixed at 0."""
    from scipy.stats import chi2

    return float(chi2.sf(max(0.0, 2.0 * (llf - restricted)), 1))


def _score_p(model: Any, start: np.ndarray) -> float:
    """Rao score p-value (chi-square, 1 df) at the restricted estimate ``start``."""
    from scipy.stats import chi2

    with np.errstate(all="ignore"):
        u = np.asarray(model.score(start), dtype=float)
        info = -np.asarray(model.hessian(start), dtype=float)
        stat = float(u @ np.linalg.solve(info, u))
    return float(chi2.sf(stat, 1)) if math.isfinite(stat) else math.nan


def _profile_limits(time: np.ndarray, exog: np.ndarray, event: np.ndarray, ties: str, strata: Any, j: int,
                    beta: np.ndarray, bse: np.ndarray, llf: float, conf: float) -> tuple[float, float]:
    """Profile-likelihood limits of coefficient ``j`` (log scale); NaN where the profile never drops enough."""
    from scipy.optimize import brentq
    from scipy.stats import chi2

    cut = float(chi2.ppf(conf, 1)) / 2.0
    centre, step = float(beta[j]), float(bse[j])

    def excess(b: float) -> float:
        return llf - _restricted_fit(time, exog, event, ties, strata, j, b)[0] - cut

    limits = []
    for sign in (-1.0, 1.0):
        for k in range(1, 40):
            far = centre + sign * step * k
            if excess(far) > 0.0:
                limits.append(float(brentq(excess, centre, far, xtol=1e-12)))
                break
        else:
            limits.append(math.nan)
    return limits[0], limits[1]


def _infinite_terms(model: Any, beta: np.ndarray) -> list[bool]:
    """True for terms whose log partial likelihood is flat further out (see module docstring)."""
    with np.errstate(all="ignore"):
        base = float(model.loglike(beta))
        flags = []
        for j, b in enumerate(beta):
            out = beta.copy()
            out[j] = b + math.copysign(5.0, b if b != 0 else 1.0)
            flags.append(bool(abs(b) > 5.0 and float(model.loglike(out)) > base - 1e-6))
    return flags


@dataclass(frozen=True)
class GlobalTest:
    """A chi-square test of all coefficients = 0."""

    statistic: float
    df: int
    p: float
    label: str


TEST_LABELS = {
    "lr": "likelihood ratio test (SAS PROC PHREG Likelihood Ratio; R summary(coxph) 'Likelihood ratio test')",
    "score": "score test (SAS PROC PHREG Score; R summary(coxph) 'Score (logrank) test')",
    "wald": "Wald test (SAS PROC PHREG Wald; R summary(coxph) 'Wald test')",
}


def _global_tests(model: Any, beta: np.ndarray, cov: np.ndarray, infinite: list[bool]) -> dict[str, GlobalTest]:
    """Likelihood ratio, score and Wald tests of beta = 0 (the Wald test is NaN if an estimate is infinite)."""
    from scipy.stats import chi2

    k = beta.size
    zero = np.zeros(k)
    with np.errstate(all="ignore"):
        lr = 2.0 * (float(model.loglike(beta)) - float(model.loglike(zero)))
        u = np.asarray(model.score(zero), dtype=float)
        info = -np.asarray(model.hessian(zero), dtype=float)
        score = float(u @ np.linalg.solve(info, u))
        wald = math.nan if any(infinite) else float(beta @ np.linalg.solve(cov, beta))
    return {
        name: GlobalTest(stat, k, float(chi2.sf(stat, k)) if not math.isnan(stat) else math.nan, TEST_LABELS[name])
        for name, stat in (("lr", lr), ("score", score), ("wald", wald))
    }


def cox_hr(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    covariates: Sequence[str],
    *,
    treatment_col: str,
    ties: str = "breslow",
    treatment: Any | None = None,
    reference: Any | None = None,
    conf: float = 0.95,
) -> HazardRatio:
    """Treatment hazard ratio from a Cox model of treatment + ``covariates``.

    ``covariates`` are the adjustment terms (empty for a univariable model; a
    repeat of ``treatment_col`` is ignored). A numeric ``treatment_col`` gives the
    HR per unit (code it 1 = treatment, 0 = reference); otherwise pass
    ``treatment`` and ``reference`` levels.
    """
    others = [c for c in covariates if c != treatment_col]
    refs: dict[str, Any] = {}
    term = treatment_col
    if treatment is not None or reference is not None:
        if treatment is None or reference is None:
            raise DataError("give both treatment and reference levels, or neither", column=treatment_col)
        present = set(df[treatment_col].unique().tolist()) if treatment_col in df.columns else set()
        if present - {treatment, reference} or {treatment, reference} - present:
            raise DataError(
                f"{treatment_col} must contain exactly {treatment!r} and {reference!r}; "
                f"found {sorted(map(str, present))}",
                column=treatment_col,
            )
        refs[treatment_col] = reference
        term = f"{treatment_col}={treatment}"
    elif treatment_col in df.columns and not pd.api.types.is_numeric_dtype(df[treatment_col]):
        raise DataError(
            f"{treatment_col} is not numeric: pass treatment= and reference= levels",
            column=treatment_col,
        )
    fit = cox_model(
        df, duration_col, event_col, [treatment_col, *others], ties=ties, conf=conf, references=refs
    )
    row = fit.terms.set_index("term").loc[term]
    kind = "univariable" if not others else f"multivariable (adjusted for {', '.join(others)})"
    if bool(row["infinite"]):
        return HazardRatio(
            hr=math.nan, lower=math.nan, upper=math.nan, p=fit.tests["lr"].p, method=fit.method,
            method_label=f"{kind} {fit.method_label}", conf=conf,
            note=f"hazard ratio {treatment if treatment is not None else term} vs "
                 f"{reference if reference is not None else 'reference'} not estimable (NE): the Cox estimate is "
                 "infinite (monotone likelihood, e.g. no events in an arm; R coxph warns 'coefficient may be "
                 "infinite'); p from the likelihood ratio test",
        )
    return HazardRatio(
        hr=float(row["hr"]),
        lower=float(row["lower"]),
        upper=float(row["upper"]),
        p=float(row["p"]),
        method=fit.method,
        method_label=f"{kind} {fit.method_label}",
        conf=conf,
    )


PH_LABELS = {
    "km": "Grambsch-Therneau test of scaled Schoenfeld residuals against the KM transform of time "
          "(R cox.zph transform='km' as in survival < 3.0; lifelines proportional_hazard_test)",
    "rank": "Grambsch-Therneau test of scaled Schoenfeld residuals against the rank of time "
            "(R cox.zph transform='rank'; lifelines proportional_hazard_test)",
    "identity": "Grambsch-Therneau test of scaled Schoenfeld residuals against time "
                "(R cox.zph transform='identity'; SAS PHREG ASSESS PH is a different, resampling test)",
}


def ph_test(
    df: pd.DataFrame, duration_col: str, event_col: str, covariates: Sequence[str], *, transform: str = "km",
    references: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Proportional-hazards check per term: one row per term (term, statistic, df, p, method).

    The Cox model is fitted by lifelines ``CoxPHFitter`` (Efron ties) and tested with
    ``lifelines.statistics.proportional_hazard_test``: a chi-square(1) test of zero slope of the
    scaled Schoenfeld residuals against the transformed time. A small p says the hazard ratio
    changes over time.
    """
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    check_choice(transform, tuple(PH_LABELS), "transform")
    for col in (duration_col, event_col):
        if col not in df.columns:
            raise DataError(f"column {col!r} is not in the data", column=col)
    time, event = as_time_event(df[duration_col], df[event_col])
    design = build_design(df, covariates, dict(references or {}))
    frame = design.assign(_T=time, _E=event)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHFitter().fit(frame, "_T", "_E")
        res = proportional_hazard_test(fit, frame, time_transform=transform)
    summary = res.summary.reset_index()
    term_col = summary.columns[0]
    return pd.DataFrame({
        "term": summary[term_col].astype(str).tolist(),
        "statistic": summary["test_statistic"].astype(float).tolist(),
        "df": 1,
        "p": summary["p"].astype(float).tolist(),
        "method": PH_LABELS[transform],
    })
