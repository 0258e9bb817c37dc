"""Same outputs before and after a change (issue 23's "Must show"): runs two versions of tlfgen on
the same studies and compares every file they write under sdtm/, adam/ and outputs/. Measures
nothing; changes nothing under src/.

    .venv/bin/python benchmarks/compare_outputs.py --old-src /path/to/old/checkout/src
    .venv/bin/python benchmarks/compare_outputs.py --old-src OLD/src --sizes embedded,1000,5000 \\
        --backend inprocess --backend pool --backend dask --out /tmp/same.md

``--old-src``: the ``src`` folder of the version to compare with (run with this interpreter and
``PYTHONPATH`` set to it); the new version is the one this interpreter imports. Studies: ``embedded``
(the repository's specs/ and raw/) and simulated sizes (total subjects, seed 20200803, as
``benchmarks/run.py`` builds them). Each study is run once by the old version (one process,
``TLFGEN_JOBS=1``) and once by the new version per ``--backend``:

- ``inprocess``: ``TLFGEN_JOBS=1``, every unit in the one process;
- ``pool``: the default local pool (``TLFGEN_JOBS`` unset, two processes);
- ``dask``: ``tlfgen run --study DIR --backend dask --jobs 2`` (a two-worker LocalCluster).

Every run has the same ``SOURCE_DATE_EPOCH``. A file is "identical" when its bytes are; a DOCX or
XLSX whose bytes differ is "same content" when every part of its package is the same after parsing
(XML compared as canonical XML, other parts as bytes), else "differs". ``outputs/manifest.json``
records the installed packages, which differ when the old version's ``src`` carries an older
``tlfgen.egg-info``: it is "same content" when it is the same without its ``packages`` entry.
Files only one side wrote are listed. The command exits 1 when any file differs or is missing on one side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree.ElementTree import canonicalize

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("sdtm", "adam", "outputs")
PACKAGES = {".docx", ".xlsx"}
MANIFEST = "outputs/manifest.json"
SEED = 20200803


def prepare(work: Path, size: str) -> Path:
    """A study folder for ``size`` (``embedded`` or a number of subjects), made once."""
    study = work / f"study-{size}"
    if (study / "raw").is_dir():
        return study
    shutil.copytree(REPO / "specs", study / "specs")
    if size == "embedded":
        shutil.copytree(REPO / "raw", study / "raw")
    else:
        from tlfgen.simulate.run import simulate

        simulate(study / "raw", subjects_per_arm=int(size) // 2, seed=SEED)
    return study


def run(study: Path, target: Path, *, src: str | None, backend: str, log: Path) -> int:
    """Copy ``study``'s inputs to ``target`` and run ``tlfgen run`` there; its exit code."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("specs", "raw"):
        shutil.copytree(study / name, target / name)
    env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "1700000000"), MPLBACKEND="Agg")
    env.pop("TLFGEN_JOBS", None)
    if src is not None:
        env["PYTHONPATH"] = src
    args = [sys.executable, "-m", "tlfgen.cli", "--study", str(target), "run", "--allow-data-errors"]
    if backend == "inprocess":
        env["TLFGEN_JOBS"] = "1"
    elif backend == "dask":
        args = [sys.executable, "-m", "tlfgen.cli", "run", "--study", str(target), "--backend", "dask",
                "--jobs", "2", "--allow-data-errors"]
    with log.open("w") as out:
        return subprocess.run(args, env=env, stdout=out, stderr=subprocess.STDOUT).returncode


def files_of(study: Path) -> dict[str, Path]:
    return {p.relative_to(study).as_posix(): p for root in ROOTS for p in sorted((study / root).rglob("*"))
            if p.is_file()}


def package_parts(path: Path) -> dict[str, bytes]:
    """Each part of a DOCX/XLSX package, XML parts in canonical form."""
    parts = {}
    with zipfile.ZipFile(path) as package:
        for name in sorted(package.namelist()):
            data = package.read(name)
            if name.endswith((".xml", ".rels")):
                data = canonicalize(data.decode("utf-8")).encode("utf-8")
            parts[name] = data
    return parts


def _without_packages(path: Path) -> dict:
    doc = json.loads(path.read_text())
    doc.pop("packages", None)
    return doc


def compare(old: Path, new: Path) -> dict[str, list[str]]:
    """Relative paths by verdict: identical, same content, differs, only old, only new."""
    before, after = files_of(old), files_of(new)
    verdict: dict[str, list[str]] = {"identical": [], "same content": [], "differs": [], "only old": [],
                                     "only new": []}
    for name in sorted(set(before) | set(after)):
        if name not in after:
            verdict["only old"].append(name)
        elif name not in before:
            verdict["only new"].append(name)
        elif before[name].read_bytes() == after[name].read_bytes():
            verdict["identical"].append(name)
        elif Path(name).suffix in PACKAGES and package_parts(before[name]) == package_parts(after[name]):
            verdict["same content"].append(name)
        elif name == MANIFEST and _without_packages(before[name]) == _without_packages(after[name]):
            verdict["same content"].append(name)
        else:
            verdict["differs"].append(name)
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-src", required=True, help="src folder of the version to compare with")
    parser.add_argument("--sizes", default="embedded,1000", help="embedded and/or total subjects, comma separated")
    parser.add_argument("--backend", action="append", choices=("inprocess", "pool", "dask"),
                        help="backends of the new version (repeatable; default inprocess and pool)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "compare")
    parser.add_argument("--out", type=Path, help="append the markdown table to this file")
    args = parser.parse_args()
    backends = args.backend or ["inprocess", "pool"]
    rows, bad = [], []
    for size in args.sizes.split(","):
        study = prepare(args.work, size.strip())
        old = args.work / f"old-{size}"
        code = run(study, old, src=str(Path(args.old_src).resolve()), backend="inprocess",
                   log=args.work / f"old-{size}.log")
        for backend in backends:
            new = args.work / f"new-{size}-{backend}"
            new_code = run(study, new, src=None, backend=backend, log=args.work / f"new-{size}-{backend}.log")
            verdict = compare(old, new)
            counts = {k: len(v) for k, v in verdict.items()}
            rows.append(f"| {size} | {backend} | {code} / {new_code} | " + " | ".join(str(counts[k]) for k in counts)
                        + " |")
            for kind in ("differs", "only old", "only new"):
                bad += [f"{size} {backend}: {kind}: {name}" for name in verdict[kind]]
            if new_code != code:
                bad.append(f"{size} {backend}: exit code {new_code}, the old version's {code}")
    table = ["| study | backend | exit old / new | identical | same content | differs | only old | only new |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |", *rows]
    text = "\n".join(table) + "\n" + "".join(f"\n- {line}" for line in bad) + "\n"
    print(text)
    if args.out is not None:
        with args.out.open("a") as handle:
            handle.write(text)
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
