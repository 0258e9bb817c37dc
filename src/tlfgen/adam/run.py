"""ADaM stage runner: ``run_adam(study)`` reads SDTM, runs every ADaM spec, writes adam/.

Outputs per dataset: ``adam/<name>.xpt`` (v5, numeric SAS dates with DATE9.),
``adam/<name>.json`` (Dataset-JSON 1.1), ``adam/lineage/<name>.json`` (per
record, the SDTM records used); plus ``adam/define.xml`` for all datasets.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Collection

import pandas as pd

from tlfgen.adam.engine import BuiltDataset, is_row_subset, read_sdtm, run_dataset
from tlfgen.adam.lineage import LINEAGE_VERSION, create_lineage_text  # noqa: F401
from tlfgen.io.atomic import atomic_write_text
from tlfgen.io.metadata import StudyMetadata
from tlfgen.results import DatasetCount, StageResult
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.inputs import ColumnNeeds, compute_input_columns
from tlfgen.spec.study import ResolvedStudy
from tlfgen.units import Unit, run_units

#: what a dataset's writer imports on first use (``Unit.imports``: imported once before forking)
WRITE_IMPORTS = ("tlfgen.io.xpt", "tlfgen.lineage.define_content", "tlfgen.lineage.graph")

def write_lineage(built: BuiltDataset, path: Path) -> Path:
    return atomic_write_text(path, create_lineage_text(built.name, list(built.metadata.keys), built.lineage))


def write_dataset(study: ResolvedStudy, built: BuiltDataset) -> tuple[list[Path], object, object]:
    """Write XPT, Dataset-JSON and lineage of one dataset; returns the paths, the define.xml
    metadata and the metadata the XPT file was written with."""
    from tlfgen.io.datasetjson import write_dataset_json
    from tlfgen.io.xpt import complete_metadata, write_xpt
    from tlfgen.lineage.define import metadata_version_oid, study_oid
    from tlfgen.lineage.define_content import create_ct_codelists, create_define_metadata

    folder = study.adam_dir
    name = built.name.lower()
    profiles: dict = {}  # each text column looked at once for the metadata, the XPT and the JSON
    meta = complete_metadata(built.metadata, built.data, profiles=profiles)
    xpt = write_xpt(built.data, meta, folder / f"{name}.xpt", profiles=profiles)
    paths = [
        xpt,
        write_dataset_json(built.data, meta, folder / f"{name}.json", study_oid=study_oid(study.studyid),
                           metadata_version_oid=metadata_version_oid(study.studyid, "ADAM"),
                           metadata_ref="define.xml", profiles=profiles),
        write_lineage(built, folder / "lineage" / f"{name}.json"),
    ]
    # define.xml: codelists, value level and Mandatory from the IG and the data
    return paths, create_define_metadata(meta, built.data, create_ct_codelists(load_stage_specs(study, "ct"))), meta


def write_define(study: ResolvedStudy, metas: list, result: StageResult) -> None:
    """adam/define.xml through tlfgen.lineage.define (when that module is part of the build)."""
    try:
        define = importlib.import_module("tlfgen.lineage.define")
    except ModuleNotFoundError as exc:
        if exc.name != "tlfgen.lineage.define":
            raise
        result.notes.append("adam/define.xml not written: tlfgen.lineage.define is not available")
        return
    info = study.spec.study
    from tlfgen.io.metadata import CtStandard

    codelists = load_stage_specs(study, "ct").values()
    packages = dict.fromkeys(c.standard for c in codelists if c.standard is not None)
    metadata = StudyMetadata(studyid=info.id, name=info.name, description=info.description,
                             protocol=info.protocol, datasets=tuple(metas),
                             ct_standards=tuple(CtStandard(*p) for p in packages),
                             metadata_version_oid=define.metadata_version_oid(info.id, "ADAM"))
    path = study.adam_dir / "define.xml"
    define.write_define_xml(metadata, path)
    result.outputs += [path, study.adam_dir / define.STYLESHEET]


@dataclass
class _Done:
    """One dataset derived and written: what the stage result needs of it."""

    name: str
    paths: list[Path]
    meta: object
    findings: list
    count: DatasetCount
    xpt_meta: object = None  # what the XPT file was written with


def adam_units(study: ResolvedStudy, upstream: Collection[str] = ()) -> list[Unit]:
    """The ADaM stage as work units (``tlfgen.units``).

    ``read.sdtm.<D>``: an SDTM dataset the specs read (only the columns they use); ``adam.<NAME>``:
    one dataset derived from its spec's inputs (``BuiltDataset``); ``write.adam.<NAME>``: its XPT,
    Dataset-JSON and lineage files; ``adam``: define.xml (and, for a study supplying SDTM, the
    supplied records' lineage) and the stage's result, in spec order.
    """
    specs = load_stage_specs(study, "adam")
    columns = compute_input_columns(specs.datasets)  # read only the columns the specs use
    needed = sorted({item.split(".")[1] for ds in specs.datasets for item in ds.spec.inputs
                     if item.startswith("sdtm.")})
    units = [Unit(f"read.sdtm.{name}", _written_by(name, upstream),
                  partial(_read_input, study, name, columns.get(f"sdtm.{name}")), main=True) for name in needed]
    later = _dependents(specs.datasets)
    for ds in specs.datasets:
        inputs = tuple(f"read.{item}" if item.startswith("sdtm.") else item for item in ds.spec.inputs)
        units.append(Unit(f"adam.{ds.name}", inputs, partial(_derive, study, ds), cost=float(later[ds.name])))
        units.append(Unit(f"write.adam.{ds.name}", (f"adam.{ds.name}", "adam.folders"), partial(_write, study),
                          cost=float(later[ds.name]), imports=WRITE_IMPORTS))
    supplied = tuple(f"read.sdtm.{name}" for name in needed) if study.start == "sdtm" else ()
    units.insert(0, Unit("adam.folders", (), partial(_make_folders, study), main=True))
    written = tuple(f"write.adam.{ds.name}" for ds in specs.datasets)
    units.append(Unit("adam", (*written, *supplied), partial(_finish, study, needed, len(written)), main=True))
    return units


def _dependents(datasets: list) -> dict[str, int]:
    """Dataset name -> 1 + how many datasets read it, directly or not (a scheduling hint)."""
    reads = {ds.name: {i.split(".")[1] for i in ds.spec.inputs if i.startswith("adam.")} for ds in datasets}

    def above(name: str, seen: set[str]) -> set[str]:
        for other, inputs in reads.items():
            if name in inputs and other not in seen:
                seen.add(other)
                above(other, seen)
        return seen

    return {ds.name: 1 + len(above(ds.name, set())) for ds in datasets}


def _written_by(name: str, upstream: Collection[str]) -> tuple[str, ...]:
    """The unit of the same run that writes ``sdtm/<name>.xpt`` (SUPPAE: AE's writer), else none."""
    for domain in (name, name[4:] if name.startswith("SUPP") else None):
        if domain and f"write.sdtm.{domain}" in upstream:
            return (f"write.sdtm.{domain}",)
    return ("sdtm",) if "sdtm" in upstream else ()


def _make_folders(study: ResolvedStudy) -> None:
    study.adam_dir.mkdir(parents=True, exist_ok=True)
    (study.adam_dir / "lineage").mkdir(exist_ok=True)


def _read_input(study: ResolvedStudy, name: str, columns: ColumnNeeds | None, *_written) -> pd.DataFrame:
    return read_sdtm(study.sdtm_dir, name, columns)


def _derive(study: ResolvedStudy, ds, *frames) -> BuiltDataset:
    sources = {item: frame.data if isinstance(frame, BuiltDataset) else frame
               for item, frame in zip(ds.spec.inputs, frames)}
    return run_dataset(ds, sources, study.spec.study)


def _write(study: ResolvedStudy, built: BuiltDataset, _folders: None = None) -> _Done:
    paths, meta, written = write_dataset(study, built)
    dropped = built.rows_in - len(built.data)
    count = DatasetCount(built.name, rows_in=built.rows_in, rows_out=len(built.data),
                         rejected={"subject not in ADSL": dropped} if dropped > 0 else {})
    return _Done(built.name, paths, meta, built.findings, count, written)


def _finish(study: ResolvedStudy, needed: list[str], count: int, *values) -> StageResult:
    done: list[_Done] = list(values[:count])
    result = StageResult("adam")
    for item in done:  # spec order, wherever each was made
        result.outputs.extend(item.paths)
        result.findings.extend(item.findings)
        result.counts.append(item.count)
    if study.start == "sdtm":  # supplied SDTM: its records start the lineage
        from tlfgen.adam.supplied import write_supplied_lineage

        # an input read with only the records the specs select is read again whole: every record has lineage
        frames = {name: read_sdtm(study.sdtm_dir, name) if is_row_subset(frame) else frame
                  for name, frame in zip(needed, values[count:])}
        result.outputs.extend(write_supplied_lineage(study, frames))
    write_define(study, [item.meta for item in done], result)
    result.findings.sort(key=lambda f: f.sort_key())
    return result


def run_adam(study: ResolvedStudy) -> StageResult:
    """Derive every ADaM dataset of the study (ADSL first) and write adam/ (``adam_units``)."""
    return run_units(adam_units(study), ["adam"])["adam"]
