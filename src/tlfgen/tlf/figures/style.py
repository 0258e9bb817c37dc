"""TLF stage (figures): palette, fonts, figure creation and byte-stable saving.

Colours are the Okabe-Ito palette (readable by colour-blind readers); each arm
and each response category also gets its own marker, line style or hatch, so
the figures still read when printed in grey. The font is DejaVu Sans, which
ships with matplotlib, so the output does not depend on the fonts installed.

Determinism: the Agg backend, a fixed ``svg.hashsalt``, text drawn as paths in
SVG, and no creation date or software version in the PNG / SVG metadata: the
same data gives the same bytes.
"""

from __future__ import annotations

from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterator

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib.figure import Figure  # noqa: E402

from tlfgen.errors import RenderError  # noqa: E402

#: Okabe & Ito (2008) colour-blind safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: per arm position (first arm, second arm, ...): colour, line style, censor marker
ARM_STYLES: tuple[tuple[str, str, str], ...] = (
    (OKABE_ITO["blue"], "-", "+"),
    (OKABE_ITO["vermillion"], "--", "x"),
    (OKABE_ITO["bluish_green"], "-.", "1"),
    (OKABE_ITO["reddish_purple"], ":", "2"),
)

#: best overall response -> (colour, hatch); hatches keep categories apart in grey
RESPONSE_STYLES: dict[str, tuple[str, str]] = {
    "CR": (OKABE_ITO["blue"], ""),
    "PR": (OKABE_ITO["sky_blue"], "//"),
    "SD": (OKABE_ITO["orange"], ".."),
    "PD": (OKABE_ITO["vermillion"], "xx"),
    "NE": ("#999999", "--"),
}
OTHER_RESPONSE = ("#BBBBBB", "oo")

FONT_SIZE = 8.0
SMALL_FONT_SIZE = 7.0
DPI = 300
SVG_HASHSALT = "tlfgen"

RC_PARAMS: dict[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE + 1,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": SMALL_FONT_SIZE,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.4,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "path",
    "path.simplify": False,
    "hatch.linewidth": 0.6,
}

_PNG_METADATA = {"Software": None}
_SVG_METADATA = {"Date": None, "Creator": None}


def arm_style(position: int) -> tuple[str, str, str]:
    """Colour, line style and censor marker of the arm at ``position`` (0-based)."""
    return ARM_STYLES[position % len(ARM_STYLES)]


def response_style(response: str) -> tuple[str, str]:
    """Colour and hatch of a best-overall-response category."""
    return RESPONSE_STYLES.get(str(response).strip().upper(), OTHER_RESPONSE)


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply the tlfgen rc parameters for the duration of drawing and saving."""
    with matplotlib.rc_context(RC_PARAMS):
        yield


def create_figure(width: float, height: float) -> Figure:
    """A new Agg figure (not registered with pyplot, so nothing leaks between figures)."""
    return Figure(figsize=(width, height), dpi=100)


class _RendererBuffer:
    """A ``savefig(format="rgba")`` target that keeps the Agg renderer's pixels (a memoryview, no copy)."""

    def __init__(self) -> None:
        self.view: memoryview | None = None

    def seek(self, *_: object) -> int:  # matplotlib takes anything with ``seek`` for a file handle
        return 0

    def write(self, data: memoryview) -> int:
        self.view = data
        return len(data)


def draw_png(fig: Figure, dpi: int = DPI) -> Callable[[], bytes]:
    """Rasterise ``fig`` at ``dpi`` now; return the function that compresses the pixels to PNG bytes.

    The same drawing and the same ``imsave`` call as ``savefig(format="png")``, split in two
    (and without the alpha channel when every pixel is opaque): the compression (Pillow, which releases the GIL) can run in a worker
    thread while the next figure is drawn.
    """
    target = _RendererBuffer()
    with figure_style():
        fig.savefig(target, format="rgba", dpi=dpi)
    view = target.view

    def encode() -> bytes:
        import numpy as np

        rgba = np.asarray(view)
        buf = BytesIO()
        if bool((rgba[..., 3] == 255).all()):
            # opaque (the house style's white background): saved as RGB, the alpha channel
            # would be all 255; a quarter less to compress (about 25% faster, 10% smaller).
            # Pillow as matplotlib's imsave calls it, less the alpha (imsave always adds it).
            from PIL import Image, PngImagePlugin

            Image.fromarray(np.ascontiguousarray(rgba[..., :3]), mode="RGB").save(
                buf, format="png", dpi=(dpi, dpi), pnginfo=PngImagePlugin.PngInfo())
        else:
            from matplotlib.image import imsave

            imsave(buf, view, format="png", origin="upper", dpi=dpi, metadata=_PNG_METADATA)
        return buf.getvalue()

    return encode


def render_png(fig: Figure, dpi: int = DPI) -> bytes:
    """PNG bytes at ``dpi`` without a software stamp."""
    return draw_png(fig, dpi)()


def render_svg(fig: Figure) -> bytes:
    """SVG bytes with fixed element ids (hash salt) and no date."""
    buf = BytesIO()
    with figure_style():
        fig.savefig(buf, format="svg", metadata=_SVG_METADATA)
    return buf.getvalue()


def save_figure(fig: Figure, folder: Path, figure_id: str, *, dpi: int = DPI) -> tuple[Path, Path]:
    """Write ``<folder>/<id>.png`` and ``<id>.svg`` atomically; return both paths."""
    write_png, svg_path = start_saving(fig, folder, figure_id, dpi=dpi)
    return write_png(), svg_path


def start_saving(fig: Figure, folder: Path, figure_id: str, *, dpi: int = DPI) -> tuple[Callable[[], Path], Path]:
    """Rasterise ``fig`` and write ``<id>.svg`` now; return (the PNG writer, the SVG path).

    The PNG writer (compress and write ``<id>.png``, returning its path) touches only the
    pixels already drawn, so it may run in a worker thread while the next figure is drawn.
    """
    from tlfgen.io.atomic import atomic_write_bytes

    folder.mkdir(parents=True, exist_ok=True)
    try:
        encode = draw_png(fig, dpi)
        svg = render_svg(fig)
    except (ValueError, RuntimeError, OSError) as exc:
        raise RenderError(f"figure {figure_id} could not be rendered: {exc}") from exc
    svg_path = Path(atomic_write_bytes(folder / f"{figure_id}.svg", svg))

    def write_png() -> Path:
        try:
            png = encode()
        except (ValueError, RuntimeError, OSError) as exc:
            raise RenderError(f"figure {figure_id} could not be rendered: {exc}") from exc
        return Path(atomic_write_bytes(folder / f"{figure_id}.png", png))

    return write_png, svg_path
