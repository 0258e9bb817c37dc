"""ADaM stage: the record lineage file of a dataset (``adam/lineage/<name>.json``).

Written by the stage runner (``adam.run``) for the datasets it builds and by ``adam.supplied``
for datasets the user supplies (and, in the same layout, ``sdtm/lineage/<domain>.json`` of supplied
SDTM datasets): one format, one version number.
"""

from __future__ import annotations

import json

LINEAGE_VERSION = 1


def create_lineage_text(name: str, keys: list[str], records: list[dict]) -> str:
    """The JSON of ``adam/lineage/<name>.json``: one line per record (its key and its SDTM sources),
    compact, so a diff shows the records that changed."""
    return create_records_text({"version": LINEAGE_VERSION, "dataset": name, "keys": keys}, records)


def create_records_text(head: dict, records: list) -> str:
    """``head`` with ``"records"`` last, one record per line (the layout of every record lineage file
    a user supplies or tlfgen writes from ADaM); each piece written by the standard ``json`` encoder."""
    opened = json.dumps(head, ensure_ascii=False)[:-1] + (', "records": [' if head else '{"records": [')
    if not records:
        return opened + "]}\n"
    return opened + "\n" + ",\n".join(map(_ENCODE_RECORD, records)) + "\n]}\n"


_ENCODE_RECORD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
