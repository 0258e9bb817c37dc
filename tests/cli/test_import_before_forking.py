"""``cli._import_before_forking``: with work units shared between processes, what the stages import
on first use is imported once, before the first fork (each in a fresh interpreter: the test
process has imported most of it already)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from pathlib import Path
from tlfgen.cli import _import_before_forking
from tlfgen.spec.study import load_study
study = load_study(Path(sys.argv[1]))
before = set(sys.modules)
_import_before_forking(study, json.loads(sys.argv[2]))
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def imported(study: Path, stages: list[str], jobs: str) -> set[str]:
    env = dict(os.environ, TLFGEN_JOBS=jobs, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-c", PROBE, str(study), json.dumps(stages)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(ROOT / "specs", root / "specs")
    return root


def test_a_whole_run_imports_the_figures_and_statistics_before_forking(study: Path) -> None:
    new = imported(study, ["sdtm", "adam", "tlf", "lineage"], "2")
    assert {"scipy.stats", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.backends.backend_svg",
            "pyreadstat", "tlfgen.sdtm.write", "tlfgen.tlf.figures.km"} <= new


def test_one_process_imports_nothing_ahead(study: Path) -> None:
    new = imported(study, ["sdtm", "adam", "tlf", "lineage"], "1")
    assert not {m for m in new if m.split(".")[0] in ("scipy", "matplotlib", "pyreadstat", "PIL")}
    assert "tlfgen.sdtm.write" not in new and "tlfgen.tlf.figures.km" not in new


def test_a_study_without_figures_does_not_import_matplotlib(study: Path, tmp_path: Path) -> None:
    shutil.copytree(study / "specs", tmp_path / "specs")
    (tmp_path / "specs" / "tlf" / "figures.yaml").unlink()
    new = imported(tmp_path, ["tlf", "lineage"], "2")
    assert "scipy.stats" in new
    assert not any(m.startswith("matplotlib") for m in new)


def test_the_adam_command_imports_neither_statistics_nor_figures(study: Path) -> None:
    new = imported(study, ["adam"], "2")
    assert "pyreadstat" in new
    assert "scipy.stats" not in new and not any(m.startswith("matplotlib") for m in new)
