"""Tests for tlfgen.io.xpt_read: the column-wise XPT v5 reader gives pyreadstat's values.

The reference is pyreadstat 1.3 (readstat) reading the same file. Files: every XPT of the CDISC
pilot shipped in examples/cdiscpilot01 (SDTM and the pilot's own ADaM), the pilot's full SDTM
and ADaM in ../shared/studies/cdiscpilot01 when that folder is there, files tlfgen's writer
writes, and small files built byte by byte here for what those do not hold (special missing
values, every IBM bit pattern class, 3- to 7-byte numbers, blank records, two members).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from tlfgen.errors import DataError
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt import read_xpt, write_xpt
from tlfgen.io.xpt_read import compute_ieee_from_ibm, read_xpt_columns

ROOT = Path(__file__).resolve().parents[2]
PILOT = sorted((ROOT / "examples" / "cdiscpilot01").glob("*/*.xpt"))
SHARED = sorted((ROOT.parent / "shared" / "studies" / "cdiscpilot01").glob("*/*.xpt"))


def assert_same_as_pyreadstat(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """read_xpt_columns(path) equals pyreadstat's frame: columns, dtypes, text exactly, numbers bit
    for bit (NaN where pyreadstat has NaN)."""
    expected, _ = pyreadstat.read_xport(str(path), disable_datetime_conversion=True, usecols=columns)
    got = read_xpt_columns(path, columns)
    assert got is not None, f"{path.name}: the fast reader declined the file"
    frame, _layout = got
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected)
    for name in expected.columns:
        want, have = expected[name].to_numpy(), frame[name].to_numpy()
        assert have.dtype == want.dtype, name
        if want.dtype == object:
            assert [type(v) for v in have] == [type(v) for v in want], name
            assert have.tolist() == want.tolist(), name
        else:
            assert np.array_equal(np.isnan(have), np.isnan(want)), name
            numbers = ~np.isnan(want)
            assert np.array_equal(have[numbers].view(np.uint64), want[numbers].view(np.uint64)), name
    return frame


def _pyreadstat_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tlfgen.io.xpt_read.read_xpt_columns", lambda path, columns=None: None)


# 1. every XPT of the CDISC pilot ------------------------------------------------------------

@pytest.mark.parametrize("path", PILOT + SHARED, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}")
def test_pilot_files_read_as_pyreadstat_reads_them(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        pyreadstat.read_xport(str(path), metadataonly=True, disable_datetime_conversion=True)
        pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    except UnicodeDecodeError:  # pilot TS holds cp1252 text: neither reader takes it as it is
        assert read_xpt_columns(path) is None
        with pytest.raises(DataError, match="cannot read XPT file"):
            read_xpt(path)
        return
    frame = assert_same_as_pyreadstat(path)
    assert_same_as_pyreadstat(path, list(frame.columns[::3]))
    data, meta = read_xpt(path)
    _pyreadstat_only(monkeypatch)
    ref_data, ref_meta = read_xpt(path)
    assert meta == ref_meta
    pd.testing.assert_frame_equal(data, ref_data, check_exact=True)


def test_the_pilot_is_there() -> None:
    assert [p.name for p in PILOT] == ["adae.xpt", "adsl.xpt", "adtte.xpt", "ae.xpt", "dm.xpt", "ds.xpt",
                                       "ex.xpt", "mh.xpt", "sc.xpt", "suppdm.xpt", "sv.xpt"]


def test_columns_keeps_file_order_and_skips_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "examples" / "cdiscpilot01" / "sdtm" / "ae.xpt"
    data, meta = read_xpt(path, columns=["AESTDTC", "USUBJID", "NOSUCH"])
    assert list(data.columns) == ["USUBJID", "AESTDTC"] == [v.name for v in meta.variables]
    assert data.iloc[0].tolist() == ["01-701-1015", "2014-01-03"]
    _pyreadstat_only(monkeypatch)
    ref_data, ref_meta = read_xpt(path, columns=["AESTDTC", "USUBJID", "NOSUCH"])
    assert ref_meta == meta
    pd.testing.assert_frame_equal(data, ref_data)


# 2. files tlfgen writes -------------------------------------------------------------------------

def test_written_file_with_dates_blanks_and_extreme_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = DatasetMetadata(name="ADX", label="Test data", structure="", class_="", variables=(
        VariableMetadata("USUBJID", "Subject", "text"),
        VariableMetadata("TEXT", "Text with blanks", "text", length=12),
        VariableMetadata("AVAL", "Number", "float"),
        VariableMetadata("ADT", "Date", "date"),
        VariableMetadata("ADTM", "Datetime", "datetime"),
    ))
    values = [0.1, -2.5, 1e-70, 7e75, -0.0, 1 / 3, np.nan, 123456789.123456789]
    n = len(values)
    frame = pd.DataFrame({
        "USUBJID": [f"S-{i}" for i in range(n)],
        "TEXT": ["  lead", "trail  ", "", None, "a b", " ", "x" * 12, "Z"],
        "AVAL": values,
        "ADT": pd.to_datetime(["2020-01-01", None, "1959-12-31", "2021-02-28", "1960-01-01", "2000-02-29",
                               "1900-01-01", "2100-12-31"]),
        "ADTM": pd.to_datetime(["2020-01-01 10:11:12", None, "1960-01-01 00:00:01", "2021-02-28 23:59:59",
                                "1960-01-01 00:00:00", "2000-02-29 12:00:00", "1900-01-01 00:00:00", "2100-12-31 01:02:03"]),
    })
    path = write_xpt(frame, meta, tmp_path / "adx.xpt")
    assert_same_as_pyreadstat(path)
    data, read_meta = read_xpt(path)
    assert data["TEXT"].tolist() == ["  lead", "trail", "", "", "a b", "", "x" * 12, "Z"]
    _pyreadstat_only(monkeypatch)
    ref_data, ref_meta = read_xpt(path)
    assert read_meta == ref_meta
    pd.testing.assert_frame_equal(data, ref_data, check_exact=True)


# 3. files built byte by byte ------------------------------------------------------------------

def _record(text: bytes) -> bytes:
    return text.ljust(80, b" ")


def create_xpt(variables: list[tuple[str, bool, int]], rows: bytes, *, members: int = 1,
               formats: list[tuple[str, int, int]] | None = None) -> bytes:
    """A V5 transport file (TS-140 layout): ``variables`` (name, numeric, length), ``rows`` the records,
    ``formats`` (name, width, decimals) per variable."""
    stamp = b"01JAN20:00:00:00"
    head = _record(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + b"0" * 30)
    head += _record(b"SAS     SAS     SASLIB  9.4     X64_7PRO" + b" " * 24 + stamp) + _record(stamp)
    member = _record(b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140")
    member += _record(b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!" + b"0" * 30)
    member += _record(b"SAS     XX      SASDATA 9.4     X64_7PRO" + b" " * 24 + stamp)
    member += _record(stamp + b" " * 16 + b"Built by hand")
    member += _record(b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000" + f"{len(variables):04d}".encode()
                      + b"00000000000000000000")
    names, position = b"", 0
    for i, (name, numeric, length) in enumerate(variables):
        form, width, decimals = formats[i] if formats else ("", 0, 0)
        names += struct.pack(">hhhh8s40s8shhh2s8shhi52s", 1 if numeric else 2, 0, length, i + 1,
                             name.encode().ljust(8), f"Label {name}".encode().ljust(40), form.encode().ljust(8),
                             width, decimals, 0,
                             b"\0\0", b" " * 8, 0, 0, position, b"\0" * 52)
        position += length
    member += names + b" " * (-len(names) % 80)
    member += _record(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + b"0" * 30)
    member += rows + b" " * (-len(rows) % 80)
    return head + member * members


def _ibm(words: list[int]) -> bytes:
    return b"".join(struct.pack(">Q", w) for w in words)


def test_special_missing_values_and_bit_patterns(tmp_path: Path) -> None:
    special = [ord(c) << 56 for c in "._ABZ"]  # .  ._  .A  .B  .Z
    odd = [0x8000000000000000,  # -0 in IBM: a non-zero first byte and zeros, NaN as in readstat
           0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF,  # IBM's largest magnitudes: readstat's infinity
           0x0000000000000001,  # no exponent, one fraction bit: unnormalised
           0x4110000000000000, 0xC110000000000000,  # 1 and -1
           0x40FFFFFFFFFFFFFF,  # 56 fraction bits: readstat truncates the last three
           0x3F00000000000001, 0x0100000000000000, 0x2020202020202020]
    rng = np.random.default_rng(20251207)
    random = rng.integers(0, 2**63, size=200, dtype=np.uint64).tolist()
    words = special + odd + random + [0]
    path = tmp_path / "bits.xpt"
    path.write_bytes(create_xpt([("X", True, 8)], _ibm(words)))
    frame = assert_same_as_pyreadstat(path)
    assert frame["X"].iloc[:6].isna().all()
    assert frame["X"].iloc[9:11].tolist() == [1.0, -1.0]
    assert frame["X"].iloc[-1] == 0.0


def test_compute_ieee_from_ibm_hand_values() -> None:
    # TS-140: 1 = 0x41100000 00000000; 100 = 0x42640000 00000000; -118.625 = 0xC276A000 00000000
    words = np.array([0x4110000000000000, 0x4264000000000000, 0xC276A00000000000, 0, 0x2E00000000000000],
                     dtype=np.uint64)
    got = compute_ieee_from_ibm(words)
    assert got[:4].tolist() == [1.0, 100.0, -118.625, 0.0]
    assert np.isnan(got[4])


@pytest.mark.parametrize("length", [3, 4, 5, 6, 7, 2, 9])
def test_short_numbers(tmp_path: Path, length: int) -> None:
    values = [0x4110000000000000, 0x4264000000000000, 0xC276A00000000000, 0x2E00000000000000,
              0x41FFFFFFFFFFFFFF, 0x4100000000000000]
    rows = b"".join(struct.pack(">Q", v).ljust(length, b"\0")[:length] + b"ab" for v in values)
    path = tmp_path / "short.xpt"
    path.write_bytes(create_xpt([("N", True, length), ("C", False, 2)], rows))
    assert_same_as_pyreadstat(path)


def test_blank_records_inside_are_kept_and_trailing_ones_dropped(tmp_path: Path) -> None:
    rows = b"A1" + b"  " + b"  " + b"B2" + b"  " + b"  "  # records of 2 bytes; 2 blank at the end
    path = tmp_path / "blank.xpt"
    path.write_bytes(create_xpt([("C", False, 2)], rows))
    frame = assert_same_as_pyreadstat(path)
    assert frame["C"].tolist() == ["A1", "", "", "B2"]


def test_text_with_nul_or_non_ascii_is_left_to_pyreadstat(tmp_path: Path) -> None:
    path = tmp_path / "nul.xpt"
    path.write_bytes(create_xpt([("C", False, 4)], b"ab\0c" + "é  ".encode()))
    assert read_xpt_columns(path) is None
    data, _ = read_xpt(path)
    expected, _ = pyreadstat.read_xport(str(path))
    assert data["C"].tolist() == expected["C"].tolist() == ["ab", "é"]


def test_second_member_and_v8_are_left_to_pyreadstat(tmp_path: Path) -> None:
    path = tmp_path / "two.xpt"
    path.write_bytes(create_xpt([("C", False, 8)], b"ABCDEFGH" * 3, members=2))
    assert read_xpt_columns(path) is None
    v8 = tmp_path / "v8.xpt"
    v8.write_bytes(create_xpt([("C", False, 8)], b"ABCDEFGH").replace(b"LIBRARY HEADER", b"LIBV8   HEADER"))
    assert read_xpt_columns(v8) is None


def test_long_text_values_share_one_object_per_distinct_value(tmp_path: Path) -> None:
    rows = b"".join(v.ljust(12) for v in [b"PLACEBO", b"XANOMELINE", b"PLACEBO", b" ", b"XANOMELINE"])
    path = tmp_path / "long.xpt"
    path.write_bytes(create_xpt([("ARM", False, 12)], rows))
    frame = assert_same_as_pyreadstat(path)
    values = frame["ARM"].tolist()
    assert values == ["PLACEBO", "XANOMELINE", "PLACEBO", "", "XANOMELINE"]
    assert values[0] is values[2]


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read XPT file"):
        read_xpt(tmp_path / "none.xpt")


def test_formats_as_pyreadstat_reports_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    formats = [("", 0, 0), ("", 3, 0), ("", 8, 2), ("", 0, 2), ("DATE", 9, 0), ("DATE", 0, 0), ("BEST", 0, 2),
               ("DATETIME", 20, 0), ("E8601DA", 10, 0), ("$CHAR", 20, 0)]
    variables = [(f"V{i}", i < 9, 8) for i in range(len(formats))]
    path = tmp_path / "formats.xpt"
    path.write_bytes(create_xpt(variables, _ibm([0x4110000000000000] * 9) + b"TEXT    ", formats=formats))
    _, info = pyreadstat.read_xport(str(path))
    got = read_xpt_columns(path)
    assert got is not None
    assert [v.format for v in got[1].variables] == [info.original_variable_types[n] for n, _, _ in variables]
    assert [v.format for v in got[1].variables] == [None, "3.", "8.2", ".2", "DATE9.", "DATE", "BEST.2",
                                                    "DATETIME20.", "E8601DA10.", "$CHAR20."]
    data, meta = read_xpt(path)
    _pyreadstat_only(monkeypatch)
    ref_data, ref_meta = read_xpt(path)
    assert meta == ref_meta
    pd.testing.assert_frame_equal(data, ref_data, check_exact=True)
