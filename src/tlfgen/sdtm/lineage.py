"""SDTM stage: per-record lineage (the raw rows behind each SDTM record), built as JSON text.

``create_lineage`` returns ``{"key": [...], "files": [...], "records": LineageRecords}``.
The records are kept as the JSON text ``sdtm/write.py`` writes (one f-string per
record instead of three Python lists per record and the JSON encoder over them);
``LineageRecords`` reads like the list ``[[key values..., [[file index, row], ...]], ...]``
(parsed on first use), so callers that look at records still get plain lists.
The text equals ``json.dumps(records, separators=(",", ":"), ensure_ascii=True)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tlfgen.sdtm.context import REC, MappingContext
from tlfgen.sdtm.values import compute_unique_map


class LineageRecords(Sequence):
    """The ``records`` of a lineage document: its JSON text, and the lists parsed from it on demand."""

    def __init__(self, text: str) -> None:
        self.text = text  # "[[...],[...]]"
        self._parsed: list | None = None

    def _records(self) -> list:
        if self._parsed is None:
            self._parsed = json.loads(self.text)
        return self._parsed

    def __getitem__(self, index):
        return self._records()[index]

    def __iter__(self):
        return iter(self._records())

    def __len__(self) -> int:
        return len(self._records())

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented


def _json_texts(values: pd.Series) -> list[str]:
    """JSON text of each key value: str -> quoted (ASCII escapes), integer-valued numbers -> digits.

    Other numbers (e.g. an unscheduled VISITNUM 3.1) keep their decimals; a missing number is ``null``.
    """
    if values.dtype == object:
        return compute_unique_map(values, lambda v: json.dumps(v, ensure_ascii=True)).tolist()
    numbers = values.to_numpy(dtype="float64")
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    if whole.all():
        return [str(v) for v in values.astype("int64").tolist()]
    return [str(int(v)) if ok else ("null" if np.isnan(v) else json.dumps(v))
            for v, ok in zip(numbers.tolist(), whole.tolist())]


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


#: the text of one [file, row] pair by its place in its record's group: (first?, last?) -> template
_PAIR_TEMPLATES = np.array(["[%d,%d],", "[%d,%d]]\n", "[[%d,%d],", "[[%d,%d]]\n"], dtype=object)


def _pair_groups(recs: np.ndarray, files: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(sorted record ids, ``[[f,r],...]`` text per record id) from rows sorted by rec, f, row.

    One ``%`` formatting of every number at once (a template per pair, a line per record), then
    split into records: no Python step per pair.
    """
    if not len(recs):
        return recs, []
    starts = np.concatenate([[0], np.flatnonzero(np.diff(recs)) + 1])
    first = np.zeros(len(recs), dtype="int64")
    first[starts] = 2
    last = np.zeros(len(recs), dtype="int64")
    last[np.append(starts[1:] - 1, len(recs) - 1)] = 1
    numbers = np.empty(2 * len(recs), dtype="int64")
    numbers[0::2], numbers[1::2] = files, rows
    text = "".join(_PAIR_TEMPLATES[first + last].tolist()) % tuple(numbers.tolist())
    return recs[starts], text.split("\n")[:-1]


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


def create_lineage(data: pd.DataFrame, rows: pd.DataFrame, ctx: MappingContext, seq_var: str | None,
                   keys: Sequence[str] | None = None) -> dict:
    """Per SDTM record: its key (``derive_lineage_key``: USUBJID and --SEQ, or the domain keys) and its raw rows.

    ``{"key": [...], "files": [...], "records": [[key values..., [[file index, row], ...]], ...]}``,
    records in dataset order, file indexes into the sorted ``files``, pairs sorted.
    """
    files, rec, fid, row = derive_source_rows(rows, ctx)
    group_recs, groups = _pair_groups(rec, fid, row)
    key = derive_lineage_key(data, ctx, seq_var, keys)
    wanted = data[REC].to_numpy(dtype="int64")
    pos = np.searchsorted(group_recs, wanted) if len(group_recs) else np.zeros(len(wanted), dtype="int64")
    found = (pos < len(group_recs)) & (group_recs[np.minimum(pos, max(len(group_recs) - 1, 0))] == wanted) \
        if len(group_recs) else np.zeros(len(wanted), dtype=bool)
    # each record's pairs text, "[]" when it has none: one array lookup, not a Python step per record
    texts = np.array([*groups, "[]"], dtype=object)[np.where(found, pos, len(groups))].tolist()
    columns = [_json_texts(data[c]) for c in key]
    records = list(map(",".join, zip(*columns, texts)))
    return {"key": key, "files": files, "records": LineageRecords("[[" + "],[".join(records) + "]]"
                                                                  if records else "[]")}


def lineage_text(doc: dict) -> str:
    """``json.dumps(doc, separators=(",", ":"), ensure_ascii=True) + "\\n"``, with records kept as text."""
    records = doc.get("records")
    if not isinstance(records, LineageRecords):
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=True) + "\n"
    head = json.dumps({k: v for k, v in doc.items() if k != "records"}, separators=(",", ":"), ensure_ascii=True)
    items = list(doc)
    if items[-1] != "records":  # keep the key order json.dumps would use
        return json.dumps({k: (list(v) if k == "records" else v) for k, v in doc.items()},
                          separators=(",", ":"), ensure_ascii=True) + "\n"
    return head[:-1] + ("," if len(items) > 1 else "") + '"records":' + records.text + "}\n"
