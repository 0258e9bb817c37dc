"""I/O layer: CDISC Dataset-JSON v1.1 writer (and a small reader for tests).

The document is plain data (``build_dataset_json``) written by orjson (``io.jsontext.dumps_bytes``: the text
the standard ``json`` encoder writes, compact, UTF-8; a float of magnitude below 1e-4 is written
as ``0.00001`` or ``1e-7`` where ``json`` writes ``1e-05`` or ``1e-07``, the same number).

Follows the Dataset-JSON 1.1 specification (CDISC, 2024-12-05): top-level
attributes in the documented order (datasetJSONCreationDateTime,
datasetJSONVersion, fileOID, dbLastModifiedDateTime, originator, sourceSystem
{name, version}, studyOID, metaDataVersionOID, metaDataRef, itemGroupOID,
records, name, label, columns, rows) and column attributes in the documented
order (itemOID, name, label, dataType, targetDataType, length, displayFormat,
keySequence). Optional attributes are left out when not given.

Type mapping from ``VariableMetadata.data_type``:

============  ============  ==============  =====================================
metadata      dataType      targetDataType  JSON value
============  ============  ==============  =====================================
text          string                        string ("" stays "", missing -> null)
integer       integer                       integer
float         float                         number
date (text)   date                          ISO 8601 string as stored (SDTM --DTC)
date (num.)   date          integer         "YYYY-MM-DD" (ADaM numeric SAS date)
datetime      datetime      integer if num. "YYYY-MM-DDThh:mm:ss"
duration...   string                        string
============  ============  ==============  =====================================

The creation time is ``creation_timestamp(created)``: the time of writing, or
``SOURCE_DATE_EPOCH`` when set (then the file is byte-identical run to run); keys are in a fixed order,
NaN/NaT/None become null, and the file is written atomically.
OIDs match the define.xml builder: ``IG.<DATASET>``, ``IT.<DATASET>.<VARIABLE>``.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.io.atomic import atomic_write_bytes, fixed_timestamp
from tlfgen.io.jsontext import dumps_bytes, finite_value
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata, creation_timestamp
from tlfgen.io.xpt import SAS_EPOCH
from tlfgen.io.xpt_columns import has_date_values, text_profile, values_of

DATASET_JSON_VERSION = "1.1.0"
_DATA_TYPES = {"text": "string", "integer": "integer", "float": "float", "date": "date",
               "datetime": "datetime", "durationDatetime": "string"}


def item_group_oid(dataset: str) -> str:
    return f"IG.{dataset}"


def item_oid(dataset: str, variable: str) -> str:
    return f"IT.{dataset}.{variable}"


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _is_numeric_temporal(var: VariableMetadata, series: pd.Series) -> bool:
    if var.data_type not in ("date", "datetime"):
        return False
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return True
    return has_date_values(values_of(series))


def _temporal_text(value: object, data_type: str) -> str:
    """ISO 8601 text for a pandas/py date or a SAS number (days or seconds since 1960)."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        unit = "D" if data_type == "date" else "s"
        value = SAS_EPOCH + pd.to_timedelta(float(value), unit=unit)
    stamp = pd.Timestamp(value)
    return stamp.strftime("%Y-%m-%d") if data_type == "date" else stamp.strftime("%Y-%m-%dT%H:%M:%S")


def _cell(value: object, var: VariableMetadata, numeric_temporal: bool) -> Any:
    if _is_missing(value):
        return None
    if numeric_temporal:
        return _temporal_text(value, var.data_type)
    if var.data_type == "integer":
        number = float(value)  # type: ignore[arg-type]
        if not number.is_integer():
            raise DataError(f"integer variable {var.name} holds {value!r}", column=var.name,
                            hint="round it in the derivation or declare the variable float")
        return int(number)
    if var.data_type == "float":
        number = float(value)  # type: ignore[arg-type]
        if math.isinf(number):
            raise DataError(f"float variable {var.name} holds {value!r}; JSON has no infinity",
                            column=var.name, hint="set it to missing in the derivation")
        return finite_value(number)  # a NaN that was not missing (the text "nan") raises as json did
    if isinstance(value, (np.generic,)):
        return finite_value(value.item())  # the document holds finite numbers only (``dump_dataset_json``)
    return value if isinstance(value, str) else str(value)


