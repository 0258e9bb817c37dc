"""TLF stage (figures): the figure drawn when the data hold nothing to plot.

Real data never stop the stage for an empty figure: a study with no responder has no
duration-of-response records, a population may hold no treated subject. The figure is
then a placeholder of the spec's size saying what is missing, and its footnote says the
same in the documents (the SAS/R habit: "No data to display", the reason underneath).
Its data carry ``placeholder`` (the reason) and no drawn values.
"""

from __future__ import annotations

from typing import Any

from tlfgen.tlf.figures.common import Drawn

#: the text in the middle of a placeholder figure
NO_DATA = "No data to display"


def create_placeholder_figure(spec: Any, reason: str) -> Drawn:
    """A figure of ``spec``'s size with ``NO_DATA`` and ``reason`` in its middle, no axes."""
    from tlfgen.tlf.figures.style import FONT_SIZE, create_figure, figure_style

    with figure_style():
        fig = create_figure(spec.width, spec.height)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.text(0.5, 0.55, NO_DATA, ha="center", va="center", fontsize=FONT_SIZE + 4, gid="placeholder-title")
        ax.text(0.5, 0.45, reason, ha="center", va="center", fontsize=FONT_SIZE, gid="placeholder-reason")
    return Drawn(fig, {"placeholder": reason, "method_notes": [f"No data to display: {reason}."]})
