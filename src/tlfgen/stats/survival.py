"""Statistics layer: survival analysis (Kaplan-Meier, log-rank, hazard ratios, Cox).

Thin wrappers over lifelines (unstratified log-rank). Cox models live in
``tlfgen.stats.cox`` and are re-exported here. The Kaplan-Meier product-limit
table is computed with numpy for speed and checked against lifelines
``KaplanMeierFitter`` in the tests. tlfgen chooses and names the method; every
result carries ``method`` (machine name) and ``method_label`` (footnote text
with the SAS / R / SPSS / Prism equivalent).

Conventions
-----------
* ``event`` is 1 for an event, 0 for censored (ADaM ``CNSR`` is the opposite).
* Functions are unit-agnostic: pass months or days, results come back in the same unit.
* KM median = smallest event time t with S(t) <= 0.5 (SAS PROC LIFETEST and R
  survfit). When S(t) equals 0.5 exactly (within 1e-9) on a plateau, the
  median is the midpoint between t and the next event time, as both SAS and
  R do. On a *final* plateau (S = 0.5 until the last time, which is censored)
  the two differ and the rule is declared (``plateau``): ``r`` gives the midpoint
  of t and the last observed time (R quantile.survfit), ``sas`` gives NE (SAS
  searches inf{t: S(t) < 0.5}); PHUSE CAMIS "R vs SAS Kaplan Meier", example
  54..118: R 102.5, SAS NE.
* Median not reached: the point estimate is NE but the lower confidence limit
  is still reported when the lower band crosses 0.5 (R and SAS both print it).
* A CI limit that rests on a zero standard error (a single event, or every
  subject at risk failing so S drops to 0) is NE, never a collapsed "5.00 (5.00,
  5.00)"; the result's ``note`` says so.
* Greenwood variance: Var S(t) = S(t)^2 * sum_{t_j <= t} d_j / (n_j (n_j - d_j)).
  Where S(t) = 0 the standard error is reported as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.stats._checks import as_labels, as_time_event, check_choice, check_conf, z_value
from tlfgen.stats.cox import cox_hr, cox_model  # re-exported: the survival API includes Cox
from tlfgen.stats.results import CoxModelResult, HazardRatio, LogrankResult, MedianCI

MEDIAN_METHODS = ("symmetric", "loglog", "log", "linear")
BAND_METHODS = ("loglog", "log", "linear", "arcsine")
PLATEAU_RULES = ("r", "sas")
MEDIAN_LABELS = {
    "symmetric": "median +/- 1.96 x SE(median), SE from the Greenwood variance and a "
    "kernel density estimate at the median (SPSS KM; Klein & Moeschberger)",
    "loglog": "Brookmeyer-Crowley with log-log transform (SAS PROC LIFETEST CONFTYPE=LOGLOG, "
    "the SAS default; R survfit conf.type='log-log')",
    "log": "Brookmeyer-Crowley with log transform (R survfit default conf.type='log'; "
    "SAS CONFTYPE=LOG)",
    "linear": "Brookmeyer-Crowley, untransformed (SAS CONFTYPE=LINEAR; R conf.type='plain')",
}
BAND_LABELS = {
    "loglog": "log-log transform (SAS PROC LIFETEST CONFTYPE=LOGLOG, the SAS default; R conf.type='log-log')",
    "log": "log transform (R survfit default conf.type='log'; SAS CONFTYPE=LOG)",
    "linear": "untransformed (SAS CONFTYPE=LINEAR; R conf.type='plain')",
    "arcsine": "arcsine-square-root transform (SAS CONFTYPE=ASINSQRT; R conf.type='arcsin')",
}
ZERO_SE_NOTE = ("CI not estimable (NE): the standard error is 0 (a single event, or every subject at risk "
                "had the event)")
HR_LABELS = {
    "logrank": "log-rank hazard ratio (O/E ratio), CI exp(ln HR +/- z sqrt(1/E1 + 1/E2)) "
    "(GraphPad Prism 'logrank' method)",
    "mantel-haenszel": "Mantel-Haenszel hazard ratio exp((O-E)/V), CI exp((O-E)/V +/- z/sqrt(V)) "
    "(GraphPad Prism 'Mantel-Haenszel' method)",
}
_EPS = 1e-9


# --------------------------------------------------------------------------- KM


def km_estimate(time: Any, event: Any) -> pd.DataFrame:
    """Kaplan-Meier table at each distinct observed time.

    Columns: time, n_at_risk, n_event, n_censor, survival, std_err (Greenwood).

    The product-limit arithmetic is done here with numpy rather than through
    lifelines ``KaplanMeierFitter``: the fitter costs ~14 ms per call, and the
    simulation calibrator calls this thousands of times. The test suite checks
    the table against ``KaplanMeierFitter`` and against R's survfit output.
    """
    t, e = as_time_event(time, event)
    times, inverse = np.unique(t, return_inverse=True)
    n_removed = np.bincount(inverse, minlength=times.size)
    d = np.bincount(inverse, weights=e, minlength=times.size)
    n = t.size - np.concatenate(([0], np.cumsum(n_removed)[:-1]))
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(d > 0, d / (n * (n - d)), 0.0)
        se = np.where(surv > 0, surv * np.sqrt(np.cumsum(terms)), 0.0)
    return pd.DataFrame(
        {
            "time": times,
            "n_at_risk": n.astype(int),
            "n_event": d.astype(int),
            "n_censor": (n_removed - d).astype(int),
            "survival": surv,
            "std_err": se,
        }
    )


def _event_rows(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The KM table restricted to event times, as plain arrays (fast to index)."""
    mask = table["n_event"].to_numpy() > 0
    return {col: table[col].to_numpy()[mask] for col in ("time", "survival", "std_err")}


