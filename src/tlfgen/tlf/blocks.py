"""TLF stage: row-block builders for tables laid out by treatment group.

Each ``create_*_rows`` function takes one block spec and a ``BlockContext`` and
returns the rows and the analyses behind them. Statistics come from
``tlfgen.stats`` through ``tlf/estimates.py``; rounding from
``tlfgen.stats.formatting``; the assembly of cell text from ``cells.j2``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from tlfgen.errors import DataError
from tlfgen.spec.expr import Expression
from tlfgen.spec.tlf import (
    CategoricalBlock, ContinuousBlock, Conventions, Precision, RateBlock,
)
from tlfgen.tlf import estimates
from tlfgen.tlf.model import EMPTY, Analysis, Cell, Column, Row
from tlfgen.tlf.text import TemplateSet

CMP = "CMP"
TOTAL = "TOTAL"
EMPTY_NOTE = "{dash}: no subjects in the column or denominator (N=0); nothing is estimated."
NE_NOTE = "NE = not estimable."


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
    #: (treatment, reference) armcds, one per comparison column
    pairs: tuple[tuple[str, str], ...] = ()
    conventions: Conventions = field(default_factory=Conventions)
    #: footnotes of the conventions applied while building (NE, N=0), in order, no repeats
    notes: list[str] = field(default_factory=list)

    @property
    def has_comparison(self) -> bool:
        return any(c.key.startswith(CMP) for c in self.columns)

    @property
    def p_style(self) -> str:
        return self.precision.p_style or self.conventions.p_values

    def cmp_key(self, pair: tuple[str, str]) -> str:
        """Column key of a comparison: "CMP" for a table's only pair, "CMP.<T>.<R>" otherwise."""
        return CMP if len(self.pairs) == 1 else f"{CMP}.{pair[0]}.{pair[1]}"

    def pair_parts(self, pair: tuple[str, str]) -> tuple[str, ...]:
        """Analysis-id parts naming the pair (none for a table's only pair: ids stay "T2.PFS.HR")."""
        return () if len(self.pairs) == 1 else (f"{pair[0]}_{pair[1]}",)

    def pair_label(self, pair: tuple[str, str], text: str) -> str:
        """Row label of a comparison row: names the pair when the table has one comparison column."""
        return text.format(pair=f" {pair[0]} vs {pair[1]}" if len(self.pairs) == 1 else "",
                           diff=f" {pair[0]} - {pair[1]}" if len(self.pairs) == 1 else "")

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def ne(self, text: str) -> None:
        """Record why a printed NE is not estimable (and what NE means)."""
        if text:
            self.note(NE_NOTE)
            self.note(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))

    @property
    def dash(self) -> str:
        return self.conventions.empty_cell

    def empty_cell(self) -> str:
        self.note(EMPTY_NOTE.format(dash=self.dash))
        return self.dash

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
    if denominator == 0:
        return Cell(ctx.empty_cell(), aid, (("n", 0), ("denominator", 0), ("pct", None)))
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


def p_cell(ctx: BlockContext, aid: str, res: estimates.Estimate) -> Cell:
    """A p-value cell by the study's p-value rule; NE with its reason in the footnotes."""
    if math.isnan(res.p):
        ctx.ne(res.note)
    return Cell(ctx.templates.cell("p_value", p=fmt_p(res.p, ctx.p_style)), aid, (("p", _num(res.p)),))


