"""Statistics layer: stratified 2 x 2 x K analyses (statsmodels ``StratifiedTable``).

``cmh_test``: the Cochran-Mantel-Haenszel test of conditional independence with the
Mantel-Haenszel common odds ratio and its Robins-Breslow-Greenland CI, as R
``mantelhaen.test`` (continuity correction by default) and SAS PROC FREQ CMH print them.
Each stratum is a 2 x 2 table: rows = treatment, reference; columns = event, no event.
Strata with fewer than two subjects carry no information and are dropped (R and SAS
drop them the same way).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tlfgen.errors import DataError
from tlfgen.stats._checks import check_conf

CMH_LABEL = ("Cochran-Mantel-Haenszel test{cc}; Mantel-Haenszel common odds ratio with Robins-Breslow-Greenland CI "
             "(SAS PROC FREQ CMH; R mantelhaen.test{r})")


@dataclass(frozen=True)
class CmhResult:
    statistic: float
    p: float
    odds_ratio: float
    lower: float
    upper: float
    method: str
    method_label: str
    strata: int
    conf: float = 0.95


def cmh_test(tables: Any, *, correction: bool = True, conf: float = 0.95) -> CmhResult:
    """CMH test over K 2 x 2 tables (array of shape (K, 2, 2) or a list of 2 x 2 tables)."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    check_conf(conf)
    arr = np.asarray(tables, dtype=float)
    if arr.ndim != 3 or arr.shape[1:] != (2, 2):
        raise DataError(f"CMH needs K 2 x 2 tables, got shape {arr.shape}")
    if (arr < 0).any() or not np.all(arr == np.round(arr)):
        raise DataError("CMH tables must hold non-negative whole counts")
    arr = arr[arr.sum(axis=(1, 2)) > 1]
    if arr.shape[0] == 0:
        raise DataError("CMH: no stratum has two or more subjects")
    table = StratifiedTable(np.moveaxis(arr, 0, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        test = table.test_null_odds(correction=correction)
        lower, upper = table.oddsratio_pooled_confint(alpha=1.0 - conf)
    label = CMH_LABEL.format(cc=" with continuity correction" if correction else "",
                             r="" if correction else " correct=FALSE")
    return CmhResult(float(test.statistic), float(test.pvalue), float(table.oddsratio_pooled), float(lower),
                     float(upper), "cmh", label, int(arr.shape[0]), conf)
