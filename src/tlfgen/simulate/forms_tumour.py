"""Simulation stage: tumour assessment forms (tl.csv, ntl.csv, nl.csv, rs.csv) from the truth.

Diameters are held in tenths of a millimetre. Baseline diameters are whole
millimetres summing to ``expected["BASE_SUM"]`` (or a chosen sum); at each
assessment the lesions shrink or grow in proportion so that the sum gives the
truth's ``target_pchg`` to within 0.05 mm of the exact sum (at most 0.1 % off
for baseline sums of 50 mm or more), nudged by 0.1 mm where rounding would change the
RECIST 1.1 target response or cross the -30 % / -50 % lines.

Complete response: subjects whose truth has a target sum of 0 (``target_pchg``
-100) get no nodal target lesions, so every target lesion is 0 mm and the
percent change is exactly -100. Other subjects always have the oesophageal
primary (non-nodal, never 0 mm) as T01, so RECIST never reads a CR there.
A not-evaluable assessment (truth response NE) prints "NE" as the last
lesion's diameter.

The writer checks that RECIST 1.1 from its own diameters, non-target status and
new lesions gives the truth's response; otherwise it raises ``DataError``.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from tlfgen.errors import DataError
from tlfgen.simulate.forms_common import apply_texture, create_row, format_date, format_mm
from tlfgen.simulate.truth_model import AssessmentTruth, SubjectTruth

NODE_SITES = ("Mediastinal lymph node", "Paraoesophageal lymph node", "Left gastric lymph node",
              "Supraclavicular lymph node", "Subcarinal lymph node")
DISTANT_SITES = ("Liver", "Right lung", "Left lung", "Liver")
NONTARGET_SITES = ("Mediastinal lymph node", "Pleural effusion", "Bone", "Liver",
                   "Abdominal lymph node", "Lung")
NEW_SITES = ("Liver", "Bone", "Lung", "Cervical lymph node", "Adrenal gland", "Brain")
NT_STATUS = {"PRESENT": "Present", "ABSENT": "Absent", "UNEQUIVOCAL PROGRESSION": "Unequivocal progression"}
_MIN_TENTHS = {"primary": 150, "node": 150, "distant": 100}


def compute_target_response(sums: list[int | None], base: int, index: int,
                            lesion_cr: bool) -> str:
    """RECIST 1.1 target response of assessment ``index`` from sums (tenths of mm; None = NE)."""
    current = sums[index]
    if current is None:
        return "NE"
    if lesion_cr:
        return "CR"
    nadir = min([base] + [s for s in sums[:index] if s is not None])
    if current - nadir >= 0.2 * nadir and current - nadir >= 50:
        return "PD"
    if (current - base) * 100 <= -30 * base:
        return "PR"
    return "SD"


def compute_overall_response(target: str, nontarget: str, new_lesion: bool) -> str:
    """RECIST 1.1 overall response (Table 1) from target, non-target and new lesions."""
    if new_lesion or target == "PD" or nontarget == "PD":
        return "PD"
    if target == "CR":
        return "CR" if nontarget in ("CR", "NA") else "PR"
    return target


def compute_nontarget_response(n_nontarget: int, status: str) -> str:
    if n_nontarget == 0:
        return "NA"
    return {"PRESENT": "NON-CR/NON-PD", "ABSENT": "CR", "UNEQUIVOCAL PROGRESSION": "PD"}[status]


def _sign(value: float) -> int:
    return (value > 1e-9) - (value < -1e-9)


def _pchg_class(total: float, base: int) -> tuple[int, int]:
    pchg = (total - base) * 100 / base
    return _sign(pchg + 30), _sign(pchg + 50)


def _is_target_cr(assessment: AssessmentTruth) -> bool:
    return assessment.response != "NE" and math.isclose(assessment.target_pchg, -100.0)


def _choose_nontarget_count(subject: SubjectTruth, rng: random.Random) -> int:
    needs = any(a.nontarget != "PRESENT" for a in subject.assessments) or any(
        _is_target_cr(a) and a.response == "PR" for a in subject.assessments)
    forbids = any(_is_target_cr(a) and a.response == "CR" and a.nontarget == "PRESENT"
                  for a in subject.assessments)
    if needs and forbids:
        raise DataError(f"subject {subject.subjid}: the assessments need non-target lesions "
                        "(non-target ABSENT/UNEQUIVOCAL PROGRESSION or PR with all targets gone) and "
                        "also no non-target lesions (CR with non-target PRESENT)",
                        hint="fix the truth: a CR needs non-target ABSENT or no non-target lesions")
    if needs:
        return rng.randint(1, 3)
    if forbids:
        return 0
    return rng.randint(0, 3)


def _create_baseline_lesions(subject: SubjectTruth, base: int, rng: random.Random,
                             allow_nodes: bool) -> list[tuple[str, str, int]]:
    """(location, kind, tenths) per target lesion: whole mm summing to ``base``."""
    kinds = ["primary"]
    wanted = rng.randint(1, 5)
    metastatic = subject.tnm[2].upper().startswith("M1") or subject.stage.upper() == "IV"
    for _ in range(wanted - 1):
        if allow_nodes and (not metastatic or rng.random() < 0.6):
            kinds.append("node")
        elif metastatic:
            kinds.append("distant")
        else:
            break
    while sum(_MIN_TENTHS[k] for k in kinds) > base and len(kinds) > 1:
        kinds.pop()
    if _MIN_TENTHS[kinds[0]] > base:
        return [(_location(subject), "primary", base)]
    extra_mm = (base - sum(_MIN_TENTHS[k] for k in kinds)) // 10
    weights = [rng.random() + (1.5 if k == "primary" else 0.3) for k in kinds]
    shares = [int(extra_mm * w / sum(weights)) for w in weights]
    shares[0] += extra_mm - sum(shares)
    values = [_MIN_TENTHS[k] + 10 * s for k, s in zip(kinds, shares)]
    values[0] += base - sum(values)  # fractional BASE_SUM lands on the primary
    nodes, distant = list(NODE_SITES), list(DISTANT_SITES)
    rng.shuffle(nodes)
    rng.shuffle(distant)
    lesions = []
    for kind, value in zip(kinds, values):
        if kind == "primary":
            lesions.append((_location(subject), kind, value))
        elif kind == "node":
            lesions.append((nodes.pop(), kind, value))
        else:
            lesions.append((distant.pop(), kind, value))
    return lesions


def _location(subject: SubjectTruth) -> str:
    site = subject.tumour_site.strip().lower()
    return f"Oesophagus, {site}" if site else "Oesophagus"


def _split_sum(total: int, baseline: list[int]) -> list[int]:
    """Split a sum (tenths) over lesions in proportion to baseline; T01 (the primary) keeps > 0.

    Whole millimetres when the sum and the baseline diameters are whole millimetres.
    """
    if total % 10 == 0 and all(b % 10 == 0 for b in baseline):
        return [10 * v for v in _split_units(total // 10, [b // 10 for b in baseline])]
    return _split_units(total, baseline)


def _split_units(total: int, baseline: list[int]) -> list[int]:
    base = sum(baseline)
    values = [total * b // base for b in baseline]
    values[0] += total - sum(values)
    if total > 0 and values[0] == 0:
        donor = max(range(len(values)), key=lambda i: values[i])
        values[donor] -= 1
        values[0] += 1
    return values


def _choose_sums(subject: SubjectTruth, base: int) -> list[int | None]:
    """Written sums (tenths) per assessment, keeping the truth's RECIST target responses."""
    exact: list[float | None] = []
    for a in subject.assessments:
        exact.append(None if a.response == "NE" else base * (1 + a.target_pchg / 100))
    written: list[int | None] = []
    for k, value in enumerate(exact):
        if value is None:
            written.append(None)
            continue
        wanted_cr = math.isclose(value, 0.0, abs_tol=1e-6)
        truth_sums = exact[:k] + [value]
        intended = compute_target_response(truth_sums, base, k, wanted_cr)  # type: ignore[arg-type]
        intended_class = _pchg_class(value, base)
        centre = round(value)
        for step in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5):
            candidate = max(centre + step, 0)
            if wanted_cr != (candidate == 0):
                continue
            trial = written + [candidate]
            if (compute_target_response(trial, base, k, wanted_cr) == intended
                    and _pchg_class(candidate, base) == intended_class):
                written.append(candidate)
                break
        else:
            raise DataError(f"subject {subject.subjid}: cannot write diameters for the assessment of "
                            f"{subject.assessments[k].date} that keep its RECIST target response",
                            hint="check target_pchg in the truth")
    return written


