"""``Unit.imports`` and ``units.import_ahead``: with work units shared between processes, what the
stages' units import on first use is imported once, before the first fork (each probe in a fresh
interpreter: the test process has imported most of it already)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tlfgen.units import Unit, run_units

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from pathlib import Path
from tlfgen.pipeline import study_units
from tlfgen.spec.study import load_study
from tlfgen.units import import_ahead
units = study_units(load_study(Path(sys.argv[1])), json.loads(sys.argv[2]))
before = set(sys.modules)
import_ahead(units)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def imported(study: Path, stages: list[str]) -> set[str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-c", PROBE, str(study), json.dumps(stages)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(ROOT / "specs", root / "specs")
    shutil.copytree(ROOT / "raw", root / "raw")
    return root


def test_a_whole_run_declares_the_figures_and_statistics(study: Path) -> None:
    new = imported(study, ["sdtm", "adam", "tlf", "lineage"])
    assert {"scipy.stats", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.backends.backend_svg",
            "pyreadstat", "tlfgen.sdtm.write", "tlfgen.tlf.figures.km"} <= new


def test_a_study_without_figures_does_not_import_matplotlib(study: Path, tmp_path: Path) -> None:
    shutil.copytree(study, tmp_path / "study")
    (tmp_path / "study" / "specs" / "tlf" / "figures.yaml").unlink()
    new = imported(tmp_path / "study", ["tlf", "lineage"])
    assert "scipy.stats" in new
    assert not any(m.startswith("matplotlib") for m in new)


def test_the_adam_stage_imports_neither_statistics_nor_figures(study: Path) -> None:
    new = imported(study, ["adam"])
    assert "pyreadstat" in new
    assert "scipy.stats" not in new and not any(m.startswith("matplotlib") for m in new)


def units_importing(module: str) -> list[Unit]:
    return [Unit("a", (), lambda: 1, imports=(module,)), Unit("b", ("a",), lambda a: a + 1)]


def test_one_process_imports_nothing_ahead() -> None:
    assert run_units(units_importing("tlfgen_no_such_module"), ["b"], jobs_=1) == {"b": 2}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_shared_processes_import_ahead_of_the_first_fork() -> None:
    with pytest.raises(ModuleNotFoundError, match="tlfgen_no_such_module"):
        run_units(units_importing("tlfgen_no_such_module"), ["b"], jobs_=2)
