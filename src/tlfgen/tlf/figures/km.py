"""TLF stage (figures): Kaplan-Meier curves by arm with a number-at-risk table.

One computation, two displays: the medians, hazard ratio and log-rank p in the
annotation come from a ``KmAnalysis``. Pass the one the tables computed
(``km_analyses_from_table`` reads it from the Table 2 model); without it,
``compute_km_analysis`` calls the same functions the table builders call
(``tlfgen.tlf.estimates`` over ``tlfgen.stats.survival``). Curves, censor marks,
CI bands and at-risk counts come from ``tlfgen.stats.survival`` (``km_estimate``,
``km_at``). The data handed back are read from the drawn artists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.spec.expr import Expression
from tlfgen.stats.formatting import fmt_estimate_ci, fmt_p
from tlfgen.stats.survival import km_at, km_estimate
from tlfgen.tlf.figures.common import (
    Arm, Drawn, gid_artists, param_records, subject_arms, time_event,
)
from tlfgen.tlf.figures.placeholder import create_placeholder_figure
from tlfgen.tlf.figures.spec import KmFigure

Triple = tuple[float, float, float]
NAN3: Triple = (math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class KmAnalysis:
    """Results behind a KM annotation: per-arm medians (median, lower, upper), HR, log-rank p."""

    medians: Mapping[str, Triple]
    hr: Triple | None = None
    p: float | None = None
    methods: Mapping[str, str] = field(default_factory=dict)  # median, hr, logrank -> method label


def compute_km_analysis(time: Any, event: Any, group: Any, *, treatment: str, reference: str,
                        arms: Sequence[str], median_ci: str = "symmetric", hr: str = "logrank") -> KmAnalysis:
    """Medians per arm, HR treatment vs reference and log-rank p, through the table's estimate calls."""
    from tlfgen.tlf import estimates

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group, dtype=object)
    medians: dict[str, Triple] = {}
    methods: dict[str, str] = {}
    for armcd in arms:
        mask = g == armcd
        if mask.any():
            med, lo, hi, label = estimates.km_median(t[mask], e[mask], median_ci)
            medians[armcd], methods["median"] = (med, lo, hi), label
        else:
            medians[armcd] = NAN3
    pair = np.isin(g, [treatment, reference])
    if e[g == treatment].sum() == 0 or e[g == reference].sum() == 0:
        # an arm without events: the O/E hazard ratio is 0 or infinite, so it is not shown
        return KmAnalysis(medians, None, None, methods)
    h, lo, hi, methods["hr"] = estimates.hazard_ratio(t[pair], e[pair], g[pair], treatment, reference, hr)
    p, methods["logrank"] = estimates.logrank_p(t[pair], e[pair], g[pair])
    return KmAnalysis(medians, (h, lo, hi), p, methods)


def km_analyses_from_table(table: Any, blocks: Sequence[str] | None = None) -> dict[str, KmAnalysis]:
    """Read KM results from a table model (``tlfgen.tlf.model.Table``, e.g. Table 2).

    Per block id (PFS, OS, DOR): cells whose analysis id ends in ``.MEDIAN`` give
    the per-arm medians (column key = armcd), ``.HR`` the hazard ratio and
    ``.LOGRANK`` the log-rank p. Blocks without medians are skipped.
    """
    methods = {a.id: a.method for a in getattr(table, "analyses", ())}
    found: dict[str, dict[str, Any]] = {}
    for row, column, cell in table.iter_cells():
        if not cell.analysis_id or (blocks is not None and row.block_id not in blocks):
            continue
        entry = found.setdefault(row.block_id, {"medians": {}, "hr": None, "p": None, "methods": {}})
        if cell.analysis_id.endswith(".MEDIAN"):
            entry["medians"][column.key] = tuple(_value(cell, k) for k in ("median", "lower", "upper"))
            entry["methods"]["median"] = methods.get(cell.analysis_id, "")
        elif cell.analysis_id.endswith(".HR"):
            entry["hr"] = tuple(_value(cell, k) for k in ("hr", "lower", "upper"))
            entry["methods"]["hr"] = methods.get(cell.analysis_id, "")
        elif cell.analysis_id.endswith(".LOGRANK"):
            entry["p"] = _value(cell, "p")
            entry["methods"]["logrank"] = methods.get(cell.analysis_id, "")
    return {block: KmAnalysis(e["medians"], e["hr"], e["p"], e["methods"])
            for block, e in sorted(found.items()) if e["medians"]}


