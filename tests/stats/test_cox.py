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
    with pytest.raises(DataError, match="reference 'Other' is not a level"):
        cox_model(aml_frame(), "time", "status", ["x"], references={"x": "Other"})


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
