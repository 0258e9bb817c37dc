"""Determinism and crash safety of whole runs (subprocesses, as a user runs tlfgen).

- Two runs of ``tlfgen run`` on the same inputs, in two folders, with different hash
  seeds and the same SOURCE_DATE_EPOCH, give byte-identical SDTM and ADaM datasets
  (XPT, Dataset-JSON, lineage), ARD, tables (DOCX/XLSX), findings and manifest.
- Values starting with = + - @ reach the TLF XLSX and findings.xlsx as text cells.
- A run killed with SIGKILL while it writes leaves every previous output complete:
  each file is byte-identical to the previous run's (the inputs are the same, so a file
  is either untouched or completely rewritten with the same bytes), XPTs still read.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pyreadstat
import pytest
from reliability_helpers import ROOT, hashes, records, write_records

TLFGEN = Path(sys.executable).with_name("tlfgen")
EPOCH = "1700000000"
FORMULAS = ("=HYPERLINK(\"http://example.invalid\",\"x\")", "+SUM(1,1)", "-1+2", "@SUM(A1)")
OUTPUT_DIRS = ("sdtm", "adam", "outputs")
INJECTED_OUTCOME = "=CMD|' /C calc'!A0"


def _env(hash_seed: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SOURCE_DATE_EPOCH=EPOCH, PYTHONHASHSEED=hash_seed, MPLBACKEND="Agg")
    return env


def _start(study: Path, hash_seed: str) -> subprocess.Popen:
    return subprocess.Popen([str(TLFGEN), "--study", str(study), "run", "--allow-data-errors"],
                            env=_env(hash_seed), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _make_study(root: Path) -> Path:
    """The embedded study, with AE preferred terms that look like spreadsheet formulas."""
    shutil.copytree(ROOT / "specs", root / "specs")
    shutil.copytree(ROOT / "raw", root / "raw")
    rows = records(root, "ae.csv")
    col = rows[0].index("AEPT")
    for i, text in enumerate(FORMULAS, start=1):
        rows[i][col] = text
    rows[5][rows[0].index("AEOUT")] = INJECTED_OUTCOME  # not in codelist OUT: a finding quotes it
    write_records(root, "ae.csv", rows)
    return root


def _output_hashes(study: Path) -> dict[str, str]:
    found = {}
    for name in OUTPUT_DIRS:
        found.update({f"{name}/{k}": v for k, v in hashes(study / name).items()})
    return found


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    a = _make_study(tmp_path_factory.mktemp("det") / "a")
    b = tmp_path_factory.mktemp("det") / "b"
    shutil.copytree(a, b)
    procs = [_start(a, "1"), _start(b, "2")]
    outs = [p.communicate(timeout=900)[0].decode() for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
    return a, b


def test_two_runs_are_byte_identical(two_runs):
    a, b = two_runs
    ha, hb = _output_hashes(a), _output_hashes(b)
    assert sorted(ha) == sorted(hb)
    assert [k for k in ha if ha[k] != hb[k]] == []
    # the run covered everything the issue names
    for part in ("sdtm/ae.xpt", "sdtm/ae.json", "sdtm/lineage/ae.json", "adam/adsl.xpt", "outputs/ard/T1.csv",
                 "outputs/tables/T1.docx", "outputs/tables/L1.xlsx", "outputs/qc/findings.xlsx",
                 "outputs/manifest.json"):
        assert part in ha, part


def _text_cells(path: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(path)
    return {c.value: c.data_type for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)}


def test_formula_like_values_are_text_in_every_xlsx(two_runs):
    a, _ = two_runs
    listing = _text_cells(a / "outputs" / "tables" / "L1.xlsx")
    for text in FORMULAS:
        assert listing[text.upper()] == "s", text  # AEDECOD is the upper-cased preferred term
    findings = _text_cells(a / "outputs" / "qc" / "findings.xlsx")
    assert findings[INJECTED_OUTCOME] == "s"
    formula_findings = {k: v for k, v in findings.items() if k[:1] in "=+-@"}
    assert set(formula_findings.values()) == {"s"}


def _changed_since(paths: dict[Path, int]) -> bool:
    for path, mtime in paths.items():
        try:
            if path.stat().st_mtime_ns != mtime:
                return True
        except FileNotFoundError:
            return True
    return False


@pytest.mark.parametrize("watch", ["sdtm", "outputs/tables"])
def test_killed_run_leaves_previous_outputs_complete(two_runs, tmp_path, watch):
    a, _ = two_runs
    study = tmp_path / "c"
    shutil.copytree(a, study)
    before = _output_hashes(study)
    watched = {p: p.stat().st_mtime_ns for p in (study / watch).iterdir() if p.is_file()}
    proc = _start(study, "3")
    deadline = time.monotonic() + 600
    while not _changed_since(watched):  # kill as soon as the stage starts replacing files
        assert proc.poll() is None, "the run ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    after = _output_hashes(study)
    leftovers = sorted(k for k in after if k not in before)
    assert all(Path(k).name.startswith(".") for k in leftovers), leftovers  # only .<name>.*.tmp strays
    assert [k for k in before if k not in after] == []  # nothing deleted
    assert [k for k in before if after[k] != before[k]] == []  # nothing half-written
    for xpt in sorted((study / "sdtm").glob("*.xpt")) + sorted((study / "adam").glob("*.xpt")):
        pyreadstat.read_xport(str(xpt), metadataonly=True)
