"""ADaM stage runner: ``run_adam(study)`` reads SDTM, runs every ADaM spec, writes adam/.

Outputs per dataset: ``adam/<name>.xpt`` (v5, numeric SAS dates with DATE9.),
``adam/<name>.json`` (Dataset-JSON 1.1), ``adam/lineage/<name>.json`` (per
record, the SDTM records used); plus ``adam/define.xml`` for all datasets.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd

from tlfgen.adam.engine import BuiltDataset, read_sdtm, run_dataset, sdtm_paths
from tlfgen.io.atomic import atomic_write_text
from tlfgen.io.metadata import StudyMetadata
from tlfgen.lineage.jsondump import dumps_indented
from tlfgen.pipeline import DatasetCount, StageResult, publish_written, release_written
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.study import ResolvedStudy

LINEAGE_VERSION = 1


def write_lineage(built: BuiltDataset, path: Path) -> Path:
    doc = {"version": LINEAGE_VERSION, "dataset": built.name, "keys": list(built.metadata.keys),
           "records": built.lineage}
    return atomic_write_text(path, dumps_indented(doc, sort_keys=False) + "\n")


def write_dataset(study: ResolvedStudy, built: BuiltDataset) -> tuple[list[Path], object]:
    """Write XPT, Dataset-JSON and lineage of one dataset; returns the paths and the final metadata."""
    from tlfgen.io.datasetjson import write_dataset_json
    from tlfgen.io.xpt import complete_metadata, write_xpt

    folder = study.adam_dir
    name = built.name.lower()
    meta = complete_metadata(built.metadata, built.data)
    xpt = write_xpt(built.data, meta, folder / f"{name}.xpt")
    # the TLF stage of the same run takes it instead of reading; built now: later datasets use built.data
    publish_written("adam", xpt, built.data, meta, build_now=True)
    paths = [
        xpt,
        write_dataset_json(built.data, meta, folder / f"{name}.json", study_oid=study.studyid,
                           metadata_version_oid=f"MDV.{study.studyid}.ADAM",
                           metadata_ref="define.xml"),
        write_lineage(built, folder / "lineage" / f"{name}.json"),
    ]
    return paths, meta


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
    metadata = StudyMetadata(studyid=info.id, name=info.name, description=info.description,
                             protocol=info.protocol, datasets=tuple(metas))
    path = study.adam_dir / "define.xml"
    define.write_define_xml(metadata, path)
    result.outputs.append(path)


def run_adam(study: ResolvedStudy) -> StageResult:
    """Derive every ADaM dataset of the study (ADSL first) and write adam/."""
    specs = load_stage_specs(study, "adam")
    result = StageResult("adam")
    sources: dict[str, pd.DataFrame] = {}
    metas = []
    study.adam_dir.mkdir(parents=True, exist_ok=True)
    (study.adam_dir / "lineage").mkdir(exist_ok=True)
    needed = {item.split(".")[1] for ds in specs.datasets for item in ds.spec.inputs if item.startswith("sdtm.")}
    # SDTM frames the SDTM stage of this run handed on: keep only those read below
    release_written(study.cache, "sdtm", keep=[p for name in needed for p in sdtm_paths(study.sdtm_dir, name)])
    for ds in specs.datasets:
        for item in ds.spec.inputs:
            stage, name = item.split(".")
            if item not in sources and stage == "sdtm":
                sources[item] = read_sdtm(study.sdtm_dir, name, study.cache)
        inputs = {item: sources[item] for item in ds.spec.inputs}
        built = run_dataset(ds, inputs, study.spec.study)
        sources[f"adam.{ds.name}"] = built.data
        paths, meta = write_dataset(study, built)
        metas.append(meta)
        result.outputs.extend(paths)
        result.findings.extend(built.findings)
        result.counts.append(DatasetCount(ds.name, rows_in=built.rows_in, rows_out=len(built.data),
                                          rejected=({"subject not in ADSL": built.rows_in - len(built.data)}
                                                    if built.rows_in > len(built.data) else {})))
    release_written(study.cache, "sdtm")
    write_define(study, metas, result)
    result.findings.sort(key=lambda f: f.sort_key())
    return result