def _value(cell: Any, name: str) -> float:
    """The cell's raw ``name``; NaN (printed NE) when the cell has none (an arm too small to
    estimate it: the table prints NE without values)."""
    value = dict(cell.values).get(name)
    return math.nan if value is None else float(value)


def format_annotation(analysis: KmAnalysis, arms: Sequence[Arm], *, treatment: str, reference: str,
                      time_decimals: int = 2, ratio_decimals: int = 2, p_style: str = "paper",
                      unit: str = "months") -> list[str]:
    """Annotation lines: one median (95% CI) per arm, then HR (95% CI) and log-rank p."""
    lines = []
    for arm in arms:
        med = analysis.medians.get(arm.armcd, NAN3)
        lines.append(f"{arm.armcd}: median {fmt_estimate_ci(*med, time_decimals)} {unit}")
    if analysis.hr is not None:
        lines.append(f"HR {treatment} vs {reference}: {fmt_estimate_ci(*analysis.hr, ratio_decimals)}")
    if analysis.p is not None:
        p = fmt_p(analysis.p, p_style)
        lines.append(f"Log-rank p {p}" if p.startswith("<") else f"Log-rank p = {p}")
    return lines


def compute_ticks(max_time: float, step: float, x_max: float | None) -> np.ndarray:
    """Ticks 0, step, 2 step ... up to x_max (default: the first multiple of step >= max_time)."""
    end = x_max if x_max is not None else step * max(1, math.ceil(max_time / step - 1e-9))
    count = int(math.floor(end / step + 1e-9))
    return np.round(np.arange(count + 1) * step, 10)


def create_km_figure(spec: KmFigure, adsl: pd.DataFrame, adtte: pd.DataFrame, arms: Sequence[Arm], *,
                     population: Expression | None = None, analysis: KmAnalysis | None = None) -> Drawn:
    """Draw KM curves by arm; return the figure and the drawn data (see ``read_km``)."""
    # matplotlib (style) is imported where a figure is drawn: reading KM results must not need it
    from tlfgen.tlf.figures.style import SMALL_FONT_SIZE, create_figure, figure_style

    subjects = subject_arms(adsl, population, arms)
    records = param_records(adtte, spec.dataset, spec.param, subjects.index, spec.time, spec.censor)
    if records.empty:
        return create_placeholder_figure(spec, f"no {spec.dataset} records with PARAMCD {spec.param} "
                                               "in the population")
    time, event = time_event(records, spec.dataset, spec.time, spec.censor)
    group = subjects.reindex(records.index).to_numpy(dtype=object)
    treatment = spec.treatment or arms[0].armcd
    reference = spec.reference or arms[1].armcd
    if analysis is None:
        analysis = compute_km_analysis(time, event, group, treatment=treatment, reference=reference,
                                       arms=[a.armcd for a in arms], median_ci=spec.median_ci, hr=spec.hr)
    ticks = compute_ticks(float(time.max()), spec.tick_step, spec.x_max)
    with figure_style():
        fig = create_figure(spec.width, spec.height)
        grid = fig.add_gridspec(2, 1, height_ratios=[5.0, 0.35 + 0.3 * len(arms)], hspace=0.32,
                                left=0.14, right=0.97, top=0.95, bottom=0.08)
        ax = fig.add_subplot(grid[0])
        risk_ax = fig.add_subplot(grid[1], sharex=ax)
        for arm in arms:
            mask = group == arm.armcd
            if mask.any():
                _draw_arm(ax, spec, arm, time[mask], event[mask], analysis)
        _style_axes(ax, spec, ticks)
        text = "\n".join(format_annotation(analysis, arms, treatment=treatment, reference=reference,
                                           time_decimals=spec.time_decimals, ratio_decimals=spec.ratio_decimals,
                                           p_style=spec.p_style, unit=spec.time_unit))
        ax.text(0.98, 0.97, text, transform=ax.transAxes, ha="right", va="top", fontsize=SMALL_FONT_SIZE,
                gid="km-annotation", bbox={"boxstyle": "square,pad=0.4", "facecolor": "white",
                                           "edgecolor": "#777777", "linewidth": 0.6})
        _draw_at_risk(risk_ax, arms, time, event, group, ticks)
    data = read_km(fig)
    data["analysis"] = analysis
    data["method_notes"] = method_notes(analysis, treatment, reference)
    return Drawn(fig, data)


def method_notes(analysis: KmAnalysis, treatment: str, reference: str) -> list[str]:
    """Footnote lines naming the methods behind the annotation (as the table footnotes do)."""
    names = {"median": "95% CI of medians", "hr": f"Hazard ratio {treatment} vs {reference}",
             "logrank": "p-value"}
    return [f"{names[key]}: {analysis.methods[key]}." for key in ("median", "hr", "logrank")
            if analysis.methods.get(key)]


