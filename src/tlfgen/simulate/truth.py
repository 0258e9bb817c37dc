"""Simulation stage: the per-subject truth of the embedded study NCT04471480.

``create_study_truth(30, 20200803)`` returns the calibrated 30 + 30 study: its
survival skeleton (roles, best responses and study days of response, PFS and
OS ends, enrolment and first-dose dates) is read from
``calibration_30x2.json`` (found offline by ``calibrate.py``) and everything
else (baseline, tumour measurements, treatment, adverse events) is drawn from
seeded randomness under exact per-arm counts. Any other size or seed draws a
study from the same generative model: skeleton rows of the arm (``skeleton_pool.json``)
are resampled with jittered days, then the data cutoff is applied.

Study days: day 1 = first dose; the date of day ``d`` is ``trt_start + d - 1``
(so AVAL = ADT - STARTDT + 1 = d). Imaging: days 43, 85, 127 (every 6 weeks in
cycles 1-6), then every 63-84 days; progression may be found at an
unscheduled scan at least 14 days after the previous one.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from tlfgen.errors import DataError
from tlfgen.simulate.truth_model import (
    AdverseEventTruth,
    AssessmentTruth,
    DoseChangeTruth,
    StudyTruth,
    SubjectTruth,
)

STUDYID = "NCT04471480"
CUTOFF = date(2025, 4, 12)
FIRST_ENROL = date(2020, 8, 3)
LAST_ENROL = date(2022, 8, 10)
DEFAULT_SEED = 20200803
CALIBRATION_PATH = Path(__file__).with_name("calibration_30x2.json")
#: Skeleton rows resampled for any other size or seed: the first 30 + 30 calibration (months of
#: 30.4375 days), kept as it was so that recalibrating the embedded study does not change every
#: other simulated study (tests/reliability and tests/sdtm build theirs with 2 + 2 subjects).
POOL_PATH = Path(__file__).with_name("skeleton_pool.json")
ARMS = ("TCAC", "TCC")
ALIVE_ROLES = ("ONTRT", "CENS", "PDALIVE")
PD_ROLES = ("PDALIVE", "LTFU", "DEATHPD")
DEEP = {"TCAC": 15, "TCC": 6}  # best % change < -50 among 30
PCR = {"TCAC": 5, "TCC": 1}  # among surgery patients
SECOND_LINE = ("DOCETAXEL", "IRINOTECAN", "APATINIB", "TISLELIZUMAB + IRINOTECAN", "S-1")


# --------------------------------------------------------------------------- entry


def create_study_truth(subjects_per_arm: int = 30, seed: int = DEFAULT_SEED) -> StudyTruth:
    """The embedded study (calibrated for 30 per arm and the default seed), deterministic."""
    if subjects_per_arm < 1:
        raise DataError(f"subjects_per_arm must be >= 1, got {subjects_per_arm}",
                        hint="use 30 for the embedded study")
    if subjects_per_arm == 30 and seed == DEFAULT_SEED:
        skeletons = load_calibration(CALIBRATION_PATH)
    else:
        skeletons = draw_skeletons(subjects_per_arm, random.Random(f"skeleton:{seed}"))
    width = max(3, len(str(len(skeletons))))
    for k, sk in enumerate(sorted(skeletons, key=lambda s: (s["enrol"], s["arm"], s["pfs_day"])), start=1):
        sk["subjid"] = f"01{k:0{width}d}"
    skeletons.sort(key=lambda s: s["subjid"])
    plans: dict[str, dict] = {}
    for arm in ARMS:
        arm_sk = [s for s in skeletons if s["arm"] == arm]
        plans.update(create_arm_plan(arm_sk, arm, random.Random(f"arm:{seed}:{arm}")))
    subjects = tuple(create_subject(sk, plans[sk["subjid"]], random.Random(f"subject:{seed}:{sk['subjid']}"))
                     for sk in skeletons)
    return StudyTruth(studyid=STUDYID, cutoff=CUTOFF, subjects=subjects, seed=seed)


def load_calibration(path: Path) -> list[dict]:
    """Skeleton rows of the calibrated study (dates parsed)."""
    try:
        rows = json.loads(path.read_text())["subjects"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"cannot read the calibrated skeleton ({exc})", file=path,
                        hint="run python -m tlfgen.simulate.calibrate to regenerate it") from exc
    return [dict(r, enrol=date.fromisoformat(r["enrol"]), trt_start=date.fromisoformat(r["trt_start"]))
            for r in rows]


def draw_skeletons(n_per_arm: int, rng: random.Random) -> list[dict]:
    """Resample calibrated skeleton rows per arm, jitter their days, enrol uniformly, apply the cutoff."""
    base = load_calibration(POOL_PATH)
    span = (LAST_ENROL - FIRST_ENROL).days
    out = []
    for arm in ARMS:
        pool = [r for r in base if r["arm"] == arm]
        for _ in range(n_per_arm):
            sk = dict(rng.choice(pool))
            sk["enrol"] = FIRST_ENROL + timedelta(days=rng.randint(0, span))
            sk["trt_start"] = sk["enrol"] + timedelta(days=rng.randint(1, 12))
            out.append(apply_cutoff(jitter_skeleton(sk, rng), rng))
    return out


def jitter_skeleton(sk: dict, rng: random.Random) -> dict:
    """Scale the days of a resampled row by a random factor, keeping its role's bounds."""
    role, bor, resp = sk["role"], sk["bor"], sk["resp_day"]
    f = rng.uniform(0.7, 1.4)
    if role == "SURG":
        sk["pfs_day"] = sk["os_day"] = rng.randint(92, 128)
        return sk
    if role in ("ONTRT", "CENS"):
        sk["os_day"] = sk["pfs_day"] = 10**5  # alive without progression: set by the cutoff
        return sk
    if bor == "PD":
        pfs = rng.randint(40, 46)
    else:
        low = (50 if role == "DEATHNOPD" else 64) if bor == "SD" else resp + (43 if role == "DEATHNOPD" else 63)
        pfs = max(low, int(sk["pfs_day"] * f))
    gap = sk["os_day"] - sk["pfs_day"]
    sk["pfs_day"] = pfs
    sk["os_day"] = pfs if role == "DEATHNOPD" else pfs + max(14, int(gap * rng.uniform(0.6, 1.5)))
    if role == "PDALIVE":
        sk["os_day"] = 10**5
    return sk


