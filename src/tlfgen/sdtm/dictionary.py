"""SDTM stage: coded values checked against their coding dictionary (e.g. AEDECOD, AEBODSYS).

A variable with the spec option ``dictionary: {file, column}`` must hold a value of
that dictionary column (compared case-insensitively, single spaces, after the
variable's ``format``). With ``match: <VAR>`` the value must be the dictionary's
entry for the row whose key is ``<VAR>``'s value (the SOC of the PT).

Findings, all WARNING and naming the raw file, row, column and raw value:

- ``DICT-UNCODED``: the value is in no row of the dictionary column (for a ``match``
  variable: only when the matched value is itself not coded, which has its own finding);
- ``DICT-<COLUMN>-MISMATCH`` (``DICT-SOC-MISMATCH``): the matched value is coded but
  this value (blank included) is not the dictionary's entry for it.

Values are kept as reported; no record is dropped. Work is per distinct value.

``compute_coded_term`` carries another column of the dictionary onto each record (the MedDRA
hierarchy and codes of AEDECOD: AELLT, AEPTCD, AEHLT, ..., AESOCCD): blank when the key is not coded
(which is already a DICT-UNCODED finding).
"""

from __future__ import annotations

import re

import pandas as pd

from tlfgen.errors import DerivationError
from tlfgen.registry import derivation
from tlfgen.sdtm.checks import report_by_form, source_column
from tlfgen.sdtm.context import FORM, ROW, MappingContext, row_col
from tlfgen.sdtm.values import compute_unique_map
from tlfgen.spec.ct import normalise_term
from tlfgen.spec.sdtm import CodingDictionary, DictionarySpec, ResolvedDomain

UNCODED = "DICT-UNCODED"
UNCODED_ACTION = "kept as reported; code it or correct the raw value"


def mismatch_rule(column: str) -> str:
    """``DICT-SOC-MISMATCH`` for column SOC (anything but letters and digits -> '-')."""
    return "DICT-" + re.sub(r"[^A-Z0-9]+", "-", column.upper()).strip("-") + "-MISMATCH"


def compute_term_key(values: pd.Series) -> pd.Series:
    """The matching key of each value (upper case, single spaces); missing -> ''."""
    return compute_unique_map(values, normalise_term, missing="")


def compute_reported(data: pd.DataFrame, rd: ResolvedDomain, var: str, ctx: MappingContext) -> pd.Series:
    """The raw value ``var`` was mapped from, as written in the raw file (read from the raw form
    by row number: the working frame may hold a variable of the raw column's name, e.g. AESOC);
    the mapped value where ``var`` has no raw column."""
    reported = data[var].astype(object)
    for form in data[FORM].unique():
        column = source_column(rd, var, form)
        raw = ctx.forms.get(form)
        row = row_col(form) if row_col(form) in data else ROW
        if not _has_source(rd, var) or raw is None or column not in raw.data or row not in data:
            continue
        rows = data[FORM] == form
        by_row = pd.Series(raw.data[column].to_numpy(), index=raw.data[ROW].to_numpy())
        values = by_row.reindex(data.loc[rows, row].to_numpy()).to_numpy()
        reported = reported.where(~rows, pd.Series(values, index=data.index[rows]).reindex(data.index))
    return reported.where(reported.notna(), "")


def _has_source(rd: ResolvedDomain, var: str) -> bool:
    return any(v.name == var and v.source for v in rd.spec.variables) or any(
        var in s.values and s.values[var].source for s in rd.spec.sources)


def _escape(text: str) -> str:
    """Text placed in a ``ctx.report`` message template (which formats {value})."""
    return str(text).replace("{", "{{").replace("}", "}}")


def check_dictionary(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext) -> None:
    """Every ``dictionary`` option of the domain's variables: findings for uncoded and mismatched values."""
    for var in rd.spec.variables:
        if var.dictionary is None or var.name not in data:
            continue
        coding = ctx.specs.dictionaries[var.dictionary.file]
        if var.dictionary.match is None:
            check_coded(data, rd, ctx, var.name, var.dictionary, coding)
        else:
            check_matched(data, rd, ctx, var.name, var.dictionary, coding)