def est_cell(ctx: BlockContext, aid: str, res: estimates.Estimate, decimals: int, name: str,
             subjects: tuple[str, ...] = ()) -> Cell:
    """An "estimate (lower, upper)" cell; NE parts with their reason in the footnotes."""
    if res.note and (math.isnan(res.est) or math.isnan(res.lower) or math.isnan(res.upper)):
        ctx.ne(res.note)
    text = ctx.templates.cell("est_ci", est=fmt(res.est, decimals), lower=fmt(res.lower, decimals),
                              upper=fmt(res.upper, decimals))
    return Cell(text, aid, ((name, _num(res.est)), ("lower", _num(res.lower)), ("upper", _num(res.upper))), subjects)


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
        for pair in ctx.pairs:
            res = estimates.compare_counts_est([counts[pair[0]], counts[pair[1]]], block.test)
            aid = ctx.analysis_id(block.id, "TEST", *ctx.pair_parts(pair))
            rows[1] = _with_cell(ctx, rows[1], ctx.cmp_key(pair), p_cell(ctx, aid, res))
            analyses.append(analysis(ctx, aid, f"{block.label}: {pair[0]} vs {pair[1]}", dataset=block.dataset,
                                     block_key=block.id, method=res.method, role="test"))
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
        if n == 1:
            ctx.ne("SD not estimable (NE) with one value (n - 1 divisor)")
        median = float(np.median(arr)) if n else float("nan")
        lo, hi = (float(arr.min()), float(arr.max())) if n else (float("nan"), float("nan"))
        aid = ctx.analysis_id(block.id, g.key)
        by_stat["n"][g.key] = Cell(str(n), aid, (("n", n),), subjects)
        if n == 0:
            by_stat["Mean (SD)"][g.key] = Cell(ctx.empty_cell(), aid)
            by_stat["Median (min, max)"][g.key] = Cell(ctx.empty_cell(), aid)
            analyses.append(analysis(ctx, aid, f"{block.label}: summary statistics", dataset=block.dataset,
                                     block_key=block.id, method="no values", group=g.key, role="summary"))
            continue
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
    if block.test != "none" and ctx.has_comparison:
        for pair in ctx.pairs:
            x, y = (values.reindex(list(ctx.group(arm).subjects)).dropna() for arm in pair)
            res = estimates.compare_values(x, y, block.test)
            aid = ctx.analysis_id(block.id, "TEST", *ctx.pair_parts(pair))
            rows[1] = _with_cell(ctx, rows[1], ctx.cmp_key(pair), p_cell(ctx, aid, res))
            analyses.append(analysis(ctx, aid, f"{block.label}: {pair[0]} vs {pair[1]}", dataset=block.dataset,
                                     block_key=block.id, method=res.method, role="test"))
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
        ci_text = (ctx.templates.cell("ci", lower=fmt(lo, pr.pct), upper=fmt(hi, pr.pct)) if n_total
                   else ctx.empty_cell())
        ci_cells[g.key] = Cell(ci_text, aid, (("lower", _num(lo)), ("upper", _num(hi))))
        xn[g.key] = (len(subjects), n_total)
        analyses.append(analysis(ctx, aid, f"{block.label}: {responder.text}", dataset=block.dataset,
                                 block_key=block.id, method=method, group=g.key, role="ci"))
    first = row_of(ctx, block.label, counts, block.id, indent=0)
    rows = [first, row_of(ctx, block.ci_label, ci_cells, block.id)]
    if ctx.has_comparison and (block.test != "none" or block.difference or block.ratio != "none"):
        diff_cells: dict[str, Cell] = {}
        ratio_cells: dict[str, Cell] = {}
        for pair in ctx.pairs:
            (x1, n1), (x2, n2) = xn[pair[0]], xn[pair[1]]
            parts = ctx.pair_parts(pair)
            if block.test == "cmh":
                res = estimates.cmh_est(_cmh_tables(ctx, block, pair, hits))
                aid = ctx.analysis_id(block.id, "TEST", *parts)
                rows[0] = _with_cell(ctx, rows[0], ctx.cmp_key(pair), p_cell(ctx, aid, res))
                analyses.append(analysis(ctx, aid, f"{block.label}: {pair[0]} vs {pair[1]}, stratified by "
                                         f"{', '.join(block.strata)}", dataset=block.dataset, block_key=block.id,
                                         method=res.method, role="test"))
            elif block.test != "none":
                res = estimates.compare_counts_est([[x1, n1 - x1], [x2, n2 - x2]], block.test)
                aid = ctx.analysis_id(block.id, "TEST", *parts)
                rows[0] = _with_cell(ctx, rows[0], ctx.cmp_key(pair), p_cell(ctx, aid, res))
                analyses.append(analysis(ctx, aid, f"{block.label}: {pair[0]} vs {pair[1]}", dataset=block.dataset,
                                         block_key=block.id, method=res.method, role="test"))
            if block.difference:
                res = (estimates.mh_difference_est(_cmh_tables(ctx, block, pair, hits), block.difference_method)
                       if block.difference_method.startswith("mh")
                       else estimates.difference_est(x1, n1, x2, n2, block.difference_method))
                aid = ctx.analysis_id(block.id, "DIFF", *parts)
                diff_cells[ctx.cmp_key(pair)] = est_cell(ctx, aid, res, pr.pct, "difference")
                analyses.append(analysis(ctx, aid, f"{block.label}: difference in proportions {pair[0]} - {pair[1]}",
                                         dataset=block.dataset, block_key=block.id, method=res.method,
                                         role="difference"))
            if block.ratio != "none":
                res = estimates.ratio_est(x1, n1, x2, n2, block.ratio)
                aid = ctx.analysis_id(block.id, block.ratio.upper(), *parts)
                ratio_cells[ctx.cmp_key(pair)] = est_cell(ctx, aid, res, pr.ratio, block.ratio)
                analyses.append(analysis(ctx, aid, f"{block.label}: {block.ratio.upper()} {pair[0]} vs {pair[1]}",
                                         dataset=block.dataset, block_key=block.id, method=res.method,
                                         role=block.ratio))
        if diff_cells:
            rows.append(row_of(ctx, ctx.pair_label(ctx.pairs[0], "Difference{diff}, % (95% CI)"), diff_cells,
                               block.id))
        if ratio_cells:
            name = "Relative risk" if block.ratio == "rr" else "Odds ratio"
            rows.append(row_of(ctx, ctx.pair_label(ctx.pairs[0], name + "{pair} (95% CI)"), ratio_cells, block.id))
    return rows, analyses


def _cmh_tables(ctx: BlockContext, block: RateBlock, pair: tuple[str, str], hits: set[str]) -> list[list[list[int]]]:
    """One 2 x 2 table per stratum (ADSL ``block.strata``): rows = the pair's arms, columns = responder yes/no."""
    adsl = ctx.datasets["ADSL"]
    require(adsl, "ADSL", *block.strata)
    key = adsl.drop_duplicates("USUBJID").set_index("USUBJID")[block.strata].astype(str).agg("/".join, axis=1)
    tables: dict[str, list[list[int]]] = {}
    for row, arm in enumerate(pair):
        for subject in ctx.group(arm).subjects:
            cells = tables.setdefault(str(key.get(subject, "")), [[0, 0], [0, 0]])
            cells[row][0 if subject in hits else 1] += 1
    return [tables[k] for k in sorted(tables)]


BUILDERS: dict[type, Callable[[Any, BlockContext], tuple[list[Row], list[Analysis]]]] = {
    CategoricalBlock: create_categorical_rows,
    ContinuousBlock: create_continuous_rows,
    RateBlock: create_rate_rows,
}
