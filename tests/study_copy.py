"""Test helper: a study folder copied into a scratch folder (by default the embedded study's
specs and raw export from the repository), loaded as a ``ResolvedStudy``."""

from __future__ import annotations

import shutil
from pathlib import Path

from tlfgen.spec.study import ResolvedStudy, load_study

REPO = Path(__file__).resolve().parents[1]


def copy_study(target: Path, *, source: Path = REPO, parts: tuple[str, ...] = ("specs", "raw")) -> ResolvedStudy:
    """Copy the folders ``parts`` of ``source`` into ``target`` and load the study there."""
    target = Path(target)
    for part in parts:
        shutil.copytree(Path(source) / part, target / part)
    return load_study(target)
