"""Run manifest and verify: a one-byte change in any input, spec or output is detected."""

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlfgen.cli import app
from tlfgen.errors import DataError
from tlfgen.lineage.manifest import build_manifest, verify_manifest, write_manifest
from tlfgen.spec.study import load_study

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def study(tmp_path: Path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "study.yaml").write_text((ROOT / "specs" / "study.yaml").read_text())
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "dm.csv").write_text("STUDYID,SUBJID\nX,01001\n")
    (tmp_path / "sdtm").mkdir()
    (tmp_path / "sdtm" / "dm.xpt").write_bytes(b"\x00\x01xpt")
    (tmp_path / "outputs" / "tables").mkdir(parents=True)
    (tmp_path / "outputs" / "tables" / "T1.xlsx").write_bytes(b"PK\x03\x04table")
    return load_study(tmp_path)


def test_manifest_lists_every_file_with_its_hash(study, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1744416000")
    manifest = build_manifest(study)
    assert manifest["run_time"] == "2025-04-12T00:00:00Z"
    assert manifest["study"] == {"id": "NCT04471480", "data_cutoff": "2025-04-12"}
    assert sorted(manifest["files"]["raw"]) == ["raw/dm.csv"]

    assert manifest["files"]["raw"]["raw/dm.csv"] == hashlib.sha256(b"STUDYID,SUBJID\nX,01001\n").hexdigest()
    assert sorted(manifest["files"]["specs"]) == ["specs/study.yaml"]
    assert sorted(manifest["files"]["outputs"]) == ["outputs/tables/T1.xlsx"]
    assert "pandas" in manifest["packages"]


def test_same_files_give_the_same_manifest(study, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    first = write_manifest(study).read_bytes()
    second = write_manifest(study).read_bytes()
    assert first == second
    assert "outputs/manifest.json" not in json.loads(first)["files"]["outputs"]


@pytest.mark.parametrize("relpath", ["raw/dm.csv", "specs/study.yaml", "sdtm/dm.xpt", "outputs/tables/T1.xlsx"])
def test_one_byte_change_is_detected(study, relpath):
    write_manifest(study)
    assert verify_manifest(study).ok
    path = study.root / relpath
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_manifest(study)
    assert report.changed == [relpath]
    assert not report.ok


def test_missing_and_added_files_are_reported(study):
    write_manifest(study)
    (study.root / "sdtm" / "dm.xpt").unlink()
    (study.root / "outputs" / "extra.txt").write_text("x")
    report = verify_manifest(study)
    assert report.missing == ["sdtm/dm.xpt"]
    assert report.added == ["outputs/extra.txt"]


def test_verify_without_manifest_is_a_clear_error(study):
    with pytest.raises(DataError, match="no run manifest found"):
        verify_manifest(study)


def test_verify_command_exit_codes(study):
    runner = CliRunner()
    write_manifest(study)
    ok = runner.invoke(app, ["--study", str(study.root), "verify"])
    assert ok.exit_code == 0 and "nothing changed since the run" in ok.output
    (study.root / "raw" / "dm.csv").write_text("STUDYID,SUBJID\nX,01002\n")
    bad = runner.invoke(app, ["--study", str(study.root), "verify"])
    assert bad.exit_code == 1
    assert "changed: raw/dm.csv" in bad.output
