"""Statistics layer: input checks shared by the stats modules.

Every public stats function accepts array-likes (lists, numpy arrays, pandas
Series) and turns them into numpy arrays here, raising ``DataError`` with a
message that names the argument and the offending position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tlfgen.errors import DataError


def as_float_array(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float array; reject missing or non-numeric values."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} must be numeric", column=name, hint="convert the column to numbers first"
        ) from exc
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}", column=name)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise DataError(
            f"{name} has {bad.size} missing or infinite value(s); first at position {bad[0]}",
            column=name,
            hint="drop or impute the records before calling the statistics function",
        )
    return arr


def as_time_event(time: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check a (time, event) pair: equal length, time >= 0, event in {0, 1}.

    ``event`` is 1 for an event and 0 for a censored observation (note: ADaM
    ``CNSR`` is the opposite, pass ``1 - CNSR``).
    """
    t = as_float_array(time, "time")
    e = as_float_array(event, "event")
    if t.size != e.size:
        raise DataError(f"time has {t.size} values but event has {e.size}", column="event")
    if t.size == 0:
        raise DataError("no observations: time and event are empty", column="time")
    neg = np.flatnonzero(t < 0)
    if neg.size:
        raise DataError(
            f"time must be >= 0; position {neg[0]} has {t[neg[0]]!r}", column="time"
        )
    odd = np.flatnonzero((e != 0) & (e != 1))
    if odd.size:
        raise DataError(
            f"event must be 0 (censored) or 1 (event); position {odd[0]} has {e[odd[0]]!r}",
            column="event",
            hint="ADaM CNSR is 1 for censored: pass event = 1 - CNSR",
        )
    return t, e.astype(int)


def as_labels(values: Any, name: str, size: int) -> np.ndarray:
    """Return group or stratum labels as an object array of the expected length."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1 or arr.size != size:
        raise DataError(f"{name} must have {size} values, got {arr.size}", column=name)
    missing = [i for i, v in enumerate(arr) if v is None or (isinstance(v, float) and v != v)]
    if missing:
        raise DataError(
            f"{name} has {len(missing)} missing value(s); first at position {missing[0]}",
            column=name,
        )
    return arr


def check_conf(conf: float) -> float:
    """Check a confidence level strictly between 0 and 1."""
    if not 0.0 < float(conf) < 1.0:
        raise DataError(f"conf must be between 0 and 1 (e.g. 0.95), got {conf!r}")
    return float(conf)


def check_choice(value: str, choices: Sequence[str], name: str) -> str:
    """Check that ``value`` is one of ``choices``; the error lists them."""
    if value not in choices:
        raise DataError(
            f"unknown {name} {value!r}; choose one of: {', '.join(choices)}", column=name
        )
    return value


def z_value(conf: float) -> float:
    """Two-sided normal quantile for a confidence level (1.959964 for 0.95)."""
    from scipy.stats import norm

    return float(norm.ppf(1.0 - (1.0 - check_conf(conf)) / 2.0))
