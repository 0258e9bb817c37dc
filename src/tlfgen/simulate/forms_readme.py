"""Simulation stage: the text of raw/README.md, generated with the export so it always matches it.

Fixed text (files, EDC conventions, how the export was made) plus figures read
from the truth (synthetic choices: SD/PD/DCR counts and baseline
characteristics, which the paper does not report) and the list of deliberate
data problems.
"""

from __future__ import annotations

from collections import Counter
from statistics import median
from typing import TYPE_CHECKING

from tlfgen.simulate.forms_problems import describe_problems
from tlfgen.simulate.truth_model import StudyTruth, SubjectTruth

if TYPE_CHECKING:
    from tlfgen.simulate.forms import RawExport

FORM_TITLES = {
    "dm": ("Demographics (SCRN)", "BRTHDAT, SEX (Male/Female), RACE, ETHNIC, SMOKING, ALCOHOL (Never/Former/Current)"),
    "ic": ("Informed consent and enrolment (SCRN)", "ICDAT, ENRLDAT, ARMSEL (TCAC/TCC), ELIGYN (Yes/No)"),
    "dx": ("Baseline disease (SCRN)", "DXDAT, HISTOL, TUMLOC, STAGE (III/IV), TSTAGE, NSTAGE, MSTAGE, PDL1CPS (number or NE), DYSPHSC (0-4)"),
    "ecog": ("ECOG (SCRN, C<n>D1 of induction)", "ECOGDAT, ECOG (0-4)"),
    "mh": ("Medical history (LOG)", "MHTERM, MHSTDAT, MHONGO (Yes/No)"),
    "ex": ("Exposure (C<n>D1, one row per drug)", "EXCYCLE, EXTRT, EXSTDAT, EXENDAT, EXDOSE, EXDOSU (mg, mg/m2, AUC), EXROUTE, EXADJ (Yes/No), EXADJRS"),
    "tl": ("Target lesions (SCRN, TA<nn>)", "TLDAT, TLID (T01..), TLLOC, TLNODAL (Yes/No), TLMETH (CT/MRI), TLDIAM (mm; short axis for nodes)"),
    "ntl": ("Non-target lesions (SCRN, TA<nn>)", "NTLDAT, NTLID (NT01..), NTLLOC, NTLSTAT (Present/Absent/Unequivocal progression)"),
    "nl": ("New lesions (TA<nn>)", "NLDAT, NLID (NEW01..), NLLOC"),
    "rs": ("Overall response, investigator (TA<nn>)", "RSDAT, TRGRESP, NTRGRESP, NEWLES (Yes/No), OVRLRESP (CR/PR/SD/PD/NE)"),
    "ae": ("Adverse events (LOG)", "AETERM (verbatim), AEPT, AESOC (coded), AESTDAT, AEENDAT, AEONGO, AETOXGR (1-5), AESER, AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG, AESMIE (serious events only), AERELCAM, AERELANL, AERELTAX, AERELPLT, AEACN, AEOUT"),
    "pr": ("Conversion surgery (LOG)", "PRDAT, PRTRT, PRR0 (Yes/No), PRPCR (Yes/No)"),
    "eot": ("End of treatment (EOT)", "EOTDAT, EOTREAS"),
    "eos": ("End of study (LOG)", "EOSDAT, EOSREAS"),
    "dth": ("Death (LOG)", "DTHDAT, DTHCAUSE"),
    "cm": ("Subsequent anti-cancer therapy (LOG)", "CMTRT, CMSTDAT, CMENDAT, CMLINE"),
    "fu": ("Survival follow-up contacts (FU<nn>)", "FUDAT, FUSTAT (Alive/Dead/Lost to follow-up)"),
}

CONVENTIONS = """\
## EDC conventions

- Every file starts with STUDYID ("NCT04471480"), SITEID ("01"), SUBJID ("01001" ...; USUBJID is
  STUDYID-SUBJID), FOLDER and RECPOS. All values are text; UTF-8, comma separated, "\\n" line ends,
  rows sorted by SUBJID, FOLDER order (SCRN, C1D1 ..., TA01 ..., EOT, FU01 ..., LOG) and RECPOS.
- FOLDER: SCRN screening, C<n>D1 day 1 of cycle n, TA<nn> tumour assessment nn, EOT end of treatment,
  FU<nn> survival follow-up contact nn, LOG log forms (ae, mh, cm) and the one-off forms pr, eos, dth.
- RECPOS: 0 on non-repeating forms (dm, ic, dx, ecog, eot, eos, dth, fu, rs); 1..n on log lines and
  repeating rows (ae, mh, cm, pr, one row per drug in ex, per lesion in tl/ntl/nl).
- Dates as the EDC prints them: `03 AUG 2020`; partial dates `UN MAR 2021` (day unknown) and
  `UN UNK 2015` (day and month unknown) in AESTDAT and MHSTDAT. A blank AEENDAT with AEONGO "Yes" is an
  ongoing event.
- Texture: SEX, RACE, SMOKING, ALCOHOL, HISTOL, TUMLOC, MHTERM, TLLOC and AETERM are typed text and
  sometimes come in another case or with a stray space (" male", "FEMALE", "Middle thoracic ").
- TLDIAM is in mm (short axis for nodal lesions, TLNODAL "Yes"), whole mm at baseline and to 0.1 mm
  after baseline; "NE" marks a lesion that could not be evaluated.
- Doses (paper, eTable 1): camrelizumab 200 mg IV day 1 every cycle; paclitaxel 175 mg/m2 (one level
  lower 150, then 135) or nab-paclitaxel 260 mg/m2 (240, 220), cisplatin 75 mg/m2 (60, 50) or
  carboplatin AUC 5 (4, 3), IV day 1 of the 4 or 6 induction cycles; anlotinib 8 mg orally days 1-14
  of every cycle (TCAC only). Cycles every 21 days. A dose reduction shows as EXADJ "Yes" with its
  reason on the cycle where the lower level starts; later cycles stay at the lower level.
- Tumour assessments: target lesions (1-5; the oesophageal primary first, nodes at least 15 mm short
  axis at baseline) and 0-3 non-target lesions at baseline. Subjects with a complete response have no
  nodal target lesions, so a CR has every target lesion at 0 mm (percent change -100).
- Survival follow-up: telephone contacts every 28 days after the end of treatment, until death, loss to
  follow-up or the data cutoff; subjects still on treatment at the cutoff have one contact (survival
  sweep) on their last known alive date.
"""


