"""ADaM stage: ``derive_vars_joined``, admiral's join on conditions from both datasets.

Each record of the dataset is paired with every record of an additional dataset
(``source``; without it the dataset itself) that has the same ``by_vars``
values; ``filter_join`` keeps the pairs that fit, reading both sides; ``order``
and ``mode`` choose one pair per record; ``new_vars`` are copied from it.

Admiral names: ``dataset_add`` is ``source``, ``NAME.join`` is written
``NAME_JOIN`` (the safe expression language has no dots): a variable of the
additional dataset that the dataset also has (``by_vars`` apart) is read as
``NAME_JOIN``, the plain name being the dataset's own. The summary functions
(``all()``, ``first_cond_lower`` / ``first_cond_upper``) are not offered.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.adam.columns import compute_flag_values, compute_taken
from tlfgen.adam.common import (SRC, append_src, check_vars, expr_columns, filter_mask, get_source,
                                lineage_columns, new_vars_map, order_columns, record_sources)
from tlfgen.errors import DerivationError
from tlfgen.registry import derivation
from tlfgen.spec.expr import parse_expression

SUFFIX = "_JOIN"
_LEFT, _RIGHT = "__tlfgen_left__", "__tlfgen_right__"


def compute_order_keys(data: pd.DataFrame, order: Sequence[str]) -> np.ndarray:
    """One integer row per record, sorting as ``order`` (``desc(NAME)`` descending) with a missing
    value as the highest (admiral: last ascending, first descending); shape (len(data), len(order))."""
    cols, asc = order_columns(order)
    keys = np.zeros((len(data), len(cols)), dtype=np.int64)
    for k, (col, up) in enumerate(zip(cols, asc)):
        rank = data[col].rank(method="dense", na_option="bottom").to_numpy(dtype=float)
        keys[:, k] = rank if up else -rank
    return keys


def _ranks(left: pd.DataFrame, right: pd.DataFrame, order: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each side's position in one common sort by ``order`` (equal values, equal position)."""
    cols = order_columns(order)[0]
    both = pd.concat([left[cols], right[cols]], ignore_index=True)
    keys = compute_order_keys(both, order)
    codes = pd.DataFrame(keys).groupby(list(range(keys.shape[1])), sort=True).ngroup().to_numpy()
    return codes[: len(left)], codes[len(left):]


def _joined_requires(a: Mapping[str, Any]) -> list[str]:
    by = list(a.get("by_vars") or [])
    src = a.get("source")
    add_cols = [*by, *new_vars_map(a["new_vars"]).values(), *order_columns(a.get("order"))[0],
                *(a.get("join_vars") or []), *expr_columns(a.get("filter_add"))]
    own = [*by, *[c for c in expr_columns(a.get("filter_join")) if not c.endswith(SUFFIX)]]
    if a.get("join_type", "all") != "all":
        own += order_columns(a.get("order"))[0]
    named = [f"{src}.{c}" for c in dict.fromkeys(add_cols)] if src else list(dict.fromkeys(add_cols))
    return [*dict.fromkeys(own), *named]


@derivation(requires=_joined_requires,
            produces=lambda a: [*new_vars_map(a["new_vars"]), *([a["exist_flag"]] if a.get("exist_flag") else [])],
            context=("dataset", "sources"))
