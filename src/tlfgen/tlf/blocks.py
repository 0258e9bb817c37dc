"""TLF stage: row-block builders for tables laid out by treatment group.

Each ``create_*_rows`` function takes one block spec and a ``BlockContext`` and
returns the rows and the analyses behind them. Statistics come from
``tlfgen.stats`` through ``tlf/estimates.py``; rounding from
``tlfgen.stats.formatting``; the assembly of cell text from ``cells.j2``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.spec.expr import Expression
from tlfgen.spec.tlf import (
    CategoricalBlock, ContinuousBlock, FollowupBlock, Precision, RateBlock, TteBlock,
)
from tlfgen.tlf import estimates
from tlfgen.tlf.model import EMPTY, Analysis, Cell, Column, Row
from tlfgen.tlf.text import TemplateSet

CMP = "CMP"
TOTAL = "TOTAL"


@dataclass(frozen=True)
class Group:
    key: str  # armcd or TOTAL
    label: str
    subjects: tuple[str, ...]  # sorted USUBJIDs of the population in this group


@dataclass(frozen=True)
class BlockContext:
    output_id: str
    groups: tuple[Group, ...]  # arms then total
    columns: tuple[Column, ...]  # groups then comparison (if any)
    datasets: Mapping[str, pd.DataFrame]
    templates: TemplateSet
    precision: Precision
    population_text: str
    filters: Mapping[str, Expression]
    treatment: str | None = None
    reference: str | None = None

    @property
    def has_comparison(self) -> bool:
        return any(c.key == CMP for c in self.columns)

    def group(self, key: str) -> Group:
        return next(g for g in self.groups if g.key == key)

    def analysis_id(self, *parts: str) -> str:
        return ".".join([self.output_id, *(safe_id(p) for p in parts if p)])


# -- small helpers ----------------------------------------------------------------------------


def safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_").upper() or "X"


def fmt(value: float | None, decimals: int) -> str:
    """Half-up rounding as SAS prints; missing -> "NE"."""
    from tlfgen.stats.formatting import fmt_num

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NE"
    return fmt_num(value, decimals)


def fmt_p(p: float | None, style: str) -> str:
    from tlfgen.stats.formatting import fmt_p as stats_fmt_p

    return stats_fmt_p(p, style, missing="NE")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def select_records(ctx: BlockContext, dataset: str, key: str, block_label: str) -> pd.DataFrame:
    """Records of a dataset after the block filter, restricted to population subjects."""
    if dataset not in ctx.datasets:
        raise DataError(f"dataset {dataset} is needed by block '{block_label}' of {ctx.output_id} but was not found",
                        file=f"adam/{dataset.lower()}.xpt", hint="run the ADaM stage first")
    data = ctx.datasets[dataset]
    if "USUBJID" not in data.columns:
        raise DataError(f"dataset {dataset} has no USUBJID", file=f"adam/{dataset.lower()}.xpt", column="USUBJID")
    expr = ctx.filters.get(key)
    if expr is not None:
        data = data[expr.mask(data)]
    everyone = set().union(*(g.subjects for g in ctx.groups))
    return data[data["USUBJID"].isin(everyone)]


def one_per_subject(data: pd.DataFrame, dataset: str, what: str) -> pd.DataFrame:
    dup = data["USUBJID"][data["USUBJID"].duplicated()]
    if not dup.empty:
        raise DataError(
            f"{what}: more than one {dataset} record for USUBJID {dup.iloc[0]} after the block filter",
            file=f"adam/{dataset.lower()}.xpt", hint="make the block filter select one record per subject",
        )
    return data.set_index("USUBJID")


def require(data: pd.DataFrame, dataset: str, *columns: str) -> None:
    for column in columns:
        if column not in data.columns:
            raise DataError(f"{dataset} has no variable {column}", file=f"adam/{dataset.lower()}.xpt", column=column)


def norm(value: Any) -> Any:
    """Comparable form of a level value: numbers as float, text stripped and upper-cased."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text.upper()


def map_distinct(func: Callable[[Any], Any], values: Iterable[Any]) -> list[Any]:
    """``[func(v) for v in values]``, calling ``func`` once per distinct value.

    Values are told apart by type and value; float zeros (0.0 and -0.0 are equal but print
    differently), NaNs (never equal) and unhashable values are passed to ``func`` each time.
    """
    done: dict[tuple[type, Any], Any] = {}
    out = []
    for value in values:
        key = (type(value), value)
        try:
            out.append(done[key])
        except KeyError:
            result = func(value)
            if not (isinstance(value, (float, np.floating)) and value == 0.0):
                done[key] = result
            out.append(result)
        except TypeError:  # unhashable
            out.append(func(value))
    return out


