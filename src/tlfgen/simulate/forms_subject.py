"""Simulation stage: per-subject forms other than exposure, tumour and AE.

dm, ic, dx, ecog, mh (baseline); pr, eot, eos, dth, cm, fu (course and
follow-up). Follow-up contacts are telephone calls every 28 days after the end
of treatment, anchored on ``last_alive`` so that the last "Alive" contact is
exactly ``truth.last_alive``; a "Dead" contact on the death date or a "Lost to
follow-up" contact 28 days after the last alive contact closes the series.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from tlfgen.simulate.forms_common import (
    apply_texture,
    create_row,
    format_date,
    format_partial_date,
    format_sentence,
    format_yes_no,
)
from tlfgen.simulate.truth_model import SubjectTruth

Rows = list[dict[str, str]]
CONTACT_DAYS = 28
MH_TERMS = ("Hypertension", "Type 2 diabetes mellitus", "Chronic gastritis", "Hyperlipidaemia",
            "Coronary artery disease", "Chronic obstructive pulmonary disease", "Chronic hepatitis B",
            "Gastro-oesophageal reflux disease")


def create_dm_rows(subject: SubjectTruth, rng: random.Random) -> Rows:
    sex = "Male" if subject.sex.upper() == "M" else "Female"
    return [create_row(
        subject.subjid, "SCRN", 0, BRTHDAT=format_date(subject.birth_date), SEX=apply_texture(sex, rng),
        RACE=apply_texture("Asian", rng), ETHNIC="Not Hispanic or Latino",
        SMOKING=apply_texture(format_sentence(subject.smoking), rng),
        ALCOHOL=apply_texture(format_sentence(subject.alcohol), rng))]


def create_ic_rows(subject: SubjectTruth) -> Rows:
    return [create_row(subject.subjid, "SCRN", 0, ICDAT=format_date(subject.consent_date),
                       ENRLDAT=format_date(subject.enrol_date), ARMSEL=subject.arm, ELIGYN="Yes")]


def format_cps(value: float | None) -> str:
    if value is None:
        return "NE"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def create_dx_rows(subject: SubjectTruth, rng: random.Random) -> Rows:
    diagnosis = subject.consent_date - timedelta(days=rng.randint(7, 45))
    t_stage, n_stage, m_stage = subject.tnm
    return [create_row(
        subject.subjid, "SCRN", 0, DXDAT=format_date(diagnosis),
        HISTOL=apply_texture("Squamous cell carcinoma", rng),
        TUMLOC=apply_texture(format_sentence(subject.tumour_site), rng), STAGE=subject.stage,
        TSTAGE=t_stage, NSTAGE=n_stage, MSTAGE=m_stage, PDL1CPS=format_cps(subject.pdl1_cps),
        DYSPHSC=str(subject.dysphagia))]


def create_ecog_rows(subject: SubjectTruth, cycle_starts: list[date], rng: random.Random) -> Rows:
    """Baseline ECOG at screening, then at day 1 of each induction cycle (C1D1 = baseline value)."""
    screening = min(subject.enrol_date, subject.trt_start - timedelta(days=1))
    rows = [create_row(subject.subjid, "SCRN", 0, ECOGDAT=format_date(screening), ECOG=str(subject.ecog))]
    for index, day in enumerate(cycle_starts[: subject.n_induction]):
        value = subject.ecog
        if index > 0 and rng.random() < 0.1:
            value = min(value + 1, 2)
        rows.append(create_row(subject.subjid, f"C{index + 1}D1", 0, ECOGDAT=format_date(day),
                               ECOG=str(value)))
    return rows


def create_mh_rows(subject: SubjectTruth, rng: random.Random) -> Rows:
    rows = []
    for recpos, term in enumerate(rng.sample(MH_TERMS, rng.randint(1, 3)), start=1):
        onset = subject.consent_date - timedelta(days=rng.randint(200, 5000))
        kind = rng.random()
        if kind < 0.5:
            printed = format_date(onset)
        elif kind < 0.8:
            printed = format_partial_date(onset)
        else:
            printed = format_partial_date(onset, month_known=False)
        rows.append(create_row(subject.subjid, "LOG", recpos, MHTERM=apply_texture(term, rng),
                               MHSTDAT=printed, MHONGO="Yes" if rng.random() < 0.8 else "No"))
    return rows


def create_pr_rows(subject: SubjectTruth, rng: random.Random) -> Rows:
    if subject.surgery_date is None:
        return []
    procedure = rng.choice(("Radical oesophagectomy", "Minimally invasive oesophagectomy"))
    return [create_row(subject.subjid, "LOG", 1, PRDAT=format_date(subject.surgery_date), PRTRT=procedure,
                       PRR0=format_yes_no(subject.surgery_r0), PRPCR=format_yes_no(subject.pcr))]


def create_eot_rows(subject: SubjectTruth) -> Rows:
    if subject.eot_date is None:
        return []
    return [create_row(subject.subjid, "EOT", 0, EOTDAT=format_date(subject.eot_date),
                       EOTREAS=format_sentence(subject.eot_reason or ""))]


def create_eos_rows(subject: SubjectTruth) -> Rows:
    if subject.eos_date is None:
        return []
    return [create_row(subject.subjid, "LOG", 0, EOSDAT=format_date(subject.eos_date),
                       EOSREAS=format_sentence(subject.eos_reason or ""))]


def create_dth_rows(subject: SubjectTruth) -> Rows:
    if subject.death_date is None:
        return []
    return [create_row(subject.subjid, "LOG", 0, DTHDAT=format_date(subject.death_date),
                       DTHCAUSE=format_sentence(subject.death_cause or "Unknown"))]


def create_cm_rows(subject: SubjectTruth, cutoff: date, rng: random.Random) -> Rows:
    """Subsequent anti-cancer therapy; an end date only when it falls on or before the last known date."""
    bound = subject.death_date or subject.last_alive or cutoff
    rows = []
    for line, (treatment, start) in enumerate(sorted(subject.subsequent_therapy, key=lambda t: t[1]), start=1):
        end = start + timedelta(days=rng.randint(42, 126))
        rows.append(create_row(subject.subjid, "LOG", line, CMTRT=treatment, CMSTDAT=format_date(start),
                               CMENDAT=format_date(end) if end <= bound else "", CMLINE=str(line + 1)))
    return rows


def compute_contact_dates(subject: SubjectTruth, cutoff: date) -> list[tuple[date, str]]:
    """(date, status) of the survival follow-up contacts after the end of treatment."""
    if subject.on_treatment_at_cutoff:  # survival sweep before the cutoff: one contact on last_alive
        return [(subject.last_alive, "Alive")] if subject.last_alive is not None else []
    after = subject.eot_date or subject.last_dose
    if after is None:
        return []
    limit = min(d for d in (subject.death_date, cutoff) if d is not None)
    contacts: list[tuple[date, str]] = []
    if subject.last_alive is not None and subject.last_alive > after:
        day = subject.last_alive
        alive = []
        while day > after and day <= limit and (not alive or day >= after + timedelta(days=14)):
            alive.append(day)
            day -= timedelta(days=CONTACT_DAYS)
        contacts = [(d, "Alive") for d in sorted(alive)]
    elif subject.last_alive is None:
        day = after + timedelta(days=CONTACT_DAYS)
        while day < limit:
            contacts.append((day, "Alive"))
            day += timedelta(days=CONTACT_DAYS)
    if subject.death_date is not None and subject.death_date <= cutoff:
        contacts.append((subject.death_date, "Dead"))
    elif subject.lost_to_follow_up:
        last = contacts[-1][0] if contacts else after
        contacts.append((min(last + timedelta(days=CONTACT_DAYS), cutoff), "Lost to follow-up"))
    return contacts


def create_fu_rows(subject: SubjectTruth, cutoff: date) -> Rows:
    return [create_row(subject.subjid, f"FU{i:02d}", 0, FUDAT=format_date(day), FUSTAT=status)
            for i, (day, status) in enumerate(compute_contact_dates(subject, cutoff), start=1)]
