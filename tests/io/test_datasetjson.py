"""Tests for tlfgen.io.datasetjson: Dataset-JSON 1.1 structure, types, determinism."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.io.datasetjson import build_dataset_json, read_dataset_json, write_dataset_json
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata

ADTTE = DatasetMetadata(
    name="ADTTE",
    label="Time-to-Event Analysis Dataset",
    structure="One record per subject per parameter",
    class_="BASIC DATA STRUCTURE",
    keys=("USUBJID", "PARAMCD"),
    standard="ADaMIG 1.3",
    variables=(
        VariableMetadata("USUBJID", "Unique Subject Identifier", "text"),
        VariableMetadata("PARAMCD", "Parameter Code", "text", length=8),
        VariableMetadata("AVAL", "Analysis Value", "float"),
        VariableMetadata("CNSR", "Censor", "integer"),
        VariableMetadata("ADT", "Analysis Date", "date", display_format="DATE9."),
        VariableMetadata("EVNTDESC", "Event or Censoring Description", "text"),
    ),
)


def _adtte() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["S-01001", "S-01002"],
        "PARAMCD": ["PFS", "OS"],
        "AVAL": [183.0, np.nan],
        "CNSR": [0.0, 1.0],
        "ADT": pd.to_datetime(["2021-02-01", None]),
        "EVNTDESC": ["PROGRESSIVE DISEASE", ""],
    })


def _doc(**kwargs: object) -> dict[str, object]:
    return build_dataset_json(_adtte(), ADTTE, study_oid="ST.NCT04471480",
                              metadata_version_oid="MDV.NCT04471480", **kwargs)  # type: ignore[arg-type]


def test_top_level_keys_in_specified_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    doc = _doc(source_system=("tlfgen", "0.1.0"), db_last_modified=datetime(1969, 12, 31),
               metadata_ref="define.xml")
    assert list(doc) == [
        "datasetJSONCreationDateTime", "datasetJSONVersion", "fileOID", "dbLastModifiedDateTime",
        "originator", "sourceSystem", "studyOID", "metaDataVersionOID", "metaDataRef",
        "itemGroupOID", "records", "name", "label", "columns", "rows",
    ]
    assert {k: doc[k] for k in list(doc)[:13]} == {
        "datasetJSONCreationDateTime": "1970-01-01T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "fileOID": "ST.NCT04471480.ADTTE",
        "dbLastModifiedDateTime": "1969-12-31T00:00:00",
        "originator": "tlfgen",
        "sourceSystem": {"name": "tlfgen", "version": "0.1.0"},
        "studyOID": "ST.NCT04471480",
        "metaDataVersionOID": "MDV.NCT04471480",
        "metaDataRef": "define.xml",
        "itemGroupOID": "IG.ADTTE",
        "records": 2,
        "name": "ADTTE",
        "label": "Time-to-Event Analysis Dataset",
    }


def test_optional_keys_left_out() -> None:
    doc = _doc()
    assert "dbLastModifiedDateTime" not in doc and "sourceSystem" not in doc and "metaDataRef" not in doc


def test_columns_metadata() -> None:
    assert _doc()["columns"] == [
        {"itemOID": "IT.ADTTE.USUBJID", "name": "USUBJID", "label": "Unique Subject Identifier",
         "dataType": "string", "length": 7, "keySequence": 1},
        {"itemOID": "IT.ADTTE.PARAMCD", "name": "PARAMCD", "label": "Parameter Code",
         "dataType": "string", "length": 8, "keySequence": 2},
        {"itemOID": "IT.ADTTE.AVAL", "name": "AVAL", "label": "Analysis Value", "dataType": "float"},
        {"itemOID": "IT.ADTTE.CNSR", "name": "CNSR", "label": "Censor", "dataType": "integer"},
        {"itemOID": "IT.ADTTE.ADT", "name": "ADT", "label": "Analysis Date", "dataType": "date",
         "targetDataType": "integer", "displayFormat": "DATE9."},
        {"itemOID": "IT.ADTTE.EVNTDESC", "name": "EVNTDESC", "label": "Event or Censoring Description",
         "dataType": "string", "length": 19},
    ]


def test_rows_nan_to_null_and_types() -> None:
    assert _doc()["rows"] == [
        ("S-01001", "PFS", 183.0, 0, "2021-02-01", "PROGRESSIVE DISEASE"),
        ("S-01002", "OS", None, 1, None, ""),
    ]


def test_sdtm_iso_date_text_kept() -> None:
    meta = DatasetMetadata("AE", "Adverse Events", "One record per event", "EVENTS", variables=(
        VariableMetadata("AESTDTC", "Start Date/Time of Adverse Event", "date"),))
    doc = build_dataset_json(pd.DataFrame({"AESTDTC": ["2020-08", None]}), meta,
                             study_oid="S", metadata_version_oid="M")
    assert doc["columns"] == [{"itemOID": "IT.AE.AESTDTC", "name": "AESTDTC",
                               "label": "Start Date/Time of Adverse Event", "dataType": "date", "length": 7}]
    assert doc["rows"] == [("2020-08",), (None,)]


def test_non_integer_value_in_integer_column_names_row(tmp_path: Path) -> None:
    df = _adtte().assign(CNSR=[0.0, 0.5])
    with pytest.raises(DataError) as info:
        write_dataset_json(df, ADTTE, tmp_path / "adtte.json", study_oid="S", metadata_version_oid="M")
    assert str(info.value) == (
        f"{tmp_path / 'adtte.json'}, row 2, column CNSR: integer variable CNSR holds 0.5\n"
        "  hint: round it in the derivation or declare the variable float"
    )


def test_metadata_and_data_disagree() -> None:
    with pytest.raises(DataError, match=r"in metadata only: \['EVNTDESC'\], in data only: \[\]"):
        build_dataset_json(_adtte().drop(columns=["EVNTDESC"]), ADTTE, study_oid="S", metadata_version_oid="M")


def test_write_is_deterministic_and_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    kwargs = {"study_oid": "ST.X", "metadata_version_oid": "MDV.X"}
    a = write_dataset_json(_adtte(), ADTTE, tmp_path / "a.json", **kwargs).read_bytes()
    b = write_dataset_json(_adtte(), ADTTE, tmp_path / "b.json", **kwargs).read_bytes()
    assert a == b
    assert a.startswith(b'{"datasetJSONCreationDateTime":"2023-11-14T22:13:20","datasetJSONVersion":"1.1.0"')
    assert "NaN" not in a.decode()
    frame, header = read_dataset_json(tmp_path / "a.json")
    assert header["records"] == 2
    assert frame.to_dict("list") == {
        "USUBJID": ["S-01001", "S-01002"], "PARAMCD": ["PFS", "OS"], "AVAL": [183.0, None],
        "CNSR": [0, 1], "ADT": ["2021-02-01", None], "EVNTDESC": ["PROGRESSIVE DISEASE", ""],
    }
    json.loads(a)  # valid JSON


def test_created_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert _doc(created=datetime(2024, 1, 2, 3, 4, 5))["datasetJSONCreationDateTime"] == "2024-01-02T03:04:05"


def test_column_wise_rows_match_cell_by_cell() -> None:
    from tlfgen.io.datasetjson import _cell, create_column_values
    ints = VariableMetadata(name="N", label="n", data_type="integer")
    floats = VariableMetadata(name="F", label="f", data_type="float")
    text = VariableMetadata(name="T", label="t", data_type="text")
    cases = [(ints, pd.Series([1.0, np.nan, -0.0, 3e15])), (ints, pd.Series([4, 5], dtype="int64")),
             (floats, pd.Series([0.1, np.nan, -2.0])), (text, pd.Series(["a", "", "b"], dtype=object)),
             (text, pd.Series(["a", None, np.nan, 3], dtype=object)),
             (text, pd.Series(["a", None, np.nan, ""], dtype=object)), (text, pd.Series([np.nan, 1.5], dtype=object))]
    for var, series in cases:
        expected = [_cell(v, var, False) for v in series.tolist()]
        got = create_column_values(var, series, False)
        assert got == expected and [type(v) for v in got] == [type(v) for v in expected]
    assert create_column_values(ints, pd.Series([1.5]), False) is None
    assert create_column_values(floats, pd.Series([np.inf]), False) is None


def test_written_file_equals_json_dumps_of_the_document(tmp_path: Path) -> None:
    meta = DatasetMetadata(name="AE", label="Adverse Events", structure="", class_="", variables=(
        VariableMetadata("USUBJID", "Unique Subject Identifier", "text"),
        VariableMetadata("AESEQ", "Sequence Number", "integer"),
        VariableMetadata("AETERM", "Reported Term", "text")))
    df = pd.DataFrame({"USUBJID": ["S-1", "S-1", "S-2"], "AESEQ": [1.0, 2.0, np.nan],
                       "AETERM": ['say "hi"', "caf\u00e9", ""]})
    doc = build_dataset_json(df, meta, study_oid="S", metadata_version_oid="M")
    path = write_dataset_json(df, meta, tmp_path / "ae.json", study_oid="S", metadata_version_oid="M")
    expected = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
    assert path.read_bytes() == expected.encode("utf-8")
    assert doc["rows"] == [("S-1", 1, 'say "hi"'), ("S-1", 2, "caf\u00e9"), ("S-2", None, "")]


def test_temporal_values_formatted_once_per_distinct_value_match_cell_by_cell() -> None:
    from datetime import date

    from tlfgen.io.datasetjson import _cell, create_column_values, create_temporal_values
    day = VariableMetadata(name="ADT", label="d", data_type="date")
    stamp = VariableMetadata(name="ADTM", label="t", data_type="datetime")
    cases = [(day, pd.Series(pd.to_datetime(["2021-02-01", None, "2021-02-01", "1959-12-31"]))),
             (day, pd.Series([22312.0, np.nan, 22312.0, -1.0, 0.0])),
             (day, pd.Series([22312, 0], dtype="int64")),
             (stamp, pd.Series([1927756800.5, np.nan, 0.0])),
             (stamp, pd.Series(pd.to_datetime(["2021-02-01 13:45:07", None]))),
             (day, pd.Series([date(2021, 2, 1), None, pd.NaT, date(2021, 2, 1)], dtype=object))]
    for var, series in cases:
        expected = [_cell(v, var, True) for v in series.tolist()]
        assert create_temporal_values(var, series) == expected
        assert create_column_values(var, series, True) == expected
    assert create_temporal_values(day, cases[1][1]) == ["2021-02-01", None, "2021-02-01", "1959-12-31", "1960-01-01"]
    assert create_temporal_values(day, pd.Series([], dtype="datetime64[ns]")) == []


def test_written_file_is_one_compact_line_that_reads_back_as_the_document(tmp_path: Path) -> None:
    """The file format: one line of compact UTF-8 JSON (no spaces after separators, non-ASCII kept,
    control characters and quotes escaped), ending in a newline; ``json.loads`` gives the document."""
    meta = DatasetMetadata(name="CO", label="Comments", structure="", class_="", variables=(
        VariableMetadata("COVAL", "Comment", "text"), VariableMetadata("X", "x", "float"),
        VariableMetadata("N", "n", "integer")))
    texts = ["caf\u00e9 \u2028", 'a "b" \\ c', "tab\tnew\nline\x01", "", None]
    df = pd.DataFrame({"COVAL": texts, "X": [0.1, 1e20, -2.5, 1e-05, np.nan], "N": [1, 2, 3, 2**40, None]},
                      ).astype({"COVAL": object})
    path = write_dataset_json(df, meta, tmp_path / "co.json", study_oid="S", metadata_version_oid="M")
    data = path.read_bytes()
    text = data.decode("utf-8")
    assert text.endswith("}\n") and text.count("\n") == 1  # one line
    doc = json.loads(text)
    built = build_dataset_json(df, meta, study_oid="S", metadata_version_oid="M")
    assert doc == {**built, "rows": [list(row) for row in built["rows"]]}
    assert doc["rows"] == [["caf\u00e9 \u2028", 0.1, 1], ['a "b" \\ c', 1e20, 2],
                           ["tab\tnew\nline\x01", -2.5, 3], ["", 1e-05, 2**40], [None, None, None]]
    assert "caf\u00e9".encode("utf-8") in data  # UTF-8, not \u escapes
    assert '"tab\\tnew\\nline\\u0001"' in text and '"a \\"b\\" \\\\ c"' in text
    assert ', "' not in text and '": ' not in text  # compact separators


def test_written_file_with_columns_off_the_table_path(tmp_path: Path) -> None:
    meta = DatasetMetadata(name="X", label="x", structure="", class_="", variables=(
        VariableMetadata("F", "f", "float"), VariableMetadata("T", "t", "text"),
        VariableMetadata("N", "n", "integer")))
    df = pd.DataFrame({"F": [-0.0, 0.0, np.nan], "T": [np.str_("a"), pd.NA, "b"], "N": [1, 2, 3]})
    doc = build_dataset_json(df, meta, study_oid="S", metadata_version_oid="M")
    path = write_dataset_json(df, meta, tmp_path / "x.json", study_oid="S", metadata_version_oid="M")
    expected = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
    assert path.read_bytes() == expected.encode("utf-8")
    assert doc["rows"] == [(-0.0, "a", 1), (0.0, None, 2), (None, "b", 3)]
    assert '"rows":[[-0.0,"a",1],[0.0,null,2],[null,"b",3]]}' in path.read_text()


def test_creation_time_is_the_time_of_writing_without_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    stamp = datetime.fromisoformat(str(_doc()["datasetJSONCreationDateTime"]))
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert before <= stamp <= after


def test_nan_or_infinity_the_builder_does_not_catch_is_still_refused_as_json_refused_it(tmp_path: Path) -> None:
    """A numpy infinity in a text column, the text "nan" in a float column: ValueError, the standard
    encoder's (the document is finite when written, so orjson never writes them as null)."""
    meta = DatasetMetadata(name="X", label="x", structure="", class_="", variables=(
        VariableMetadata("T", "t", "text"), VariableMetadata("F", "f", "float")))
    frames = [pd.DataFrame({"T": pd.Series([np.float64(np.inf)], dtype=object), "F": [1.0]}),
              pd.DataFrame({"T": ["a"], "F": pd.Series(["nan"], dtype=object)})]
    for df in frames:
        with pytest.raises(ValueError, match="^Out of range float values are not JSON compliant$"):
            write_dataset_json(df, meta, tmp_path / "x.json", study_oid="S", metadata_version_oid="M")
    assert not (tmp_path / "x.json").exists()


def test_text_is_the_standard_encoders_but_for_floats_below_1e4(tmp_path: Path) -> None:
    meta = DatasetMetadata(name="X", label="caf\u00e9", structure="", class_="", variables=(
        VariableMetadata("T", "t", "text"), VariableMetadata("F", "f", "float"), VariableMetadata("N", "n", "integer")))
    df = pd.DataFrame({"T": ["\u2028\x1f\"\\", None, "x"], "F": [0.5, 1e-05, 1e300], "N": [2**62, None, -3]})
    text = write_dataset_json(df, meta, tmp_path / "x.json", study_oid="S", metadata_version_oid="M").read_text()
    doc = build_dataset_json(df, meta, study_oid="S", metadata_version_oid="M")
    expected = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
    assert '[null,0.00001,null]' in text and text == expected.replace('[null,1e-05,null]', '[null,0.00001,null]')
