"""SDTM stage: the mapping engine: one domain spec + raw forms -> one SDTM domain.

Order of work for a domain (all vectorised over the records):

1. each stacked source: its form's rows, the source filter, forms merged on keys;
2. pass 1: every ``source``/``assign`` rule (with the block's overrides) -> values
   with findings (dates, codelists, numbers);
3. pass 2: every ``derive`` rule in spec order (VISIT, EPOCH, --DY, AGE ...);
4. coded values against their dictionary, required values, date plausibility (cutoff, birth,
   end before start);
5. ``distinct`` collapses records (lineage keeps every raw row), then --SEQ;
6. text checks (ASCII, 200 bytes -> SUPP--), SUPP-- records, lineage records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tlfgen.frames import renumber
from tlfgen.results import DatasetCount
from tlfgen.raw.reconcile import FileUsage
from tlfgen.registry import get_derivation
from tlfgen.sdtm.derive import run_derivation
from tlfgen.sdtm.checks import check_dates, check_required, check_text
from tlfgen.sdtm.context import BLOCK, FORM, REC, ROW, MappingContext, row_col
from tlfgen.sdtm.dictionary import check_dictionary
from tlfgen.sdtm.lineage import create_lineage
from tlfgen.sdtm.sorting import compute_sort_positions, compute_sorted_groups
from tlfgen.sdtm.supp import create_supp
from tlfgen.sdtm.values import evaluate_value
from tlfgen.spec.sdtm import ResolvedDomain, SourceSpec

SEQ_DERIVATION = "compute_seq"


@dataclass
class DomainResult:
    name: str
    data: pd.DataFrame
    supp: pd.DataFrame | None = None
    lineage: dict = field(default_factory=dict)
    count: DatasetCount | None = None


def supp_col(qnam: str) -> str:
    return f"__supp.{qnam}"


def derive_arg_names(args) -> set[str]:
    """Every text in a derivation's arguments (nested lists and dicts too): the columns it may read."""
    if isinstance(args, str):
        return {args}
    if isinstance(args, dict):
        args = list(args.values())
    if isinstance(args, (list, tuple)):
        return set().union(*(derive_arg_names(a) for a in args))
    return set()


def derive_used_columns(rd: ResolvedDomain, leading) -> set[str]:
    """Raw columns the mapping of a domain reads after its source filters: the leading ones, every
    rule's source (and time) field, every name a derivation argument gives or requires, and the
    record keys and order."""
    names = set(leading) | set(rd.spec.keys) | set(rd.spec.distinct) | set(rd.spec.order)
    rules = [*rd.spec.variables, *rd.spec.supp, *(r for s in rd.spec.sources for r in s.values.values())]
    for rule in rules:
        for ref in (rule.source, getattr(rule, "time", None)):
            if ref:
                names.add(ref.split(".", 1)[1])
        if getattr(rule, "derive", None) is not None:
            names |= derive_arg_names(rule.derive.args)
            names |= set(get_derivation(rule.derive.name).required_vars(rule.derive.args))
    return names


def key_columns(rd: ResolvedDomain, ctx: MappingContext) -> list[str]:
    """The leading and identifier columns of every form the domain reads (``STUDYID``, ``SUBJID`` ...)."""
    names = [c for src in rd.spec.sources if src.form in ctx.specs.forms for c in ctx.specs.key_columns(src.form)]
    return list(dict.fromkeys([*ctx.specs.leading, *names]))


def _used(columns, used: set[str]) -> list[str]:
    """``columns`` (in order) that the mapping reads: used names (or ``NAME@form``) and helper columns."""
    return [c for c in columns if c != "__line" and (c.startswith("__") or c.split("@", 1)[0] in used)]


