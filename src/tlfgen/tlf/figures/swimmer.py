"""TLF stage (figures): swimmer plot of time on study per subject.

Per subject of the population with a first dose (ADSL TRTSDT), times in months
from first dose (days = date - TRTSDT + 1, divided by ``months_divisor``, as in
ADTTE):

- a dark bar for treatment (TRTSDT to TRTEDT) and a light bar for follow-up
  after treatment up to the last known alive date or death (LSTALVDT, DTHDT), or, with
  ``censor_at_surgery`` (the default), up to conversion surgery (SURGDT) where the
  time-to-event analyses censor: a lane is the follow-up the KM figures count, and the
  markers after its end (a death after surgery) are not drawn;
- markers: first response (first ADRS ``response_param`` record with AVALC in
  ``responses``, ADT), progression (ADTTE PFS event, CNSR = 0, whose date is not
  the death date), conversion surgery (SURGDT), death (DTHDT) and an arrow for
  treatment ongoing at the cutoff (EOTSTT = ONGOING).

Subjects are grouped by arm and sorted by time on study, longest first. Each
arm's treatment bars are one patch (one compound path, ``common.create_rectangles``)
and so are its follow-up bars, so thousands of subjects cost a few artists to
draw and save. The figure grows ``ROW_INCHES`` per lane up to ``MAX_HEIGHT``
inches; with more lanes they get thinner (markers too) and a method note
(footnote) says how high a lane is drawn.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.io.xpt import compute_from_sas_numbers
from tlfgen.spec.expr import Expression
from tlfgen.tlf.figures.common import (
    Arm, Drawn, create_rectangles, dataset_file, gid_artists, read_rectangles, require, subject_arms,
)
from tlfgen.tlf.figures.placeholder import create_placeholder_figure
from tlfgen.tlf.figures.spec import SwimmerFigure
from tlfgen.tlf.figures.style import OKABE_ITO, SMALL_FONT_SIZE, arm_style, create_figure, figure_style

ROW_INCHES = 0.085  # figure height per lane, up to MAX_HEIGHT
MAX_HEIGHT = 11.0  # inches: past this the lanes get thinner instead of the figure taller
LANE_HEIGHT = 0.7  # of the distance between lanes
MIN_MARKER = 1.0  # points
#: marker kind -> (legend label, marker, colour, size)
MARKERS: dict[str, tuple[str, str, str, float]] = {
    "response": ("First response (CR/PR)", "^", OKABE_ITO["bluish_green"], 4.0),
    "progression": ("Progression", "o", OKABE_ITO["orange"], 3.6),
    "surgery": ("Conversion surgery", "D", OKABE_ITO["reddish_purple"], 3.4),
    "death": ("Death", "X", OKABE_ITO["black"], 4.2),
    "ongoing": ("Treatment ongoing", ">", OKABE_ITO["vermillion"], 4.0),
}


def as_dates(series: pd.Series, dataset: str, column: str) -> pd.Series:
    """Dates as pandas Timestamps: datetime64 as is, numbers as SAS days since 1960-01-01."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.normalize()
    if pd.api.types.is_numeric_dtype(series):
        return compute_from_sas_numbers(series, "D")
    converted = pd.to_datetime(series, errors="coerce")
    bad = converted.isna() & series.notna() & (series.astype(str).str.strip() != "")
    if bad.any():
        raise DataError(f"{dataset}.{column} has a value that is not a date: {series[bad].iloc[0]!r}",
                        file=dataset_file(dataset), column=column)
    return converted


