"""I/O layer: a reader of CDISC Dataset-JSON 1.1 datasets (``<name>.json``) for the ADaM and TLF stages.

``read_dataset_json_columns`` returns what ``io.xpt.read_xpt`` returns for the same data written as
XPT (the frame and a ``DatasetMetadata``), so a study may supply Dataset-JSON instead of XPT:

* text (``string``, ``URI``, and ``date``/``datetime``/``time`` without ``targetDataType``: ISO 8601
  text such as SDTM --DTC): ``str``, trailing blanks stripped and null -> ``''`` (what readstat
  gives for a blank or missing XPT character value);
* ``integer``, ``float``, ``double``, ``decimal`` (a JSON string or number), ``boolean`` (1 / 0): float64,
  null -> NaN (XPT holds every number as a double);
* ``date`` / ``datetime`` / ``time`` with ``targetDataType: integer`` (a numeric SAS date held as
  ISO text, as ``io.datasetjson`` writes ADaM dates): the SAS number (days, seconds since
  1960-01-01, seconds since midnight), then datetime64 when ``displayFormat`` is a DATE/DATETIME
  one, exactly as ``read_xpt`` turns the XPT's SAS numbers into dates (``compute_numbers_as_read``).

``columns`` (a container, e.g. ``spec.inputs.ColumnNeeds``): convert only those columns (file order
is kept); ``rows`` (sorted positions): only those records. ``select_rows`` (a function of the frame
of ``rows_from`` columns returning the positions to keep) converts the filter columns first, then
only the kept records of the others (row pushdown, ``io.datasets``).

The document is checked against the Dataset-JSON 1.1 schema's structure (required attributes, no
unknown ones, ``dataType``/``targetDataType`` enumerations, one value per column in every row,
``records`` equal to the rows, value types per column); every problem is a ``DataError`` naming the
file (and line/column for malformed JSON, row and column for a bad value).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Container, Sequence

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata

REQUIRED = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name", "label",
            "columns")
TOP_LEVEL = frozenset({*REQUIRED, "fileOID", "dbLastModifiedDateTime", "originator", "sourceSystem", "studyOID",
                       "metaDataVersionOID", "metaDataRef", "rows"})
COLUMN_REQUIRED = ("itemOID", "name", "label", "dataType")
COLUMN_KEYS = frozenset({*COLUMN_REQUIRED, "targetDataType", "length", "displayFormat", "keySequence"})
DATA_TYPES = frozenset({"string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time",
                        "URI"})
TARGET_TYPES = frozenset({"integer", "decimal"})
TEMPORAL = ("date", "datetime", "time")
_SAS_EPOCH = np.datetime64("1960-01-01T00:00:00", "s")

RowSelector = Callable[[pd.DataFrame], np.ndarray]


def _fail(path: str | os.PathLike[str], message: str, *, row: int | None = None, column: str | None = None,
          line: int | None = None) -> DataError:
    return DataError(f"Dataset-JSON: {message}", file=path, row=row, column=column, line=line,
                     hint="write the file by the Dataset-JSON 1.1 specification (CDISC), or supply the XPT")


def load_dataset_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed and checked document (``check_dataset_json``); DataError when it is not Dataset-JSON 1.1."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read Dataset-JSON: {exc.strerror or exc}", file=path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text (byte {exc.start + 1})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"Dataset-JSON: malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                        file=path, line=exc.lineno, hint="fix the JSON syntax at that place") from None
    check_dataset_json(doc, path)
    return doc


def _check_columns(columns: Any, path: str | os.PathLike[str]) -> None:
    if not isinstance(columns, list):
        raise _fail(path, "'columns' must be a list of column objects")
    seen: set[str] = set()
    for number, column in enumerate(columns, 1):
        where = f"columns[{number}]"
        if not isinstance(column, dict):
            raise _fail(path, f"{where} is not an object")
        missing = [k for k in COLUMN_REQUIRED if k not in column]
        unknown = sorted(set(column) - COLUMN_KEYS)
        if missing or unknown:
            raise _fail(path, f"{where} ({column.get('name', '?')}): "
                        + "; ".join(filter(None, [f"missing {', '.join(missing)}" if missing else "",
                                                  f"unknown attribute(s) {', '.join(unknown)}" if unknown else ""])))
        for key in ("itemOID", "name", "label", "dataType", "displayFormat", "targetDataType"):
            if key in column and not isinstance(column[key], str):
                raise _fail(path, f"{where} ({column.get('name')}): {key} must be a string")
        name = column["name"]
        if not name or name in seen:
            raise _fail(path, f"{where}: column name {name!r} is empty or repeated", column=name or None)
        seen.add(name)
        if column["dataType"] not in DATA_TYPES:
            raise _fail(path, f"column {name}: dataType {column['dataType']!r} is not one of "
                        f"{', '.join(sorted(DATA_TYPES))}", column=name)
        if column.get("targetDataType", "integer") not in TARGET_TYPES:
            raise _fail(path, f"column {name}: targetDataType {column['targetDataType']!r} is not integer or decimal",
                        column=name)
        for key in ("length", "keySequence"):
            value = column.get(key, 1)
            if type(value) is not int or value < 1:
                raise _fail(path, f"column {name}: {key} must be a whole number of at least 1, not {value!r}",
                            column=name)


def check_dataset_json(doc: Any, path: str | os.PathLike[str]) -> None:
    """Raise a DataError naming ``path`` and the first thing in ``doc`` that Dataset-JSON 1.1 does not allow."""
    if not isinstance(doc, dict):
        raise _fail(path, "the document is not a JSON object")
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise _fail(path, f"missing required attribute(s): {', '.join(missing)}")
    unknown = sorted(set(doc) - TOP_LEVEL)
    if unknown:
        raise _fail(path, f"unknown top-level attribute(s): {', '.join(unknown)}")
    version = doc["datasetJSONVersion"]
    if not isinstance(version, str) or not (version == "1.1" or version.startswith("1.1.")):
        raise _fail(path, f"datasetJSONVersion {version!r} is not 1.1 (this reader takes Dataset-JSON 1.1)")
    for key in ("datasetJSONCreationDateTime", "itemGroupOID", "name", "label"):
        if not isinstance(doc[key], str):
            raise _fail(path, f"{key} must be a string")
    _check_columns(doc["columns"], path)
    rows = doc.get("rows", [])
    if not isinstance(rows, list):
        raise _fail(path, "'rows' must be a list of rows")
    records = doc["records"]
    if type(records) is not int or records < 0:
        raise _fail(path, f"records must be a whole number of at least 0, not {records!r}")
    if records != len(rows):
        raise _fail(path, f"records says {records} but the file holds {len(rows)} rows")
    if rows and set(map(type, rows)) != {list}:
        bad = next(i for i, r in enumerate(rows, 1) if type(r) is not list)
        raise _fail(path, "a row is not a list of values", row=bad)
    width = len(doc["columns"])
    if rows and set(map(len, rows)) != {width}:
        bad = next(i for i, r in enumerate(rows, 1) if len(r) != width)
        raise _fail(path, f"row has {len(rows[bad - 1])} values, the columns are {width}", row=bad)


# ---------------------------------------------------------------- values

def _bad_value(path: str | os.PathLike[str], name: str, data_type: str, values: list, ok: Callable[[Any], bool],
               positions: np.ndarray | None) -> DataError:
    index = next(i for i, v in enumerate(values) if not ok(v))
    row = (int(positions[index]) if positions is not None else index) + 1
    return _fail(path, f"column {name} ({data_type}) holds {values[index]!r}", row=row, column=name)


def _texts(values: list) -> np.ndarray:
    """str values, trailing blanks stripped, null -> '' (each distinct value converted once)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    table = np.array([u.rstrip(" ") for u in uniques.tolist()] + [""], dtype=object)
    return table[codes] if len(values) else np.empty(0, dtype=object)


