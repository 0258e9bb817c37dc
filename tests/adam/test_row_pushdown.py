"""Row pushdown and Dataset-JSON inputs end to end (issue 25): the ADaM stage writes the same bytes
with row pushdown on and off, on the embedded study and on the CDISC pilot example, and the pilot
started from Dataset-JSON SDTM alone gives the same ADaM datasets as from its XPT files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tlfgen.io.datasetjson import write_dataset_json
from tlfgen.io.xpt import read_xpt
from tlfgen.pipeline import run_stages
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.inputs import compute_input_rows
from tlfgen.spec.study import load_study
from tlfgen.tlf.run import read_adam

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "examples" / "cdiscpilot01"


@pytest.fixture(autouse=True)
def _push_rows_of_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test files are small: push rows down whatever their size (ROW_PUSHDOWN_MIN_BYTES)."""
    monkeypatch.setattr("tlfgen.adam.engine.ROW_PUSHDOWN_MIN_BYTES", 0)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _adam_both_ways(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """adam/ (and the supplied SDTM lineage) after the ADaM stage with row pushdown on, then off."""
    out = []
    for mode in ("1", "0"):
        monkeypatch.setenv("TLFGEN_ROW_PUSHDOWN", mode)
        run_stages(load_study(root), ("adam",))
        files = _files(root / "adam")
        if (root / "sdtm" / "lineage").is_dir():
            files.update({f"sdtm/lineage/{k}": v for k, v in _files(root / "sdtm" / "lineage").items()})
        out.append(files)
    return out[0], out[1]


def test_embedded_study_adam_identical_with_and_without_row_pushdown(embedded_run, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    study, _ = embedded_run
    root = tmp_path / "study"
    shutil.copytree(study.root / "specs", root / "specs")
    shutil.copytree(study.root / "raw", root / "raw")
    shutil.copytree(study.sdtm_dir, root / "sdtm")
    rows = compute_input_rows(load_stage_specs(load_study(root), "adam").datasets)
    assert sorted(item for item, found in rows.items() if found is not None) == [
        "sdtm.DS", "sdtm.QS", "sdtm.SC", "sdtm.SUPPAE", "sdtm.SUPPDM", "sdtm.SUPPPR"]
    on, off = _adam_both_ways(root, monkeypatch)
    assert len([k for k in on if not k.startswith("sdtm/")]) == 14 and on == off


def test_pilot_adam_identical_with_and_without_row_pushdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "pilot"
    shutil.copytree(PILOT, root)
    rows = compute_input_rows(load_stage_specs(load_study(root), "adam").datasets)
    assert {item: found.conditions for item, found in rows.items() if found is not None} == {
        "sdtm.DM": ("upper(ARMCD) != 'SCRNFAIL'",),
        "sdtm.DS": ("DSCAT == 'DISPOSITION EVENT'",),
        "sdtm.MH": ("MHCAT == 'PRIMARY DIAGNOSIS'",),
        "sdtm.SC": ("SCTESTCD == 'EDLEVEL'",),
        "sdtm.SUPPDM": ("QNAM == 'EFFICACY'",),
        "sdtm.SV": tuple(f"VISITNUM == {n}" for n in (1, 3, 4, 8, 10, 12)),
    }
    on, off = _adam_both_ways(root, monkeypatch)
    assert len(on) == 19 and on == off  # 3 x (xpt, json, lineage), define.xml and its stylesheet, 8 SDTM lineages


def test_pilot_from_dataset_json_sdtm_alone_gives_the_same_adam(tmp_path: Path) -> None:
    xpt_root, json_root = tmp_path / "xpt", tmp_path / "json"
    for root in (xpt_root, json_root):
        shutil.copytree(PILOT, root)
    for path in sorted((json_root / "sdtm").glob("*.xpt")):
        data, meta = read_xpt(path)
        write_dataset_json(data, meta, path.with_suffix(".json"), study_oid="CDISCPILOT01",
                           metadata_version_oid="MDV.CDISCPILOT01")
        path.unlink()
    for root in (xpt_root, json_root):
        run_stages(load_study(root), ("adam",))
    assert _files(json_root / "adam") == _files(xpt_root / "adam")
    # the TLF stage reads ADaM from Dataset-JSON when the XPT is absent
    (json_root / "adam" / "adsl.xpt").unlink()
    from_json = read_adam(json_root / "adam", ["ADSL"])["ADSL"]
    from_xpt = read_adam(xpt_root / "adam", ["ADSL"])["ADSL"]
    assert from_json.equals(from_xpt) and len(from_json) == 254
