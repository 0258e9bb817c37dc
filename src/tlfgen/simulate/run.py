"""Simulation stage runner: calibrated truth -> raw EDC export folder (+ README.md).

``simulate`` builds the study truth (``tlfgen.simulate.truth.create_study_truth``),
writes one CSV per form and ``README.md`` describing the export, its synthetic
choices and its deliberate data problems. Problems are injected by default only
for the embedded configuration (30 subjects per arm, seed 20200803).
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

from tlfgen.simulate.forms import create_raw_export, write_raw_forms, write_text_atomic
from tlfgen.simulate.forms_readme import render_readme
from tlfgen.simulate.truth_model import StudyTruth

EMBEDDED_SUBJECTS_PER_ARM = 30
EMBEDDED_SEED = 20200803


def simulate(out: Path, subjects_per_arm: int = EMBEDDED_SUBJECTS_PER_ARM, seed: int = EMBEDDED_SEED,
             inject_problems: bool | None = None, *, force: bool = False) -> list[Path]:
    """Write the raw export to ``out``; return the files written (CSVs, then README.md).

    A folder that already holds files is refused (``UsageError``, nothing written) unless
    ``force``: the default ``--out raw`` would otherwise replace a study's raw export.
    """
    from tlfgen.simulate.truth import create_study_truth

    refuse_non_empty(Path(out), force=force)

    if inject_problems is None:
        inject_problems = subjects_per_arm == EMBEDDED_SUBJECTS_PER_ARM and seed == EMBEDDED_SEED
    truth = create_study_truth(subjects_per_arm=subjects_per_arm, seed=seed)
    export = create_raw_export(truth, seed, inject=inject_problems)
    out = Path(out)
    written = write_raw_forms({f"{name}.csv": frame for name, frame in export.forms.items()}, out)
    readme = out / "README.md"
    write_text_atomic(readme, render_readme(truth, export, subjects_per_arm=subjects_per_arm, seed=seed))
    return written + [readme]


def refuse_non_empty(out: Path, *, force: bool) -> None:
    """An EnvironmentFault (exit 4) when ``out`` is a file; a UsageError when it is a folder holding
    anything and ``force`` is not given."""
    from tlfgen.errors import EnvironmentFault, UsageError

    if out.exists() and not out.is_dir():
        raise EnvironmentFault(f"--out {out} is a file, not a folder",
                               hint="give --out a new or empty folder, or move that file away")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held and not force:
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise UsageError(
            f"{out} already holds {len(held)} file(s) ({shown}); simulate would overwrite them",
            hint="pass --force to overwrite them, or give --out an empty or new folder")


def _clean(value: object) -> object:
    """NaN -> None, so that the JSON stays standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _to_json(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()  # type: ignore[no-any-return]
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_truth_json(truth: StudyTruth, path: Path) -> Path:
    """The truth's expected analysis values per subject, as sorted JSON (round-trip test)."""
    payload = {
        "studyid": truth.studyid,
        "seed": truth.seed,
        "cutoff": truth.cutoff.isoformat(),
        "subjects": {s.subjid: {k: _clean(v) for k, v in dict(s.expected, ARM=s.arm).items()}
                     for s in truth.subjects},
    }
    text = json.dumps(payload, sort_keys=True, indent=1, default=_to_json, allow_nan=False) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path
