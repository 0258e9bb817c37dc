"""Simulation stage: the exposure form (ex.csv) and the cycle calendar it shares with ecog.csv.

One row per drug per cycle. Cycles are 21 days apart from ``trt_start`` (``n_cycles`` of them, none after
the cutoff, for subjects on treatment at the cutoff); when
``last_dose`` calls for it the gaps are stretched (or shrunk) evenly so that the
last EX date is exactly ``last_dose``. Camrelizumab every cycle; taxane and
platinum in the ``n_induction`` induction cycles; anlotinib days 1-14 of every
cycle (TCAC only). A ``DoseChangeTruth`` lowers the drug one dose level from its
cycle on; the row of that cycle carries EXADJ "Yes" and the reason.
"""

from __future__ import annotations

from datetime import date, timedelta

from tlfgen.errors import DataError
from tlfgen.simulate.forms_common import create_row, format_date, format_sentence
from tlfgen.simulate.truth_model import SubjectTruth

CYCLE_DAYS = 21
ANLOTINIB_DAYS = 14

#: drug name -> (truth drug key, unit, route, dose levels: start level first, then one level lower ...)
DOSE_LEVELS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "Camrelizumab": ("CAM", "mg", "Intravenous", ("200",)),
    "Paclitaxel": ("TAX", "mg/m2", "Intravenous", ("175", "150", "135")),
    "Nab-paclitaxel": ("TAX", "mg/m2", "Intravenous", ("260", "240", "220")),
    "Cisplatin": ("PLT", "mg/m2", "Intravenous", ("75", "60", "50")),
    "Carboplatin": ("PLT", "AUC", "Intravenous", ("5", "4", "3")),
    "Anlotinib": ("ANL", "mg", "Oral", ("8", "6", "6")),
}


def compute_cycle_starts(subject: SubjectTruth, cutoff: date) -> list[date]:
    """Day 1 of every cycle given to the subject."""
    start = subject.trt_start
    if subject.last_dose is None:  # on treatment at the cutoff: n_cycles cycles, none after the cutoff
        count = subject.n_cycles if subject.n_cycles > 0 else 10**6
        starts = []
        day = start
        while day <= cutoff and len(starts) < count:
            starts.append(day)
            day += timedelta(days=CYCLE_DAYS)
        return starts
    n = subject.n_cycles
    if n <= 0:
        return []
    last_start = _compute_last_cycle_start(subject)
    if n == 1:
        return [start]
    span = (last_start - start).days
    return [start + timedelta(days=round(i * span / (n - 1))) for i in range(n)]


def _compute_last_cycle_start(subject: SubjectTruth) -> date:
    assert subject.last_dose is not None
    nominal = subject.trt_start + timedelta(days=CYCLE_DAYS * (subject.n_cycles - 1))
    if subject.arm == "TCAC":
        if subject.last_dose - timedelta(days=ANLOTINIB_DAYS - 1) >= nominal:
            last = subject.last_dose - timedelta(days=ANLOTINIB_DAYS - 1)
        else:
            last = min(nominal, subject.last_dose)
    else:
        last = subject.last_dose
    if subject.n_cycles == 1 and last != subject.trt_start and subject.arm == "TCC":
        raise DataError(f"subject {subject.subjid}: one cycle but last_dose {subject.last_dose} "
                        f"is not trt_start {subject.trt_start}",
                        hint="fix the truth: last_dose must be the last EX date")
    if last < subject.trt_start:
        raise DataError(f"subject {subject.subjid}: last_dose {subject.last_dose} before trt_start",
                        hint="fix the truth")
    return last


def _drugs_for_subject(subject: SubjectTruth) -> list[str]:
    taxane = "Nab-paclitaxel" if subject.taxane.upper() == "NAB-PACLITAXEL" else "Paclitaxel"
    platinum = "Carboplatin" if subject.platinum.upper() == "CARBOPLATIN" else "Cisplatin"
    drugs = ["Camrelizumab", taxane, platinum]
    if subject.arm == "TCAC":
        drugs.append("Anlotinib")
    return drugs


def create_ex_rows(subject: SubjectTruth, cutoff: date) -> list[dict[str, str]]:
    """The EX rows of one subject (one per drug per cycle)."""
    starts = compute_cycle_starts(subject, cutoff)
    drugs = _drugs_for_subject(subject)
    level = {drug: 0 for drug in drugs}
    changes = {(c.cycle, c.drug.upper()): c.reason for c in subject.dose_changes}
    rows: list[dict[str, str]] = []
    for index, day in enumerate(starts):
        cycle = index + 1
        recpos = 0
        for drug in drugs:
            key, unit, route, doses = DOSE_LEVELS[drug]
            induction_only = key in ("TAX", "PLT")
            if induction_only and cycle > subject.n_induction:
                continue
            reason = changes.get((cycle, key))
            if reason is not None:
                level[drug] = min(level[drug] + 1, len(doses) - 1)
            end = day
            if drug == "Anlotinib":
                end = _anlotinib_end(subject, starts, index, cutoff)
            recpos += 1
            rows.append(create_row(
                subject.subjid, f"C{cycle}D1", recpos,
                EXCYCLE=str(cycle), EXTRT=drug, EXSTDAT=format_date(day), EXENDAT=format_date(end),
                EXDOSE=doses[level[drug]], EXDOSU=unit, EXROUTE=route,
                EXADJ="Yes" if reason is not None else "No",
                EXADJRS=format_sentence(reason) if reason is not None else "",
            ))
    return rows


def _anlotinib_end(subject: SubjectTruth, starts: list[date], index: int, cutoff: date) -> date:
    day = starts[index]
    end = day + timedelta(days=ANLOTINIB_DAYS - 1)
    if index + 1 < len(starts):
        end = min(end, starts[index + 1] - timedelta(days=1))
    else:
        end = min(end, subject.last_dose if subject.last_dose is not None else cutoff)
    return max(end, day)
