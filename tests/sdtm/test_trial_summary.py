"""TS (the parameters FDA's Study Data Technical Conformance Guide expects), EPOCH, log-form records
and the date bounds behind EPOCH, on the embedded study (tests/conftest.py runs it once) and on
small inline dates."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tlfgen.sdtm.timing import compute_date_bounds

ROOT = Path(__file__).resolve().parents[2]
#: FDA Study Data Technical Conformance Guide (v5.x, section 4.1.1.2 and its TS table) for an
#: interventional drug trial; SSTDTC is the one the gateway rejects a submission without
FDA_TS = ("SSTDTC", "SENDTC", "ACTSUB", "ADDON", "AGEMAX", "AGEMIN", "DCUTDESC", "DCUTDTC", "FCNTRY",
          "HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "NARMS", "OBJPRIM", "OBJSEC", "PCLAS", "PLANSUB",
          "RANDOM", "REGID", "ROUTE", "SDTIGVER", "SDTMVER", "SEXPOP", "SPONSOR", "STYPE", "TBLIND", "TCNTRL",
          "TDIGRP", "TINDTP", "TITLE", "TPHASE", "TRT", "TTYPE", "OUTMSPRI", "OUTMSSEC", "ADAPT")


def _sdtm(embedded_run, name: str) -> pd.DataFrame:
    study, _ = embedded_run
    df, _ = pyreadstat.read_xport(str(study.sdtm_dir / f"{name.lower()}.xpt"))
    return df


def _raw_dates(name: str, field: str) -> list[datetime]:
    with (ROOT / "raw" / name).open(encoding="utf-8", newline="") as handle:
        texts = [row[field].strip() for row in csv.DictReader(handle)]
    return [datetime.strptime(t, "%d %b %Y") for t in texts if t and not t.startswith("UN")]


def test_1_ts_holds_every_expected_parameter_sstdtc_first(embedded_run) -> None:
    ts = _sdtm(embedded_run, "TS")
    assert ts["TSPARMCD"].iloc[0] == "SSTDTC"
    assert sorted(set(FDA_TS) - set(ts["TSPARMCD"])) == []
    assert (ts["TSVAL"].str.strip() != "").all()  # every parameter has a value (no null flavour needed)
    assert not ts.duplicated(["TSPARMCD", "TSSEQ"]).any()


def test_2_ts_values_from_the_data(embedded_run) -> None:
    ts = _sdtm(embedded_run, "TS").set_index("TSPARMCD")
    consent = _raw_dates("ic.csv", "ICDAT")
    assert ts.loc["SSTDTC", "TSVAL"] == min(consent).strftime("%Y-%m-%d")
    assert ts.loc["ACTSUB", "TSVAL"] == "60"
    assert ts.loc["SENDTC", "TSVAL"] == "2025-04-12"  # the last follow-up contact, at the data cutoff
    assert ts.loc["SSTDTC", "TSVCDREF"] == ts.loc["AGEMIN", "TSVCDREF"] == "ISO 8601"
    assert ts.loc["AGEMIN", "TSVAL"] == "P18Y" and ts.loc["AGEMAX", "TSVAL"] == "P80Y"  # the paper's 18-80 years
    assert ts.loc["SDTIGVER", "TSVAL"] == "3.4" and ts.loc["SDTMVER", "TSVAL"] == "2.0"


def test_3_ts_codes_from_cdisc_ct(embedded_run) -> None:
    ts = _sdtm(embedded_run, "TS")
    coded = ts[ts["TSVCDREF"] == "CDISC CT"].set_index(["TSPARMCD", "TSVAL"])["TSVALCD"].to_dict()
    # codes as the CDISC Define-XML 2.1 example (CT 2020-12-18) gives them
    assert coded[("TPHASE", "PHASE II TRIAL")] == "C15601"
    assert coded[("INTMODEL", "PARALLEL")] == "C82639"
    assert coded[("INTTYPE", "DRUG")] == "C1909"
    assert coded[("STYPE", "INTERVENTIONAL")] == "C98388"
    assert coded[("RANDOM", "N")] == "C49487"
    assert set(ts.loc[ts["TSVCDREF"] == "CDISC CT", "TSVCDVER"]) == {"2024-09-27"}


def test_4_epoch_present_and_populated_where_the_ig_expects_it(embedded_run) -> None:
    for name in ("AE", "CM", "DS", "EX", "PR", "QS", "RS", "SC", "SV", "TR", "TU"):
        df = _sdtm(embedded_run, name)
        assert "EPOCH" in df.columns, name
        assert (df["EPOCH"] != "").all(), name
        assert set(df["EPOCH"]) <= {"SCREENING", "TREATMENT", "FOLLOW-UP"}, name
    sc = _sdtm(embedded_run, "SC")
    assert set(sc["EPOCH"]) == {"SCREENING"}  # baseline characteristics, collected at screening


def test_5_ae_with_a_partial_start_date_gets_the_epoch_it_may_fall_in(embedded_run) -> None:
    """An AE starting in a month (YYYY-MM) that overlaps the subject's treatment gets TREATMENT."""
    ae = _sdtm(embedded_run, "AE")
    dm = _sdtm(embedded_run, "DM").set_index("USUBJID")
    partial = ae[ae["AESTDTC"].str.len() == 7]
    checked = 0
    for _, rec in partial.iterrows():
        first, last = (str(d)[:7] for d in dm.loc[rec["USUBJID"], ["RFSTDTC", "RFENDTC"]])
        if first <= rec["AESTDTC"] <= last:
            assert rec["EPOCH"] == "TREATMENT", (rec["USUBJID"], rec["AESTDTC"], first, last)
            checked += 1
    assert checked >= 1


def test_6_log_form_records_carry_no_visit(embedded_run) -> None:
    ds = _sdtm(embedded_run, "DS")
    sv = _sdtm(embedded_run, "SV")
    known = set(zip(sv["USUBJID"], sv["VISITNUM"]))
    visits = ds[ds["VISITNUM"].notna()]
    assert [k for k in zip(visits["USUBJID"], visits["VISITNUM"]) if k not in known] == []
    eos = ds[ds["DSSCAT"] == "END OF STUDY"]
    assert len(eos) == 39 and eos["VISITNUM"].isna().all() and (eos["VISIT"] == "").all()


@pytest.mark.parametrize(("dtc", "low", "high"), [
    ("2021-03-15", "2021-03-15", "2021-03-15"),
    ("2021-02", "2021-02-01", "2021-02-28"),
    ("2020-02", "2020-02-01", "2020-02-29"),  # leap year
    ("2021", "2021-01-01", "2021-12-31"),
    ("", None, None),
])
def test_7_date_bounds_of_complete_and_partial_dates(dtc: str, low: str | None, high: str | None) -> None:
    lo, hi = compute_date_bounds(pd.Series([dtc], dtype=object))
    assert (None if pd.isna(lo[0]) else lo[0].strftime("%Y-%m-%d")) == low
    assert (None if pd.isna(hi[0]) else hi[0].strftime("%Y-%m-%d")) == high