def _draw_arm(ax: Any, spec: KmFigure, arm: Arm, time: np.ndarray, event: np.ndarray,
              analysis: KmAnalysis) -> None:
    from tlfgen.tlf.figures.style import arm_style

    colour, linestyle, marker = arm_style(arm.position)
    table = km_estimate(time, event)
    x = np.concatenate(([0.0], table["time"].to_numpy(dtype=float)))
    y = np.concatenate(([1.0], table["survival"].to_numpy(dtype=float)))
    n = int(time.size)
    ax.plot(x, y, drawstyle="steps-post", color=colour, linestyle=linestyle,
            label=f"{arm.armcd} (n={n})", gid=f"km-curve:{arm.armcd}")
    if spec.ci_bands:
        band = km_at(time, event, x, method=spec.ci_method)
        ax.fill_between(x, band["lower"].to_numpy(), band["upper"].to_numpy(), step="post", color=colour,
                        alpha=0.15, linewidth=0, gid=f"km-band:{arm.armcd}")
    if spec.censor_marks:
        cens = table[table["n_censor"] > 0]
        ax.plot(cens["time"].to_numpy(dtype=float), cens["survival"].to_numpy(dtype=float), linestyle="none",
                marker=marker, markersize=5, markeredgewidth=0.9, color=colour, gid=f"km-censor:{arm.armcd}")
    median = analysis.medians.get(arm.armcd, NAN3)[0]
    if spec.median_lines and not math.isnan(median):
        ax.plot([0.0, median, median], [0.5, 0.5, 0.0], color=colour, linestyle=":", linewidth=0.8,
                gid=f"km-median:{arm.armcd}")


def _style_axes(ax: Any, spec: KmFigure, ticks: np.ndarray) -> None:
    ax.set_xlim(0.0, float(ticks[-1]))
    ax.set_ylim(0.0, 1.03)
    ax.set_xticks(ticks)
    ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.set_ylabel(spec.y_label)
    ax.set_xlabel(spec.x_label)
    ax.legend(loc="lower left", frameon=False)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.5)


def _draw_at_risk(ax: Any, arms: Sequence[Arm], time: np.ndarray, event: np.ndarray, group: np.ndarray,
                  ticks: np.ndarray) -> None:
    from tlfgen.tlf.figures.style import FONT_SIZE, SMALL_FONT_SIZE, arm_style

    import matplotlib.transforms as mtransforms

    label_transform = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
    for row, arm in enumerate(arms):
        mask = group == arm.armcd
        counts = (km_at(time[mask], event[mask], ticks)["n_at_risk"] if mask.any()
                  else pd.Series(np.zeros(ticks.size, dtype=int)))
        colour = arm_style(arm.position)[0]
        ax.text(-0.015, row, arm.armcd, transform=label_transform, ha="right", va="center", color=colour,
                fontsize=FONT_SIZE)
        for tick, count in zip(ticks, counts.to_numpy(dtype=int), strict=True):
            ax.text(float(tick), row, str(int(count)), ha="center", va="center", fontsize=SMALL_FONT_SIZE,
                    gid=f"km-atrisk:{arm.armcd}")
    ax.set_ylim(len(arms) - 0.5, -0.5)
    ax.set_yticks([])
    ax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title("Number at risk", loc="left", fontsize=FONT_SIZE, pad=2)


def read_km(fig: Any) -> dict[str, Any]:
    """Read back what was drawn: step coordinates, censor marks, medians, at-risk numbers, annotation."""
    data: dict[str, Any] = {"steps": {}, "censors": {}, "median_lines": {}, "at_risk": {}, "bands": {}}
    for line in gid_artists(fig, "km-"):
        kind, _, armcd = line.get_gid().partition(":")
        if kind in ("km-curve", "km-censor", "km-median"):
            key = {"km-curve": "steps", "km-censor": "censors", "km-median": "median_lines"}[kind]
            data[key][armcd] = list(zip(map(float, line.get_xdata()), map(float, line.get_ydata()), strict=True))
        elif kind == "km-atrisk":
            x, _ = line.get_position()
            data["at_risk"].setdefault(armcd, []).append((float(x), int(line.get_text())))
        elif kind == "km-band":
            data["bands"][armcd] = [tuple(map(float, v)) for v in line.get_paths()[0].vertices]
        elif kind == "km-annotation":
            data["annotation"] = line.get_text().split("\n")
    return data
