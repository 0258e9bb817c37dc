"""SDTM stage: SUPP-- (supplemental qualifier) records.

From the spec's ``supp`` list (one QNAM per non-standard variable) and from
text split at 200 bytes (QNAM = VAR1, VAR2 ...). One record per non-blank
value; IDVAR is the domain's --SEQ (blank for DM, which is one record per
subject).
"""

from __future__ import annotations

import pandas as pd

from tlfgen.frames import renumber
from tlfgen.sdtm.context import MappingContext
from tlfgen.sdtm.sorting import compute_sort_positions
from tlfgen.sdtm.values import compute_unique_map
from tlfgen.spec.sdtm import ResolvedDomain

SUPP_COLUMNS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL")


def _records(data: pd.DataFrame, values: pd.Series, *, domain: str, seq_var: str | None, qnam: str,
             qlabel: str, qorig: str, qeval: str) -> pd.DataFrame:
    text = compute_unique_map(values, lambda v: str(v).strip(), missing="") if values.dtype == object else \
        values.fillna("").astype(str).str.strip()
    keep = text != ""
    part = data.loc[keep, ["STUDYID", "USUBJID", *([seq_var] if seq_var else [])]]
    return pd.DataFrame({
        "STUDYID": part["STUDYID"].astype(str),
        "RDOMAIN": domain,
        "USUBJID": part["USUBJID"].astype(str),
        "IDVAR": seq_var or "",
        "IDVARVAL": compute_unique_map(part[seq_var], lambda v: f"{int(v)}") if seq_var else "",
        "QNAM": qnam,
        "QLABEL": qlabel,
        "QVAL": text[keep],
        "QORIG": qorig,
        "QEVAL": qeval,
    })


def create_supp(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext, overflow: dict[str, pd.Series],
                seq_var: str | None) -> pd.DataFrame | None:
    """The SUPP-- dataset of one domain; None when the spec declares no qualifier and no text overflowed.

    A declared SUPP-- with no records is an empty dataset, still written: ADaM specs read it
    (a study without conversion surgery still has SUPPPR, with zero records).
    """
    frames = []
    for supp in rd.spec.supp:
        frames.append(_records(data, data[f"__supp.{supp.qnam}"], domain=rd.name, seq_var=seq_var,
                               qnam=supp.qnam, qlabel=supp.qlabel, qorig=supp.qorig, qeval=supp.qeval))
    for var, parts in sorted(overflow.items()):
        label = next(v.label for v in rd.spec.variables if v.name == var)
        width = int(parts.map(len).max()) if len(parts) else 0
        for n in range(width):
            piece = parts.map(lambda p, n=n: p[n] if n < len(p) else "")
            values = pd.Series("", index=data.index, dtype=object)
            values[piece.index] = piece
            suffix = str(n + 1)  # QNAM stays within 8 characters, QLABEL within 40, however many parts
            frames.append(_records(data, values, domain=rd.name, seq_var=seq_var,
                                   qnam=var[:8 - len(suffix)] + suffix,
                                   qlabel=f"{label[:39 - len(suffix)]} {suffix}", qorig="CRF", qeval=""))
    if not frames:
        return None
    supp = pd.concat(frames, ignore_index=True)
    if supp.empty:
        if not rd.spec.supp:
            return None
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUPP_COLUMNS})
    order = compute_unique_map(supp["IDVARVAL"], lambda v: int(v) if v else 0).astype("int64")
    positions = compute_sort_positions(pd.DataFrame({"USUBJID": supp["USUBJID"], "__o": order, "QNAM": supp["QNAM"]}))
    supp = renumber(supp.take(positions))  # one copy of the records: no reset_index copy
    return supp if list(supp.columns) == list(SUPP_COLUMNS) else supp[list(SUPP_COLUMNS)]
