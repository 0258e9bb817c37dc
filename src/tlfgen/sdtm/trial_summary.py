"""SDTM stage: the TS values taken from the data rather than the protocol (study start and end, subjects).

FDA's Study Data Technical Conformance Guide requires TSPARMCD SSTDTC (study start date: the
earliest informed consent of any enrolled subject) and expects SENDTC and ACTSUB; the other TS
parameters are protocol facts written in ``specs/sdtm/TS.yaml``.
"""

from __future__ import annotations

import pandas as pd

from tlfgen.registry import derivation
from tlfgen.sdtm.context import MappingContext
from tlfgen.sdtm.reference import _form_dates

CTX = ("dataset", "ctx")


def _extreme(ctx: MappingContext, fields: list[str], how: str) -> str:
    """The earliest (``min``) or latest (``max``) complete date over raw ``fields``, on or before
    the data cutoff, as ISO 8601 text ('' when there is none)."""
    cutoff = pd.Timestamp(ctx.study.spec.study.cutoff)
    dates = pd.concat([_form_dates(ctx, ref)["when"] for ref in fields], ignore_index=True)
    dates = dates[dates <= cutoff]
    if dates.empty:
        return ""
    return (dates.min() if how == "min" else dates.max()).strftime("%Y-%m-%d")


@derivation(requires=("TSPARMCD",), context=CTX)
def compute_ts_value(dataset: pd.DataFrame, *, ctx: MappingContext, start_fields: list[str],
                     end_fields: list[str], subject_form: str = "dm") -> pd.Series:
    """TSVAL of SSTDTC (earliest of ``start_fields``), SENDTC (latest of ``end_fields`` up to the
    cutoff) and ACTSUB (subjects on ``subject_form``); blank for the other parameters."""
    found = {
        "SSTDTC": _extreme(ctx, start_fields, "min"),
        "SENDTC": _extreme(ctx, end_fields, "max"),
        "ACTSUB": str(ctx.forms[subject_form].data["SUBJID"].nunique()) if subject_form in ctx.forms else "",
    }
    return dataset["TSPARMCD"].map(found).astype(object)