def _first_time_at_or_below(
    times: np.ndarray, values: np.ndarray, level: float, *, last_time: float | None = None,
    plateau: str = "r",
) -> float:
    """Smallest time whose value <= level, with the SAS/R midpoint rule at equality.

    ``times`` are the event times. On a final plateau at ``level`` (no later event time),
    ``plateau="r"`` gives the midpoint of the plateau start and ``last_time`` (the last
    observed time, R), ``plateau="sas"`` gives NaN (SAS: no time with S < level).
    """
    hit = np.flatnonzero(values <= level + _EPS)
    if hit.size == 0:
        return math.nan
    k = int(hit[0])
    if abs(values[k] - level) <= _EPS:
        if k + 1 < times.size:
            return float((times[k] + times[k + 1]) / 2.0)
        if plateau == "sas":
            return math.nan
        end = float(times[k]) if last_time is None else float(last_time)
        return float((times[k] + end) / 2.0)
    return float(times[k])


def _bands(surv: np.ndarray, se: np.ndarray, z: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI for S(t) on the chosen transform scale (lower, upper)."""
    lo = np.empty_like(surv)
    hi = np.empty_like(surv)
    for i, (s, sd) in enumerate(zip(surv, se, strict=True)):
        if s <= 0.0:  # undefined on the log scales; R prints NA, so never "crosses"
            lo[i] = hi[i] = math.nan
        elif s >= 1.0 or sd == 0.0:
            lo[i] = hi[i] = s
        elif method == "linear":
            lo[i], hi[i] = max(s - z * sd, 0.0), min(s + z * sd, 1.0)
        elif method == "log":
            w = z * sd / s
            lo[i], hi[i] = s * math.exp(-w), min(s * math.exp(w), 1.0)
        elif method == "arcsine":  # SAS: sin^2(arcsin(sqrt S) -/+ z/2 sigma sqrt(S/(1-S))), sigma = se/S
            w = 0.5 * z * sd / math.sqrt(s * (1.0 - s))
            centre = math.asin(math.sqrt(s))
            lo[i] = math.sin(max(0.0, centre - w)) ** 2
            hi[i] = math.sin(min(math.pi / 2.0, centre + w)) ** 2
        else:  # loglog: g = log(-log S), se_g = se / (S |log S|)
            w = z * sd / (s * abs(math.log(s)))
            lo[i], hi[i] = s ** math.exp(w), s ** math.exp(-w)
    return lo, hi


def km_median(time: Any, event: Any, *, plateau: str = "r") -> float:
    """KM median (SAS/R convention, see module docstring); NaN if S never reaches 0.5."""
    check_choice(plateau, PLATEAU_RULES, "plateau")
    t, e = as_time_event(time, event)
    ev = _event_rows(km_estimate(t, e))
    return _first_time_at_or_below(ev["time"], ev["survival"], 0.5, last_time=float(t.max()), plateau=plateau)


def _survival_at(times: np.ndarray, surv: np.ndarray, t: float) -> float:
    idx = np.searchsorted(times, t, side="right") - 1
    return 1.0 if idx < 0 else float(surv[idx])


def _symmetric_se(ev: dict[str, np.ndarray], median: float, p: float = 0.5, eps: float = 0.05) -> float:
    """SE of the KM quantile via a uniform-kernel density estimate (Klein & Moeschberger).

    f_hat = (S(u) - S(l)) / (l - u) with u the largest event time with
    S(u) >= 1 - p + eps and l the smallest event time with S(l) <= 1 - p - eps;
    SE = sqrt(Var S(t_med)) / f_hat. If no event time has S >= 1 - p + eps
    the time origin (S = 1) is used for u.
    """
    times, surv, se = ev["time"], ev["survival"], ev["std_err"]
    upper_idx = np.flatnonzero(surv >= 1.0 - p + eps - _EPS)
    lower_idx = np.flatnonzero(surv <= 1.0 - p - eps + _EPS)
    if lower_idx.size == 0:
        return math.nan
    u_time, u_surv = (times[upper_idx[-1]], surv[upper_idx[-1]]) if upper_idx.size else (0.0, 1.0)
    l_time, l_surv = times[lower_idx[0]], surv[lower_idx[0]]
    if l_time <= u_time:
        return math.nan
    density = (u_surv - l_surv) / (l_time - u_time)
    med_idx = int(np.searchsorted(times, median, side="right") - 1)
    return float(se[med_idx] / density)


def km_median_ci(
    time: Any, event: Any, *, method: str = "symmetric", conf: float = 0.95, plateau: str = "r"
) -> MedianCI:
    """KM median survival time with a confidence interval.

    Methods:
    * ``symmetric``: median +/- z * SE(median) as SPSS's KM procedure prints it.
      SE(median) = sqrt(Greenwood Var S(t_med)) / f_hat, f_hat the uniform-kernel
      density estimate from the 55th and 45th percentile event times (Klein &
      Moeschberger, Survival Analysis 2nd ed., sec. 4.5 practical note 3; the
      SPSS Statistical Algorithms "KM" chapter uses the 55th/45th percentiles,
      as quoted on stats.stackexchange question "Kaplan-Meier: survfit
      confidence interval of the median"). z = normal quantile (1.959964 at 95%).
    * ``loglog`` / ``log`` / ``linear``: Brookmeyer-Crowley: lower limit = first
      event time at which the lower pointwise band of S is <= 0.5, upper limit =
      first event time at which the upper band is <= 0.5 (R survfit rule; NaN if
      the band never reaches 0.5, R prints NA). When the median is not reached the
      lower limit is still reported, as R and SAS do.

    ``plateau`` is the rule for S = 0.5 on a final censored plateau (module docstring).
    Limits resting on a zero standard error are NaN and ``note`` says why.
    """
    check_choice(method, MEDIAN_METHODS, "method")
    check_choice(plateau, PLATEAU_RULES, "plateau")
    check_conf(conf)
    z = z_value(conf)
    t, e = as_time_event(time, event)
    last = float(t.max())
    ev = _event_rows(km_estimate(t, e))
    times, surv = ev["time"], ev["survival"]
    median = (_first_time_at_or_below(times, surv, 0.5, last_time=last, plateau=plateau)
              if times.size else math.nan)
    label = MEDIAN_LABELS[method]
    if method == "symmetric":
        if math.isnan(median):
            return MedianCI(median, math.nan, math.nan, method, label, conf)
        se = _symmetric_se(ev, median)
        if not se > 0.0:  # 0 or NaN: no interval to print
            return MedianCI(median, math.nan, math.nan, method, label, conf, se, ZERO_SE_NOTE)
        return MedianCI(median, median - z * se, median + z * se, method, label, conf, se)
    if not times.size:
        return MedianCI(median, math.nan, math.nan, method, label, conf)
    lo_band, hi_band = _bands(surv, ev["std_err"], z, method)
    lower = _first_time_at_or_below(times, lo_band, 0.5, last_time=last, plateau=plateau)
    upper = _first_time_at_or_below(times, hi_band, 0.5, last_time=last, plateau=plateau)
    note = ""
    if not math.isnan(median) and math.isnan(lower) and math.isnan(upper) and not (ev["std_err"][surv > 0] > 0).any():
        note = ZERO_SE_NOTE
    return MedianCI(median, lower, upper, method, label, conf, note=note)


def km_at(
    time: Any,
    event: Any,
    timepoints: Sequence[float],
    *,
    method: str = "loglog",
    conf: float = 0.95,
    beyond: str = "sas",
) -> pd.DataFrame:
    """KM survival at given timepoints with Greenwood SE and a pointwise CI.

    ``method`` is the CI transform: loglog (SAS default), log (R default), linear
    (R 'plain'), arcsine (SAS ASINSQRT). Columns: timepoint, n_at_risk (subjects with
    time >= timepoint), survival, std_err, lower, upper.

    Past the last observed time: if the curve has dropped to 0 (last time an event) the
    survival is 0, as R and SAS both print (CI NaN); otherwise ``beyond="sas"`` gives
    NaN (SAS: not estimable) and ``beyond="r"`` carries the last value forward
    (R summary(..., extend=TRUE)); PHUSE CAMIS "R vs SAS Kaplan Meier", day 120.
    """
    check_choice(method, BAND_METHODS, "method")
    check_choice(beyond, PLATEAU_RULES, "beyond")
    z = z_value(conf)
    t, e = as_time_event(time, event)
    ev = _event_rows(km_estimate(t, e))
    times, surv, se = ev["time"], ev["survival"], ev["std_err"]
    rows = []
    for tp in (float(x) for x in timepoints):
        n_risk = int((t >= tp).sum())
        if tp > t.max():
            if surv.size and surv[-1] <= 0.0:
                rows.append((tp, n_risk, 0.0, 0.0, math.nan, math.nan))
                continue
            if beyond == "sas":
                rows.append((tp, n_risk, math.nan, math.nan, math.nan, math.nan))
                continue
        idx = int(np.searchsorted(times, tp, side="right") - 1)
        s, sd = (1.0, 0.0) if idx < 0 else (float(surv[idx]), float(se[idx]))
        lo, hi = _bands(np.array([s]), np.array([sd]), z, method)
        rows.append((tp, n_risk, s, sd, float(lo[0]), float(hi[0])))
    return pd.DataFrame(
        rows, columns=["timepoint", "n_at_risk", "survival", "std_err", "lower", "upper"]
    )


# ---------------------------------------------------------------- log-rank core


def _oev(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, levels: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected (vectors over levels) and covariance matrix V for one stratum.

    Per distinct event time t: n_j at risk and d_j events per level; E += d n_j / n and
    V += d (n - d) / (n - 1) (diag(f) - f f') with f = n_j / n. The per-time terms are
    computed as arrays and added up in time order (``_sum_in_order``), so the sums are
    bit for bit those of a loop over the event times.
    """
    k = len(levels)
    position = {level: i for i, level in enumerate(levels)}
    codes = np.array([levels.index(g) if g not in position else position[g] for g in group], dtype=int)
    times = np.unique(time[event == 1])
    if times.size == 0:
        return np.zeros(k), np.zeros(k), np.zeros((k, k))
    n_j = np.empty((times.size, k))
    d_j = np.empty((times.size, k))
    for c in range(k):
        mine = np.sort(time[codes == c])
        n_j[:, c] = mine.size - np.searchsorted(mine, times, side="left")
        failed = np.sort(time[(codes == c) & (event == 1)])
        d_j[:, c] = np.searchsorted(failed, times, side="right") - np.searchsorted(failed, times, side="left")
    n = n_j.sum(axis=1)  # whole numbers: exact in any order
    d = d_j.sum(axis=1)
    obs = _sum_in_order(d_j)
    exp_ = _sum_in_order(d[:, None] * n_j / n[:, None])
    several = n > 1
    if not several.any():
        return obs, exp_, np.zeros((k, k))
    n_s, d_s = n[several], d[several]
    frac = n_j[several] / n_s[:, None]
    weight = d_s * (n_s - d_s) / (n_s - 1)
    spread = frac[:, :, None] * np.eye(k)[None, :, :] - frac[:, :, None] * frac[:, None, :]
    return obs, exp_, _sum_in_order(weight[:, None, None] * spread)


def _sum_in_order(terms: np.ndarray) -> np.ndarray:
    """0 + terms[0] + terms[1] + ... along the first axis, left to right (as a loop adds them)."""
    return np.add.accumulate(np.concatenate([np.zeros((1, *terms.shape[1:])), terms]), axis=0)[-1]


def _logrank_components(
    time: Any, event: Any, group: Any, strata: Any | None, levels: Sequence[Any] | None = None
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    t, e = as_time_event(time, event)
    g = as_labels(group, "group", t.size)
    lv = list(levels) if levels is not None else sorted(set(g.tolist()), key=str)
    if len(lv) < 2:
        raise DataError(f"log-rank needs at least 2 groups, found {lv}", column="group")
    s = as_labels(strata, "strata", t.size) if strata is not None else np.zeros(t.size, dtype=object)
    obs, exp_, var = np.zeros(len(lv)), np.zeros(len(lv)), np.zeros((len(lv), len(lv)))
    for stratum in sorted(set(s.tolist()), key=str):
        mask = s == stratum
        o, ex, v = _oev(t[mask], e[mask], g[mask], lv)
        obs, exp_, var = obs + o, exp_ + ex, var + v
    return lv, obs, exp_, var


def logrank_test(time: Any, event: Any, group: Any, *, strata: Any | None = None) -> LogrankResult:
    """Log-rank test across groups (SAS PROC LIFETEST STRATA / R survdiff).

    Unstratified: lifelines ``multivariate_logrank_test``. Stratified (``strata``
    given): O - E and the variance are summed over strata before the quadratic
    form (SAS ``STRATA x / GROUP=arm``; R ``survdiff(... + strata(s))``); lifelines
    has no stratified log-rank, so that sum is computed here.
    """
    from scipy.stats import chi2

    levels, obs, exp_, var = _logrank_components(time, event, group, strata)
    df = len(levels) - 1
    if strata is None:
        from lifelines.statistics import multivariate_logrank_test

        t, e = as_time_event(time, event)
        res = multivariate_logrank_test(t, np.asarray(group, dtype=object).astype(str), e)
        stat = float(res.test_statistic)
        label = "log-rank test (SAS PROC LIFETEST; R survdiff)"
        method = "logrank"
    else:
        diff = (obs - exp_)[:-1]
        stat = float(diff @ np.linalg.pinv(var[:-1, :-1]) @ diff)
        label = "stratified log-rank test (SAS PROC LIFETEST STRATA/GROUP=; R survdiff + strata())"
        method = "logrank-stratified"
    names = [str(v) for v in levels]
    return LogrankResult(
        chisq=stat,
        df=df,
        p=float(chi2.sf(stat, df)),
        method=method,
        method_label=label,
        observed=dict(zip(names, obs.tolist(), strict=True)),
        expected=dict(zip(names, exp_.tolist(), strict=True)),
    )


def logrank_hr(
    time: Any,
    event: Any,
    group: Any,
    *,
    treatment: Any,
    reference: Any,
    conf: float = 0.95,
    method: str = "logrank",
    strata: Any | None = None,
) -> HazardRatio:
    """Hazard ratio treatment vs reference from log-rank O and E (GraphPad Prism).

    * ``logrank``: HR = (O_t/E_t) / (O_r/E_r); CI exp(ln HR +/- z sqrt(1/E_t + 1/E_r)).
    * ``mantel-haenszel``: HR = exp((O_t - E_t)/V); CI exp((O_t - E_t)/V +/- z/sqrt(V)).
    p is the log-rank chi-square p-value (stratified if ``strata`` given).
    Only the two named groups may be present in ``group``. An arm without events gives
    HR, CI NaN (printed NE) and a ``note``; the log-rank p is still computed when defined.
    """
    from scipy.stats import chi2

    check_choice(method, tuple(HR_LABELS), "method")
    z = z_value(conf)
    present = set(as_labels(group, "group", len(np.asarray(group, dtype=object))).tolist())
    unknown = present - {treatment, reference}
    if unknown or treatment not in present or reference not in present:
        raise DataError(
            f"group must contain exactly {treatment!r} and {reference!r}; found {sorted(map(str, present))}",
            column="group",
            hint="subset the data to the two arms being compared",
        )
    _, obs, exp_, var = _logrank_components(time, event, group, strata, [treatment, reference])
    o_t, o_r = obs
    e_t, e_r = exp_
    v = float(var[0, 0])
    names = [str(treatment), str(reference)]
    if v <= 0 or min(o_t, o_r, e_t, e_r) <= 0:
        empty = [name for name, o in zip(names, (o_t, o_r), strict=True) if o <= 0]
        why = (f"no events in {' and '.join(empty)}" if empty
               else f"no comparable events (observed {o_t:g} vs {o_r:g})")
        return HazardRatio(
            hr=math.nan, lower=math.nan, upper=math.nan,
            p=float(chi2.sf((o_t - e_t) ** 2 / v, 1)) if v > 0 else math.nan,
            method=method, method_label=HR_LABELS[method], conf=conf,
            observed=dict(zip(names, [float(o_t), float(o_r)], strict=True)),
            expected=dict(zip(names, [float(e_t), float(e_r)], strict=True)),
            note=f"hazard ratio {treatment} vs {reference} not estimable (NE): {why}; "
                 "the O/E ratio would be 0 or infinite",
        )
    chisq = (o_t - e_t) ** 2 / v
    p = float(chi2.sf(chisq, 1))
    if method == "logrank":
        hr = (o_t / e_t) / (o_r / e_r)
        half = z * math.sqrt(1.0 / e_t + 1.0 / e_r)
        lower, upper = hr * math.exp(-half), hr * math.exp(half)
    else:
        log_hr = (o_t - e_t) / v
        half = z / math.sqrt(v)
        hr, lower, upper = math.exp(log_hr), math.exp(log_hr - half), math.exp(log_hr + half)
    return HazardRatio(
        hr=float(hr),
        lower=float(lower),
        upper=float(upper),
        p=p,
        method=method,
        method_label=HR_LABELS[method],
        conf=conf,
        observed=dict(zip(names, [float(o_t), float(o_r)], strict=True)),
        expected=dict(zip(names, [float(e_t), float(e_r)], strict=True)),
    )

__all__ = [
    "CoxModelResult",
    "HazardRatio",
    "LogrankResult",
    "MedianCI",
    "cox_hr",
    "cox_model",
    "km_at",
    "km_estimate",
    "km_median",
    "km_median_ci",
    "logrank_hr",
    "logrank_test",
]
