"""Tests for tlfgen.stats.regression (logistic odds ratios; Cox re-exports)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy.stats import norm

from tlfgen.errors import DataError
from tlfgen.stats import survival
from tlfgen.stats.regression import cox_hr, logistic_model, logistic_or


def orr_frame() -> pd.DataFrame:
    # The paper's ORR: TCAC 27/30, TCC 13/30 responders.
    return pd.DataFrame(
        {
            "arm": ["TCAC"] * 30 + ["TCC"] * 30,
            "orr": [1] * 27 + [0] * 3 + [1] * 13 + [0] * 17,
            "ecog": ([0, 1] * 15) + ([1, 0, 0] * 10),
        }
    )


# 1. Univariable OR equals the cross-product ratio with the Woolf (Wald) SE, by hand:
#    OR = (27*17)/(3*13) = 459/39 = 11.769231; SE(ln OR) = sqrt(1/27 + 1/3 + 1/13 + 1/17) = 0.711419.
def test_univariable_or_matches_2x2_hand_values():
    res = logistic_or(orr_frame(), "orr", [], treatment_col="arm", treatment="TCAC", reference="TCC")
    log_or = math.log(459 / 39)
    se = math.sqrt(1 / 27 + 1 / 3 + 1 / 13 + 1 / 17)
    assert res.odds_ratio == pytest.approx(459 / 39, rel=1e-6)
    assert res.lower == pytest.approx(math.exp(log_or - 1.959964 * se), rel=1e-5)
    assert res.upper == pytest.approx(math.exp(log_or + 1.959964 * se), rel=1e-5)
    assert res.p == pytest.approx(2 * norm.sf(log_or / se), rel=1e-5)
    assert round(res.odds_ratio, 2) == 11.77
    assert res.method_label.startswith("univariable logistic regression")


# 2. Multivariable model: term names, reference coding and the adjusted label.
def test_multivariable_terms_and_reference():
    fit = logistic_model(orr_frame(), "orr", ["arm", "ecog"], references={"arm": "TCC"})
    assert fit.terms["term"].tolist() == ["arm=TCAC", "ecog"]
    assert (fit.n, fit.n_events) == (60, 40)
    adjusted = logistic_or(
        orr_frame(), "orr", ["ecog"], treatment_col="arm", treatment="TCAC", reference="TCC"
    )
    assert adjusted.odds_ratio == pytest.approx(float(fit.terms["or"].iloc[0]))
    assert "adjusted for ecog" in adjusted.method_label


# 3. Bad outcomes and separation raise DataError.
def test_outcome_must_be_01():
    df = orr_frame().assign(orr=lambda d: d["orr"] * 2)
    with pytest.raises(DataError, match="must be coded 0/1"):
        logistic_model(df, "orr", ["arm"])


def test_perfect_separation_is_reported():
    df = pd.DataFrame({"arm": [1] * 5 + [0] * 5, "y": [1] * 5 + [0] * 5})
    with pytest.raises(DataError, match="cannot be estimated"):
        logistic_model(df, "y", ["arm"])


# 4. Cox functions are the survival module's, re-exported.
def test_cox_reexported():
    assert cox_hr is survival.cox_hr


# --- issue 19: separation handled by Firth's penalised likelihood --------------------------------

# 5. For one binary covariate (a 2x2 table) Firth's estimate equals the log odds ratio with 1/2 added
#    to every cell (Firth 1993, Biometrika 80:27; Heinze & Schemper 2002, Stat Med 21:2409, sec. 2).
#    Arm 1: 10/10 responders (separation), arm 0: 5/10. Firth OR = (10.5 * 5.5) / (0.5 * 5.5) = 21.
#    Wald SE from the information at the fitted probabilities 10.5/11 and 5.5/11:
#    sqrt(1 / (10 * 10.5/11 * 0.5/11) + 1 / (10 * 0.25)) = sqrt(2.304762 + 0.4) = 1.644616.
def test_firth_2x2_equals_half_added_odds_ratio():
    df = pd.DataFrame({"arm": [1] * 10 + [0] * 10, "y": [1] * 10 + [1] * 5 + [0] * 5})
    with pytest.raises(DataError, match="Firth's penalised likelihood instead"):
        logistic_model(df, "y", ["arm"])
    fit = logistic_model(df, "y", ["arm"], separation="firth")
    row = fit.terms.iloc[0]
    assert round(row["or"], 6) == 21.0
    assert round(row["se"], 6) == 1.644616
    assert fit.method == "logistic-firth" and "SAS PROC LOGISTIC MODEL / FIRTH" in fit.method_label
    assert "separation" in fit.notes[0]
    # Without separation Firth still shrinks: 27/30 vs 13/30 -> (27.5 * 17.5) / (3.5 * 13.5) = 10.185185.
    df2 = pd.DataFrame({"arm": [1] * 30 + [0] * 30, "y": [1] * 27 + [0] * 3 + [1] * 13 + [0] * 17})
    assert round(logistic_model(df2, "y", ["arm"], method="firth").terms.iloc[0]["or"], 6) == 10.185185


# --- issue 19: profile-likelihood CIs and likelihood ratio tests ----------------------------------

def _budworm() -> pd.DataFrame:
    """Venables & Ripley, MASS (4th ed.) sec. 7.2, the budworm data expanded to one row per moth:
    ldose 0..5 per sex, 20 moths each; numdead M 1 4 9 13 18 20, F 0 2 6 10 12 16."""
    dead = [1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16]
    rows = []
    for ldose, sex, k in zip(list(range(6)) * 2, ["M"] * 6 + ["F"] * 6, dead, strict=True):
        rows += [(ldose, sex, 1)] * k + [(ldose, sex, 0)] * (20 - k)
    return pd.DataFrame(rows, columns=["ldose", "sex", "y"])


# 6. R (MASS): budworm.lg0 <- glm(SF ~ sex + ldose - 1, family = binomial) has ldose 1.0642 (sexF -3.4732,
#    sexM -2.3724, so M vs F 1.101); confint(budworm.lg0, "ldose") prints 0.8228708 1.3390581. MASS
#    interpolates a spline through the profile; the exact roots computed here agree to 3 decimals.
def test_profile_likelihood_ci_matches_r_confint_budworm():
    fit = logistic_model(_budworm(), "y", ["sex", "ldose"], ci="profile", references={"sex": "F"})
    row = fit.terms.set_index("term").loc["ldose"]
    assert round(row["coef"], 4) == 1.0642
    assert round(fit.terms.set_index("term").loc["sex=M", "coef"], 3) == 1.101  # -2.3724 - -3.4732, rounded
    assert (round(math.log(row["lower"]), 3), round(math.log(row["upper"]), 3)) == (0.823, 1.339)
    assert fit.method == "logistic-profile" and "CLODDS=PL" in fit.method_label


# 7. Likelihood ratio tests. For one binary covariate the model LR statistic is the G^2 statistic of the
#    2 x 2 table (an identity, computed by scipy from the table): 27/30 vs 13/30.
def test_likelihood_ratio_equals_g2_of_the_table():
    from scipy.stats import chi2_contingency

    df = pd.DataFrame({"arm": [1] * 30 + [0] * 30, "y": [1] * 27 + [0] * 3 + [1] * 13 + [0] * 17})
    fit = logistic_model(df, "y", ["arm"])
    g2 = chi2_contingency([[27, 3], [13, 17]], correction=False, lambda_="log-likelihood")
    assert fit.tests["lr"][0] == pytest.approx(g2.statistic, rel=1e-9)
    assert fit.tests["lr"][2] == pytest.approx(g2.pvalue, rel=1e-9)
    assert fit.terms.iloc[0]["lr_p"] == pytest.approx(g2.pvalue, rel=1e-6)


# 8. The test of each term: for one binary covariate Rao's score test is the Pearson chi-square of the 2 x 2
#    table (scipy, no continuity correction) and the likelihood ratio test its G^2; the Wald p of 27/30 vs
#    13/30 is 0.00053 (z = 3.4645, hand-worked from the counts).
def test_term_test_choice_score_is_pearson_chi_square():
    from scipy.stats import chi2_contingency

    df = pd.DataFrame({"arm": [1] * 30 + [0] * 30, "y": [1] * 27 + [0] * 3 + [1] * 13 + [0] * 17})
    pearson = chi2_contingency([[27, 3], [13, 17]], correction=False).pvalue
    g2 = chi2_contingency([[27, 3], [13, 17]], correction=False, lambda_="log-likelihood").pvalue
    score = logistic_model(df, "y", ["arm"], test="score")
    assert score.terms.iloc[0]["p"] == pytest.approx(pearson, rel=1e-9)
    assert "TYPE3(SCORE)" in score.method_label
    assert logistic_model(df, "y", ["arm"], test="lr").terms.iloc[0]["p"] == pytest.approx(g2, rel=1e-6)
    wald = logistic_model(df, "y", ["arm"]).terms.iloc[0]
    assert round(wald["p"], 5) == 0.00053 and wald["p"] == wald["wald_p"]
    with pytest.raises(DataError, match="test"):
        logistic_model(df, "y", ["arm"], test="exact")


# 14 subjects, 7 binary covariates: from a simulated 8-per-arm study whose Firth fit stalled at
# steps of ~1.6e-8 (rounding noise) and used to end the run with "did not converge".
_STALLING_X = [[1, 1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0, 1], [1, 0, 0, 1, 1, 0, 1], [1, 0, 0, 0, 1, 0, 1],
               [1, 1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 1, 0, 1], [1, 0, 1, 1, 0, 1, 0], [0, 0, 0, 1, 1, 1, 0],
               [0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 0, 1], [0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1, 0],
               [0, 0, 0, 1, 0, 1, 0], [0, 0, 0, 0, 1, 1, 0]]
_STALLING_Y = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0]


def test_firth_fit_stalled_at_rounding_noise_is_accepted_at_the_penalised_maximum():
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import expit

    from tlfgen.stats.regression import fit_firth

    x = np.column_stack([np.ones(len(_STALLING_X)), np.asarray(_STALLING_X, dtype=float)])
    y = np.asarray(_STALLING_Y, dtype=float)
    beta, _cov = fit_firth(x, y)

    def negative_penalised(b: np.ndarray) -> float:
        pi = expit(x @ b)
        info = x.T @ (x * (pi * (1.0 - pi))[:, None])
        return -(float(np.sum(y * np.log(pi) + (1.0 - y) * np.log1p(-pi))) + 0.5 * np.linalg.slogdet(info)[1])

    # Independent maximiser of Firth's penalised likelihood (Firth 1993): BFGS from zero.
    independent = minimize(negative_penalised, np.zeros(x.shape[1]), method="BFGS", options={"gtol": 1e-9})
    assert np.max(np.abs(beta - independent.x)) < 1e-4


def test_absent_reference_level_is_noted_for_the_footnotes():
    frame = orr_frame().assign(site=lambda d: ["upper" if i % 2 else "middle" for i in range(len(d))])
    declared = logistic_model(frame, "orr", ["arm", "site"], references={"arm": "TCC", "site": "lower"})
    default = logistic_model(frame, "orr", ["arm", "site"], references={"arm": "TCC"})
    assert declared.terms["term"].tolist() == ["arm=TCAC", "site=upper vs middle"]
    pd.testing.assert_frame_equal(declared.terms.drop(columns="term"), default.terms.drop(columns="term"))
    assert declared.notes == ("site: no subject has the reference level 'lower', so the comparisons with it are "
                              "not estimable; the model uses 'middle' (the first level present) as reference",)
