"""ADaM stage: record lineage of SDTM datasets the user supplies (``study.start: sdtm``).

A study that starts at SDTM has no raw rows: its SDTM records are the first link of the
lineage. ``write_supplied_lineage`` writes, for each supplied ``sdtm/<domain>.xpt`` the ADaM
specs read, ``sdtm/lineage/<domain>.json`` in the SDTM stage's format (docs/contracts.md
section 3) whose source is the XPT itself and the record's number in it
(``sdtm/ae.xpt`` record 12), keyed like the SDTM stage's records (USUBJID + --SEQ; without
--SEQ, as DM and SV: USUBJID, with every record of the subject, since ADaM names such a
record by USUBJID alone; without USUBJID: the record number). The XPT files are only read, never written;
a lineage file the user supplied (one without the ``"supplied_xpt"`` marker) is kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from tlfgen.adam.lineage import LINEAGE_VERSION as ADAM_VERSION
from tlfgen.io.datasets import find_dataset
from tlfgen.adam.lineage import create_records_text
from tlfgen.io.atomic import atomic_write_text
from tlfgen.spec.study import ResolvedStudy

LINEAGE_VERSION = 1
MARKER = "supplied_xpt"


def create_supplied_lineage(data: pd.DataFrame, domain: str, file: str) -> dict[str, Any]:
    """The lineage document of one supplied SDTM dataset (records in file order, 1-based numbers)."""
    domain = domain.upper()
    seq = f"{domain}SEQ"
    numbers = list(range(1, len(data) + 1))
    if "USUBJID" in data.columns and seq in data.columns:
        keys = ["USUBJID", seq]
        seqs = pd.to_numeric(data[seq], errors="coerce")
        columns = [data["USUBJID"].astype(str).tolist(),
                   [None if pd.isna(v) else int(v) for v in seqs.tolist()]]
    elif "USUBJID" in data.columns:
        # no --SEQ (DM, SV): ADaM names such a record by USUBJID alone, so the subject's id lists every
        # record of the subject in the file (SV: all visits), in file order
        rows: dict[str, list[list[int]]] = {}
        for usubjid, n in zip(data["USUBJID"].astype(str).tolist(), numbers):
            rows.setdefault(usubjid, []).append([0, n])
        return {"version": LINEAGE_VERSION, "domain": domain, "key": ["USUBJID"], "files": [file], MARKER: True,
                "records": [[u, pairs] for u, pairs in rows.items()]}
    else:
        keys = ["record"]
        columns = [numbers]
    records = [[*values, [[0, n]]] for *values, n in zip(*columns, numbers)]
    return {"version": LINEAGE_VERSION, "domain": domain, "key": keys, "files": [file], MARKER: True,
            "records": records}


def _is_ours(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get(MARKER))
    except (OSError, ValueError, AttributeError):
        return False


def write_supplied_lineage(study: ResolvedStudy, frames: dict[str, pd.DataFrame]) -> list[Path]:
    """Write ``sdtm/lineage/<domain>.json`` for the supplied domains read (``frames``: domain -> data)."""
    folder = study.sdtm_dir / "lineage"
    written = []
    for domain, data in sorted(frames.items()):
        path = folder / f"{domain.lower()}.json"
        if path.exists() and not _is_ours(path):
            continue  # the user's own lineage file
        # the file the ADaM stage read: <domain>.xpt, else the Dataset-JSON <domain>.json
        source = find_dataset(study.sdtm_dir, domain) or study.sdtm_dir / f"{domain.lower()}.xpt"
        doc = create_supplied_lineage(data, domain, study.display(source))
        head = {k: v for k, v in doc.items() if k != "records"}
        written.append(atomic_write_text(path, create_records_text(head, doc["records"])))
    return written


def supplied_adam_keys(data: pd.DataFrame) -> list[str]:
    """Record keys of a supplied ADaM dataset (no spec declares them): STUDYID, USUBJID, then
    PARAMCD and ASEQ (or the first --SEQ) when present; the record number when those repeat."""
    keys = [k for k in ("STUDYID", "USUBJID", "PARAMCD") if k in data.columns]
    seq = next((c for c in ["ASEQ", *sorted(c for c in data.columns if c.endswith("SEQ"))] if c in data.columns), None)
    if seq:
        keys.append(seq)
    if not keys or data.duplicated(keys).any():
        keys.append("RECORD")
    return keys


def write_supplied_adam_lineage(study: ResolvedStudy) -> list[Path]:
    """``adam/lineage/<dataset>.json`` for each supplied ``adam/*.xpt`` (``study.start: adam``):
    its records with their keys and no SDTM sources (the lineage starts at these datasets).
    A lineage file the user supplied (without the marker) is kept."""
    from tlfgen.io.xpt import read_xpt

    written = []
    for xpt in sorted(study.adam_dir.glob("*.xpt")):
        path = study.adam_dir / "lineage" / f"{xpt.stem.lower()}.json"
        if path.exists() and not _is_ours(path):
            continue
        data, _ = read_xpt(xpt)
        keys = supplied_adam_keys(data)
        table = data.assign(RECORD=range(1, len(data) + 1))[keys]
        records = [{"key": {k: _plain_value(v) for k, v in zip(keys, row)}, "sources": []}
                   for row in table.itertuples(index=False, name=None)]
        head = {"version": ADAM_VERSION, "dataset": xpt.stem.upper(), "keys": keys, MARKER: True}
        written.append(atomic_write_text(path, create_records_text(head, records)))
    return written


def _plain_value(value: Any) -> Any:
    """A key value as JSON: whole numbers as int, missing as None, text stripped."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value).strip() if isinstance(value, str) else value
