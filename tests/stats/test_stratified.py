"""Tests for tlfgen.stats.stratified against R's documented example.

R ``?mantelhaen.test``, "Penicillin and Rabbits" (Agresti 1990): mantelhaen.test(Rabbits) prints
Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747; common odds ratio 7,
95 percent confidence interval 1.026713 47.725133.
"""

from __future__ import annotations

import numpy as np
import pytest

from tlfgen.errors import DataError
from tlfgen.stats.stratified import cmh_test

# R: array(c(0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0), dim = c(2, 2, 5)),
# filled column-major: per penicillin level, rows Delay None / 1.5h, columns Cured / Died.
RABBITS = np.array([0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0]).reshape(5, 2, 2).transpose(0, 2, 1)


# 1. The R example, to R's printed digits.
def test_cmh_matches_r_mantelhaen_rabbits():
    res = cmh_test(RABBITS)
    assert round(res.statistic, 4) == 3.9286
    assert round(res.p, 5) == 0.04747
    assert res.odds_ratio == pytest.approx(7.0)
    assert (round(res.lower, 6), round(res.upper, 6)) == (1.026713, 47.725133)
    assert "R mantelhaen.test" in res.method_label and res.strata == 5


# 2. Bad shapes are data errors.
def test_cmh_input_errors():
    with pytest.raises(DataError, match="K 2 x 2 tables"):
        cmh_test([[1, 2, 3]])
    with pytest.raises(DataError, match="no stratum"):
        cmh_test(np.zeros((2, 2, 2)))
