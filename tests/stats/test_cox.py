"""Tests for tlfgen.stats.cox against R coxph output for the `aml` data.

Reference: coxph(Surv(time, status) ~ x, aml) (Efron ties): coef 0.9155,
exp(coef) 2.4981, se(coef) 0.5119, z 1.788, p 0.0737.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.stats.cox import cox_hr, cox_model

MAINT_T = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
MAINT_E = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
NONM_T = [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
NONM_E = [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]


def aml_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": MAINT_T + NONM_T,
            "status": MAINT_E + NONM_E,
            "x": ["Maintained"] * 11 + ["Nonmaintained"] * 12,
        }
    )


# 1. Cox (Efron) matches R coxph; Breslow is the default and differs slightly.
def test_cox_hr_efron_matches_r_coxph():
    res = cox_hr(
        aml_frame(), "time", "status", [], treatment_col="x",
        treatment="Nonmaintained", reference="Maintained", ties="efron",
    )
    assert round(math.log(res.hr), 4) == 0.9155
    assert round(res.hr, 4) == 2.4981
    assert round(res.p, 4) == 0.0737
    assert res.method == "cox-efron"
    assert res.method_label.startswith("univariable")
    table = cox_model(aml_frame(), "time", "status", ["x"], ties="efron").terms
    assert table["term"].tolist() == ["x=Nonmaintained"]
    assert round(float(table["se"].iloc[0]), 4) == 0.5119


# 2. Breslow is the default.
def test_cox_model_breslow_default():
    fit = cox_model(aml_frame(), "time", "status", ["x"])
    assert fit.ties == "breslow" and "TIES=BRESLOW" in fit.method_label
    assert (fit.n, fit.n_events) == (23, 18)
    # Regression value (statsmodels PHReg, Breslow); no published reference at hand.
    assert round(float(fit.terms["coef"].iloc[0]), 4) == 0.9042


# 3. Multivariable Efron model agrees with lifelines CoxPHFitter (an independent implementation).
def test_cox_model_multivariable_agrees_with_lifelines():
    from lifelines import CoxPHFitter

    df = aml_frame()
    df["arm"] = (df["x"] == "Nonmaintained").astype(float)
    df["z"] = [0.3, 1.2, -0.5, 0.8, 0.0, 1.5, -1.1, 0.4, 0.9, -0.2, 0.6,
               1.1, -0.7, 0.2, 0.5, -0.4, 1.3, 0.1, -0.9, 0.7, 0.3, -0.6, 1.0]
    ours = cox_model(df, "time", "status", ["arm", "z"], ties="efron").terms.set_index("term")
    ref = CoxPHFitter().fit(df[["time", "status", "arm", "z"]], "time", "status")
    for term in ("arm", "z"):
        assert ours.loc[term, "coef"] == pytest.approx(ref.params_[term], abs=1e-5)
        assert ours.loc[term, "se"] == pytest.approx(ref.standard_errors_[term], abs=1e-5)
    hr = cox_hr(df, "time", "status", ["z"], treatment_col="arm", ties="efron")
    assert hr.hr == pytest.approx(math.exp(ref.params_["arm"]), rel=1e-5)
    assert "adjusted for z" in hr.method_label


# 4. Input errors.
def test_cox_input_errors():
    with pytest.raises(DataError, match="pass treatment= and reference="):
        cox_hr(aml_frame(), "time", "status", [], treatment_col="x")
    with pytest.raises(DataError, match="'age' is not a column"):
        cox_model(aml_frame(), "time", "status", ["age"])
    with pytest.raises(DataError, match="unknown ties 'exact'"):
        cox_model(aml_frame(), "time", "status", ["x"], ties="exact")
    with pytest.raises(DataError, match="nothing to estimate"):
        cox_model(aml_frame().assign(x="Maintained"), "time", "status", ["x"])


# 4b. A declared reference level nobody has (a small study with no PD-L1 < 1): the first level
#     present is the model's reference, its terms are renamed (no table row shows them) and a note says so.
def test_absent_reference_level_falls_back_to_the_first_level_with_a_note():
    declared = cox_model(aml_frame(), "time", "status", ["x"], references={"x": "Other"})
    default = cox_model(aml_frame(), "time", "status", ["x"])
    assert declared.terms["term"].tolist() == ["x=Nonmaintained vs Maintained"]
    assert default.terms["term"].tolist() == ["x=Nonmaintained"]
    pd.testing.assert_frame_equal(declared.terms.drop(columns="term"), default.terms.drop(columns="term"))
    assert declared.notes == ("x: no subject has the reference level 'Other', so the comparisons with it are "
                              "not estimable; the model uses 'Maintained' (the first level present) as reference",)
    assert default.notes == ()


# --- issue 19 ---------------------------------------------------------------------------------

# 5. Global tests match R summary(coxph(Surv(time, status) ~ x, data = aml)) (Efron):
#    "Likelihood ratio test= 3.38 on 1 df", "Wald test = 3.2 on 1 df",
#    "Score (logrank) test = 3.42 on 1 df" (print(coxph) gives p=0.06581 for the LR test).
def test_global_tests_match_r_summary_coxph():
    fit = cox_model(aml_frame(), "time", "status", ["x"], ties="efron")
    assert round(fit.tests["lr"].statistic, 2) == 3.38
    assert round(fit.tests["lr"].p, 5) == 0.06581
    assert round(fit.tests["score"].statistic, 2) == 3.42
    assert round(fit.tests["wald"].statistic, 1) == 3.2
    assert fit.tests["lr"].df == 1
    assert "Score (logrank) test" in fit.tests["score"].label
    assert not fit.terms["infinite"].any() and fit.notes == ()


# 6. An arm without events: the Cox estimate is infinite (R coxph warns "coefficient may be
#    infinite"); tlfgen flags it, cox_hr returns NE with a note, no exception, no 5.7e11.
def test_infinite_estimate_flagged():
    df = aml_frame()
    df.loc[df["x"] == "Maintained", "status"] = 0
    fit = cox_model(df, "time", "status", ["x"], ties="efron")
    assert fit.terms["infinite"].tolist() == [True]
    assert "coefficient may be infinite" in fit.notes[0]
    assert math.isnan(fit.tests["wald"].statistic)
    hr = cox_hr(df, "time", "status", [], treatment_col="x", treatment="Nonmaintained",
                reference="Maintained", ties="efron")
    assert math.isnan(hr.hr) and not hr.estimable
    assert "infinite" in hr.note
    assert 0.0 < hr.p < 0.05  # likelihood ratio p, defined


# 7. Proportional-hazards check (scaled Schoenfeld residuals) on the Rossi recidivism data bundled with
#    lifelines (the data of R's Rossi, Fox & Weisberg; coxph coefficients fin -0.3794, prio 0.0915 agree).
#    lifelines documentation, "Testing the proportional hazard assumptions", check of the full model:
#    age km 11.03 / rank 11.45, wexp km 7.48 / rank 7.31, fin km 0.02, p for age < 0.005.
def test_ph_test_matches_lifelines_documented_rossi():
    from lifelines.datasets import load_rossi

    from tlfgen.stats.cox import ph_test

    rossi = load_rossi()
    covs = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    km = ph_test(rossi, "week", "arrest", covs).set_index("term")
    rank = ph_test(rossi, "week", "arrest", covs, transform="rank").set_index("term")
    assert (round(km.loc["age", "statistic"], 2), round(rank.loc["age", "statistic"], 2)) == (11.03, 11.45)
    assert (round(km.loc["wexp", "statistic"], 2), round(rank.loc["wexp", "statistic"], 2)) == (7.48, 7.31)
    assert round(km.loc["fin", "statistic"], 2) == 0.02
    assert km.loc["age", "p"] < 0.005
    assert "cox.zph" in km.loc["age", "method"]


# 8. A multivariable Cox model matches R: Fox & Weisberg, "Cox Proportional-Hazards Regression for Survival
#    Data in R" (appendix to An R Companion to Applied Regression), mod.allison <- coxph(Surv(week, arrest) ~
#    fin + age + race + wexp + mar + paro + prio, data = Rossi): coef fin -0.37942 (se 0.19138, p 0.04742),
#    age -0.05744 (0.02200, 0.00903), prio 0.09150 (0.02865, 0.00140); "Likelihood ratio test=33.27 on 7 df,
#    p=2.362e-05", "Wald test = 32.11", "Score (logrank) test = 33.53". Rossi is bundled with lifelines.
def test_cox_model_matches_r_coxph_rossi():
    from lifelines.datasets import load_rossi

    fit = cox_model(load_rossi(), "week", "arrest", ["fin", "age", "race", "wexp", "mar", "paro", "prio"],
                    ties="efron")
    terms = fit.terms.set_index("term").round(5)
    assert tuple(terms.loc["fin", ["coef", "se", "p"]]) == (-0.37942, 0.19138, 0.04742)
    assert tuple(terms.loc["age", ["coef", "se", "p"]]) == (-0.05744, 0.02200, 0.00903)
    assert tuple(terms.loc["prio", ["coef", "se", "p"]]) == (0.09150, 0.02865, 0.00140)
    assert (round(fit.tests["lr"].statistic, 2), fit.tests["lr"].df) == (33.27, 7)
    assert f"{fit.tests['lr'].p:.3e}" == "2.362e-05"
    assert round(fit.tests["wald"].statistic, 2) == 32.11 and round(fit.tests["score"].statistic, 2) == 33.53


# 9. The test of each term (SAS PHREG TYPE3(LR) / TYPE3(SCORE)). With one covariate the term tests are the
#    global tests of R summary(coxph) (aml, Efron: LR p 0.06581, score 3.42 on 1 df). In the Rossi model the
#    likelihood ratio p of each term equals the one from lifelines fits with and without the term (an
#    independent implementation: 2 (l_full - l_reduced) on 1 df).
def test_term_tests_match_global_tests_and_lifelines_drop_one():
    from lifelines import CoxPHFitter
    from lifelines.datasets import load_rossi
    from scipy.stats import chi2

    fit = cox_model(aml_frame(), "time", "status", ["x"], ties="efron", test="score")
    row = fit.terms.iloc[0]
    assert row["p"] == pytest.approx(fit.tests["score"].p, rel=1e-9) == row["score_p"]
    assert round(chi2.isf(row["score_p"], 1), 2) == 3.42
    assert round(row["lr_p"], 5) == 0.06581 and round(row["wald_p"], 4) == 0.0737
    assert "TYPE3(SCORE)" in fit.method_label
    rossi = load_rossi()
    covs = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    terms = cox_model(rossi, "week", "arrest", covs, ties="efron", test="lr").terms.set_index("term")
    full = CoxPHFitter().fit(rossi, "week", "arrest").log_likelihood_
    for col in ("fin", "age", "prio"):
        reduced = CoxPHFitter().fit(rossi.drop(columns=col), "week", "arrest").log_likelihood_
        assert terms.loc[col, "p"] == pytest.approx(chi2.sf(2 * (full - reduced), 1), rel=1e-5)


# 10. Without tied times the score test of a binary covariate is the log-rank test (lifelines logrank_test).
def test_term_score_test_is_the_logrank_test_without_ties():
    from lifelines.statistics import logrank_test

    t1, e1 = [3, 7, 11, 14, 20, 26, 31, 40], [1, 1, 0, 1, 1, 0, 1, 0]
    t0, e0 = [2, 4, 6, 9, 12, 15, 18, 22, 25], [1, 1, 1, 0, 1, 1, 1, 1, 0]
    df = pd.DataFrame({"t": t1 + t0, "e": e1 + e0, "arm": ["A"] * 8 + ["B"] * 9})
    row = cox_model(df, "t", "e", ["arm"], references={"arm": "B"}, test="score").terms.iloc[0]
    assert row["p"] == pytest.approx(logrank_test(t1, t0, e1, e0).p_value, rel=1e-9)


def _breslow_loglik(time: list, event: list, x: list, b: float) -> float:
    """Breslow log partial likelihood of one covariate, written out (no ties handling needed: Breslow)."""
    total = 0.0
    for ti, ei, xi in zip(time, event, x, strict=True):
        if ei:
            total += b * xi - math.log(sum(math.exp(b * xj) for tj, xj in zip(time, x, strict=True) if tj >= ti))
    return total


# 11. Profile-likelihood CI (SAS PHREG RISKLIMITS=PL). At each limit the log partial likelihood, written out
#     by hand above, is chi2(0.95, 1) / 2 = 1.92073 below its maximum; the limits bracket the estimate and lie
#     near the Wald limits (aml: Wald 0.916-6.81 on the HR scale, Breslow).
def test_profile_ci_is_where_the_likelihood_drops_by_the_chi_square_quantile():
    df = aml_frame()
    x = [1.0 if v == "Nonmaintained" else 0.0 for v in df["x"]]
    wald = cox_model(df, "time", "status", ["x"]).terms.iloc[0]
    pl = cox_model(df, "time", "status", ["x"], ci="profile").terms.iloc[0]
    top = _breslow_loglik(df["time"].tolist(), df["status"].tolist(), x, pl["coef"])
    for limit in (pl["lower"], pl["upper"]):
        drop = 2 * (top - _breslow_loglik(df["time"].tolist(), df["status"].tolist(), x, math.log(limit)))
        assert round(drop, 4) == 3.8415
    assert pl["lower"] < pl["hr"] < pl["upper"]
    assert abs(math.log(pl["lower"]) - math.log(wald["lower"])) < 0.1
    assert abs(math.log(pl["upper"]) - math.log(wald["upper"])) < 0.1
    assert (pl["hr"], pl["p"]) == (wald["hr"], wald["p"])


# 12. Profile limits in a multivariable model (Rossi, Efron): the other coefficients are re-maximised at each
#     limit, checked here by scipy minimising the full log partial likelihood with the coefficient held fixed
#     (not the offset refit the code uses); the profile CI is close to R's Wald CI for fin, 0.4680-1.0004
#     (exp(-0.37942 -/+ 1.96 * 0.19138)).
def test_profile_ci_multivariable_rossi():
    import numpy as np
    from lifelines.datasets import load_rossi
    from scipy.optimize import minimize
    from statsmodels.duration.hazard_regression import PHReg

    rossi = load_rossi()
    covs = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    fit = cox_model(rossi, "week", "arrest", covs, ties="efron", ci="profile")
    row = fit.terms.set_index("term").loc["fin"]
    model = PHReg(rossi["week"].to_numpy(float), rossi[covs].to_numpy(float), status=rossi["arrest"].to_numpy(float),
                  ties="efron")
    beta = fit.terms["coef"].to_numpy()
    top = model.loglike(beta)
    for limit in (row["lower"], row["upper"]):
        def neg(others, b=math.log(limit)):
            return -model.loglike(np.insert(others, 0, b))
        best = minimize(neg, beta[1:], method="BFGS", options={"gtol": 1e-8})
        assert round(2 * (top + best.fun), 3) == 3.841
    assert (round(row["lower"], 2), round(row["upper"], 2)) == (0.47, 0.99)  # Wald 0.47-1.00
    assert "RISKLIMITS=PL" in fit.method_label


# 4c. Two covariates that move together: R coxph says "X matrix deemed to be singular" and gives
#     NA; tlfgen raises ModelNotEstimable, which tables print as NE with the reason.
def test_singular_design_is_not_estimable_and_tables_print_it_ne():
    from tlfgen.stats.results import ModelNotEstimable
    from tlfgen.tlf.estimates import fit_terms

    frame = aml_frame().assign(x2=lambda d: d["x"])
    with pytest.raises(ModelNotEstimable, match="information matrix is singular"):
        cox_model(frame, "time", "status", ["x", "x2"])
    terms, _label, notes = fit_terms("cox", frame, ["time", "status"], ["x", "x2"], {}, "breslow")
    assert terms["term"].tolist() == ["x=Nonmaintained", "x2=Nonmaintained"]
    assert terms[["est", "lower", "upper", "p"]].isna().all().all()
    assert len(notes) == 1 and notes[0].startswith("not estimable: the Cox model") and notes[0].endswith("printed NE")


# 10. Without the per-term refits (term_tests=False, as the tables ask: they print only the Wald p) the
#     Wald estimates are those R prints (aml, Efron: Wald p 0.0737) and the LR and score p are not
#     computed; with test="lr" or "score" they are computed all the same (R: LR p 0.06581).
def test_term_tests_off_skips_only_what_the_wald_test_does_not_need():
    full = cox_model(aml_frame(), "time", "status", ["x"], ties="efron")
    wald = cox_model(aml_frame(), "time", "status", ["x"], ties="efron", term_tests=False)
    assert round(wald.terms.iloc[0]["p"], 4) == 0.0737
    kept = ["term", "coef", "se", "hr", "lower", "upper", "p", "wald_p"]
    pd.testing.assert_frame_equal(wald.terms[kept], full.terms[kept])
    assert wald.terms[["lr_p", "score_p"]].isna().all().all()
    lr = cox_model(aml_frame(), "time", "status", ["x"], ties="efron", test="lr", term_tests=False)
    assert round(lr.terms.iloc[0]["p"], 5) == 0.06581 == round(lr.terms.iloc[0]["lr_p"], 5)
