"""Tests for tlfgen.adam.recist_bor: confirmed and unconfirmed best overall response."""

from __future__ import annotations

import pandas as pd
import pytest

from tlfgen.adam.recist_bor import compute_confirmed_bor, compute_unconfirmed_bor
from tlfgen.errors import DerivationError

D0 = pd.Timestamp("2021-01-01")


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def ovr(*visits: tuple[str, int, str]) -> pd.DataFrame:
    """visits: (usubjid, study day offset, response); SRCSEQ numbered 1.. in order."""
    return pd.DataFrame({
        "USUBJID": [v[0] for v in visits],
        "ADT": [day(v[1]) for v in visits],
        "AVALC": [v[2] for v in visits],
        "SRCSEQ": list(range(1, len(visits) + 1)),
    })


def bor(data: pd.DataFrame, **kw) -> list[tuple]:
    starts = {u: D0 for u in data["USUBJID"].unique()}
    out = compute_confirmed_bor(data, starts, **kw)
    return [(r.USUBJID, r.AVALC, r.SRCSEQ, r.CONFSEQ,
             None if pd.isna(r.RESPDT) else (r.RESPDT - D0).days) for r in out.itertuples()]


# 1. PR confirmed by a later CR: BOR PR (the CR itself is unconfirmed), response starts at the PR
def test_pr_confirmed_by_later_cr():
    assert bor(ovr(("S1", 42, "PR"), ("S1", 84, "CR"))) == [("S1", "PR", 1, 2, 42)]


# 2. CR confirmed by a later CR after a PR: BOR CR, duration of response from the first PR
def test_cr_confirmed_after_pr():
    assert bor(ovr(("S1", 42, "PR"), ("S1", 84, "CR"), ("S1", 126, "CR"))) == [("S1", "CR", 2, 3, 42)]


# 3. PR-NE-PR: NE in between does not break confirmation ("ignore"), does with "break"
def test_pr_ne_pr():
    data = ovr(("S1", 42, "PR"), ("S1", 84, "NE"), ("S1", 126, "PR"))
    assert bor(data) == [("S1", "PR", 1, 3, 42)]
    assert bor(data, ne_between_responses="break") == [("S1", "SD", 1, None, None)]


# 4. a response with no confirmation: SD (the PR is >= 35 days after start)
def test_response_without_confirmation():
    assert bor(ovr(("S1", 42, "PR"), ("S1", 84, "SD"), ("S1", 126, "PR"))) == [("S1", "SD", 1, None, None)]
    # the confirming assessment must be >= 28 days later: 21 days is too early, then PD
    assert bor(ovr(("S1", 42, "PR"), ("S1", 63, "PR"), ("S1", 84, "PD"))) == [("S1", "SD", 1, None, None)]


# 5. stable disease before the minimum duration: then PD -> PD; alone -> NE
def test_sd_before_minimum_duration():
    assert bor(ovr(("S1", 30, "SD"), ("S1", 70, "PD"))) == [("S1", "PD", 2, None, None)]
    assert bor(ovr(("S1", 30, "SD"))) == [("S1", "NE", 1, None, None)]
    assert bor(ovr(("S1", 35, "SD"))) == [("S1", "SD", 1, None, None)]  # exactly 35 days counts


# 6. PD after CR: confirmed CR stays the best response; assessments after the first PD are ignored
def test_pd_after_cr_and_nothing_after_pd_counts():
    assert bor(ovr(("S1", 42, "CR"), ("S1", 84, "CR"), ("S1", 126, "PD"))) == [("S1", "CR", 1, 2, 42)]
    assert bor(ovr(("S1", 42, "CR"), ("S1", 63, "PD"), ("S1", 105, "CR"))) == [("S1", "SD", 1, None, None)]
    assert bor(ovr(("S1", 20, "PD"), ("S1", 60, "PR"), ("S1", 100, "PR"))) == [("S1", "PD", 1, None, None)]


# 7. CR then PR confirms neither (RECIST 1.1 table 3: SD when the minimum duration is met)
def test_cr_then_pr_is_sd():
    assert bor(ovr(("S1", 42, "CR"), ("S1", 84, "PR"))) == [("S1", "SD", 1, None, None)]
    # a confirmed CR starting the response: RESPDT is the CR date
    assert bor(ovr(("S1", 42, "CR"), ("S1", 70, "NE"), ("S1", 84, "CR"))) == [("S1", "CR", 1, 3, 42)]


# 8. no assessment at all: NE without a source record
def test_subject_without_assessments_is_ne():
    out = compute_confirmed_bor(ovr(("S1", 42, "PR"), ("S1", 84, "PR")), {"S1": D0, "S2": D0})
    assert out["USUBJID"].tolist() == ["S1", "S2"]
    assert out["AVALC"].tolist() == ["PR", "NE"]
    assert pd.isna(out["SRCSEQ"].iloc[1]) and pd.isna(out["ADT"].iloc[1])
    assert out["RESPSEQ"].tolist()[0] == 1 and pd.isna(out["RESPSEQ"].iloc[1])


# 9. spec numbers are used: confirm_min_days and sd_min_days
def test_spec_numbers():
    data = ovr(("S1", 42, "PR"), ("S1", 63, "PR"))
    assert bor(data) == [("S1", "SD", 1, None, None)]
    assert bor(data, confirm_min_days=21) == [("S1", "PR", 1, 2, 42)]
    assert bor(ovr(("S1", 30, "SD")), sd_min_days=28) == [("S1", "SD", 1, None, None)]


def test_bad_ne_option_is_an_error():
    with pytest.raises(DerivationError, match="ne_between_responses is 'skip'"):
        compute_confirmed_bor(ovr(("S1", 42, "PR")), {"S1": D0}, ne_between_responses="skip")


# 10. unconfirmed BOR
def test_unconfirmed_bor():
    data = ovr(("S1", 42, "PR"), ("S1", 84, "SD"), ("S2", 30, "SD"), ("S2", 70, "PD"), ("S3", 42, "SD"),
               ("S3", 84, "CR"), ("S3", 126, "PD"))
    out = compute_unconfirmed_bor(data, {u: D0 for u in ("S1", "S2", "S3")})
    assert list(zip(out["USUBJID"], out["AVALC"], out["SRCSEQ"])) == [("S1", "PR", 1), ("S2", "PD", 4), ("S3", "CR", 6)]
