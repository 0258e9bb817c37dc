"""ISO 8601 conversion of EDC dates (tlfgen.sdtm.iso8601)."""

import pandas as pd
import pytest

from tlfgen.sdtm.iso8601 import compute_iso8601, iso_to_date, parse_edc_date


@pytest.mark.parametrize("text, expected", [
    ("03 AUG 2020", ("2020-08-03", "")),
    ("3 aug 2020", ("2020-08-03", "")),
    ("  03  AUG 2020 ", ("2020-08-03", "")),
    ("UN JAN 2021", ("2021-01", "partial")),
    ("UN UNK 2021", ("2021", "partial")),
    ("UNK UNK 2021", ("2021", "partial")),
    ("UN UNK UNKN", ("", "blank")),
    ("31 FEB 2021", ("", "invalid")),
    ("29 FEB 2020", ("2020-02-29", "")),
    ("29 FEB 2021", ("", "invalid")),
    ("03 AUX 2020", ("", "invalid")),
    ("03/08/20", ("", "invalid")),
    ("03 AUG 1850", ("", "invalid")),
    ("2020-08-03", ("2020-08-03", "")),
    ("2020-08", ("2020-08", "partial")),
    ("", ("", "blank")),
    ("tomorrow", ("", "invalid")),
])
def test_parse_edc_date(text, expected):
    assert parse_edc_date(text) == expected


def test_compute_iso8601_is_aligned_to_the_input():
    iso, status = compute_iso8601(pd.Series(["03 AUG 2020", None, "31 FEB 2021", "03 AUG 2020"], index=[5, 6, 7, 8]))
    assert iso.to_dict() == {5: "2020-08-03", 6: "", 7: "", 8: "2020-08-03"}
    assert status.to_dict() == {5: "", 6: "blank", 7: "invalid", 8: ""}


def test_iso_to_date_keeps_only_complete_dates():
    out = iso_to_date(pd.Series(["2020-08-03", "2020-08", "2020", ""]))
    assert out.iloc[0] == pd.Timestamp("2020-08-03")
    assert out.iloc[1:].isna().all()


def test_parse_edc_date_cached_gives_the_same_answers():
    from tlfgen.sdtm.iso8601 import parse_edc_date_cached

    assert parse_edc_date_cached("03 aug 2020") == ("2020-08-03", "")
    assert parse_edc_date_cached("03 aug 2020") == parse_edc_date("03 aug 2020")
    assert parse_edc_date_cached("31 FEB 2021") == ("", "invalid")


# ---------------------------------------------------------------- other EDC date styles

from tlfgen.sdtm.iso8601 import DateStyle, join_date_time, parse_time  # noqa: E402

DMY50 = DateStyle("DMY", 1950)


@pytest.mark.parametrize("text, style, expected", [
    # DD-MMM-YY(YY): valid, partial, unknown parts, impossible
    ("15-Sep-20", DMY50, ("2020-09-15", "")),
    ("15-SEP-2020", DateStyle("DMY"), ("2020-09-15", "")),
    ("UN-Sep-20", DMY50, ("2020-09", "partial")),
    ("UNK-UNK-20", DMY50, ("2020", "partial")),
    ("UK-UNK-UNK", DMY50, ("", "blank")),
    ("31-Sep-20", DMY50, ("", "invalid")),
    ("29-Feb-21", DMY50, ("", "invalid")),
    ("29-Feb-20", DMY50, ("2020-02-29", "")),
    ("15-Sept-20", DMY50, ("", "invalid")),
    # DD/MM/YYYY
    ("10/09/2020", DateStyle("DMY"), ("2020-09-10", "")),
    ("10.09.2020", DateStyle("DMY"), ("2020-09-10", "")),
    ("UN/09/2020", DateStyle("DMY"), ("2020-09", "partial")),
    ("UN/UN/2020", DateStyle("DMY"), ("2020", "partial")),
    ("31/04/2020", DateStyle("DMY"), ("", "invalid")),
    ("10/13/2020", DateStyle("DMY"), ("", "invalid")),
    # MM/DD/YYYY: the same text is another day
    ("09/10/2020", DateStyle("MDY"), ("2020-09-10", "")),
    ("10/09/2020", DateStyle("MDY"), ("2020-10-09", "")),
    ("09/UN/2020", DateStyle("MDY"), ("2020-09", "partial")),
    ("02/30/2020", DateStyle("MDY"), ("", "invalid")),
    ("Sep 15 2020", DateStyle("MDY"), ("2020-09-15", "")),
    # YYYY-MM-DD (ISO, accepted in every style) and YYYY/MM/DD
    ("2020-09-15", DateStyle("DMY"), ("2020-09-15", "")),
    ("2020/9/15", DateStyle("YMD"), ("2020-09-15", "")),
    ("2020-UN-UN", DateStyle("YMD"), ("2020", "partial")),
    ("2020-09-UN", DateStyle("YMD"), ("2020-09", "partial")),
    ("2020-02-30", DateStyle("YMD"), ("", "invalid")),
    ("2020-09", DateStyle("MDY"), ("2020-09", "partial")),
    # a known day with an unknown month keeps the year only (as the embedded EDC's dates)
    ("15-UNK-20", DMY50, ("2020", "partial")),
    # not a date at all
    ("Sep-2020", DMY50, ("", "invalid")),
    ("15-Sep", DMY50, ("", "invalid")),
])
def test_parse_edc_date_in_each_style(text, style, expected):
    assert parse_edc_date(text, style) == expected