def count_cell(ctx: BlockContext, aid: str, subjects: list[str], denominator: int) -> Cell:
    n = len(subjects)
    pct = 100.0 * n / denominator if denominator else float("nan")
    text = ctx.templates.cell("n_pct", n=str(n), pct=fmt(pct, ctx.precision.pct))
    return Cell(text, aid, (("n", n), ("denominator", denominator), ("pct", _num(pct))), tuple(sorted(subjects)))


def row_of(ctx: BlockContext, label: str, by_key: Mapping[str, Cell], block_id: str, indent: int = 1) -> Row:
    return Row(label, tuple(by_key.get(c.key, EMPTY) for c in ctx.columns), indent, "data", block_id)


def header_row(label: str, block_id: str) -> Row:
    return Row(label, (), 0, "header", block_id)


def analysis(ctx: BlockContext, aid: str, description: str, *, dataset: str, block_key: str,
             method: str = "", group: str = "", role: str = "") -> Analysis:
    subset = ctx.filters.get(block_key)
    return Analysis(aid, description, dataset, ctx.population_text, subset.text if subset else "", method, group,
                    role)


def _arm_pair(ctx: BlockContext) -> tuple[Group, Group]:
    return ctx.group(ctx.treatment or ""), ctx.group(ctx.reference or "")


# -- categorical ----------------------------------------------------------------------------