def _numbers(var: VariableMetadata, series: pd.Series) -> list | None:
    """JSON values of a float64/int64 integer or float column (NaN -> None); None when a value
    needs the cell-by-cell path (infinity, a fraction in an integer column, an unusual dtype)."""
    if series.dtype not in (np.float64, np.int64):
        return None
    numbers = series.to_numpy(dtype=np.float64)
    missing = np.isnan(numbers)
    if np.isinf(numbers).any():
        return None
    if var.data_type == "integer":
        present = numbers[~missing]
        if (present != np.floor(present)).any() or (np.abs(present) >= 2.0**63).any():
            return None
        values = np.where(missing, 0.0, numbers).astype(np.int64).tolist()
    else:
        values = numbers.tolist()
    for index in np.flatnonzero(missing).tolist():
        values[index] = None
    return values


def create_column_values(var: VariableMetadata, series: pd.Series, numeric_temporal: bool) -> list | None:
    """The JSON values of one column, as ``_cell`` gives them, converted column-wise.

    None when a value raises in ``_cell``: the caller then goes row by row, so the error
    names the first offending row and column exactly as before.
    """
    if not numeric_temporal and var.data_type in ("integer", "float"):
        values = _numbers(var, series)
        if values is not None:
            return values
    if numeric_temporal:
        return create_temporal_values(var, series)
    values = values_of(series)
    if var.data_type not in ("integer", "float"):
        types = set(map(type, values))
        if types <= {str}:
            return values  # plain str values are written unchanged
        if types <= {str, float, type(None)}:  # texts and missing values (None, NaN)
            texts = [None if value is None or (type(value) is float and value != value) else value
                     for value in values]
            if float not in set(map(type, texts)):
                return texts
    try:
        return [_cell(value, var, numeric_temporal) for value in values]
    except DataError:
        return None


