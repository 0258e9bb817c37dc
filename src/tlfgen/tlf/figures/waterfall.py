"""TLF stage (figures): waterfall plot of the best % change in the sum of target-lesion diameters.

One bar per subject (ADRS PARAMCD BESTPCHG, AVAL), sorted from the largest
increase to the largest decrease, coloured and hatched by best overall
response (ADRS PARAMCD BOR, AVALC), with reference lines (default -30% and
+20%, the RECIST partial-response and progression thresholds). Subjects of the
population without a BESTPCHG record (no post-baseline measurement) are not
drawn and are listed in the returned data. One panel per arm by default.

The bars of one response category in one panel are one patch (one compound
path, ``common.create_rectangles``). When a bar has less than ``NARROW_POINTS``
of room (hundreds of subjects per panel) the bars touch and lose their outlines,
which would otherwise cover the colours, and a method note (footnote) says so.

A best change of exactly 0.0% has no height: it is drawn as a thin bar across the zero
line (``ZERO_BAR_SHARE`` of the y axis, half above and half below), so every subject has a
visible bar, and a method note says so. The data read back give each bar's drawn ``height``
and its ``value`` (AVAL).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.spec.expr import Expression
from tlfgen.tlf.figures.common import (
    Arm, Drawn, create_rectangles, gid_artists, param_records, read_rectangles, subject_arms,
)
from tlfgen.tlf.figures.placeholder import create_placeholder_figure
from tlfgen.tlf.figures.spec import WaterfallFigure
from tlfgen.tlf.figures.style import RESPONSE_STYLES, create_figure, figure_style, response_style

MISSING_RESPONSE = "Missing"
NARROW_POINTS = 3.0  # bars with less room than this are drawn touching, without outlines
#: a best change of exactly 0.0% is drawn as a thin bar across the zero line, this share of the y axis high
ZERO_BAR_SHARE = 0.012


def compute_waterfall_bars(spec: WaterfallFigure, adsl: pd.DataFrame, adrs: pd.DataFrame, arms: Sequence[Arm],
                           population: Expression | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Bars (USUBJID, ARM, AVAL, BOR) sorted per arm by AVAL descending; and the subjects left out."""
    subjects = subject_arms(adsl, population, arms)
    depth = param_records(adrs, spec.dataset, spec.param, subjects.index, "AVAL")
    bor = param_records(adrs, spec.dataset, spec.response_param, subjects.index, "AVALC")
    bars = pd.DataFrame({
        "USUBJID": depth.index,
        "ARM": subjects.reindex(depth.index).to_numpy(),
        "AVAL": pd.to_numeric(depth["AVAL"], errors="coerce").to_numpy(dtype=float),
        "BOR": bor["AVALC"].reindex(depth.index).astype(object).fillna(MISSING_RESPONSE)
        .astype(str).str.strip().replace("", MISSING_RESPONSE).to_numpy(),
    })
    missing_value = bars["AVAL"].isna()
    left_out = sorted(set(subjects.index) - set(bars["USUBJID"][~missing_value]))
    bars = bars[~missing_value]
    order = {a.armcd: a.position for a in arms}
    bars = bars.assign(_arm=bars["ARM"].map(order)).sort_values(
        ["_arm", "AVAL", "USUBJID"], ascending=[True, False, True], kind="mergesort")
    return bars.drop(columns="_arm").reset_index(drop=True), left_out


def create_waterfall_figure(spec: WaterfallFigure, adsl: pd.DataFrame, adrs: pd.DataFrame, arms: Sequence[Arm], *,
                            population: Expression | None = None) -> Drawn:
    """Draw one panel per arm (or one panel); the bars of a response category are one patch."""
    bars, left_out = compute_waterfall_bars(spec, adsl, adrs, arms, population)
    if bars.empty:
        return create_placeholder_figure(spec, f"no {spec.dataset} PARAMCD {spec.param} values in the population")
    panels = [(a.armcd, bars[bars["ARM"] == a.armcd]) for a in arms] if spec.by_arm else [("", bars)]
    top = max(float(bars["AVAL"].max()), max(spec.reference_lines, default=0.0), 0.0)
    bottom = min(float(bars["AVAL"].min()), min(spec.reference_lines, default=0.0), 0.0)
    pad = 0.08 * (top - bottom or 1.0)
    ids: dict[str, list[str]] = {}
    narrow = False
    with figure_style():
        fig = create_figure(spec.width, spec.height)
        widths = [max(len(p), 1) for _, p in panels]
        grid = fig.add_gridspec(1, len(panels), width_ratios=widths, wspace=0.06,
                                left=0.09, right=0.98, top=0.90, bottom=0.08)
        first = None
        for i, (armcd, panel) in enumerate(panels):
            ax = fig.add_subplot(grid[i], sharey=first)
            first = first or ax
            drawn_ids, thin = _draw_panel(ax, spec, i, armcd, panel, show_ylabel=i == 0,
                                          zero_height=ZERO_BAR_SHARE * (top - bottom + 2 * pad))
            ids.update(drawn_ids)
            narrow = narrow or thin
            ax.set_ylim(bottom - pad, top + pad)
        _draw_legend(fig, spec, sorted(set(bars["BOR"])))
    data = read_waterfall(fig, ids)
    data["left_out"] = left_out
    notes = []
    zeros = int((bars["AVAL"] == 0).sum())
    if zeros:
        notes.append(f"{zeros} subject(s) with a best change of 0.0%: drawn as a thin bar across the zero line.")
    if narrow:
        notes.append(f"{len(bars)} subjects: each bar has less than {NARROW_POINTS:g} pt of room, so "
                     "the bars are drawn side by side without outlines.")
    if notes:
        data["method_notes"] = notes
    return Drawn(fig, data)