def _age(subject: SubjectTruth) -> int:
    born, on = subject.birth_date, subject.consent_date
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _pdl1_group(value: float | None) -> str:
    if value is None:
        return "Not evaluable"
    return "<1" if value < 1 else ("1-9" if value < 10 else ">=10")


def _count_line(label: str, by_arm: dict[str, list[SubjectTruth]], key) -> list[str]:
    lines = []
    values = sorted({str(key(s)) for group in by_arm.values() for s in group})
    for value in values:
        cells = [str(sum(1 for s in group if str(key(s)) == value)) for group in by_arm.values()]
        lines.append(f"| {label}: {value} | " + " | ".join(cells) + " |")
    return lines


def render_synthetic_choices(truth: StudyTruth) -> str:
    arms = sorted({s.arm for s in truth.subjects}, key=lambda a: (a != "TCAC", a))
    by_arm = {arm: [s for s in truth.subjects if s.arm == arm] for arm in arms}
    lines = ["| characteristic | " + " | ".join(f"{a} (n={len(by_arm[a])})" for a in arms) + " |",
             "| --- |" + " --- |" * len(arms)]
    ages = {a: [_age(s) for s in g] for a, g in by_arm.items()}
    lines.append("| Age at consent, median (min-max) | " + " | ".join(
        f"{median(v):g} ({min(v)}-{max(v)})" if v else "-" for v in ages.values()) + " |")
    lines += _count_line("Best overall response", by_arm, lambda s: s.bor)
    bor = {a: Counter(s.bor for s in g) for a, g in by_arm.items()}
    lines.append("| Disease control (CR+PR+SD) | " + " | ".join(
        str(bor[a]["CR"] + bor[a]["PR"] + bor[a]["SD"]) for a in arms) + " |")
    lines += _count_line("Sex", by_arm, lambda s: s.sex)
    lines += _count_line("ECOG", by_arm, lambda s: s.ecog)
    lines += _count_line("Stage", by_arm, lambda s: s.stage)
    lines += _count_line("Tumour site", by_arm, lambda s: s.tumour_site)
    lines += _count_line("Dysphagia score", by_arm, lambda s: s.dysphagia)
    lines += _count_line("PD-L1 CPS", by_arm, lambda s: _pdl1_group(s.pdl1_cps))
    lines += _count_line("Smoking", by_arm, lambda s: s.smoking)
    lines += _count_line("Alcohol", by_arm, lambda s: s.alcohol)
    lines += _count_line("Taxane", by_arm, lambda s: s.taxane)
    lines += _count_line("Platinum", by_arm, lambda s: s.platinum)
    return "\n".join(lines) + "\n"


def render_readme(truth: StudyTruth, export: RawExport, *, subjects_per_arm: int, seed: int) -> str:
    files = ["| file | form | fields after the leading columns | rows |", "| --- | --- | --- | --- |"]
    for name, (title, fields) in FORM_TITLES.items():
        files.append(f"| {name}.csv | {title} | {fields} | {len(export.forms[name])} |")
    embedded = subjects_per_arm == 30 and seed == 20200803
    intro = ("Synthetic raw EDC export of trial NCT04471480 (anlotinib + camrelizumab + chemotherapy (TCAC) "
             "versus camrelizumab + chemotherapy (TCC) in advanced oesophageal squamous cell carcinoma). "
             "No real patient data: every record comes from a calibrated per-subject truth "
             "(`tlfgen.simulate.truth`) built so that the pipeline raw -> SDTM -> ADaM -> tables reproduces "
             "the paper's figures.")
    parts = [
        "# Raw EDC exports (synthetic)\n", intro + "\n",
        "## How it was generated\n",
        f"`tlfgen simulate --subjects-per-arm {subjects_per_arm} --seed {seed} --out raw/`"
        + (" (the embedded study; the data problems below are injected)" if embedded else "")
        + f". Data cutoff {truth.cutoff.isoformat()}. The same command gives byte-identical files; "
        "this README is written by the same command (do not edit it by hand).\n",
        "## Files\n", "\n".join(files) + "\n", CONVENTIONS,
        "## Synthetic choices (not reported by the paper)\n",
        "Stable and progressive disease counts (hence disease control) and the baseline "
        "characteristics are the simulation's choice; the paper reports CR/PR, PFS, OS, DOR and safety.\n",
        render_synthetic_choices(truth),
        "## Deliberate data problems\n",
        "Injected on purpose so that the raw/SDTM findings report has something to catch. Each sits on a "
        "record whose correction (or, for the duplicate, removal) leaves every figure the paper reports "
        "unchanged.\n",
        describe_problems(list(export.problems)),
    ]
    return "\n".join(parts)

