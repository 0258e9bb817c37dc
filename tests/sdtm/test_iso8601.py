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
