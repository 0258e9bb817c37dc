"""Raw stage: the identifier columns of a raw form, whatever the export calls them.

``apply_identifiers`` gives every form read the SDTM-side identifier columns the mapping
reads (``SUBJID``, ``SITEID``, ``STUDYID``, ``FOLDER``), copied from the raw columns that
``forms.yaml`` declares (``PATNUM`` -> ``SUBJID``), ``STUDYID`` from the study when the export
has no study column, and ``__usubjid``: the USUBJID of the row by the study's pattern
(``{STUDYID}-{SUBJID}``), used by every finding and by ``compute_usubjid``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.raw.reader import RawForm

USUBJID = "__usubjid"


def apply_identifiers(form: RawForm, aliases: dict[str, str], pattern: str, studyid: str) -> None:
    """Add the SDTM-side identifier columns and ``__usubjid`` to ``form.data`` (in place).

    ``aliases``: SDTM-side name -> raw column (both the same for the embedded export).
    """
    data = form.data
    for name, raw in aliases.items():
        if raw != name and raw in data:
            data[name] = data[raw]
    if "STUDYID" not in aliases:
        data["STUDYID"] = pd.Series(studyid, index=data.index, dtype=object)
    data[USUBJID] = compute_usubjid_text(data, pattern, studyid)


def compute_usubjid_text(data: pd.DataFrame, pattern: str, studyid: str) -> pd.Series:
    """USUBJID of each row by ``pattern`` (``{STUDYID}``: the study's id); '' when SUBJID is blank.

    Formatted once per distinct (SITEID, SUBJID) pair."""
    site = data["SITEID"] if "SITEID" in data else pd.Series("", index=data.index, dtype=object)
    keys = pd.DataFrame({"s": site.fillna("").astype(str), "u": data["SUBJID"].fillna("").astype(str)})
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys)) if len(keys) else (np.array([], dtype=int), [])
    texts = [pattern.format(STUDYID=studyid, SITEID=s, SUBJID=u) if u else "" for s, u in uniques]
    return pd.Series(np.asarray(texts, dtype=object)[codes] if len(codes) else np.array([], dtype=object),
                     index=data.index, dtype=object)


def usubjids(data: pd.DataFrame, mask: pd.Series, studyid: str) -> list[str | None]:
    """The USUBJID of the rows where ``mask`` (None when blank): ``__usubjid`` when the form has it,
    else the embedded pattern ``STUDYID-SUBJID``."""
    if USUBJID in data:
        return [u or None for u in data.loc[mask, USUBJID].tolist()]
    return [f"{studyid}-{s}" if s else None for s in data.loc[mask, "SUBJID"].tolist()]
