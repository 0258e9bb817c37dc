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


# ---------------------------------------------------------------- options (admiralonco's)
# Cases 11-20 reproduce admiralonco's documented examples and unit tests; each names its page.

def dated(*visits: tuple[str, str, str]) -> pd.DataFrame:
    """visits: (usubjid, ISO date, response); SRCSEQ numbered 1.. in order."""
    return pd.DataFrame({
        "USUBJID": [v[0] for v in visits],
        "ADT": pd.to_datetime([v[1] for v in visits]),
        "AVALC": [v[2] for v in visits],
        "SRCSEQ": list(range(1, len(visits) + 1)),
    })


def table(out: pd.DataFrame) -> list[tuple]:
    return [(r.USUBJID, r.AVALC, None if pd.isna(r.ADT) else r.ADT.strftime("%Y-%m-%d")) for r in out.itertuples()]


#: admiralonco's example ADSL (TRTSDT) of derive_param_confirmed_bor, subjects 1-9
ONCO_TRTSDT = {"1": "2020-01-01", "2": "2019-12-12", "3": "2019-11-11", "4": "2019-12-30", "5": "2020-01-01",
               "6": "2020-02-02", "7": "2020-02-02", "8": "2020-04-01", "9": "2020-03-01"}
ONCO_OVR = (
    ("1", "2020-01-01", "PR"), ("1", "2020-02-01", "CR"), ("1", "2020-02-16", "NE"), ("1", "2020-03-01", "CR"),
    ("1", "2020-04-01", "SD"),
    ("2", "2020-01-01", "SD"), ("2", "2020-02-01", "PR"), ("2", "2020-03-01", "SD"), ("2", "2020-03-13", "CR"),
    ("3", "2019-11-12", "CR"), ("3", "2019-12-02", "CR"), ("3", "2020-01-01", "SD"),
    ("4", "2020-01-01", "PR"), ("4", "2020-03-01", "SD"), ("4", "2020-04-01", "SD"), ("4", "2020-05-01", "PR"),
    ("4", "2020-05-15", "NON-CR/NON-PD"),
    ("5", "2020-01-01", "PR"), ("5", "2020-01-10", "SD"), ("5", "2020-01-20", "PR"),
    ("5", "2020-05-15", "NON-CR/NON-PD"),
    ("6", "2020-02-06", "PR"), ("6", "2020-02-16", "CR"), ("6", "2020-03-30", "PR"), ("6", "2020-04-12", "PD"),
    ("6", "2020-05-01", "CR"), ("6", "2020-06-01", "CR"),
    ("7", "2020-02-06", "PR"), ("7", "2020-02-16", "CR"), ("7", "2020-04-01", "NE"),
    ("9", "2020-03-16", "CR"), ("9", "2020-04-01", "NE"), ("9", "2020-04-16", "NE"), ("9", "2020-05-01", "CR"),
)
#: admiralonco's settings: NON-CR/NON-PD and ND their own categories, no stop at the first PD
#: (only the PD source, ``source_pd``, ends the evaluation), ref_start_window 28, ref_confirm 28
ONCO = dict(confirm_min_days=28, sd_min_days=28, noncrnonpd_as="NON-CR/NON-PD", nd_as="ND", until_first_pd=False)


def onco_bor(data: pd.DataFrame, starts: dict[str, str], **kw) -> list[tuple]:
    out = compute_confirmed_bor(data, {u: pd.Timestamp(d) for u, d in starts.items()}, subjects=list(starts),
                                **{**ONCO, **kw})
    return table(out)


# 11. admiralonco reference page derive_param_confirmed_bor, first example (max_nr_ne = 1,
#     accept_sd = FALSE, missing_as_ne = FALSE; PD source: subject 6's PD parameter on 2020-04-12)
#     https://pharmaverse.github.io/admiralonco/reference/derive_param_confirmed_bor.html
def test_admiralonco_confirmed_bor_example_1():
    got = onco_bor(dated(*ONCO_OVR), ONCO_TRTSDT, max_nr_ne=1, accept_sd=False, missing_as_ne=False,
                   pd_dates={"6": pd.Timestamp("2020-04-12")})
    assert got == [("1", "CR", "2020-02-01"), ("2", "SD", "2020-02-01"), ("3", "SD", "2020-01-01"),
                   ("4", "SD", "2020-03-01"), ("5", "NON-CR/NON-PD", "2020-05-15"), ("6", "SD", "2020-03-30"),
                   ("7", "NE", "2020-02-06"), ("8", "MISSING", None), ("9", "SD", "2020-05-01")]


