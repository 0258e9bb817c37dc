"""Tests for tlfgen.io.xpt: XPT v5 checks, writer, reader, deterministic bytes."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from tlfgen.errors import DataError
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt import (
    complete_metadata,
    compute_sas_dates,
    read_xpt,
    stamp_xpt_header,
    write_xpt,
)
from tlfgen.io.xpt_checks import XptViolation, check_xpt_v5

AE_META = DatasetMetadata(
    name="AE",
    label="Adverse Events",
    structure="One record per adverse event per subject",
    class_="EVENTS",
    keys=("USUBJID", "AESEQ"),
    variables=(
        VariableMetadata("USUBJID", "Unique Subject Identifier", "text"),
        VariableMetadata("AESEQ", "Sequence Number", "integer"),
        VariableMetadata("AETERM", "Reported Term for the Adverse Event", "text"),
        VariableMetadata("AESTDTC", "Start Date/Time of Adverse Event", "date"),
    ),
)


def _ae(**overrides: list[object]) -> pd.DataFrame:
    data: dict[str, list[object]] = {
        "USUBJID": ["NCT04471480-01001", "NCT04471480-01002"],
        "AESEQ": [1, 1],
        "AETERM": ["NAUSEA", "RASH"],
        "AESTDTC": ["2020-08-03", "2020-09"],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def _meta_with(**changes: object) -> DatasetMetadata:
    return dataclasses.replace(AE_META, **changes)


def _replace_var(meta: DatasetMetadata, var_name: str, **changes: object) -> DatasetMetadata:
    variables = tuple(dataclasses.replace(v, **changes) if v.name == var_name else v for v in meta.variables)
    return dataclasses.replace(meta, variables=variables)


# 1. checker: one case per rule, exact text ------------------------------------


def test_clean_dataset_has_no_violations() -> None:
    assert check_xpt_v5(_ae(), AE_META) == []


def test_dataset_name_nine_characters() -> None:
    [v] = check_xpt_v5(_ae(), _meta_with(name="ADVERSEEV"))
    assert str(v) == (
        "ADVERSEEV: dataset name 'ADVERSEEV' is 9 characters; XPT v5 allows at most 8; "
        "resolve: rename the dataset in the spec to 8 characters or fewer"
    )


def test_lowercase_dataset_name() -> None:
    [v] = check_xpt_v5(_ae(), _meta_with(name="ae"))
    assert (v.rule, v.variable) == ("dataset-name-chars", None)
    assert str(v) == (
        "ae: dataset name 'ae' must be upper-case letters, digits and '_', starting with a letter; "
        "resolve: rename the dataset in the spec (e.g. 'AE')"
    )


def test_variable_name_nine_characters() -> None:
    df = _ae().rename(columns={"AETERM": "AETERMXYZ"})
    meta = _replace_var(AE_META, "AETERM", name="AETERMXYZ")
    [v] = check_xpt_v5(df, meta)
    assert str(v) == (
        "AE.AETERMXYZ: variable name 'AETERMXYZ' is 9 characters; XPT v5 allows at most 8; "
        "resolve: rename the variable in the spec to 8 characters or fewer"
    )


def test_lowercase_variable_name() -> None:
    df = _ae().rename(columns={"AETERM": "aeterm"})
    meta = _replace_var(AE_META, "AETERM", name="aeterm")
    [v] = check_xpt_v5(df, meta)
    assert str(v) == (
        "AE.aeterm: variable name 'aeterm' must be upper-case letters, digits and '_', "
        "starting with a letter; resolve: rename the variable in the spec (e.g. 'AETERM')"
    )


def test_name_starting_with_digit() -> None:
    [v] = check_xpt_v5(_ae(), _meta_with(name="1AE"))
    assert v.rule == "dataset-name-chars"


def test_label_41_characters() -> None:
    label = "L" * 41
    [v] = check_xpt_v5(_ae(), _replace_var(AE_META, "AETERM", label=label))
    assert str(v) == (
        f"AE.AETERM: label '{label}' is 41 characters; XPT v5 allows at most 40; "
        "resolve: shorten the label in the spec to 40 characters or fewer"
    )


def test_label_40_characters_is_fine() -> None:
    assert check_xpt_v5(_ae(), _replace_var(AE_META, "AETERM", label="L" * 40)) == []


def test_non_ascii_label() -> None:
    [v] = check_xpt_v5(_ae(), _replace_var(AE_META, "AETERM", label="Terme rapport\u00e9"))
    assert str(v) == (
        "AE.AETERM: label 'Terme rapporté' has non-ASCII character 'é' (U+00E9) at position 14; "
        "resolve: rewrite the label in the spec using ASCII characters only"
    )


def test_dataset_label_41_characters() -> None:
    [v] = check_xpt_v5(_ae(), _meta_with(label="D" * 41))
    assert v.rule == "dataset-label-length"
    assert v.message == f"dataset label '{'D' * 41}' is 41 characters; XPT v5 allows at most 40"


def test_value_201_bytes_names_record_and_usubjid() -> None:
    df = _ae(AETERM=["NAUSEA", "X" * 201])
    [v] = check_xpt_v5(df, AE_META)
    assert (v.row, v.usubjid, v.records) == (2, "NCT04471480-01002", 1)
    assert str(v) == (
        "AE.AETERM record 2 (USUBJID NCT04471480-01002): value is 201 bytes; XPT v5 character "
        "values hold at most 200; resolve: split into SUPPQUAL (QNAM, QNAM1 ...) per SDTMIG 4.5.3"
    )


def test_value_200_bytes_is_fine() -> None:
    assert check_xpt_v5(_ae(AETERM=["NAUSEA", "X" * 200]), AE_META) == []


def test_value_over_200_bytes_in_adam_advises_variable_split() -> None:
    meta = _meta_with(standard="ADaMIG 1.3")
    [v] = check_xpt_v5(_ae(AETERM=["X" * 250, "Y" * 300]), meta)
    assert str(v) == (
        "AE.AETERM record 1 (USUBJID NCT04471480-01001): value is 250 bytes; XPT v5 character "
        "values hold at most 200 (2 records); resolve: split into AETERM, AETERM1, AETERM2 ... "
        "of at most 200 characters each"
    )


def test_non_ascii_value() -> None:
    [v] = check_xpt_v5(_ae(AETERM=["NAUSEA", "\u00e9"]), AE_META)
    assert str(v) == (
        "AE.AETERM record 2 (USUBJID NCT04471480-01002): value has non-ASCII character 'é' "
        "(U+00E9) at position 1; resolve: transliterate in the spec or map through a codelist"
    )


def test_row_without_usubjid_column() -> None:
    meta = DatasetMetadata("TS", "Trial Summary", "One record per parameter", "TRIAL DESIGN",
                           variables=(VariableMetadata("TSVAL", "Parameter Value", "text"),))
    [v] = check_xpt_v5(pd.DataFrame({"TSVAL": ["ok", "caf\u00e9"]}), meta)
    assert str(v).startswith("TS.TSVAL record 2: value has non-ASCII character 'é'")


def test_numeric_variable_holding_text() -> None:
    [v] = check_xpt_v5(_ae(AESEQ=[1, "two"]), AE_META)
    assert str(v) == (
        "AE.AESEQ record 2 (USUBJID NCT04471480-01002): declared integer but holds 'two' (str); "
        "resolve: convert the column to numbers in the derivation or declare it text in the spec"
    )


def test_text_variable_holding_numbers() -> None:
    [v] = check_xpt_v5(_ae(AETERM=[1.5, 2.0]), AE_META)
    assert v.message == "declared text but the column holds float64 values"


def test_column_not_in_metadata_and_variable_not_in_data() -> None:
    df = _ae().drop(columns=["AESTDTC"]).assign(AEXTRA=["a", "b"])
    found = [(v.rule, v.variable, v.message) for v in check_xpt_v5(df, AE_META)]
    assert found == [
        ("column-undeclared", "AEXTRA", "column 'AEXTRA' is in the data but not in the dataset metadata"),
        ("variable-missing", "AESTDTC", "variable 'AESTDTC' is in the metadata but not in the data"),
    ]


def test_value_longer_than_declared_length() -> None:
    [v] = check_xpt_v5(_ae(), _replace_var(AE_META, "AETERM", length=4))
    assert str(v) == (
        "AE.AETERM record 1 (USUBJID NCT04471480-01001): value is 6 bytes, longer than the "
        "declared length 4; resolve: raise length in the spec or leave it empty to size it from the data"
    )


# 2. writer ----------------------------------------------------------------------


ADSL_META = DatasetMetadata(
    name="ADSL",
    label="Subject-Level Analysis Dataset",
    structure="One record per subject",
    class_="SUBJECT LEVEL ANALYSIS DATASET",
    keys=("USUBJID",),
    standard="ADaMIG 1.3",
    variables=(
        VariableMetadata("USUBJID", "Unique Subject Identifier", "text"),
        VariableMetadata("AGE", "Age", "integer"),
        VariableMetadata("TRTSDT", "Date of First Exposure to Treatment", "date"),
        VariableMetadata("SEX", "Sex", "text", length=6),
        VariableMetadata("BESTPCHG", "Best Percent Change", "float"),
        VariableMetadata("COMMENT", "Comment", "text"),
    ),
)


def _adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["NCT04471480-01001", "NCT04471480-01002", "NCT04471480-01003"],
        "AGE": [61, 58, np.nan],
        "TRTSDT": pd.to_datetime(["2020-08-03", "1959-12-31", None]),
        "SEX": ["M", "F", None],
        "BESTPCHG": [-0.1, 1 / 3, np.nan],
        "COMMENT": [None, None, None],
    })


def test_write_read_round_trip(tmp_path: Path) -> None:
    path = write_xpt(_adsl(), ADSL_META, tmp_path / "adsl.xpt")
    df, meta = read_xpt(path)
    assert (meta.name, meta.label) == ("ADSL", "Subject-Level Analysis Dataset")
    assert [(v.name, v.label, v.data_type, v.length, v.display_format) for v in meta.variables] == [
        ("USUBJID", "Unique Subject Identifier", "text", 17, None),
        ("AGE", "Age", "float", 8, None),
        ("TRTSDT", "Date of First Exposure to Treatment", "date", 8, "DATE9."),
        ("SEX", "Sex", "text", 6, None),  # declared length honoured (padded)
        ("BESTPCHG", "Best Percent Change", "float", 8, None),
        ("COMMENT", "Comment", "text", 1, None),  # all empty -> length 1
    ]
    assert df["USUBJID"].tolist() == ["NCT04471480-01001", "NCT04471480-01002", "NCT04471480-01003"]
    assert df["AGE"].tolist()[:2] == [61.0, 58.0] and np.isnan(df["AGE"].iloc[2])
    assert df["TRTSDT"].tolist()[:2] == [pd.Timestamp("2020-08-03"), pd.Timestamp("1959-12-31")]
    assert pd.isna(df["TRTSDT"].iloc[2])
    assert df["SEX"].tolist() == ["M", "F", ""]  # padding stripped, missing -> ""
    assert df["BESTPCHG"].tolist()[:2] == [-0.1, 1 / 3]  # IBM float round trip is exact here
    assert df["COMMENT"].tolist() == ["", "", ""]


def _namestr_format(data: bytes, name: str) -> tuple[str, int]:
    """(nform, nfl) of variable ``name`` read from an XPT v5 file's 140-byte NAMESTR records."""
    start = data.index(b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!") + 80
    count = int(data[start - 80 + 54:start - 80 + 58])
    for i in range(count):
        rec = data[start + 140 * i:start + 140 * (i + 1)]
        if rec[8:16].decode("ascii").rstrip() == name:
            return rec[56:64].decode("ascii").rstrip(), int.from_bytes(rec[64:66], "big")
    raise AssertionError(f"{name} has no NAMESTR record")


def test_numeric_sas_dates_and_format_in_file(tmp_path: Path) -> None:
    path = write_xpt(_adsl(), ADSL_META, tmp_path / "adsl.xpt")
    raw, info = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    assert raw["TRTSDT"].tolist()[:2] == [22130.0, -1.0]
    # What the file holds: the NAMESTR record's format name (nform, 8 bytes) and width (nfl).
    assert _namestr_format(path.read_bytes(), "TRTSDT") == ("DATE", 9)
    # pyreadstat spells it "DATE9" up to 1.3.7 and "DATE9." from 1.3.8 on: both name the same format.
    assert info.original_variable_types["TRTSDT"].rstrip(".") == "DATE9"
    assert info.table_name == "ADSL"


def test_compute_sas_dates() -> None:
    days = compute_sas_dates(pd.Series(pd.to_datetime(["1960-01-01", "1960-01-02 13:00"], format="ISO8601")), "date")
    assert days.tolist() == [0.0, 1.0]
    secs = compute_sas_dates(pd.Series(pd.to_datetime(["1960-01-02 00:01:00"])), "datetime")
    assert secs.tolist() == [86460.0]


def test_two_writes_are_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = write_xpt(_adsl(), ADSL_META, tmp_path / "a.xpt").read_bytes()
    second = write_xpt(_adsl(), ADSL_META, tmp_path / "b.xpt").read_bytes()
    assert first == second
    assert first[144:160] == b"01JAN70:00:00:00"
    assert first[480:496] == b"01JAN70:00:00:00"


def test_header_stamp_follows_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    data = write_xpt(_adsl(), ADSL_META, tmp_path / "a.xpt").read_bytes()
    assert [data[o:o + 16] for o in (144, 160, 464, 480)] == [b"14NOV23:22:13:20"] * 4
    _, info = pyreadstat.read_xport(str(tmp_path / "a.xpt"), metadataonly=True)
    assert info.creation_time == datetime(2023, 11, 14, 22, 13, 20)


def test_stamp_rejects_unknown_layout() -> None:
    with pytest.raises(DataError, match="unexpected XPT header layout at byte 0"):
        stamp_xpt_header(b"x" * 800, datetime(2020, 1, 1))


def test_write_refuses_violations_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "ae.xpt"
    df = _ae(AETERM=["NAUSEA", "\u00e9"])
    with pytest.raises(DataError) as info:
        write_xpt(df, AE_META, target)
    assert str(info.value) == (
        f"{target}: 1 XPT v5 violation(s) in dataset AE:\n"
        "  - AE.AETERM record 2 (USUBJID NCT04471480-01002): value has non-ASCII character 'é' "
        "(U+00E9) at position 1; resolve: transliterate in the spec or map through a codelist\n"
        "  hint: fix the spec or the derivation as each line says; nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    target = write_xpt(_ae(), AE_META, tmp_path / "ae.xpt")
    before = target.read_bytes()
    with pytest.raises(DataError):
        write_xpt(_ae(AESEQ=[1, "x"]), AE_META, target)
    assert target.read_bytes() == before


def test_sdtm_iso_dates_stay_text(tmp_path: Path) -> None:
    df, meta = read_xpt(write_xpt(_ae(), AE_META, tmp_path / "ae.xpt"))
    assert meta.variable("AESTDTC").data_type == "text"
    assert meta.variable("AESTDTC").length == 10
    assert df["AESTDTC"].tolist() == ["2020-08-03", "2020-09"]


def test_complete_metadata_fills_lengths_and_formats() -> None:
    meta = complete_metadata(ADSL_META, _adsl())
    assert [(v.name, v.length, v.display_format) for v in meta.variables] == [
        ("USUBJID", 17, None),
        ("AGE", 8, None),
        ("TRTSDT", 8, "DATE9."),
        ("SEX", 6, None),
        ("BESTPCHG", 8, None),
        ("COMMENT", 1, None),
    ]


def test_violation_dataclass_str_without_row() -> None:
    v = XptViolation("AE", None, "r", "msg", "fix it")
    assert str(v) == "AE: msg; resolve: fix it"


def test_nullable_int_categorical_and_filtered_index(tmp_path: Path) -> None:
    meta = DatasetMetadata("DM", "Demographics", "One record per subject", "SPECIAL PURPOSE", variables=(
        VariableMetadata("AGE", "Age", "integer"), VariableMetadata("SEX", "Sex", "text", length=2)))
    df = pd.DataFrame({"AGE": pd.array([61, None], dtype="Int64"), "SEX": pd.Categorical(["M", None])},
                      index=[5, 9])
    back, back_meta = read_xpt(write_xpt(df, meta, tmp_path / "dm.xpt"))
    assert back["AGE"].tolist()[0] == 61.0 and np.isnan(back["AGE"].iloc[1])
    assert back["SEX"].tolist() == ["M", ""]
    assert back_meta.variable("SEX").length == 2


# ---------------------------------------------------------------- column-wise checks and fast writer


def test_check_counts_mixed_values_column_wise() -> None:
    from tlfgen.io.xpt_checks import check_xpt_v5 as check
    df = _ae(USUBJID=[f"S{i}" for i in range(6)], AESEQ=list(range(6)), AESTDTC=[""] * 6,
             AETERM=["ok", None, 5, "Na\u00efve", float("nan"), "caf\u00e9"])
    found = [v for v in check(df, AE_META) if v.variable == "AETERM"]
    assert [(v.rule, v.row, v.records) for v in found] == [("text-value", 3, 1), ("value-ascii", 4, 2)]
    assert "value has non-ASCII character '\u00ef' (U+00EF) at position 3" in str(found[1])


def test_text_length_counts_utf8_bytes() -> None:
    from tlfgen.io.xpt_columns import text_profile
    assert text_profile(pd.Series(["ab", "\u00e9\u00e9", None, 7], dtype=object)).max_size == 4
    assert text_profile(pd.Series(["", None], dtype=object)).max_size == 1


def test_compute_ibm_doubles_known_values() -> None:
    from tlfgen.io.xpt import compute_ibm_doubles
    out = compute_ibm_doubles(np.array([1.0, -2.5, 0.0, np.nan, 0.1]))
    assert [out[i:i + 1].tobytes().hex() for i in range(5)] == [
        "4110000000000000", "c128000000000000", "0000000000000000", "2e00000000000000", "401999999999999a"]
    assert compute_ibm_doubles(np.array([-0.0])) is None
    assert compute_ibm_doubles(np.array([np.inf])) is None
    assert compute_ibm_doubles(np.array([7.2e75])) is None


def test_fast_writer_matches_pyreadstat_bytes(tmp_path: Path) -> None:
    from tlfgen.io.xpt import create_xpt_parts
    rng = np.random.default_rng(7)
    for n in (1, 3, 80, 81):
        numbers = rng.normal(0, 1e5, n)
        numbers[::3] = np.nan
        frame = pd.DataFrame({"A": pd.Series([("x" * int(k))[:12] for k in rng.integers(0, 13, n)], dtype=object),
                              "B": numbers, "C": pd.Series([""] * n, dtype=object)})
        meta = DatasetMetadata(name="XX", label="Test", structure="", class_="", variables=tuple(
            VariableMetadata(name=c, label=f"Label {c}", data_type="text") for c in "ABC"))
        fast = b"".join(create_xpt_parts(frame, meta, {"B": "DATE9."}, tmp_path / "a.xpt"))
        pyreadstat.write_xport(frame, str(tmp_path / "b.xpt"), file_label="Test",
                               column_labels={c: f"Label {c}" for c in "ABC"}, table_name="XX",
                               file_format_version=5, variable_format={"B": "DATE9."})
        slow = (tmp_path / "b.xpt").read_bytes()
        assert len(fast) == len(slow)
        assert [fast[a:b] == slow[a:b] for a, b in [(0, 144), (176, 464), (496, len(slow))]] == [True] * 3, n


def test_compute_from_sas_numbers_never_hands_nan_to_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas 2.x rounds an uninitialised fraction at NaN positions in to_timedelta (GH#57366): the
    intermittent 'overflow encountered in multiply' seen in the suite. Missing values stay NaT."""
    from tlfgen.io.xpt import compute_from_sas_numbers

    real = pd.to_timedelta
    seen: list[np.ndarray] = []

    def spy(values, *args, **kwargs):
        seen.append(np.asarray(values, dtype=float))
        return real(values, *args, **kwargs)

    monkeypatch.setattr(pd, "to_timedelta", spy)
    days = pd.Series([np.nan, 22130.0, -1.0, np.nan], index=[5, 6, 7, 8], name="TRTSDT")
    out = compute_from_sas_numbers(days, "D")
    assert not np.isnan(seen[0]).any()
    assert (out.name, list(out.index), str(out.dtype)) == ("TRTSDT", [5, 6, 7, 8], "datetime64[ns]")
    assert out.isna().tolist() == [True, False, False, True]
    assert out.tolist()[1:3] == [pd.Timestamp("2020-08-03"), pd.Timestamp("1959-12-31")]
    secs = compute_from_sas_numbers(pd.Series([86460.0, np.nan]), "s")
    assert secs.tolist()[0] == pd.Timestamp("1960-01-02 00:01:00") and pd.isna(secs.tolist()[1])


def test_write_xpt_equals_pyreadstat_writing_cell_by_cell_on_edge_values(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The column-wise writer (each distinct text encoded once, taken by code) against pyreadstat
    given every cell: empty text and missing values of every kind, a 200-byte value, quotes and
    backslashes, a declared length longer than the data (blank-padded), an all-missing column,
    numbers at the edges of the IBM range, negative and missing numbers, dates."""
    from tlfgen.io.atomic import fixed_timestamp
    from tlfgen.io.xpt import _prepare_frame, create_xpt_parts

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    long = "L" * 199 + "!"
    df = pd.DataFrame({
        "T": pd.Series(["a", "", None, np.nan, pd.NA, pd.NaT, long, "a", ' q"\\ ', "a"], dtype=object),
        "P": pd.Series(["x", None] * 5, dtype=object),
        "E": pd.Series([None] * 10, dtype=object),
        "N": [0.0, np.nan, 1e-70, -1e70, -123.456, 2.0**53 + 2, 0.1, np.nan, 5.0, -0.5],
        "D": pd.to_datetime(["2020-08-03", None, "1959-12-31", "1960-01-01"] + ["2021-02-28"] * 6),
    }).set_axis(range(100, 110))
    meta = complete_metadata(DatasetMetadata("XX", "Edges", "", "", variables=(
        VariableMetadata("T", "Text", "text"), VariableMetadata("P", "Padded", "text", length=7),
        VariableMetadata("E", "Empty", "text"), VariableMetadata("N", "Number", "float"),
        VariableMetadata("D", "Date", "date"))), df)
    written = write_xpt(df, meta, tmp_path / "xx.xpt").read_bytes()
    cells = pd.DataFrame({
        "T": ["a", "", "", "", "", "", long, "a", ' q"\\ ', "a"], "P": ["x      ", "       "] * 5, "E": [""] * 10,
        "N": df["N"].tolist(), "D": compute_sas_dates(df["D"], "date").tolist()})
    pyreadstat.write_xport(cells, str(tmp_path / "cells.xpt"), file_label="Edges", table_name="XX",
                           column_labels={v.name: v.label for v in meta.variables}, file_format_version=5,
                           variable_format={"D": "DATE9."})
    assert written == stamp_xpt_header((tmp_path / "cells.xpt").read_bytes(), fixed_timestamp(None))
    columns, formats, lengths = _prepare_frame(df, meta)
    assert len(create_xpt_parts(columns, meta, formats, tmp_path / "s.xpt", None, lengths)) == 3  # column-wise
    back, _ = pyreadstat.read_xport(str(tmp_path / "xx.xpt"))
    assert back["T"].tolist() == ["a", "", "", "", "", "", long, "a", ' q"\\', "a"]  # trailing blank dropped


def test_non_ascii_text_goes_to_pyreadstat_cell_by_cell(tmp_path: Path) -> None:
    """Text the column-wise encoder does not take (non-ASCII) is written by pyreadstat as before."""
    from tlfgen.io.xpt import create_xpt_parts

    meta = DatasetMetadata("XX", "Test", "", "", variables=(VariableMetadata("T", "Text", "text"),))
    columns = {"T": pd.Series(["caf\u00e9", None, "a"], dtype=object)}
    assert len(create_xpt_parts(columns, meta, {}, tmp_path / "s.xpt")) == 1
    pyreadstat.write_xport(pd.DataFrame({"T": ["caf\u00e9", "", "a"]}), str(tmp_path / "b.xpt"), file_label="Test",
                           column_labels={"T": "Text"}, table_name="XX", file_format_version=5)
    fast, slow = b"".join(create_xpt_parts(columns, meta, {}, tmp_path / "a.xpt")), (tmp_path / "b.xpt").read_bytes()
    assert [fast[a:b] == slow[a:b] for a, b in [(0, 144), (176, 464), (496, len(slow))]] == [True] * 3
