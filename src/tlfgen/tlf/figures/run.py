"""TLF stage (figures): load ``specs/tlf/figures.yaml``, draw every figure, save PNG and SVG, add to DOCX.

``run_figures(study, analyses=...)`` reads the ADaM datasets the figures need
(``adam/<name>.xpt``), draws each figure and writes
``outputs/figures/<id>.png`` (300 dpi) and ``<id>.svg``. ``analyses`` carries
the results the tables computed (a mapping of KM analysis key -> ``KmAnalysis``,
or the Table 2 model itself), so the KM annotations print the table's numbers;
without it the figures call the same estimate functions. ``build_figures``
does no I/O and is what the tests call with inline DataFrames.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from tlfgen.errors import DataError, RenderError
from tlfgen.tlf.figures.common import Arm, Drawn, FigureResult, get_dataset, order_arms
from tlfgen.tlf.figures.spec import (
    ConsortFigure, ForestFigure, KmFigure, LoadedFigure, SwimmerFigure, WaterfallFigure, load_figure_specs,
)

__all__ = ["FigureResult", "add_figure_to_docx", "build_figures", "needed_datasets", "run_figures"]

FIGURES_FOLDER = "figures"


def needed_datasets(figures: Sequence[LoadedFigure]) -> list[str]:
    names = {"ADSL"}
    for fig in figures:
        spec = fig.spec
        if isinstance(spec, (KmFigure, ForestFigure, WaterfallFigure)):
            names.add(spec.dataset)
        elif isinstance(spec, SwimmerFigure):
            names.update((spec.response_dataset, spec.tte_dataset))
    return sorted(names)


def read_adam(adam_dir: Path, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    from tlfgen.io.datasets import find_dataset, read_dataset_file

    datasets = {}
    for name in names:
        path = find_dataset(adam_dir, name)  # <name>.xpt, else the Dataset-JSON <name>.json
        if path is None:
            raise DataError(f"ADaM dataset {name} not found (needed by a figure)",
                            file=Path(adam_dir) / f"{name.lower()}.xpt", hint="run `tlfgen adam` first")
        datasets[name] = read_dataset_file(path)
    return datasets


def resolve_analyses(analyses: Any) -> Mapping[str, Any]:
    """A mapping key -> KmAnalysis; a table model (anything with ``iter_cells``) is read for its KM results."""
    from tlfgen.tlf.figures.km import km_analyses_from_table

    if analyses is None:
        return {}
    if hasattr(analyses, "iter_cells"):
        return km_analyses_from_table(analyses)
    return dict(analyses)


def draw_figure(loaded: LoadedFigure, datasets: Mapping[str, pd.DataFrame], arms: tuple[Arm, ...],
                analyses: Mapping[str, Any]) -> Drawn:
    """Draw one figure from in-memory datasets (no I/O)."""
    from tlfgen.tlf.figures.consort import create_consort_figure
    from tlfgen.tlf.figures.forest import create_forest_figure
    from tlfgen.tlf.figures.km import create_km_figure
    from tlfgen.tlf.figures.swimmer import create_swimmer_figure
    from tlfgen.tlf.figures.waterfall import create_waterfall_figure

    spec = loaded.spec
    pop = loaded.filters.get("population")
    adsl = get_dataset(datasets, "ADSL", spec.id)
    if isinstance(spec, KmFigure):
        key = spec.analysis or spec.param
        return create_km_figure(spec, adsl, get_dataset(datasets, spec.dataset, spec.id), arms, population=pop,
                                analysis=analyses.get(key))
    if isinstance(spec, ForestFigure):
        return create_forest_figure(spec, adsl, get_dataset(datasets, spec.dataset, spec.id), arms, population=pop)
    if isinstance(spec, WaterfallFigure):
        return create_waterfall_figure(spec, adsl, get_dataset(datasets, spec.dataset, spec.id), arms,
                                       population=pop)
    if isinstance(spec, SwimmerFigure):
        return create_swimmer_figure(spec, adsl, get_dataset(datasets, spec.response_dataset, spec.id),
                                     get_dataset(datasets, spec.tte_dataset, spec.id), arms, population=pop)
    if isinstance(spec, ConsortFigure):
        return create_consort_figure(spec, adsl, arms, filters=loaded.filters, population=pop)
    raise RenderError(f"figure {spec.id}: kind {spec.kind!r} has no renderer")  # pragma: no cover


def figure_arms(loaded: LoadedFigure, study_arms: Sequence[tuple[str, str]]) -> tuple[Arm, ...]:
    armcds = [a for a, _ in study_arms]
    if len(armcds) < 2:
        raise RenderError(f"figure {loaded.id}: the study needs at least two arms to compare")
    return order_arms(armcds, dict(study_arms), loaded.spec.treatment, loaded.spec.reference)


def footnotes_of(loaded: LoadedFigure, drawn: Drawn) -> tuple[str, ...]:
    notes = list(loaded.spec.footnotes)
    notes.extend(drawn.data.get("method_notes", ()))
    return tuple(notes)


def build_figures(figures: Sequence[LoadedFigure], datasets: Mapping[str, pd.DataFrame],
                  study_arms: Sequence[tuple[str, str]], *, out_dir: Path | None = None,
                  analyses: Any = None) -> list[FigureResult]:
    """Draw every figure; save PNG and SVG into ``out_dir`` when given. ``study_arms``: (armcd, label).

    ``analyses``: as ``resolve_analyses`` takes it, or a function returning it, called once,
    after every figure that does not need it has been drawn.

    The PNG compression runs in worker threads (``tlf.background``) while the next figure is
    drawn; every PNG is written before this returns, and when drawing fails (Ctrl-C included)
    the writes already started end before the failure goes on.
    """
    from tlfgen.tlf.background import background, settle, wait_all

    resolved: list[Mapping[str, Any]] = []

    def given() -> Mapping[str, Any]:
        if not resolved:
            resolved.append(resolve_analyses(analyses() if callable(analyses) else analyses))
        return resolved[0]

    # the figures that print the tables' results are drawn last: with ``analyses`` a function
    # (the results still being computed elsewhere), the others are drawn meanwhile
    results: list[FigureResult | None] = [None] * len(figures)
    writes: list[Future] = []
    try:
        for k in drawing_order(figures):
            from tlfgen.tlf.figures.style import start_saving  # matplotlib: only once a figure is drawn

            loaded = figures[k]
            drawn = draw_figure(loaded, datasets, figure_arms(loaded, study_arms),
                                given() if uses_analyses(loaded) else {})
            png = svg = None
            if out_dir is not None:
                write_png, svg = start_saving(drawn.figure, Path(out_dir), loaded.id)
                writes.append(background().submit(write_png))
                png = Path(out_dir) / f"{loaded.id}.png"
            width, height = drawn.figure.get_size_inches()
            results[k] = FigureResult(loaded.id, loaded.spec.kind, loaded.spec.title, footnotes_of(loaded, drawn),
                                      png, svg, dict(drawn.data), float(width), float(height))
            del drawn
        wait_all(writes)
    except BaseException:
        settle(writes)  # a PNG written after this would land in a staging folder being removed
        raise
    return [r for r in results if r is not None]


def drawing_order(figures: Sequence[LoadedFigure]) -> list[int]:
    """Positions of ``figures`` in the order they are drawn: those printing the tables' results last."""
    return sorted(range(len(figures)), key=lambda k: uses_analyses(figures[k]))