def apply_cutoff(sk: dict, rng: random.Random) -> dict:
    """Turn a drawn row into what is seen at the cutoff (events after it are not observed)."""
    max_day = (CUTOFF - sk["trt_start"]).days + 1
    contact = max_day - rng.randint(0, 27)  # last telephone contact, every 4 weeks
    role = sk["role"]
    if role in ("DEATHPD", "DEATHNOPD", "LTFU") and sk["os_day"] > max_day - (60 if role == "LTFU" else 0):
        role = "PDALIVE" if role != "DEATHNOPD" else "CENS"
    if role in PD_ROLES and sk["pfs_day"] > contact - 14:
        role = "CENS"
    if role in ("ONTRT", "CENS", "PDALIVE"):
        sk["os_day"] = contact
    if role in ("ONTRT", "CENS"):
        sk["pfs_day"] = contact - rng.randint(3, 60)
    sk["role"] = role
    return sk


# --------------------------------------------------------------------------- arm-level allocation


def create_arm_plan(skeletons: list[dict], arm: str, rng: random.Random) -> dict[str, dict]:
    """Per-subject flags with exact per-arm counts: deep response, pCR, AE plan."""
    n = len(skeletons)
    plan = {s["subjid"]: {"deep": False, "pcr": False} for s in skeletons}
    responders = [s for s in skeletons if s["bor"] in ("CR", "PR")]
    n_deep = min(len(responders), round(DEEP[arm] * n / 30))
    deep = [s for s in responders if s["bor"] == "CR"]
    partial = [s for s in responders if s["bor"] == "PR"]
    deep += rng.sample(partial, max(0, min(len(partial), n_deep - len(deep))))
    for s in deep:
        plan[s["subjid"]]["deep"] = True
    surgery = [s for s in skeletons if s["role"] == "SURG"]
    n_pcr = min(len(surgery), round(PCR[arm] * len(surgery) / (10 if arm == "TCAC" else 2)))
    responded = [s for s in surgery if s["bor"] in ("CR", "PR")]  # a pCR after a response, where there is one
    for s in rng.sample(responded if len(responded) >= n_pcr else surgery, n_pcr):
        plan[s["subjid"]]["pcr"] = True
    for subjid, ae_plan in create_arm_ae_plan(skeletons, arm, rng).items():
        plan[subjid]["ae"] = ae_plan
    return plan