def create_temporal_values(var: VariableMetadata, series: pd.Series) -> list:
    """ISO 8601 texts of a date/datetime column held as datetime64 or SAS numbers (missing ->
    None), as ``_cell`` gives them: each distinct value is formatted once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = np.array([_temporal_text(value, var.data_type) for value in uniques] + [None], dtype=object)
    return texts[codes].tolist()  # code -1 (missing) takes the last entry, None


def _column(meta: DatasetMetadata, var: VariableMetadata, series: pd.Series, numeric_temporal: bool,
            profiles: dict | None = None) -> dict[str, Any]:
    column: dict[str, Any] = {
        "itemOID": item_oid(meta.name, var.name),
        "name": var.name,
        "label": var.label,
        "dataType": _DATA_TYPES.get(var.data_type, "string"),
    }
    if numeric_temporal:
        column["targetDataType"] = "integer"
    if var.data_type in ("text", "durationDatetime") or (
        var.data_type in ("date", "datetime") and not numeric_temporal
    ):
        column["length"] = var.length if var.length is not None else text_profile(series, profiles).max_size
    if var.display_format:
        column["displayFormat"] = var.display_format
    elif numeric_temporal:
        column["displayFormat"] = "DATE9." if var.data_type == "date" else "DATETIME20."
    if var.name in meta.keys:
        column["keySequence"] = meta.keys.index(var.name) + 1
    return column


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def build_dataset_json(
    df: pd.DataFrame,
    meta: DatasetMetadata,
    *,
    study_oid: str,
    metadata_version_oid: str,
    created: datetime | None = None,
    db_last_modified: datetime | None = None,
    originator: str = "tlfgen",
    source_system: tuple[str, str] | None = None,
    file_oid: str | None = None,
    metadata_ref: str | None = None,
) -> dict[str, Any]:
    """Return the Dataset-JSON 1.1 document as an ordered dict (no I/O)."""
    doc, flags = _build_document(
        df, meta, study_oid=study_oid, metadata_version_oid=metadata_version_oid, created=created,
        db_last_modified=db_last_modified, originator=originator, source_system=source_system,
        file_oid=file_oid, metadata_ref=metadata_ref)
    return _add_rows(doc, df, meta, flags)


def _build_document(df: pd.DataFrame, meta: DatasetMetadata, *, study_oid: str, metadata_version_oid: str,
                    created: datetime | None, db_last_modified: datetime | None, originator: str,
                    source_system: tuple[str, str] | None, file_oid: str | None,
                    metadata_ref: str | None, profiles: dict | None = None) -> tuple[dict[str, Any], dict[str, bool]]:
    """The document without its rows, and which columns are numeric dates (``_is_numeric_temporal``)."""
    missing = [v.name for v in meta.variables if v.name not in df.columns]
    extra = [c for c in df.columns if c not in {v.name for v in meta.variables}]
    if missing or extra:
        raise DataError(
            f"dataset {meta.name}: data and metadata disagree; in metadata only: {missing}, "
            f"in data only: {extra}",
            hint="make the spec and the derived columns list the same variables",
        )
    when = creation_timestamp(created)
    doc: dict[str, Any] = {
        "datasetJSONCreationDateTime": _iso(when),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": file_oid or f"{study_oid}.{meta.name}",
    }
    if db_last_modified is not None:
        doc["dbLastModifiedDateTime"] = _iso(fixed_timestamp(db_last_modified))
    doc["originator"] = originator
    if source_system is not None:
        doc["sourceSystem"] = {"name": source_system[0], "version": source_system[1]}
    doc["studyOID"] = study_oid
    doc["metaDataVersionOID"] = metadata_version_oid
    if metadata_ref is not None:
        doc["metaDataRef"] = metadata_ref
    doc["itemGroupOID"] = item_group_oid(meta.name)
    doc["records"] = int(len(df))
    doc["name"] = meta.name
    doc["label"] = meta.label
    flags = {v.name: _is_numeric_temporal(v, df[v.name]) for v in meta.variables}
    doc["columns"] = [_column(meta, v, df[v.name], flags[v.name], profiles) for v in meta.variables]
    return doc, flags


def _add_rows(doc: dict[str, Any], df: pd.DataFrame, meta: DatasetMetadata, flags: dict[str, bool]) -> dict[str, Any]:
    """``doc`` with its ``rows``, a tuple of JSON values per record (a tuple is a JSON array, and
    a million small tuples cost the garbage collector far less than lists): converted column by column
    (``create_column_values``); when a column holds a value ``_cell`` rejects, row by row, so the
    error names the first offending row."""
    converted = [create_column_values(v, df[v.name], flags[v.name]) for v in meta.variables]
    if not converted:
        doc["rows"] = [() for _ in range(len(df))]
        return doc
    if all(values is not None for values in converted):
        doc["rows"] = list(zip(*converted))  # type: ignore[arg-type]
        return doc
    columns = [(v, df[v.name].tolist(), flags[v.name]) for v in meta.variables]
    rows = []
    for index in range(len(df)):
        try:
            rows.append(tuple([_cell(values[index], var, flag) for var, values, flag in columns]))
        except DataError as exc:
            raise DataError(exc.message, row=index + 1, column=exc.column, hint=exc.hint) from exc
    doc["rows"] = rows
    return doc


def write_dataset_json(
    df: pd.DataFrame,
    meta: DatasetMetadata,
    path: str | os.PathLike[str],
    *,
    study_oid: str,
    metadata_version_oid: str,
    created: datetime | None = None,
    db_last_modified: datetime | None = None,
    originator: str = "tlfgen",
    source_system: tuple[str, str] | None = None,
    file_oid: str | None = None,
    metadata_ref: str | None = None,
    profiles: dict | None = None,
) -> Path:
    """Write ``df`` as Dataset-JSON 1.1 to ``path`` atomically: ``build_dataset_json`` as
    ``dump_dataset_json`` writes it (UTF-8, compact, no NaN), one line. ``profiles``: the text profiles of
    the same ``df`` (``xpt_columns.text_profile``), shared with the XPT writer."""
    try:
        doc, flags = _build_document(
            df, meta, study_oid=study_oid, metadata_version_oid=metadata_version_oid, created=created,
            db_last_modified=db_last_modified, originator=originator, source_system=source_system,
            file_oid=file_oid, metadata_ref=metadata_ref, profiles=profiles)
        data = dump_dataset_json(_add_rows(doc, df, meta, flags))
    except DataError as exc:
        raise DataError(exc.message, file=path, row=exc.row, column=exc.column, hint=exc.hint) from exc
    return atomic_write_bytes(path, data + b"\n")


def dump_dataset_json(doc: dict[str, Any]) -> bytes:
    """The UTF-8 text of a Dataset-JSON document (without the final newline): ``json.dumps(doc,
    ensure_ascii=False, allow_nan=False, separators=(",", ":"))``, made by orjson (``jsontext.dumps_bytes``;
    a float below 1e-4 in orjson's form). The document is plain data built here: no container holds
    itself, and its numbers are finite (NaN is None, infinity raises: ``_cell``, ``_numbers``)."""
    return dumps_bytes(doc, finite=True)


def read_dataset_json(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a Dataset-JSON file: rows as an object-dtype DataFrame holding the JSON values
    unchanged (null -> None), and the document without its rows."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read Dataset-JSON: {exc}", file=path) from exc
    names = [c["name"] for c in doc["columns"]]
    frame = pd.DataFrame(doc.get("rows", []), columns=names, dtype=object)
    header = {k: v for k, v in doc.items() if k != "rows"}
    return frame, header
