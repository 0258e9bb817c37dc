"""adam/treatment_flags.py: derive_var_ontrtfl with admiral's documented rules.

Source: admiral tests/testthat/test-derive_var_ontrtfl.R and its snapshot
tests/testthat/_snaps/derive_var_ontrtfl.md (Test 15, span_period),
https://rdrr.io/cran/admiral/man/derive_var_ontrtfl.html
"""

import pandas as pd

from tlfgen.adam.treatment_flags import derive_var_ontrtfl


def D(*values):
    return pd.to_datetime(list(values))


def test_derive_var_ontrtfl_01_before_start_missing_reference_and_missing_start():
    """admiral Tests 1-3: ADT before TRTSDT -> NA; TRTSDT missing -> NA; ADT missing -> Y."""
    data = pd.DataFrame({"ADT": D("2021-01-01", "2021-01-01", None), "TRTSDT": D("2021-01-02", None, "2020-01-01")})
    out = derive_var_ontrtfl(data, start_date="ADT", ref_start_date="TRTSDT")
    assert out["ONTRTFL"].tolist() == [None, None, "Y"]


def test_derive_var_ontrtfl_02_end_window():
    """admiral: ADT within TRTSDT .. TRTEDT + ref_end_window (2020-03-01 + 10 = 2020-03-11) is on treatment."""
    data = pd.DataFrame({"ADT": D("2020-02-24", "2020-03-11", "2020-03-12"), "TRTSDT": D(*["2020-01-01"] * 3),
                         "TRTEDT": D(*["2020-03-01"] * 3)})
    out = derive_var_ontrtfl(data, start_date="ADT", ref_start_date="TRTSDT", ref_end_date="TRTEDT",
                             ref_end_window=10)
    assert out["ONTRTFL"].tolist() == ["Y", "Y", None]


def test_derive_var_ontrtfl_03_span_period_snapshot_test_15():
    """admiral snapshot Test 15: TRTEDT missing; with span_period P01 (start before TRTSDT, end after) is Y."""
    data = pd.DataFrame({"USUBJID": ["P01", "P02", "P03", "P04"],
                         "ASTDT": D("2018-03-15", "2020-04-30", "2020-04-30", "2020-04-30"),
                         "TRTSDT": D("2019-01-01", "2019-01-01", "2019-01-01", None),
                         "TRTEDT": D(None, None, None, None),
                         "AENDT": D("2022-12-01", "2022-03-15", None, None)})
    spans = derive_var_ontrtfl(data, start_date="ASTDT", end_date="AENDT", ref_start_date="TRTSDT",
                               ref_end_date="TRTEDT", span_period=True)
    assert spans["ONTRTFL"].tolist() == ["Y", "Y", "Y", None]
    plain = derive_var_ontrtfl(data, start_date="ASTDT", end_date="AENDT", ref_start_date="TRTSDT",
                               ref_end_date="TRTEDT")
    assert plain["ONTRTFL"].tolist() == [None, "Y", "Y", None]


def test_derive_var_ontrtfl_04_pre_timepoint_on_the_start_day():
    """admiral filter_pre_timepoint: a pre-dose record on the first dose day is not on treatment."""
    data = pd.DataFrame({"ADT": D("2020-01-01", "2020-01-01"), "TRTSDT": D("2020-01-01", "2020-01-01"),
                         "TPT": ["PRE-DOSE", "POST-DOSE"]})
    out = derive_var_ontrtfl(data, start_date="ADT", ref_start_date="TRTSDT", filter_pre_timepoint="TPT == 'PRE-DOSE'")
    assert out["ONTRTFL"].tolist() == [None, "Y"]
