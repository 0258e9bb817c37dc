"""TLF stage (figures): forest plot of a hazard ratio by ADSL subgroup.

Rows: the overall population, then each subgroup level. Per row: n and events
per arm, the hazard ratio of treatment vs reference with its 95% CI on a log
axis (``tlfgen.tlf.estimates.hazard_ratio``, the call Table 2 makes), printed
as text on the right. A HR is drawn only when both arms have at least one
event in the row; otherwise the row prints "NE". A CI reaching past the x axis
limits is drawn to the limit and ends in an arrow there (the printed text gives its
value). The data handed back are read from the drawn artists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tlfgen.spec.expr import Expression
from tlfgen.stats.formatting import fmt_estimate_ci
from tlfgen.tlf.figures.common import (
    Arm, Drawn, gid_artists, param_records, require, subject_arms, time_event,
)
from tlfgen.tlf.figures.placeholder import create_placeholder_figure
from tlfgen.tlf.figures.spec import ForestFigure, Level
from tlfgen.tlf.figures.style import OKABE_ITO, SMALL_FONT_SIZE, create_figure, figure_style


@dataclass(frozen=True)
class ForestRow:
    key: str  # "OVERALL", "SEX=F" ...
    label: str
    kind: str  # overall, header, level
    n: tuple[int, ...] = ()  # per arm, display order
    events: tuple[int, ...] = ()
    hr: tuple[float, float, float] | None = None


def level_mask(series: pd.Series, value: Any) -> pd.Series:
    """Rows whose value equals a spec level: numbers compare as numbers, text stripped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return pd.to_numeric(series, errors="coerce") == float(value)
    return series.astype(str).str.strip() == str(value).strip()


def compute_forest_row(key: str, label: str, time: np.ndarray, event: np.ndarray, group: np.ndarray,
                       arms: Sequence[Arm], treatment: str, reference: str, method: str,
                       kind: str = "level") -> ForestRow:
    """n and events per arm and the HR treatment vs reference (None when an arm has no event)."""
    from tlfgen.tlf import estimates

    n = tuple(int((group == a.armcd).sum()) for a in arms)
    ev = tuple(int(event[group == a.armcd].sum()) for a in arms)
    pair = np.isin(group, [treatment, reference])
    events_t = event[group == treatment].sum()
    events_r = event[group == reference].sum()
    hr = None
    if events_t > 0 and events_r > 0:
        h, lo, hi, _ = estimates.hazard_ratio(time[pair], event[pair], group[pair], treatment, reference, method)
        hr = (h, lo, hi)
    return ForestRow(key, label, kind, n, ev, hr)


def compute_forest_rows(spec: ForestFigure, adsl: pd.DataFrame, records: pd.DataFrame, time: np.ndarray,
                        event: np.ndarray, group: np.ndarray, arms: Sequence[Arm], treatment: str,
                        reference: str) -> list[ForestRow]:
    rows = [compute_forest_row("OVERALL", spec.overall_label, time, event, group, arms, treatment, reference,
                               spec.hr, kind="overall")]
    base = adsl.drop_duplicates("USUBJID").set_index("USUBJID").reindex(records.index)
    for sub in spec.subgroups:
        require(adsl, "ADSL", sub.variable)
        rows.append(ForestRow(sub.variable, sub.label, "header"))
        for level in sub.levels:
            mask = level_mask(base[sub.variable], level.value).to_numpy(dtype=bool)
            rows.append(_level_row(sub.variable, level, time[mask], event[mask], group[mask], arms,
                                   treatment, reference, spec.hr))
    return rows


def _level_row(variable: str, level: Level, time, event, group, arms, treatment, reference, method) -> ForestRow:
    key = f"{variable}={level.value}"
    return compute_forest_row(key, level.text, time, event, group, arms, treatment, reference, method)


def create_forest_figure(spec: ForestFigure, adsl: pd.DataFrame, adtte: pd.DataFrame, arms: Sequence[Arm], *,
                         population: Expression | None = None) -> Drawn:
    subjects = subject_arms(adsl, population, arms)
    records = param_records(adtte, spec.dataset, spec.param, subjects.index, spec.time, spec.censor)
    if records.empty:
        return create_placeholder_figure(spec, f"no {spec.dataset} records with PARAMCD {spec.param} "
                                               "in the population")
    time, event = time_event(records, spec.dataset, spec.time, spec.censor)
    group = subjects.reindex(records.index).to_numpy(dtype=object)
    treatment = spec.treatment or arms[0].armcd
    reference = spec.reference or arms[1].armcd
    rows = compute_forest_rows(spec, adsl, records, time, event, group, arms, treatment, reference)
    with figure_style():
        fig = create_figure(spec.width, max(spec.height, 1.2 + 0.2 * len(rows)))
        _draw_forest(fig, spec, rows, arms, treatment, reference)
    return Drawn(fig, read_forest(fig))


