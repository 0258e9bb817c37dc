"""Timing derivations (tlfgen.sdtm.timing): study day from converted dates, --SEQ order."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from tlfgen.sdtm.iso8601 import iso_to_date
from tlfgen.sdtm.timing import compute_day_number, compute_seq


def test_day_number_has_no_day_zero_and_is_blank_without_both_dates():
    dates = pd.to_datetime(pd.Series(["2021-01-10", "2021-01-09", "2021-01-05", None, "2021-01-01"]))
    reference = pd.to_datetime(pd.Series(["2021-01-10", "2021-01-10", "2021-01-10", "2021-01-10", None]))
    days = compute_day_number(dates, reference)
    assert days.tolist()[:3] == [1.0, -1.0, -5.0] and np.isnan(days.tolist()[3:]).all()
    text = compute_day_number(iso_to_date(pd.Series(["2021-01-10", "2021-01-09", "2021-01-05", "", "2021-01-01"])),
                              iso_to_date(pd.Series(["2021-01-10"] * 4 + ["2021-01"])))
    pd.testing.assert_series_equal(text, days)


def test_seq_numbers_records_per_subject_in_order_then_block_and_row():
    data = pd.DataFrame({"USUBJID": ["B", "A", "B", "A", "B"],
                         "AESTDTC": ["2021-02", "2021-01", "", "2021-03", "2021-02"],
                         "__block": [0, 0, 0, 1, 0], "__row": [5, 4, 3, 2, 1]}, index=[10, 11, 12, 13, 14])
    seq = compute_seq(data, ctx=SimpleNamespace(), order=["AESTDTC"])
    assert seq.index.tolist() == [10, 11, 12, 13, 14]
    assert seq.tolist() == [3.0, 1.0, 1.0, 2.0, 2.0]  # "" sorts first; equal dates by raw row
