"""ADaM stage runner: ``run_adam(study)`` reads SDTM, runs every ADaM spec, writes adam/.

Outputs per dataset: ``adam/<name>.xpt`` (v5, numeric SAS dates with DATE9.),
``adam/<name>.json`` (Dataset-JSON 1.1), ``adam/lineage/<name>.json`` (per
record, the SDTM records used); plus ``adam/define.xml`` for all datasets.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tlfgen.adam.engine import BuiltDataset, is_row_subset, read_sdtm, run_dataset, sdtm_paths
from tlfgen.adam.lineage import LINEAGE_VERSION, create_lineage_text  # noqa: F401
from tlfgen.handoff import publish_written, release_written
from tlfgen.io.atomic import atomic_write_text
from tlfgen.io.metadata import StudyMetadata
from tlfgen.results import DatasetCount, StageResult
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.inputs import ColumnNeeds, compute_input_columns
from tlfgen.spec.study import ResolvedStudy

def write_lineage(built: BuiltDataset, path: Path) -> Path:
    return atomic_write_text(path, create_lineage_text(built.name, list(built.metadata.keys), built.lineage))


def write_dataset(study: ResolvedStudy, built: BuiltDataset) -> tuple[list[Path], object]:
    """Write XPT, Dataset-JSON and lineage of one dataset; returns the paths and the final metadata."""
    from tlfgen.io.datasetjson import write_dataset_json
    from tlfgen.io.xpt import complete_metadata, write_xpt
    from tlfgen.lineage.define import metadata_version_oid, study_oid
    from tlfgen.lineage.define_content import create_ct_codelists, create_define_metadata

    folder = study.adam_dir
    name = built.name.lower()
    meta = complete_metadata(built.metadata, built.data)
    xpt = write_xpt(built.data, meta, folder / f"{name}.xpt")
    # the TLF stage of the same run takes it instead of reading; built now: later datasets use built.data
    publish_written("adam", xpt, built.data, meta, build_now=True)
    paths = [
        xpt,
        write_dataset_json(built.data, meta, folder / f"{name}.json", study_oid=study_oid(study.studyid),
                           metadata_version_oid=metadata_version_oid(study.studyid, "ADAM"),
                           metadata_ref="define.xml"),
        write_lineage(built, folder / "lineage" / f"{name}.json"),
    ]
    # define.xml: codelists, value level and Mandatory from the IG and the data
    return paths, create_define_metadata(meta, built.data, create_ct_codelists(load_stage_specs(study, "ct")))


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
    """One dataset derived and written: what the stage result and the hand-off need of it."""

    name: str
    paths: list[Path]
    meta: object
    findings: list
    count: DatasetCount


def _derive_and_write(study: ResolvedStudy, ds, sources: dict[str, pd.DataFrame],
                      columns: dict[str, ColumnNeeds]) -> _Done:
    for item in ds.spec.inputs:
        stage, name = item.split(".")
        if item not in sources and stage == "sdtm":
            sources[item] = read_sdtm(study.sdtm_dir, name, study.cache, columns.get(item))
    built = run_dataset(ds, {item: sources[item] for item in ds.spec.inputs}, study.spec.study)
    sources[f"adam.{ds.name}"] = built.data
    paths, meta = write_dataset(study, built)
    dropped = built.rows_in - len(built.data)
    count = DatasetCount(ds.name, rows_in=built.rows_in, rows_out=len(built.data),
                         rejected={"subject not in ADSL": dropped} if dropped > 0 else {})
    return _Done(ds.name, paths, meta, built.findings, count)


def split_datasets(datasets: list, done: set[str]) -> tuple[list, list]:
    """(this process, second process): the datasets not ``done`` in groups that do not read each
    other (e.g. ADAE apart from ADRS -> ADTTE once ADSL is built), the largest group here, the
    others there; ``([...all], [])`` when they cannot be split. Spec order is kept in each part."""
    names = [ds.name for ds in datasets if ds.name not in done]
    group = {n: n for n in names}

    def root(n: str) -> str:
        while group[n] != n:
            n = group[n]
        return n

    for ds in datasets:
        if ds.name in done:
            continue
        for item in ds.spec.inputs:
            stage, name = item.split(".")
            if stage == "adam" and name in group:
                group[root(ds.name)] = root(name)
    roots = sorted({root(n) for n in names}, key=lambda r: (-sum(root(n) == r for n in names), names.index(r)))
    if len(roots) < 2:
        return [ds for ds in datasets if ds.name not in done], []
    here = {n for n in names if root(n) == roots[0]}
    return ([ds for ds in datasets if ds.name in here],
            [ds for ds in datasets if ds.name not in done and ds.name not in here])


def run_adam(study: ResolvedStudy) -> StageResult:
    """Derive every ADaM dataset of the study (ADSL first) and write adam/.

    Once the datasets left do not read each other (ADAE and ADRS -> ADTTE after ADSL), a second
    process (``tlfgen.parallel``) derives and writes one group while this one does the other;
    the result and the files are the same as in one process.
    """
    from tlfgen.parallel import can_fork, start_child

    specs = load_stage_specs(study, "adam")
    result = StageResult("adam")
    sources: dict[str, pd.DataFrame] = {}
    study.adam_dir.mkdir(parents=True, exist_ok=True)
    (study.adam_dir / "lineage").mkdir(exist_ok=True)
    needed = {item.split(".")[1] for ds in specs.datasets for item in ds.spec.inputs if item.startswith("sdtm.")}
    columns = compute_input_columns(specs.datasets)  # read only the columns the specs use
    # SDTM frames the SDTM stage of this run handed on: keep only those read below
    release_written(study.cache, "sdtm", keep=[p for name in needed for p in sdtm_paths(study.sdtm_dir, name)])
    done: dict[str, _Done] = {}
    remaining = list(specs.datasets)
    while remaining:
        here, there = split_datasets(remaining, set(done)) if can_fork() else (remaining, [])
        if not there:
            ds = remaining.pop(0)
            done[ds.name] = _derive_and_write(study, ds, sources, columns)
            continue
        # the second process's datasets reach the TLF hand-off through its result (tlfgen.parallel)
        with start_child(lambda channel: [_derive_and_write(study, ds, sources, columns) for ds in there],
                         name="ADaM") as child:
            for ds in here:
                done[ds.name] = _derive_and_write(study, ds, sources, columns)
            done.update((item.name, item) for item in child.result())
        remaining = []
    for ds in specs.datasets:  # spec order, however the work was shared
        item = done[ds.name]
        result.outputs.extend(item.paths)
        result.findings.extend(item.findings)
        result.counts.append(item.count)
    release_written(study.cache, "sdtm")
    if study.start == "sdtm":  # supplied SDTM: its records start the lineage
        from tlfgen.adam.supplied import write_supplied_lineage

        read = {name: None if is_row_subset(f := sources.get(f"sdtm.{name}")) else f for name in sorted(needed)}
        result.outputs.extend(write_supplied_lineage(study, {
            name: frame if frame is not None else read_sdtm(study.sdtm_dir, name) for name, frame in read.items()}))
    write_define(study, [done[ds.name].meta for ds in specs.datasets], result)
    result.findings.sort(key=lambda f: f.sort_key())
    return result