def derive_vars_joined(
    dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], new_vars: list[str] | dict[str, str],
    join_type: Literal["all", "before", "after"], source: str | None = None, by_vars: list[str] | None = None,
    join_vars: list[str] | None = None, filter_add: str | None = None, filter_join: str | None = None,
    order: list[str] | None = None, mode: Literal["first", "last"] | None = None, exist_flag: str | None = None,
    true_value: str = "Y", false_value: str | None = None,
) -> pd.DataFrame:
    """Add variables from the records of another dataset chosen by conditions on both (admiral semantics).

    ``source``: the additional dataset (default: the dataset itself); its records
    passing ``filter_add`` are paired with each record of the dataset with the same
    ``by_vars`` (none: every record); ``join_type`` "before" / "after" keeps only
    the records before / after the dataset's record by ``order`` (which both must
    hold), "all" keeps all; ``filter_join`` keeps the pairs that meet it (the
    additional dataset's copy of a shared variable is ``NAME_JOIN``); with
    ``order`` the ``mode`` ("first" / "last") pair is kept, without it more than one
    pair for a record is an error. ``new_vars`` (names, or NEW: OLD) come from that
    record, missing where there is none; ``exist_flag`` gets ``true_value`` /
    ``false_value``. ``join_vars`` is accepted for admiral compatibility (every
    variable ``filter_join`` reads is joined anyway).
    """
    by = list(by_vars or [])
    names = new_vars_map(new_vars)
    cols, _ = order_columns(order)
    if order and mode is None:
        raise DerivationError("order is given without mode", hint="add mode: first or last")
    if join_type != "all" and not order:
        raise DerivationError(f"join_type '{join_type}' needs order", hint="e.g. order: [ADT]")
    add_all = dataset if source is None else get_source(sources, source)
    where = source or "the dataset"
    check_vars(add_all, [*by, *names.values(), *cols, *(join_vars or [])], dataset=where)
    check_vars(dataset, [*by, *(cols if join_type != "all" else [])])
    shared = set(dataset.columns) - set(by)

    def joined_name(col: str) -> str:
        return col + SUFFIX if col in shared else col

    read = expr_columns(filter_join)
    wanted = [*by, *names.values(), *cols, *(join_vars or []),
              *[c for c in read if c in add_all.columns and c not in dataset.columns],
              *[c[: -len(SUFFIX)] for c in read if c.endswith(SUFFIX) and c[: -len(SUFFIX)] in add_all.columns]]
    sdtm = source is not None and source.startswith("sdtm.")
    mask = filter_mask(add_all, filter_add)
    add = add_all if mask is None else add_all[mask]
    kept = add[[c for c in dict.fromkeys(wanted + (lineage_columns(add) if sdtm else []))]].reset_index(drop=True)
    right = kept.rename(columns={c: joined_name(c) for c in kept.columns if c not in by})
    right[_RIGHT] = np.arange(len(right))
    left_cols = [*by, *[c for c in read if c in dataset.columns and c not in by],
                 *(cols if join_type != "all" else [])]
    left = dataset[list(dict.fromkeys(left_cols))].reset_index(drop=True)
    left[_LEFT] = np.arange(len(left))
    if join_type != "all":
        left["_L_RANK"], right["_R_RANK"] = _ranks(dataset.reset_index(drop=True), kept, order or [])
    pairs = left.merge(right, on=by, how="inner") if by else left.merge(right, how="cross")
    if join_type == "before":
        pairs = pairs[pairs["_R_RANK"] < pairs["_L_RANK"]]
    elif join_type == "after":
        pairs = pairs[pairs["_R_RANK"] > pairs["_L_RANK"]]
    if filter_join:
        pairs = pairs[parse_expression(filter_join).mask(pairs).to_numpy()]
    if order:
        keys = compute_order_keys(kept, order)[pairs[_RIGHT].to_numpy()]
        sort = np.lexsort([pairs[_RIGHT].to_numpy(), *keys.T[::-1], pairs[_LEFT].to_numpy()])
        pairs = pairs.iloc[sort].drop_duplicates(_LEFT, keep=mode or "first")
    dup = pairs[pairs.duplicated(_LEFT, keep=False)]
    if len(dup):
        row = dataset.iloc[int(dup[_LEFT].iloc[0])]
        raise DerivationError(
            f"{int(dup[_LEFT].eq(dup[_LEFT].iloc[0]).sum())} records of {where} fit one record"
            + (f" ({', '.join(f'{b}={row[b]}' for b in by)})" if by else ""),
            dataset=where, usubjid=str(row["USUBJID"]) if "USUBJID" in dataset.columns else None,
            hint="narrow filter_join, or give order and mode (first/last) to choose one")
    pos = np.full(len(dataset), -1, dtype=np.int64)
    pos[pairs[_LEFT].to_numpy()] = pairs[_RIGHT].to_numpy()
    out = dataset.drop(columns=[n for n in names if n in dataset.columns]).copy(deep=False)
    for new, old in names.items():
        out[new] = compute_taken(kept[old].to_numpy(), pos)
    if exist_flag:
        out[exist_flag] = pd.Series(compute_flag_values(pos >= 0, true_value, false_value), index=out.index,
                                    dtype=object)
    if SRC not in dataset.columns or not sdtm:
        return out
    pairs_src = record_sources(kept, (source or "").split(".")[-1])
    return append_src(out, [pairs_src[p] if p >= 0 else [] for p in pos.tolist()])

