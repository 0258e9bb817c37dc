"""Shared fixtures: the whole pipeline on a copy of the embedded study, run once per test session.

Used by tests/e2e (paper targets, round trip, figures, CLI) and tests/lineage (trace).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
import yaml

# define.xml and Dataset-JSON carry the time they were written unless SOURCE_DATE_EPOCH is set
# (reproducible builds): the suite compares outputs byte for byte, so it runs with it set; tests
# of the real creation time unset it themselves.
os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")

TARGETS = Path(__file__).resolve().parent / "data" / "paper_results.yaml"
STAGES = ("sdtm", "adam", "tlf", "lineage")


@pytest.fixture(scope="session")
def targets() -> dict:
    return yaml.safe_load(TARGETS.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def embedded_run(tmp_path_factory):
    """Copy specs/ and raw/ to a temporary study folder and run every stage on it."""
    from study_copy import copy_study
    from tlfgen.pipeline import run_stages

    study = copy_study(tmp_path_factory.mktemp("embedded"))
    results = run_stages(study, STAGES)
    return study, {r.stage: r for r in results}


def read_adam(study, name: str) -> pd.DataFrame:
    df, _ = pyreadstat.read_xport(str(study.adam_dir / f"{name.lower()}.xpt"))
    return df


@pytest.fixture(scope="session")
def adam(embedded_run) -> dict[str, pd.DataFrame]:
    study, _ = embedded_run
    return {name: read_adam(study, name) for name in ("ADSL", "ADRS", "ADTTE", "ADAE")}
