"""Simulation stage: the per-subject truth that the raw-form writer turns into EDC exports.

This module is the contract between the truth generator (``truth.py``, which
calibrates subjects so that the pipeline reproduces the paper) and the form
writer (``forms.py``, which writes one CSV per CRF form consistent with the
truth). It holds plain frozen dataclasses and nothing else.

Dates are ``datetime.date``. Study day 1 is ``trt_start`` (cycle 1 day 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class AssessmentTruth:
    """One tumour assessment (RECIST 1.1, investigator) after baseline.

    ``target_pchg`` is the percent change of the sum of target-lesion diameters
    from baseline (``-100.0`` for a complete disappearance). ``new_lesion`` and
    ``nontarget`` ("PRESENT", "ABSENT" or "UNEQUIVOCAL PROGRESSION") complete
    the picture; ``response`` is the investigator's overall response, which
    must be what RECIST 1.1 gives from the other three.
    """

    date: date
    response: str  # CR, PR, SD, PD, NE
    target_pchg: float
    new_lesion: bool = False
    nontarget: str = "PRESENT"


@dataclass(frozen=True)
class AdverseEventTruth:
    """One adverse event. ``rel`` maps drug key -> related (True/False).

    Drug keys: ``CAM`` camrelizumab, ``ANL`` anlotinib (TCAC only), ``TAX``
    paclitaxel or nab-paclitaxel, ``PLT`` cisplatin or carboplatin.
    ``action``: "DOSE NOT CHANGED", "DOSE REDUCED", "DRUG INTERRUPTED",
    "DRUG WITHDRAWN", "NOT APPLICABLE".
    """

    pt: str  # preferred term, as in specs/dictionaries/ae_dictionary.csv
    start: date
    end: date | None  # None: ongoing
    grade: int  # CTCAE v5.0, 1-5
    serious: bool
    rel: dict[str, bool]
    action: str = "DOSE NOT CHANGED"
    verbatim: str | None = None  # None: the form writer picks a verbatim for the PT
    partial_start: bool = False  # the EDC shows only month and year of the start


@dataclass(frozen=True)
class DoseChangeTruth:
    """A dose reduction of a chemotherapy drug at a cycle, with its reason."""

    cycle: int
    drug: str  # TAX or PLT
    reason: str  # e.g. "ADVERSE EVENT"


@dataclass(frozen=True)
class SubjectTruth:
    """Everything that is true about one subject; raw forms must agree with it."""

    subjid: str  # e.g. "01001"
    arm: str  # "TCAC" or "TCC"
    # demographics and baseline
    sex: str  # "M" or "F"
    birth_date: date
    consent_date: date
    enrol_date: date
    trt_start: date  # first dose, cycle 1 day 1
    ecog: int  # 0 or 1 at baseline
    stage: str  # "III" or "IV"
    tnm: tuple[str, str, str]  # e.g. ("T3", "N1", "M0")
    tumour_site: str  # "CERVICAL", "UPPER THORACIC", "MIDDLE THORACIC", "LOWER THORACIC"
    pdl1_cps: float | None  # None: not evaluable
    dysphagia: int  # 0-4
    smoking: str  # "NEVER", "FORMER", "CURRENT"
    alcohol: str  # "NEVER", "FORMER", "CURRENT"
    taxane: str  # "PACLITAXEL" or "NAB-PACLITAXEL"
    platinum: str  # "CISPLATIN" or "CARBOPLATIN"
    # treatment
    n_cycles: int  # cycles given (induction 4-6, then maintenance cycles)
    n_induction: int  # 4 or 6
    last_dose: date | None  # None while on treatment at cutoff
    on_treatment_at_cutoff: bool
    dose_changes: tuple[DoseChangeTruth, ...] = ()
    # tumour response
    baseline_scan: date | None = None  # within 28 days before trt_start
    assessments: tuple[AssessmentTruth, ...] = ()
    bor: str = "NE"  # confirmed best overall response under the spec's rules
    first_response: date | None = None  # first CR/PR date of a confirmed response
    best_pchg: float | None = None  # min target_pchg over post-baseline assessments
    # events
    pd_date: date | None = None  # first PD assessment date
    death_date: date | None = None
    death_cause: str | None = None  # "DISEASE PROGRESSION", "ADVERSE EVENT", "OTHER"
    surgery_date: date | None = None
    surgery_r0: bool | None = None
    pcr: bool | None = None
    last_alive: date | None = None  # last date known alive (follow-up contact)
    lost_to_follow_up: bool = False
    eot_date: date | None = None
    eot_reason: str | None = None  # "PROGRESSIVE DISEASE", "ADVERSE EVENT", "SURGERY", "DEATH", "PATIENT DECISION", "LOST TO FOLLOW-UP", "COMPLETED"
    eos_date: date | None = None
    eos_reason: str | None = None  # "DEATH", "LOST TO FOLLOW-UP", "WITHDRAWAL BY SUBJECT"; None: in follow-up at cutoff
    subsequent_therapy: tuple[tuple[str, date], ...] = ()  # (treatment, start date)
    aes: tuple[AdverseEventTruth, ...] = ()
    # the analysis values the pipeline must reproduce (round-trip test)
    expected: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyTruth:
    """The whole synthetic study."""

    studyid: str
    cutoff: date
    subjects: tuple[SubjectTruth, ...]
    seed: int
