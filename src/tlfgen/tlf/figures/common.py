"""TLF stage (figures): the result model and the data helpers every figure shares.

``FigureResult`` is what a figure hands back: its id, title, footnotes, file
paths and the data it drew (read back from the matplotlib artists). The
helpers select the population and arms from ADSL and one record per subject
of an ADaM parameter, raising ``DataError`` naming dataset and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.spec.expr import Expression

if TYPE_CHECKING:  # matplotlib is imported by the process that draws, not by its callers
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Arm:
    armcd: str
    label: str
    position: int  # 0 = first arm (treatment), 1 = second (reference) ...


@dataclass(frozen=True)
class FigureResult:
    """A drawn figure: text around it, its files and the data read back from the drawing."""

    id: str
    kind: str
    title: str
    footnotes: tuple[str, ...]
    png: Path | None
    svg: Path | None
    data: Mapping[str, Any] = field(default_factory=dict)
    width: float = 9.0  # inches, as drawn
    height: float = 6.0


@dataclass(frozen=True)
class Drawn:
    """A figure before saving: the matplotlib figure and the data read back from it."""

    figure: Figure
    data: Mapping[str, Any]


def dataset_file(name: str) -> str:
    return f"adam/{name.lower()}.xpt"


def require(data: pd.DataFrame, dataset: str, *columns: str) -> None:
    """Raise a DataError naming the first missing column of ``dataset``."""
    for col in columns:
        if col not in data.columns:
            raise DataError(f"dataset {dataset} has no column {col}, which the figure needs",
                            file=dataset_file(dataset), column=col,
                            hint="check the figure spec (specs/tlf/figures.yaml) or rerun the ADaM stage")


def get_dataset(datasets: Mapping[str, pd.DataFrame], name: str, figure_id: str) -> pd.DataFrame:
    if name not in datasets:
        raise DataError(f"dataset {name} is needed by figure {figure_id} but was not found",
                        file=dataset_file(name), hint="run the ADaM stage first")
    return datasets[name]


def order_arms(armcds: Sequence[str], labels: Mapping[str, str], treatment: str | None,
               reference: str | None) -> tuple[Arm, ...]:
    """Arms in display order: treatment first, reference second, the others after."""
    first = [a for a in (treatment, reference) if a]
    rest = [a for a in armcds if a not in first]
    ordered = first + rest if first else list(armcds)
    return tuple(Arm(a, labels.get(a, a), i) for i, a in enumerate(ordered))


def subject_arms(adsl: pd.DataFrame, population: Expression | None, arms: Sequence[Arm],
                 arm_var: str = "TRT01P") -> pd.Series:
    """USUBJID -> armcd for the population subjects in one of ``arms`` (sorted by USUBJID).

    ``arm_var`` may hold the arm code or the arm's name (the CDISC pilot's TRT01P is DM.ARM).
    """
    require(adsl, "ADSL", "USUBJID", arm_var)
    data = adsl if population is None else adsl[population.mask(adsl)]
    dup = data["USUBJID"][data["USUBJID"].duplicated()]
    if not dup.empty:
        raise DataError(f"ADSL has more than one record for USUBJID {dup.iloc[0]}", file=dataset_file("ADSL"),
                        column="USUBJID")
    arm = data.set_index("USUBJID")[arm_var].astype(str).str.strip()
    codes = {a.label: a.armcd for a in arms} | {a.armcd: a.armcd for a in arms}
    arm = arm[arm.isin(list(codes))].map(codes)
    return arm.sort_index()


def param_records(data: pd.DataFrame, dataset: str, param: str, subjects: pd.Index,
                  *columns: str) -> pd.DataFrame:
    """One record per subject of PARAMCD ``param`` for ``subjects``, indexed by USUBJID."""
    require(data, dataset, "USUBJID", "PARAMCD", *columns)
    rows = data[(data["PARAMCD"].astype(str).str.strip() == param) & data["USUBJID"].isin(subjects)]
    dup = rows["USUBJID"][rows["USUBJID"].duplicated()]
    if not dup.empty:
        raise DataError(f"{dataset} has more than one PARAMCD {param} record for USUBJID {dup.iloc[0]}",
                        file=dataset_file(dataset), column="PARAMCD")
    return rows.set_index("USUBJID").sort_index()


def time_event(records: pd.DataFrame, dataset: str, time: str, censor: str) -> tuple[np.ndarray, np.ndarray]:
    """Times and event indicators (1 - CNSR) as float arrays; missing values are errors."""
    for col in (time, censor):
        bad = records[col].isna()
        if bad.any():
            raise DataError(f"{dataset}.{col} is missing for USUBJID {records.index[bad][0]}",
                            file=dataset_file(dataset), column=col)
    cnsr = records[censor].astype(float).to_numpy()
    if not np.isin(cnsr, (0.0, 1.0)).all():
        raise DataError(f"{dataset}.{censor} must be 0 or 1", file=dataset_file(dataset), column=censor)
    return records[time].astype(float).to_numpy(), 1.0 - cnsr


def create_rectangles(gid: str, x0: Any, x1: Any, y0: Any, y1: Any, **style: Any) -> Any:
    """Axis-aligned rectangles (arrays of edges) as one ``PathPatch`` of one compound path.

    Thousands of bars as one artist instead of one ``Rectangle`` each: adding it, rasterising
    it (fill and hatch once) and writing it to SVG (one ``<path>``) cost one artist, not one
    per subject. ``style``: ``Patch`` keywords (facecolor, edgecolor, linewidth, hatch, alpha).
    """
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    x0, x1, y0, y1 = (np.asarray(v, dtype=float) for v in (x0, x1, y0, y1))
    verts = np.stack([np.stack(corner, axis=1) for corner in ((x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0))],
                     axis=1)
    codes = np.tile(np.array(_rectangle_codes(), dtype=MplPath.code_type), len(x0))
    return PathPatch(MplPath(verts.reshape(-1, 2), codes), gid=gid, **style)


def _rectangle_codes() -> tuple[int, ...]:
    from matplotlib.path import Path as MplPath

    return (MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY)


def read_rectangles(patch: Any) -> np.ndarray:
    """The (x0, x1, y0, y1) edges of each rectangle of a patch made by ``create_rectangles``, in order."""
    verts = np.asarray(patch.get_path().vertices, dtype=float).reshape(-1, 5, 2)
    return np.stack([verts[:, 0, 0], verts[:, 2, 0], verts[:, 0, 1], verts[:, 1, 1]], axis=1)


def gid_artists(fig: Figure, prefix: str) -> list[Any]:
    """Artists of ``fig`` whose gid starts with ``prefix``, in drawing order."""
    return [a for a in fig.findobj(lambda art: (art.get_gid() or "").startswith(prefix))]