def create_tumour_rows(subject: SubjectTruth, rng: random.Random) -> dict[str, list[dict[str, str]]]:
    """Rows of tl, ntl, nl and rs for one subject."""
    out: dict[str, list[dict[str, str]]] = {"tl": [], "ntl": [], "nl": [], "rs": []}
    base_value = subject.expected.get("BASE_SUM")
    base = int(round(float(base_value) * 10)) if base_value is not None else 10 * rng.randint(45, 150)
    allow_nodes = not any(_is_target_cr(a) for a in subject.assessments)
    lesions = _create_baseline_lesions(subject, base, rng, allow_nodes)
    base = sum(v for _, _, v in lesions)
    n_nt = _choose_nontarget_count(subject, rng)
    nt_sites = rng.sample(NONTARGET_SITES, n_nt)
    scan = subject.baseline_scan or subject.trt_start - timedelta(days=10)
    method = "CT" if rng.random() < 0.9 else "MRI"
    _add_lesion_rows(out, subject, "SCRN", scan, lesions, [v for _, _, v in lesions], method, rng)
    _add_nontarget_rows(out, subject, "SCRN", scan, nt_sites, "PRESENT")
    sums = _choose_sums(subject, base)
    baseline_values = [v for _, _, v in lesions]
    new_id = 0
    for k, assessment in enumerate(subject.assessments):
        folder = f"TA{k + 1:02d}"
        total = sums[k]
        values: list[int | None]
        if total is None:
            fallback = base * (1 + assessment.target_pchg / 100) if not math.isnan(
                assessment.target_pchg) else base
            values = list(_split_sum(max(int(round(fallback)), 1), baseline_values))
            values[-1] = None
        else:
            values = list(_split_sum(total, baseline_values))
        _add_lesion_rows(out, subject, folder, assessment.date, lesions, values, method, rng)
        _add_nontarget_rows(out, subject, folder, assessment.date, nt_sites, assessment.nontarget)
        if assessment.new_lesion:
            new_id += 1
            out["nl"].append(create_row(subject.subjid, folder, 1, NLDAT=format_date(assessment.date),
                                        NLID=f"NEW{new_id:02d}", NLLOC=rng.choice(NEW_SITES)))
        target = compute_target_response(sums, base, k, total == 0)
        nontarget = compute_nontarget_response(n_nt, assessment.nontarget)
        overall = compute_overall_response(target, nontarget, assessment.new_lesion)
        if overall != assessment.response:
            raise DataError(f"subject {subject.subjid}, assessment {assessment.date}: truth response "
                            f"{assessment.response} but RECIST 1.1 gives {overall} (target {target}, "
                            f"non-target {nontarget}, new lesion {assessment.new_lesion})",
                            hint="fix the truth: response must follow from target_pchg, nontarget "
                                 "and new_lesion")
        out["rs"].append(create_row(subject.subjid, folder, 0, RSDAT=format_date(assessment.date),
                                    TRGRESP=target, NTRGRESP=nontarget,
                                    NEWLES="Yes" if assessment.new_lesion else "No",
                                    OVRLRESP=assessment.response))
    return out


def _add_lesion_rows(out: dict[str, list[dict[str, str]]], subject: SubjectTruth, folder: str,
                     day: date, lesions: list[tuple[str, str, int]], values: list[int | None],
                     method: str, rng: random.Random) -> None:
    for i, ((location, kind, _), value) in enumerate(zip(lesions, values)):
        out["tl"].append(create_row(
            subject.subjid, folder, i + 1, TLDAT=format_date(day), TLID=f"T{i + 1:02d}",
            TLLOC=apply_texture(location, rng), TLNODAL="Yes" if kind == "node" else "No",
            TLMETH=method, TLDIAM="NE" if value is None else format_mm(value)))


def _add_nontarget_rows(out: dict[str, list[dict[str, str]]], subject: SubjectTruth, folder: str,
                        day: date, sites: list[str], status: str) -> None:
    for i, site in enumerate(sites):
        if status == "UNEQUIVOCAL PROGRESSION" and i > 0:
            text = "Present"
        else:
            text = NT_STATUS[status]
        out["ntl"].append(create_row(subject.subjid, folder, i + 1, NTLDAT=format_date(day),
                                     NTLID=f"NT{i + 1:02d}", NTLLOC=site, NTLSTAT=text))
