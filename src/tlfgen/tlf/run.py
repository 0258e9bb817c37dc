"""TLF stage runner: ADaM XPT -> table models -> DOCX, XLSX, RTF and ARD files.

``run_tlf(study)`` loads the TLF specs (which compiles the templates), reads
the ADaM datasets the specs need (``adam/<name>.xpt``), builds every table and
listing, and writes:

- ``outputs/tables/<ID>.docx``, ``<ID>.xlsx`` and ``<ID>.rtf`` per output (the formats its
  spec or the study's ``documents: formats:`` names);
- ``outputs/tables/combined.docx`` (with a table of contents) and
  ``outputs/tables/combined.xlsx`` (one sheet per output);
- ``outputs/tables/combined.rtf`` (with a table of contents, then the figures) of the outputs
  written as RTF, when there are any;
- ``outputs/ard/<ID>.csv`` per table (analysis results dataset).

``build_outputs`` (specs + in-memory datasets -> tables) does no I/O, so tests
and the trace feature can call it with DataFrames.
"""

from __future__ import annotations

from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

from tlfgen.errors import DataError
from tlfgen.handoff import release_written, take_written
from tlfgen.results import DatasetCount, StageResult
from tlfgen.spec.study import ResolvedStudy
from tlfgen.spec.tlf import ListingSpec, TableSpec, TlfSpecs
from tlfgen.tlf.model import Table

COMBINED = "combined"
#: ``study.cache`` key of the tables built by ``run_tlf`` (reused by the lineage stage)
TABLES_CACHE = "tlf.tables"
#: the table whose KM results the KM figures print
ANALYSES_TABLE = "T2"
#: ``study.cache`` key of the lineage built ahead by ``run_tlf`` when the lineage stage follows
#: (``handoff.work_ahead``); the lineage stage takes it (``lineage.run``)
LINEAGE_DONE_CACHE = "lineage.done"


def needed_datasets(specs: TlfSpecs) -> list[str]:
    names = {"ADSL"}
    for out in specs.outputs:
        spec = out.spec
        names.add(spec.population.dataset)
        if isinstance(spec, ListingSpec):
            names.add(spec.dataset)
            names.update(c.source for c in spec.columns if c.source)
        else:
            names.update(b.dataset for b in spec.blocks)
    return sorted(names)


def adam_signature(adam_dir: Path, names: list[str]) -> tuple:
    """(name, mtime, size) of the ADaM files ``names``: tells whether tables built from them are still current."""
    out = []
    for name in names:
        path = Path(adam_dir) / f"{name.lower()}.xpt"
        try:
            stat = path.stat()
        except OSError:
            out.append((name, None, None))
            continue
        out.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def remember_built(study: ResolvedStudy, specs: TlfSpecs, key: str, value: object) -> None:
    """Keep ``value``, made from ``specs`` and the ADaM files as they are now, for a later stage of
    the same run (``study.cache[key]``; ``recall_built`` gives it back while both are unchanged)."""
    study.cache[key] = (adam_signature(study.adam_dir, needed_datasets(specs)), specs, value)


def recall_built(study: ResolvedStudy, specs: TlfSpecs, key: str, *, pop: bool = False) -> object | None:
    """What ``remember_built`` kept under ``key``, if made from the same specs and unchanged ADaM
    files, else None; ``pop``: taken out of the cache (given back once)."""
    cached = study.cache.pop(key, None) if pop else study.cache.get(key)
    if cached is None:
        return None
    signature, cached_specs, value = cached
    if cached_specs is not specs or signature != adam_signature(study.adam_dir, needed_datasets(specs)):
        return None
    return value


def remember_tables(study: ResolvedStudy, specs: TlfSpecs, tables: list[Table]) -> None:
    """Keep the tables just built for the lineage stage of the same run (``study.cache``)."""
    remember_built(study, specs, TABLES_CACHE, tables)


def recall_tables(study: ResolvedStudy, specs: TlfSpecs) -> list[Table] | None:
    """The tables the TLF stage built in this process from the same specs and ADaM files, if any."""
    return recall_built(study, specs, TABLES_CACHE)  # type: ignore[return-value]


