"""Statistics layer: number formatting for table cells (SAS-like half-up rounding).

Rounding rule: half away from zero on the *shortest decimal representation*
of the float (``repr``), via ``decimal.Decimal`` with ``ROUND_HALF_UP``. So
2.675 -> 2.68 and 0.125 -> 0.13 and -0.5 -> -1. This is what a reader of the
printed number expects and what SAS's ``ROUND`` function gives (SAS applies a
small "fuzz" so that 2.675, stored as 2.67499999..., still rounds up).
Python's built-in ``round`` rounds half to even on the binary value and gives
2.67 and 0.12. Percentages are computed in exact decimal arithmetic from the
counts, so 1/8 = 12.5% rounds to 13 at 0 decimals.

A rounded zero is printed without a minus sign ("0.00", not "-0.00").
Missing values (None or NaN) print as ``missing`` (default "NE", not estimable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tlfgen.errors import DataError

EN_DASH = "\u2013"


def round_half_up(x: float, decimals: int = 0) -> Decimal:
    """Round half away from zero on the decimal text of ``x`` (see module docstring)."""
    if decimals < 0:
        raise DataError(f"decimals must be >= 0, got {decimals}")
    value = x if isinstance(x, Decimal) else Decimal(repr(float(x)))
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return rounded + 0 if rounded.is_zero() else rounded  # drop the sign of -0


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_num(x: float | None, decimals: int = 1, *, missing: str = "NE") -> str:
    """Format a number with ``decimals`` places: fmt_num(2.675, 2) -> "2.68"."""
    if _is_missing(x) or (isinstance(x, float) and math.isinf(x)):
        return missing
    return f"{round_half_up(x, decimals):f}"


def fmt_pct(n: int, N: int, decimals: int = 1, *, missing: str = "NE") -> str:
    """Percentage 100*n/N as text: fmt_pct(27, 30) -> "90.0"; N == 0 gives ``missing``."""
    if N == 0:
        return missing
    value = Decimal(int(n)) * 100 / Decimal(int(N))
    return f"{round_half_up(value, decimals):f}"


def fmt_n_pct(n: int, N: int, decimals: int = 1, *, zero: str | None = None) -> str:
    """Count with percentage: fmt_n_pct(27, 30) -> "27 (90.0)".

    ``zero`` replaces the text for n == 0 (e.g. zero="0" prints a bare zero).
    """
    if n == 0 and zero is not None:
        return zero
    return f"{int(n)} ({fmt_pct(n, N, decimals)})"


def fmt_ci(
    lower: float | None, upper: float | None, decimals: int = 1, *, sep: str = ", ", missing: str = "NE"
) -> str:
    """Confidence limits: fmt_ci(73.47, 97.89, 1) -> "73.5, 97.9" (sep="\u2013" for "73.5\u201397.9")."""
    return f"{fmt_num(lower, decimals, missing=missing)}{sep}{fmt_num(upper, decimals, missing=missing)}"


def fmt_estimate_ci(
    estimate: float | None,
    lower: float | None,
    upper: float | None,
    decimals: int = 2,
    *,
    sep: str = ", ",
    missing: str = "NE",
) -> str:
    """Estimate with its CI in parentheses: "16.03 (9.49, 22.58)"."""
    ci = fmt_ci(lower, upper, decimals, sep=sep, missing=missing)
    return f"{fmt_num(estimate, decimals, missing=missing)} ({ci})"


def fmt_median_ci(result: Any, decimals: int = 2, *, sep: str = ", ", missing: str = "NE") -> str:
    """Format a ``MedianCI`` (or anything with median/lower/upper): "16.03 (9.49, 22.58)"."""
    return fmt_estimate_ci(result.median, result.lower, result.upper, decimals, sep=sep, missing=missing)


@dataclass(frozen=True)
class PValueStyle:
    """How p-values print (one style is declared per study: ``specs/tlf/conventions.yaml``).

    Below ``threshold`` the text ``below`` is printed. Otherwise the p-value is rounded half
    up to ``decimals`` places; if that *rounded* value is ``large_from`` or more, it is
    printed with ``large_decimals`` places instead (so 0.0995 and 0.1 both print "0.10":
    the choice of places never depends on digits the reader does not see). A p-value below 1
    that rounds to 1 prints ``above`` when given (0.9951 -> "> 0.99"), since "1.00" would
    claim certainty. ``leading_zero=False`` drops the "0" before the decimal point.

    ``round_first=True`` compares the *rounded* value with ``threshold`` instead of the raw
    p-value (SPSS: round to 3 decimals, "< 0.001" only when that prints 0.000), so 0.00053
    prints "0.001" where the raw-value rule (SAS PVALUE, R format.pval) prints "< 0.001".
    """

    threshold: float
    below: str
    decimals: int
    large_from: float = 1.1
    large_decimals: int = 2
    leading_zero: bool = True
    above: str | None = None
    label: str = ""
    round_first: bool = False


P_STYLES: dict[str, PValueStyle] = {
    # SAS PVALUE6.4 format: "<.0001", else 4 decimals ("0.0653"); SAS prints 0.99996 as "1.0000".
    "sas": PValueStyle(threshold=0.0001, below="<.0001", decimals=4,
                       label="SAS PVALUE6.4: <.0001, otherwise 4 decimals, rounded half up"),
    # The target paper: "< 0.001", 3 decimals below 0.1 ("0.016"), 2 from 0.1 ("0.37").
    "paper": PValueStyle(threshold=0.001, below="< 0.001", decimals=3, large_from=0.1, large_decimals=2,
                         above="> 0.99",
                         label="< 0.001; 3 decimals below 0.1 and 2 from 0.1 (on the rounded value); "
                         "> 0.99 for values that round to 1; rounded half up"),
    # Fixed digits: 3 decimals everywhere (R format.pval(digits = 3, eps = 0.001) style).
    "fixed3": PValueStyle(threshold=0.001, below="< 0.001", decimals=3, above="> 0.999",
                          label="< 0.001; otherwise 3 decimals; > 0.999 for values that round to 1; "
                          "rounded half up"),
    # SPSS "Sig." column: p rounded half up to 3 decimals first; a rounded 0.000 (SPSS prints
    # ".000") is reported "< 0.001", so 0.00049 -> "< 0.001" but 0.0005 and 0.00053 -> "0.001".
    # Always 3 decimals (0.0995 -> "0.100"), and a p that rounds to 1 prints "1.000" as SPSS
    # does. SAS equivalent: PVALUE6.3 after ROUND(p, 0.001), i.e. the threshold on the rounded p.
    "spss": PValueStyle(threshold=0.001, below="< 0.001", decimals=3, round_first=True,
                        label="SPSS Sig.: rounded half up to 3 decimals first; < 0.001 when that "
                        "gives 0.000; otherwise 3 decimals (1.000 for values that round to 1)"),
    # SPSS's threshold with the paper's digits: "< 0.001" only when p rounds to 0.000 (0.00053 ->
    # "0.001"), 3 decimals below 0.1 and 2 from 0.1 on the rounded value (0.372 -> "0.37"), "> 0.99".
    "paper-spss": PValueStyle(threshold=0.001, below="< 0.001", decimals=3, large_from=0.1, large_decimals=2,
                              above="> 0.99", round_first=True,
                              label="rounded half up to 3 decimals first, < 0.001 when that gives 0.000 "
                              "(SPSS Sig.); 3 decimals below 0.1 and 2 from 0.1 (on the rounded value); "
                              "> 0.99 for values that round to 1"),
}


def fmt_p(p: float | None, style: str | PValueStyle = "paper", *, missing: str = "NE") -> str:
    """Format a p-value: fmt_p(0.0004) -> "< 0.001"; fmt_p(0.3712) -> "0.37"; style="sas" -> "<.0001"."""
    if isinstance(style, str):
        if style not in P_STYLES:
            raise DataError(f"unknown p-value style {style!r}; choose one of: {', '.join(P_STYLES)}")
        style = P_STYLES[style]
    if _is_missing(p):
        return missing
    if not 0.0 <= float(p) <= 1.0:
        raise DataError(f"p-value must be between 0 and 1, got {p!r}")
    rounded = round_half_up(p, style.decimals)
    if (rounded if style.round_first else Decimal(repr(float(p)))) < Decimal(repr(style.threshold)):
        return style.below
    places = style.large_decimals if rounded >= Decimal(repr(style.large_from)) else style.decimals
    rounded = round_half_up(p, places)
    if style.above is not None and p < 1.0 and rounded >= 1:
        return style.above
    text = f"{rounded:f}"
    return text if style.leading_zero else text.removeprefix("0")