def _iso_numbers(values: list, data_type: str) -> np.ndarray:
    """SAS numbers of ISO 8601 texts: days (date), seconds (datetime) since 1960-01-01, seconds (time)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    texts = [str(u) for u in uniques.tolist()]
    if data_type == "time":
        parts = [t.split(":") for t in texts]
        numbers = [float(h) * 3600 + float(m) * 60 + (float(s[0]) if s else 0.0) for h, m, *s in parts]
    else:
        stamps = pd.to_datetime(pd.Series(texts, dtype=object), format="ISO8601").to_numpy("datetime64[ns]")
        seconds = (stamps - _SAS_EPOCH.astype("datetime64[ns]")) / np.timedelta64(1, "s")
        numbers = list(np.floor(seconds / 86400.0) if data_type == "date" else seconds)
    table = np.array(list(numbers) + [np.nan], dtype=np.float64)
    return table[codes] if len(values) else np.empty(0, dtype=np.float64)


def _number_ok(value: Any) -> bool:
    return value is None or (type(value) in (int, float))


def _decimal_ok(value: Any) -> bool:
    if value is None or type(value) in (int, float):
        return True
    if type(value) is not str:
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def create_column(path: str | os.PathLike[str], column: dict[str, Any], values: list,
                  positions: np.ndarray | None = None) -> tuple[pd.Series | np.ndarray, str]:
    """The values of one column as ``read_xpt`` gives them, and the metadata data type (text, float,
    date, datetime). ``positions``: the record numbers (0-based) of ``values`` for error messages."""
    from tlfgen.io.xpt import compute_numbers_as_read, format_with_dot

    name, data_type = column["name"], column["dataType"]
    kinds = set(map(type, values))
    if data_type in TEMPORAL and column.get("targetDataType") is not None:
        if not kinds <= {str, type(None)}:
            raise _bad_value(path, name, data_type, values, lambda v: v is None or type(v) is str, positions)
        try:
            numbers = _iso_numbers(values, data_type)
        except (ValueError, TypeError) as exc:
            raise _fail(path, f"column {name} ({data_type}): a value is not ISO 8601: {exc}", column=name) from None
        fmt = format_with_dot(column.get("displayFormat"))
        series, kind = compute_numbers_as_read(pd.Series(numbers, name=name), fmt)
        return series, kind
    if data_type in ("string", "URI") or data_type in TEMPORAL:
        if not kinds <= {str, type(None)}:
            raise _bad_value(path, name, data_type, values, lambda v: v is None or type(v) is str, positions)
        return _texts(values), "text"
    if data_type == "boolean":
        if not kinds <= {bool, type(None)}:
            raise _bad_value(path, name, data_type, values, lambda v: v is None or type(v) is bool, positions)
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64), "float"
    if data_type == "decimal" or column.get("targetDataType") == "decimal":
        if not kinds <= {str, int, float, type(None)}:
            raise _bad_value(path, name, data_type, values, _decimal_ok, positions)
        try:
            return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64), "float"
        except ValueError:
            raise _bad_value(path, name, data_type, values, _decimal_ok, positions) from None
    if not kinds <= {int, float, type(None)}:  # integer, float, double (bool is not a number here)
        raise _bad_value(path, name, data_type, values, _number_ok, positions)
    if data_type == "integer" and float in kinds:
        fractions = [v for v in values if type(v) is float and not v.is_integer()]
        if fractions:
            raise _bad_value(path, name, data_type, values, lambda v: not (type(v) is float and not v.is_integer()),
                             positions)
    return np.array(values, dtype=np.float64), "float"


def _metadata(doc: dict[str, Any], described: list[tuple[dict[str, Any], str]]) -> DatasetMetadata:
    from tlfgen.io.xpt import format_with_dot

    variables = tuple(VariableMetadata(name=c["name"], label=c["label"], data_type=kind, length=c.get("length"),
                                       display_format=format_with_dot(c.get("displayFormat")))
                      for c, kind in described)
    return DatasetMetadata(name=doc["name"], label=doc["label"], structure="", class_="", variables=variables)


def read_dataset_json_columns(path: str | os.PathLike[str], columns: Container[str] | None = None, *,
                              select_rows: RowSelector | None = None, rows_from: Sequence[str] = (),
                              ) -> tuple[pd.DataFrame, DatasetMetadata]:
    """Read a Dataset-JSON 1.1 file as ``read_xpt`` reads the same data (see the module docstring).

    ``select_rows`` with ``rows_from`` (columns of the file): the positions of the records to keep,
    computed on the frame of those columns (all records); only those records are returned. When a
    ``rows_from`` column is not in the file every record is returned (the caller's step names it).
    """
    doc = load_dataset_json(path)
    return _read_columns(path, doc, columns, select_rows, rows_from)


def _read_columns(path: str | os.PathLike[str], doc: dict[str, Any], columns: Container[str] | None,
                  select_rows: RowSelector | None, rows_from: Sequence[str]) -> tuple[pd.DataFrame, DatasetMetadata]:
    specs = [c for c in doc["columns"] if columns is None or c["name"] in columns]
    records: list = doc.get("rows", [])
    index = {c["name"]: i for i, c in enumerate(doc["columns"])}
    out: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    positions: np.ndarray | None = None
    first = [c for c in doc["columns"] if c["name"] in set(rows_from)]
    if select_rows is not None and records and first and len(first) == len(set(rows_from)):  # else: all records
        for column in first:
            i = index[column["name"]]
            out[column["name"]], kinds[column["name"]] = create_column(path, column, [r[i] for r in records])
        frame = pd.DataFrame({c["name"]: out[c["name"]] for c in first}, index=pd.RangeIndex(len(records)))
        positions = np.asarray(select_rows(frame), dtype=np.intp)
        out = {name: _as_array(values)[positions] for name, values in out.items()}
        records = [records[p] for p in positions.tolist()]
    for column in specs:
        name = column["name"]
        if name not in out:
            i = index[name]
            out[name], kinds[name] = create_column(path, column, [r[i] for r in records], positions)
    count = len(records)
    frame = pd.DataFrame({c["name"]: _as_array(out[c["name"]]) for c in specs}, index=pd.RangeIndex(count))
    return frame, _metadata(doc, [(c, kinds[c["name"]]) for c in specs])


def _as_array(values: Any) -> Any:
    return values.to_numpy() if isinstance(values, pd.Series) else values