# 12. same page, second example: "accepting SD for PR, accept two NEs, and considering missings as NE"
#     https://pharmaverse.github.io/admiralonco/reference/derive_param_confirmed_bor.html
def test_admiralonco_confirmed_bor_example_2():
    got = onco_bor(dated(*ONCO_OVR), ONCO_TRTSDT, max_nr_ne=2, accept_sd=True, missing_as_ne=True,
                   pd_dates={"6": pd.Timestamp("2020-04-12")})
    assert got == [("1", "CR", "2020-02-01"), ("2", "PR", "2020-02-01"), ("3", "SD", "2020-01-01"),
                   ("4", "SD", "2020-03-01"), ("5", "NON-CR/NON-PD", "2020-05-15"), ("6", "SD", "2020-03-30"),
                   ("7", "NE", "2020-02-06"), ("8", "NE", None), ("9", "CR", "2020-03-16")]


#: admiralonco tests/testthat/test-derive_param_confirmed_bor.R: the data of its tests 1 and 2
TEST_TRTSDT = {**ONCO_TRTSDT, "9": "2020-02-01"}
TEST_OVR = tuple(v for v in ONCO_OVR if v[0] not in ("6", "9")) + (
    ("6", "2020-02-06", "PR"), ("6", "2020-02-16", "CR"), ("6", "2020-03-30", "PR"),
    ("9", "2020-02-16", "PD"), ("9", "2020-03-06", "SD"))


# 13. admiralonco unit test "derive_param_confirmed_bor Test 1: default confirmed BOR" (PD source:
#     subject 9's PD parameter on 2020-02-16)
#     https://rdrr.io/cran/admiralonco/src/tests/testthat/test-derive_param_confirmed_bor.R
def test_admiralonco_confirmed_bor_unit_test_1():
    got = onco_bor(dated(*sorted(TEST_OVR)), TEST_TRTSDT, max_nr_ne=1, missing_as_ne=False,
                   pd_dates={"9": pd.Timestamp("2020-02-16")})
    assert got == [("1", "CR", "2020-02-01"), ("2", "SD", "2020-02-01"), ("3", "SD", "2020-01-01"),
                   ("4", "SD", "2020-03-01"), ("5", "NON-CR/NON-PD", "2020-05-15"), ("6", "SD", "2020-03-30"),
                   ("7", "NE", "2020-02-06"), ("8", "MISSING", None), ("9", "PD", "2020-02-16")]


# 14. same file, "Test 2: accept SD, ND handling, missing as NE": ref_confirm 14, max_nr_ne 0,
#     subject 7 has a single ND assessment
#     https://rdrr.io/cran/admiralonco/src/tests/testthat/test-derive_param_confirmed_bor.R
def test_admiralonco_confirmed_bor_unit_test_2():
    data = tuple(v for v in TEST_OVR if v[0] != "7") + (("7", "2020-04-02", "ND"),)
    got = onco_bor(dated(*sorted(data)), TEST_TRTSDT, confirm_min_days=14, max_nr_ne=0, accept_sd=True,
                   missing_as_ne=True, pd_dates={"9": pd.Timestamp("2020-02-16")})
    assert got == [("1", "PR", "2020-01-01"), ("2", "PR", "2020-02-01"), ("3", "CR", "2019-11-12"),
                   ("4", "SD", "2020-03-01"), ("5", "PR", "2020-01-01"), ("6", "SD", "2020-03-30"),
                   ("7", "ND", "2020-04-02"), ("8", "NE", None), ("9", "PD", "2020-02-16")]


#: admiralonco tests/testthat/test-derive_param_bor.R: its ADSL (subjects 1-8) and OVR records
BOR_TRTSDT = {k: v for k, v in ONCO_TRTSDT.items() if k != "9"}
BOR_OVR = tuple(v for v in TEST_OVR if v[0] != "9")


