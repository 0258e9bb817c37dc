"""ADaM stage: the record lineage file of a dataset (``adam/lineage/<name>.json``).

Written by the stage runner (``adam.run``) for the datasets it builds and by ``adam.supplied``
for datasets the user supplies; one format, one version number.
"""

from __future__ import annotations

import json

LINEAGE_VERSION = 1


def create_lineage_text(name: str, keys: list[str], records: list[dict]) -> str:
    """The JSON of ``adam/lineage/<name>.json``: one line per record (its key and its SDTM sources),
    compact, so a diff shows the records that changed; written by the C encoder of ``json``."""
    head = json.dumps({"version": LINEAGE_VERSION, "dataset": name, "keys": keys}, ensure_ascii=False)
    if not records:
        return head[:-1] + ', "records": []}\n'
    lines = ",\n".join(map(_ENCODE_RECORD, records))
    return head[:-1] + ', "records": [\n' + lines + "\n]}\n"


_ENCODE_RECORD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
