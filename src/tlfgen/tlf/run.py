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

The stage is declared as work units (``tlf_units``: one per table, listing, figure and writer;
``tlfgen.units`` runs them). ``build_outputs`` (specs + in-memory datasets -> tables) does no
I/O, so tests and the trace feature can call it with DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, Mapping

import pandas as pd

from tlfgen.errors import DataError
from tlfgen.results import DatasetCount, StageResult
from tlfgen.spec.study import ResolvedStudy
from tlfgen.spec.tlf import ListingSpec, TableSpec, TlfSpecs
from tlfgen.tlf.model import Table
from tlfgen.units import Unit, run_units

if TYPE_CHECKING:
    from tlfgen.tlf.figures.spec import LoadedFigure

COMBINED = "combined"
#: what the table and figure units import on first use (``Unit.imports``: imported once before forking)
TABLE_IMPORTS = ("scipy.stats", "tlfgen.stats.cox", "tlfgen.stats.survival", "tlfgen.tlf.background",
                 "tlfgen.tlf.estimates")
FIGURE_IMPORTS = ("PIL.PngImagePlugin", "matplotlib.backends.backend_agg", "matplotlib.backends.backend_svg",
                  "tlfgen.tlf.figures.consort", "tlfgen.tlf.figures.forest", "tlfgen.tlf.figures.km",
                  "tlfgen.tlf.figures.style", "tlfgen.tlf.figures.swimmer", "tlfgen.tlf.figures.waterfall")


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


