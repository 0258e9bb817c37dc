"""Lineage layer: ``run_lineage(study)``, run after the TLF stage.

Writes ``outputs/lineage.json`` (variable and record lineage), ``outputs/ars/<output>.json``
(analysis results metadata) and ``outputs/lineage.html`` (the explorer page) from the
tables of the TLF stage (``write_lineage_outputs``), and ``outputs/qc/conformance.xlsx`` (the
conformance checks of sdtm/ and adam/, ``lineage.conformance``):

- when the TLF stage of the same run already did this work (in a process it forks once the
  tables are built, while it writes them: ``tlf.run``; the pipeline hands it ``write_lineage_outputs``,
  ``pipeline.AHEAD``), its result is taken (``study.cache``, while the specs and ADaM files are those
  it used);
- else the tables the TLF stage built in this process are reused, or rebuilt from
  ``adam/*.xpt`` (no rendering).

The record links are built by a forked child and this process together, one SDTM domain (or
the ADaM section) at a time (``lineage.record_blocks``), unless this process is itself such a
child; the bytes written do not depend on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlfgen.results import StageResult
from tlfgen.spec.study import ResolvedStudy
from tlfgen.tlf.run import LINEAGE_DONE_CACHE as DONE_CACHE

if TYPE_CHECKING:
    from tlfgen.spec.tlf import TlfSpecs
    from tlfgen.tlf.model import Table


def run_lineage(study: ResolvedStudy) -> StageResult:
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam, recall_built, recall_tables

    specs = load_stage_specs(study, "tlf")
    done = recall_built(study, specs, DONE_CACHE, pop=True)
    if done is None:
        tables = recall_tables(study, specs)
        if tables is None:  # the lineage stage on its own: rebuild the tables (no rendering)
            tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
        done = write_lineage_outputs(study, specs, tables)
    return add_conformance_report(study, done)  # type: ignore[arg-type]


def add_conformance_report(study: ResolvedStudy, result: StageResult) -> StageResult:
    """Write outputs/qc/conformance.xlsx and add it and a one-line summary to ``result``."""
    from tlfgen.lineage.conformance import write_conformance_report

    path, checks = write_conformance_report(study.sdtm_dir, study.adam_dir,
                                            study.outputs_dir / "qc" / "conformance.xlsx")
    failing = [c for c in checks if c.status == "FAIL"]
    warned = [c for c in checks if c.status == "WARN"]
    result.outputs.append(path)
    result.notes.append(f"conformance: {len(checks)} checks, {len(failing)} failing, {len(warned)} with warnings "
                        "(see outputs/qc/conformance.xlsx)")
    return result


def write_lineage_outputs(study: ResolvedStudy, specs: "TlfSpecs", tables: "list[Table]") -> StageResult:
    """Build the lineage of ``tables`` and write lineage.json, ars/*.json and lineage.html."""
    from tlfgen.lineage.ars import write_ars
    from tlfgen.lineage.graph import add_record_links, create_variable_lineage, write_lineage
    from tlfgen.lineage.html_report import write_html_report
    from tlfgen.gc_pause import paused_gc
    from tlfgen.lineage.record_blocks import create_record_blocks, join_blocks, record_parts
    from tlfgen.lineage.records import RecordIndex, build_record_links
    from tlfgen.parallel import WorkQueue, start_child

    # The record links (most of the work) are built by a second process and this one, each taking
    # the next piece (an SDTM domain file, or the ADaM section) from a shared queue (lineage.record_blocks).
    parts = record_parts(study)
    queue = WorkQueue(len(parts))
    with start_child(lambda _: create_record_blocks(study, parts, queue.take), name="lineage") as child:
        def records():
            blocks = create_record_blocks(study, parts, queue.take) + child.result()
            return join_blocks(blocks) or build_record_links(RecordIndex.load(study))

        with paused_gc():  # about a million small containers, no cycles: the collector would only rescan them
            # first what does not need the record links, then this process's share of them
            ars = write_ars(study, tables, specs)
            doc = create_variable_lineage(study, tables)
            html = write_html_report(study, tables)
            add_record_links(study, doc, records())
            outputs = [write_lineage(study, doc), *ars, html]
    notes = [f"lineage: {len(doc['nodes'])} variable nodes, {len(doc['edges'])} edges, "
             f"{len(doc['records']['sdtm'])} SDTM and {len(doc['records']['adam'])} ADaM records linked"]
    return StageResult(stage="lineage", outputs=outputs, notes=notes)
