"""Statistics layer: Kaplan-Meier summaries beyond the median: quantiles and restricted mean.

* ``km_quantiles``: the time at which S(t) first drops to 1 - p or below (p = 0.25 is the first
  quartile), the R / SAS rule of ``survival.km_median`` at any level, with Brookmeyer-Crowley
  limits from the pointwise band on the chosen transform (SAS PROC LIFETEST "Quartile Estimates";
  R quantile(survfit)). Not reached: NaN (NE), the lower limit kept where the band crosses.
* ``km_rmst``: restricted mean survival time up to ``tau``, the area under the KM curve
  (lifelines ``restricted_mean_survival_time``), with the Greenwood-type variance
  sum_j A_j^2 d_j / (n_j (n_j - d_j)), A_j the area from event time t_j to tau (Klein &
  Moeschberger sec. 4.5; R survRM2 rmst2 and SAS PROC RMSTREG / LIFETEST RMST use it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.stats._checks import as_time_event, check_choice, check_conf, z_value
from tlfgen.stats.survival import (
    BAND_LABELS, BAND_METHODS, PLATEAU_RULES, _bands, _event_rows, _first_time_at_or_below, km_estimate,
)


def km_quantiles(
    time: Any, event: Any, probs: Sequence[float] = (0.25, 0.5, 0.75), *, method: str = "loglog",
    conf: float = 0.95, plateau: str = "r",
) -> pd.DataFrame:
    """KM quantiles with Brookmeyer-Crowley CIs; columns prob, estimate, lower, upper, method."""
    check_choice(method, BAND_METHODS, "method")
    check_choice(plateau, PLATEAU_RULES, "plateau")
    z = z_value(check_conf(conf))
    t, e = as_time_event(time, event)
    last = float(t.max())
    ev = _event_rows(km_estimate(t, e))
    times, surv = ev["time"], ev["survival"]
    lo_band, hi_band = _bands(surv, ev["std_err"], z, method)
    rows = []
    for p in probs:
        if not 0.0 < float(p) < 1.0:
            raise DataError(f"quantile probabilities must be between 0 and 1, got {p!r}", column="probs")
        level = 1.0 - float(p)
        find = lambda values: (_first_time_at_or_below(times, values, level, last_time=last, plateau=plateau)  # noqa: E731
                               if times.size else math.nan)
        rows.append((float(p), find(surv), find(lo_band), find(hi_band),
                     f"Kaplan-Meier quantile, Brookmeyer-Crowley CI, {BAND_LABELS[method]}"))
    return pd.DataFrame(rows, columns=["prob", "estimate", "lower", "upper", "method"])


@dataclass(frozen=True)
class Rmst:
    """Restricted mean survival time up to ``tau`` with its SE and CI."""

    estimate: float
    se: float
    lower: float
    upper: float
    tau: float
    method: str = "rmst"
    method_label: str = ("restricted mean survival time, area under the Kaplan-Meier curve, Greenwood-type SE "
                         "(R survRM2::rmst2; SAS PROC LIFETEST RMST)")
    conf: float = 0.95


def km_rmst(time: Any, event: Any, tau: float, *, conf: float = 0.95) -> Rmst:
    """RMST up to ``tau`` (lifelines), SE by the Greenwood-type formula of the module docstring."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    t, e = as_time_event(time, event)
    z = z_value(check_conf(conf))
    if not tau > 0:
        raise DataError(f"tau must be > 0, got {tau!r}", column="tau")
    estimate = float(restricted_mean_survival_time(KaplanMeierFitter().fit(t, e), t=float(tau)))
    table = km_estimate(t, e)
    table = table[(table["n_event"] > 0) & (table["time"] <= tau)]
    times = table["time"].to_numpy()
    surv = table["survival"].to_numpy()
    edges = np.append(times, float(tau))
    pieces = surv * np.diff(edges)  # area of each step after an event time, up to tau
    area_after = np.cumsum(pieces[::-1])[::-1]
    n, d = table["n_at_risk"].to_numpy(float), table["n_event"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n > d, area_after**2 * d / (n * (n - d)), 0.0)
    se = float(math.sqrt(terms.sum()))
    return Rmst(estimate, se, estimate - z * se, estimate + z * se, float(tau), conf=conf)