def read_adam(adam_dir: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    from tlfgen.io.datasets import find_dataset, read_dataset_file

    datasets = {}
    for name in names:
        path = find_dataset(adam_dir, name) or adam_dir / f"{name.lower()}.xpt"  # XPT, else Dataset-JSON
        if not path.is_file():
            raise DataError(f"ADaM dataset {name} not found", file=path, hint="run `tlfgen adam` first")
        datasets[name] = read_dataset_file(path)
    return datasets


def take_adam(study: ResolvedStudy, names: list[str]) -> dict[str, pd.DataFrame]:
    """The datasets ``names`` the ADaM stage of this run handed on (``pipeline.take_written``),
    exactly as reading their unchanged ``adam/<name>.xpt`` would give them; the others are absent."""
    taken = {}
    for name in names:
        frame = take_written(study.cache, study.adam_dir / f"{name.lower()}.xpt")
        if frame is not None:
            taken[name] = frame
    return taken


def load_adam(study: ResolvedStudy, names: list[str]) -> dict[str, pd.DataFrame]:
    """``names`` from the hand-off of this run where it has them, else read from adam/ (``read_adam``)."""
    taken = take_adam(study, names)
    release_written(study.cache, "adam")  # handed on but not needed here
    read = read_adam(study.adam_dir, [n for n in names if n not in taken]) if len(taken) < len(names) else {}
    return {name: taken[name] if name in taken else read[name] for name in names}


def build_outputs(study: ResolvedStudy, specs: TlfSpecs, datasets: Mapping[str, pd.DataFrame], *,
                  on_table: Callable[[Table], None] | None = None) -> list[Table]:
    """Every table and listing of ``specs``, in spec order; ``on_table`` is called with each as it is built."""
    from tlfgen.tlf.listings import create_listing
    from tlfgen.tlf.tables import create_table

    tables = []
    for out in specs.outputs:
        if isinstance(out.spec, TableSpec):
            tables.append(create_table(out, study, datasets, specs.templates))
        else:
            tables.append(create_listing(out, study, datasets, specs.templates))
        if on_table is not None:
            on_table(tables[-1])
    return tables


def write_outputs(study: ResolvedStudy, specs: TlfSpecs, tables: list[Table],
                  figures: list | Callable[[], list] | None = None) -> list[Path]:
    """Write each output's DOCX/XLSX/RTF/ARD, then the combined DOCX (with ``figures``) and XLSX,
    and the combined RTF (with ``figures``) of the outputs written as RTF.

    ``figures`` may be a function returning them: it is called only for the combined document,
    after every single output is written (the figures may still be being drawn until then).
    """
    from tlfgen.io.atomic import atomic_write_bytes, atomic_write_text
    from tlfgen.tlf.ard import create_ard_csv
    from tlfgen.tlf.docx_writer import create_docx
    from tlfgen.io.ooxml import run_timestamp
    from tlfgen.tlf.rtf_writer import create_rtf
    from tlfgen.tlf.xlsx_writer import create_xlsx

    run_at = run_timestamp()
    style = document_style(study)
    folder = study.outputs_dir / "tables"
    ard_folder = study.outputs_dir / "ard"
    folder.mkdir(parents=True, exist_ok=True)
    ard_folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    formats = output_formats(study, specs)
    # each table's rendered body is made once and reused by the combined document/workbook
    docx_cache: dict = {}
    xlsx_cache: dict = {}
    rtf_documents: dict[str, bytes] = {}
    for table in tables:
        if "docx" in formats[table.id]:
            written.append(atomic_write_bytes(folder / f"{table.id}.docx",
                                              create_docx([table], run_at, cache=docx_cache, style=style)))
        if "xlsx" in formats[table.id]:
            written.append(atomic_write_bytes(folder / f"{table.id}.xlsx",
                                              create_xlsx([table], run_at, cache=xlsx_cache)))
        if "rtf" in formats[table.id]:
            rtf_documents[table.id] = create_rtf(table, run_at, style=style,
                                                 layout=docx_layout(docx_cache, table, style))
            written.append(atomic_write_bytes(folder / f"{table.id}.rtf", rtf_documents[table.id]))
        if table.kind == "table":
            written.append(atomic_write_text(ard_folder / f"{table.id}.csv", create_ard_csv(table)))
    if callable(figures):
        figures = figures()
    if tables:
        written.append(atomic_write_bytes(folder / f"{COMBINED}.docx",
                                          create_docx(tables, run_at, toc=True, figures=figures or (),
                                                      cache=docx_cache, style=style)))
        written.append(atomic_write_bytes(folder / f"{COMBINED}.xlsx", create_xlsx(tables, run_at, cache=xlsx_cache)))
    if rtf_documents:
        from tlfgen.tlf.rtf_combined import create_combined_rtf

        in_rtf = [t for t in tables if t.id in rtf_documents]
        written.append(atomic_write_bytes(folder / f"{COMBINED}.rtf", create_combined_rtf(
            in_rtf, run_at, figures=figures or (), style=style, documents=rtf_documents,
            layouts={t.id: docx_layout(docx_cache, t, style) for t in in_rtf})))
    return [Path(p) for p in written]


def output_formats(study: ResolvedStudy, specs: TlfSpecs) -> dict[str, list[str]]:
    """Output id -> the formats written for it: its spec's ``formats:``, else the study's
    ``documents: formats:``."""
    default = list(study.spec.documents.formats)
    return {out.id: list(out.spec.formats) if out.spec.formats is not None else default for out in specs.outputs}


def docx_layout(cache: dict, table: Table, style):
    """The layout the DOCX writer computed for ``table`` (kept in its ``cache``), else computed now."""
    from tlfgen.tlf.layout import compute_table_layout

    key = (id(table), style, "layout")
    if key not in cache:
        cache[key] = (table, compute_table_layout(table, style))
    return cache[key][1]


def document_style(study: ResolvedStudy):
    """The study's ``documents:`` settings as the writers' ``DocumentStyle``."""
    from tlfgen.tlf.layout import DocumentStyle

    docs = study.spec.documents
    return DocumentStyle(font=docs.font, size=docs.table_size, listing_size=docs.listing_size,
                         max_column_share=docs.max_column_share, study_id=study.studyid)


#: what both the tables and the figures (KM, forest) compute with: imported once, before the
#: figure process is forked, instead of once in each process (about 1 s of CPU)
SHARED_IMPORTS = ("scipy.stats", "statsmodels.duration.hazard_regression", "lifelines.statistics")


def import_statistics() -> None:
    import importlib

    for name in SHARED_IMPORTS:
        importlib.import_module(name)


def run_tlf(study: ResolvedStudy) -> StageResult:
    from tlfgen.spec.check import load_stage_specs

    from tlfgen.gc_pause import frozen_objects, paused_gc
    from tlfgen.handoff import work_ahead
    from tlfgen.parallel import WorkQueue, can_fork, start_child
    from tlfgen.tlf.figures.km import km_analyses_from_table
    from tlfgen.tlf.figures.spec import load_figure_specs

    specs: TlfSpecs = load_stage_specs(study, "tlf")
    datasets = load_adam(study, needed_datasets(specs))
    figure_specs = load_figure_specs(study)
    if can_fork() and figure_specs:
        import_statistics()
    # The figures are drawn in a second process while this one builds and writes the tables;
    # then this one draws those not started yet (both take the next from a shared queue).
    # One computation, two displays: the KM annotations take Table 2's analysis results,
    # sent to the figure process as soon as Table 2 is built (the KM figures are drawn last).
    has_t2 = any(out.id == ANALYSES_TABLE for out in specs.outputs)
    queue = WorkQueue(len(figure_specs))

    def draw(channel) -> list:
        from tlfgen.tlf.figures.run import run_figures  # matplotlib: imported where the figures are drawn

        taken: list = []

        def analyses():
            taken.append(channel.recv())
            return taken[0]

        figures = run_figures(study, datasets=datasets, analyses=analyses if has_t2 else None,
                              take=queue.take, figures=figure_specs)
        if has_t2 and not taken:
            channel.recv()  # always taken: the sender must never wait on a full pipe
        return figures

    with start_child(draw, name="figure") as drawing, ExitStack() as written:
        def on_table(table: Table) -> None:
            if table.id == ANALYSES_TABLE:
                # only the KM results, not the table (pickling its cells' record lists at 5,000
                # subjects filled the pipe: this process then waited ~4 s for the figure process)
                drawing.send(km_analyses_from_table(table))

        done: list[list] = []

        def all_figures() -> list:
            """Draw here the figures the other process has not started, then collect its own."""
            if not done:
                from tlfgen.tlf.figures.run import run_figures

                table2 = next((t for t in tables if t.id == ANALYSES_TABLE), None)
                mine = run_figures(study, datasets=datasets, analyses=table2, take=queue.take,
                                   figures=figure_specs) if figure_specs else []
                drawn = {f.id: f for f in mine + drawing.result()}
                done.append([drawn[f.id] for f in figure_specs])
            return done[0]

        # the tables (~435,000 cells at 5,000 subjects, no reference cycles) are built with the cyclic
        # collector paused, then frozen before it is back: re-enabled, its first collections scanned
        # them all (0.5-0.9 s measured), and the writing below would rescan them; unfrozen at the end
        with paused_gc():
            tables = build_outputs(study, specs, datasets, on_table=on_table)
            written.enter_context(frozen_objects())
        remember_tables(study, specs, tables)
        # when the lineage stage follows in this run, its work (handed in by the pipeline) is done by
        # one more process, forked now that the tables exist (it sees them; nothing is pickled),
        # while this one writes them
        lineage_ahead = work_ahead("lineage")
        with start_child(lambda _: lineage_ahead(study, specs, tables), name="lineage") \
                if lineage_ahead is not None else nullcontext() as lineage:
            outputs = write_outputs(study, specs, tables, all_figures)
            figures = all_figures()
            if lineage is not None:
                remember_built(study, specs, LINEAGE_DONE_CACHE, lineage.result())
    outputs += [p for f in figures for p in (f.png, f.svg) if p is not None]
    counts = [DatasetCount(name, rows_in=len(df), rows_out=len(df)) for name, df in sorted(datasets.items())]
    notes = [f"{t.id}: {len([r for r in t.rows if r.kind == 'data'])} rows, {len(t.analyses)} analyses"
             for t in tables] + [f"{f.id}: figure ({f.kind})" for f in figures]
    return StageResult(stage="tlf", counts=counts, outputs=outputs, notes=notes)