# --------------------------------------------------------------------------- one subject


def create_subject(sk: dict, plan: dict, rng: random.Random) -> SubjectTruth:
    """Build one SubjectTruth from its skeleton row and arm-level plan."""
    arm, role, start = sk["arm"], sk["role"], sk["trt_start"]
    day = lambda d: start + timedelta(days=d - 1)  # noqa: E731 - study day -> date
    base_sum = rng.randint(30, 150)
    assessments = create_assessments(sk, plan["deep"], base_sum, rng)
    death = day(sk["os_day"]) if role in ("DEATHPD", "DEATHNOPD") else None
    surgery = day(sk["pfs_day"]) if role == "SURG" else None
    pd_date = day(sk["pfs_day"]) if role in PD_ROLES else None
    ae_plan = plan["ae"]
    treat = create_treatment(sk, ae_plan, rng)
    cap = death or (day(sk["os_day"]) if role in ALIVE_ROLES + ("LTFU",) else surgery)
    if role == "SURG":
        last_alive = CUTOFF - timedelta(days=rng.randint(0, 27))
    elif death:
        last_alive = death - timedelta(days=rng.randint(1, 20))
    else:
        last_alive = day(sk["os_day"])
    last_dose_day = treat["last_dose_day"] or (last_alive - start).days + 1
    aes = create_subject_aes(arm, start, last_dose_day, treat["n_induction"], cap, ae_plan, rng)
    if death:
        known = [a.date for a in assessments] + [start + timedelta(days=last_dose_day - 1)]
        known += [d for a in aes for d in (a.start, a.end) if d is not None]
        last_alive = max([last_alive] + [d for d in known if d < death])
    subsequent = ()
    if pd_date and rng.random() < 0.65:
        first = pd_date + timedelta(days=rng.randint(14, 35))
        if first < min(cap, CUTOFF):
            subsequent = ((rng.choice(SECOND_LINE), first),)
    eot_date, eot_reason = treat["eot_day"], treat["eot_reason"]
    eos = {"DEATHPD": "DEATH", "DEATHNOPD": "DEATH", "LTFU": "LOST TO FOLLOW-UP"}.get(role)
    eos_date = death if death else (last_alive + timedelta(days=56) if role == "LTFU" else None)
    subject = SubjectTruth(
        subjid=sk["subjid"], arm=arm, **create_baseline(sk, rng),
        n_cycles=treat["n_cycles"], n_induction=treat["n_induction"],
        last_dose=None if role == "ONTRT" else day(last_dose_day),
        on_treatment_at_cutoff=role == "ONTRT",
        dose_changes=tuple(DoseChangeTruth(c, drug, "ADVERSE EVENT") for c, drug in treat["reductions"]),
        baseline_scan=start - timedelta(days=rng.randint(3, 25)),
        assessments=assessments,
        bor=derive_bor(assessments, start),
        first_response=day(sk["resp_day"]) if sk["resp_day"] else None,
        best_pchg=min(a.target_pchg for a in assessments),
        pd_date=pd_date, death_date=death,
        death_cause=None if not death else ("DISEASE PROGRESSION" if role == "DEATHPD" else "OTHER"),
        surgery_date=surgery, surgery_r0=True if surgery else None,
        pcr=plan["pcr"] if surgery else None,
        last_alive=last_alive, lost_to_follow_up=role == "LTFU",
        eot_date=None if eot_date is None else day(eot_date), eot_reason=eot_reason,
        eos_date=eos_date, eos_reason=eos,
        subsequent_therapy=subsequent, aes=aes,
    )
    if subject.bor != sk["bor"]:
        raise DataError(f"{CALIBRATION_PATH.name}: subject {sk['subjid']}: assessments give BOR {subject.bor}, "
                        f"the skeleton says {sk['bor']}", hint="regenerate the calibration")
    return replace(subject, expected=derive_expected(subject, base_sum, CUTOFF))