def _draw_panel(ax: Any, spec: WaterfallFigure, index: int, armcd: str, panel: pd.DataFrame, *,
                show_ylabel: bool, zero_height: float = 0.0) -> tuple[dict[str, list[str]], bool]:
    """Bars of one panel, one patch per response category; returns (gid -> USUBJIDs, narrow)."""
    x = np.arange(len(panel), dtype=float)
    span = max(len(panel), 1) + 0.6
    slot = ax.get_position().width * ax.figure.get_figwidth() * 72.0 / span  # points per bar
    narrow = slot < NARROW_POINTS
    width, linewidth = (1.0, 0.0) if narrow else (0.8, 0.4)
    values = panel["AVAL"].to_numpy(dtype=float)
    bor = panel["BOR"].to_numpy(dtype=object)
    zero = values == 0.0
    low = np.where(zero, -zero_height / 2, 0.0)
    high = np.where(zero, zero_height / 2, values)
    ids: dict[str, list[str]] = {}
    for response in sorted(set(bor)):
        mask = bor == response
        colour, hatch = response_style(response)
        gid = f"wf-bar:{index}:{response}"
        ax.add_artist(create_rectangles(gid, x[mask] - width / 2, x[mask] + width / 2, low[mask],
                                        high[mask], facecolor=colour, hatch=hatch or None, edgecolor="#333333",
                                        linewidth=linewidth))
        ids[gid] = panel["USUBJID"][mask].tolist()
    for value in spec.reference_lines:
        ax.axhline(value, color="#444444", linestyle="--", linewidth=0.8, gid=f"wf-ref:{index}:{value:g}")
    ax.axhline(0.0, color="#000000", linewidth=0.6)
    ax.set_xlim(-0.8, max(len(panel), 1) - 0.2)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    if armcd:
        ax.set_title(f"{armcd} (n={len(panel)})")
    if show_ylabel:
        ax.set_ylabel(spec.y_label)
    else:
        ax.tick_params(axis="y", labelleft=False)
    return ids, narrow


def _draw_legend(fig: Any, spec: WaterfallFigure, present: Sequence[str]) -> None:
    from matplotlib.patches import Patch

    known = [r for r in RESPONSE_STYLES if r in present] + sorted(r for r in present if r not in RESPONSE_STYLES)
    handles = []
    for response in known:
        colour, hatch = response_style(response)
        label = spec.response_labels.get(response, response)
        handles.append(Patch(facecolor=colour, hatch=hatch, edgecolor="#333333", linewidth=0.4,
                             label=f"{label} ({response})" if label != response else response))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 0.995))


def read_waterfall(fig: Any, ids: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Bars as drawn (USUBJID, drawn height, value, left edge x, face colour, hatch; panel by panel, left
    to right; a bar across the zero line has the value 0.0)
    and the reference lines. ``ids``: patch gid -> USUBJIDs in the order its rectangles were drawn."""
    bars, lines = [], []
    for art in gid_artists(fig, "wf-"):
        kind, _, name = art.get_gid().partition(":")
        if kind == "wf-bar":
            panel = int(name.partition(":")[0])
            facecolor = tuple(float(c) for c in art.get_facecolor())
            for usubjid, (x0, _, y0, y1) in zip(ids[art.get_gid()], read_rectangles(art).tolist(), strict=True):
                value = 0.0 if y0 < 0.0 < y1 else y1 - y0
                bars.append((panel, x0, {"USUBJID": usubjid, "height": y1 - y0, "value": value, "x": x0,
                                         "hatch": art.get_hatch() or "", "facecolor": facecolor}))
        elif kind == "wf-ref":
            lines.append(float(art.get_ydata()[0]))
    bars.sort(key=lambda b: (b[0], b[1]))
    return {"bars": [b[2] for b in bars], "reference_lines": sorted(set(lines))}
