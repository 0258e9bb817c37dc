"""TLF stage: build a listing ``Table`` (one row per record) from a listing spec.

Rows are the records of one ADaM dataset for the population's subjects,
sorted by arm (study order) and then the spec's sort keys; variables missing
from the dataset are taken from ADSL. Every cell carries the listing's
analysis id and the subject it belongs to.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, Mapping

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.spec.study import ResolvedStudy
from tlfgen.spec.tlf import ListingColumn, ListingSpec, LoadedOutput
from tlfgen.tlf.blocks import fmt
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
    data["_ARMORD"] = data["USUBJID"].map(lambda s: arm_of[s][0])
    keys = ["_ARMORD", *[k for k in spec.sort if k != "USUBJID"]]
    keys.insert(1, "USUBJID")
    data = data.sort_values(keys, kind="mergesort", na_position="last")
    aid = f"{spec.id}.LISTING"
    columns = (Column("ARM", "Treatment", kind="listing"),) + tuple(
        Column(c.variable, c.label, kind="listing") for c in spec.columns)
    rows = []
    for record in data.to_dict("records"):
        usubjid = str(record["USUBJID"])
        subj = (usubjid,)
        cells = [Cell(arm_of[usubjid][1], aid, (), subj)]
        for col in spec.columns:
            value = record.get(col.variable)
            raw = float(value) if col.format == "number" and _is_number(value) else None
            cells.append(Cell(format_listing_value(value, col), aid, ((col.variable, raw),) if raw is not None else (),
                              subj))
        rows.append(Row(usubjid, tuple(cells)))
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not (
        isinstance(value, float) and math.isnan(value))
