"""ADaM stage: generic derivations usable by any ADaM spec (admiral style).

Each function takes the dataset being built (and ``sources``: the input
datasets by name) and returns a new DataFrame. Verb prefixes: ``create_*``
builds the dataset, ``derive_var_*`` adds one variable, ``derive_vars_*``
several, ``compute_*`` maps vectors to a vector. Dates: ``adam/dates.py``. Lineage: the ``_SRC`` column holds, per
record, the SDTM ``(domain, seq)`` pairs used (docs/adam_engine.md section 4).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.adam.columns import (compute_flag_values, compute_match_positions, compute_per_distinct, compute_taken,
                                 get_column_values, take_columns)
from tlfgen.errors import DerivationError
from tlfgen.frames import renumber
from tlfgen.registry import derivation
from tlfgen.spec.expr import parse_expression

SRC = "_SRC"
_ORDER = re.compile(r"^desc\((\w+)\)$")


# ---------------------------------------------------------------- helpers

def expr_columns(text: str | None) -> list[str]:
    """The columns an expression reads (sorted); [] for no expression."""
    return sorted(parse_expression(text).columns) if text else []


def check_vars(data: pd.DataFrame, names: Sequence[str], *, dataset: str | None = None) -> None:
    """Raise DerivationError naming the first variable ``data`` lacks."""
    for name in names:
        if name not in data.columns:
            raise DerivationError(f"variable {name} is missing", dataset=dataset, variable=name,
                                  hint="derive it in an earlier step or check the input data")


def get_source(sources: Mapping[str, pd.DataFrame], source: str) -> pd.DataFrame:
    try:
        return sources[source]
    except KeyError:
        raise DerivationError(f"input {source} is not available", dataset=source,
                              hint="list it under inputs in the spec") from None


def order_columns(order: Sequence[str] | None) -> tuple[list[str], list[bool]]:
    """``["ADT", "desc(AVAL)"]`` -> (["ADT", "AVAL"], [True, False])."""
    cols, asc = [], []
    for item in order or ():
        m = _ORDER.match(item)
        cols.append(m.group(1) if m else item)
        asc.append(not m)
    return cols, asc


def new_vars_map(new_vars: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """``[A, B]`` -> {A: A, B: B}; ``{NEW: OLD}`` stays."""
    return dict(new_vars) if isinstance(new_vars, Mapping) else {v: v for v in new_vars}


def filter_mask(data: pd.DataFrame, filter: str | None) -> np.ndarray | None:
    """The rows of ``data`` passing ``filter`` as a boolean array; None (every row) without a filter."""
    return parse_expression(filter).mask(data).to_numpy() if filter else None


def lineage_columns(data: pd.DataFrame) -> list[str]:
    """The columns ``record_sources`` reads: DOMAIN and the --SEQ columns."""
    return [c for c in data.columns if c == "DOMAIN" or c.endswith("SEQ")]


def record_sources(data: pd.DataFrame, default_domain: str, rows: np.ndarray | None = None
                   ) -> list[list[tuple[str, Any]]]:
    """One ``[(domain, seq)]`` per row, from DOMAIN and --SEQ when the data has them.

    The domain is DOMAIN of the first row of ``data``; ``rows`` (positions) limits the
    result to those rows.
    """
    domain = str(data["DOMAIN"].iloc[0]) if "DOMAIN" in data.columns and len(data) else default_domain
    seq_col = f"{domain}SEQ"
    if seq_col in data.columns:
        seqs = data[seq_col] if rows is None else data[seq_col].iloc[rows]
        if seqs.dtype == np.float64:  # plain floats: NaN is the only value unequal to itself
            return [[(domain, None if s != s else int(s))] for s in seqs.tolist()]
        return [[(domain, None if pd.isna(s) else int(s))] for s in seqs]
    return [[(domain, None)] for _ in range(len(data) if rows is None else len(rows))]


def append_src(dataset: pd.DataFrame, new: Sequence[Sequence[tuple[str, Any]]]) -> pd.DataFrame:
    """Append provenance pairs to ``_SRC`` row by row (never replaces); returns a new frame."""
    out = dataset.copy(deep=False)  # only whole columns are set below
    old = out[SRC].tolist() if SRC in out.columns else [None] * len(out)
    merged = []
    for before, extra in zip(old, new):
        cell = list(before) if isinstance(before, list) else []
        for pair in extra:
            if pair not in cell:
                cell.append(pair)
        merged.append(cell)
    out[SRC] = pd.Series(merged, index=out.index, dtype=object)
    return out


def _source_domain(source: str) -> str:
    return source.split(".")[-1]


# ---------------------------------------------------------------- create

def _create_requires(args: Mapping[str, Any]) -> list[str]:
    src = args["source"]
    return [f"{src}.{v}" for v in list(new_vars_map(args["keep"]).values()) + expr_columns(args.get("filter"))]


@derivation(requires=_create_requires, produces=lambda a: list(new_vars_map(a["keep"])),
            context=("dataset", "sources"))
def create_dataset(dataset: pd.DataFrame | None, *, sources: Mapping[str, pd.DataFrame], source: str,
                   keep: Sequence[str] | Mapping[str, str], filter: str | None = None) -> pd.DataFrame:
    """Create the dataset from one input: the records passing ``filter``, the ``keep`` variables.

    ``keep`` is a list of names or a mapping NEW: OLD. Starts the ``_SRC`` lineage column.
    """
    data = get_source(sources, source)
    if filter:
        data = data[parse_expression(filter).mask(data)]
    names = new_vars_map(keep)
    check_vars(data, list(names.values()), dataset=source)
    out = pd.DataFrame({new: data[old].to_numpy() for new, old in names.items()})
    out[SRC] = pd.Series(record_sources(data, _source_domain(source)), dtype=object)
    return out


# ---------------------------------------------------------------- merges

def _merged_requires(args: Mapping[str, Any]) -> list[str]:
    src = args["source"]
    by = list(args.get("by_vars") or ["USUBJID"])
    own = list(args.get("dataset_vars") or [])
    join_cols = [c for c in expr_columns(args.get("join_filter")) if c not in own]
    src_cols = (by + list(new_vars_map(args["new_vars"]).values()) + expr_columns(args.get("filter"))
                + order_columns(args.get("order"))[0] + join_cols)
    return by + own + [f"{src}.{c}" for c in dict.fromkeys(src_cols)]


@derivation(requires=_merged_requires,
            produces=lambda a: list(new_vars_map(a["new_vars"])) + ([a["exist_flag"]] if a.get("exist_flag") else []),
            context=("dataset", "sources"))
def derive_vars_merged(dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], source: str,
                       new_vars: Sequence[str] | Mapping[str, str], by_vars: Sequence[str] = ("USUBJID",),
                       filter: str | None = None, dataset_vars: Sequence[str] = (),
                       join_filter: str | None = None, order: Sequence[str] | None = None,
                       mode: Literal["first", "last"] | None = None, exist_flag: str | None = None,
                       true_value: str = "Y", false_value: str | None = None,
                       missing_values: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Add variables from another dataset, matched on ``by_vars``.

    admiral's ``derive_vars_merged``: ``filter`` (its ``filter_add``) selects source records;
    ``join_filter`` is evaluated on the joined records and may read the dataset's
    ``dataset_vars`` (e.g. ``date(QSDTC) <= TRTSDT``); with ``order`` and ``mode``
    (first/last) one record per by group is kept, otherwise more than one match is an
    error naming the by values. ``exist_flag``: a variable set to ``true_value`` where a
    source record matched, else ``false_value``; ``missing_values``: NEW: value for the
    records without a match.
    """
    by = list(by_vars)
    names = new_vars_map(new_vars)
    data = get_source(sources, source)
    mask = filter_mask(data, filter)
    cols, asc = order_columns(order)
    check_vars(data, by + list(names.values()) + cols, dataset=source)
    # only the columns used below (the join filter may read any source column; a source column
    # named like a dataset variable keeps the merge's "_DS" suffixes as they were)
    used = [*by, *names.values(), *cols, *expr_columns(join_filter), *dataset_vars]
    sdtm = source.startswith("sdtm.")
    kept = take_columns(data, mask, used + (lineage_columns(data) if sdtm else []))
    kept["_ROW"] = np.arange(len(kept))  # positions in kept, for the lineage of the chosen records
    add = kept
    if join_filter:
        own = dataset[by + list(dataset_vars)].drop_duplicates()
        joined = add.merge(own, on=by, how="inner", suffixes=("", "_DS"))
        add = joined[parse_expression(join_filter).mask(joined)]
    if mode is not None:
        if mode not in ("first", "last"):
            raise DerivationError(f"mode must be 'first' or 'last', not '{mode}'")
        add = add.sort_values(by + cols, ascending=[True] * len(by) + asc, kind="mergesort", na_position="first")
        add = add.drop_duplicates(by, keep=mode)
    dup = add[add.duplicated(by, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise DerivationError(
            f"{len(dup)} records of {source} match one record ({', '.join(f'{b}={first[b]}' for b in by)})",
            dataset=source, usubjid=str(first["USUBJID"]) if "USUBJID" in by else None,
            hint="add a filter, or order and mode (first/last) to select one record",
        )
    # the join on the by columns alone; the new columns are taken by position (the dataset is not copied)
    pos = compute_match_positions(dataset, pd.DataFrame({b: add[b].to_numpy() for b in by}), by)
    dropped = [n for n in names if n in dataset.columns]
    out = renumber(dataset.drop(columns=dropped) if dropped else dataset.copy(deep=False))
    for new, old in names.items():
        out[new] = compute_taken(add[old].to_numpy(), pos)
    unmatched = pos < 0
    for new, value in (missing_values or {}).items():
        if new not in names:
            raise DerivationError(f"missing_values names {new}, which is not one of new_vars", variable=new)
        column = out[new].astype(object) if isinstance(value, str) else out[new]
        column = column.where(~pd.Series(unmatched, index=column.index), value)
        out[new] = column
    if exist_flag:
        out[exist_flag] = pd.Series(compute_flag_values(~unmatched, true_value, false_value), index=out.index,
                                    dtype=object)
    if SRC not in dataset.columns:
        return out
    rows = add["_ROW"].to_numpy()
    pairs = record_sources(kept, _source_domain(source), rows) if sdtm else [[] for _ in range(len(rows))]
    return append_src(out, [pairs[p] if p >= 0 else [] for p in pos.tolist()])


@derivation(requires=lambda a: list(a.get("by_vars") or ["USUBJID"])
            + [f"{a['source']}.{c}" for c in list(a.get("by_vars") or ["USUBJID"]) + expr_columns(a.get("filter"))],
            produces=("{new_var}",), context=("dataset", "sources"))
def derive_var_merged_exist_flag(dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], source: str,
                                 new_var: str, filter: str | None = None, by_vars: Sequence[str] = ("USUBJID",),
                                 true_value: str = "Y", false_value: str | None = "N") -> pd.DataFrame:
    """Flag records for which ``source`` has at least one record (passing ``filter``) with the same by values."""
    by = list(by_vars)
    data = get_source(sources, source)
    mask = filter_mask(data, filter)
    check_vars(data, by, dataset=source)
    keys = set(map(tuple, take_columns(data, mask, by).drop_duplicates().astype(str).to_numpy()))
    hit = [tuple(row) in keys for row in dataset[by].astype(str).to_numpy()]
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.Series([true_value if h else false_value for h in hit], index=out.index, dtype=object)
    return out


@derivation(requires=lambda a: list(a.get("by_vars") or ["USUBJID"])
            + [f"{a['source']}.{c}" for c in list(a.get("by_vars") or ["USUBJID"])
               + [a["key_var"], a["value_var"]] + expr_columns(a.get("filter"))],
            produces=lambda a: list(a["key_values"].values()), context=("dataset", "sources"))
def derive_vars_transposed(dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], source: str,
                           key_var: str, value_var: str, key_values: Mapping[str, str],
                           by_vars: Sequence[str] = ("USUBJID",), filter: str | None = None) -> pd.DataFrame:
    """Add one variable per key value: ``key_values`` maps e.g. SCTESTCD STAGE -> new variable STAGE."""
    out = dataset
    for key, new_var in key_values.items():
        cond = f"{key_var} == {key!r}" + (f" and ({filter})" if filter else "")
        out = derive_vars_merged(out, sources=sources, source=source, new_vars={new_var: value_var},
                                 by_vars=by_vars, filter=cond)
    return out


