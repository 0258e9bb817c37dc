"""Spec layer (ADaM stage): which columns of each SDTM input the ADaM specs read.

Computed from the resolved specs before any data runs, so the ADaM stage reads only those
columns of each ``sdtm/<domain>.xpt`` (an LB of forty columns contributes the two a
last-known-alive date needs). For each input dataset the columns are the union over every step
that can see the inputs (its derivation takes ``sources``) and names that input in its arguments
or requirements (every input, when it names none) of:

* the step's declared requirements on that input (``sdtm.LB.LBDTC``);
* every name the step's arguments mention (values, keys, expression columns, ``desc(X)``, with
  ``X_JOIN`` also as ``X``): a superset of the columns a library derivation reads by name;
* what lineage needs of every input: USUBJID, STUDYID, DOMAIN and every ``--SEQ`` column.

Only the derivations in ``COLUMN_EXACT`` are trusted with that: their code was read and every
source column they touch is one of those (they read inputs by the names in their arguments and
requirements). Any other step that sees the inputs (the RECIST derivations, which read TU/TR by
fixed CDISC names; a study's plugin) reads whole inputs: every column of every input of its
dataset. When in doubt the answer is "everything".
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from tlfgen.spec.adam import ResolvedAdamSpec, ResolvedStep

#: columns read from every input for lineage (``adam/common.py`` record_sources, supplied lineage)
LINEAGE_COLUMNS = frozenset({"USUBJID", "STUDYID", "DOMAIN"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JOIN_SUFFIX = "_JOIN"  # adam/joined.py: the additional dataset's copy of a shared variable
#: derivations that read an input's columns only by the names of their arguments and requirements
#: (plus the lineage columns); reviewed in adam/common.py, adsl.py, dates.py, datetimes.py, joined.py, tte.py
COLUMN_EXACT = frozenset({
    "create_dataset", "derive_vars_merged", "derive_var_merged_exist_flag", "derive_vars_transposed",
    "derive_vars_suppqual", "derive_vars_disposition", "derive_var_extreme_dt", "derive_var_extreme_dtm",
    "derive_vars_joined", "derive_param_tte",
})


@dataclass(frozen=True)
class ColumnNeeds:
    """The columns of one input the ADaM stage reads (``column in needs``).

    ``required``: the columns steps declare (their absence is the step's error, reported with the
    file's own columns, so a reader that misses one should read everything); ``mentioned``: every
    other name the steps may read; ``everything``: read every column.
    """

    required: frozenset[str] = frozenset()
    mentioned: frozenset[str] = frozenset()
    everything: bool = False

    def __contains__(self, column: object) -> bool:
        return (self.everything or column in self.required or column in self.mentioned
                or column in LINEAGE_COLUMNS or (isinstance(column, str) and column.endswith("SEQ")))

    def lacks_required(self, columns: Iterable[str]) -> bool:
        """Whether a declared column is not among ``columns`` (the columns a file has)."""
        return bool(self.required - set(columns))

    def merged(self, other: "ColumnNeeds") -> "ColumnNeeds":
        return ColumnNeeds(self.required | other.required, self.mentioned | other.mentioned,
                           self.everything or other.everything)


def _strings(args: Any) -> Iterable[str]:
    """Every string in a step's arguments (keys and values, nested)."""
    stack = [args]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
        elif isinstance(item, str):
            yield item


def compute_mentioned_names(args: Any) -> set[str]:
    """Every name-like word in a step's arguments (keys and values, nested), ``X_JOIN`` also as ``X``."""
    names: set[str] = set()
    for text in _strings(args):
        for word in _NAME.findall(text):
            names.add(word)
            if word.endswith(_JOIN_SUFFIX):
                names.add(word[: -len(_JOIN_SUFFIX)])
    return names


def _reads_inputs(step: ResolvedStep) -> bool:
    """Whether the engine hands the step the input datasets (its function takes ``sources``)."""
    func = step.derivation.func
    return "sources" in inspect.signature(func).parameters and "sources" not in step.derivation.parameters


def _column_exact(step: ResolvedStep) -> bool:
    func = step.derivation.func
    return step.derivation.name in COLUMN_EXACT and str(getattr(func, "__module__", "")).startswith("tlfgen.adam.")


def compute_input_columns(datasets: Sequence[ResolvedAdamSpec], stage: str = "sdtm") -> dict[str, ColumnNeeds]:
    """Per input of ``stage`` (``sdtm.LB``) listed by any spec: the columns the specs' steps read."""
    needs: dict[str, ColumnNeeds] = {}
    for ds in datasets:
        inputs = [item for item in ds.spec.inputs if item.startswith(f"{stage}.")]
        for item in inputs:
            needs.setdefault(item, ColumnNeeds())
        for step in ds.steps:
            if not _reads_inputs(step):
                continue
            if not _column_exact(step):
                for item in inputs:
                    needs[item] = needs[item].merged(ColumnNeeds(everything=True))
                continue
            mentioned = frozenset(compute_mentioned_names(step.spec.args))
            texts = set(_strings(step.spec.args))
            # the inputs the step names (``source: sdtm.LB``) or requires; all of them if it names none
            named = [item for item in inputs if any(item in text for text in texts)
                     or any(req.startswith(f"{item}.") for req in step.requires)] or inputs
            for item in named:
                required = frozenset(req[len(item) + 1:] for req in step.requires if req.startswith(f"{item}."))
                needs[item] = needs[item].merged(ColumnNeeds(required, mentioned))
    return needs
