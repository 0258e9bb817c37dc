"""Simulation stage: the deliberate data problems of the embedded study's raw export.

Seven problems a data manager must see in the raw/SDTM findings report. Each
sits on a record whose fix (or removal) leaves every figure the paper reports
unchanged: AE date and outcome problems go to subjects who died (their AE dates
never set a last-known-alive date), the grade problem and the duplicate to
grade 1 non-serious events not related to treatment when there is one, the unit
in a diameter to a 0 mm lesion at a later complete-response assessment (its sum
is 0 whether the value is read or dropped), and an extra follow-up contact to a
subject who does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tlfgen.simulate.forms_common import create_row, format_date
from tlfgen.simulate.truth_model import AdverseEventTruth, StudyTruth, SubjectTruth

Rows = list[dict[str, str]]


@dataclass(frozen=True)
class DataProblem:
    """One deliberate problem: where it is and what the data manager should see."""

    file: str
    subjid: str
    folder: str
    recpos: str
    column: str
    value: str
    finding: str


def _ae_recpos(subject: SubjectTruth, event: AdverseEventTruth) -> str:
    events = sorted(subject.aes, key=lambda e: (e.start, e.pt, e.grade))
    return str(events.index(event) + 1)


def _find_row(rows: Rows, subjid: str, folder: str, recpos: str) -> dict[str, str]:
    for row in rows:
        if row["SUBJID"] == subjid and row["FOLDER"] == folder and row["RECPOS"] == recpos:
            return row
    raise KeyError((subjid, folder, recpos))


def _pick_ae(subjects: list[SubjectTruth], used: set[str], want) -> tuple[SubjectTruth, AdverseEventTruth] | None:
    for subject in subjects:
        if subject.subjid in used:
            continue
        for event in sorted(subject.aes, key=lambda e: (e.start, e.pt, e.grade)):
            if want(subject, event):
                used.add(subject.subjid)
                return subject, event
    return None


def _is_dead(subject: SubjectTruth) -> bool:
    return subject.death_date is not None


def _is_unrelated_minor(subject: SubjectTruth, event: AdverseEventTruth) -> bool:
    return event.grade == 1 and not event.serious and not any(event.rel.values())


def _is_minor(subject: SubjectTruth, event: AdverseEventTruth) -> bool:
    return event.grade == 1 and not event.serious


def inject_problems(rows: dict[str, Rows], truth: StudyTruth) -> list[DataProblem]:
    """Change ``rows`` in place; return the problems made (fewer when no record qualifies)."""
    subjects = sorted(truth.subjects, key=lambda s: s.subjid)
    used: set[str] = set()
    problems: list[DataProblem] = []

    def ae_problem(want, column: str, make_value, finding) -> None:
        picked = _pick_ae(subjects, used, want)
        if picked is None:
            return
        subject, event = picked
        recpos = _ae_recpos(subject, event)
        row = _find_row(rows["ae"], subject.subjid, "LOG", recpos)
        row[column] = make_value(event)
        text = finding(event) if callable(finding) else finding
        problems.append(DataProblem("ae.csv", subject.subjid, "LOG", recpos, column, row[column], text))

    def ended_full(subject: SubjectTruth, event: AdverseEventTruth) -> bool:
        return _is_dead(subject) and event.end is not None and not event.partial_start and event.grade <= 2

    ae_problem(ended_full, "AEENDAT", lambda e: f"31 FEB {e.end.year}",
               "impossible date: AEENDAT 31 FEB does not exist (query the site for the real end date)")
    ae_problem(ended_full, "AEENDAT", lambda e: format_date(e.start - timedelta(days=3)),
               lambda e: f"AE end date before its start date (AESTDAT {format_date(e.start)})")
    ae_problem(lambda s, e: _is_dead(s) and e.end is not None and e.grade <= 2, "AEOUT",
               lambda e: "resolved?", "AEOUT value 'resolved?' is not in the outcome codelist")
    picked = (_pick_ae(subjects, used, _is_unrelated_minor) or _pick_ae(subjects, used, _is_minor))
    if picked is not None:
        subject, event = picked
        recpos = _ae_recpos(subject, event)
        original = _find_row(rows["ae"], subject.subjid, "LOG", recpos)
        rows["ae"].insert(rows["ae"].index(original) + 1, dict(original))
        problems.append(DataProblem("ae.csv", subject.subjid, "LOG", recpos, "(whole row)", "",
                                    "duplicate AE record: the same row twice (remove the second copy)"))
    before = len(problems)
    ae_problem(_is_unrelated_minor, "AETOXGR", lambda e: "", "missing required value: AETOXGR blank")
    if len(problems) == before:
        ae_problem(_is_minor, "AETOXGR", lambda e: "", "missing required value: AETOXGR blank")
    problems.extend(_inject_unit_in_diameter(rows, subjects))
    problems.extend(_inject_unknown_subject(rows, truth))
    return problems


def _inject_unit_in_diameter(rows: dict[str, Rows], subjects: list[SubjectTruth]) -> list[DataProblem]:
    by_key: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows["tl"]:
        by_key.setdefault((row["SUBJID"], row["FOLDER"]), []).append(row)
    for subject in subjects:
        zero_folders = [f"TA{k + 1:02d}" for k, a in enumerate(subject.assessments)
                        if a.response != "NE" and abs(a.target_pchg + 100.0) < 1e-9]
        if len(zero_folders) < 2:
            continue
        lesions = by_key[(subject.subjid, zero_folders[-1])]
        row = lesions[0]
        if row["TLDIAM"] != "0":
            continue
        row["TLDIAM"] = "0 mm"
        return [DataProblem("tl.csv", subject.subjid, row["FOLDER"], row["RECPOS"], "TLDIAM", "0 mm",
                            "numeric value with a unit: TLDIAM '0 mm' (the EDC field is in mm; enter 0)")]
    return []


def _inject_unknown_subject(rows: dict[str, Rows], truth: StudyTruth) -> list[DataProblem]:
    known = {s.subjid for s in truth.subjects}
    subjid = next(c for c in ("01999", "01998", "01997") if c not in known)
    day: date = truth.cutoff - timedelta(days=30)
    rows["fu"].append(create_row(subjid, "FU01", 0, FUDAT=format_date(day), FUSTAT="Alive"))
    return [DataProblem("fu.csv", subjid, "FU01", "0", "SUBJID", subjid,
                        "follow-up contact for a subject not in dm.csv/ic.csv (not enrolled)")]


def describe_problems(problems: list[DataProblem]) -> str:
    """A Markdown table of the problems, for raw/README.md."""
    if not problems:
        return "None: this export was written without deliberate problems.\n"
    lines = ["| # | file | SUBJID | FOLDER | RECPOS | column | value | what the data manager should see |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for i, p in enumerate(problems, start=1):
        value = f'"{p.value}"' if p.value or p.column == "AETOXGR" else ""
        lines.append(f"| {i} | {p.file} | {p.subjid} | {p.folder} | {p.recpos} | {p.column} | {value} | {p.finding} |")
    return "\n".join(lines) + "\n"
