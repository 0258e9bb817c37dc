"""Tests for tlfgen.io.datasets: which file holds a dataset (XPT before Dataset-JSON) and reading
it with row selection (the XPT records skipped by position)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.io.datasetjson import write_dataset_json
from tlfgen.io.datasets import dataset_paths, find_dataset, read_dataset, read_dataset_file
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt import complete_metadata, write_xpt

META = DatasetMetadata(name="VS", label="Vital Signs", structure="", class_="", variables=(
    VariableMetadata("USUBJID", "Subject", "text"), VariableMetadata("VSTESTCD", "Test", "text"),
    VariableMetadata("VSSTRESN", "Result", "float"), VariableMetadata("VSDTC", "Date", "text")))


def _frame(value: float) -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": ["S-1", "S-1", "S-2", "S-2", "S-3"],
                         "VSTESTCD": ["SYSBP", "DIABP", "SYSBP", "DIABP", "SYSBP"],
                         "VSSTRESN": [120.0, 80.0, value, np.nan, 131.5],
                         "VSDTC": ["2020-01-01", "2020-01-01", "", "2020-02-01", "2020-03-01"]})


def _xpt(folder: Path, frame: pd.DataFrame, name: str = "vs.xpt") -> Path:
    return write_xpt(frame, complete_metadata(META, frame), folder / name)


def _json(folder: Path, frame: pd.DataFrame, name: str = "vs.json") -> Path:
    return write_dataset_json(frame, META, folder / name, study_oid="S", metadata_version_oid="M")


def test_xpt_is_read_when_both_are_there_else_the_dataset_json(tmp_path: Path) -> None:
    _json(tmp_path, _frame(999.0))
    assert find_dataset(tmp_path, "VS") == tmp_path / "vs.json"
    assert read_dataset(tmp_path, "vs")["VSSTRESN"].tolist()[2] == 999.0
    _xpt(tmp_path, _frame(140.0))
    assert find_dataset(tmp_path, "vs") == tmp_path / "vs.xpt"
    assert read_dataset(tmp_path, "VS")["VSSTRESN"].tolist()[2] == 140.0
    assert [p.name for p in dataset_paths(tmp_path, "vs")] == ["vs.xpt", "VS.xpt", "vs.json", "VS.json"]


def test_upper_case_file_names_and_a_missing_dataset(tmp_path: Path) -> None:
    _json(tmp_path, _frame(1.0), "VS.json")
    assert find_dataset(tmp_path, "vs") in (tmp_path / "VS.json", tmp_path / "vs.json")  # case-insensitive disks
    assert read_dataset(tmp_path, "VS", {"USUBJID"}).columns.tolist() == ["USUBJID"]
    with pytest.raises(DataError, match="dataset LB not found") as info:
        read_dataset(tmp_path, "LB")
    assert info.value.file == tmp_path / "lb.xpt" and info.value.exit_code == 1


@pytest.mark.parametrize("writer", [_xpt, _json], ids=["xpt", "json"])
def test_row_selection_reads_the_records_a_full_read_holds_there(tmp_path: Path, writer) -> None:
    path = writer(tmp_path, _frame(140.0))
    full = read_dataset_file(path)
    seen: list[list[str]] = []

    def systolic(frame: pd.DataFrame) -> np.ndarray:
        seen.append(list(frame.columns))
        return np.flatnonzero(frame["VSTESTCD"].to_numpy() == "SYSBP")

    part = read_dataset_file(path, {"USUBJID", "VSSTRESN", "VSDTC", "VSTESTCD"}, select_rows=systolic,
                             rows_from=["VSTESTCD"])
    assert seen == [["VSTESTCD"]]
    pd.testing.assert_frame_equal(part, full.iloc[[0, 2, 4]].reset_index(drop=True))
    every = read_dataset_file(path, None, select_rows=lambda f: np.arange(len(f)), rows_from=["VSTESTCD"])
    pd.testing.assert_frame_equal(every, full)
    none = read_dataset_file(path, {"USUBJID", "VSSTRESN"}, select_rows=lambda f: np.arange(0),
                             rows_from=["VSTESTCD"])
    assert none.columns.tolist() == ["USUBJID", "VSSTRESN"] and len(none) == 0


@pytest.mark.parametrize("writer", [_xpt, _json], ids=["xpt", "json"])
def test_a_filter_column_the_file_lacks_reads_every_record(tmp_path: Path, writer) -> None:
    path = writer(tmp_path, _frame(140.0))
    called: list[int] = []
    data = read_dataset_file(path, {"USUBJID", "VSCAT"}, select_rows=lambda f: called.append(1) or np.arange(0),
                             rows_from=["VSCAT"])
    assert called == [] and data["USUBJID"].tolist() == ["S-1", "S-1", "S-2", "S-2", "S-3"]
