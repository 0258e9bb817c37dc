"""Tests of tlfgen.tlf.figures.run: building all figures, reading XPT, files, DOCX placement."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyreadstat
import pytest
from docx import Document

from tlfgen.errors import DataError, RenderError
from tlfgen.tlf.figures.common import FigureResult
from tlfgen.tlf.figures.km import KmAnalysis
from tlfgen.tlf.figures.run import add_figure_to_docx, build_figures, drawing_order, needed_datasets, run_figures

SPEC = """
type: figures
figures:
  - {id: F1, kind: km, order: 1, title: "Figure 1. PFS\\nFull analysis set", param: PFS, footnotes: [Note one.]}
  - id: F2
    kind: forest
    order: 2
    title: Forest
    subgroups: [{variable: SEX, label: Sex, levels: [{value: M}, {value: F}]}]
  - {id: F3, kind: waterfall, order: 3, title: Waterfall}
  - {id: F4, kind: swimmer, order: 4, title: Swimmer}
  - id: F5
    kind: consort
    order: 5
    title: Flow
    arm_boxes: [{label: Surgery, filter: "SURGFL == 'Y'"}]
    analysis_boxes: [{label: FAS, filter: "FASFL == 'Y'"}]
"""


# 1. every kind is drawn; files written; footnotes gain the method lines of the KM analysis
def test_build_all_figures(fig_adam, study_arms, load_figs, tmp_path):
    figures = load_figs(SPEC)
    results = build_figures(figures, fig_adam, study_arms, out_dir=tmp_path / "out")
    assert [(r.id, r.kind) for r in results] == [("F1", "km"), ("F2", "forest"), ("F3", "waterfall"),
                                                  ("F4", "swimmer"), ("F5", "consort")]
    assert all(r.png == tmp_path / "out" / f"{r.id}.png" and r.png.is_file() and r.svg.is_file() for r in results)
    km = results[0]
    assert km.title == "Figure 1. PFS\nFull analysis set"
    assert km.footnotes[0] == "Note one."
    assert [n.split(":")[0] for n in km.footnotes[1:]] == ["95% CI of medians", "Hazard ratio TCAC vs TCC", "p-value"]
    assert needed_datasets(figures) == ["ADRS", "ADSL", "ADTTE"]


# 2. precomputed analyses (mapping by param) reach the KM annotation; the files are byte-identical on rerun
def test_analyses_and_determinism(fig_adam, study_arms, load_figs, tmp_path):
    figures = load_figs(SPEC)[:1]
    given = {"PFS": KmAnalysis({"TCAC": (16.03, 9.49, 22.58), "TCC": (7.30, 4.08, 10.52)}, (0.35, 0.19, 0.65), 0.0002)}
    first = build_figures(figures, fig_adam, study_arms, out_dir=tmp_path / "a", analyses=given)[0]
    second = build_figures(figures, fig_adam, study_arms, out_dir=tmp_path / "b", analyses=given)[0]
    assert first.data["annotation"][0] == "TCAC: median 16.03 (9.49, 22.58) months"
    assert first.png.read_bytes() == second.png.read_bytes()
    assert first.svg.read_bytes() == second.svg.read_bytes()


def _write_xpt(df: pd.DataFrame, path: Path) -> None:
    out, formats = df.copy(), {}
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = (out[col] - pd.Timestamp("1960-01-01")).dt.days.astype(float)
            formats[col] = "DATE9"
    pyreadstat.write_xport(out, str(path), file_format_version=5, table_name=path.stem.upper(),
                           variable_format=formats)


def _study(tmp_path: Path, spec_text: str) -> SimpleNamespace:
    (tmp_path / "specs" / "tlf").mkdir(parents=True)
    (tmp_path / "specs" / "tlf" / "figures.yaml").write_text(spec_text, encoding="utf-8")
    (tmp_path / "adam").mkdir()
    arms = [SimpleNamespace(armcd="TCAC", arm="Anlotinib arm"), SimpleNamespace(armcd="TCC", arm="Control arm")]
    return SimpleNamespace(root=tmp_path, specs_dir=tmp_path / "specs", adam_dir=tmp_path / "adam",
                           outputs_dir=tmp_path / "outputs", spec=SimpleNamespace(study=SimpleNamespace(arms=arms)))


# 3. run_figures reads adam/<name>.xpt (dates as DATE9) and writes outputs/figures/<id>.png/.svg
def test_run_figures_from_xpt(fig_adam, tmp_path):
    study = _study(tmp_path, SPEC)
    for name, df in fig_adam.items():
        _write_xpt(df, study.adam_dir / f"{name.lower()}.xpt")
    results = run_figures(study)
    assert [r.id for r in results] == ["F1", "F2", "F3", "F4", "F5"]
    assert sorted(p.name for p in (tmp_path / "outputs" / "figures").iterdir()) == [
        f"F{i}.{ext}" for i in range(1, 6) for ext in ("png", "svg")]
    assert results[0].data["steps"]["TCAC"] == [(0.0, 1.0), (2.0, 0.75), (4.0, 0.75), (6.0, 0.375), (8.0, 0.375)]
    assert results[3].data["markers"]["surgery"][0][0] == "S02"


# 4. a missing ADaM file is a DataError naming it
def test_missing_xpt(tmp_path):
    study = _study(tmp_path, SPEC)
    with pytest.raises(DataError, match="ADaM dataset ADRS not found"):
        run_figures(study)


# 5. no figures.yaml: nothing to draw
def test_no_spec_file(tmp_path):
    study = _study(tmp_path, SPEC)
    (tmp_path / "specs" / "tlf" / "figures.yaml").unlink()
    assert run_figures(study) == []


# 6. add_figure_to_docx: heading title, second title line, picture fitted to the page, footnotes
def test_add_figure_to_docx(fig_adam, study_arms, load_figs, tmp_path):
    result = build_figures(load_figs(SPEC)[:1], fig_adam, study_arms, out_dir=tmp_path)[0]
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = section.page_height, section.page_width  # landscape
    add_figure_to_docx(doc, result)
    texts = [(p.style.name, p.text) for p in doc.paragraphs]
    assert texts[0] == ("Heading 1", "Figure 1. PFS")
    assert texts[1][1] == "Full analysis set"
    assert texts[3][1] == "Note one."
    shape = doc.inline_shapes[0]
    assert shape.width <= section.page_width - section.left_margin - section.right_margin
    assert shape.height <= section.page_height - section.top_margin - section.bottom_margin


# 7. a figure without a PNG cannot be placed
def test_add_figure_without_png():
    with pytest.raises(RenderError, match="figure X has no PNG file"):
        add_figure_to_docx(Document(), FigureResult("X", "km", "t", (), None, None))


# 8. the KM figures (printing the tables' results) are drawn last; when drawing fails (here a Ctrl-C
#    at the third figure) the PNG writes already started have ended before the failure goes on: a
#    write still running would land in the staging folder the run is removing (seen once in CI)
def test_an_interrupted_drawing_leaves_no_png_write_running(fig_adam, study_arms, load_figs, tmp_path,
                                                            monkeypatch):
    import tlfgen.tlf.figures.run as figures_run
    import tlfgen.tlf.figures.style as style

    figures = load_figs(SPEC)
    assert [figures[k].id for k in drawing_order(figures)] == ["F2", "F3", "F4", "F5", "F1"]
    start_saving, draw_figure = style.start_saving, figures_run.draw_figure
    drawn, written = [], []

    def slow_start(fig, folder, figure_id, **options):
        write_png, svg = start_saving(fig, folder, figure_id, **options)

        def slow_write():
            time.sleep(0.5)
            path = write_png()
            written.append(figure_id)
            return path
        return slow_write, svg

    def interrupted_draw(loaded, *args):
        if len(drawn) == 2:
            raise KeyboardInterrupt
        drawn.append(loaded.id)
        return draw_figure(loaded, *args)

    monkeypatch.setattr(style, "start_saving", slow_start)
    monkeypatch.setattr(figures_run, "draw_figure", interrupted_draw)
    with pytest.raises(KeyboardInterrupt):
        build_figures(figures, fig_adam, study_arms, out_dir=tmp_path / "out")
    assert drawn == ["F2", "F3"]
    ended = sorted(written)  # each write has ended or was cancelled before it started
    time.sleep(1.2)
    assert sorted(written) == ended and "F2" in ended  # F2's write had started: it was waited for
    pngs = sorted(p.stem for p in (tmp_path / "out").glob("*.png"))
    assert pngs == ended
    assert sorted(p.stem for p in (tmp_path / "out").glob("*.svg")) == ["F2", "F3"]
