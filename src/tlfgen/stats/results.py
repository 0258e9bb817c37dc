"""Statistics layer: result records returned by the survival and Cox functions.

Frozen dataclasses; each carries ``method`` (machine name) and ``method_label``
(footnote text naming the SAS / R / SPSS / Prism equivalent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from tlfgen.errors import DataError


class ModelNotEstimable(DataError):
    """A model the data cannot support (a singular information matrix, no covariate that varies,
    a Firth fit that does not converge): tables print its estimates NE with this reason as a
    footnote (SAS: "the model is not estimable"; R coxph: "X matrix deemed to be singular")."""


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
    note: str = ""  # the declared convention applied where a limit is not estimable


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
    note: str = ""  # why the estimate is NE (NaN), e.g. no events in an arm

    @property
    def estimable(self) -> bool:
        return not math.isnan(self.hr)


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
    #: global tests of beta = 0: "lr", "score", "wald" (tlfgen.stats.cox.GlobalTest)
    tests: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # infinite estimates flagged


def wald_terms(names, coef, se, *, conf: float, ratio: str):
    """Coefficient table with exponentiated estimates and Wald CIs and p-values.

    ``ratio`` names the exponentiated column ("hr" for Cox, "or" for logistic).
    """
    import numpy as np
    import pandas as pd
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1 - conf) / 2))
    coef = np.asarray(coef, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):  # an infinite estimate overflows: flagged by the caller
        return _wald_frame(names, coef, se, z, ratio)


def _wald_frame(names, coef, se, z, ratio):
    import numpy as np
    import pandas as pd
    from scipy.stats import norm

    return pd.DataFrame(
        {
            "term": list(names),
            "coef": coef,
            "se": se,
            ratio: np.exp(coef),
            "lower": np.exp(coef - z * se),
            "upper": np.exp(coef + z * se),
            "p": 2 * norm.sf(np.abs(coef / se)),
        }
    )