# 15. admiralonco unit test "derive_param_bor Test 1: No source_pd" (best response, no confirmation):
#     first CR, else first PR, whatever their distance from TRTSDT; no assessment: MISSING
#     https://rdrr.io/cran/admiralonco/src/tests/testthat/test-derive_param_bor.R
def test_admiralonco_bor_unit_test_1():
    starts = {u: pd.Timestamp(d) for u, d in BOR_TRTSDT.items()}
    kw = dict(sd_min_days=28, missing_as_ne=False, noncrnonpd_as="NON-CR/NON-PD", until_first_pd=False)
    got = table(compute_unconfirmed_bor(dated(*sorted(BOR_OVR)), starts, subjects=list(starts), **kw))
    assert got == [("1", "CR", "2020-02-01"), ("2", "CR", "2020-03-13"), ("3", "CR", "2019-11-12"),
                   ("4", "PR", "2020-01-01"), ("5", "PR", "2020-01-01"), ("6", "CR", "2020-02-16"),
                   ("7", "CR", "2020-02-16"), ("8", "MISSING", None)]
    # subject 7 with SD only, all before TRTSDT + 28 days: NE, dated by its first assessment
    only_sd = tuple(v for v in BOR_OVR if v[0] != "7") + (
        ("7", "2020-01-01", "SD"), ("7", "2020-01-02", "SD"), ("7", "2020-01-03", "SD"))
    got = table(compute_unconfirmed_bor(dated(*sorted(only_sd)), starts, subjects=["7"], **kw))
    assert got == [("7", "NE", "2020-01-01")]


# 16. same file, "Test 2: With source_pd": PD on 2020-03-01 leaves subject 2 a PR; PD on 2020-02-05,
#     before any assessment, leaves subject 6 MISSING
#     https://rdrr.io/cran/admiralonco/src/tests/testthat/test-derive_param_bor.R
def test_admiralonco_bor_unit_test_2_pd_source():
    starts = {u: pd.Timestamp(d) for u, d in BOR_TRTSDT.items()}
    pd_dates = {"9": pd.Timestamp("2020-02-16"), "2": pd.Timestamp("2020-03-01"), "6": pd.Timestamp("2020-02-05")}
    got = table(compute_unconfirmed_bor(dated(*sorted(BOR_OVR)), starts, subjects=list(starts), sd_min_days=28,
                                        missing_as_ne=False, pd_dates=pd_dates, until_first_pd=False))
    assert [r for r in got if r[0] in ("2", "6")] == [("2", "PR", "2020-02-01"), ("6", "MISSING", None)]


# 17. PR, then CR, then PR: not a confirmed response (admiralonco: "there is no PR assessment after
#     a CR assessment in the confirmation period"); the CR is unconfirmed too: SD
def test_pr_cr_pr_is_not_confirmed():
    assert bor(ovr(("S1", 42, "PR"), ("S1", 56, "CR"), ("S1", 84, "PR"))) == [("S1", "SD", 1, None, None)]
    # the CR confirmed by the PR would be a confirmed PR only with nothing but PR/CR in the right order
    assert bor(ovr(("S1", 42, "PR"), ("S1", 56, "PR"), ("S1", 84, "CR"))) == [("S1", "PR", 1, 3, 42)]


# 18. max_nr_ne: the number of NE accepted between a response and its confirmation
def test_max_nr_ne():
    data = ovr(("S1", 42, "PR"), ("S1", 63, "NE"), ("S1", 77, "NE"), ("S1", 91, "PR"))
    assert bor(data) == [("S1", "PR", 1, 4, 42)]  # default: any number ("ignore")
    assert bor(data, max_nr_ne=2) == [("S1", "PR", 1, 4, 42)]
    assert bor(data, max_nr_ne=1) == [("S1", "SD", 1, None, None)]
    assert bor(data, max_nr_ne=0) == bor(data, ne_between_responses="break") == [("S1", "SD", 1, None, None)]
    with pytest.raises(DerivationError, match="max_nr_ne is 1 with ne_between_responses 'break'"):
        bor(data, max_nr_ne=1, ne_between_responses="break")
    with pytest.raises(DerivationError, match="max_nr_ne is -1"):
        bor(data, max_nr_ne=-1)