@derivation(requires=lambda a: ["USUBJID", a.get("idvar", "AESEQ")]
            + [f"{a['source']}.{c}" for c in ("USUBJID", "IDVARVAL", "QNAM", "QVAL")],
            produces=lambda a: list(new_vars_map(a["qnams"])), context=("dataset", "sources"))
def derive_vars_suppqual(dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], source: str,
                         qnams: Sequence[str] | Mapping[str, str], idvar: str = "AESEQ") -> pd.DataFrame:
    """Add supplemental qualifiers (SUPP-- QNAM/QVAL) as variables, matched on USUBJID and IDVARVAL = ``idvar``."""
    supp = get_source(sources, source)
    # the keys once per distinct value, then each QNAM's values taken by position (no merge of the dataset)
    keys = pd.DataFrame({"USUBJID": get_column_values(dataset["USUBJID"], None), "_IDVARVAL": compute_per_distinct(
        pd.to_numeric(dataset[idvar], errors="coerce"), lambda s: s.map(lambda v: "" if pd.isna(v) else str(int(v))))})
    supp_ids = compute_per_distinct(supp["IDVARVAL"], lambda s: s.astype(str).str.strip().str.replace(
        r"\.0$", "", regex=True))
    out = renumber(dataset.copy(deep=False))  # only whole columns are set below
    for new, qnam in new_vars_map(qnams).items():
        mask = (supp["QNAM"] == qnam).to_numpy()
        part = take_columns(supp, mask, ["USUBJID", "QVAL"]).assign(_IDVARVAL=supp_ids[mask])
        part = part.drop_duplicates(["USUBJID", "_IDVARVAL"])
        pos = compute_match_positions(keys, part, ["USUBJID", "_IDVARVAL"])
        out = out.drop(columns=[new]) if new in out.columns else out  # a new variable goes last
        out[new] = compute_taken(get_column_values(part["QVAL"], None), pos)
    return out


