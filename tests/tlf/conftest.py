"""Shared fixtures for the TLF stage tests: a study folder copy and a small inline ADaM."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tlf_helpers import REPO, make_adam
from tlfgen.spec.study import ResolvedStudy, load_study


@pytest.fixture()
def adam() -> dict[str, pd.DataFrame]:
    return make_adam()


@pytest.fixture()
def study_dir(tmp_path: Path) -> Path:
    """A study folder with the embedded study's specs and templates."""
    (tmp_path / "specs").mkdir()
    shutil.copy(REPO / "specs" / "study.yaml", tmp_path / "specs" / "study.yaml")
    shutil.copytree(REPO / "specs" / "templates", tmp_path / "specs" / "templates")
    (tmp_path / "specs" / "tlf").mkdir()
    return tmp_path


@pytest.fixture()
def study(study_dir: Path) -> ResolvedStudy:
    return load_study(study_dir)
