"""TLF stage: build a listing ``Table`` (one row per record) from a listing spec.

Rows are the records of one ADaM dataset for the population's subjects,
sorted by arm (study order) and then the spec's sort keys; variables missing
from the dataset are taken from ADSL. Every cell carries the listing's
analysis id and the subject it belongs to.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.spec.study import ResolvedStudy
from tlfgen.spec.tlf import ListingColumn, ListingSpec, LoadedOutput
from tlfgen.tlf.blocks import fmt, map_distinct
from tlfgen.tlf.model import Analysis, Cell, Column, Row, Table
from tlfgen.tlf.tables import create_groups
from tlfgen.tlf.text import TemplateSet

SAS_EPOCH = date(1960, 1, 1)


def format_listing_value(value: Any, column: ListingColumn) -> str:
    """Listing text for one value: dates as ISO 8601, numbers half-up rounded, text stripped."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if column.format == "date":
        if isinstance(value, (pd.Timestamp, datetime)):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, (int, float, np.integer, np.floating)):
            return (SAS_EPOCH + timedelta(days=int(value))).isoformat()
        return str(value).strip()
    if column.format == "number":
        try:
            return fmt(float(value), column.decimals)
        except (TypeError, ValueError):
            return str(value).strip()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _gather(spec: ListingSpec, out: LoadedOutput, datasets: Mapping[str, pd.DataFrame],
            subjects: list[str]) -> pd.DataFrame:
    if spec.dataset not in datasets:
        raise DataError(f"dataset {spec.dataset} (listing {spec.id}) was not found",
                        file=f"adam/{spec.dataset.lower()}.xpt", hint="run the ADaM stage first")
    data = datasets[spec.dataset]
    if "listing" in out.filters:
        data = data[out.filters["listing"].mask(data)]
    data = data[data["USUBJID"].isin(subjects)].copy()
    adsl = datasets.get("ADSL")
    for col in spec.columns:
        source = col.source or (spec.dataset if col.variable in data.columns else "ADSL")
        if source == spec.dataset:
            if col.variable not in data.columns:
                raise DataError(f"listing {spec.id}: {spec.dataset} has no variable {col.variable}",
                                file=out.display, column=col.variable)
            continue
        frame = datasets.get(source) if source != "ADSL" else adsl
        if frame is None or col.variable not in frame.columns:
            raise DataError(f"listing {spec.id}: variable {col.variable} is neither in {spec.dataset} nor in {source}",
                            file=out.display, column=col.variable)
        values = frame.drop_duplicates("USUBJID").set_index("USUBJID")[col.variable]
        data[col.variable] = data["USUBJID"].map(values)
    for key in spec.sort:
        if key not in data.columns:
            raise DataError(f"listing {spec.id}: sort key {key} is not a variable of {spec.dataset}",
                            file=out.display, column=key)
    return data


def create_listing(out: LoadedOutput, study: ResolvedStudy, datasets: Mapping[str, pd.DataFrame],
                   templates: TemplateSet) -> Table:
    spec = out.spec
    assert isinstance(spec, ListingSpec)
    if "ADSL" not in datasets:
        raise DataError("dataset ADSL was not found", file="adam/adsl.xpt", hint="run the ADaM stage first")
    groups = create_groups(out, study, datasets["ADSL"], total=False, by=spec.arm)
    arm_of = {s: (i, g.key) for i, g in enumerate(groups) for s in g.subjects}
    data = _gather(spec, out, datasets, sorted(arm_of))
    data["_ARMORD"] = data["USUBJID"].map({s: order for s, (order, _) in arm_of.items()})
    keys = ["_ARMORD", *[k for k in spec.sort if k != "USUBJID"]]
    keys.insert(1, "USUBJID")
    data = data.sort_values(keys, kind="mergesort", na_position="last")
    aid = f"{spec.id}.LISTING"
    columns = (Column("ARM", "Arm", kind="listing"),) + tuple(
        Column(c.variable, c.label, kind="listing") for c in spec.columns)
    rows = _create_rows(data, spec.columns, aid, {s: key for s, (_, key) in arm_of.items()})
    if not rows:
        rows.append(Row(spec.empty_text, tuple(Cell("") for _ in columns)))
    pop = out.filters.get("population")
    sub = out.filters.get("listing")
    analyses = (Analysis(aid, f"listing of {spec.dataset}", spec.dataset, pop.text if pop else "",
                         sub.text if sub else "", "listing of records", "", "listing"),)
    context = {
        "output_id": spec.id, "study_id": study.studyid, "cutoff": study.cutoff.isoformat(),
        "population": spec.population.label, "population_filter": spec.population.filter,
        "arms": {g.key: {"label": g.label, "n": len(g.subjects)} for g in groups},
        "records": len(data), "subjects": int(data["USUBJID"].nunique()) if len(data) else 0,
    }
    title, footnotes = templates.output_text(out.template, context)
    return Table(
        id=spec.id, kind="listing", title=title, stub_header="Subject", columns=columns, rows=tuple(rows),
        footnotes=footnotes, spec_path=out.display, cutoff=study.cutoff.isoformat(), analyses=analyses,
        rows_per_page=spec.rows_per_page,
    )


def _cell_content(column: ListingColumn) -> Callable[[Any], tuple[str, tuple]]:
    """value -> (listing text, raw values of the cell) for one column."""
    def content(value: Any) -> tuple[str, tuple]:
        number = float(value) if column.format == "number" and _is_number(value) else None
        return format_listing_value(value, column), ((column.variable, number),) if number is not None else ()

    return content


def _create_rows(data: pd.DataFrame, columns: list[ListingColumn], aid: str, arm_key: dict[str, str]) -> list[Row]:
    """One row per record of ``data`` (already sorted), built column by column."""
    usubjids = [str(s) for s in data["USUBJID"].tolist()]
    subjects = [(s,) for s in usubjids]
    by_column = [create_cells([(arm_key[s], ()) for s in usubjids], aid, subjects)]
    for col in columns:
        if col.variable not in data.columns:
            contents = map_distinct(_cell_content(col), [None] * len(data))
        elif col.format == "date" and pd.api.types.is_datetime64_dtype(data[col.variable]):
            # ISO dates straight from the datetime column (what format_listing_value prints per value)
            texts = data[col.variable].dt.strftime("%Y-%m-%d").tolist()
            contents = [(text, ()) if isinstance(text, str) else ("", ()) for text in texts]
        else:
            contents = map_distinct(_cell_content(col), data[col.variable].astype(object).tolist())
        by_column.append(create_cells(contents, aid, subjects))
    return [Row(label, cells) for label, cells in zip(usubjids, zip(*by_column))]


def create_cells(contents: list[tuple[str, tuple]], aid: str, subjects: list[tuple[str]]) -> list[Cell]:
    """``Cell(text, aid, raw, subject)`` per record; records of one subject with the same text and no
    raw values share one (frozen) cell: about half of a listing's cells, each made once."""
    made: dict[tuple[str, tuple[str]], Cell] = {}
    cells = []
    for (text, raw), subject in zip(contents, subjects):
        if raw:
            cells.append(Cell(text, aid, raw, subject))
            continue
        cell = made.get((text, subject))
        if cell is None:
            cell = made[(text, subject)] = Cell(text, aid, (), subject)
        cells.append(cell)
    return cells


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not (
        isinstance(value, float) and math.isnan(value))
