"""Simulation stage, offline: the survival statistics of the calibration search, from ``tlfgen.stats``.

The search's objective prints what the pipeline prints, so it computes with the same
functions: ``stats.survival.km_estimate`` and ``km_median_ci`` (KM with Greenwood, the
symmetric median CI: Collett/SPSS SE of the median, eps 0.05), ``stats.survival.logrank_hr``
(the log-rank O/E hazard ratio, GraphPad Prism) and ``stats.cox.cox_hr`` (one binary
covariate, Breslow ties). This module only speaks the search's units: times in whole days,
group 1 = treatment, medians in days and CIs in months (days / ``MONTH``).

On the committed skeleton the metrics equal those of the hand-written loops this module
held before (largest relative difference 1e-15; every printed figure the same). One
``calibrate.compute_metrics`` costs about 40 ms instead of their 0.5 ms: the offline search
runs slower, the pipeline not at all (nothing in it imports this module). Where S is exactly
0.5 at an event time the median is now R's midpoint (the loops took the first time); such
data is flagged ``ambiguous`` and the search rejects it either way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tlfgen.stats.cox import cox_hr
from tlfgen.stats.survival import km_estimate, km_median_ci, logrank_hr

#: Days per month, as ``specs/study.yaml`` ``study.days_per_month`` says for the embedded study:
#: the paper's months are days / 30 (docs/paper_months.md; a test checks the two agree).
MONTH = 30.0


def compute_median_ci(times: list[int], events: list[int]) -> dict[str, float]:
    """KM median (days) with symmetric CI in months: median +/- z SE (Collett, eps 0.05).

    ``ambiguous`` > 0 flags data where the conventions could disagree (S exactly 0.5 at an
    event time: smallest time versus SAS/R midpoint).
    """
    table = km_estimate(times, events)
    at_events = table["survival"].to_numpy()[table["n_event"].to_numpy() > 0]
    amb = int(np.count_nonzero(np.abs(at_events - 0.5) < 1e-9))
    ci = km_median_ci(times, events, method="symmetric")
    if math.isnan(ci.median):
        return {"median": math.nan, "lower": math.nan, "upper": math.nan, "ambiguous": amb}
    return {"median": ci.median, "lower": ci.lower / MONTH, "upper": ci.upper / MONTH, "ambiguous": amb}


def compute_logrank(times: list[int], events: list[int], groups: list[int]) -> dict[str, float]:
    """Log-rank test; HR = (O1/E1)/(O2/E2), CI exp(log HR +/- z sqrt(1/E1 + 1/E2)); group 1 = treatment."""
    hr = logrank_hr(times, events, list(groups), treatment=1, reference=0)
    return {"hr": hr.hr, "lower": hr.lower, "upper": hr.upper, "p": hr.p}


def compute_cox_breslow(times: list[int], events: list[int], groups: list[int]) -> dict[str, float]:
    """Cox model with one binary covariate (1 = treatment), Breslow ties, Wald CI and p-value."""
    data = pd.DataFrame({"time": times, "event": events, "treated": groups})
    hr = cox_hr(data, "time", "event", [], treatment_col="treated", ties="breslow")
    return {"hr": hr.hr, "lower": hr.lower, "upper": hr.upper, "p": hr.p}
