"""Lineage layer: the lineage stage as work units, run after the TLF stage's tables exist.

Writes ``outputs/lineage.json`` (variable and record lineage), ``outputs/ars/<output>.json``
(analysis results metadata) and ``outputs/lineage.html`` (the explorer page) from the table
models of the TLF stage, and ``outputs/qc/conformance.xlsx`` (the conformance checks of sdtm/
and adam/, ``lineage.conformance``). Its units (``lineage_units``):

- ``tlf.<ID>``: the table models: the TLF units of the same run (``upstream``), else built here
  from ``adam/*.xpt`` (no rendering);
- ``lineage.records.<k>``: the record links of one piece (an SDTM domain's lineage file, as soon
  as the SDTM stage is written, or the ADaM section: ``lineage.record_blocks``); ``lineage.ars``, ``lineage.html``,
  ``lineage.variables``: the ARS files, the explorer page, the variable lineage;
  ``lineage.json``: the variable lineage with the record links, written;
- ``lineage.conformance.sdtm``: the conformance checks of sdtm/, as soon as the SDTM stage has
  written it; ``lineage.conformance``: those of adam/ and the report; ``lineage``: the stage's result.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Collection

from tlfgen.results import StageResult
from tlfgen.spec.study import ResolvedStudy
from tlfgen.units import Unit, run_units

#: the scheduling cost of the explorer page and the SDTM conformance checks, the two longest units
#: of the lineage stage: above every other unit's (the tables' 1000 and less), so that with
#: ``units.urgency`` what they wait for goes first too (the SDTM stage's result before the ADaM
#: datasets: the SDTM checks then run beside the ADaM stage)
LONG_COST = 2000.0
#: the scheduling cost of writing lineage.json: above the figures' (500 and less)
JSON_COST = 600.0


def lineage_units(study: ResolvedStudy, upstream: Collection[str] = ()) -> list[Unit]:
    """The lineage stage's units; ``upstream``: the ids of the units of earlier stages in the same run."""
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.run import _build_output, needed_datasets, read_adam_unit

    specs = load_stage_specs(study, "tlf")
    units: list[Unit] = []
    ids = [out.id for out in specs.outputs]
    if not all(f"tlf.{i}" in upstream for i in ids):  # the lineage stage on its own: the tables rebuilt
        names = needed_datasets(specs)
        units += [read_adam_unit(study, name, upstream) for name in names if f"read.adam.{name}" not in upstream]
        units += [Unit(f"tlf.{out.id}", tuple(f"read.adam.{n}" for n in names),
                       partial(_build_output, study, specs, out, names), main=True) for out in specs.outputs]
    files = tuple(stage for stage in ("sdtm", "adam") if stage in upstream)  # their files written
    sdtm_written = ("sdtm",) if "sdtm" in files else ()
    parts = record_parts_of(study, upstream)
    for k, part in enumerate(parts):  # an SDTM domain's links as soon as the SDTM stage is written
        units.append(Unit(f"lineage.records.{k}", files if part is None else sdtm_written,
                          partial(_record_block, study, parts, k),
                          cost=float(len(parts) - k)))
    tables = tuple(f"tlf.{i}" for i in ids)
    units.append(Unit("lineage.ars", (*files, *tables), lambda *v: _write_ars(study, specs, v[len(files):]),
                      cost=100.0))
    # heavy (``Unit.heavy``): at 5,000 subjects the explorer page grows its process by 1.1-1.4 GiB;
    # the SDTM conformance checks (every SDTM file read) by 0.35 GiB since they keep a profile per
    # column, not the rows, but in the calling process they held back the tables (measured: the
    # tables started 6 s late). They are the longest units of the stage: each starts as soon as it
    # is ready, before the figures, else they end the run alone (LONG_COST)
    units.append(Unit("lineage.html", (*files, *tables), lambda *v: _write_html(study, v[len(files):]),
                      cost=LONG_COST, heavy=True))
    units.append(Unit("lineage.variables", (*files, *tables), lambda *v: _variables(study, v[len(files):]),
                      cost=101.0))
    # lineage.json (3 s at 5,000 subjects, after its record links) costs more than a figure (500 and
    # less): with it the record links of the ADaM section go before the figures, instead of the two
    # ending the run one after the other once everything else is done
    units.append(Unit("lineage.json", ("lineage.variables", *(f"lineage.records.{k}" for k in range(len(parts)))),
                      partial(_write_json, study), cost=JSON_COST))
    # the conformance checks of each stage as soon as its files are written: the SDTM ones (most
    # of the bytes) then run beside the ADaM stage instead of beside the explorer page
    units.append(Unit("lineage.conformance.sdtm", sdtm_written, lambda *_: _check_stage(study, "sdtm"),
                      cost=LONG_COST, heavy=True))
    units.append(Unit("lineage.conformance", ("lineage.conformance.sdtm", *files),
                      lambda sdtm_checks, *_: _conformance(study, sdtm_checks)))
    units.append(Unit("lineage", ("lineage.json", "lineage.ars", "lineage.html", "lineage.conformance"),
                      _stage_result, main=True))
    return units


