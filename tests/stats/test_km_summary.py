"""Tests for tlfgen.stats.km_summary: KM quartiles with CIs and the restricted mean survival time.

References:
* R survival, data ``aml`` (Maintained): print(survfit(Surv(time, status) ~ x, aml)) median 31,
  0.95LCL 18, 0.95UCL NA (log CI, R's default).
* PHUSE CAMIS "R vs SAS - Kaplan Meier" (Comp/r-sas_survival.qmd): times 54..118, first 5 events;
  R quantile: median (87 + 118) / 2 = 102.5, SAS NE.
* Quartiles and RMST by hand from the KM table (worked in each test's comment).
"""

from __future__ import annotations

import math

import pytest

from tlfgen.errors import DataError
from tlfgen.stats.km_summary import km_quantiles, km_rmst

MAINT_T = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
MAINT_E = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
CAMIS_T = [54, 75, 77, 84, 87, 92, 103, 105, 112, 118]
CAMIS_E = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]


# 1. aml Maintained, log CI: median 31 (18, NA) as R prints; quartiles by the same rule:
#    S(13) = 0.818 > 0.75, S(18) = 0.716 <= 0.75 -> Q1 = 18; S(34) = 0.368, S(48) = 0.184 <= 0.25 -> Q3 = 48.
def test_quartiles_aml_log():
    out = km_quantiles(MAINT_T, MAINT_E, method="log").set_index("prob")
    assert (out.loc[0.5, "estimate"], out.loc[0.5, "lower"]) == (31.0, 18.0)
    assert math.isnan(out.loc[0.5, "upper"])
    assert (out.loc[0.25, "estimate"], out.loc[0.75, "estimate"]) == (18.0, 48.0)
    assert "R survfit default" in out.loc[0.5, "method"]


# 2. CAMIS data: Q1 = 77 (S = 0.7 <= 0.75), median 102.5 (R) or NE (SAS), Q3 not reached.
def test_quartiles_camis_plateau_rule():
    r = km_quantiles(CAMIS_T, CAMIS_E).set_index("prob")
    assert (r.loc[0.25, "estimate"], r.loc[0.5, "estimate"]) == (77.0, 102.5)
    assert math.isnan(r.loc[0.75, "estimate"])
    sas = km_quantiles(CAMIS_T, CAMIS_E, plateau="sas").set_index("prob")
    assert math.isnan(sas.loc[0.5, "estimate"]) and sas.loc[0.25, "estimate"] == 77.0
    with pytest.raises(DataError, match="between 0 and 1"):
        km_quantiles(CAMIS_T, CAMIS_E, [1.5])


# 3. RMST to tau = 100 on the CAMIS data, by hand: 54 + 0.9*21 + 0.8*2 + 0.7*7 + 0.6*3 + 0.5*13 = 87.7.
#    Variance: areas after each event time to 100 are 33.7, 14.8, 13.2, 8.3, 6.5 with (n, d) = (10, 1),
#    (9, 1), (8, 1), (7, 1), (6, 1): 33.7^2/90 + 14.8^2/72 + 13.2^2/56 + 8.3^2/42 + 6.5^2/30 = 21.8210,
#    SE 4.6713.
def test_rmst_hand_worked():
    res = km_rmst(CAMIS_T, CAMIS_E, 100)
    assert round(res.estimate, 6) == 87.7
    assert round(res.se, 4) == 4.6713
    assert round(res.lower, 2) == round(87.7 - 1.959964 * 4.671295, 2)
    assert "survRM2" in res.method_label
    with pytest.raises(DataError, match="tau must be > 0"):
        km_rmst(CAMIS_T, CAMIS_E, 0)