def create_block(index: int, src: SourceSpec, rd: ResolvedDomain, ctx: MappingContext) -> pd.DataFrame:
    """Rows of one stacked source: filtered, with the merged forms joined on their keys.

    Only the columns the mapping reads are carried (a stack of wide forms stays narrow).
    """
    form = ctx.forms[src.form]
    data = form.data
    usage = ctx.usage.setdefault(form.file, FileUsage())
    if index in rd.filters:
        keep = rd.filters[index].evaluate(data).astype(bool)
        usage.skip(data.loc[~keep, ROW], f"{rd.name} source filter '{src.filter}'")
        data = data.loc[keep]
    read = derive_used_columns(rd, key_columns(rd, ctx))
    columns = _used(data.columns, read)
    frame = data.reindex(columns=columns) if data.columns.is_unique else data[columns].copy()
    frame[FORM] = src.form
    frame[BLOCK] = index
    frame[row_col(src.form)] = frame[ROW]
    usage.use(rd.name, frame[ROW])
    for merge in rd.spec.sources:
        if merge.join != "merge":
            continue
        other = ctx.forms[merge.form]
        keys = set(ctx.specs.leading) | set(ctx.specs.key_columns(merge.form))
        fields = [c for c in other.data.columns if c not in keys and not c.startswith("__") and c in read]
        right = other.data[merge.by + fields + [ROW]].drop_duplicates(merge.by, keep="first")
        right = right.rename(columns={ROW: row_col(merge.form)})
        right = right.rename(columns={c: f"{c}@{merge.form}" for c in fields if c in frame})
        frame = frame.merge(right, on=merge.by, how="left", validate="many_to_one")
        used = frame[row_col(merge.form)].dropna()
        ctx.usage.setdefault(other.file, FileUsage()).use(rd.name, used)
    return renumber(frame)


def evaluate_block(frame: pd.DataFrame, src: SourceSpec, rd: ResolvedDomain, ctx: MappingContext) -> pd.DataFrame:
    """Pass 1 for one block: source/assign values of every variable and supplemental qualifier."""
    values: dict[str, pd.Series] = {}
    for var in rd.spec.variables:
        rule = src.values.get(var.name, var if var.derive is None else None)
        if rule is None:
            values[var.name] = pd.Series(None, index=frame.index, dtype=object)
            continue
        values[var.name] = evaluate_value(frame, rule, ctx, domain=rd.name, var=var.name, var_type=var.type)
    for supp in rd.spec.supp:
        rule = src.values.get(supp.qnam, supp if supp.derive is None else None)
        if rule is None:
            values[supp_col(supp.qnam)] = pd.Series(None, index=frame.index, dtype=object)
            continue
        values[supp_col(supp.qnam)] = evaluate_value(frame, rule, ctx, domain=rd.name, var=supp.qnam)
    raw = frame.drop(columns=[c for c in frame.columns if c in values])
    return pd.concat([raw, pd.DataFrame(values, index=frame.index)], axis=1)


def apply_derivations(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext) -> pd.DataFrame:
    """Pass 2: ``derive`` rules in spec order; rows a block already set keep their value."""
    # the columns a stacked source sets (an override): the others are blank until derived here
    names = {v.name for v in rd.spec.variables}
    blocks_set = {n if n in names else supp_col(n) for s in rd.spec.sources if s.join == "stack" for n in s.values}
    for path, var in [*((("variables", j), var) for j, var in enumerate(rd.spec.variables)),
                      *((("supp", j), var) for j, var in enumerate(rd.spec.supp))]:
        if var.derive is None or var.derive.name == SEQ_DERIVATION:
            continue
        name = var.name if hasattr(var, "name") else supp_col(var.qnam)
        result = run_derivation(data, var.derive, ctx, rd, name, path)
        current = data[name]
        set_by_block = name in blocks_set and current.notna().any()
        data[name] = result.where(current.isna(), current) if set_by_block else result
    return data