@pytest.mark.parametrize("text, cutoff, expected", [
    # SAS YEARCUTOFF=1950: the window is 1950-2049, so 49 is 2049 and 50 is 1950
    ("01-Jan-49", 1950, "2049-01-01"),
    ("01-Jan-50", 1950, "1950-01-01"),
    ("31-Dec-99", 1950, "1999-12-31"),
    ("01-Jan-00", 1950, "2000-01-01"),
    # SAS's default YEARCUTOFF=1926: 25 is 2025, 26 is 1926
    ("01-Jan-25", 1926, "2025-01-01"),
    ("01-Jan-26", 1926, "1926-01-01"),
    # a window starting mid-century: 1920 (birth dates) makes 19 2019 and 20 1920
    ("05-Jul-19", 1920, "2019-07-05"),
    ("05-Jul-20", 1920, "1920-07-05"),
])
def test_two_digit_years_fall_in_the_declared_window(text, cutoff, expected):
    assert parse_edc_date(text, DateStyle("DMY", cutoff)) == (expected, "")


def test_a_two_digit_year_without_a_declared_cutoff_is_invalid():
    assert parse_edc_date("15-Sep-20", DateStyle("DMY")) == ("", "invalid")
    assert parse_edc_date("15-Sep-20") == ("", "invalid")  # the embedded EDC's style: four digits
    assert parse_edc_date("15-Sep-020", DMY50) == ("", "invalid")


def test_the_default_style_is_the_embedded_edc_and_refuses_numeric_months():
    assert parse_edc_date("03 AUG 2020") == parse_edc_date("03 AUG 2020", DateStyle()) == ("2020-08-03", "")
    assert parse_edc_date("03/08/2020") == ("", "invalid")  # day or month first? not guessed


def test_compute_iso8601_takes_a_style():
    iso, status = compute_iso8601(pd.Series(["15-Sep-20", "UN-Sep-20", None]), DMY50)
    assert iso.tolist() == ["2020-09-15", "2020-09", ""]
    assert status.tolist() == ["", "partial", "blank"]


@pytest.mark.parametrize("text, expected", [
    ("14:30", ("14:30", "")),
    ("9:05", ("09:05", "")),
    ("09:05:30", ("09:05:30", "")),
    ("14.30", ("14:30", "")),
    ("14:UN", ("14", "partial")),
    ("14:30:UN", ("14:30", "partial")),
    ("UN:UN", ("", "partial")),
    ("UN:30", ("", "invalid")),
    ("24:00", ("", "invalid")),
    ("25:00", ("", "invalid")),
    ("12:60", ("", "invalid")),
    ("noon", ("", "invalid")),
    ("", ("", "blank")),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("date_, time_, expected", [
    (("2020-09-15", ""), ("14:30", ""), ("2020-09-15T14:30", "")),
    (("2020-09-15", ""), ("14", "partial"), ("2020-09-15T14", "partial")),
    (("2020-09-15", ""), ("", "blank"), ("2020-09-15", "")),
    (("2020-09-15", ""), ("", "invalid"), ("2020-09-15", "")),
    (("2020-09", "partial"), ("14:30", ""), ("2020-09", "partial")),
    (("", "invalid"), ("14:30", ""), ("", "invalid")),
])
def test_join_date_time_keeps_a_time_only_with_a_complete_date(date_, time_, expected):
    assert join_date_time(*date_, *time_) == expected


def test_iso_to_date_takes_the_date_of_a_date_time():
    out = iso_to_date(pd.Series(["2020-09-15T14:30", "2020-09", "2020-09-15"]))
    assert out.dt.strftime("%Y-%m-%d").fillna("").tolist() == ["2020-09-15", "", "2020-09-15"]
