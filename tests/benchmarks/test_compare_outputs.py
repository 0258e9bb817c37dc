"""benchmarks/compare_outputs.py: the verdict per file (bytes, package content, manifest without
its packages, one side only). Never timings."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

from compare_outputs import compare  # noqa: E402


def _package(path: Path, parts: dict[str, str], date: tuple) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as package:
        for name, text in parts.items():
            package.writestr(zipfile.ZipInfo(name, date_time=date), text)


def test_each_verdict(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for side in (old, new):
        (side / "sdtm").mkdir(parents=True)
        (side / "sdtm" / "dm.xpt").write_bytes(b"same")
    (old / "adam").mkdir()
    (new / "adam").mkdir()
    (old / "adam" / "adsl.xpt").write_bytes(b"one")
    (new / "adam" / "adsl.xpt").write_bytes(b"two")
    (old / "adam" / "gone.json").write_text("{}")
    (new / "adam" / "new.json").write_text("{}")
    # the same XML written with other attribute quoting and zip dates: same content
    _package(old / "outputs" / "T1.xlsx", {"xl/sheet.xml": "<a x='1'><b/></a>"}, (1980, 1, 1, 0, 0, 0))
    _package(new / "outputs" / "T1.xlsx", {"xl/sheet.xml": '<a x="1"><b></b></a>'}, (2020, 1, 1, 0, 0, 0))
    _package(old / "outputs" / "T2.docx", {"word/document.xml": "<p>3.1</p>"}, (1980, 1, 1, 0, 0, 0))
    _package(new / "outputs" / "T2.docx", {"word/document.xml": "<p>3.2</p>"}, (1980, 1, 1, 0, 0, 0))
    for side, version in ((old, "1.0"), (new, "1.1")):
        (side / "outputs" / "manifest.json").write_text(json.dumps({"files": [1], "packages": {"x": version}}))
    verdict = compare(old, new)
    assert verdict == {"identical": ["sdtm/dm.xpt"], "same content": ["outputs/T1.xlsx", "outputs/manifest.json"],
                       "differs": ["adam/adsl.xpt", "outputs/T2.docx"], "only old": ["adam/gone.json"],
                       "only new": ["adam/new.json"]}