def read_adam(adam_dir: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    from tlfgen.io.datasets import find_dataset, read_dataset_file

    datasets = {}
    for name in names:
        path = find_dataset(adam_dir, name) or adam_dir / f"{name.lower()}.xpt"  # XPT, else Dataset-JSON
        if not path.is_file():
            raise DataError(f"ADaM dataset {name} not found", file=path, hint="run `tlfgen adam` first")
        datasets[name] = read_dataset_file(path)
    return datasets


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


@dataclass
class Written:
    """One output written: its paths, and what the combined documents reuse of it (rendered bodies)."""

    paths: list[Path]
    docx_cache: dict
    xlsx_cache: dict
    rtf: bytes | None


def write_single(study: ResolvedStudy, specs: TlfSpecs, table: Table, run_at) -> Written:
    """``outputs/tables/<ID>.docx``, ``.xlsx``, ``.rtf`` (the formats it is written in) and ``outputs/ard/<ID>.csv``."""
    from tlfgen.io.atomic import atomic_write_bytes, atomic_write_text
    from tlfgen.tlf.ard import create_ard_csv
    from tlfgen.tlf.docx_writer import create_docx
    from tlfgen.tlf.rtf_writer import create_rtf
    from tlfgen.tlf.xlsx_writer import create_xlsx

    style = document_style(study)
    folder = study.outputs_dir / "tables"
    ard_folder = study.outputs_dir / "ard"
    folder.mkdir(parents=True, exist_ok=True)
    ard_folder.mkdir(parents=True, exist_ok=True)
    formats = output_formats(study, specs)[table.id]
    written: list[Path] = []
    docx_cache: dict = {}
    xlsx_cache: dict = {}
    rtf = None
    if "docx" in formats:
        written.append(atomic_write_bytes(folder / f"{table.id}.docx",
                                          create_docx([table], run_at, cache=docx_cache, style=style)))
    if "xlsx" in formats:
        written.append(atomic_write_bytes(folder / f"{table.id}.xlsx", create_xlsx([table], run_at, cache=xlsx_cache)))
    if "rtf" in formats:
        rtf = create_rtf(table, run_at, style=style, layout=docx_layout(docx_cache, table, style))
        written.append(atomic_write_bytes(folder / f"{table.id}.rtf", rtf))
    if table.kind == "table":
        written.append(atomic_write_text(ard_folder / f"{table.id}.csv", create_ard_csv(table)))
    return Written([Path(p) for p in written], docx_cache, xlsx_cache, rtf)


def write_combined(study: ResolvedStudy, tables: list[Table], singles: list[Written], figures: list,
                   run_at) -> list[Path]:
    """The combined DOCX (with a table of contents, then ``figures``) and XLSX of ``tables``, and
    the combined RTF (with ``figures``) of those written as RTF; ``singles``: their ``write_single``."""
    from tlfgen.io.atomic import atomic_write_bytes
    from tlfgen.tlf.docx_writer import create_docx
    from tlfgen.tlf.xlsx_writer import create_xlsx

    style = document_style(study)
    folder = study.outputs_dir / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    docx_cache: dict = {}
    xlsx_cache: dict = {}
    for single in singles:
        docx_cache.update(single.docx_cache)
        xlsx_cache.update(single.xlsx_cache)
    rtf_documents = {t.id: single.rtf for t, single in zip(tables, singles) if single.rtf is not None}
    written: list[Path] = []
    if tables:
        written.append(atomic_write_bytes(folder / f"{COMBINED}.docx",
                                          create_docx(tables, run_at, toc=True, figures=figures,
                                                      cache=docx_cache, style=style)))
        written.append(atomic_write_bytes(folder / f"{COMBINED}.xlsx", create_xlsx(tables, run_at, cache=xlsx_cache)))
    if rtf_documents:
        from tlfgen.tlf.rtf_combined import create_combined_rtf

        in_rtf = [t for t in tables if t.id in rtf_documents]
        written.append(atomic_write_bytes(folder / f"{COMBINED}.rtf", create_combined_rtf(
            in_rtf, run_at, figures=figures, style=style, documents=rtf_documents,
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


def km_table(figure: LoadedFigure, specs: TlfSpecs) -> str | None:
    """The table whose KM results a KM figure prints: the first table with a time-to-event block
    named as the figure's ``analysis`` (else its ``param``); None: the figure estimates them itself."""
    from tlfgen.spec.tlf import TteBlock
    from tlfgen.tlf.figures.spec import KmFigure

    spec = figure.spec
    if not isinstance(spec, KmFigure):
        return None
    key = spec.analysis or spec.param
    for out in specs.outputs:
        if isinstance(out.spec, TableSpec) and any(isinstance(b, TteBlock) and b.id == key for b in out.spec.blocks):
            return out.id
    return None


def tlf_units(study: ResolvedStudy, upstream: Collection[str] = ()) -> list[Unit]:
    """The TLF stage as work units (``tlfgen.units``).

    ``read.adam.<NAME>``: an ADaM dataset as ``adam/<name>.xpt`` reads back (from the ADaM units
    of the same run, ``upstream``, else from the file); ``tlf.<ID>``: one table or listing model;
    ``figure.<ID>``: one figure drawn and saved (a KM figure takes the table whose KM results it
    prints, ``km_table``); ``write.tlf.<ID>``: its DOCX/XLSX/RTF/ARD; ``write.tlf.combined``: the
    combined documents; ``tlf``: the stage's result.
    """
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.figures.run import needed_datasets as figure_datasets
    from tlfgen.tlf.figures.spec import load_figure_specs

    specs: TlfSpecs = load_stage_specs(study, "tlf")
    figures = load_figure_specs(study)
    tables = needed_datasets(specs)
    drawn = figure_datasets(figures) if figures else []
    names = sorted(set(tables) | set(drawn))
    units = [read_adam_unit(study, name, upstream) for name in names]
    units.append(Unit("tlf.run_at", (), _run_at, main=True))
    # costs: every table and listing is built before any is written (the lineage units, which take
    # them all, then start while they are written); the figures go to the workers meanwhile
    for k, out in enumerate(specs.outputs):
        units.append(Unit(f"tlf.{out.id}", tuple(f"read.adam.{n}" for n in tables),
                          partial(_build_output, study, specs, out, tables), cost=float(1000 - k), main=True,
                          imports=TABLE_IMPORTS))
    for k, loaded in enumerate(figures):
        table = km_table(loaded, specs)
        inputs = tuple(f"read.adam.{n}" for n in drawn) + ((f"tlf.{table}",) if table else ())
        units.append(Unit(f"figure.{loaded.id}", inputs, partial(_draw_figure, study, loaded, drawn),
                          cost=float(500 - k), imports=FIGURE_IMPORTS))
    ids = [out.id for out in specs.outputs]
    for out_id in ids:
        units.append(Unit(f"write.tlf.{out_id}", (f"tlf.{out_id}", "tlf.run_at"),
                          partial(write_single, study, specs), main=True))
    n, m = len(ids), len(figures)
    units.append(Unit("write.tlf.combined", (*(f"tlf.{i}" for i in ids), *(f"write.tlf.{i}" for i in ids),
                                             *(f"figure.{f.id}" for f in figures), "tlf.run_at"),
                      lambda *v: write_combined(study, list(v[:n]), list(v[n:2 * n]), list(v[2 * n:2 * n + m]),
                                                v[-1]), main=True))
    units.append(Unit("tlf.counts", tuple(f"read.adam.{n}" for n in tables),
                      lambda *frames: [DatasetCount(name, rows_in=len(df), rows_out=len(df))
                                       for name, df in zip(tables, frames)], main=True))
    units.append(Unit("tlf", ("tlf.counts", *(f"tlf.{i}" for i in ids), *(f"write.tlf.{i}" for i in ids),
                              "write.tlf.combined", *(f"figure.{f.id}" for f in figures)),
                      lambda counts, *v: _stage_result(counts, list(v[:n]), list(v[n:2 * n]), v[2 * n],
                                                       list(v[2 * n + 1:])), main=True))
    return units


def read_adam_unit(study: ResolvedStudy, name: str, upstream: Collection[str]) -> Unit:
    """``read.adam.<NAME>``: the frame ``read_xpt(adam/<name>.xpt)`` gives, from the ADaM units of
    the same run when there are some (their dataset and the metadata written), else read from the file."""
    made, written = f"adam.{name}", f"write.adam.{name}"
    if made in upstream and written in upstream:
        return Unit(f"read.adam.{name}", (made, written), _frame_as_read)
    after = ("adam",) if "adam" in upstream else ()
    return Unit(f"read.adam.{name}", after, lambda *_: read_adam(study.adam_dir, [name])[name], main=True)


def _frame_as_read(built, written) -> pd.DataFrame:
    from tlfgen.io.xpt import create_read_frame, read_xpt

    frame = create_read_frame(built.data, written.xpt_meta)
    if frame is None:  # values the builder does not vouch for: the file is read back
        frame, _ = read_xpt(written.paths[0])
    return frame


def _run_at():
    from tlfgen.io.ooxml import run_timestamp

    return run_timestamp()


def _build_output(study: ResolvedStudy, specs: TlfSpecs, out, names: list[str], *frames) -> Table:
    from tlfgen.tlf.listings import create_listing
    from tlfgen.tlf.tables import create_table

    datasets = dict(zip(names, frames))
    if isinstance(out.spec, TableSpec):
        return create_table(out, study, datasets, specs.templates)
    return create_listing(out, study, datasets, specs.templates)


def _draw_figure(study: ResolvedStudy, loaded: LoadedFigure, names: list[str], *values):
    from tlfgen.tlf.figures.run import FIGURES_FOLDER, build_figures

    datasets = dict(zip(names, values[:len(names)]))
    analyses = values[len(names)] if len(values) > len(names) else None
    arms = [(a.armcd, a.arm) for a in study.spec.study.arms]
    return build_figures([loaded], datasets, arms, out_dir=study.outputs_dir / FIGURES_FOLDER,
                         analyses=analyses)[0]


def _stage_result(counts: list[DatasetCount], tables: list[Table], singles: list[Written], combined: list[Path],
                  figures: list) -> StageResult:
    outputs = [p for single in singles for p in single.paths] + combined
    outputs += [p for f in figures for p in (f.png, f.svg) if p is not None]
    notes = [f"{t.id}: {len([r for r in t.rows if r.kind == 'data'])} rows, {len(t.analyses)} analyses"
             for t in tables] + [f"{f.id}: figure ({f.kind})" for f in figures]
    return StageResult(stage="tlf", counts=sorted(counts, key=lambda c: c.name), outputs=outputs, notes=notes)


def run_tlf(study: ResolvedStudy) -> StageResult:
    """The TLF stage on its own (``tlf_units``, the ADaM datasets read from adam/)."""
    return run_units(tlf_units(study), ["tlf"])["tlf"]