def uses_analyses(loaded: LoadedFigure) -> bool:
    """True for the figures that print results the tables computed (the KM plots)."""
    return isinstance(loaded.spec, KmFigure)


def run_figures(study: Any, *, analyses: Any = None, datasets: Mapping[str, pd.DataFrame] | None = None,
                figures: Sequence[LoadedFigure] | None = None) -> list[FigureResult]:
    """Draw every figure of ``specs/tlf/figures.yaml`` into ``outputs/figures/``.

    ``datasets``: ADaM datasets already read (by the table builders); only the missing ones are read.
    ``figures``: the specs, when already loaded.
    """
    figures = load_figure_specs(study) if figures is None else figures
    if not figures:
        return []
    known = dict(datasets or {})
    names = needed_datasets(figures)
    missing = [n for n in names if n not in known]
    datasets = {**{n: known[n] for n in names if n in known}, **(read_adam(study.adam_dir, missing) if missing else {})}
    arms = [(a.armcd, a.arm) for a in study.spec.study.arms]
    return build_figures(figures, datasets, arms, out_dir=study.outputs_dir / FIGURES_FOLDER, analyses=analyses)


def add_figure_to_docx(document: Any, figure: FigureResult, *, heading: bool = True) -> None:
    """Append the title (a Heading 1 when ``heading``, for the table of contents), the picture and footnotes."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Emu, Pt

    if figure.png is None or not Path(figure.png).is_file():
        raise RenderError(f"figure {figure.id} has no PNG file to place in the document",
                          hint="draw it with run_figures (which saves the files) first")
    lines = figure.title.split("\n")
    for k, line in enumerate(lines):
        if heading and k == 0:
            para = document.add_heading(line, level=1)
        else:
            para = document.add_paragraph()
            para.add_run(line).bold = True
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    section = document.sections[-1]
    avail_w = section.page_width - section.left_margin - section.right_margin
    avail_h = section.page_height - section.top_margin - section.bottom_margin - Pt(14 * (len(lines) + 1)
                                                                                   + 10 * len(figure.footnotes))
    width = min(avail_w, int(avail_h * figure.width / figure.height)) if avail_h > 0 else avail_w
    document.add_picture(str(figure.png), width=Emu(int(width)))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for note in figure.footnotes:
        para = document.add_paragraph()
        para.paragraph_format.space_after = Pt(0)
        para.add_run(note).font.size = Pt(8)
