"""TLF stage (figures): CONSORT-style flow of subjects, counted from ADSL.

Boxes, top to bottom: enrolled (the population; by default every ADSL
subject), allocated per arm (TRT01P), a follow-up box per arm listing the
``arm_boxes`` counts (e.g. conversion surgery, lost to follow-up, treatment
ongoing) and an analysis box per arm listing the ``analysis_boxes`` counts
(e.g. FAS, safety set). Every count is the number of subjects of the arm for
whom the box's filter expression is true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from tlfgen.spec.expr import Expression
from tlfgen.tlf.figures.common import Arm, Drawn, gid_artists, subject_arms
from tlfgen.tlf.figures.spec import ConsortFigure
from tlfgen.tlf.figures.style import FONT_SIZE, arm_style, create_figure, figure_style

LINE_INCHES = FONT_SIZE * 1.3 / 72.0
PAD_INCHES = 0.08


@dataclass(frozen=True)
class ConsortCounts:
    enrolled: int
    allocated: Mapping[str, int]  # armcd -> n
    arm_boxes: Mapping[str, tuple[tuple[str, int], ...]]  # armcd -> (label, n) per box
    analysis_boxes: Mapping[str, tuple[tuple[str, int], ...]]


def compute_consort_counts(spec: ConsortFigure, adsl: pd.DataFrame, arms: Sequence[Arm],
                           filters: Mapping[str, Expression], population: Expression | None = None) -> ConsortCounts:
    enrolled = adsl if population is None else adsl[population.mask(adsl)]
    subjects = subject_arms(adsl, population, arms)
    base = enrolled.drop_duplicates("USUBJID").set_index("USUBJID").reindex(subjects.index)
    allocated = {a.armcd: int((subjects == a.armcd).sum()) for a in arms}
    boxes: dict[str, dict[str, tuple[tuple[str, int], ...]]] = {}
    for key in ("arm_boxes", "analysis_boxes"):
        masks = [filters[f"{key}[{i}]"].mask(base.reset_index()).to_numpy(dtype=bool)
                 for i in range(len(getattr(spec, key)))]
        boxes[key] = {
            a.armcd: tuple((box.label, int((mask & (subjects == a.armcd).to_numpy()).sum()))
                           for box, mask in zip(getattr(spec, key), masks, strict=True))
            for a in arms
        }
    return ConsortCounts(int(enrolled["USUBJID"].nunique()), allocated, boxes["arm_boxes"], boxes["analysis_boxes"])


def create_consort_figure(spec: ConsortFigure, adsl: pd.DataFrame, arms: Sequence[Arm], *,
                          filters: Mapping[str, Expression], population: Expression | None = None) -> Drawn:
    counts = compute_consort_counts(spec, adsl, arms, filters, population)
    with figure_style():
        fig = create_figure(spec.width, spec.height)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        _draw_flow(ax, spec, counts, arms)
    return Drawn(fig, read_consort(fig))


def _box(ax: Any, x: float, y_top: float, width: float, lines: list[str], gid: str, colour: str) -> float:
    """Draw a box whose top edge is at ``y_top``; return its bottom edge (axes units)."""
    from matplotlib.patches import FancyBboxPatch

    height_in = ax.figure.get_figheight()
    height = (len(lines) * LINE_INCHES + 2 * PAD_INCHES) / height_in
    ax.add_patch(FancyBboxPatch((x - width / 2, y_top - height), width, height, boxstyle="square,pad=0",
                                facecolor="white", edgecolor=colour, linewidth=0.9))
    ax.text(x, y_top - height / 2, "\n".join(lines), ha="center", va="center", gid=gid,
            linespacing=1.15)
    return y_top - height


def _arrow(ax: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 0.8, "shrinkA": 0, "shrinkB": 0})


def _draw_flow(ax: Any, spec: ConsortFigure, counts: ConsortCounts, arms: Sequence[Arm]) -> None:
    gap = 0.45 / ax.figure.get_figheight()
    top = 0.97
    bottom = _box(ax, 0.5, top, 0.34, [f"{spec.enrolled_label} (n={counts.enrolled})"], "consort:enrolled",
                  "#000000")
    xs = [(i + 0.5) / len(arms) for i in range(len(arms))]
    width = min(0.9 / len(arms), 0.42)
    stages = [
        ("allocated", lambda a: [f"{spec.allocated_label} {a.armcd}", a.label, f"(n={counts.allocated[a.armcd]})"]),
        ("followup", lambda a: ["Follow-up"] + [f"{lab}: {n}" for lab, n in counts.arm_boxes[a.armcd]]),
        ("analysis", lambda a: ["Analysis"] + [f"{lab}: {n}" for lab, n in counts.analysis_boxes[a.armcd]]),
    ]
    previous = [(0.5, bottom)] * len(arms)
    for stage, lines_of in stages:
        y_top = min(b for _, b in previous) - gap
        bottoms = []
        for x, arm, (px, pb) in zip(xs, arms, previous, strict=True):
            _arrow(ax, px, pb, x, y_top)
            lines = _wrap_lines(lines_of(arm), width * ax.figure.get_figwidth())
            bottoms.append((x, _box(ax, x, y_top, width, lines, f"consort:{stage}:{arm.armcd}",
                                    arm_style(arm.position)[0])))
        previous = bottoms


def _wrap_lines(lines: list[str], width_in: float) -> list[str]:
    """Wrap long lines so they fit a box ``width_in`` inches wide (about 0.55 em per character)."""
    import textwrap

    chars = max(int(width_in * 72 / (FONT_SIZE * 0.55)) - 2, 10)
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, chars) or [""])
    return out


def read_consort(fig: Any) -> dict[str, Any]:
    """Box texts as drawn, keyed enrolled / allocated:ARM / followup:ARM / analysis:ARM."""
    return {"boxes": {art.get_gid().partition(":")[2]: art.get_text() for art in gid_artists(fig, "consort:")}}
