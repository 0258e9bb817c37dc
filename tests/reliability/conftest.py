"""Fixtures for the reliability corpus: one small clean study, built and mapped once per session.

``clean_study``: the repository's specs plus a 4-subject raw export
(``tlfgen simulate --subjects-per-arm 2 --no-problems``) after one clean
``tlfgen sdtm``; ``clean_snapshot`` its output hashes and findings. Each case
copies it (``case_study``) and breaks one input.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from reliability_helpers import ROOT, copy_study, invoke, outputs_snapshot, read_findings, read_reconciliation


@pytest.fixture(scope="session")
def clean_study(tmp_path_factory) -> Path:
    from tlfgen.simulate.run import simulate

    root = tmp_path_factory.mktemp("clean") / "study"
    shutil.copytree(ROOT / "specs", root / "specs")
    simulate(root / "raw", subjects_per_arm=2, seed=20200803, inject_problems=False)
    result = invoke(root, "sdtm")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="session")
def clean_snapshot(clean_study) -> dict:
    return {"hashes": outputs_snapshot(clean_study), "findings": read_findings(clean_study),
            "recon": read_reconciliation(clean_study)}


@pytest.fixture
def case_study(clean_study, tmp_path) -> Path:
    return copy_study(clean_study, tmp_path / "study")
