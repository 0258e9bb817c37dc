"""SDTM stage: writing the domains (XPT v5, Dataset-JSON 1.1), define.xml and lineage sidecars.

Uses the io writers only (they check XPT v5 and write atomically); the bytes
depend on the data alone (fixed timestamps, sorted keys).
"""

from __future__ import annotations

import json
from pathlib import Path

from tlfgen.io.atomic import atomic_write_text
from tlfgen.io.datasetjson import write_dataset_json
from tlfgen.io.jsontext import dumps_text
from tlfgen.io.metadata import DatasetMetadata, StudyMetadata
from tlfgen.io.xpt import complete_metadata, write_xpt
from tlfgen.lineage.define import STYLESHEET, metadata_version_oid, study_oid, write_define_xml
from tlfgen.sdtm.engine import DomainResult

LINEAGE_VERSION = 1


def SDTM_MDV(studyid: str) -> str:  # noqa: N802 (a name shared by define.xml and Dataset-JSON)
    """The metadata version OID of sdtm/define.xml and of every sdtm/*.json."""
    return metadata_version_oid(studyid, "SDTM")


def write_dataset(df, meta: DatasetMetadata, folder: Path, studyid: str) -> tuple[DatasetMetadata, list[Path]]:
    """Write ``<name>.xpt`` and ``<name>.json``; return the completed metadata and the paths."""
    profiles: dict = {}  # each text column looked at once for the metadata, the XPT and the JSON
    meta = complete_metadata(meta, df, profiles=profiles)
    name = meta.name.lower()
    xpt = write_xpt(df, meta, folder / f"{name}.xpt", profiles=profiles)
    js = write_dataset_json(df, meta, folder / f"{name}.json", study_oid=study_oid(studyid),
                            metadata_version_oid=SDTM_MDV(studyid), metadata_ref="define.xml", profiles=profiles)
    return meta, [xpt, js]


def write_lineage(result: DomainResult, folder: Path) -> Path:
    """``lineage/<domain>.json``: per record its key and the raw rows it came from.

    Format (version 1): ``{"version", "domain", "key": ["USUBJID", "AESEQ"], "files": ["raw/ae.csv"],
    "records": [["NCT04471480-01001", 1, [[0, 17]]], ...]}``: each record lists its key values, then
    ``[file index, data row]`` pairs (row 1 is the line after the header). Trial design domains
    point at the spec file and line instead. ``read_lineage`` turns it back into a lookup.
    """
    doc = {"version": LINEAGE_VERSION, "domain": result.name, **result.lineage}
    return atomic_write_text(folder / "lineage" / f"{result.name.lower()}.json", dump_lineage(doc))


def dump_lineage(doc: dict) -> str:
    """The text of a lineage sidecar: compact, ASCII, one line (``json.dumps(doc, separators=(",", ":"))``,
    made by orjson: ``jsontext.dumps_text``)."""
    return dumps_text(doc, ensure_ascii=True, allow_nan=True) + "\n"


def read_lineage(path: Path) -> dict[tuple, list[tuple[str, int]]]:
    """A lineage file as ``{key values: [(file, row), ...]}``."""
    doc = json.loads(Path(path).read_text())
    files = doc["files"]
    width = len(doc["key"])
    return {tuple(rec[:width]): [(files[f], r) for f, r in rec[width]] for rec in doc["records"]}


def write_define(study_meta: StudyMetadata, folder: Path) -> list[Path]:
    """``define.xml`` and its stylesheet."""
    return [write_define_xml(study_meta, folder / "define.xml"), folder / STYLESHEET]
