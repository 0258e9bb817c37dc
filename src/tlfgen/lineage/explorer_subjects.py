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
import math
import zlib
from typing import Any

import numpy as np

from tlfgen.io.jsontext import dumps_text, loads
from tlfgen.lineage.trace import ADAM_SHOW, TraceContext

#: subjects per compressed block of the page
SUBJECTS_PER_CHUNK = 100
#: zlib level of the page's blocks (1: fastest; the page is about a tenth of its JSON)
PACK_LEVEL = 1


def _sdtm_records(ctx: TraceContext, subjects: set[str], files: dict[str, int]) -> dict[str, list[str]]:
    """Per USUBJID, the JSON text of each domain's entry (``["AE",[["3",[0,4]],...]]``), written as
    text column-wise per domain (about 1.4 million records at 5,000 subjects: no list per record)."""
    index = ctx.records
    out: dict[str, list[str]] = {}
    for link in index.links:
        prefix = len(f"sdtm.{link.domain}:")
        names = [files.setdefault(name, len(files)) for name in link.files]
        pairs = [f"{names[f]},{line}" for f, line in zip(link.file_index.tolist(), index.source_lines(link).tolist())]
        if bool((link.counts == 1).all()):
            raws = pairs
        else:
            ends = np.cumsum(link.counts).tolist()
            raws = [",".join(pairs[a:b]) for a, b in zip([0, *ends[:-1]], ends)]
        by_subject: dict[str, list[str]] = {}
        for rid, raw in zip(link.ids, raws):
            usubjid, _, key = rid[prefix:].partition(":")
            if usubjid in subjects:  # trial design records (#n) and unknown subjects are not a subject's
                by_subject.setdefault(usubjid, []).append(f"[{_ENCODE(key)},[{raw}]]")
        head = "[" + _ENCODE(link.domain) + ",["
        for usubjid, records in by_subject.items():
            out.setdefault(usubjid, []).append(head + ",".join(records) + "]]")
    return out


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
    ``pack_json`` text."""
    entries: dict[str, dict[str, Any]] = {s: {"adam": []} for s in subjects}
    files: dict[str, int] = {}
    sdtm = _sdtm_records(ctx, set(subjects), files)
    _adam_records(ctx, entries)
    head = '{"files":' + _dumps(list(files)) + ',"subjects":{'
    chunks = []
    for start in range(0, len(subjects), SUBJECTS_PER_CHUNK):
        part = subjects[start:start + SUBJECTS_PER_CHUNK]
        chunks.append(pack_text(head + ",".join(
            f'{_ENCODE(s)}:{{"adam":{_dumps(entries[s]["adam"])},"sdtm":[{",".join(sdtm.get(s, []))}]}}' for s in part)
            + "}}"))
    return chunks


#: a string as JSON text (the standard library's own string encoder, ensure_ascii=False)
_ENCODE = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _dumps(value: Any) -> str:
    return dumps_page_json(value)


#: what the page shows for a number JSON cannot hold (an upper confidence limit of a model
#: whose estimate is infinite, a ratio over zero): the text SAS and R print for it
NON_FINITE_TEXT = {math.inf: "Inf", -math.inf: "-Inf"}


def dumps_page_json(value: Any) -> str:
    """Compact JSON of a page block (``json.dumps(value, ensure_ascii=False, separators=(",", ":"),
    default=str)``, made by orjson: ``jsontext.dumps_text``); an infinite or NaN number becomes the text
    ``Inf``, ``-Inf`` or ``NaN`` (JSON has no such numbers, and the page shows values as text).

    A block is a tree of new lists and dicts (shared leaves at most, never a cycle)."""
    try:
        return dumps_text(value, default=str)
    except ValueError:
        return dumps_text(_finite(value), default=str)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return NON_FINITE_TEXT.get(value, "NaN")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def pack_json(value: Any) -> str:
    """``value`` as the page carries a block: compact JSON, deflated (zlib, level ``PACK_LEVEL``:
    the same bytes for the same value), in URL-safe base64 (no ``<``, ``&`` or ``/``: nothing to escape)."""
    return pack_text(_dumps(value))


def pack_text(text: str) -> str:
    """JSON text as ``pack_json`` carries it."""
    return base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), PACK_LEVEL)).decode("ascii")


def unpack_json(text: str) -> Any:
    """The value of a block made by ``pack_json`` (what the page's ``inflate`` does)."""
    return loads(zlib.decompress(base64.urlsafe_b64decode(text.strip())).decode("utf-8"))
