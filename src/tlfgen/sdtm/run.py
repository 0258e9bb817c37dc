"""SDTM stage runner: raw exports -> checks -> SDTM domains -> files, findings and reconciliation.

``run_sdtm(study)`` reads every raw form declared in ``specs/sdtm/forms.yaml``,
runs the record checks (unknown subjects, duplicates), maps every domain spec
(DM first: the others need its reference dates), writes ``sdtm/<domain>.xpt``
and ``.json`` (+ SUPP--), ``sdtm/define.xml``, ``sdtm/lineage/<domain>.json``
and ``outputs/qc/findings.xlsx``, and returns the counts and findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

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

FIRST = ("DM",)


@dataclass
class SdtmRun:
    """Everything mapped, before writing (tests use it without touching the disk)."""

    results: dict[str, DomainResult]
    forms: dict[str, RawForm]
    counts: list[DatasetCount]
    findings: list[Finding]
    #: per domain, what ``map_study``'s ``finish`` returned (None without it)
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


def map_study(study: ResolvedStudy, *, finish: Callable[[DomainResult], Any] | None = None) -> SdtmRun:
    """Read, check and map every domain (no files written).

    ``finish``: called with each domain's result in the process that mapped it (``run_sdtm``
    writes the files with it); what it returns is kept in ``SdtmRun.finished``. With it, once DM
    is mapped, the other domains are shared with a second process (``tlfgen.parallel``; each
    takes the next domain, largest first, when it is free): there ``finish`` runs too, and only what it returns comes back (the results keep their counts and
    ``supp`` length, not their data). Findings and reconciliation are merged in domain order, so
    they are the same as in one process.
    """
    from tlfgen.parallel import WorkQueue, can_fork, start_child

    specs: SdtmSpecs = load_stage_specs(study, "sdtm")
    forms = read_forms(study, specs)
    ctx = MappingContext(study, specs, forms)
    ctx.findings.extend(check_forms(forms, specs, study.studyid))
    for form in forms.values():
        ctx.usage.setdefault(form.file, FileUsage())
    order = [d for d in FIRST if d in specs.domains] + sorted(d for d in specs.domains if d not in FIRST)
    mapped: dict[str, _Mapped] = {}
    for name in [d for d in order if d in FIRST]:
        mapped[name] = _map_domain(specs.domains[name], ctx, finish)
        if name == "DM":
            dm = mapped[name].result.data
            ctx.reference = dm[[c for c in ("USUBJID", "RFSTDTC", "RFENDTC", "BRTHDTC") if c in dm]].copy()
    # the largest first; with ``finish``, this process and a second one each take the next when free
    rest = sorted((d for d in order if d not in FIRST), key=lambda d: (-domain_cost(specs, forms, d), d))
    queue = WorkQueue(len(rest))
    child = start_child(lambda channel: _map_in_child(rest, queue, ctx, finish), name="SDTM") \
        if finish is not None and can_fork() else None
    try:
        while (k := queue.take()) is not None:
            mapped[rest[k]] = _map_domain(specs.domains[rest[k]], ctx, finish)
        if child is not None:
            mapped.update(child.result())
    except BaseException:
        if child is not None:
            child.stop()
        raise
    results: dict[str, DomainResult] = {}
    finished: dict[str, Any] = {}
    for name in order:  # the order one process maps them in
        item = mapped[name]
        results[name] = item.result
        finished[name] = item.finished
        ctx.findings.extend(item.findings)
        for file, usage in item.usage.items():
            merge_usage(ctx.usage.setdefault(file, FileUsage()), usage)
    counts = [reconcile(form, ctx.usage[form.file]) for form in forms.values()]
    counts += [results[name].count for name in order]
    return SdtmRun(results, forms, counts, sort_findings(ctx.findings), finished)


@dataclass
class _Mapped:
    """One domain mapped: its result, the findings and raw-row usage it added, what ``finish`` gave."""

    result: DomainResult
    findings: list[Finding]
    usage: dict[str, FileUsage]
    finished: Any = None


def _map_domain(rd, ctx: MappingContext, finish: Callable[[DomainResult], Any] | None) -> _Mapped:
    """Map one domain with its own findings and usage (merged later in domain order)."""
    saved = ctx.findings, ctx.usage
    ctx.findings, ctx.usage = [], {}
    try:
        result = build_domain(rd, ctx)
        findings, usage = ctx.findings, ctx.usage
    except TlfgenError:
        raise
    except Exception as exc:  # a bug or an unforeseen input: name the domain, keep the cause
        raise DerivationError(f"mapping failed: {type(exc).__name__}: {exc}", dataset=rd.name,
                              hint=f"spec {rd.display}; run with --debug for the traceback") from exc
    finally:
        ctx.findings, ctx.usage = saved
    return _Mapped(result, findings, usage, finish(result) if finish is not None else None)


def _map_in_child(names: list[str], queue, ctx: MappingContext, finish) -> dict[str, _Mapped]:
    """Second process: map and finish the domains it takes from ``queue``; the data stays here
    (``finish`` wrote it), the rest of each result goes back."""
    out = {}
    while (k := queue.take()) is not None:
        item = _map_domain(ctx.specs.domains[names[k]], ctx, finish)
        item.result = replace(item.result, data=item.result.data.iloc[:0], lineage={},
                              supp=None if item.result.supp is None else item.result.supp.iloc[:0])
        out[names[k]] = item
    return out


def merge_usage(into: FileUsage, usage: FileUsage) -> None:
    """Add one domain's raw-row usage to a file's (the first reason recorded for a row stays)."""
    for domain, rows in usage.mapped.items():
        into.mapped.setdefault(domain, set()).update(rows)
    for row, reason in usage.skipped.items():
        into.skipped.setdefault(row, reason)


def domain_cost(specs: SdtmSpecs, forms: dict[str, RawForm], name: str) -> int:
    """Rough size of mapping a domain: raw rows read times variables written."""
    spec = specs.domains[name].spec
    rows = sum(len(forms[s.form].data) for s in spec.sources if s.form in forms)
    return max(rows, 1) * max(len(spec.variables), 1)


def _seq_var(rd) -> str | None:
    return next((v.name for v in rd.spec.variables if v.derive and v.derive.name == SEQ_DERIVATION), None)


def ct_standards(specs: SdtmSpecs) -> tuple[CtStandard, ...]:
    """The CT packages the study's codelists declare (specs/ct/*.yaml ``standard``)."""
    found = dict.fromkeys(c.standard for c in specs.codelists.values() if c.standard is not None)
    return tuple(CtStandard(*package) for package in found)


def run_sdtm(study: ResolvedStudy) -> StageResult:
    """The SDTM stage: map, write every domain, define.xml, lineage and the findings report."""
    from tlfgen.sdtm.write import SDTM_MDV, write_define

    specs: SdtmSpecs = load_stage_specs(study, "sdtm")
    run = map_study(study, finish=lambda result: write_domain(study, specs, result))
    outputs = []
    metas = []
    for name in sorted(run.results):
        written: WrittenDomain = run.finished[name]
        metas += written.metas
        outputs += written.paths
    info = study.spec.study
    study_meta = StudyMetadata(studyid=study.studyid, name=info.name, description=info.description,
                               protocol=info.protocol, datasets=tuple(sorted(metas, key=lambda m: m.name)),
                               ct_standards=ct_standards(specs), metadata_version_oid=SDTM_MDV(study.studyid))
    outputs += write_define(study_meta, study.sdtm_dir)
    outputs.append(write_findings_report(run.findings, run.counts, study.outputs_dir / "qc" / "findings.xlsx"))
    supp_counts = [DatasetCount(f"SUPP{n}", written.supp_rows, written.supp_rows)
                   for n, written in sorted(run.finished.items()) if written.supp_rows is not None]
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
