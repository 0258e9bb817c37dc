"""Tests of tlfgen.tlf.figures.style: palette, byte-stable PNG and SVG."""

from __future__ import annotations

from tlfgen.spec.expr import parse_expression
from tlfgen.tlf.figures.km import create_km_figure
from tlfgen.tlf.figures.spec import KmFigure
from tlfgen.tlf.figures.style import (
    OKABE_ITO, arm_style, create_figure, render_png, render_svg, response_style, save_figure,
)

FAS = parse_expression("FASFL == 'Y'")
SPEC = KmFigure(id="F1", kind="km", title="KM", param="PFS", ci_bands=True)


# 1. two renders of the same data give identical PNG and SVG bytes
def test_same_data_same_bytes(fig_adam, arms):
    first = create_km_figure(SPEC, fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS).figure
    second = create_km_figure(SPEC, fig_adam["ADSL"], fig_adam["ADTTE"], arms, population=FAS).figure
    assert render_png(first) == render_png(second)
    assert render_svg(first) == render_svg(second)


# 2. no date, software or creator stamps in the files
def test_no_stamps():
    fig = create_figure(3, 2)
    fig.add_subplot().plot([0, 1], [0, 1])
    svg = render_svg(fig).decode("utf-8")
    png = render_png(fig, dpi=50)
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in png and b"matplotlib" not in png.lower()


# 3. PNG at 300 dpi: pixel size = inches x 300 (IHDR width and height)
def test_png_resolution():
    png = render_png(create_figure(2.0, 1.5))
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (600, 450)


# 4. arms and responses get Okabe-Ito colours and distinct line styles / hatches
def test_palette():
    assert arm_style(0) == (OKABE_ITO["blue"], "-", "+")
    assert arm_style(1) == (OKABE_ITO["vermillion"], "--", "x")
    hatches = {response_style(r)[1] for r in ("CR", "PR", "SD", "PD", "NE")}
    assert len(hatches) == 5
    assert response_style(" pr ") == response_style("PR")


# 5. save_figure writes <id>.png and <id>.svg
def test_save_figure(tmp_path):
    fig = create_figure(2, 2)
    png, svg = save_figure(fig, tmp_path / "figures", "F9", dpi=50)
    assert (png.name, svg.name) == ("F9.png", "F9.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and svg.read_bytes().startswith(b"<?xml")


# 6. an opaque figure is saved as RGB with the pixels and dpi matplotlib's own PNG has;
#    a figure with transparent pixels keeps its alpha channel
def test_opaque_png_is_rgb_with_matplotlibs_pixels():
    from io import BytesIO

    import numpy as np
    from PIL import Image

    from tlfgen.tlf.figures.style import figure_style

    fig = create_figure(2.0, 1.5)
    fig.add_subplot().plot([0, 1], [0, 1])
    ours = Image.open(BytesIO(render_png(fig, dpi=100)))
    buf = BytesIO()
    with figure_style():
        fig.savefig(buf, format="png", dpi=100)
    theirs = Image.open(BytesIO(buf.getvalue()))
    assert (ours.mode, theirs.mode) == ("RGB", "RGBA")
    assert np.array_equal(np.asarray(ours), np.asarray(theirs)[..., :3])
    assert np.asarray(theirs)[..., 3].min() == 255
    assert ours.info["dpi"] == theirs.info["dpi"]

    see_through = create_figure(2.0, 1.5)
    see_through.patch.set_alpha(0.0)
    assert Image.open(BytesIO(render_png(see_through, dpi=50))).mode == "RGBA"