def _draw_forest(fig: Any, spec: ForestFigure, rows: list[ForestRow], arms: Sequence[Arm], treatment: str,
                 reference: str) -> None:
    import matplotlib.transforms as mtransforms

    ax = fig.add_axes((0.47, 0.10, 0.30, 0.82))
    ax.set_xscale("log")
    lo_lim, hi_lim = spec.x_limits
    ax.set_xlim(lo_lim, hi_lim)
    ax.set_ylim(len(rows) - 0.5, -1.5)
    text_at = mtransforms.blended_transform_factory(fig.transFigure, ax.transData)
    columns = [(0.02, "Subgroup", "left")] + [(0.30 + 0.085 * a.position, f"{a.armcd}\nevents/n", "center")
                                              for a in arms]
    columns.append((0.79, "HR (95% CI)", "left"))
    for x, header, ha in columns:
        fig.text(x, 0.935, header, ha=ha, va="bottom", fontweight="bold", fontsize=SMALL_FONT_SIZE)
    for y, row in enumerate(rows):
        weight = "bold" if row.kind in ("overall", "header") else "normal"
        indent = 0.015 if row.kind == "level" else 0.0
        fig.text(0.02 + indent, y, row.label, transform=text_at, ha="left", va="center", fontweight=weight,
                 fontsize=SMALL_FONT_SIZE, gid=f"forest-label:{row.key}")
        if row.kind == "header":
            continue
        for i, arm in enumerate(arms):
            fig.text(columns[1 + i][0], y, f"{row.events[i]}/{row.n[i]}", transform=text_at, ha="center",
                     va="center", fontsize=SMALL_FONT_SIZE, gid=f"forest-count:{row.key}:{arm.armcd}")
        hr_text = fmt_estimate_ci(*row.hr, spec.ratio_decimals) if row.hr else "NE"
        fig.text(0.79, y, hr_text, transform=text_at, ha="left", va="center", fontsize=SMALL_FONT_SIZE,
                 gid=f"forest-hr:{row.key}")
        if row.hr is not None and all(math.isfinite(v) and v > 0 for v in row.hr):
            h, lo, hi = row.hr
            colour = OKABE_ITO["black"] if row.kind == "overall" else OKABE_ITO["blue"]
            ax.plot([max(lo, lo_lim), min(hi, hi_lim)], [y, y], color=colour, linewidth=1.0, solid_capstyle="butt",
                    gid=f"forest-ci:{row.key}")
            # a CI running past the axis ends in an arrow at the edge (the printed HR text has its limits)
            for side, beyond, edge, marker in (("left", lo < lo_lim, lo_lim, "<"), ("right", hi > hi_lim, hi_lim, ">")):
                if beyond:
                    ax.plot([edge], [y], marker=marker, markersize=4.5, color=colour, linestyle="none", clip_on=False,
                            gid=f"forest-arrow:{row.key}:{side}")
            marker = "D" if row.kind == "overall" else "s"
            size = 3.0 + 4.0 * math.sqrt(sum(row.n) / max(sum(rows[0].n), 1))
            ax.plot([h], [y], marker=marker, markersize=size, color=colour, linestyle="none",
                    gid=f"forest-point:{row.key}")
    ax.axvline(1.0, color="#555555", linewidth=0.8)
    overall = rows[0].hr
    if overall is not None and math.isfinite(overall[0]) and overall[0] > 0:
        ax.axvline(overall[0], color="#555555", linewidth=0.6, linestyle="--")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel(spec.x_label)
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if lo_lim <= t <= hi_lim]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.text(0.0, -0.085, f"\u2190 Favours {treatment}", transform=ax.transAxes, ha="left", va="top",
            fontsize=SMALL_FONT_SIZE)
    ax.text(1.0, -0.085, f"Favours {reference} \u2192", transform=ax.transAxes, ha="right", va="top",
            fontsize=SMALL_FONT_SIZE)


def read_forest(fig: Any) -> dict[str, Any]:
    """Rows as drawn: label, events/n text per arm, HR text, the plotted point and CI (cut at the axis
    limits) and the arrows drawn where the CI runs past them, as (side, x)."""
    rows: dict[str, dict[str, Any]] = {}
    for art in gid_artists(fig, "forest-"):
        kind, _, rest = art.get_gid().partition(":")
        key, _, armcd = rest.partition(":")
        row = rows.setdefault(key, {"key": key, "counts": {}})
        if kind == "forest-label":
            row["label"] = art.get_text()
            row["y"] = float(art.get_position()[1])
        elif kind == "forest-count":
            row["counts"][armcd] = art.get_text()
        elif kind == "forest-hr":
            row["hr_text"] = art.get_text()
        elif kind == "forest-point":
            row["hr"] = float(art.get_xdata()[0])
        elif kind == "forest-ci":
            row["ci"] = tuple(float(v) for v in art.get_xdata())
        elif kind == "forest-arrow":
            row.setdefault("arrows", []).append((armcd, float(art.get_xdata()[0])))
    return {"rows": sorted(rows.values(), key=lambda r: r.get("y", math.inf))}