def create_categorical_rows(block: CategoricalBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    data = select_records(ctx, block.dataset, block.id, block.label)
    require(data, block.dataset, block.variable)
    column = one_per_subject(data, block.dataset, f"block {block.id}")[block.variable]
    values = dict(zip(column.index, map_distinct(norm, column)))
    rows, analyses = [header_row(block.label, block.id)], []
    level_keys = [norm(level.value) for level in block.levels]
    counts: dict[str, list[int]] = {}
    labels = [(level.text, key) for level, key in zip(block.levels, level_keys)]
    by_level: dict[str, dict[Any, list[str]]] = {}  # group -> normalised value -> subjects (group order)
    for g in ctx.groups:
        by_level[g.key] = {}
        for s in g.subjects:
            by_level[g.key].setdefault(values.get(s), []).append(s)
    missing = {g.key: [s for s in g.subjects if values.get(s) not in level_keys] for g in ctx.groups}
    if block.missing_label and any(missing.values()):
        labels.append((block.missing_label, "__missing__"))
    for text, key in labels:
        cells = {}
        for g in ctx.groups:
            subjects = missing[g.key] if key == "__missing__" else by_level[g.key].get(key, [])
            aid = ctx.analysis_id(block.id, text, g.key)
            cells[g.key] = count_cell(ctx, aid, subjects, len(g.subjects))
            counts.setdefault(g.key, []).append(len(subjects))
            analyses.append(analysis(ctx, aid, f"{block.label}: {text}, n (%)", dataset=block.dataset,
                                     block_key=block.id, method="count of subjects", group=g.key, role="count"))
        rows.append(row_of(ctx, text, cells, block.id))
    if block.test != "none" and ctx.has_comparison:
        treat, ref = _arm_pair(ctx)
        table = [counts[treat.key], counts[ref.key]]
        p, name = estimates.compare_counts(table, block.test)
        aid = ctx.analysis_id(block.id, "TEST")
        cell = Cell(ctx.templates.cell("p_value", p=fmt_p(p, ctx.precision.p_style)), aid, (("p", _num(p)),))
        rows[1] = _with_cell(ctx, rows[1], CMP, cell)
        analyses.append(analysis(ctx, aid, f"{block.label}: {treat.key} vs {ref.key}", dataset=block.dataset,
                                 block_key=block.id, method=name, role="test"))
    return rows, analyses


def _with_cell(ctx: BlockContext, row: Row, key: str, cell: Cell) -> Row:
    index = [c.key for c in ctx.columns].index(key)
    cells = list(row.cells)
    cells[index] = cell
    return Row(row.label, tuple(cells), row.indent, row.kind, row.block_id)


# -- continuous ----------------------------------------------------------------------------


def create_continuous_rows(block: ContinuousBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    data = select_records(ctx, block.dataset, block.id, block.label)
    require(data, block.dataset, block.variable)
    values = pd.to_numeric(one_per_subject(data, block.dataset, f"block {block.id}")[block.variable], errors="coerce")
    pr = ctx.precision
    by_stat: dict[str, dict[str, Cell]] = {"n": {}, "Mean (SD)": {}, "Median (min, max)": {}}
    analyses = []
    for g in ctx.groups:
        x = values.reindex(list(g.subjects)).dropna()
        arr = x.to_numpy(dtype=float)
        subjects = tuple(sorted(x.index))
        n = int(arr.size)
        mean = float(arr.mean()) if n else float("nan")
        sd = float(arr.std(ddof=1)) if n > 1 else float("nan")
        median = float(np.median(arr)) if n else float("nan")
        lo, hi = (float(arr.min()), float(arr.max())) if n else (float("nan"), float("nan"))
        aid = ctx.analysis_id(block.id, g.key)
        by_stat["n"][g.key] = Cell(str(n), aid, (("n", n),), subjects)
        by_stat["Mean (SD)"][g.key] = Cell(
            ctx.templates.cell("mean_sd", mean=fmt(mean, pr.mean), sd=fmt(sd, pr.sd)), aid,
            (("mean", _num(mean)), ("sd", _num(sd))))
        by_stat["Median (min, max)"][g.key] = Cell(
            ctx.templates.cell("median_range", median=fmt(median, pr.median), min=fmt(lo, pr.range),
                               max=fmt(hi, pr.range)), aid,
            (("median", _num(median)), ("min", _num(lo)), ("max", _num(hi))))
        analyses.append(analysis(ctx, aid, f"{block.label}: summary statistics", dataset=block.dataset,
                                 block_key=block.id, method="n, mean (SD, n-1 divisor), median, min, max",
                                 group=g.key, role="summary"))
    rows = [header_row(block.label, block.id)]
    rows += [row_of(ctx, label, cells, block.id) for label, cells in by_stat.items()]
    return rows, analyses


# -- rates ---------------------------------------------------------------------------------


def create_rate_rows(block: RateBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    data = select_records(ctx, block.dataset, block.id, block.label)
    responder = ctx.filters[f"{block.id}.responder"]
    hits = set(data.loc[responder.mask(data), "USUBJID"])
    counts, ci_cells, analyses = {}, {}, []
    pr = ctx.precision
    xn: dict[str, tuple[int, int]] = {}
    for g in ctx.groups:
        subjects = [s for s in g.subjects if s in hits]
        aid = ctx.analysis_id(block.id, g.key)
        n_total = len(g.subjects)
        counts[g.key] = count_cell(ctx, aid, subjects, n_total)
        lo, hi, method = estimates.proportion_ci(len(subjects), n_total, block.ci_method)
        ci_cells[g.key] = Cell(ctx.templates.cell("ci", lower=fmt(lo, pr.pct), upper=fmt(hi, pr.pct)),
                               aid, (("lower", _num(lo)), ("upper", _num(hi))))
        xn[g.key] = (len(subjects), n_total)
        analyses.append(analysis(ctx, aid, f"{block.label}: {responder.text}", dataset=block.dataset,
                                 block_key=block.id, method=method, group=g.key, role="ci"))
    first = row_of(ctx, block.label, counts, block.id, indent=0)
    rows = [first, row_of(ctx, block.ci_label, ci_cells, block.id)]
    if ctx.has_comparison and (block.test != "none" or block.difference):
        treat, ref = _arm_pair(ctx)
        (x1, n1), (x2, n2) = xn[treat.key], xn[ref.key]
        if block.test != "none":
            p, name = estimates.compare_counts([[x1, n1 - x1], [x2, n2 - x2]], block.test)
            aid = ctx.analysis_id(block.id, "TEST")
            rows[0] = _with_cell(ctx, rows[0], CMP, Cell(ctx.templates.cell("p_value", p=fmt_p(p, pr.p_style)), aid,
                                                          (("p", _num(p)),)))
            analyses.append(analysis(ctx, aid, f"{block.label}: {treat.key} vs {ref.key}", dataset=block.dataset,
                                     block_key=block.id, method=name, role="test"))
        if block.difference:
            est, lo, hi, name = estimates.difference(x1, n1, x2, n2)
            aid = ctx.analysis_id(block.id, "DIFF")
            cell = Cell(ctx.templates.cell("est_ci", est=fmt(est, pr.pct), lower=fmt(lo, pr.pct),
                                           upper=fmt(hi, pr.pct)), aid,
                        (("difference", _num(est)), ("lower", _num(lo)), ("upper", _num(hi))))
            rows.append(row_of(ctx, f"Difference {treat.key} - {ref.key}, % (95% CI)", {CMP: cell}, block.id))
            analyses.append(analysis(ctx, aid, f"{block.label}: difference in proportions", dataset=block.dataset,
                                     block_key=block.id, method=name, role="difference"))
    return rows, analyses


# -- time to event -------------------------------------------------------------------------


def tte_records(ctx: BlockContext, block: TteBlock | FollowupBlock) -> pd.DataFrame:
    data = select_records(ctx, block.dataset, block.id, block.label)
    require(data, block.dataset, "PARAMCD", block.time)
    data = data[data["PARAMCD"].astype(str).str.strip() == block.param]
    return one_per_subject(data, block.dataset, f"block {block.id} (PARAMCD {block.param})")


def create_tte_rows(block: TteBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    data = tte_records(ctx, block)
    require(data.reset_index(), block.dataset, block.censor)
    pr = ctx.precision
    events, medians, analyses = {}, {}, []
    present = set(data.index)
    for g in ctx.groups:
        sub = data.reindex([s for s in g.subjects if s in present])
        aid = ctx.analysis_id(block.id, g.key)
        event_subjects = list(sub.index[sub[block.censor] == 0])
        events[g.key] = count_cell(ctx, aid + ".EVENTS", event_subjects, len(sub))
        analyses.append(analysis(ctx, aid + ".EVENTS", f"{block.label}: events", dataset=block.dataset,
                                 block_key=block.id, method=f"count of {block.censor} = 0", group=g.key, role="events"))
        if len(sub):
            med, lo, hi, method = estimates.km_median(sub[block.time], 1 - sub[block.censor], block.median_ci)
        else:
            med, lo, hi, method = float("nan"), float("nan"), float("nan"), ""
        medians[g.key] = Cell(
            ctx.templates.cell("est_ci", est=fmt(med, pr.time), lower=fmt(lo, pr.time), upper=fmt(hi, pr.time)),
            aid + ".MEDIAN", (("median", _num(med)), ("lower", _num(lo)), ("upper", _num(hi))))
        analyses.append(analysis(ctx, aid + ".MEDIAN", f"{block.label}: Kaplan-Meier median ({block.time})",
                                 dataset=block.dataset, block_key=block.id, method=method, group=g.key, role="median"))
    rows = [header_row(block.label, block.id), row_of(ctx, block.event_label, events, block.id),
            row_of(ctx, "Median, months (95% CI)", medians, block.id)]
    if ctx.has_comparison:
        treat, ref = _arm_pair(ctx)
        pair = data.reindex([s for g in (treat, ref) for s in g.subjects if s in present])
        group = np.where(pair.index.isin(treat.subjects), treat.key, ref.key)
        hr, lo, hi, name = estimates.hazard_ratio(pair[block.time], 1 - pair[block.censor], group,
                                                  treat.key, ref.key, block.hr)
        aid = ctx.analysis_id(block.id, "HR")
        cell = Cell(ctx.templates.cell("est_ci", est=fmt(hr, pr.ratio), lower=fmt(lo, pr.ratio),
                                       upper=fmt(hi, pr.ratio)), aid,
                    (("hr", _num(hr)), ("lower", _num(lo)), ("upper", _num(hi))), tuple(sorted(pair.index)))
        rows.append(row_of(ctx, f"Hazard ratio {treat.key} vs {ref.key} (95% CI)", {CMP: cell}, block.id))
        analyses.append(analysis(ctx, aid, f"{block.label}: hazard ratio", dataset=block.dataset,
                                 block_key=block.id, method=name, role="hr"))
        if block.logrank_p:
            p, name = estimates.logrank_p(pair[block.time], 1 - pair[block.censor], group)
            aid = ctx.analysis_id(block.id, "LOGRANK")
            cell = Cell(ctx.templates.cell("p_value", p=fmt_p(p, pr.p_style)), aid, (("p", _num(p)),))
            rows.append(row_of(ctx, "Log-rank p-value", {CMP: cell}, block.id))
            analyses.append(analysis(ctx, aid, f"{block.label}: log-rank test", dataset=block.dataset,
                                     block_key=block.id, method=name, role="logrank"))
    return rows, analyses


def create_followup_rows(block: FollowupBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    data = tte_records(ctx, block)
    pr = ctx.precision
    cells, analyses = {}, []
    for g in ctx.groups:
        x = pd.to_numeric(data[block.time], errors="coerce").reindex(list(g.subjects)).dropna()
        arr = x.to_numpy(dtype=float)
        med = float(np.median(arr)) if arr.size else float("nan")
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (float("nan"), float("nan"))
        aid = ctx.analysis_id(block.id, g.key)
        cells[g.key] = Cell(
            ctx.templates.cell("median_range", median=fmt(med, pr.median), min=fmt(lo, pr.median), max=fmt(hi, pr.median)), aid,
            (("median", _num(med)), ("min", _num(lo)), ("max", _num(hi))), tuple(sorted(x.index)))
        analyses.append(analysis(ctx, aid, f"{block.label}: median (range) of {block.param} {block.time}",
                                 dataset=block.dataset, block_key=block.id,
                                 method="median and range of observed follow-up", group=g.key, role="summary"))
    return [row_of(ctx, block.label, cells, block.id, indent=0)], analyses


BUILDERS: dict[type, Callable[[Any, BlockContext], tuple[list[Row], list[Analysis]]]] = {
    CategoricalBlock: create_categorical_rows,
    ContinuousBlock: create_continuous_rows,
    RateBlock: create_rate_rows,
    TteBlock: create_tte_rows,
    FollowupBlock: create_followup_rows,
}
