"""TLF stage (figures): waterfall plot of the best % change in the sum of target-lesion diameters.

One bar per subject (ADRS PARAMCD BESTPCHG, AVAL), sorted from the largest
increase to the largest decrease, coloured and hatched by best overall
response (ADRS PARAMCD BOR, AVALC), with reference lines (default -30% and
+20%, the RECIST partial-response and progression thresholds). Subjects of the
population without a BESTPCHG record (no post-baseline measurement) are not
drawn and are listed in the returned data. One panel per arm by default.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.spec.expr import Expression
from tlfgen.tlf.figures.common import Arm, Drawn, gid_artists, param_records, subject_arms
from tlfgen.tlf.figures.spec import WaterfallFigure
from tlfgen.tlf.figures.style import RESPONSE_STYLES, create_figure, figure_style, response_style

MISSING_RESPONSE = "Missing"


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
    bars, left_out = compute_waterfall_bars(spec, adsl, adrs, arms, population)
    if bars.empty:
        raise DataError(f"figure {spec.id}: no {spec.dataset} PARAMCD {spec.param} values in the population",
                        file=f"adam/{spec.dataset.lower()}.xpt", column="AVAL")
    panels = [(a.armcd, bars[bars["ARM"] == a.armcd]) for a in arms] if spec.by_arm else [("", bars)]
    top = max(float(bars["AVAL"].max()), max(spec.reference_lines, default=0.0), 0.0)
    bottom = min(float(bars["AVAL"].min()), min(spec.reference_lines, default=0.0), 0.0)
    pad = 0.08 * (top - bottom or 1.0)
    with figure_style():
        fig = create_figure(spec.width, spec.height)
        widths = [max(len(p), 1) for _, p in panels]
        grid = fig.add_gridspec(1, len(panels), width_ratios=widths, wspace=0.06,
                                left=0.09, right=0.98, top=0.90, bottom=0.08)
        first = None
        for i, (armcd, panel) in enumerate(panels):
            ax = fig.add_subplot(grid[i], sharey=first)
            first = first or ax
            _draw_panel(ax, spec, armcd, panel, show_ylabel=i == 0)
            ax.set_ylim(bottom - pad, top + pad)
        _draw_legend(fig, spec, sorted(set(bars["BOR"])))
    data = read_waterfall(fig)
    data["left_out"] = left_out
    return Drawn(fig, data)


def _draw_panel(ax: Any, spec: WaterfallFigure, armcd: str, panel: pd.DataFrame, *, show_ylabel: bool) -> None:
    x = np.arange(len(panel), dtype=float)
    for xi, (usubjid, value, bor) in zip(x, panel[["USUBJID", "AVAL", "BOR"]].itertuples(index=False), strict=True):
        colour, hatch = response_style(bor)
        patches = ax.bar([xi], [value], width=0.8, color=colour, hatch=hatch, edgecolor="#333333",
                         linewidth=0.4)
        patches[0].set_gid(f"wf-bar:{usubjid}")
        patches[0].set_label("_" + str(bor))  # keeps bars out of automatic legends
    for value in spec.reference_lines:
        ax.axhline(value, color="#444444", linestyle="--", linewidth=0.8, gid=f"wf-ref:{value:g}")
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


def read_waterfall(fig: Any) -> dict[str, Any]:
    """Bars as drawn (USUBJID, height, face colour, hatch, panel order) and the reference lines."""
    bars, lines = [], []
    for art in gid_artists(fig, "wf-"):
        kind, _, name = art.get_gid().partition(":")
        if kind == "wf-bar":
            bars.append({"USUBJID": name, "height": float(art.get_height()), "x": float(art.get_x()),
                         "hatch": art.get_hatch() or "", "facecolor": tuple(float(c) for c in art.get_facecolor())})
        elif kind == "wf-ref":
            lines.append(float(art.get_ydata()[0]))
    return {"bars": bars, "reference_lines": sorted(set(lines))}
