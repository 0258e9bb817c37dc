"""Tests of simulate/calibrate.py (and calibrate_stats.py): the month the paper counts in, and
the committed skeleton meeting every printed target.

The month test is the reasoning of docs/paper_months.md run on the paper's printed figures
(transcribed in tests/data/paper_results.yaml); the calibration's statistics (tlfgen.stats in
days and months) are compared with tlfgen.stats called as the TLF stage calls it, on small
hand-made data.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

from tlfgen.simulate import calibrate
from tlfgen.simulate.calibrate_stats import MONTH, compute_cox_breslow, compute_logrank, compute_median_ci
from tlfgen.stats.survival import cox_hr, km_median_ci, logrank_hr

REPO = Path(__file__).resolve().parents[2]
TARGETS = yaml.safe_load((REPO / "tests" / "data" / "paper_results.yaml").read_text())


def printed(x: float, decimals: int = 2) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def paper_medians() -> list[tuple[float, float, float]]:
    return [(s["median_months"][arm], *s["median_ci95_symmetric"][arm])
            for s in (TARGETS["pfs"], TARGETS["dor"], TARGETS["os"]) for arm in ("TCAC", "TCC")]


def whole_days(median: float, lower: float, upper: float, month: float) -> list[int]:
    """Day counts whose median prints as the paper's and admit a symmetric CI printing as its CI."""
    days = []
    for n in range(math.floor((median - 0.01) * month), math.ceil((median + 0.01) * month) + 1):
        m = n / month
        if printed(m) != printed(median):
            continue
        low = max(m - lower - 0.005, upper - 0.005 - m)  # half widths printing both limits
        high = min(m - lower + 0.005, upper + 0.005 - m)
        if low < high:
            days.append(n)
    return days


def test_the_calibration_month_is_the_studys():
    study = yaml.safe_load((REPO / "specs" / "study.yaml").read_text())["study"]
    assert MONTH == study["days_per_month"] == 30


def test_every_printed_median_and_ci_fits_days_over_30():
    assert [whole_days(*fig, 30) for fig in paper_medians()] == [[481], [219], [429], [189], [735], [539]]


def test_days_over_30_4375_cannot_print_the_papers_medians():
    fits = [bool(whole_days(*fig, 30.4375)) for fig in paper_medians()]
    assert fits == [True, False, False, False, False, False]  # only 16.03 (488 days)
    assert not any(whole_days(*fig, 365 / 12) for fig in paper_medians()[3:5])


def test_the_committed_skeleton_meets_every_printed_target():
    subjects = calibrate.read_skeleton()
    metrics = calibrate.compute_metrics(subjects)
    missed = [key for key, (value, decimals) in calibrate.TARGETS.items()
              if calibrate.compute_miss(metrics[key], value, decimals) > 0]
    assert missed == []
    assert metrics["AMBIGUOUS"] == 0  # no S(t) exactly 0.5, no tied PFS events
    assert metrics["PFS_P"] < 0.0005 and metrics["COX_P"] < 0.001
    assert all(calibrate.check_km_targets(subjects, k, a) for k in ("pfs", "os", "dor") for a in ("TCAC", "TCC"))


def test_roles_give_the_papers_counts():
    counts = {arm: {} for arm in calibrate.ROLES}
    for arm, roles in calibrate.ROLES.items():
        for role, bor, n in roles:
            counts[arm][bor] = counts[arm].get(bor, 0) + n
        assert sum(n for _, _, n in roles) == 30
        assert sum(n for role, _, n in roles if role == "SURG") == TARGETS["population"]["surgery_censored"][arm]
        events = sum(n for role, _, n in roles if role not in ("SURG", "ONTRT", "CENS"))
        assert events == TARGETS["pfs"]["events"][arm]
    assert {arm: (c["CR"], c["PR"]) for arm, c in counts.items()} == {
        arm: (TARGETS["response"]["CR"][arm], TARGETS["response"]["PR"][arm]) for arm in ("TCAC", "TCC")}


# small data, worked both ways
TIMES = [5, 8, 12, 12, 15, 20, 22, 30, 31, 40, 3, 9, 10, 14, 18, 19, 25, 26, 33, 35]
EVENTS = [1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0]
GROUPS = [1] * 10 + [0] * 10


def test_the_calibration_median_ci_is_tlfgen_stats_in_days_and_months():
    fast = compute_median_ci(TIMES[:10], EVENTS[:10])
    ref = km_median_ci([t / MONTH for t in TIMES[:10]], EVENTS[:10], method="symmetric")
    assert fast["median"] / MONTH == pytest.approx(ref.median, abs=1e-12)
    assert (fast["lower"], fast["upper"]) == pytest.approx((ref.lower, ref.upper), abs=1e-9)


def test_the_calibration_logrank_and_cox_are_tlfgen_stats_with_group_1_treated():
    import pandas as pd

    fast = compute_logrank(TIMES, EVENTS, GROUPS)
    arms = ["T" if g else "R" for g in GROUPS]
    ref = logrank_hr(TIMES, EVENTS, arms, treatment="T", reference="R")
    assert (fast["hr"], fast["lower"], fast["upper"], fast["p"]) == pytest.approx(
        (ref.hr, ref.lower, ref.upper, ref.p), rel=1e-9)
    cox = compute_cox_breslow(TIMES, EVENTS, GROUPS)
    data = pd.DataFrame({"t": TIMES, "e": EVENTS, "trt": GROUPS})
    ref_cox = cox_hr(data, "t", "e", [], treatment_col="trt", ties="breslow")
    assert (cox["hr"], cox["lower"], cox["upper"], cox["p"]) == pytest.approx(
        (ref_cox.hr, ref_cox.lower, ref_cox.upper, ref_cox.p), rel=1e-6)


def test_a_survival_of_exactly_one_half_is_flagged_and_given_rs_midpoint():
    # four events on days 1-4: S = 0.75, 0.5, 0.25, 0; S is 0.5 from day 2 to day 3, so R's survfit
    # (and tlfgen.stats, plateau "r") print the midpoint 2.5; the search rejects such data (ambiguous)
    got = compute_median_ci([1, 2, 3, 4], [1, 1, 1, 1])
    assert got["median"] == 2.5 and got["ambiguous"] == 1