def check_coded(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext, var: str,
                option: DictionarySpec, coding: CodingDictionary) -> pd.Series:
    """DICT-UNCODED for non-blank values not in the dictionary column; returns the 'coded' mask."""
    key = compute_term_key(data[var])
    coded = key.isin(coding.terms(option.column))
    _report_uncoded(~coded & (key != ""), data, rd, ctx, var, option, coding)
    return coded


def check_matched(data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext, var: str,
                  option: DictionarySpec, coding: CodingDictionary) -> None:
    """The value must be the dictionary's ``column`` entry for the ``match`` variable's value."""
    match_option = next(v.dictionary for v in rd.spec.variables if v.name == option.match)
    key_column = match_option.column
    match_key = compute_term_key(data[option.match])
    key = compute_term_key(data[var])
    matched = match_key.isin(coding.terms(key_column))
    uncoded = ~matched & (key != "") & ~key.isin(coding.terms(option.column))
    _report_uncoded(uncoded, data, rd, ctx, var, option, coding)
    entries = coding.entries(key_column, option.column)
    allowed = {(m, normalise_term(v)) for m, values in entries.items() for v in values}
    pair = match_key + "\x1f" + key
    wrong = matched & ~pair.isin({f"{m}\x1f{v}" for m, v in allowed})
    if not wrong.any():
        return
    reported = compute_reported(data, rd, var, ctx)
    reported_match = compute_reported(data, rd, option.match, ctx)
    column, action = _escape(option.column), (f"kept as reported; correct the {_escape(option.column)} or the "
                                               f"{_escape(key_column)} in the raw data")
    for m in sorted(match_key[wrong].unique()):
        group = wrong & (match_key == m)
        entry = f"{_escape(key_column)} '{_escape(reported_match[group].iloc[0])}'"
        gives = f"{_escape(coding.display)} gives " + " or ".join(f"'{_escape(v)}'" for v in entries[m])
        for mask, message in ((group & (key != ""), f"'{{value}}' is not the {column} of {entry} ({gives})"),
                              (group & (key == ""), f"{column} is blank for {entry} ({gives})")):
            report_by_form(mask, data, ctx, rd, var, values=reported, severity="WARNING",
                           rule=mismatch_rule(option.column), domain=rd.name, action=action, message=message)


def _report_uncoded(mask: pd.Series, data: pd.DataFrame, rd: ResolvedDomain, ctx: MappingContext, var: str,
                    option: DictionarySpec, coding: CodingDictionary) -> None:
    if not mask.any():
        return
    report_by_form(mask, data, ctx, rd, var, values=compute_reported(data, rd, var, ctx), severity="WARNING",
                   rule=UNCODED, domain=rd.name, action=UNCODED_ACTION,
                   message=f"'{{value}}' is not a {_escape(option.column)} of {_escape(coding.display)} ({var})")


@derivation(requires=("{key}",), context=("dataset", "ctx"))
def compute_coded_term(dataset: pd.DataFrame, *, ctx: MappingContext, file: str, key: str, key_column: str,
                       column: str, upper: bool = False) -> pd.Series:
    """The dictionary's ``column`` for each record's ``key`` value (matched on ``key_column``)."""
    coding = ctx.specs.dictionaries.get(file)
    if coding is None:
        raise DerivationError(f"dictionary {file} is not loaded",
                              hint=f"give {key} the option dictionary: {{file: {file}, column: {key_column}}}")
    for needed in (key_column, column):
        if needed not in coding.columns:
            raise DerivationError(f"dictionary {coding.display} has no column {needed!r}",
                                  hint="its columns: " + ", ".join(coding.columns))
    entries = {k: values[0] for k, values in coding.entries(key_column, column).items()}
    values = compute_term_key(dataset[key]).map(entries)
    if upper:
        values = values.str.upper()
    return values.where(values.notna(), "").astype(object)
