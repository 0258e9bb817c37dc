"""Statistics layer: regression models (logistic odds ratios; Cox re-exported from survival).

Logistic regression is statsmodels ``Logit`` (maximum likelihood) with Wald
confidence intervals and p-values, as SAS PROC LOGISTIC prints them in its
"Odds Ratio Estimates" (Wald CL) and "Analysis of Maximum Likelihood Estimates"
tables. Categorical covariates are 0/1 dummies against a reference level, the
same coding as ``survival.cox_model``.

Separation (a covariate level with all or no responders) has no finite maximum
likelihood estimate. ``method="firth"`` fits Firth's penalised likelihood
(Firth 1993; Heinze & Schemper 2002), which is finite under separation: the
log-likelihood plus 1/2 log det of the Fisher information, solved by the modified
score U*_r = sum (y_i - pi_i + h_i (1/2 - pi_i)) x_ir with step halving, Wald CIs
and p from the penalised information, as SAS PROC LOGISTIC / FIRTH prints them
(R logistf with pl = FALSE). ``separation="firth"`` switches to it only when the
maximum likelihood fit fails, and says so in ``notes``.

``ci="profile"`` gives profile-likelihood CIs (R confint(glm) via MASS profile; SAS
CLPARM=PL / CLODDS=PL): for each term the values b where 2 (l_max - l_profile(b)) equals
the chi-square(1) quantile, l_profile(b) the maximum over the other coefficients with the
term fixed at b (a fit with b x as offset). ``tests`` holds the global likelihood ratio
test (SAS "Testing Global Null Hypothesis: Likelihood Ratio"; R anova against the null
model) and, per term, ``lr_p`` the likelihood ratio test of dropping it (R drop1(test =
"LRT"); SAS Type 3 LR with LRCI) and ``score_p`` Rao's score test of its coefficient = 0 at
the fit without it (R anova(reduced, full, test = "Rao"); SAS TYPE3(SCORE)); for one binary
covariate it is the Pearson chi-square of the 2 x 2 table. ``test`` (wald, lr, score) picks
the one in the ``p`` column (maximum likelihood fits; Firth's fits keep Wald).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.stats._checks import check_choice, check_conf
from tlfgen.stats.cox import build_design, build_design_noted, cox_hr, cox_model  # noqa: F401 (build_design named here too)
from tlfgen.stats.results import CoxModelResult, HazardRatio, ModelNotEstimable, wald_terms

__all__ = [
    "CoxModelResult",
    "HazardRatio",
    "LogisticModelResult",
    "OddsRatio",
    "cox_hr",
    "cox_model",
    "logistic_model",
    "logistic_or",
]

LOGISTIC_LABEL = (
    "logistic regression, maximum likelihood, Wald CI and p "
    "(SAS PROC LOGISTIC Wald CL; R glm(family=binomial) with confint.default)"
)
PROFILE_LABEL = (
    "logistic regression, maximum likelihood, profile-likelihood CI, Wald p "
    "(SAS PROC LOGISTIC CLODDS=PL; R confint(glm))"
)
FIRTH_LABEL = (
    "Firth's penalised likelihood logistic regression, Wald CI and p "
    "(SAS PROC LOGISTIC MODEL / FIRTH; R logistf(pl = FALSE))"
)
P_TEXT = {"wald": "Wald p", "lr": "likelihood ratio p of each term (SAS TYPE3(LR); R drop1 LRT)",
          "score": "score p of each term (SAS TYPE3(SCORE); R anova test = 'Rao')"}
SEPARATION_NOTE = ("separation (a level with all or no responders): maximum likelihood has no finite estimate; "
                   "Firth's penalised likelihood used instead")


@dataclass(frozen=True)
class LogisticModelResult:
    """A fitted logistic model: one row per term (coef, se, or, lower, upper, p); no intercept row."""

    terms: pd.DataFrame
    n: int
    n_events: int
    method: str
    method_label: str
    conf: float = 0.95
    notes: tuple[str, ...] = ()
    #: "lr": global likelihood ratio test (statistic, df, p) of all terms = 0 (maximum likelihood fits)
    tests: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OddsRatio:
    """The odds ratio of one term (treatment vs reference) with its Wald CI and p."""

    odds_ratio: float
    lower: float
    upper: float
    p: float
    method: str
    method_label: str
    conf: float = 0.95


def logistic_model(
    df: pd.DataFrame,
    outcome_col: str,
    covariates: Sequence[str],
    *,
    conf: float = 0.95,
    references: dict[str, Any] | None = None,
    method: str = "ml",
    separation: str = "error",
    ci: str = "wald",
    test: str = "wald",
) -> LogisticModelResult:
    """Fit a logistic regression of a 0/1 outcome on ``covariates`` (with an intercept).

    ``method``: ``ml`` (maximum likelihood) or ``firth``. ``separation``: what to do when the
    maximum likelihood fit fails by separation, ``error`` (a DataError) or ``firth``.
    """
    from statsmodels.discrete.discrete_model import Logit  # not statsmodels.api: it imports all of statsmodels
    from statsmodels.tools.tools import add_constant
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    conf = check_conf(conf)
    check_choice(method, ("ml", "firth"), "method")
    check_choice(separation, ("error", "firth"), "separation")
    check_choice(ci, ("wald", "profile"), "ci")
    check_choice(test, tuple(P_TEXT), "test")
    if outcome_col not in df.columns:
        raise DataError(f"outcome column {outcome_col!r} is not in the data", column=outcome_col)
    y = df[outcome_col]
    if y.isna().any() or not set(pd.unique(y)) <= {0, 1}:
        raise DataError(
            f"outcome {outcome_col!r} must be coded 0/1 without missing values",
            column=outcome_col,
            hint="derive a 0/1 responder flag first (e.g. 1 if AVALC == 'Y')",
        )
    if not covariates:
        raise DataError("logistic_model needs at least one covariate", column="covariates")
    design, design_notes = build_design_noted(df, covariates, dict(references or {}))
    exog = add_constant(design.to_numpy(), has_constant="add")
    endog = y.astype(float).to_numpy()
    if method == "firth":
        return _firth_result(design, exog, endog, conf, design_notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            fit = Logit(y.astype(float).to_numpy(), exog).fit(disp=0)
        except (PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError) as exc:
            if separation == "firth":
                return _firth_result(design, exog, endog, conf, design_notes + (SEPARATION_NOTE,))
            raise DataError(
                f"logistic model for {outcome_col!r} on {list(covariates)} cannot be estimated: {exc}",
                column=outcome_col,
                hint="check for a covariate level with all or no responders (separation); "
                "fit Firth's penalised likelihood instead (method='firth', or separation='firth' "
                "in the table spec)",
            ) from exc
    terms = wald_terms(design.columns, np.asarray(fit.params)[1:], np.asarray(fit.bse)[1:], conf=conf, ratio="or")
    terms["lr_p"] = [_drop_one_lr_p(exog, endog, j, float(fit.llf)) for j in range(1, exog.shape[1])]
    terms["score_p"] = [_score_p(exog, endog, j) for j in range(1, exog.shape[1])]
    terms["wald_p"] = terms["p"]
    terms["p"] = terms[f"{test}_p"]
    label = LOGISTIC_LABEL
    if ci == "profile":
        limits = [_profile_limits(exog, endog, j, np.asarray(fit.params), np.asarray(fit.bse), float(fit.llf), conf)
                  for j in range(1, exog.shape[1])]
        terms["lower"] = [math.exp(lo) for lo, _ in limits]
        terms["upper"] = [math.exp(hi) for _, hi in limits]
        label = PROFILE_LABEL
    if test != "wald":
        label = label.replace("Wald p", P_TEXT[test]).replace("Wald CI and p", f"Wald CI, {P_TEXT[test]}")
    from scipy.stats import chi2

    lr = float(fit.llr)
    k = exog.shape[1] - 1
    return LogisticModelResult(
        terms=terms,
        n=len(df),
        n_events=int(y.sum()),
        method=f"logistic-{ci}",
        method_label=label,
        conf=conf,
        tests={"lr": (lr, k, float(chi2.sf(lr, k)))},
        notes=design_notes,
    )


def _loglik_with_fixed(exog: np.ndarray, endog: np.ndarray, j: int, value: float) -> float:
    """Maximum log-likelihood with coefficient ``j`` fixed at ``value`` (offset fit of the others)."""
    from statsmodels.discrete.discrete_model import Logit

    others = np.delete(exog, j, axis=1)
    offset = value * exog[:, j]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = Logit(endog, others, offset=offset).fit(disp=0, maxiter=200)
    return float(fit.llf)


def _drop_one_lr_p(exog: np.ndarray, endog: np.ndarray, j: int, llf: float) -> float:
    """Likelihood ratio p-value of dropping term ``j`` (coefficient fixed at 0)."""
    from scipy.stats import chi2

    stat = max(0.0, 2.0 * (llf - _loglik_with_fixed(exog, endog, j, 0.0)))
    return float(chi2.sf(stat, 1))


def _score_p(exog: np.ndarray, endog: np.ndarray, j: int) -> float:
    """Rao score p-value of coefficient ``j`` = 0, at the maximum likelihood fit without term ``j``."""
    from scipy.stats import chi2
    from statsmodels.discrete.discrete_model import Logit

    others = np.delete(exog, j, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduced = Logit(endog, others).fit(disp=0, maxiter=200)
    start = np.insert(np.asarray(reduced.params, dtype=float), j, 0.0)
    full = Logit(endog, exog)
    u = np.asarray(full.score(start), dtype=float)
    stat = float(u @ np.linalg.solve(-np.asarray(full.hessian(start), dtype=float), u))
    return float(chi2.sf(stat, 1))


def _profile_limits(exog: np.ndarray, endog: np.ndarray, j: int, params: np.ndarray, bse: np.ndarray,
                    llf: float, conf: float) -> tuple[float, float]:
    """Profile-likelihood limits of coefficient ``j`` (log scale); NaN where the profile never rises enough."""
    from scipy.optimize import brentq
    from scipy.stats import chi2

    cut = float(chi2.ppf(conf, 1)) / 2.0
    centre, step = float(params[j]), float(bse[j])

    def excess(b: float) -> float:
        return llf - _loglik_with_fixed(exog, endog, j, b) - cut

    limits = []
    for sign in (-1.0, 1.0):
        far = centre
        for k in range(1, 40):
            far = centre + sign * step * k
            if excess(far) > 0.0:
                break
        else:
            limits.append(math.nan)
            continue
        limits.append(float(brentq(excess, centre, far, xtol=1e-12)))
    return limits[0], limits[1]


def _firth_result(design: pd.DataFrame, exog: np.ndarray, endog: np.ndarray, conf: float,
                  notes: tuple[str, ...]) -> LogisticModelResult:
    try:
        beta, cov = fit_firth(exog, endog)
    except np.linalg.LinAlgError as exc:
        raise ModelNotEstimable(
            f"Firth logistic regression on {list(design.columns)} cannot be estimated: its information matrix "
            f"is singular ({exog.shape[0]} subjects for {exog.shape[1]} parameters, or covariates that move together)",
            hint="fit fewer covariates, or merge sparse levels") from exc
    se = np.sqrt(np.diag(cov))
    terms = wald_terms(design.columns, beta[1:], se[1:], conf=conf, ratio="or")
    return LogisticModelResult(terms=terms, n=int(endog.size), n_events=int(endog.sum()), method="logistic-firth",
                               method_label=FIRTH_LABEL, conf=conf, notes=notes)


def fit_firth(exog: np.ndarray, endog: np.ndarray, *, max_iter: int = 100,
              tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Firth's penalised maximum likelihood for logistic regression: (coefficients, covariance).

    Newton steps on the modified score with step halving on the penalised log-likelihood
    (the logistf algorithm); the covariance is the inverse Fisher information at the estimate.
    """
    from scipy.special import expit

    x = np.asarray(exog, dtype=float)
    y = np.asarray(endog, dtype=float)

    def penalised(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        pi = expit(x @ beta)
        w = pi * (1.0 - pi)
        info = x.T @ (x * w[:, None])
        sign, logdet = np.linalg.slogdet(info)
        with np.errstate(divide="ignore"):
            ll = float(np.sum(y * np.log(pi) + (1.0 - y) * np.log1p(-pi)))
        return ll + 0.5 * logdet if sign > 0 else -math.inf, pi, w, info

    beta = np.zeros(x.shape[1])
    value, pi, w, info = penalised(beta)
    for _ in range(max_iter):
        cov = np.linalg.inv(info)
        step = cov @ _firth_score(x, y, pi, w, cov)
        for _halving in range(30):
            new_value, new_pi, new_w, new_info = penalised(beta + step)
            if new_value >= value - 1e-12:
                break
            step = step / 2.0
        beta = beta + step
        value, pi, w, info = new_value, new_pi, new_w, new_info
        if np.max(np.abs(step)) < tol:
            break
    else:
        # The strict step rule can stall at rounding noise (steps ~1e-8 that never shrink) on a
        # fit that has converged; accept it by logistf's rules (xconv 1e-4, gconv 1e-5).
        score = _firth_score(x, y, pi, w, np.linalg.inv(info))
        if not (np.max(np.abs(step)) < FIRTH_XCONV and np.max(np.abs(score)) < FIRTH_GCONV):
            raise ModelNotEstimable(f"Firth logistic regression did not converge in {max_iter} iterations",
                                    hint="check the covariates for collinearity")
    return beta, np.linalg.inv(info)


FIRTH_XCONV = 1e-4
FIRTH_GCONV = 1e-5


def _firth_score(x: np.ndarray, y: np.ndarray, pi: np.ndarray, w: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Firth's modified score U*(beta) = X'(y - pi + h(1/2 - pi)), h the hat diagonal (``cov``: the
    inverse Fisher information)."""
    root_w = np.sqrt(w)[:, None]
    hat = np.einsum("ij,jk,ik->i", x * root_w, cov, x * root_w)
    return x.T @ (y - pi + hat * (0.5 - pi))


def logistic_or(
    df: pd.DataFrame,
    outcome_col: str,
    covariates: Sequence[str],
    *,
    treatment_col: str,
    treatment: Any | None = None,
    reference: Any | None = None,
    conf: float = 0.95,
) -> OddsRatio:
    """Odds ratio of ``treatment_col`` from a model of treatment + ``covariates``.

    Empty ``covariates`` gives the univariable OR. A numeric ``treatment_col``
    gives the OR per unit (code 1 = treatment); otherwise pass the levels.
    """
    others = [c for c in covariates if c != treatment_col]
    refs: dict[str, Any] = {}
    term = treatment_col
    if treatment is not None or reference is not None:
        if treatment is None or reference is None:
            raise DataError("give both treatment and reference levels, or neither", column=treatment_col)
        refs[treatment_col] = reference
        term = f"{treatment_col}={treatment}"
    fit = logistic_model(df, outcome_col, [treatment_col, *others], conf=conf, references=refs)
    table = fit.terms.set_index("term")
    if term not in table.index:
        raise DataError(
            f"term {term!r} not in the model; terms are {list(table.index)}", column=treatment_col
        )
    row = table.loc[term]
    kind = "univariable" if not others else f"multivariable (adjusted for {', '.join(others)})"
    return OddsRatio(
        odds_ratio=float(row["or"]),
        lower=float(row["lower"]),
        upper=float(row["upper"]),
        p=float(row["p"]),
        method=fit.method,
        method_label=f"{kind} {fit.method_label}",
        conf=conf,
    )
