"""Simulation stage: the raw-form writer, truth -> one CSV per EDC form (docs/contracts.md section 2).

``create_raw_forms`` turns a ``StudyTruth`` into tables (file name -> DataFrame,
every column text, rows sorted by SUBJID, FOLDER order and RECPOS);
``write_raw_forms`` writes them deterministically and atomically. The form
writers live in ``forms_subject.py`` (baseline, course, follow-up),
``forms_ex.py`` (exposure), ``forms_tumour.py`` (RECIST forms), ``forms_ae.py``
(AE log and dictionary) and ``forms_problems.py`` (deliberate data problems of
the embedded study).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.simulate import forms_subject as fs
from tlfgen.simulate.forms_ae import create_ae_rows
from tlfgen.simulate.forms_common import FORM_NAMES, create_rng, folder_rank, form_columns
from tlfgen.simulate.forms_ex import compute_cycle_starts, create_ex_rows
from tlfgen.simulate.forms_problems import DataProblem, inject_problems
from tlfgen.simulate.forms_tumour import create_tumour_rows
from tlfgen.simulate.truth_model import StudyTruth, SubjectTruth

Rows = list[dict[str, str]]


@dataclass(frozen=True)
class RawExport:
    """The written forms and the deliberate problems injected into them."""

    forms: dict[str, pd.DataFrame]
    problems: tuple[DataProblem, ...]


def create_subject_rows(subject: SubjectTruth, cutoff, seed: int) -> dict[str, Rows]:
    """All raw rows of one subject, per form."""
    sid = subject.subjid
    starts = compute_cycle_starts(subject, cutoff)
    rows: dict[str, Rows] = {
        "dm": fs.create_dm_rows(subject, create_rng(seed, sid, "dm")),
        "ic": fs.create_ic_rows(subject),
        "dx": fs.create_dx_rows(subject, create_rng(seed, sid, "dx")),
        "ecog": fs.create_ecog_rows(subject, starts, create_rng(seed, sid, "ecog")),
        "mh": fs.create_mh_rows(subject, create_rng(seed, sid, "mh")),
        "ex": create_ex_rows(subject, cutoff),
        "ae": create_ae_rows(subject, create_rng(seed, sid, "ae")),
        "pr": fs.create_pr_rows(subject, create_rng(seed, sid, "pr")),
        "eot": fs.create_eot_rows(subject),
        "eos": fs.create_eos_rows(subject),
        "dth": fs.create_dth_rows(subject),
        "cm": fs.create_cm_rows(subject, cutoff, create_rng(seed, sid, "cm")),
        "fu": fs.create_fu_rows(subject, cutoff),
    }
    rows.update(create_tumour_rows(subject, create_rng(seed, sid, "tumour")))
    return rows


def create_raw_export(truth: StudyTruth, seed: int, inject: bool = False) -> RawExport:
    """Forms for the whole study, with the deliberate problems when ``inject`` is true."""
    ids = [s.subjid for s in truth.subjects]
    if len(set(ids)) != len(ids):
        raise DataError("the study truth has duplicate SUBJIDs", hint="give every subject its own SUBJID")
    rows: dict[str, Rows] = {name: [] for name in FORM_NAMES}
    for subject in sorted(truth.subjects, key=lambda s: s.subjid):
        for name, form_rows in create_subject_rows(subject, truth.cutoff, seed).items():
            rows[name].extend(form_rows)
    problems = inject_problems(rows, truth) if inject else []
    forms = {name: sort_form_rows(pd.DataFrame.from_records(rows[name], columns=list(form_columns(name))))
             for name in FORM_NAMES}
    return RawExport(forms=forms, problems=tuple(problems))


def create_raw_forms(truth: StudyTruth, seed: int, inject_problems: bool = False) -> dict[str, pd.DataFrame]:
    """File name (``"dm.csv"``...) -> table, all columns text."""
    export = create_raw_export(truth, seed, inject=inject_problems)
    return {f"{name}.csv": frame for name, frame in export.forms.items()}


def sort_form_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by SUBJID, FOLDER order, RECPOS (stable: exact duplicates stay together)."""
    if frame.isna().to_numpy().any():
        frame = frame.fillna("")
    if frame.empty:
        return frame.reset_index(drop=True)
    folders = frame["FOLDER"]
    ranks = {folder: folder_rank(folder) for folder in folders.unique()}
    subject_codes, _ = pd.factorize(frame["SUBJID"], sort=True)
    recpos = pd.to_numeric(frame["RECPOS"], errors="coerce").fillna(0).astype("int64").to_numpy()
    key = (subject_codes.astype("int64") * 10**7 + folders.map(ranks).to_numpy(dtype="int64")) * 10**6 + recpos
    order = np.argsort(key, kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _form_name(file_name: str) -> str:
    return file_name[:-4] if file_name.endswith(".csv") else file_name


def write_raw_forms(forms: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each table as ``out_dir/<form>.csv`` (UTF-8, "\\n", fixed columns, sorted rows)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name in sorted(forms):
        name = _form_name(file_name)
        if name not in FORM_NAMES:
            raise DataError(f"unknown raw form {file_name!r}", hint=f"known forms: {', '.join(FORM_NAMES)}")
        columns = list(form_columns(name))
        frame = forms[file_name]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(f"form {file_name} lacks columns {missing}", file=file_name)
        text = sort_form_rows(frame[columns]).to_csv(index=False, lineterminator="\n")
        path = out_dir / f"{name}.csv"
        write_text_atomic(path, text)
        written.append(path)
    return written


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text to a temporary file in the same folder, then replace ``path``."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
