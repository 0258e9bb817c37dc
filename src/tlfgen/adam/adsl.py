"""ADaM stage: derivations specific to the subject-level dataset (ADSL).

Treatment variables from the study's arms (``specs/study.yaml``), the data
cutoff date, and end-of-treatment / end-of-study status with reasons from DS.
Everything else in ADSL uses the generic derivations of ``common.py``.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd

from tlfgen.adam.columns import take_columns
from tlfgen.adam.common import (SRC, append_src, check_vars, filter_mask, get_source, lineage_columns,
                                record_sources)
from tlfgen.errors import DerivationError
from tlfgen.registry import derivation


@derivation(requires=("{armcd_var}",), produces=("{new_var}", "{new_varn}"), context=("dataset", "study"))
def derive_vars_trt_from_arms(dataset: pd.DataFrame, *, study: Any, armcd_var: str, new_var: str,
                              new_varn: str | None = None, use: Literal["armcd", "arm"] = "armcd") -> pd.DataFrame:
    """Treatment name and number from the study arms: ARMCD -> arm code (``use: armcd``) or name.

    A subject whose arm code is not a study arm gets missing values (screen failures,
    not treated); an unknown non-empty code is an error naming the subject.
    """
    check_vars(dataset, [armcd_var])
    arms = {a.armcd: a for a in study.arms}
    if use not in ("armcd", "arm"):
        raise DerivationError(f"use must be 'armcd' or 'arm', not '{use}'", variable=new_var)
    names, numbers = [], []
    skip = {"", "SCRNFAIL", "NOTASSGN", "NOTTRT", "UNPLAN"}
    for usubjid, code in zip(dataset["USUBJID"], dataset[armcd_var]):
        code = None if pd.isna(code) else str(code).strip()
        if code is None or code in skip:
            names.append(None)
            numbers.append(float("nan"))
            continue
        if code not in arms:
            raise DerivationError(f"{armcd_var} '{code}' is not an arm of the study", variable=armcd_var,
                                  usubjid=str(usubjid), hint="arms: " + ", ".join(arms))
        names.append(code if use == "armcd" else arms[code].arm)
        numbers.append(float(arms[code].trtn))
    out = dataset.copy()
    out[new_var] = pd.Series(names, index=out.index, dtype=object)
    if new_varn:
        out[new_varn] = pd.Series(numbers, index=out.index, dtype=float)
    return out


@derivation(produces=("{new_var}",), context=("dataset", "study"))
def derive_var_cutoff_date(dataset: pd.DataFrame, *, study: Any, new_var: str = "DCUTDT") -> pd.DataFrame:
    """The study's data cutoff date (``study.cutoff`` in specs/study.yaml) on every record."""
    out = dataset.copy()
    out[new_var] = pd.Series(pd.Timestamp(study.cutoff), index=out.index).astype("datetime64[ns]")
    return out


def _disposition_requires(args: Mapping[str, Any]) -> list[str]:
    from tlfgen.adam.common import expr_columns

    src = args["source"]
    cols = ["USUBJID", args.get("decod_var", "DSDECOD"), args.get("date_var", "DSSTDTC"),
            *expr_columns(args.get("filter"))]
    return ["USUBJID"] + [f"{src}.{c}" for c in dict.fromkeys(cols)]


@derivation(requires=_disposition_requires, produces=("{status_var}", "{reason_var}"),
            context=("dataset", "sources"))
def derive_vars_disposition(dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], source: str,
                            filter: str, status_var: str, reason_var: str, decod_var: str = "DSDECOD",
                            date_var: str = "DSSTDTC", completed: tuple[str, ...] | list[str] = ("COMPLETED",),
                            ongoing: str = "ONGOING") -> pd.DataFrame:
    """Status and reason from one disposition event per subject (e.g. END OF TREATMENT).

    No record: status ``ongoing``, no reason. DSDECOD in ``completed``: COMPLETED, no reason.
    Otherwise DISCONTINUED with the reason DSDECOD. The last record by date counts.
    """
    data = get_source(sources, source)
    mask = filter_mask(data, filter)
    check_vars(data, ["USUBJID", decod_var, date_var], dataset=source)
    kept = take_columns(data, mask, ["USUBJID", decod_var, date_var, *lineage_columns(data)])
    kept["_ROW"] = np.arange(len(kept))
    ordered = kept.sort_values(["USUBJID", date_var], kind="mergesort", na_position="first")
    last = ordered.drop_duplicates("USUBJID", keep="last")
    pairs = record_sources(kept, source.split(".")[-1], last["_ROW"].to_numpy())
    decods = last[decod_var].tolist()
    done = {str(c).upper() for c in completed}
    status, reason, src = [], [], []
    for pos in pd.Index(last["USUBJID"]).get_indexer(dataset["USUBJID"]).tolist():
        if pos < 0 or pd.isna(decods[pos]):
            status.append(ongoing)
            reason.append(None)
            src.append([])
            continue
        decod = str(decods[pos]).strip().upper()
        status.append("COMPLETED" if decod in done else "DISCONTINUED")
        reason.append(None if decod in done else decod)
        src.append(pairs[pos])
    out = dataset.copy()
    out[status_var] = pd.Series(status, index=out.index, dtype=object)
    out[reason_var] = pd.Series(reason, index=out.index, dtype=object)
    return append_src(out, src) if SRC in out.columns else out
