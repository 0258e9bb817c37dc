"""ADaM stage: the record lineage file of a dataset (``adam/lineage/<name>.json``).

Written by the stage runner (``adam.run``) for the datasets it builds and by ``adam.supplied``
for datasets the user supplies (and, in the same layout, ``sdtm/lineage/<domain>.json`` of supplied
SDTM datasets): one format, one version number.

The lineage is plain data, ``{"version": 1, "dataset": <name>, "keys": [...], "records": [{"key":
{...}, "sources": [{"domain", "seq"}, ...]}, ...]}``; ``dump_record_lineage`` writes it as the standard
``json`` encoder does (the records through ``io.jsontext``) in a line layout: the head as ``json.dumps``
writes it, then one compact record per line, so a diff shows the records that changed.
"""

from __future__ import annotations

import json

from tlfgen.io.jsontext import join_texts

LINEAGE_VERSION = 1


def create_lineage_document(name: str, keys: list[str], records: list[dict]) -> dict:
    """The lineage document of one ADaM dataset (``records`` last)."""
    return {"version": LINEAGE_VERSION, "dataset": name, "keys": keys, "records": records}


def dump_record_lineage(doc: dict) -> str:
    """The text of a record lineage file: ``doc`` (``records`` its last key) with one record per line.

    ``json.loads`` of the text gives ``doc`` back.
    """
    head = {k: v for k, v in doc.items() if k != "records"}
    records = doc.get("records") or []
    opened = json.dumps({**head, "records": []}, ensure_ascii=False)[:-2]  # ends '"records": ['
    lines = "\n" + join_texts(records, ",\n", allow_nan=True) + "\n" if records else ""  # compact, UTF-8 kept
    return opened + lines + "]}\n"


def create_lineage_text(name: str, keys: list[str], records: list[dict]) -> str:
    """The JSON text of ``adam/lineage/<name>.json`` (``dump_record_lineage`` of the document)."""
    return dump_record_lineage(create_lineage_document(name, keys, records))


def create_records_text(head: dict, records: list) -> str:
    """``head`` with ``"records"`` last, one record per line (the layout of every record lineage file
    a user supplies or tlfgen writes from ADaM)."""
    return dump_record_lineage({**head, "records": records})
