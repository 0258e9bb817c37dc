"""Lineage layer: what the conformance checks (``lineage.conformance``) read of a Dataset-JSON file.

A dataset is read once and kept as a ``DatasetProfile``: the document without its rows, and per
column what the checks ask of it (how many records are blank, whether a value is given, the text of
each distinct value for a codelist check), plus the few columns a record-level check reads whole
(TS, the AE seriousness flags) and the distinct subject visits. The rows are dropped after each file,
so the rows of a whole stage (1.3-1.5 GiB of Python objects at 5,000 subjects) are never held at once.

Values are counted per distinct value (``pandas.Series.value_counts``), not per record. Equal values
of different types are one distinct value there (1, 1.0 and True); where a column mixes bool, int
and float values the distinct values are taken with their types apart, as their text differs
("True" against "1").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Container

import numpy as np
import pandas as pd

from tlfgen.io.jsontext import loads

SERIOUS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
#: columns the record-level checks read whole, per dataset
WHOLE_COLUMNS = {"TS": ("TSPARMCD", "TSVCDREF", "TSVALCD"), "AE": ("AESEQ", "AESER", *SERIOUS)}
_NUMBERS = {bool, int, float}


@dataclass(frozen=True)
class ColumnProfile:
    records: int
    blank: int  # records whose value is blank (``is_blank``)
    null: int  # records whose value is None (JSON null)
    texts: frozenset[str] | None = None  # the text (``value_text``) of each distinct non-blank value, if asked for

    @property
    def given(self) -> bool:
        return self.blank < self.records


@dataclass(frozen=True)
class DatasetProfile:
    header: dict[str, Any]  # the Dataset-JSON document without "rows"
    columns: dict[str, ColumnProfile]
    whole: dict[str, list]  # WHOLE_COLUMNS present in the dataset, in record order
    visits: frozenset[tuple] | None = None  # distinct (USUBJID, VISITNUM) of the records (None: no VISITNUM)
    visit_records: int = 0  # records with a VISITNUM (and a USUBJID column)
    #: where equal values print apart (1, 1.0 and True; 0.0 and -0.0: one member of ``visits``), the pairs
    #: with their types and signs apart
    visits_apart: tuple[tuple, ...] = ()

    def names(self) -> list[str]:
        return [c["name"] for c in self.header["columns"]]


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def value_text(value: object) -> str:
    """A value as a codelist holds it (1.0 -> "1")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _mixes_numbers(values: np.ndarray | list) -> bool:
    """Whether equal values of different types (1, 1.0 and True) may be in the column."""
    return len(set(map(type, values)) & _NUMBERS) > 1


def _prints_apart(values: np.ndarray | list) -> bool:
    """Whether equal values of the column may print apart: 1, 1.0 and True, or 0.0 and -0.0."""
    if _mixes_numbers(values):
        return True
    column = np.asarray(values, dtype=object)
    return any(type(v) is float and math.copysign(1.0, v) < 0 for v in column[column == 0])


def compute_distinct(values: np.ndarray | list) -> list:
    """The distinct values of a column, a value of another type counted apart (1, 1.0 and True)."""
    if _mixes_numbers(values):  # 1, 1.0 and True would be one set member
        return [value for _, value in dict.fromkeys(zip(map(type, values), values))]
    return list(set(values))


def create_column_profile(values: np.ndarray | list, with_texts: bool) -> ColumnProfile:
    """Blank records counted per distinct value (a blank value is None or text: no value of another
    type is equal to one); the texts of the distinct values when ``with_texts``."""
    counts = pd.Series(values, dtype=object).value_counts(dropna=False, sort=False)
    blanks = [(value, n) for value, n in zip(counts.index, counts.tolist()) if is_blank(value)]
    texts = None
    if with_texts:
        distinct = counts.index
        if any(type(v) in _NUMBERS for v in distinct):
            distinct = compute_distinct(values)
        texts = frozenset(value_text(v) for v in distinct if not is_blank(v))
    return ColumnProfile(len(values), sum(n for _, n in blanks), sum(n for v, n in blanks if v is None), texts)


def _visits_apart(subjects: np.ndarray | list, visits: np.ndarray | list) -> tuple[tuple, ...]:
    """The distinct (USUBJID, VISITNUM) pairs, each kept as it prints, where equal values of a column
    print apart (else none: ``visits`` has them)."""
    if _prints_apart(subjects) or _prints_apart(visits):
        return tuple(pair for pair, _, _ in dict.fromkeys(zip(zip(subjects, visits), map(str, subjects),
                                                               map(str, visits))))
    return ()


def compute_columns(rows: list[list], width: int) -> list:
    """The rows' values per column (object arrays; lists when the rows are not all ``width`` long)."""
    table = np.array(rows, dtype=object) if rows else np.empty((0, width), dtype=object)
    if table.shape == (len(rows), width):
        return [table[:, k] for k in range(width)]
    return [[row[k] for row in rows] for k in range(width)]


def create_dataset_profile(doc: dict[str, Any], dataset: str, texts_of: Container[str] = ()) -> DatasetProfile:
    """The profile of the Dataset-JSON document of ``dataset``; ``texts_of``: the columns whose
    distinct texts a check reads (codelist-bound ones)."""
    header = {k: v for k, v in doc.items() if k != "rows"}
    names = [c["name"] for c in doc["columns"]]
    values = dict(zip(names, compute_columns(doc["rows"], len(names))))
    profiles = {name: create_column_profile(column, name in texts_of) for name, column in values.items()}
    whole = {name: list(values[name]) for name in WHOLE_COLUMNS.get(dataset, ()) if name in values}
    if "VISITNUM" not in values:
        return DatasetProfile(header, profiles, whole)
    if "USUBJID" not in values:
        return DatasetProfile(header, profiles, whole, frozenset(), 0)
    subjects, visits = values["USUBJID"], values["VISITNUM"]
    return DatasetProfile(header, profiles, whole, frozenset(zip(subjects, visits)),
                          profiles["VISITNUM"].records - profiles["VISITNUM"].null, _visits_apart(subjects, visits))


def read_dataset_profile(path: Path, dataset: str, texts_of: Container[str] = ()) -> DatasetProfile:
    return create_dataset_profile(loads(path.read_text(encoding="utf-8")), dataset, texts_of)
