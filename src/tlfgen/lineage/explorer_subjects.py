"""Lineage layer: the explorer page's subject view data — every record of one USUBJID through every stage.

For each subject of ADSL: all its ADaM records (every dataset, with the values a trace shows and
the records each was made from) and all its SDTM records (every domain file of
``sdtm/lineage/``, by key) with their raw rows (file:line). At 5,000 subjects that is about
110,000 ADaM and 1.4 million SDTM records, so the page carries them in chunks of
``SUBJECTS_PER_CHUNK`` subjects, each its JSON compressed (``pack_json``: zlib deflate, deterministic)
and base64-encoded (URL-safe alphabet: no "/" in the page) in a ``<script type="application/octet-stream">`` block; the page inflates
one chunk (``DecompressionStream``) when a subject of it is first opened. Chunk ``k`` holds the
subjects ``k * SUBJECTS_PER_CHUNK ...`` of the sorted USUBJID list of the page's shell::

    {"files": [raw file, ...],
     "subjects": {USUBJID: {"adam": [[record id, dataset, values, [[domain, [seq...]], ...]], ...],
                            "sdtm": [[domain, [[key, [file index, line, file index, line...]], ...]], ...]}}}

(an SDTM record's key is what follows the USUBJID in its id: its --SEQ, or its other key values).
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import numpy as np

from tlfgen.lineage.trace import ADAM_SHOW, TraceContext

#: subjects per compressed block of the page
SUBJECTS_PER_CHUNK = 100
#: zlib level of the page's blocks (1: fastest; the page is about a tenth of its JSON)
PACK_LEVEL = 1


def _sdtm_records(ctx: TraceContext, entries: dict[str, dict[str, Any]], files: dict[str, int]) -> None:
    """Every subject's SDTM records with their raw rows, domain by domain (column-wise per domain)."""
    index = ctx.records
    for link in index.links:
        prefix = len(f"sdtm.{link.domain}:")
        lines = index.source_lines(link).tolist()
        names = [files.setdefault(name, len(files)) for name in link.files]
        source_files = [names[f] for f in link.file_index.tolist()]
        ends = np.cumsum(link.counts).tolist()
        flat = [x for pair in zip(source_files, lines) for x in pair]  # file, line, file, line ...
        by_subject: dict[str, list[Any]] = {}
        for rid, start, end in zip(link.ids, [0, *ends[:-1]], ends):
            usubjid, _, key = rid[prefix:].partition(":")
            if usubjid in entries:  # trial design records (#n) and unknown subjects are not a subject's
                by_subject.setdefault(usubjid, []).append([key, flat[2 * start:2 * end]])
        for usubjid, records in by_subject.items():
            entries[usubjid]["sdtm"].append([link.domain, records])


def _adam_records(ctx: TraceContext, entries: dict[str, dict[str, Any]]) -> None:
    """Every subject's ADaM records, with the values a trace shows and their sources."""
    from tlfgen.lineage.records import adam_record_id

    for dataset, lineage in sorted(ctx.records.adam.items()):
        shown = ctx.shown_columns(f"adam.{dataset}", ADAM_SHOW) if (ctx.study.adam_dir / f"{dataset.lower()}.xpt").is_file() else []
        if shown and len(shown[0][1]) != len(lineage):
            continue  # lineage and data out of step: ``adam_lineage`` reports it where a trace needs it
        for position, rec in enumerate(lineage):
            entry = entries.get(rec["key"].get("USUBJID"))
            if entry is None:
                continue
            values = {c: v for c, col in shown if (v := col[position]) not in (None, "")}
            sources = [[str(s["domain"]), list(s.get("seq") or [])] for s in rec.get("sources", ())]
            entry["adam"].append([adam_record_id(dataset, rec["key"]), dataset, values, sources])


def create_subject_chunks(ctx: TraceContext, subjects: list[str]) -> list[str]:
    """The subject view's blocks: chunk ``k`` of ``subjects`` (sorted, as the shell lists them) as
    base64 of its deflated JSON."""
    entries: dict[str, dict[str, Any]] = {s: {"adam": [], "sdtm": []} for s in subjects}
    files: dict[str, int] = {}
    _sdtm_records(ctx, entries, files)
    _adam_records(ctx, entries)
    names = list(files)
    return [pack_json({"files": names, "subjects": {s: entries[s] for s in subjects[start:start + SUBJECTS_PER_CHUNK]}})
            for start in range(0, len(subjects), SUBJECTS_PER_CHUNK)]


def pack_json(value: Any) -> str:
    """``value`` as the page carries a block: compact JSON, deflated (zlib, level ``PACK_LEVEL``:
    the same bytes for the same value), in URL-safe base64 (no ``<``, ``&`` or ``/``: nothing to escape)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), PACK_LEVEL)).decode("ascii")


def unpack_json(text: str) -> Any:
    """The value of a block made by ``pack_json`` (what the page's ``inflate`` does)."""
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(text.strip())).decode("utf-8"))
