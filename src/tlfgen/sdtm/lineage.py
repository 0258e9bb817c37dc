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


def _pair_groups(src: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """(sorted record ids, ``[[f,r],...]`` text per record id) from rows sorted by rec, f, row."""
    recs = src["rec"].to_numpy(dtype="int64")
    files = src["f"].astype("int64").tolist()
    rows = src["row"].astype("int64").tolist()
    if not len(recs):
        return recs, []
    starts = np.concatenate([[0], np.flatnonzero(np.diff(recs)) + 1])
    if len(starts) == len(recs):  # one raw row per record (the common case)
        return recs, [f"[[{f},{r}]]" for f, r in zip(files, rows)]
    pairs = [f"[{f},{r}]" for f, r in zip(files, rows)]
    ends = np.append(starts[1:], len(recs)).tolist()
    groups = ["[" + ",".join(pairs[a:b]) + "]" for a, b in zip(starts.tolist(), ends)]
    return recs[starts], groups


def create_lineage(data: pd.DataFrame, rows: pd.DataFrame, ctx: MappingContext, seq_var: str | None,
                   keys: Sequence[str] | None = None) -> dict:
    """Per SDTM record: its key (``derive_lineage_key``: USUBJID and --SEQ, or the domain keys) and its raw rows.

    ``{"key": [...], "files": [...], "records": [[key values..., [[file index, row], ...]], ...]}``,
    records in dataset order, file indexes into the sorted ``files``, pairs sorted.
    """
    parts = []
    for col in [c for c in rows.columns if c.startswith("__row@")]:
        part = rows[[REC, col]].dropna()
        parts.append(pd.DataFrame({"rec": part[REC].to_numpy(), "file": ctx.forms[col.split("@", 1)[1]].file,
                                   "row": part[col].astype("int64").to_numpy()}))
    src = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"rec": [], "file": [], "row": []})
    files = sorted(src["file"].unique().tolist())
    src["f"] = src["file"].map({f: i for i, f in enumerate(files)})
    src = src.drop_duplicates(["rec", "f", "row"]).sort_values(["rec", "f", "row"], kind="mergesort")
    group_recs, groups = _pair_groups(src)
    key = derive_lineage_key(data, ctx, seq_var, keys)
    wanted = data[REC].to_numpy(dtype="int64")
    pos = np.searchsorted(group_recs, wanted) if len(group_recs) else np.zeros(len(wanted), dtype="int64")
    found = (pos < len(group_recs)) & (group_recs[np.minimum(pos, max(len(group_recs) - 1, 0))] == wanted) \
        if len(group_recs) else np.zeros(len(wanted), dtype=bool)
    texts = [groups[p] if ok else "[]" for p, ok in zip(pos.tolist(), found.tolist())]
    columns = [_json_texts(data[c]) for c in key]
    records = [",".join(parts) for parts in zip(*columns, texts)]
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
