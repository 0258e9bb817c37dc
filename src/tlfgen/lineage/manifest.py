"""Lineage: the run manifest (``outputs/manifest.json``) and ``tlfgen verify``.

The manifest records the tool version, Python and package versions, the data
cutoff, the run time (``SOURCE_DATE_EPOCH`` when set) and the SHA-256 of every
spec, template, raw input and output. ``verify_manifest`` re-hashes the files
and reports what changed since the run: a tampered output, an edited spec, a
file added or removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tlfgen import __version__
from tlfgen.errors import DataError
from tlfgen.spec.study import ResolvedStudy

SCHEMA_VERSION = "1.0"
MANIFEST_NAME = "manifest.json"
#: category -> folder attribute of ResolvedStudy
CATEGORIES = (("specs", "specs_dir"), ("raw", "raw_dir"), ("sdtm", "sdtm_dir"), ("adam", "adam_dir"),
              ("outputs", "outputs_dir"))
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_timestamp() -> str:
    """The run time in UTC ISO 8601; ``SOURCE_DATE_EPOCH`` fixes it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), tz=timezone.utc) if epoch else datetime.now(timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def package_versions() -> dict[str, str]:
    """The versions ``tlfgen --version`` prints (tlfgen's direct dependencies, ``tlfgen.versions``)."""
    from tlfgen.versions import package_versions as installed

    return installed()


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in rel.parts)


def hash_tree(folder: Path, root: Path, *, skip: set[Path] | None = None) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, keyed by its path relative to ``root``, sorted."""
    hashes: dict[str, str] = {}
    if not folder.is_dir():
        return hashes
    from tlfgen.tlf.background import background

    skip = skip or set()
    keyed: dict[str, Path] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        resolved = path.resolve()
        if _hidden(rel) or resolved in skip or path.name.endswith(".tmp"):
            continue
        try:
            key = resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            key = path.as_posix()
        keyed[key] = path
    # hashlib releases the GIL on large updates: the shared worker threads hash two files at once
    # (at 5,000 subjects ~600 MB of SDTM, ADaM and outputs are re-read here)
    for key, digest in zip(keyed, background().map(sha256_file, keyed.values()), strict=True):
        hashes[key] = digest
    return hashes


def manifest_path(study: ResolvedStudy) -> Path:
    return study.outputs_dir / MANIFEST_NAME


def build_manifest(study: ResolvedStudy) -> dict:
    skip = {manifest_path(study).resolve()}
    files = {name: hash_tree(getattr(study, attr), study.root, skip=skip) for name, attr in CATEGORIES}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "tlfgen", "version": __version__},
        "python": platform.python_version(),
        "packages": package_versions(),
        "study": {"id": study.studyid, "data_cutoff": study.cutoff.isoformat()},
        "run_time": run_timestamp(),
        "files": files,
    }


def write_manifest(study: ResolvedStudy) -> Path:
    from tlfgen.io.atomic import atomic_write_text

    path = manifest_path(study)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(build_manifest(study), indent=2, sort_keys=True) + "\n")
    return path


@dataclass
class VerifyReport:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added)


def verify_manifest(study: ResolvedStudy) -> VerifyReport:
    """Re-hash every file and compare with the manifest of the last run."""
    path = manifest_path(study)
    if not path.is_file():
        raise DataError("no run manifest found", file=study.display(path),
                        hint="run `tlfgen run` first; verify compares against its manifest")
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        recorded_files = recorded["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"the run manifest is not valid: {exc}", file=study.display(path),
                        hint="run `tlfgen run` again to rebuild it") from None
    current = build_manifest(study)["files"]
    report = VerifyReport()
    for category, _ in CATEGORIES:
        old = recorded_files.get(category, {})
        new = current.get(category, {})
        report.checked += len(old)
        report.changed += sorted(k for k in old if k in new and old[k] != new[k])
        report.missing += sorted(k for k in old if k not in new)
        report.added += sorted(k for k in new if k not in old)
    return report