# ---------------------------------------------------------------- flags and groups

@derivation(requires=lambda a: expr_columns(a["condition"]), produces=("{new_var}",))
def derive_var_flag(dataset: pd.DataFrame, *, new_var: str, condition: str, true_value: str = "Y",
                    false_value: str | None = "N") -> pd.DataFrame:
    """A flag from a condition: ``true_value`` where it holds, ``false_value`` elsewhere."""
    mask = parse_expression(condition).mask(dataset)
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.Series(np.where(mask, true_value, None), index=out.index, dtype=object)
    out.loc[~mask, new_var] = false_value
    return out


def _cat_requires(args: Mapping[str, Any]) -> list[str]:
    return sorted({c for cat in args["cats"] for c in expr_columns(cat["condition"])})


@derivation(requires=_cat_requires, produces=("{new_var}", "{new_varn}"))
def derive_var_cat(dataset: pd.DataFrame, *, new_var: str, cats: Sequence[Mapping[str, Any]],
                   default: str | None = None, new_varn: str | None = None) -> pd.DataFrame:
    """A grouping: ``cats`` is a list of ``{condition, value[, code]}``; the first that holds wins.

    Records no condition matches get ``default``. ``new_varn`` receives the ``code``s.
    """
    values = pd.Series([None] * len(dataset), index=dataset.index, dtype=object)
    codes = pd.Series(np.nan, index=dataset.index, dtype=float)
    done = pd.Series(False, index=dataset.index)
    for cat in cats:
        hit = parse_expression(str(cat["condition"])).mask(dataset) & ~done
        values[hit] = cat["value"]
        if "code" in cat:
            codes[hit] = float(cat["code"])
        done |= hit
    values[~done] = default
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = values
    if new_varn:
        out[new_varn] = codes
    return out