# 19. accept_sd: one SD between a PR and its confirmation, not two; never for a CR
def test_accept_sd():
    one = ovr(("S1", 42, "PR"), ("S1", 63, "SD"), ("S1", 84, "PR"))
    assert bor(one) == [("S1", "SD", 1, None, None)]
    assert bor(one, accept_sd=True) == [("S1", "PR", 1, 3, 42)]
    two = ovr(("S1", 42, "PR"), ("S1", 56, "SD"), ("S1", 70, "SD"), ("S1", 84, "PR"))
    assert bor(two, accept_sd=True) == [("S1", "SD", 1, None, None)]
    cr = ovr(("S1", 42, "CR"), ("S1", 63, "SD"), ("S1", 84, "CR"))
    assert bor(cr, accept_sd=True) == [("S1", "SD", 1, None, None)]


# 20. missing_as_ne, NON-CR/NON-PD and ND as categories, the first PD
def test_categories_and_missing():
    starts = {"S1": D0, "S2": D0, "S3": D0, "S4": D0}
    data = ovr(("S1", 42, "NON-CR/NON-PD"), ("S2", 42, "ND"), ("S3", 42, "ND"), ("S3", 84, "NE"))
    assert table(compute_confirmed_bor(data, starts)) == [
        ("S1", "SD", "2021-02-12"), ("S2", "NE", "2021-02-12"), ("S3", "NE", "2021-02-12"), ("S4", "NE", None)]
    got = compute_confirmed_bor(data, starts, noncrnonpd_as="NON-CR/NON-PD", nd_as="ND", missing_as_ne=False)
    assert table(got) == [("S1", "NON-CR/NON-PD", "2021-02-12"), ("S2", "ND", "2021-02-12"),
                          ("S3", "NE", "2021-03-26"), ("S4", "MISSING", None)]
    assert got["SRCSEQ"].tolist()[:3] == [1, 2, 4] and pd.isna(got["SRCSEQ"].iloc[3])
    # a CR/PR/SD beats NON-CR/NON-PD even when later; an early NON-CR/NON-PD then PD is PD
    both = ovr(("S1", 42, "NON-CR/NON-PD"), ("S1", 84, "SD"), ("S2", 20, "NON-CR/NON-PD"), ("S2", 60, "PD"))
    assert table(compute_confirmed_bor(both, {"S1": D0, "S2": D0}, noncrnonpd_as="NON-CR/NON-PD")) == [
        ("S1", "SD", "2021-03-26"), ("S2", "PD", "2021-03-02")]
    # until_first_pd=False: a response after a PD counts (admiralonco without source_pd)
    after = ovr(("S1", 42, "PD"), ("S1", 84, "PR"), ("S1", 126, "PR"))
    assert bor(after) == [("S1", "PD", 1, None, None)]
    assert bor(after, until_first_pd=False) == [("S1", "PR", 2, 3, 84)]
    with pytest.raises(DerivationError, match="noncrnonpd_as is 'NON-CR'"):
        bor(after, noncrnonpd_as="NON-CR")
    with pytest.raises(DerivationError, match="nd_as is 'MISSING'"):
        bor(after, nd_as="MISSING")


# 21. an external PD date ends the evaluation (assessments on that date count)
def test_pd_dates():
    data = ovr(("S1", 42, "PR"), ("S1", 84, "PR"), ("S2", 42, "PR"), ("S2", 84, "PR"))
    out = compute_confirmed_bor(data, {"S1": D0, "S2": D0}, pd_dates={"S1": day(84), "S2": day(83)})
    assert table(out) == [("S1", "PR", "2021-02-12"), ("S2", "SD", "2021-02-12")]


# 22. a subject with a single CR (or PR) assessment gets NE, not MISSING (admiralonco NEWS, #253:
#     "the confirmed best overall response for a patient with a single CR or PR assessment is derived
#     as NE instead of MISSING"), when that assessment is before the SD minimum; after it: SD
#     https://github.com/pharmaverse/admiralonco/blob/main/NEWS.md
def test_single_cr_is_ne_not_missing():
    data = ovr(("S1", 20, "CR"), ("S2", 40, "PR"))
    out = compute_confirmed_bor(data, {"S1": D0, "S2": D0, "S3": D0}, missing_as_ne=False, nd_as="ND",
                                noncrnonpd_as="NON-CR/NON-PD")
    assert table(out) == [("S1", "NE", "2021-01-21"), ("S2", "SD", "2021-02-10"), ("S3", "MISSING", None)]
