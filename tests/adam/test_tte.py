"""Tests for tlfgen.adam.tte: time-to-event records from spec'd event and censor sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlfgen.adam.tte import compute_source_dates, create_date_source, create_tte_records, derive_param_tte
from tlfgen.errors import DerivationError, SpecError

D0 = pd.Timestamp("2021-01-01")
CUT = D0 + pd.Timedelta(days=400)


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


# subjects: S1 PD at 100 then death 150; S2 death without progression at 90; S3 surgery at 60 before PD
# at 120; S4 no post-baseline assessment; S5 PD after the cutoff (410); S6 only SD/NE, last SD at 84
ADSL = pd.DataFrame({
    "STUDYID": "X1",
    "USUBJID": ["S1", "S2", "S3", "S4", "S5", "S6"],
    "TRT01P": ["A", "A", "B", "B", "A", "B"],
    "TRT01PN": [1, 1, 2, 2, 1, 2],
    "FASFL": ["Y", "Y", "Y", "Y", "Y", "N"],
    "TRTSDT": [D0] * 6,
    "DCUTDT": [CUT] * 6,
    "DTHDT": [day(150), day(90), pd.NaT, pd.NaT, day(420), pd.NaT],
    "SURGDT": [pd.NaT, pd.NaT, day(60), pd.NaT, pd.NaT, pd.NaT],
    "LSTALVDT": [day(150), day(90), day(300), day(20), day(450), day(200)],
})
_OVR = [("S1", 42, "SD"), ("S1", 100, "PD"), ("S2", 42, "PR"), ("S2", 84, "PR"), ("S3", 42, "PR"),
        ("S3", 120, "PD"), ("S5", 42, "SD"), ("S5", 210, "SD"), ("S5", 410, "PD"), ("S6", 42, "NE"),
        ("S6", 84, "SD"), ("S6", 126, "NE")]
ADRS = pd.DataFrame({
    "USUBJID": [o[0] for o in _OVR], "PARAMCD": "OVR", "ADT": [day(o[1]) for o in _OVR],
    "AVALC": [o[2] for o in _OVR], "ASEQ": range(1, len(_OVR) + 1),
})
SOURCES = {"adam.ADSL": ADSL, "adam.ADRS": ADRS}

PFS_ARGS = dict(
    paramcd="PFS", param="Progression-free survival",
    start={"dataset": "adam.ADSL", "date": "TRTSDT"},
    events=[
        {"dataset": "adam.ADRS", "condition": "PARAMCD == 'OVR' and AVALC == 'PD'", "date": "ADT",
         "evntdesc": "DISEASE PROGRESSION", "srcseq": "ASEQ"},
        {"dataset": "adam.ADSL", "date": "DTHDT", "evntdesc": "DEATH"},
    ],
    censors=[
        {"dataset": "adam.ADSL", "date": "SURGDT", "cnsdtdsc": "CONVERSION SURGERY", "preempts": True},
        {"dataset": "adam.ADRS", "condition": "PARAMCD == 'OVR' and AVALC in ('CR', 'PR', 'SD')", "date": "ADT",
         "cnsdtdsc": "LAST ADEQUATE ASSESSMENT", "srcseq": "ASEQ"},
        {"dataset": "adam.ADSL", "date": "TRTSDT", "cnsdtdsc": "TREATMENT START (NO ADEQUATE ASSESSMENT)"},
    ],
    adsl_vars=["TRT01P", "TRT01PN"],
)


def _pfs() -> pd.DataFrame:
    return derive_param_tte(None, sources=SOURCES, **PFS_ARGS).set_index("USUBJID")


def test_pfs_records_per_subject():
    out = _pfs()
    got = out[["ADT", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ"]]
    got = got.assign(ADT=(got["ADT"] - D0).dt.days)
    assert got.astype(object).where(got.notna(), None).reset_index().values.tolist() == [
        # S1: PD at day 100 comes before death at 150: event PD
        ["S1", 100, 101, 0, "DISEASE PROGRESSION", None, "ADRS", "ADT", 2],
        # S2: death without progression: the event is death
        ["S2", 90, 91, 0, "DEATH", None, "ADSL", "DTHDT", None],
        # S3: surgery (60) before PD (120): censored at surgery
        ["S3", 60, 61, 1, "CONVERSION SURGERY", "CONVERSION SURGERY", "ADSL", "SURGDT", None],
        # S4: no post-baseline assessment: censored at the start, AVAL 1
        ["S4", 0, 1, 1, "TREATMENT START (NO ADEQUATE ASSESSMENT)", "TREATMENT START (NO ADEQUATE ASSESSMENT)",
         "ADSL", "TRTSDT", None],
        # S5: PD (410) and death (420) after the cutoff (400) are ignored: last adequate assessment
        ["S5", 210, 211, 1, "LAST ADEQUATE ASSESSMENT", "LAST ADEQUATE ASSESSMENT", "ADRS", "ADT", 8],
        # S6: NE after the last SD does not count as adequate
        ["S6", 84, 85, 1, "LAST ADEQUATE ASSESSMENT", "LAST ADEQUATE ASSESSMENT", "ADRS", "ADT", 11],
    ]


def test_pfs_day_counting_months_and_adsl_variables():
    out = _pfs()
    assert out.loc["S1", "AVALM"] == pytest.approx(101 / 30.4375, abs=0)
    assert out.loc["S1", "STARTDT"] == D0
    assert out[["STUDYID", "TRT01P", "TRT01PN"]].values.tolist()[0] == ["X1", "A", 1]
    assert out["AVAL"].dtype == "int64" and out["CNSR"].dtype == "int64"
    assert out["PARAMCD"].unique().tolist() == ["PFS"]


def test_os_surgery_censoring_and_cap_at_cutoff():
    args = dict(
        paramcd="OS", param="Overall survival", start={"dataset": "adam.ADSL", "date": "TRTSDT"},
        events=[{"dataset": "adam.ADSL", "date": "DTHDT", "evntdesc": "DEATH"}],
        censors=[
            {"dataset": "adam.ADSL", "date": "SURGDT", "cnsdtdsc": "CONVERSION SURGERY", "preempts": True},
            {"dataset": "adam.ADSL", "date": "LSTALVDT", "cnsdtdsc": "LAST KNOWN ALIVE", "after_cutoff": "cap"},
        ],
        subject_condition="FASFL == 'Y'",
    )
    out = derive_param_tte(None, sources=SOURCES, **args).set_index("USUBJID")
    assert out.index.tolist() == ["S1", "S2", "S3", "S4", "S5"]  # S6 not in FAS
    assert out["AVAL"].tolist() == [151, 91, 61, 21, 401]  # S5: death after cutoff -> alive, capped at 400
    assert out["CNSR"].tolist() == [0, 0, 1, 1, 1]
    assert out["CNSDTDSC"].tolist()[2:] == ["CONVERSION SURGERY", "LAST KNOWN ALIVE", "LAST KNOWN ALIVE"]


def test_event_before_preempting_censor_wins():
    start = pd.DataFrame({"USUBJID": ["S1", "S2"], "STARTDT": [D0, D0]})
    surg = create_date_source({"dataset": "adam.ADSL", "date": "SURGDT", "cnsdtdsc": "SURGERY", "preempts": True},
                              kind="censor")
    pd_ = create_date_source({"dataset": "adam.ADRS", "date": "ADT", "evntdesc": "PD"}, kind="event")
    events = [(pd_, pd.DataFrame({"USUBJID": ["S1", "S2"], "DATE": [day(50), day(70)], "SRCSEQ": [1, 2]}))]
    censors = [(surg, pd.DataFrame({"USUBJID": ["S1", "S2"], "DATE": [day(60), day(70)], "SRCSEQ": [None, None]}))]
    out = create_tte_records(start, events, censors, paramcd="PFS", param="PFS")
    # S1: PD (50) before surgery (60): event. S2: same day: the event wins (surgery is not *before* it)
    assert out["CNSR"].tolist() == [0, 0]
    assert out["AVAL"].tolist() == [51, 71]


def test_preempting_censor_with_trigger_date():
    # censor at the last adequate assessment before a new anti-cancer therapy (NACTDT), only when the
    # therapy starts before the event: S1 therapy at 90 before PD at 120 -> censored at 84;
    # S2 therapy at 150 after PD at 120 -> event
    start = pd.DataFrame({"USUBJID": ["S1", "S2"], "STARTDT": [D0, D0]})
    ovr = pd.DataFrame({"USUBJID": ["S1", "S1", "S2", "S2"], "ADT": [day(42), day(84), day(84), day(120)],
                        "AVALC": ["SD", "SD", "SD", "PD"], "NACTDT": [day(90), day(90), day(150), day(150)],
                        "ASEQ": [1, 2, 3, 4]})
    nact = create_date_source({"dataset": "adam.ADRS", "condition": "AVALC == 'SD' and ADT < NACTDT",
                               "date": "ADT", "trigger_date": "NACTDT", "preempts": True, "srcseq": "ASEQ",
                               "cnsdtdsc": "LAST ADEQUATE ASSESSMENT BEFORE NEW THERAPY"}, kind="censor")
    pd_ = create_date_source({"dataset": "adam.ADRS", "condition": "AVALC == 'PD'", "date": "ADT",
                              "evntdesc": "PD", "srcseq": "ASEQ"}, kind="event")
    pd_events = pd.DataFrame({"USUBJID": ["S1", "S2"], "DATE": [day(120), day(120)], "SRCSEQ": [9, 4]})
    out = create_tte_records(start, [(pd_, pd_events)], [(nact, compute_source_dates(ovr, nact))],
                             paramcd="PFS", param="PFS")
    assert out[["USUBJID", "AVAL", "CNSR", "SRCSEQ"]].values.tolist() == [["S1", 85, 1, 2], ["S2", 121, 0, 4]]
    with pytest.raises(SpecError, match="preempts, trigger_date, censor and after_cutoff are for censor"):
        create_date_source({"dataset": "d.X", "date": "X", "evntdesc": "E", "trigger_date": "Y"}, kind="event")


def test_censor_priority_order_overrides_list_order():
    start = pd.DataFrame({"USUBJID": ["S1"], "STARTDT": [D0]})
    a = create_date_source({"dataset": "d.A", "date": "X", "cnsdtdsc": "A", "priority": 2}, kind="censor")
    b = create_date_source({"dataset": "d.B", "date": "Y", "cnsdtdsc": "B", "priority": 1}, kind="censor")
    frame = pd.DataFrame({"USUBJID": ["S1"], "DATE": [day(10)], "SRCSEQ": [None]})
    out = create_tte_records(start, [], [(a, frame), (b, frame.assign(DATE=day(20)))], paramcd="P", param="P")
    assert out[["CNSDTDSC", "AVAL", "SRCDOM", "SRCVAR"]].values.tolist() == [["B", 21, "B", "Y"]]


def test_compute_source_dates_first_last_iso_text_and_condition():
    data = pd.DataFrame({"USUBJID": ["S1", "S1", "S1", "S2"],
                         "RSDTC": ["2021-03-01", "2021-02-01", "2021-04", "2021-05-05"],
                         "RSSTRESC": ["PD", "PD", "PD", "SD"], "RSSEQ": [3, 2, 4, 1]})
    src = create_date_source({"dataset": "sdtm.RS", "date": "RSDTC", "condition": "RSSTRESC == 'PD'",
                              "evntdesc": "PD", "srcseq": "RSSEQ"}, kind="event")
    out = compute_source_dates(data, src)
    assert out.values.tolist() == [["S1", pd.Timestamp("2021-02-01"), 2.0, pd.Timestamp("2021-02-01")]]
    # (the partial date 2021-04 is not used; TRIGGER is the date itself without trigger_date)


def test_errors_name_subject_and_source():
    start = pd.DataFrame({"USUBJID": ["S9"], "STARTDT": [D0]})
    with pytest.raises(DerivationError, match="ADTTE.ADT: USUBJID=S9: no event and no censoring date for PFS"):
        create_tte_records(start, [], [], paramcd="PFS", param="PFS")
    early = create_date_source({"dataset": "adam.ADSL", "date": "DTHDT", "evntdesc": "DEATH"}, kind="event")
    with pytest.raises(DerivationError, match=r"PFS date 2020-12-31 \(adam.ADSL.DTHDT\) is before STARTDT"):
        create_tte_records(start, [(early, pd.DataFrame({"USUBJID": ["S9"], "DATE": [day(-1)], "SRCSEQ": [None]}))],
                           [], paramcd="PFS", param="PFS")
    no_start = pd.DataFrame({"USUBJID": ["S9"], "STARTDT": [pd.NaT]})
    with pytest.raises(DerivationError, match="ADTTE.STARTDT: USUBJID=S9: PFS: STARTDT is missing"):
        create_tte_records(no_start, [(early, pd.DataFrame({"USUBJID": ["S9"], "DATE": [day(1)], "SRCSEQ": [None]}))],
                           [], paramcd="PFS", param="PFS")
    with pytest.raises(SpecError, match="event source 1 has unknown key 'filter'"):
        create_date_source({"dataset": "adam.ADSL", "date": "DTHDT", "filter": "X", "evntdesc": "D"}, kind="event")
    with pytest.raises(SpecError, match="censor source 1 needs 'cnsdtdsc'"):
        create_date_source({"dataset": "adam.ADSL", "date": "LSTALVDT"}, kind="censor")


def test_registered_requires_names_every_source_variable():
    from tlfgen.registry import registered

    step = registered()["derive_param_tte"]
    needs = step.required_vars(PFS_ARGS)
    assert "adam.ADRS.AVALC" in needs and "adam.ADSL.SURGDT" in needs and "adam.ADSL.TRT01PN" in needs
    assert "adam.ADSL.DCUTDT" in needs  # the default cutoff variable is a requirement too
    assert step.produced_vars(PFS_ARGS)[-2:] == ["TRT01P", "TRT01PN"]


def test_compute_datetime_array_takes_datetimes_and_parses_text():
    from tlfgen.adam.tte import compute_datetime_array

    got = compute_datetime_array(pd.Series([day(1), pd.NaT]))
    assert got.dtype == "datetime64[ns]" and got.tolist() == [day(1).value, None]
    parsed = compute_datetime_array(pd.Series(["2021-01-02", None], dtype=object))
    assert parsed.dtype == "datetime64[ns]" and [pd.Timestamp(x) for x in parsed][0] == day(1)
    assert pd.isna(parsed[1])


def test_compute_aligned_dates_lines_up_subjects_last_row_wins():
    from tlfgen.adam.tte import compute_aligned_dates

    dates = pd.DataFrame({"USUBJID": ["S2", "S1", "S2"], "DATE": [day(5), day(7), day(9)],
                          "SRCSEQ": [1, None, 3], "TRIGGER": [pd.NaT, day(8), day(10)]})
    when, seq, trigger = compute_aligned_dates(dates, ["S1", "S2", "S3"])
    assert [pd.Timestamp(x) for x in when] == [day(7), day(9), pd.NaT]
    assert pd.isna(seq[0]) and seq[1] == 3.0 and pd.isna(seq[2])
    assert [pd.Timestamp(x) for x in trigger] == [day(8), day(10), pd.NaT]
    no_trigger = compute_aligned_dates(dates.drop(columns="TRIGGER"), ["S1"])[2]
    assert [pd.Timestamp(x) for x in no_trigger] == [day(7)]


def test_compute_tte_choice_event_preempt_cap_and_ignore():
    from tlfgen.adam.tte import compute_tte_choice

    def arr(*days):
        return pd.Series([day(d) if d is not None else pd.NaT for d in days]).to_numpy(dtype="datetime64[ns]")

    nan = float("nan")
    # S1: events at 50 (source 0) and 40 (source 1): source 1; S2: event 50 after the cutoff 45, surgery at
    # 30: preempts; S3: nothing but the last-resort censor at 60 after the cutoff 45: capped;
    # S4: ignored censor after the cutoff, capped last resort
    cutoff = arr(None, 45, 45, 45)
    events = [(arr(50, 50, None, None), np.array([1.0, 2.0, nan, nan]), arr(50, 50, None, None)),
              (arr(40, None, None, None), np.array([7.0, nan, nan, nan]), arr(40, None, None, None))]
    surgery = create_date_source({"dataset": "d.A", "date": "S", "cnsdtdsc": "S", "preempts": True}, kind="censor")
    ignored = create_date_source({"dataset": "d.A", "date": "I", "cnsdtdsc": "I"}, kind="censor")
    capped = create_date_source({"dataset": "d.A", "date": "C", "cnsdtdsc": "C", "after_cutoff": "cap"},
                                kind="censor")
    censors = [(surgery, (arr(None, 30, None, None), np.array([nan] * 4), arr(None, 30, None, None))),
               (ignored, (arr(None, None, None, 60), np.array([nan, nan, nan, 4.0]), arr(None, None, None, 60))),
               (capped, (arr(10, 10, 60, 60), np.array([nan, nan, 3.0, 5.0]), arr(10, 10, 60, 60)))]
    choice, when, seq = compute_tte_choice(cutoff, events, censors)
    assert choice.tolist() == [1, 2, 4, 4]
    assert [pd.Timestamp(x) for x in when] == [day(40), day(30), day(45), day(45)]
    assert seq[0] == 7.0 and pd.isna(seq[1]) and seq[2:].tolist() == [3.0, 5.0]


def test_create_tte_records_no_subjects_and_text_start():
    empty = create_tte_records(pd.DataFrame({"USUBJID": [], "STARTDT": []}), [], [], paramcd="P", param="P")
    assert list(empty.columns) == ["USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALM", "CNSR",
                                   "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ"]
    assert len(empty) == 0 and [str(t) for t in empty.dtypes[["AVAL", "CNSR", "SRCSEQ"]]] == ["int64", "int64",
                                                                                                 "Int64"]
    last = create_date_source({"dataset": "d.A", "date": "X", "cnsdtdsc": "LAST", "censor": 2}, kind="censor")
    out = create_tte_records(pd.DataFrame({"USUBJID": ["S2", "S1"], "STARTDT": ["2021-01-01", "2021-01-11"]}),
                             [], [(last, pd.DataFrame({"USUBJID": ["S1", "S2"], "DATE": [day(40), day(30)],
                                                       "SRCSEQ": [4.0, None]}))], paramcd="P", param="P")
    assert out[["USUBJID", "AVAL", "CNSR", "EVNTDESC", "SRCSEQ"]].astype(object).values.tolist() == [
        ["S1", 31, 2, "LAST", 4], ["S2", 31, 2, "LAST", pd.NA]]
    assert out["AVALM"].tolist() == [31 / 30.4375, 31 / 30.4375] and str(out["STARTDT"].dtype) == "datetime64[ns]"


def test_censor_latest_date_is_the_default_admiral_rule():
    """admiral's derive_param_tte (https://rdrr.io/cran/admiral/man/derive_param_tte.html): without an
    event, the censoring date is the LATEST over the censor sources, whatever their order; an event
    (the earliest event date) always wins over censoring. Hand-worked: S1 has TRTSDT (day 0) and last
    known alive (day 20) as censor sources, listed start first: latest gives day 20 (AVAL 21), the
    old first-listed rule (censor_rule: priority) gives day 0 (AVAL 1)."""
    start = pd.DataFrame({"USUBJID": ["S1", "S2"], "STARTDT": [D0, D0]})
    trts = create_date_source({"dataset": "adam.ADSL", "date": "TRTSDT", "cnsdtdsc": "START"}, kind="censor")
    alive = create_date_source({"dataset": "adam.ADSL", "date": "LSTALVDT", "cnsdtdsc": "ALIVE"}, kind="censor")
    death = create_date_source({"dataset": "adam.ADSL", "date": "DTHDT", "evntdesc": "DEATH"}, kind="event")
    frame = pd.DataFrame({"USUBJID": ["S1", "S2"], "DATE": [D0, D0], "SRCSEQ": [None, None]})
    censors = [(trts, frame), (alive, frame.assign(DATE=[day(20), day(30)]))]
    events = [(death, pd.DataFrame({"USUBJID": ["S2"], "DATE": [day(10)], "SRCSEQ": [None]}))]
    latest = create_tte_records(start, events, censors, paramcd="OS", param="OS")
    assert latest[["USUBJID", "AVAL", "CNSR", "CNSDTDSC"]].values.tolist() == [["S1", 21, 1, "ALIVE"],
                                                                             ["S2", 11, 0, None]]
    first = create_tte_records(start, events, censors, paramcd="OS", param="OS", censor_rule="priority")
    assert first[["USUBJID", "AVAL", "CNSDTDSC"]].values.tolist()[0] == ["S1", 1, "START"]


def test_censor_tie_rule_is_declared():
    """Two censor sources on the same date: admiral binds the sources in order and keeps the last record
    of the latest date (last_listed); first_listed keeps the first."""
    start = pd.DataFrame({"USUBJID": ["S1"], "STARTDT": [D0]})
    a = create_date_source({"dataset": "d.A", "date": "X", "cnsdtdsc": "A"}, kind="censor")
    b = create_date_source({"dataset": "d.B", "date": "Y", "cnsdtdsc": "B"}, kind="censor")
    frame = pd.DataFrame({"USUBJID": ["S1"], "DATE": [day(10)], "SRCSEQ": [None]})
    last = create_tte_records(start, [], [(a, frame), (b, frame)], paramcd="P", param="P")
    assert last["CNSDTDSC"].tolist() == ["B"]
    first = create_tte_records(start, [], [(a, frame), (b, frame)], paramcd="P", param="P",
                               censor_ties="first_listed")
    assert first["CNSDTDSC"].tolist() == ["A"]


def test_censor_rule_must_be_known():
    with pytest.raises(DerivationError, match="censor_rule must be latest or priority"):
        derive_param_tte(None, sources=SOURCES, **{**PFS_ARGS, "censor_rule": "earliest"})
