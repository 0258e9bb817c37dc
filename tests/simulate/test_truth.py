"""Tests of simulate/truth.py: the calibrated embedded study reproduces the paper's figures.

Every count is taken from the truth itself; every survival figure is computed with
tlfgen.stats.survival on the ``expected`` values; every tumour assessment is
re-classified by an independent RECIST 1.1 checker written here.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

import yaml

from tlfgen.errors import DataError
from tlfgen.simulate.truth import CALIBRATION_PATH, create_study_truth, load_calibration
from tlfgen.stats.formatting import fmt_num, fmt_p
from tlfgen.stats.survival import cox_hr, km_median_ci, logrank_hr

REPO = Path(__file__).resolve().parents[2]
# the embedded study's month (specs/study.yaml: the paper's days / 30, docs/paper_months.md)
MONTH = yaml.safe_load((REPO / "specs" / "study.yaml").read_text())["study"]["days_per_month"]
CUTOFF = date(2025, 4, 12)
ARMS = ("TCAC", "TCC")
PTS = {
    "Neutrophil count decreased", "White blood cell count decreased", "Platelet count decreased",
    "Lymphocyte count decreased", "Anaemia", "Hypertension", "Rash", "Proteinuria",
    "Reactive cutaneous capillary endothelial proliferation", "Nausea", "Vomiting", "Decreased appetite",
    "Dysgeusia", "Fatigue", "Alopecia", "Peripheral sensory neuropathy", "Diarrhoea", "Hypothyroidism",
    "Alanine aminotransferase increased", "Aspartate aminotransferase increased",
    "Palmar-plantar erythrodysaesthesia syndrome", "Pneumonia", "Constipation", "Epistaxis", "Pneumonitis",
}


@pytest.fixture(scope="module")
def study():
    return create_study_truth()


@pytest.fixture(scope="module")
def by_arm(study):
    return {arm: [s for s in study.subjects if s.arm == arm] for arm in ARMS}


def count(subjects, pred) -> int:
    return sum(1 for s in subjects if pred(s))


# ----------------------------------------------------------------- independent RECIST checker


def recist_response(total: float, base: float, nadir: float, new: bool, nontarget: str) -> str:
    if new or nontarget == "UNEQUIVOCAL PROGRESSION" or (total - nadir >= 5 - 1e-6 and total >= 1.2 * nadir - 1e-6):
        return "PD"
    if total <= 1e-6:
        return "CR" if nontarget == "ABSENT" else "PR"
    return "PR" if total <= 0.7 * base + 1e-6 else "SD"


def confirmed_bor(assessments, start: date) -> str:
    rank = {"CR": 0, "PR": 1, "SD": 2, "PD": 3, "NE": 4}
    for level in ("CR", "PR"):
        for i, a in enumerate(assessments):
            later = [b for b in assessments[i + 1:] if (b.date - a.date).days >= 28 and rank[b.response] <= rank[level]]
            if a.response == level and later:
                return level
    if any(a.response in ("CR", "PR", "SD") and (a.date - start).days >= 35 for a in assessments):
        return "SD"
    return "PD" if any(a.response == "PD" for a in assessments) else "NE"


def test_recist_every_assessment_is_consistent(study):
    checked = 0
    for s in study.subjects:
        base = s.expected["BASE_SUM"]
        assert 30 <= base <= 150
        nadir = float(base)
        for a in s.assessments:
            total = base * (1 + a.target_pchg / 100)
            assert abs(total - round(total)) < 1e-6, s.subjid  # whole millimetres
            assert recist_response(total, base, nadir, a.new_lesion, a.nontarget) == a.response, (s.subjid, a)
            if a.response == "CR":
                assert a.target_pchg == -100.0 and a.nontarget == "ABSENT" and not a.new_lesion
            nadir = min(nadir, total)
            checked += 1
        assert confirmed_bor(s.assessments, s.trt_start) == s.bor == s.expected["BOR"]
    assert checked > 200


def test_assessments_follow_the_schedule_and_stop(study):
    for s in study.subjects:
        days = [(a.date - s.trt_start).days + 1 for a in s.assessments]
        assert days, s.subjid
        assert 40 <= days[0] <= 46
        assert all(b - a >= 14 for a, b in zip(days, days[1:]))
        assert all(b - a <= 98 for a, b in zip(days, days[1:]))
        responses = [a.response for a in s.assessments]
        assert "PD" not in responses[:-1]
        if s.pd_date:
            assert s.assessments[-1].date == s.pd_date and responses[-1] == "PD"
        stop = min(d for d in (s.surgery_date, s.death_date, CUTOFF) if d)
        assert s.assessments[-1].date <= stop
        assert s.best_pchg == min(a.target_pchg for a in s.assessments) == s.expected["DEPTH"]
        assert s.baseline_scan is not None and 0 < (s.trt_start - s.baseline_scan).days <= 28


# ----------------------------------------------------------------- design and dates


def test_subjects_enrolment_and_dates(study, by_arm):
    assert study.studyid == "NCT04471480" and study.cutoff == CUTOFF
    assert [s.subjid for s in study.subjects] == [f"01{k:03d}" for k in range(1, 61)]
    assert [len(by_arm[a]) for a in ARMS] == [30, 30]
    enrol = [s.enrol_date for s in study.subjects]
    assert enrol == sorted(enrol)
    assert (enrol[0], enrol[-1]) == (date(2020, 8, 3), date(2022, 8, 10))
    for s in study.subjects:
        assert s.consent_date <= s.enrol_date and 0 <= (s.trt_start - s.enrol_date).days <= 14
        dates = [a.date for a in s.assessments] + [s.death_date, s.last_alive, s.eot_date, s.surgery_date]
        dates += [ae.start for ae in s.aes] + [ae.end for ae in s.aes] + [d for _, d in s.subsequent_therapy]
        assert max(d for d in dates if d) <= CUTOFF, s.subjid
        if s.death_date:
            assert max(d for d in dates if d) == s.death_date, s.subjid
        assert 45 <= (s.enrol_date - s.birth_date).days / 365.25 <= 79


def test_responses_depth_and_events(by_arm):
    bor = {arm: Counter(s.bor for s in by_arm[arm]) for arm in ARMS}
    assert bor["TCAC"] == Counter({"PR": 24, "CR": 3, "SD": 2, "PD": 1})
    assert bor["TCC"] == Counter({"PR": 12, "SD": 11, "PD": 6, "CR": 1})
    assert [count(by_arm[a], lambda s: s.best_pchg < -50) for a in ARMS] == [15, 6]
    assert [count(by_arm[a], lambda s: s.expected["PFS_CNSR"] == 0) for a in ARMS] == [16, 27]
    assert [count(by_arm[a], lambda s: s.expected["OS_CNSR"] == 0) for a in ARMS] == [15, 22]
    assert [count(by_arm[a], lambda s: s.death_date is not None) for a in ARMS] == [15, 22]
    assert [count(by_arm[a], lambda s: "DOR_DAYS" in s.expected) for a in ARMS] == [27, 13]
    assert [count(by_arm[a], lambda s: s.surgery_date is not None) for a in ARMS] == [10, 2]
    assert count(by_arm["TCAC"], lambda s: s.pcr is True) == 5
    assert [count(by_arm[a], lambda s: s.lost_to_follow_up) for a in ARMS] == [0, 2]
    assert [count(by_arm[a], lambda s: s.on_treatment_at_cutoff) for a in ARMS] == [2, 0]


def test_disposition_is_consistent(study):
    for s in study.subjects:
        if s.surgery_date:  # one TCC surgery patient had stable disease (docs/paper_months.md)
            assert s.bor in ("CR", "PR", "SD") and s.n_cycles >= 4 and s.surgery_r0
            assert s.expected["PFS_CNSR"] == s.expected["OS_CNSR"] == s.expected.get("DOR_CNSR", 1) == 1
            assert ("DOR_CNSR" in s.expected) == (s.bor in ("CR", "PR"))
            assert s.expected["PFS_DAYS"] == s.expected["OS_DAYS"] == (s.surgery_date - s.trt_start).days + 1
        if s.on_treatment_at_cutoff:
            assert s.eot_date is None and s.last_dose is None and s.death_date is None and s.pd_date is None
        else:
            assert s.eot_date is not None and s.eot_reason is not None and s.last_dose <= s.eot_date
        if s.death_date:
            assert s.eos_reason == "DEATH" and s.eos_date == s.death_date
        if s.eot_reason == "PROGRESSIVE DISEASE":
            assert s.pd_date is not None and s.eot_date >= s.pd_date


def test_expected_matches_the_calibration(study):
    rows = {r["subjid"]: r for r in json.loads(CALIBRATION_PATH.read_text())["subjects"]}
    for s in study.subjects:
        r = rows[s.subjid]
        assert (s.arm, s.bor, s.trt_start.isoformat()) == (r["arm"], r["bor"], r["trt_start"])
        assert (s.expected["PFS_DAYS"], s.expected["OS_DAYS"]) == (r["pfs_day"], r["os_day"]), s.subjid
        assert s.expected["FU_DAYS"] == s.expected["OS_DAYS"]
        if "DOR_DAYS" in s.expected:
            assert s.expected["DOR_DAYS"] == r["pfs_day"] - r["resp_day"] + 1
            assert s.first_response == s.trt_start + timedelta(days=r["resp_day"] - 1)


# ----------------------------------------------------------------- survival targets


def endpoint(study, key: str) -> pd.DataFrame:
    rows = [{"arm": s.arm, "t": s.expected[f"{key}_DAYS"] / MONTH, "e": 1 - s.expected[f"{key}_CNSR"],
             "trt": 1 if s.arm == "TCAC" else 0} for s in study.subjects if f"{key}_DAYS" in s.expected]
    return pd.DataFrame(rows)


MEDIANS = {  # key: {arm: (median, lower, upper)}
    "PFS": {"TCAC": (16.03, 9.49, 22.58), "TCC": (7.30, 4.08, 10.52)},
    "OS": {"TCAC": (24.50, 12.43, 36.57), "TCC": (17.97, 11.43, 24.50)},
    "DOR": {"TCAC": (14.30, 10.03, 18.57), "TCC": (6.30, 4.00, 8.60)},
}


def printed(*values: float, decimals: int = 2) -> tuple[str, ...]:
    return tuple(fmt_num(v, decimals) for v in values)


@pytest.mark.parametrize("key", ["PFS", "OS", "DOR"])
@pytest.mark.parametrize("arm", ARMS)
def test_km_median_and_symmetric_ci_print_as_the_paper(study, key, arm):
    df = endpoint(study, key)
    df = df[df.arm == arm]
    res = km_median_ci(df.t, df.e, method="symmetric")
    median, lower, upper = MEDIANS[key][arm]
    assert printed(res.median, res.lower, res.upper) == printed(median, lower, upper)


def test_pfs_hazard_ratios(study):
    df = endpoint(study, "PFS")
    lr = logrank_hr(df.t, df.e, df.arm, treatment="TCAC", reference="TCC")
    assert printed(lr.hr, lr.lower, lr.upper) == ("0.35", "0.19", "0.65")
    assert lr.p < 0.0005  # "< 0.001" also where p is rounded to 3 decimals first
    cox = cox_hr(df, "t", "e", [], treatment_col="trt", ties="breslow")
    assert printed(cox.hr, cox.lower, cox.upper) == ("0.33", "0.18", "0.63")
    assert fmt_p(cox.p) == "< 0.001"


def test_os_and_dor_hazard_ratios(study):
    df = endpoint(study, "OS")
    lr = logrank_hr(df.t, df.e, df.arm, treatment="TCAC", reference="TCC")
    assert printed(lr.hr, lr.lower, lr.upper) == ("0.75", "0.39", "1.43")
    assert fmt_p(lr.p) == "0.37"
    df = endpoint(study, "DOR")
    lr = logrank_hr(df.t, df.e, df.arm, treatment="TCAC", reference="TCC")
    # (0.15, 0.91) needs 12 TCC DOR events: one TCC surgery patient had stable disease
    assert printed(lr.hr, lr.lower, lr.upper) == ("0.37", "0.15", "0.91")
    assert fmt_p(lr.p) == "0.009"


def test_follow_up(study):
    months = [s.expected["FU_DAYS"] / MONTH for s in study.subjects]
    assert printed(statistics.median(months), min(months), max(months), decimals=1) == ("14.5", "1.9", "45.9")


# ----------------------------------------------------------------- safety


def related(ae) -> bool:
    return any(ae.rel.values())


def test_safety_counts(by_arm):
    for arm in ARMS:
        assert all(s.expected["TRAE_ANY"] and any(related(ae) for ae in s.aes) for s in by_arm[arm])
        assert all(ae.grade <= 3 for s in by_arm[arm] for ae in s.aes)
        assert all(ae.pt in PTS for s in by_arm[arm] for ae in s.aes)
    g3 = {arm: [s for s in by_arm[arm] if any(related(ae) and ae.grade == 3 for ae in s.aes)] for arm in ARMS}
    assert [len(g3[a]) for a in ARMS] == [12, 8]
    assert [count(by_arm[a], lambda s: s.expected["TRAE_G3"]) for a in ARMS] == [12, 8]
    pts = Counter(ae.pt for s in by_arm["TCAC"] for ae in s.aes if related(ae) and ae.grade == 3)
    assert pts == Counter({"Neutrophil count decreased": 5, "White blood cell count decreased": 4,
                           "Platelet count decreased": 3, "Lymphocyte count decreased": 2, "Hypertension": 2,
                           "Rash": 1, "Proteinuria": 1})
    rccep = "Reactive cutaneous capillary endothelial proliferation"
    assert [count(by_arm[a], lambda s: any(ae.pt == rccep and ae.rel["CAM"] for ae in s.aes)) for a in ARMS] == [6, 20]
    assert [count(by_arm[a], lambda s: any(ae.action == "DRUG WITHDRAWN" and related(ae) for ae in s.aes))
            for a in ARMS] == [3, 2]
    assert [count(by_arm[a], lambda s: s.eot_reason == "ADVERSE EVENT") for a in ARMS] == [3, 2]
    assert [count(by_arm[a], lambda s: any(d.reason == "ADVERSE EVENT" for d in s.dose_changes)) for a in ARMS] == [3, 2]
    assert [count(by_arm[a], lambda s: any(ae.action == "DOSE REDUCED" and related(ae) for ae in s.aes))
            for a in ARMS] == [3, 2]
    assert not any(ae.rel.get("ANL") for s in by_arm["TCAC"] for ae in s.aes if ae.pt == "Epistaxis")
    assert not any("ANL" in ae.rel for s in by_arm["TCC"] for ae in s.aes)


def test_ae_dates_within_treatment_window(study):
    partial = 0
    for s in study.subjects:
        last = s.last_dose or s.last_alive
        for ae in s.aes:
            assert s.trt_start < ae.start <= last + timedelta(days=90), (s.subjid, ae.pt)
            assert ae.end is None or ae.start <= ae.end
            partial += ae.partial_start
    assert partial >= 2


def test_baseline_is_plausible(study):
    ages = [(s.enrol_date - s.birth_date).days // 365 for s in study.subjects]
    assert 58 <= statistics.median(ages) <= 68
    assert 0.7 <= count(study.subjects, lambda s: s.sex == "M") / 60 <= 0.95
    assert {s.ecog for s in study.subjects} == {0, 1}
    assert {s.stage for s in study.subjects} == {"III", "IV"}
    assert any(s.pdl1_cps is None for s in study.subjects)


# ----------------------------------------------------------------- determinism and scale


def test_deterministic(study):
    assert create_study_truth() == study
    assert create_study_truth(5, seed=7) == create_study_truth(5, seed=7)
    assert create_study_truth(5, seed=7) != create_study_truth(5, seed=8)


def test_large_study_is_plausible():
    big = create_study_truth(2500, seed=11)
    subjects = big.subjects
    assert len(subjects) == 5000 and len({s.subjid for s in subjects}) == 5000
    for arm, orr, low, high in (("TCAC", 0.9, 0.85, 0.95), ("TCC", 0.433, 0.38, 0.49)):
        arm_s = [s for s in subjects if s.arm == arm]
        assert len(arm_s) == 2500
        assert low <= count(arm_s, lambda s: s.bor in ("CR", "PR")) / 2500 <= high
        assert count(arm_s, lambda s: s.expected["TRAE_G3"]) == (1000 if arm == "TCAC" else 667)
    for s in subjects[::50]:
        base = s.expected["BASE_SUM"]
        nadir = float(base)
        for a in s.assessments:
            total = base * (1 + a.target_pchg / 100)
            assert recist_response(total, base, nadir, a.new_lesion, a.nontarget) == a.response
            nadir = min(nadir, total)
        assert confirmed_bor(s.assessments, s.trt_start) == s.bor
    assert max(d for s in subjects for d in (s.last_alive, s.death_date) if d) <= CUTOFF


def test_bad_arguments_and_missing_calibration(tmp_path):
    with pytest.raises(DataError, match="subjects_per_arm must be >= 1"):
        create_study_truth(0)
    with pytest.raises(DataError, match="cannot read the calibrated skeleton") as info:
        load_calibration(tmp_path / "missing.json")
    assert "missing.json" in str(info.value)
