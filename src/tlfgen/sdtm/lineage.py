"""SDTM stage: per-record lineage (the raw rows behind each SDTM record), as plain data.

``create_lineage`` returns ``{"key": [...], "files": [...], "records": [(key values..., ((file index, row),
...)), ...]}``: str, int, float and None in lists and tuples (a tuple is a JSON array, and a million
small tuples cost the garbage collector far less than lists). ``sdtm/write.py`` writes it as the
standard ``json`` encoder does (``io.jsontext``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tlfgen.sdtm.context import REC, MappingContext


def create_key_values(values: pd.Series) -> list:
    """The JSON values of one key column: text as is, whole numbers as int, other numbers as float.

    A missing value (None, NaN) is None (``null``); an unscheduled VISITNUM 3.1 keeps its decimals.
    """
    if values.dtype == object:
        missing = values.isna().to_numpy()
        out = values.tolist()
        for index in np.flatnonzero(missing).tolist():
            out[index] = None
        return out
    numbers = values.to_numpy(dtype="float64")
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    if whole.all():
        return values.astype("int64").tolist()
    return [int(v) if ok else (None if np.isnan(v) else v) for v, ok in zip(numbers.tolist(), whole.tolist())]


def derive_lineage_key(data: pd.DataFrame, ctx: MappingContext, seq_var: str | None,
                       keys: Sequence[str] | None = None) -> list[str]:
    """The columns naming one record: USUBJID and --SEQ; without --SEQ the domain's keys minus STUDYID.

    ``keys`` defaults to the ``keys`` of the domain spec named by the ``DOMAIN`` column (e.g. SV:
    USUBJID, VISITNUM), so a domain with several records per subject and no --SEQ keeps them apart.
    """
    if seq_var:
        return [c for c in ("USUBJID", seq_var) if c in data]
    if keys is None:
        keys = _spec_keys(data, ctx)
    lead = ["USUBJID"] if "USUBJID" in data else []  # record ids start with the subject
    return lead + [c for c in keys if c not in ("STUDYID", "USUBJID") and c in data]


def _spec_keys(data: pd.DataFrame, ctx: MappingContext) -> list[str]:
    """``keys`` of the domain spec named by the first ``DOMAIN`` value; ``["USUBJID"]`` when unknown."""
    domains = getattr(getattr(ctx, "specs", None), "domains", None) or {}
    name = str(data["DOMAIN"].iloc[0]) if "DOMAIN" in data and len(data) else ""
    rd = domains.get(name)
    return list(rd.spec.keys) if rd is not None else ["USUBJID"]


def derive_source_rows(rows: pd.DataFrame, ctx: MappingContext) -> tuple[list[str], np.ndarray, np.ndarray,
                                                                         np.ndarray]:
    """(files, rec, file index, row): the distinct (record, raw row) pairs, sorted by rec, file, row.

    ``files`` are the raw files that give at least one row, sorted; ``rows`` holds ``REC`` and one
    ``__row@<form>`` column per form (blank where that form gave no row).
    """
    found = []
    for col in [c for c in rows.columns if c.startswith("__row@")]:
        numbers = rows[col].to_numpy(dtype="float64")
        ok = ~np.isnan(numbers)
        if ok.any():
            found.append((ctx.forms[col.split("@", 1)[1]].file, rows[REC].to_numpy()[ok].astype("int64"),
                          numbers[ok].astype("int64")))
    files = sorted({f for f, _, _ in found})
    index = {f: i for i, f in enumerate(files)}
    rec = np.concatenate([r for _, r, _ in found]) if found else np.zeros(0, dtype="int64")
    row = np.concatenate([n for _, _, n in found]) if found else np.zeros(0, dtype="int64")
    fid = np.concatenate([np.full(len(r), index[f], dtype="int64") for f, r, _ in found]) if found \
        else np.zeros(0, dtype="int64")
    order = np.lexsort((row, fid, rec))
    rec, fid, row = rec[order], fid[order], row[order]
    new = np.ones(len(rec), dtype=bool)
    new[1:] = (np.diff(rec) != 0) | (np.diff(fid) != 0) | (np.diff(row) != 0)
    return files, rec[new], fid[new], row[new]


def create_source_pairs(wanted: np.ndarray, rec: np.ndarray, fid: np.ndarray, row: np.ndarray) -> list[tuple]:
    """Per record id in ``wanted``: its ``((file index, row), ...)`` from pairs sorted by rec (() when none)."""
    pairs = list(zip(fid.tolist(), row.tolist()))
    starts = np.searchsorted(rec, wanted, side="left").tolist()
    ends = np.searchsorted(rec, wanted, side="right").tolist()
    return [tuple(pairs[a:b]) for a, b in zip(starts, ends)]


def create_lineage(data: pd.DataFrame, rows: pd.DataFrame, ctx: MappingContext, seq_var: str | None,
                   keys: Sequence[str] | None = None) -> dict:
    """Per SDTM record: its key (``derive_lineage_key``: USUBJID and --SEQ, or the domain keys) and its raw rows.

    ``{"key": [...], "files": [...], "records": [(key values..., ((file index, row), ...)), ...]}``,
    records in dataset order, file indexes into the sorted ``files``, pairs sorted.
    """
    files, rec, fid, row = derive_source_rows(rows, ctx)
    key = derive_lineage_key(data, ctx, seq_var, keys)
    sources = create_source_pairs(data[REC].to_numpy(dtype="int64"), rec, fid, row)
    columns = [create_key_values(data[c]) for c in key]
    return {"key": key, "files": files, "records": list(zip(*columns, sources))}
