"""Tests for tlfgen.io.datasetjson_read: Dataset-JSON 1.1 read into the frame read_xpt gives for the
same data (every dataset the pipeline writes both ways, the CDISC pilot's datasets), column and row
selection, and the document checks (DataError naming file, line/column, row and column)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.io.datasetjson import write_dataset_json
from tlfgen.io.datasetjson_read import read_dataset_json_columns
from tlfgen.io.xpt import read_xpt

REPO = Path(__file__).resolve().parents[2]
PILOT = sorted((REPO / "examples" / "cdiscpilot01" / "sdtm").glob("*.xpt")) + sorted(
    (REPO / "examples" / "cdiscpilot01" / "reference").glob("*.xpt"))
SCHEMA = json.loads((REPO / "tests" / "data" / "schemas" / "dataset-json-1.1" / "dataset.schema.json")
                    .read_text(encoding="utf-8"))


def _same(xpt: Path, js: Path) -> None:
    """The JSON read equals the XPT read: values, dtypes, and the metadata read_xpt reports."""
    a, meta_a = read_xpt(xpt)
    b, meta_b = read_dataset_json_columns(js)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert [(v.name, v.label, v.data_type, v.display_format) for v in meta_a.variables] == \
        [(v.name, v.label, v.data_type, v.display_format) for v in meta_b.variables]
    assert (meta_a.name, meta_a.label) == (meta_b.name, meta_b.label)


def test_every_dataset_the_pipeline_writes_reads_the_same_from_json_and_xpt(embedded_run) -> None:
    study, _ = embedded_run
    compared = []
    for folder in (study.sdtm_dir, study.adam_dir):
        for xpt in sorted(folder.glob("*.xpt")):
            _same(xpt, xpt.with_suffix(".json"))
            compared.append(xpt.stem)
    assert len(compared) == 25  # 21 SDTM (16 domains + 5 SUPP--) and 4 ADaM datasets


@pytest.mark.parametrize("xpt", PILOT, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pilot_datasets_written_as_json_read_back_as_the_xpt(xpt: Path, tmp_path: Path) -> None:
    data, meta = read_xpt(xpt)
    js = write_dataset_json(data, meta, tmp_path / f"{xpt.stem}.json", study_oid="CDISCPILOT01",
                            metadata_version_oid="MDV.CDISCPILOT01")
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert [e.message for e in jsonschema.Draft201909Validator(SCHEMA).iter_errors(doc)] == []
    _same(xpt, js)


def _doc(columns: list[dict], rows: list[list], **extra: object) -> dict:
    return {"datasetJSONCreationDateTime": "2024-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": "IG.ADTTE", "records": len(rows), "name": "ADTTE", "label": "Time to Event",
            "columns": columns, "rows": rows, **extra}


COLUMNS = [
    {"itemOID": "IT.USUBJID", "name": "USUBJID", "label": "Subject", "dataType": "string", "length": 8},
    {"itemOID": "IT.AVAL", "name": "AVAL", "label": "Value", "dataType": "decimal"},
    {"itemOID": "IT.CNSR", "name": "CNSR", "label": "Censor", "dataType": "integer"},
    {"itemOID": "IT.ADT", "name": "ADT", "label": "Date", "dataType": "date", "targetDataType": "integer",
     "displayFormat": "DATE9."},
    {"itemOID": "IT.ADTM", "name": "ADTM", "label": "Datetime", "dataType": "datetime", "targetDataType": "integer",
     "displayFormat": "DATETIME20."},
    {"itemOID": "IT.ATM", "name": "ATM", "label": "Time", "dataType": "time", "targetDataType": "integer",
     "displayFormat": "TIME8."},
    {"itemOID": "IT.AESTDTC", "name": "AESTDTC", "label": "Start", "dataType": "date"},
    {"itemOID": "IT.FL", "name": "FL", "label": "Flag", "dataType": "boolean"},
]
ROWS = [
    ["S-01  ", "183.5", 0, "2021-02-01", "2021-02-01T10:30:15", "10:30:15", "2021-02", True],
    [None, None, None, None, None, None, None, None],
]


def _write(tmp_path: Path, doc: object, name: str = "adtte.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def test_values_by_data_type_as_xpt_gives_them(tmp_path: Path) -> None:
    frame, meta = read_dataset_json_columns(_write(tmp_path, _doc(COLUMNS, ROWS)))
    epoch = date(1960, 1, 1)
    assert frame["USUBJID"].tolist() == ["S-01", ""]  # trailing blanks stripped, null -> '' (as readstat)
    assert frame["AVAL"].tolist()[0] == 183.5 and np.isnan(frame["AVAL"].tolist()[1])
    assert frame["CNSR"].dtype == np.float64 and frame["CNSR"].tolist()[0] == 0.0
    assert frame["ADT"].tolist()[0] == pd.Timestamp("2021-02-01") and pd.isna(frame["ADT"].tolist()[1])
    assert frame["ADTM"].tolist()[0] == pd.Timestamp("2021-02-01 10:30:15")
    # TIME8. is not a date format: read_xpt keeps the SAS number (seconds since midnight)
    assert frame["ATM"].tolist()[0] == 10 * 3600 + 30 * 60 + 15
    assert frame["AESTDTC"].tolist() == ["2021-02", ""]  # ISO text without targetDataType stays text
    assert frame["FL"].tolist()[0] == 1.0 and np.isnan(frame["FL"].tolist()[1])
    assert [v.data_type for v in meta.variables] == ["text", "float", "float", "date", "datetime", "float",
                                                    "text", "float"]
    # the SAS numbers behind the dates, worked out by hand from the 1960-01-01 epoch
    days = (date(2021, 2, 1) - epoch).days
    assert days == 22312
    assert (frame["ADT"][0] - pd.Timestamp("1960-01-01")).days == days
    seconds = (datetime(2021, 2, 1, 10, 30, 15) - datetime(1960, 1, 1)).total_seconds()
    assert (frame["ADTM"][0] - pd.Timestamp("1960-01-01")).total_seconds() == seconds


def test_only_the_columns_and_records_asked_are_converted(tmp_path: Path) -> None:
    path = _write(tmp_path, _doc(COLUMNS, ROWS * 3))
    whole, _ = read_dataset_json_columns(path)
    part, meta = read_dataset_json_columns(path, {"ADT", "USUBJID"})
    assert list(part.columns) == ["USUBJID", "ADT"] and [v.name for v in meta.variables] == ["USUBJID", "ADT"]
    pd.testing.assert_frame_equal(part, whole[["USUBJID", "ADT"]])
    seen = []

    def keep_named(frame: pd.DataFrame) -> np.ndarray:
        seen.append(list(frame.columns))
        return np.flatnonzero(frame["USUBJID"].to_numpy() != "")

    rows, _ = read_dataset_json_columns(path, {"USUBJID", "AVAL", "ADT"}, select_rows=keep_named,
                                        rows_from=["USUBJID"])
    assert seen == [["USUBJID"]]
    pd.testing.assert_frame_equal(rows, whole.iloc[[0, 2, 4]][["USUBJID", "AVAL", "ADT"]].reset_index(drop=True))


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "dm.json"
    path.write_text('{\n  "name": "DM",\n  "rows": [[1,]]\n}', encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_dataset_json_columns(path)
    assert info.value.exit_code == 1
    assert info.value.file == path and info.value.line == 3
    assert "line 3, column 15" in info.value.message


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.pop("itemGroupOID"), "missing required attribute(s): itemGroupOID"),
    (lambda d: d.update(extra=1), "unknown top-level attribute(s): extra"),
    (lambda d: d.update(datasetJSONVersion="1.0.0"), "datasetJSONVersion '1.0.0' is not 1.1"),
    (lambda d: d.update(records=5), "records says 5 but the file holds 2 rows"),
    (lambda d: d["columns"][1].update(dataType="number"), "column AVAL: dataType 'number' is not one of"),
    (lambda d: d["columns"][3].update(targetDataType="text"), "targetDataType 'text' is not integer or decimal"),
    (lambda d: d["columns"][0].pop("label"), "columns[1] (USUBJID): missing label"),
    (lambda d: d["columns"][2].update(name="USUBJID"), "column name 'USUBJID' is empty or repeated"),
    (lambda d: d["columns"][0].update(length=0), "column USUBJID: length must be a whole number of at least 1"),
    (lambda d: d["rows"][1].pop(), "row has 7 values, the columns are 8"),
    (lambda d: d.update(rows={"a": 1}), "'rows' must be a list of rows"),
])
def test_documents_outside_the_schema_are_refused(tmp_path: Path, change, expected: str) -> None:
    doc = json.loads(json.dumps(_doc(COLUMNS, ROWS)))
    change(doc)
    with pytest.raises(DataError) as info:
        read_dataset_json_columns(_write(tmp_path, doc))
    assert expected in info.value.message
    assert info.value.file == tmp_path / "adtte.json" and info.value.exit_code == 1


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("CNSR", "1", "column CNSR (integer) holds '1'"),
    ("CNSR", 1.5, "column CNSR (integer) holds 1.5"),
    ("AVAL", "abc", "column AVAL (decimal) holds 'abc'"),
    ("USUBJID", 7, "column USUBJID (string) holds 7"),
    ("FL", 1, "column FL (boolean) holds 1"),
])
def test_a_value_of_the_wrong_type_names_its_row_and_column(tmp_path: Path, column: str, value: object,
                                                           expected: str) -> None:
    rows = json.loads(json.dumps(ROWS))
    rows[1][[c["name"] for c in COLUMNS].index(column)] = value
    with pytest.raises(DataError) as info:
        read_dataset_json_columns(_write(tmp_path, _doc(COLUMNS, rows)))
    assert expected in info.value.message and (info.value.row, info.value.column) == (2, column)


def test_a_date_that_is_not_iso_8601_is_refused(tmp_path: Path) -> None:
    rows = json.loads(json.dumps(ROWS))
    rows[0][3] = "01FEB2021"
    with pytest.raises(DataError, match="column ADT \\(date\\): a value is not ISO 8601"):
        read_dataset_json_columns(_write(tmp_path, _doc(COLUMNS, rows)))


def test_not_utf8_and_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(DataError, match="not UTF-8 text \\(byte 11\\)"):
        read_dataset_json_columns(path)
    with pytest.raises(DataError, match="the document is not a JSON object"):
        read_dataset_json_columns(_write(tmp_path, [1, 2]))