def create_baseline(sk: dict, rng: random.Random) -> dict:
    """Demographics and baseline disease (plausible for Chinese ESCC, same law in both arms).

    The calibrated study's skeleton rows carry the covariates of the paper's multivariable
    models (``baseline``: age, sex, ecog, stage, pdl1 group); they replace the drawn values.
    """
    fixed = sk.get("baseline") or {}
    age = min(78, max(45, round(rng.gauss(63, 7))))
    age = fixed.get("age", age)
    enrol = sk["enrol"]
    birth = enrol - timedelta(days=int(age * 365.25) + rng.randint(10, 355))
    stage = "III" if rng.random() < 0.3 else "IV"
    stage = fixed.get("stage", stage)
    if stage == "III":
        tnm = rng.choice([("T3", "N1", "M0"), ("T3", "N2", "M0"), ("T4a", "N1", "M0"), ("T2", "N2", "M0")])
    else:
        tnm = rng.choice([("T3", "N2", "M1"), ("T3", "N3", "M0"), ("T4b", "N2", "M0"), ("T4a", "N2", "M1"),
                          ("T3", "N1", "M1")])
    cps_group = rng.choices(["<1", "1-9", ">=10", "NE"], weights=[20, 40, 32, 8])[0]
    cps_group = fixed.get("pdl1", cps_group)
    cps = {"<1": 0.0, "1-9": float(rng.randint(1, 9)), ">=10": float(rng.randint(10, 60)), "NE": None}[cps_group]
    sex = "M" if rng.random() < 0.85 else "F"
    consent = enrol - timedelta(days=rng.randint(0, 5))
    ecog = 0 if rng.random() < 0.35 else 1
    return {
        "sex": fixed.get("sex", sex),
        "birth_date": birth,
        "consent_date": consent,
        "enrol_date": enrol,
        "trt_start": sk["trt_start"],
        "ecog": fixed.get("ecog", ecog),
        "stage": stage,
        "tnm": tnm,
        "tumour_site": rng.choices(["CERVICAL", "UPPER THORACIC", "MIDDLE THORACIC", "LOWER THORACIC"],
                                   weights=[5, 20, 45, 30])[0],
        "pdl1_cps": cps,
        "dysphagia": rng.choices([0, 1, 2, 3, 4], weights=[15, 30, 30, 20, 5])[0],
        "smoking": rng.choices(["NEVER", "FORMER", "CURRENT"], weights=[30, 35, 35])[0],
        "alcohol": rng.choices(["NEVER", "FORMER", "CURRENT"], weights=[35, 35, 30])[0],
        "taxane": rng.choice(["PACLITAXEL", "NAB-PACLITAXEL"]),
        "platinum": rng.choices(["CISPLATIN", "CARBOPLATIN"], weights=[60, 40])[0],
    }


# --------------------------------------------------------------------------- tumour assessments


