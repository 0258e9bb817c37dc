"""I/O layer: SAS transport (XPT) version 5 conformance checks.

Names (8 characters, upper case), labels (40 ASCII characters), character values (at most
200 bytes, ASCII, within the declared length) and numeric columns; each violation says
where (dataset, variable, first record and USUBJID, how many records) and how to resolve it.
``write_xpt`` refuses data with violations; ``check_xpt_v5`` lists them without writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt_columns import (
    TEMPORAL_TYPES, is_missing, is_numeric_dtype, is_text_column, text_profile,
)

NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
MAX_NAME = 8
MAX_LABEL = 40
MAX_TEXT_BYTES = 200


@dataclass(frozen=True)
class XptViolation:
    """One XPT v5 problem: where it is, what is wrong and how to resolve it."""

    dataset: str
    variable: str | None
    rule: str
    message: str
    resolution: str
    row: int | None = None  # 1-based record number of the first offending record
    usubjid: str | None = None
    records: int = 0  # how many records break the rule (0: not a data rule)

    def __str__(self) -> str:
        where = self.dataset if self.variable is None else f"{self.dataset}.{self.variable}"
        if self.row is not None:
            where += f" record {self.row}"
            if self.usubjid is not None:
                where += f" (USUBJID {self.usubjid})"
        text = f"{where}: {self.message}"
        if self.records > 1:
            text += f" ({self.records} records)"
        return f"{text}; resolve: {self.resolution}"


def _check_name(dataset: str, variable: str | None, name: str) -> list[XptViolation]:
    kind = "dataset" if variable is None else "variable"
    found: list[XptViolation] = []
    if len(name) > MAX_NAME:
        found.append(XptViolation(
            dataset, variable, f"{kind}-name-length",
            f"{kind} name {name!r} is {len(name)} characters; XPT v5 allows at most {MAX_NAME}",
            f"rename the {kind} in the spec to {MAX_NAME} characters or fewer",
        ))
    if not NAME_RE.match(name):
        suggestion = re.sub(r"[^A-Z0-9_]", "", name.upper()) or "X"
        found.append(XptViolation(
            dataset, variable, f"{kind}-name-chars",
            f"{kind} name {name!r} must be upper-case letters, digits and '_', starting with a letter",
            f"rename the {kind} in the spec (e.g. {suggestion!r})",
        ))
    return found


def _first_non_ascii(text: str) -> tuple[int, str] | None:
    for pos, char in enumerate(text, start=1):
        if ord(char) > 127:
            return pos, char
    return None


def _check_label(dataset: str, variable: str | None, label: str) -> list[XptViolation]:
    kind = "dataset label" if variable is None else "label"
    rule = "dataset-label" if variable is None else "variable-label"
    found: list[XptViolation] = []
    if len(label) > MAX_LABEL:
        found.append(XptViolation(
            dataset, variable, f"{rule}-length",
            f"{kind} {label!r} is {len(label)} characters; XPT v5 allows at most {MAX_LABEL}",
            f"shorten the {kind} in the spec to {MAX_LABEL} characters or fewer",
        ))
    bad = _first_non_ascii(label)
    if bad is not None:
        pos, char = bad
        found.append(XptViolation(
            dataset, variable, f"{rule}-ascii",
            f"{kind} {label!r} has non-ASCII character {char!r} (U+{ord(char):04X}) at position {pos}",
            f"rewrite the {kind} in the spec using ASCII characters only",
        ))
    return found


def _usubjid_at(df: pd.DataFrame, index: int) -> str | None:
    if "USUBJID" not in df.columns:
        return None
    value = df["USUBJID"].iloc[index]
    return None if is_missing(value) else str(value)


def _data_violation(
    meta: DatasetMetadata, df: pd.DataFrame, var: str, rule: str, positions: list[int],
    message: str, resolution: str,
) -> XptViolation:
    first = positions[0]
    return XptViolation(
        meta.name, var, rule, message, resolution,
        row=first + 1, usubjid=_usubjid_at(df, first), records=len(positions),
    )


def _split_advice(meta: DatasetMetadata, name: str) -> str:
    if meta.standard.upper().startswith("ADAM"):
        stem = name[:7]
        return f"split into {name}, {stem}1, {stem}2 ... of at most {MAX_TEXT_BYTES} characters each"
    return "split into SUPPQUAL (QNAM, QNAM1 ...) per SDTMIG 4.5.3"


def _check_text_values(meta: DatasetMetadata, df: pd.DataFrame, var: VariableMetadata,
                       profiles: dict | None = None) -> list[XptViolation]:
    series = df[var.name]
    if is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return [XptViolation(
            meta.name, var.name, "text-dtype",
            f"declared {var.data_type} but the column holds {series.dtype} values",
            "convert the column to text in the derivation or declare integer/float in the spec",
        )]
    profile = text_profile(series, profiles)
    not_text = profile.positions(~profile.is_text)
    too_long = profile.positions(profile.sizes > MAX_TEXT_BYTES)
    over_length = profile.positions(profile.sizes > var.length) if var.length is not None else []
    non_ascii = profile.positions(profile.wide)
    found: list[XptViolation] = []
    if not_text:
        value = series.iloc[not_text[0]]
        found.append(_data_violation(
            meta, df, var.name, "text-value", not_text,
            f"declared {var.data_type} but holds {value!r} ({type(value).__name__})",
            "convert the value to text in the derivation",
        ))
    if too_long:
        size = len(series.iloc[too_long[0]].encode("utf-8"))
        found.append(_data_violation(
            meta, df, var.name, "value-length", too_long,
            f"value is {size} bytes; XPT v5 character values hold at most {MAX_TEXT_BYTES}",
            _split_advice(meta, var.name),
        ))
    if over_length and var.length is not None and var.length < MAX_TEXT_BYTES:
        size = len(series.iloc[over_length[0]].encode("utf-8"))
        found.append(_data_violation(
            meta, df, var.name, "declared-length", over_length,
            f"value is {size} bytes, longer than the declared length {var.length}",
            "raise length in the spec or leave it empty to size it from the data",
        ))
    if non_ascii:
        pos, char = _first_non_ascii(series.iloc[non_ascii[0]])  # type: ignore[misc]
        found.append(_data_violation(
            meta, df, var.name, "value-ascii", non_ascii,
            f"value has non-ASCII character {char!r} (U+{ord(char):04X}) at position {pos}",
            "transliterate in the spec or map through a codelist",
        ))
    return found


def _check_numeric_values(meta: DatasetMetadata, df: pd.DataFrame, var: VariableMetadata) -> list[XptViolation]:
    series = df[var.name]
    if pd.api.types.is_datetime64_any_dtype(series):
        if var.data_type in TEMPORAL_TYPES:
            return []
        return [XptViolation(
            meta.name, var.name, "numeric-dtype",
            f"declared {var.data_type} but the column holds dates ({series.dtype})",
            "declare the variable date/datetime in the spec or convert it in the derivation",
        )]
    if is_numeric_dtype(series):
        return []
    bad: list[int] = []
    for index, value in enumerate(series):
        if is_missing(value):
            continue
        ok_number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        )
        ok_date = var.data_type in TEMPORAL_TYPES and isinstance(value, (date, datetime))
        if not (ok_number or ok_date):
            bad.append(index)
    if not bad:
        return []
    value = series.iloc[bad[0]]
    return [_data_violation(
        meta, df, var.name, "numeric-value", bad,
        f"declared {var.data_type} but holds {value!r} ({type(value).__name__})",
        "convert the column to numbers in the derivation or declare it text in the spec",
    )]


def check_xpt_v5(df: pd.DataFrame, meta: DatasetMetadata, profiles: dict | None = None) -> list[XptViolation]:
    """Return every XPT v5 violation of ``df`` under ``meta`` (empty list: writable).

    ``profiles``: the text-column profiles of this write (``xpt_columns.text_profile``), reused
    by the writer so each column is looked at once."""
    found = _check_name(meta.name, None, meta.name) + _check_label(meta.name, None, meta.label)
    declared = [v.name for v in meta.variables]
    for column in df.columns:
        if column not in declared:
            found.append(XptViolation(
                meta.name, str(column), "column-undeclared",
                f"column {column!r} is in the data but not in the dataset metadata",
                "add the variable to the spec or drop the column before writing",
            ))
    for var in meta.variables:
        found += _check_name(meta.name, var.name, var.name) + _check_label(meta.name, var.name, var.label)
        if var.name not in df.columns:
            found.append(XptViolation(
                meta.name, var.name, "variable-missing",
                f"variable {var.name!r} is in the metadata but not in the data",
                "derive the variable or remove it from the spec",
            ))
            continue
        if is_text_column(var, df[var.name]):
            found += _check_text_values(meta, df, var, profiles)
        else:
            found += _check_numeric_values(meta, df, var)
    return found