def compute_swimmer_lanes(spec: SwimmerFigure, adsl: pd.DataFrame, adrs: pd.DataFrame, adtte: pd.DataFrame,
                          arms: Sequence[Arm], population: Expression | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per drawn subject: ARM and the times (months) of each bar end and marker (NaN if none)."""
    subjects = subject_arms(adsl, population, arms)
    require(adsl, "ADSL", "TRTSDT", "TRTEDT", "LSTALVDT", "DTHDT", "SURGDT", "EOTSTT")
    base = adsl.drop_duplicates("USUBJID").set_index("USUBJID").reindex(subjects.index)
    dates = {c: as_dates(base[c], "ADSL", c) for c in ("TRTSDT", "TRTEDT", "LSTALVDT", "DTHDT", "SURGDT")}
    start = dates["TRTSDT"]

    def months(values: pd.Series) -> pd.Series:
        return ((values - start).dt.days + 1) / spec.months_divisor

    lanes = pd.DataFrame(index=subjects.index)
    lanes["ARM"] = subjects
    lanes["treatment_end"] = months(dates["TRTEDT"].fillna(start))
    ends = pd.concat([dates["LSTALVDT"], dates["DTHDT"], dates["TRTEDT"]], axis=1).max(axis=1)
    if spec.censor_at_surgery:
        ends = ends.where(dates["SURGDT"].isna() | (ends <= dates["SURGDT"]), dates["SURGDT"])
    lanes["study_end"] = months(ends.fillna(start))
    lanes["treatment_end"] = lanes["treatment_end"].where(lanes["treatment_end"] <= lanes["study_end"],
                                                          lanes["study_end"])
    lanes["response"] = months(_first_response(spec, adrs, subjects.index).reindex(subjects.index))
    progression = _pfs_event(spec, adtte, subjects.index).reindex(subjects.index)
    lanes["progression"] = months(progression.where(progression != dates["DTHDT"]))
    lanes["surgery"] = months(dates["SURGDT"])
    lanes["death"] = months(dates["DTHDT"])
    ongoing = base["EOTSTT"].astype(str).str.strip().str.upper() == "ONGOING"
    lanes["ongoing"] = lanes["treatment_end"].where(ongoing)
    for kind in ("response", "progression", "death"):  # nothing is drawn past the end of a lane
        lanes[kind] = lanes[kind].where(~(lanes[kind] > lanes["study_end"]))
    left_out = sorted(lanes.index[start.isna()])
    lanes = lanes[start.notna()]
    order = {a.armcd: a.position for a in arms}
    lanes = lanes.rename_axis(None).assign(_arm=lanes["ARM"].map(order), USUBJID=lanes.index).sort_values(
        ["_arm", "study_end", "USUBJID"], ascending=[True, False, True], kind="mergesort")
    return lanes.drop(columns=["_arm"]).reset_index(drop=True), left_out


def _first_response(spec: SwimmerFigure, adrs: pd.DataFrame, subjects: pd.Index) -> pd.Series:
    require(adrs, spec.response_dataset, "USUBJID", "PARAMCD", "AVALC", "ADT")
    rows = adrs[(adrs["PARAMCD"].astype(str).str.strip() == spec.response_param) & adrs["USUBJID"].isin(subjects)]
    rows = rows[rows["AVALC"].astype(str).str.strip().isin(spec.responses)]
    adt = as_dates(rows["ADT"], spec.response_dataset, "ADT")
    return adt.groupby(rows["USUBJID"]).min()


def _pfs_event(spec: SwimmerFigure, adtte: pd.DataFrame, subjects: pd.Index) -> pd.Series:
    require(adtte, spec.tte_dataset, "USUBJID", "PARAMCD", "CNSR", "ADT")
    rows = adtte[(adtte["PARAMCD"].astype(str).str.strip() == spec.pfs_param) & adtte["USUBJID"].isin(subjects)]
    rows = rows[pd.to_numeric(rows["CNSR"], errors="coerce") == 0]
    adt = as_dates(rows["ADT"], spec.tte_dataset, "ADT")
    return adt.groupby(rows["USUBJID"]).min()


def create_swimmer_figure(spec: SwimmerFigure, adsl: pd.DataFrame, adrs: pd.DataFrame, adtte: pd.DataFrame,
                          arms: Sequence[Arm], *, population: Expression | None = None) -> Drawn:
    """Draw the lanes (one compound patch per arm and bar kind) and markers (one line per kind).

    The figure grows ``ROW_INCHES`` per lane up to ``MAX_HEIGHT``; past that the lanes and
    markers shrink to fit and a method note says how high a lane is drawn.
    """
    lanes, left_out = compute_swimmer_lanes(spec, adsl, adrs, adtte, arms, population)
    if lanes.empty:
        return create_placeholder_figure(spec, "no treated subjects (ADSL.TRTSDT) in the population")
    y = np.arange(len(lanes), dtype=float) + lanes["ARM"].map({a.armcd: a.position for a in arms}).to_numpy() * 1.5
    natural = 1.3 + ROW_INCHES * (y[-1] + 2)
    height = max(spec.height, min(natural, MAX_HEIGHT))
    scale = min(1.0, (height - 1.3) / (natural - 1.3))
    with figure_style():
        fig = create_figure(spec.width, height)
        ax = fig.add_axes((0.1, 0.07, 0.86, 0.86))
        ids = _draw_lanes(ax, lanes, y, arms)
        handles = _draw_markers(ax, lanes, y, scale)
        ax.set_ylim(float(y[-1]) + 1.0, -1.0)
        ax.set_xlim(0.0, float(lanes["study_end"].max()) * 1.03 + 0.5)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(spec.x_label)
        ax.legend(handles=handles, loc="lower right", frameon=False, fontsize=SMALL_FONT_SIZE)
    data = read_swimmer(fig, ids)
    data["left_out"] = left_out
    if scale < 1.0:
        lane_pt = LANE_HEIGHT * 0.86 * height * 72.0 / (y[-1] + 2)
        data["method_notes"] = [f"{len(lanes)} subjects: the figure height is capped at {MAX_HEIGHT:g} in, so each "
                                f"lane is {lane_pt:.2g} pt high and the markers of neighbouring lanes overlap."]
    return Drawn(fig, data)


def _draw_lanes(ax: Any, lanes: pd.DataFrame, y: np.ndarray, arms: Sequence[Arm]) -> dict[str, list[str]]:
    """One compound patch per arm for the treatment bars and one for the follow-up bars; USUBJIDs per arm."""
    import matplotlib.transforms as mtransforms

    label_at = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
    ids: dict[str, list[str]] = {}
    for arm in arms:
        mask = (lanes["ARM"] == arm.armcd).to_numpy()
        if not mask.any():
            continue
        colour = arm_style(arm.position)[0]
        ax.text(-0.01, float(y[mask].mean()), f"{arm.armcd}\n(n={int(mask.sum())})", transform=label_at,
                ha="right", va="center", color=colour, fontweight="bold")
        yi, treat_end = y[mask], lanes["treatment_end"].to_numpy(dtype=float)[mask]
        study_end = lanes["study_end"].to_numpy(dtype=float)[mask]
        low, high = yi - LANE_HEIGHT / 2, yi + LANE_HEIGHT / 2
        ax.add_artist(create_rectangles(f"sw-treat:{arm.armcd}", np.zeros_like(yi), treat_end, low, high,
                                        facecolor=colour, edgecolor="none", linewidth=0))
        ax.add_artist(create_rectangles(f"sw-follow:{arm.armcd}", treat_end, study_end, low, high,
                                        facecolor=colour, edgecolor="none", linewidth=0, alpha=0.3))
        ids[arm.armcd] = lanes["USUBJID"][mask].tolist()
    return ids


def _draw_markers(ax: Any, lanes: pd.DataFrame, y: np.ndarray, scale: float = 1.0) -> list[Any]:
    from matplotlib.lines import Line2D

    handles = []
    for kind, (label, marker, colour, size) in MARKERS.items():
        values = lanes[kind].to_numpy(dtype=float)
        mask = ~np.isnan(values)
        ax.plot(values[mask], y[mask], linestyle="none", marker=marker, color=colour,
                markersize=max(size * scale, MIN_MARKER), markeredgecolor="white" if kind != "ongoing" else colour,
                markeredgewidth=0.3 * scale, gid=f"sw-mark:{kind}")
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, markersize=size, label=label))
    return handles


def read_swimmer(fig: Any, ids: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Lanes as drawn (USUBJID -> treatment end, study end) and markers per kind as (USUBJID, months).

    ``ids``: armcd -> the USUBJIDs of the arm's lanes, in the order the rectangles were drawn.
    """
    lanes: dict[str, dict[str, float]] = {}
    by_y: dict[float, str] = {}
    marks: dict[str, list[tuple[float, float]]] = {}
    for art in gid_artists(fig, "sw-"):
        kind, _, name = art.get_gid().partition(":")
        if kind in ("sw-treat", "sw-follow"):
            for usubjid, (x0, x1, y0, y1) in zip(ids[name], read_rectangles(art).tolist(), strict=True):
                lane = lanes.setdefault(usubjid, {})
                if kind == "sw-treat":
                    lane["treatment_end"] = x1 - x0
                    by_y[round((y0 + y1) / 2, 6)] = usubjid
                else:
                    lane["study_end"] = x1
        else:
            marks[name] = list(zip(np.asarray(art.get_xdata(), dtype=float).tolist(),
                                   np.asarray(art.get_ydata(), dtype=float).tolist(), strict=True))
    markers = {k: [(by_y[round(yv, 6)], x) for x, yv in v] for k, v in marks.items()}
    return {"order": list(lanes), "lanes": lanes, "markers": markers}
