"""Statistics layer: result records returned by the survival and Cox functions.

Frozen dataclasses; each carries ``method`` (machine name) and ``method_label``
(footnote text naming the SAS / R / SPSS / Prism equivalent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class MedianCI:
    """KM median with its confidence interval (NaN where not estimable)."""

    median: float
    lower: float
    upper: float
    method: str
    method_label: str
    conf: float = 0.95
    se: float = math.nan  # SE of the median (symmetric method only)


@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test: chi-square, degrees of freedom, p-value."""

    chisq: float
    df: int
    p: float
    method: str
    method_label: str
    observed: dict[str, float] = field(default_factory=dict)
    expected: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class HazardRatio:
    """A hazard ratio treatment vs reference with its CI and p-value."""

    hr: float
    lower: float
    upper: float
    p: float
    method: str
    method_label: str
    conf: float = 0.95
    observed: dict[str, float] = field(default_factory=dict)
    expected: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CoxModelResult:
    """A fitted Cox model: one row per term (coef, se, hr, lower, upper, p)."""

    terms: pd.DataFrame
    n: int
    n_events: int
    ties: str
    method: str
    method_label: str
    conf: float = 0.95
