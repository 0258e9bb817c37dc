"""SDTM stage runner: raw exports -> checks -> SDTM domains -> files, findings and reconciliation.

``run_sdtm(study)`` reads every raw form declared in ``specs/sdtm/forms.yaml``,
runs the record checks (unknown subjects, duplicates), maps every domain spec
(DM first: the others need its reference dates), writes ``sdtm/<domain>.xpt``
and ``.json`` (+ SUPP--), ``sdtm/define.xml``, ``sdtm/lineage/<domain>.json``
and ``outputs/qc/findings.xlsx``, and returns the counts and findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Collection

import pandas as pd

from tlfgen.errors import DerivationError, TlfgenError
from tlfgen.io.metadata import CtStandard, StudyMetadata
from tlfgen.raw.checks import (check_duplicates, check_non_negative, check_studyid, check_unknown_subjects,
                               known_subjects)
from tlfgen.results import DatasetCount, Finding, StageResult
from tlfgen.raw.keys import apply_identifiers
from tlfgen.raw.reader import RawForm, read_raw_form
from tlfgen.raw.reconcile import FileUsage, reconcile
from tlfgen.sdtm.context import MappingContext
from tlfgen.sdtm.engine import SEQ_DERIVATION, DomainResult, build_domain
from tlfgen.sdtm.metadata import create_domain_metadata, create_supp_metadata
from tlfgen.sdtm.report import sort_findings, write_findings_report
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.sdtm import SdtmSpecs
from tlfgen.spec.study import ResolvedStudy
from tlfgen.units import Unit, run_units

FIRST = ("DM",)
#: what a domain's writer imports on first use (``Unit.imports``: imported once before forking)
WRITE_IMPORTS = ("tlfgen.sdtm.write", "tlfgen.lineage.define_content", "tlfgen.lineage.graph")


@dataclass
class SdtmRun:
    """Everything mapped, before writing (tests use it without touching the disk)."""

    results: dict[str, DomainResult]
    forms: dict[str, RawForm]
    counts: list[DatasetCount]
    findings: list[Finding]
    #: per domain, what writing it gave (``WrittenDomain``; None when nothing was written)
    finished: dict[str, Any] = field(default_factory=dict)


def read_forms(study: ResolvedStudy, specs: SdtmSpecs) -> dict[str, RawForm]:
    """Read every declared form, with its identifier columns under their SDTM-side names."""
    forms = {}
    for name, form in sorted(specs.forms.items()):
        path = study.raw_dir / form.file
        ids = specs.identifiers(name)
        forms[name] = read_raw_form(path, name=name, columns=form.columns, leading=specs.required_columns(name),
                                    display=study.display(path), optional=form.optional)
        apply_identifiers(forms[name], ids.aliases(), ids.usubjid, study.studyid)
    return forms


def check_forms(forms: dict[str, RawForm], specs: SdtmSpecs, studyid: str) -> list[Finding]:
    findings: list[Finding] = []
    for name, form in forms.items():
        findings.extend(form.findings)
        findings.extend(check_studyid(form, studyid, specs.identifiers(name).study))
    known = known_subjects(forms, specs.subject_forms)
    subject_files = tuple(specs.forms[f].file for f in specs.subject_forms if f in specs.forms)
    for name, form in forms.items():
        findings.extend(check_unknown_subjects(form, known, studyid, column=specs.identifiers(name).subject,
                                               subject_files=subject_files))
        spec = specs.forms[name]
        fields = list(dict.fromkeys(specs.required_columns(name) + spec.columns))
        findings.extend(check_duplicates(form, spec.keys, fields, studyid))
        findings.extend(check_non_negative(form, spec.non_negative, studyid))
    return findings


def sdtm_units(study: ResolvedStudy, upstream: Collection[str] = (), *, write: bool = True) -> list[Unit]:
    """The SDTM stage as work units (``tlfgen.units``).

    ``sdtm.forms``: every raw form read and checked (a ``MappingContext``); ``sdtm.DM``: DM mapped;
    ``sdtm.reference``: its reference dates, which every other domain ``sdtm.<D>`` takes. With
    ``write``, ``write.sdtm.<D>`` writes each domain (XPT, Dataset-JSON, SUPP--, lineage sidecar)
    and ``sdtm`` writes define.xml and the findings report and gives the ``StageResult``; without
    it, ``sdtm.run`` gives the ``SdtmRun`` (nothing written). Findings and reconciliation are
    merged in domain order, so they do not depend on where or when each domain was mapped.
    """
    specs: SdtmSpecs = load_stage_specs(study, "sdtm")
    order = [d for d in FIRST if d in specs.domains] + sorted(d for d in specs.domains if d not in FIRST)
    units = [Unit("sdtm.forms", (), lambda: create_mapping_context(study, specs), main=True)]
    first = [d for d in order if d in FIRST]
    for name in first:
        units.append(Unit(f"sdtm.{name}", ("sdtm.forms",), partial(_map_first, specs.domains[name]), main=True))
    if "DM" in first:
        units.append(Unit("sdtm.reference", ("sdtm.DM",), create_reference, main=True))
    after = ("sdtm.forms", "sdtm.reference") if "DM" in first else ("sdtm.forms",)
    for name in order:
        if name not in FIRST:
            units.append(Unit(f"sdtm.{name}", after, partial(_map_rest, specs.domains[name]),
                              cost=estimate_domain_cost(study, specs, name)))
    if not write:
        mapped = tuple(f"sdtm.{d}" for d in order)
        units.append(Unit("sdtm.run", ("sdtm.forms", *mapped),
                          lambda ctx, *items: assemble_run(ctx, dict(zip(order, items)))))
        return units
    costs = {u.id: u.cost for u in units}
    for name in order:  # as costly as the domain: written right after it, before smaller domains
        units.append(Unit(f"write.sdtm.{name}", (f"sdtm.{name}",), partial(write_mapped, study, specs),
                          cost=costs[f"sdtm.{name}"], imports=WRITE_IMPORTS))
    written = tuple(f"write.sdtm.{d}" for d in order)
    units.append(Unit("sdtm", ("sdtm.forms", *written),
                      lambda ctx, *items: finish_stage(study, specs, ctx, dict(zip(order, items))), main=True))
    return units


def map_study(study: ResolvedStudy) -> SdtmRun:
    """Read, check and map every domain (no files written)."""
    return run_units(sdtm_units(study, write=False), ["sdtm.run"])["sdtm.run"]


def create_mapping_context(study: ResolvedStudy, specs: SdtmSpecs) -> MappingContext:
    """Every raw form read and checked: the context the domains are mapped in (its findings: the checks')."""
    forms = read_forms(study, specs)
    ctx = MappingContext(study, specs, forms)
    ctx.findings.extend(check_forms(forms, specs, study.studyid))
    for form in forms.values():
        ctx.usage.setdefault(form.file, FileUsage())
    return ctx


def create_reference(dm: _Mapped) -> pd.DataFrame:
    """DM's reference dates, one row per subject (what the other domains derive study days from)."""
    data = dm.result.data
    return data[[c for c in ("USUBJID", "RFSTDTC", "RFENDTC", "BRTHDTC") if c in data]].copy()


def _map_first(rd, ctx: MappingContext) -> _Mapped:
    return map_domain(rd, ctx, None)


def _map_rest(rd, ctx: MappingContext, reference: pd.DataFrame | None = None) -> _Mapped:
    return map_domain(rd, ctx, reference)


def estimate_domain_cost(study: ResolvedStudy, specs: SdtmSpecs, name: str) -> float:
    """Rough size of mapping a domain: bytes of the raw files it reads times variables written
    (a scheduling hint: the largest domains start first)."""
    spec = specs.domains[name].spec
    size = 0
    for source in spec.sources:
        form = specs.forms.get(source.form)
        path = study.raw_dir / form.file if form is not None else None
        size += path.stat().st_size if path is not None and path.is_file() else 0
    return float(max(size, 1) * max(len(spec.variables), 1))


def assemble_run(ctx: MappingContext, mapped: dict[str, _Mapped]) -> SdtmRun:
    """The domains mapped, with the checks' and every domain's findings and raw-row usage merged in domain order."""
    findings = list(ctx.findings)
    usage = {file: FileUsage() for file in ctx.usage}
    for file, used in ctx.usage.items():
        merge_usage(usage[file], used)
    for item in mapped.values():
        findings.extend(item.findings)
        for file, used in item.usage.items():
            merge_usage(usage.setdefault(file, FileUsage()), used)
    counts = [reconcile(form, usage[form.file]) for form in ctx.forms.values()]
    counts += [item.count for item in mapped.values()]
    results = {name: item.result for name, item in mapped.items()}
    return SdtmRun(results, ctx.forms, counts, sort_findings(findings),
                   {name: item.finished for name, item in mapped.items()})


@dataclass
class _Mapped:
    """One domain mapped: its result, the findings and raw-row usage it added, what writing it gave."""

    result: DomainResult
    findings: list[Finding]
    usage: dict[str, FileUsage]
    finished: Any = None

    @property
    def count(self) -> DatasetCount:
        return self.result.count


def map_domain(rd, ctx: MappingContext, reference: pd.DataFrame | None) -> _Mapped:
    """Map one domain in a context of its own (its findings and usage, merged later in domain order)."""
    own = replace(ctx, findings=[], usage={}, reference=reference)
    try:
        result = build_domain(rd, own)
    except TlfgenError:
        raise
    except Exception as exc:  # a bug or an unforeseen input: name the domain, keep the cause
        raise DerivationError(f"mapping failed: {type(exc).__name__}: {exc}", dataset=rd.name,
                              hint=f"spec {rd.display}; run with --debug for the traceback") from exc
    return _Mapped(result, own.findings, own.usage)


def merge_usage(into: FileUsage, usage: FileUsage) -> None:
    """Add one domain's raw-row usage to a file's (the first reason recorded for a row stays)."""
    for domain, rows in usage.mapped.items():
        into.mapped.setdefault(domain, set()).update(rows)
    for row, reason in usage.skipped.items():
        into.skipped.setdefault(row, reason)


def _seq_var(rd) -> str | None:
    return next((v.name for v in rd.spec.variables if v.derive and v.derive.name == SEQ_DERIVATION), None)


def ct_standards(specs: SdtmSpecs) -> tuple[CtStandard, ...]:
    """The CT packages the study's codelists declare (specs/ct/*.yaml ``standard``)."""
    found = dict.fromkeys(c.standard for c in specs.codelists.values() if c.standard is not None)
    return tuple(CtStandard(*package) for package in found)


def run_sdtm(study: ResolvedStudy) -> StageResult:
    """The SDTM stage: map, write every domain, define.xml, lineage and the findings report."""
    return run_units(sdtm_units(study), ["sdtm"])["sdtm"]


def write_mapped(study: ResolvedStudy, specs: SdtmSpecs, item: _Mapped) -> _Mapped:
    """Write one mapped domain; what the stage result needs of it (its data is not kept)."""
    written = write_domain(study, specs, item.result)
    result = replace(item.result, data=item.result.data.iloc[:0], lineage={},
                     supp=None if item.result.supp is None else item.result.supp.iloc[:0])
    return _Mapped(result, item.findings, item.usage, written)


def finish_stage(study: ResolvedStudy, specs: SdtmSpecs, ctx: MappingContext,
                 written: dict[str, _Mapped]) -> StageResult:
    """define.xml and the findings report of the domains written; the stage's result."""
    from tlfgen.sdtm.write import SDTM_MDV, write_define

    run = assemble_run(ctx, written)
    outputs = []
    metas = []
    for name in sorted(run.results):
        done: WrittenDomain = run.finished[name]
        metas += done.metas
        outputs += done.paths
    info = study.spec.study
    study_meta = StudyMetadata(studyid=study.studyid, name=info.name, description=info.description,
                               protocol=info.protocol, datasets=tuple(sorted(metas, key=lambda m: m.name)),
                               ct_standards=ct_standards(specs), metadata_version_oid=SDTM_MDV(study.studyid))
    outputs += write_define(study_meta, study.sdtm_dir)
    outputs.append(write_findings_report(run.findings, run.counts, study.outputs_dir / "qc" / "findings.xlsx"))
    supp_counts = [DatasetCount(f"SUPP{n}", done.supp_rows, done.supp_rows)
                   for n, done in sorted(run.finished.items()) if done.supp_rows is not None]
    notes = [f"{len(run.results)} domains mapped; {sum(1 for f in run.findings if f.severity == 'ERROR')} "
             f"error finding(s) in the raw data (see outputs/qc/findings.xlsx)"]
    return StageResult("sdtm", counts=run.counts + supp_counts, findings=run.findings, outputs=outputs,
                       notes=notes)


@dataclass
class WrittenDomain:
    """What writing one domain produced: metadata (domain, SUPP--), paths and SUPP-- rows."""

    metas: list
    paths: list[Path]
    supp_rows: int | None


def write_domain(study: ResolvedStudy, specs: SdtmSpecs, result: DomainResult) -> WrittenDomain:
    """Write one domain (XPT, Dataset-JSON, SUPP--, lineage sidecar)."""
    from tlfgen.lineage.define_content import create_ct_codelists, create_define_metadata
    from tlfgen.sdtm.write import write_dataset, write_lineage

    folder = study.sdtm_dir
    rd = specs.domains[result.name]
    parts = [(result.data, create_domain_metadata(rd, specs))]
    if result.supp is not None:
        parts.append((result.supp, create_supp_metadata(rd, specs)))
    metas, paths = [], []
    ct = create_ct_codelists(specs.codelists)
    for data, meta in parts:
        meta, written = write_dataset(data, meta, folder, study.studyid)
        metas.append(create_define_metadata(meta, data, ct))  # codelists, value level, Mandatory
        paths += written
    paths.append(write_lineage(result, folder))
    return WrittenDomain(metas, paths, None if result.supp is None else len(result.supp))