def record_parts_of(study: ResolvedStudy, upstream: Collection[str]) -> list[Path | None]:
    """The pieces of the record links: the ADaM section (None), then every SDTM domain's lineage
    file: those the SDTM units of this run write, else those in ``sdtm/lineage/``."""
    from tlfgen.lineage.record_blocks import record_parts

    if "sdtm" not in upstream:
        return record_parts(study)
    from tlfgen.spec.check import load_stage_specs

    domains = sorted(load_stage_specs(study, "sdtm").domains)
    return [None, *(study.sdtm_dir / "lineage" / f"{name.lower()}.json" for name in domains)]


def _record_block(study: ResolvedStudy, parts: list[Path | None], k: int, *_files) -> list:
    from tlfgen.lineage.record_blocks import create_record_blocks

    given = iter([k])
    return create_record_blocks(study, parts, lambda: next(given, None))


def _write_ars(study: ResolvedStudy, specs, tables) -> list[Path]:
    from tlfgen.lineage.ars import write_ars

    return write_ars(study, list(tables), specs)


def _write_html(study: ResolvedStudy, tables) -> Path:
    from tlfgen.lineage.html_report import write_html_report

    return write_html_report(study, list(tables))


def _variables(study: ResolvedStudy, tables) -> dict:
    from tlfgen.lineage.graph import create_variable_lineage

    return create_variable_lineage(study, list(tables))


def _write_json(study: ResolvedStudy, doc: dict, *blocks: list) -> tuple[Path, str]:
    from tlfgen.lineage.graph import add_record_links, write_lineage
    from tlfgen.lineage.record_blocks import join_blocks
    from tlfgen.lineage.records import RecordIndex, build_record_links

    records = join_blocks([b for part in blocks for b in part]) or build_record_links(RecordIndex.load(study))
    add_record_links(study, doc, records)
    note = (f"lineage: {len(doc['nodes'])} variable nodes, {len(doc['edges'])} edges, "
            f"{len(doc['records']['sdtm'])} SDTM and {len(doc['records']['adam'])} ADaM records linked")
    return write_lineage(study, doc), note


def _check_stage(study: ResolvedStudy, name: str) -> list:
    from tlfgen.lineage.conformance import check_stage

    return check_stage(study.sdtm_dir if name == "sdtm" else study.adam_dir, name)


def _conformance(study: ResolvedStudy, sdtm_checks: list) -> tuple[Path, str]:
    from tlfgen.lineage.conformance import write_conformance_report

    checks = sdtm_checks + _check_stage(study, "adam")
    path = write_conformance_report(checks, study.outputs_dir / "qc" / "conformance.xlsx")
    failing = [c for c in checks if c.status == "FAIL"]
    warned = [c for c in checks if c.status == "WARN"]
    return path, (f"conformance: {len(checks)} checks, {len(failing)} failing, {len(warned)} with warnings "
                  "(see outputs/qc/conformance.xlsx)")


def _stage_result(written: tuple[Path, str], ars: list[Path], html: Path, conformance: tuple[Path, str]) -> StageResult:
    return StageResult(stage="lineage", outputs=[written[0], *ars, html, conformance[0]],
                       notes=[written[1], conformance[1]])


def run_lineage(study: ResolvedStudy) -> StageResult:
    """The lineage stage on its own (the tables rebuilt from adam/)."""
    return run_units(lineage_units(study), ["lineage"])["lineage"]
