"""Tests for tlfgen.adam.recist_assess: the vectorised RECIST assessment helpers (exact values).

``derive_recist_assessments`` itself is tested with the RECIST rules in test_recist.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.adam.recist import LESION_COLUMNS, compute_nontarget_responses, compute_target_responses
from tlfgen.adam.recist_assess import THRESHOLDS, compute_ordered_sums, derive_recist_assessments


def test_compute_ordered_sums_01_python_order_per_group():
    values = np.array([0.1, 0.2, 0.3, 5.0, 1e16, 1.0, -1e16])
    out = compute_ordered_sums(np.array([0, 0, 0, 2, 3, 3, 3]), values, 4)
    assert out.tolist() == [sum([0.1, 0.2, 0.3]), 0.0, 5.0, sum([1e16, 1.0, -1e16])]
    assert compute_ordered_sums(np.array([], dtype=int), np.array([]), 2).tolist() == [0.0, 0.0]


def test_thresholds_01_defaults_of_the_rule():
    assert THRESHOLDS == {"pd_pct": 20.0, "pd_abs_mm": 5.0, "pr_pct": 30.0, "node_normal_mm": 10.0}


def test_compute_target_responses_01_each_branch():
    out = compute_target_responses(
        total=np.array([0.0, 10.0, 70.0, 20.0, 0.0, 80.0, 35.0, 40.0]),
        n_measured=np.array([0, 1, 1, 1, 2, 2, 2, 2]), n_targets=np.array([0, 2, 2, 2, 2, 2, 2, 2]),
        all_normal=np.array([True, False, False, False, True, False, False, False]),
        baseline_sum=np.array([np.nan, np.nan, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0]),
        nadir_sum=np.array([np.nan, np.nan, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0]))
    assert out.tolist() == ["NA", "NE", "PD", "NE", "CR", "PD", "PR", "SD"]


def test_compute_nontarget_responses_01_each_branch():
    out = compute_nontarget_responses(np.array([0, 2, 2, 2, 2]), np.array([0, 1, 0, 0, 0]),
                                      np.array([0, 1, 1, 0, 0]), np.array([0, 0, 0, 2, 1]))
    assert out.tolist() == ["NA", "PD", "NE", "CR", "NON-CR/NON-PD"]


def test_derive_recist_assessments_01_eight_targets_baseline_sum_as_numpy_adds():
    diams = [9.4, 2.8, 83.6, 43.3, 76.2, 0.2, 44.5, 72.2]  # numpy's pairwise sum differs from Python's
    rows = [("S1", f"T{i}", "TARGET", False, 1.0, "V1", pd.Timestamp("2021-01-01"), d, None, float(i + 1))
            for i, d in enumerate(diams)]
    out = derive_recist_assessments(pd.DataFrame(rows, columns=list(LESION_COLUMNS)))
    assert out["BASESUM"].tolist() == [332.20000000000005]  # float(np.array(diams).sum())
    assert out["SUMDIAM"].tolist() == [332.2]  # sum(diams)
    assert out["TRSEQS"].tolist() == [[1, 2, 3, 4, 5, 6, 7, 8]]
