"""Lineage layer: ``run_lineage(study)``, run after the TLF stage.

Reuses the tables the TLF stage built in the same process (``study.cache``, while
the ADaM files are unchanged) or rebuilds them from ``adam/*.xpt`` (no rendering), and writes
``outputs/lineage.json`` (variable and record lineage), ``outputs/ars/<output>.json``
(analysis results metadata) and ``outputs/lineage.html`` (the searchable report).
"""

from __future__ import annotations

from tlfgen.pipeline import StageResult
from tlfgen.spec.study import ResolvedStudy


def run_lineage(study: ResolvedStudy) -> StageResult:
    from tlfgen.lineage.ars import write_ars
    from tlfgen.lineage.graph import build_lineage, write_lineage
    from tlfgen.lineage.html_report import write_html_report
    from tlfgen.lineage.records import no_gc
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam, recall_tables

    specs = load_stage_specs(study, "tlf")
    tables = recall_tables(study, specs)
    if tables is None:  # the lineage stage on its own: rebuild the tables (no rendering)
        tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    with no_gc():  # about a million small containers, no cycles: the collector would only rescan them
        doc = build_lineage(study, tables)
        outputs = [write_lineage(study, doc)]
        outputs += write_ars(study, tables, specs)
        outputs.append(write_html_report(study, doc))
    notes = [f"lineage: {len(doc['nodes'])} variable nodes, {len(doc['edges'])} edges, "
             f"{len(doc['records']['sdtm'])} SDTM and {len(doc['records']['adam'])} ADaM records linked"]
    return StageResult(stage="lineage", outputs=outputs, notes=notes)
