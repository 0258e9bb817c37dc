"""Statistics layer: Cox proportional hazards models (statsmodels ``PHReg``).

Breslow ties by default (SAS PROC PHREG's default), Efron as an option (R
coxph's default). Wald CIs and p-values, as PROC PHREG's parameter estimates
table prints them. Non-numeric covariates become 0/1 dummies against a
reference level; term names are ``COL=LEVEL``.

The global tests of PROC PHREG's "Testing Global Null Hypothesis: BETA=0" table
and of R's summary(coxph) are returned too: likelihood ratio, score (log-rank
for one binary covariate) and Wald.

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
from tlfgen.stats.results import CoxModelResult, HazardRatio, wald_terms

COX_LABELS = {
    "breslow": "Cox proportional hazards, Breslow ties, Wald CI and p "
    "(SAS PROC PHREG default TIES=BRESLOW)",
    "efron": "Cox proportional hazards, Efron ties, Wald CI and p "
    "(R coxph default; SAS TIES=EFRON)",
}


def build_design(
    df: pd.DataFrame, covariates: Sequence[str], references: dict[str, Any]
) -> pd.DataFrame:
    """Numeric design matrix: numeric columns as-is, others as 0/1 dummies vs a reference."""
    parts = []
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
        if ref not in levels:
            raise DataError(f"reference {ref!r} is not a level of {col!r}: {levels}", column=col)
        for level in levels:
            if level != ref:
                parts.append((series == level).astype(float).rename(f"{col}={level}"))
    return pd.concat(parts, axis=1)


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
) -> CoxModelResult:
    """Fit a Cox model with statsmodels ``PHReg``; one row per term.

    Non-numeric covariates (and any named in ``references``) become 0/1
    dummies against the reference level (default: first level in sorted
    order); term names are ``COL=LEVEL``. CIs and p-values are Wald, as SAS
    PROC PHREG's parameter estimates table prints them.
    """
    from statsmodels.duration.hazard_regression import PHReg  # not statsmodels.api: it imports all of statsmodels

    check_choice(ties, tuple(COX_LABELS), "ties")
    check_conf(conf)
    for col in (duration_col, event_col):
        if col not in df.columns:
            raise DataError(f"column {col!r} is not in the data", column=col)
    time, event = as_time_event(df[duration_col], df[event_col])
    if not covariates:
        raise DataError("cox_model needs at least one covariate", column="covariates")
    design = build_design(df, covariates, dict(references or {}))
    strata = None if strata_col is None else as_labels(df[strata_col], strata_col, len(df))
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
    notes = tuple(
        f"{name}: estimate infinite (monotone likelihood; R coxph: 'coefficient may be infinite'), "
        "printed NE" for name, flag in zip(design.columns, infinite, strict=True) if flag
    )
    return CoxModelResult(
        terms=terms,
        n=int(time.size),
        n_events=int(event.sum()),
        ties=ties,
        method=f"cox-{ties}",
        method_label=COX_LABELS[ties],
        conf=conf,
        tests=_global_tests(model, beta, np.asarray(fit.cov_params(), dtype=float), infinite),
        notes=notes,
    )


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