def collapse_distinct(data: pd.DataFrame, rd: ResolvedDomain) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records, lineage rows): the first record per ``distinct`` key (in --SEQ order), numbered
    0..n-1 by ``REC``; and every raw row behind them (``REC``, form, row numbers) for the lineage.

    Only the key columns are sorted and the kept records taken once: the wide frame of every raw
    row (SV stacks six forms into few visits) is neither sorted whole nor de-duplicated by hashing.
    """
    sources = [REC, FORM, ROW, *[c for c in data.columns if c.startswith("__row@")]]
    if not rd.spec.distinct:
        data[REC] = np.arange(len(data))
        return renumber(data), data[sources]
    order = list(rd.spec.order) or _seq_order(rd)
    keys = {f"__o{i}": data[c].where(data[c].astype(str) != "") for i, c in enumerate(order)}
    sorter = pd.DataFrame({**{c: data[c] for c in rd.spec.distinct}, **keys, BLOCK: data[BLOCK], ROW: data[ROW]})
    positions, rec = compute_sorted_groups(sorter, len(rd.spec.distinct))
    first = np.flatnonzero(np.diff(rec, prepend=-1))  # the first row of each record
    records = renumber(data.take(positions[first]))
    records[REC] = rec[first]
    rows = renumber(data[sources[1:]].take(positions))
    rows.insert(0, REC, rec)
    return records, rows


def take_sorted(data: pd.DataFrame, sorter: pd.DataFrame, na_position: str = "last") -> pd.DataFrame:
    """``data`` in the (stable) order of ``sorter``'s columns: ``data.sort_values`` on those columns,
    with only the key columns sorted and the frame taken once."""
    positions = compute_sort_positions(sorter, na_position)
    if np.array_equal(positions, np.arange(len(positions))):
        return data  # already in order (SV after collapsing visits): no copy of every column
    return data.take(positions)


def _seq_order(rd: ResolvedDomain) -> list[str]:
    for var in rd.spec.variables:
        if var.derive is not None and var.derive.name == SEQ_DERIVATION:
            return list(var.derive.args.get("order", []))
    return []


def build_domain(rd: ResolvedDomain, ctx: MappingContext) -> DomainResult:
    """Map one domain from the raw forms in the context."""
    ctx.domain = rd.name
    if rd.spec.records:
        return build_design_domain(rd, ctx)
    blocks = []
    for i, src in enumerate(rd.spec.sources):
        if src.join == "stack":
            frame = create_block(i, src, rd, ctx)
            blocks.append(evaluate_block(frame, src, rd, ctx))
    data = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()
    rows_in = len(data)
    data = apply_derivations(data, rd, ctx)
    check_dictionary(data, rd, ctx)
    check_required(data, rd, ctx)
    check_dates(data, rd, ctx)
    data, lineage_rows = collapse_distinct(data, rd)
    seq_var = next((v.name for v in rd.spec.variables if v.derive and v.derive.name == SEQ_DERIVATION), None)
    if seq_var:
        j, seq = next((j, v) for j, v in enumerate(rd.spec.variables) if v.name == seq_var)
        data[seq_var] = run_derivation(data, seq.derive, ctx, rd, seq_var, ("variables", j))
    sort_by = ["USUBJID", seq_var] if seq_var else [k for k in rd.spec.keys if k in data]
    data = renumber(take_sorted(data, data[sort_by + [BLOCK, ROW]]))
    overflow = check_text(data, rd, ctx)
    data = finalise_types(data, rd)
    supp = create_supp(data, rd, ctx, overflow, seq_var)
    lineage = create_lineage(data, lineage_rows, ctx, seq_var)
    out = data[[v.name for v in rd.spec.variables]]
    count = DatasetCount(name=rd.name, rows_in=rows_in, rows_out=len(out),
                         rejected={"collapsed (distinct)": rows_in - len(out)} if rows_in > len(out) else {})
    return DomainResult(rd.name, out, supp, lineage, count)


def finalise_types(data: pd.DataFrame, rd: ResolvedDomain) -> pd.DataFrame:
    """Text -> str with '' for missing; integer/float -> float64 (XPT numbers are doubles)."""
    for var in rd.spec.variables:
        col = data[var.name]
        if var.type == "text":
            if col.dtype == object and (col.empty or pd.api.types.infer_dtype(col, skipna=False) == "string"):
                continue  # already text, nothing missing
            data[var.name] = col.astype(object).where(col.notna(), "").astype(str).astype(object)
        else:
            num = pd.to_numeric(col, errors="coerce").astype("float64")
            data[var.name] = num.round(0) if var.type == "integer" else num
    return data


def build_design_domain(rd: ResolvedDomain, ctx: MappingContext) -> DomainResult:
    """Trial design domains: records given in the spec; other variables by assign/derive rules."""
    data = pd.DataFrame([dict(r) for r in rd.spec.records])
    for j, var in enumerate(rd.spec.variables):
        given = data[var.name] if var.name in data else pd.Series(None, index=data.index, dtype=object)
        if var.assign is not None:
            default = pd.Series(var.assign, index=data.index, dtype=object)
        elif var.derive is not None:
            default = run_derivation(data, var.derive, ctx, rd, var.name, ("variables", j))
        else:
            default = pd.Series(None, index=data.index, dtype=object)
        data[var.name] = given.where(given.notna(), default)
    data = finalise_types(data, rd)
    out = data[[v.name for v in rd.spec.variables]].reset_index(drop=True)
    lineage = {"key": ["record"], "files": [rd.display],
               "records": [[i + 1, [[0, rd.line("records", i)]]] for i in range(len(out))]}
    return DomainResult(rd.name, out, None, lineage, DatasetCount(rd.name, len(out), len(out)))