@derivation(requires=("{source_var}",), produces=("{new_var}",))
def derive_var_map(dataset: pd.DataFrame, *, source_var: str, new_var: str, values: Mapping[str, Any] | None = None,
                   default: Any = None, keep_unmapped: bool = True) -> pd.DataFrame:
    """Recode a variable: ``values`` maps old -> new (compared after strip/upper); others kept or ``default``."""
    check_vars(dataset, [source_var])
    lookup = {str(k).strip().upper(): v for k, v in (values or {}).items()}

    def recode(v: Any) -> Any:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return default if not keep_unmapped else None
        key = str(v).strip().upper()
        if key in lookup:
            return lookup[key]
        return v if keep_unmapped else default

    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.Series([recode(v) for v in dataset[source_var]], index=dataset.index, dtype=object)
    return out


@derivation(requires=("{source_var}",), produces=("{new_var}",))
def derive_var_numeric(dataset: pd.DataFrame, *, source_var: str, new_var: str) -> pd.DataFrame:
    """A numeric copy of a variable (text that is not a number becomes missing)."""
    check_vars(dataset, [source_var])
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.to_numeric(dataset[source_var].astype("string").str.strip(), errors="coerce").astype(float)
    return out


@derivation(requires=lambda a: [*a["by_vars"], *order_columns(a["order"])[0], *expr_columns(a.get("filter"))],
            produces=("{new_var}",))
def derive_var_extreme_flag(dataset: pd.DataFrame, *, by_vars: Sequence[str], order: Sequence[str], new_var: str,
                            mode: Literal["first", "last"] = "first", filter: str | None = None, true_value: str = "Y",
                            false_value: str | None = None) -> pd.DataFrame:
    """Flag the first (or last) record per ``by_vars`` by ``order`` among those passing ``filter``.

    ``order`` items are names or ``desc(NAME)``; e.g. the worst grade per subject and term:
    ``order: [desc(ATOXGRN), ASTDT, AESEQ], mode: first``.
    """
    if mode not in ("first", "last"):
        raise DerivationError(f"mode must be 'first' or 'last', not '{mode}'", variable=new_var)
    cols, asc = order_columns(order)
    check_vars(dataset, [*by_vars, *cols])
    # only the by and order columns of the candidates are sorted (the index says which record it is)
    cand = take_columns(dataset, filter_mask(dataset, filter), [*by_vars, *cols])
    cand = cand.sort_values([*by_vars, *cols], ascending=[True] * len(by_vars) + asc,
                            kind="mergesort", na_position="last")
    chosen = cand.drop_duplicates(list(by_vars), keep=mode).index
    out = dataset.copy(deep=False)  # only whole columns are set below
    out[new_var] = pd.Series(compute_flag_values(out.index.isin(chosen), true_value, false_value),
                             index=out.index, dtype=object)
    return out