def plan_assessment_days(end: int, exact: bool, rng: random.Random) -> list[int]:
    """Scan days up to ``end``: 43, 85, 127, then every 63-84 days.

    ``exact``: the last scan is on ``end`` (progression or last adequate scan);
    when the schedule cannot land there, ``end`` is an unscheduled scan at least
    14 days after the previous one. Otherwise: the scans strictly before ``end``.
    """
    days = [43, 85, 127]
    gap = end - 127
    ks = [k for k in range(1, gap // 63 + 1) if 63 * k <= gap <= 84 * k]
    if exact and ks:
        k = min(ks, key=lambda x: abs(x - gap / 73.5))
        extra = gap - 63 * k
        steps = [63 + extra // k] * k
        for i in rng.sample(range(k), extra % k):
            steps[i] += 1
        for i in range(k - 1):  # a little irregularity, keeping every interval in 63-84
            move = rng.randint(-4, 4)
            if 63 <= steps[i] + move <= 84 and 63 <= steps[i + 1] - move <= 84:
                steps[i] += move
                steps[i + 1] -= move
        for step in steps:
            days.append(days[-1] + step)
        return days
    while days[-1] < end:
        days.append(days[-1] + rng.randint(63, 84))
    if exact:
        return [d for d in days if d < end - 13] + [end]
    return [d for d in days if d < end]


def create_assessments(sk: dict, deep: bool, base: int, rng: random.Random) -> tuple[AssessmentTruth, ...]:
    """RECIST 1.1 consistent scans (integer sums of diameters in mm) ending as the skeleton says."""
    role, bor, resp, start = sk["role"], sk["bor"], sk["resp_day"], sk["trt_start"]
    days = plan_assessment_days(sk["pfs_day"], role in PD_ROLES + ("ONTRT", "CENS"), rng)
    pd_last = role in PD_ROLES or bor == "PD"
    n_pre = 0 if bor == "PD" else len(days) - (1 if pd_last else 0)
    ceil = lambda x: -int(-x // 1)  # noqa: E731
    if bor == "CR":
        best = first = 0
    elif bor == "PR":
        best = rng.randint(ceil(0.15 * base), int(0.48 * base)) if deep else rng.randint(ceil(0.51 * base), int(0.68 * base))
        first = rng.randint(best, int(0.69 * base))
    sums: list[int] = []
    n_resp = 0
    nadir = base
    for d in days[:n_pre]:
        if bor == "SD" or d < resp:
            s = rng.randint(ceil(0.74 * base), int(1.1 * base))
            s = min(s, nadir + 3)
        else:
            if n_resp == 0:
                s = first
            elif n_resp == 1 and d != days[n_pre - 1]:
                s = rng.randint(best, first)
            elif n_resp <= 2 or bor == "CR":
                s = best  # the best response is always seen, at the confirmation at the latest
            else:
                s = min(best + rng.randint(0, 2), int(0.69 * base))
            n_resp += 1
        sums.append(s)
        nadir = min(nadir, s)
    out = []
    for d, s, nadir_before in zip(days, sums, _running_nadirs(base, sums)):
        nt = "ABSENT" if s == 0 else "PRESENT"
        out.append(AssessmentTruth(start + timedelta(days=d - 1), _classify(s, base, nadir_before, False, nt),
                                   _pchg(s, base), False, nt))
    if pd_last:
        how = rng.choices(["target", "new", "nontarget"], weights=[60, 30, 10])[0]
        if how == "nontarget" and nadir == 0:
            how = "new"
        last = sums[-1] if sums else rng.randint(ceil(0.95 * base), int(1.1 * base))
        s = max(ceil(1.2 * nadir) + 1, nadir + 6) + rng.randint(0, 6) if how == "target" else min(last, nadir + 3)
        nt = "UNEQUIVOCAL PROGRESSION" if how == "nontarget" else ("ABSENT" if nadir == 0 else "PRESENT")
        out.append(AssessmentTruth(start + timedelta(days=days[-1] - 1), "PD", _pchg(s, base), how == "new", nt))
    return tuple(out)


def _running_nadirs(base: int, sums: list[int]) -> list[int]:
    """Smallest sum before each scan (baseline included)."""
    out, low = [], base
    for s in sums:
        out.append(low)
        low = min(low, s)
    return out


def _classify(total: int, base: int, nadir: int, new: bool, nontarget: str) -> str:
    """RECIST 1.1 overall response from the target sum, nadir, new lesions and non-target status."""
    if new or nontarget == "UNEQUIVOCAL PROGRESSION" or (total - nadir >= 5 and total >= 1.2 * nadir):
        return "PD"
    if total == 0:
        return "CR" if nontarget == "ABSENT" else "PR"
    return "PR" if total <= 0.7 * base else "SD"


def _pchg(total: int, base: int) -> float:
    return (total - base) / base * 100.0


def derive_bor(assessments: tuple[AssessmentTruth, ...], trt_start: date) -> str:
    """Confirmed BOR: CR/PR confirmed >= 28 days later by same or better; SD needs >= 35 days."""
    rank = {"CR": 0, "PR": 1, "SD": 2, "PD": 3, "NE": 4}
    for resp in ("CR", "PR"):
        for i, a in enumerate(assessments):
            if a.response == resp and any(
                b.date >= a.date + timedelta(days=28) and rank[b.response] <= rank[resp]
                for b in assessments[i + 1:] if b.response != "NE"):
                return resp
    if any(a.response in ("CR", "PR", "SD") and (a.date - trt_start).days >= 35 for a in assessments):
        return "SD"
    if any(a.response == "PD" for a in assessments):
        return "PD"
    return "NE"


# --------------------------------------------------------------------------- treatment


def create_treatment(sk: dict, ae_plan: dict, rng: random.Random) -> dict:
    """Cycles, induction length, last dose day, EOT day/reason and chemo dose reductions.

    ``limit`` is the last study day any drug may be taken; cycle k starts on day
    21(k-1)+1; anlotinib (TCAC) runs days 1-14 of each cycle.
    """
    role, arm, end = sk["role"], sk["arm"], sk["pfs_day"]
    tail = 13 if arm == "TCAC" else 0
    if ae_plan.get("withdraw_day"):
        limit, eot, reason = ae_plan["withdraw_day"], ae_plan["withdraw_day"] + rng.randint(1, 5), "ADVERSE EVENT"
    elif role == "SURG":
        limit, eot, reason = end - 21, end - rng.randint(1, 5), "SURGERY"
    elif role == "ONTRT":
        limit, eot, reason = sk["os_day"] - tail, None, None
    elif role == "CENS":
        limit, eot, reason = min(715 + tail, end - 30), None, "COMPLETED"
    elif role == "DEATHNOPD":
        limit, eot, reason = end - 7, end, "DEATH"
    else:
        limit, eot, reason = end - 1, end + rng.randint(0, 5), "PROGRESSIVE DISEASE"
    n_cycles = max(1, (max(limit, 1) - 1) // 21 + 1)
    last = min(21 * (n_cycles - 1) + 1 + tail, max(limit, 1))
    if reason == "COMPLETED":
        eot = 21 * n_cycles + 1
    n_induction = 4 if n_cycles <= 5 or role == "SURG" else rng.choice([4, 6, 6])
    reductions = []
    cycle = ae_plan.get("reduce_cycle")
    if cycle and cycle <= min(n_cycles, n_induction):
        reductions.append((cycle, rng.choice(["TAX", "PLT"])))
    return {"n_cycles": n_cycles, "n_induction": n_induction, "last_dose_day": None if role == "ONTRT" else last,
            "eot_day": eot, "eot_reason": reason, "reductions": reductions}


# --------------------------------------------------------------------------- adverse events

NEUT, WBC, PLT = "Neutrophil count decreased", "White blood cell count decreased", "Platelet count decreased"
LYM, HTN, PROT = "Lymphocyte count decreased", "Hypertension", "Proteinuria"
RCCEP = "Reactive cutaneous capillary endothelial proliferation"
HEME = (NEUT, WBC, PLT, LYM, "Anaemia")
# grade-3 TRAE patterns, one per patient (30 per arm): TCAC 18 events over 12 patients
G3_PATTERNS = {
    "TCAC": [(NEUT, WBC), (NEUT, WBC), (NEUT, WBC), (NEUT, WBC), (NEUT, LYM), (PLT,), (PLT, LYM), (PLT,),
             (HTN,), (HTN,), ("Rash",), (PROT,)],
    "TCC": [(NEUT, WBC), (NEUT, WBC), (NEUT,), (NEUT,), (WBC,), ("Anaemia",), (PLT,), (NEUT, PLT)],
}
G3_DAYS = {HTN: [3, 7], "Rash": [6], PROT: [12]}  # durations reported in the paper (TCAC)
WITHDRAWN = {"TCAC": 3, "TCC": 2}
REDUCED = {"TCAC": 3, "TCC": 2}
RCCEP_N = {"TCAC": 6, "TCC": 20}
RELATED = {  # drugs each preferred term is attributed to
    NEUT: "TAX PLT", WBC: "TAX PLT", PLT: "TAX PLT", LYM: "TAX PLT", "Anaemia": "TAX PLT",
    "Nausea": "TAX PLT", "Vomiting": "PLT", "Decreased appetite": "TAX PLT ANL", "Dysgeusia": "TAX ANL",
    "Fatigue": "TAX PLT CAM", "Alopecia": "TAX", "Peripheral sensory neuropathy": "TAX", "Diarrhoea": "ANL TAX",
    "Hypothyroidism": "CAM", "Alanine aminotransferase increased": "CAM TAX",
    "Aspartate aminotransferase increased": "CAM TAX", "Palmar-plantar erythrodysaesthesia syndrome": "ANL",
    HTN: "ANL", PROT: "ANL", RCCEP: "CAM", "Rash": "CAM", "Pneumonitis": "CAM",
    "Pneumonia": "", "Constipation": "", "Epistaxis": "",
}
LOW_GRADE = {  # per-subject probability of a grade 1-2 event: (TCAC, TCC)
    "Anaemia": (0.55, 0.5), NEUT: (0.35, 0.35), WBC: (0.35, 0.35), PLT: (0.2, 0.12), "Nausea": (0.4, 0.4),
    "Vomiting": (0.2, 0.18), "Decreased appetite": (0.4, 0.3), "Dysgeusia": (0.15, 0.1), "Fatigue": (0.35, 0.3),
    "Alopecia": (0.5, 0.5), "Peripheral sensory neuropathy": (0.3, 0.3), "Diarrhoea": (0.25, 0.1),
    "Hypothyroidism": (0.2, 0.15), "Alanine aminotransferase increased": (0.25, 0.2),
    "Aspartate aminotransferase increased": (0.2, 0.18), "Palmar-plantar erythrodysaesthesia syndrome": (0.2, 0.0),
    HTN: (0.35, 0.0), PROT: (0.3, 0.0), "Rash": (0.1, 0.1), "Pneumonitis": (0.05, 0.05),
    "Pneumonia": (0.07, 0.07), "Constipation": (0.15, 0.15), "Epistaxis": (0.08, 0.05),
}


def create_arm_ae_plan(skeletons: list[dict], arm: str, rng: random.Random) -> dict[str, dict]:
    """Exact per-arm allocation: grade-3 patterns, withdrawal, chemo reduction, RCCEP (scaled by N/30)."""
    n = len(skeletons)
    scale = lambda k: min(n, round(k * n / 30))  # noqa: E731
    plan: dict[str, dict] = {s["subjid"]: {"g3": (), "rccep": False} for s in skeletons}
    long_enough = [s for s in skeletons if s["bor"] != "PD" and s["role"] != "ONTRT" and s["pfs_day"] >= 120]
    patterns = [G3_PATTERNS[arm][k % len(G3_PATTERNS[arm])] for k in range(scale(len(G3_PATTERNS[arm])))]
    heme_patterns = [p for p in patterns if p[0] in HEME]
    n_w = min(scale(WITHDRAWN[arm]), len(heme_patterns))
    withdraw = rng.sample([s for s in long_enough if s["role"] != "SURG"], min(n_w, len(long_enough)))
    rest = [s for s in skeletons if s not in withdraw]
    g3_subjects = withdraw + rng.sample(rest, min(len(rest), len(patterns) - len(withdraw)))
    ordered = heme_patterns[:len(withdraw)] + [p for p in patterns if p not in heme_patterns] \
        + heme_patterns[len(withdraw):]
    for s, pattern in zip(g3_subjects, ordered):
        plan[s["subjid"]]["g3"] = pattern
    for s in withdraw:
        cycle = rng.randint(2, max(2, min(4, (s["pfs_day"] - 45) // 21)))
        plan[s["subjid"]]["withdraw_day"] = 21 * (cycle - 1) + rng.randint(8, 15)
    reducible = [s for s in skeletons if s not in withdraw and s["bor"] != "PD" and s["pfs_day"] >= 90
                 and s["role"] != "ONTRT"]
    rng.shuffle(reducible)
    reducible.sort(key=lambda s: not plan[s["subjid"]]["g3"] or plan[s["subjid"]]["g3"][0] not in HEME)
    for s in reducible[:scale(REDUCED[arm])]:
        cycle = rng.randint(3, 4)
        plan[s["subjid"]]["reduce_cycle"] = cycle
        plan[s["subjid"]]["reduce_day"] = 21 * (cycle - 2) + rng.randint(8, 15)
    for s in rng.sample(skeletons, scale(RCCEP_N[arm])):
        plan[s["subjid"]]["rccep"] = True
    return plan


def create_subject_aes(arm: str, start: date, last_dose_day: int, n_induction: int, cap: date, plan: dict,
                       rng: random.Random) -> tuple[AdverseEventTruth, ...]:
    """AEs within treatment + 90 days and before ``cap`` (death, last contact or surgery).

    Events attributed to chemotherapy only start during induction (+ 3 weeks).
    """
    keys = ("CAM", "ANL", "TAX", "PLT") if arm == "TCAC" else ("CAM", "TAX", "PLT")
    cap_day = (cap - start).days + 1
    window = max(2, min(last_dose_day + 90, cap_day - 1))
    chemo_window = max(2, min(window, 21 * n_induction + 21))
    aes: list[AdverseEventTruth] = []

    def add(pt: str, day: int, grade: int, length: int, action: str = "DOSE NOT CHANGED",
            partial: bool = False) -> None:
        day = min(max(day, 2), window)
        first = start + timedelta(days=day - 1)
        end = first + timedelta(days=length)
        rel = {k: k in RELATED[pt].split() for k in keys}
        aes.append(AdverseEventTruth(pt, first, end if end < cap else None, grade,
                                     pt == "Pneumonia", rel, action, None, partial))

    g3 = plan["g3"]
    g3_day = plan.get("withdraw_day") or plan.get("reduce_day") or rng.randint(8, max(8, min(window, 130)))
    lengths = {pt: list(v) for pt, v in G3_DAYS.items()} if arm == "TCAC" else {}
    for pt in g3:
        action = "DRUG WITHDRAWN" if plan.get("withdraw_day") else (
            "DOSE REDUCED" if plan.get("reduce_day") and pt in HEME else "DOSE NOT CHANGED")
        length = lengths[pt].pop(rng.randrange(len(lengths[pt]))) if lengths.get(pt) else rng.randint(5, 12)
        add(pt, g3_day + rng.randint(0, 1), 3, length, action)
    if plan.get("reduce_day") and not any(pt in HEME for pt in g3):
        add(NEUT, plan["reduce_day"], 2, rng.randint(5, 10), "DOSE REDUCED")
    if plan["rccep"]:
        add(RCCEP, rng.randint(20, 90), rng.choice([1, 1, 2]), rng.randint(30, 120))
    column = 0 if arm == "TCAC" else 1
    for pt, rates in LOW_GRADE.items():
        if pt in g3 or rng.random() >= rates[column]:
            continue
        chemo_only = RELATED[pt] and not set(RELATED[pt].split()) & {"CAM", "ANL"}
        day = rng.randint(5, max(5, chemo_window if chemo_only else window))
        partial = rng.random() < 0.08 and (start + timedelta(days=day - 1)).month != start.month and day > 40
        add(pt, day, 1 if rng.random() < 0.7 else 2, rng.randint(3, 40), partial=partial)
    if not any(any(a.rel.values()) for a in aes):
        add("Anaemia", rng.randint(8, max(8, chemo_window)), 1, rng.randint(7, 30))
    return tuple(sorted(aes, key=lambda a: (a.start, a.pt)))


# --------------------------------------------------------------------------- expected values


def derive_expected(s: SubjectTruth, base_sum: int, cutoff: date) -> dict[str, object]:
    """Analysis values by the contract's rules, from the truth alone (round-trip targets)."""
    start = s.trt_start
    aval = lambda d: (d - start).days + 1  # noqa: E731
    events = [d for d in (s.pd_date, s.death_date) if d is not None and d <= cutoff]
    event = min(events) if events else None
    adequate = [a.date for a in s.assessments if a.response in ("CR", "PR", "SD") and a.date <= cutoff]
    if s.surgery_date and (event is None or s.surgery_date < event):
        pfs, pfs_c = s.surgery_date, 1
    elif event is not None:
        pfs, pfs_c = event, 0
    elif not s.assessments:
        pfs, pfs_c = start, 1
    else:
        pfs, pfs_c = max(adequate) if adequate else start, 1
    if s.death_date and s.death_date <= cutoff and not s.surgery_date:
        os_date, os_c = s.death_date, 0
    elif s.surgery_date:
        os_date, os_c = s.surgery_date, 1
    else:
        known = [s.last_alive] + [a.date for a in s.assessments] + [s.last_dose or start]
        known += [d for ae in s.aes for d in (ae.start, ae.end) if d is not None]
        if s.on_treatment_at_cutoff:
            tail = 13 if s.arm == "TCAC" else 0
            known.append(start + timedelta(days=21 * (s.n_cycles - 1) + tail))
        os_date, os_c = min(max(d for d in known if d is not None), cutoff), 1
    related = [ae for ae in s.aes if any(ae.rel.values())]
    out: dict[str, object] = {
        "BOR": s.bor, "ORRFL": "Y" if s.bor in ("CR", "PR") else "N", "DEPTH": s.best_pchg,
        "PFS_DAYS": aval(pfs), "PFS_CNSR": pfs_c, "OS_DAYS": aval(os_date), "OS_CNSR": os_c,
        "FU_DAYS": aval(os_date), "TRAE_ANY": bool(related),
        "TRAE_G3": any(ae.grade >= 3 for ae in related), "BASE_SUM": base_sum,
    }
    if s.bor in ("CR", "PR") and s.first_response is not None:
        out["DOR_DAYS"] = (pfs - s.first_response).days + 1
        out["DOR_CNSR"] = pfs_c
    return out
