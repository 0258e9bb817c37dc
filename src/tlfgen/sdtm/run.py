"""SDTM stage runner: raw exports -> checks -> SDTM domains -> files, findings and reconciliation.

``run_sdtm(study)`` reads every raw form declared in ``specs/sdtm/forms.yaml``,
runs the record checks (unknown subjects, duplicates), maps every domain spec
(DM first: the others need its reference dates), writes ``sdtm/<domain>.xpt``
and ``.json`` (+ SUPP--), ``sdtm/define.xml``, ``sdtm/lineage/<domain>.json``
and ``outputs/qc/findings.xlsx``, and returns the counts and findings.
"""

from __future__ import annotations

from dataclasses import dataclass

from tlfgen.errors import DerivationError, TlfgenError
from tlfgen.io.metadata import StudyMetadata
from tlfgen.pipeline import DatasetCount, Finding, StageResult
from tlfgen.raw.checks import check_duplicates, check_studyid, check_unknown_subjects, known_subjects
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


def read_forms(study: ResolvedStudy, specs: SdtmSpecs) -> dict[str, RawForm]:
    forms = {}
    for name, form in sorted(specs.forms.items()):
        path = study.raw_dir / form.file
        forms[name] = read_raw_form(path, name=name, columns=form.columns, leading=list(specs.leading),
                                    display=study.display(path))
    return forms


def check_forms(forms: dict[str, RawForm], specs: SdtmSpecs, studyid: str) -> list[Finding]:
    findings: list[Finding] = []
    for form in forms.values():
        findings.extend(form.findings)
        findings.extend(check_studyid(form, studyid))
    known = known_subjects(forms, specs.subject_forms)
    for name, form in forms.items():
        findings.extend(check_unknown_subjects(form, known, studyid))
        spec = specs.forms[name]
        findings.extend(check_duplicates(form, spec.keys, list(specs.leading) + spec.columns, studyid))
    return findings


def map_study(study: ResolvedStudy) -> SdtmRun:
    """Read, check and map every domain (no files written)."""
    specs: SdtmSpecs = load_stage_specs(study, "sdtm")
    forms = read_forms(study, specs)
    ctx = MappingContext(study, specs, forms)
    ctx.findings.extend(check_forms(forms, specs, study.studyid))
    for form in forms.values():
        ctx.usage.setdefault(form.file, FileUsage())
    order = [d for d in FIRST if d in specs.domains] + sorted(d for d in specs.domains if d not in FIRST)
    results: dict[str, DomainResult] = {}
    for name in order:
        rd = specs.domains[name]
        try:
            results[name] = build_domain(rd, ctx)
        except TlfgenError:
            raise
        except Exception as exc:  # a bug or an unforeseen input: name the domain, keep the cause
            raise DerivationError(f"mapping failed: {type(exc).__name__}: {exc}", dataset=name,
                                  hint=f"spec {rd.display}; run with --debug for the traceback") from exc
        if name == "DM":
            dm = results[name].data
            ctx.reference = dm[[c for c in ("USUBJID", "RFSTDTC", "RFENDTC", "BRTHDTC") if c in dm]].copy()
    counts = [reconcile(form, ctx.usage[form.file]) for form in forms.values()]
    counts += [results[name].count for name in order]
    return SdtmRun(results, forms, counts, sort_findings(ctx.findings))


def _seq_var(rd) -> str | None:
    return next((v.name for v in rd.spec.variables if v.derive and v.derive.name == SEQ_DERIVATION), None)


def run_sdtm(study: ResolvedStudy) -> StageResult:
    """The SDTM stage: map, write every domain, define.xml, lineage and the findings report."""
    from tlfgen.sdtm.write import write_dataset, write_define, write_lineage

    run = map_study(study)
    specs: SdtmSpecs = load_stage_specs(study, "sdtm")
    folder = study.sdtm_dir
    outputs = []
    metas = []
    for name in sorted(run.results):
        result = run.results[name]
        rd = specs.domains[name]
        meta, paths = write_dataset(result.data, create_domain_metadata(rd, specs), folder, study.studyid)
        metas.append(meta)
        outputs += paths
        if result.supp is not None:
            supp_meta, paths = write_dataset(result.supp, create_supp_metadata(rd), folder, study.studyid)
            metas.append(supp_meta)
            outputs += paths
        outputs.append(write_lineage(result, folder))
    info = study.spec.study
    study_meta = StudyMetadata(studyid=study.studyid, name=info.name, description=info.description,
                               protocol=info.protocol, datasets=tuple(sorted(metas, key=lambda m: m.name)))
    outputs.append(write_define(study_meta, folder))
    outputs.append(write_findings_report(run.findings, run.counts, study.outputs_dir / "qc" / "findings.xlsx"))
    supp_counts = [DatasetCount(f"SUPP{n}", len(r.supp), len(r.supp)) for n, r in sorted(run.results.items())
                   if r.supp is not None]
    notes = [f"{len(run.results)} domains mapped; {sum(1 for f in run.findings if f.severity == 'ERROR')} "
             f"error finding(s) in the raw data (see outputs/qc/findings.xlsx)"]
    return StageResult("sdtm", counts=run.counts + supp_counts, findings=run.findings, outputs=outputs,
                       notes=notes)
