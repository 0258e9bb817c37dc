"""Tests of simulate/calibrate_baseline.py: the committed covariates give the paper's
multivariable treatment effects, and the fast fits agree with tlfgen.stats (statsmodels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlfgen.simulate import calibrate_baseline as cb
from tlfgen.stats.cox import cox_hr


@pytest.fixture(scope="module")
def subjects():
    return cb.read_subjects()


def test_committed_covariates_print_the_papers_multivariable_effects(subjects):
    m = cb.compute_metrics(subjects)
    assert (f"{m['COX_HR']:.2f}", f"{m['COX_LO']:.2f}", f"{m['COX_HI']:.2f}") == ("0.39", "0.18", "0.84")
    assert (f"{m['COX_P']:.3f}", f"{m['LOGIT_P']:.3f}") == ("0.016", "0.002")


def test_fast_cox_matches_tlfgen_stats(subjects):
    x, rows = cb.create_design(subjects)
    time = np.array([subjects[i]["pfs"] for i in rows], dtype=float)
    event = np.array([subjects[i]["event"] for i in rows], dtype=float)
    beta, se = cb.fit_cox_breslow(time, event, x[:, :3])
    data = pd.DataFrame({"t": time, "e": event, "trt": x[:, 0], "old": x[:, 1], "female": x[:, 2]})
    ref = cox_hr(data, "t", "e", ["old", "female"], treatment_col="trt", ties="breslow")
    assert math_close(np.exp(beta[0]), ref.hr) and math_close(np.exp(beta[0] - cb.Z95 * se[0]), ref.lower)


def math_close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def test_pdl1_groups_as_adsl_derives_them():
    assert [cb.pdl1_group(v) for v in (None, 0.0, 1.0, 9.0, 10.0, 60.0)] == ["NE", "<1", "1-9", "1-9", ">=10", ">=10"]
