"""ADaM stage: best overall response (RECIST 1.1) and the responder parameters of ADRS.

Pure functions over plain DataFrames:

- ``compute_confirmed_bor``: confirmed best overall response per subject;
- ``compute_unconfirmed_bor``: best overall response without confirmation.

Input: per-assessment overall responses, columns USUBJID, ADT (datetime64),
AVALC, SRCSEQ (the RS record), sorted or not. Rules (the spec sets the numbers):

- only assessments up to and including the first PD count;
- CR is confirmed by a later CR at least ``confirm_min_days`` after it; PR by a
  later CR or PR at least ``confirm_min_days`` after it (a CR followed by a PR is
  neither: RECIST 1.1 table 3 gives SD when the SD duration is met).
  Between the two, only responses of the same or better level may occur; an NE
  in between is skipped when ``ne_between_responses`` is "ignore" and breaks the
  confirmation when it is "break". SD or PD in between breaks it;
- SD: any CR/PR/SD/NON-CR/NON-PD assessment at least ``sd_min_days`` after the
  start date (ADT - start >= sd_min_days); an SD before that followed by PD is PD;
- otherwise PD if there is a PD, else NE (also for a subject with no assessment).

Each result row names the record that determined it (SRCSEQ), the confirming
record (CONFSEQ) and RESPDT / RESPSEQ: the date and record of the first CR/PR
of the confirmed response (the start of the duration of response).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from tlfgen.adam.columns import compute_per_distinct
from tlfgen.errors import DerivationError

RESPONSE_LEVEL = {"CR": 2, "PR": 1}
SD_LIKE = ("CR", "PR", "SD", "NON-CR/NON-PD")
NE_HANDLING = ("ignore", "break")
BOR_COLUMNS = ("USUBJID", "AVALC", "ADT", "SRCSEQ", "CONFSEQ", "RESPDT", "RESPSEQ")


def _prepare(assessments: pd.DataFrame) -> pd.DataFrame:
    # only the columns read here (no copy of the others); AVALC cleaned once per distinct value
    data = assessments[[c for c in _RECORD_COLUMNS if c in assessments.columns]].copy()
    if "SRCSEQ" not in data:
        data["SRCSEQ"] = None
    data["AVALC"] = compute_per_distinct(data["AVALC"], lambda s: s.astype("string").str.strip().str.upper())
    data = data[data["ADT"].notna()]
    return data.sort_values(["USUBJID", "ADT", "SRCSEQ"], kind="stable")


_RECORD_COLUMNS = ("USUBJID", "AVALC", "ADT", "SRCSEQ")


def _records_by_subject(data: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Per subject (str USUBJID) its records as dicts (AVALC, ADT, SRCSEQ), in ``data`` order.

    ``data`` comes from ``_prepare`` (sorted by USUBJID); grouped in one pass, no per-group pandas.
    The dicts hold the values ``to_dict("records")`` gives (Timestamp, float, str), built from
    column lists, which costs a fraction of it.
    """
    data = data[data["USUBJID"].notna().to_numpy()]
    records = [dict(zip(_RECORD_COLUMNS, row)) for row in zip(*(data[c].tolist() for c in _RECORD_COLUMNS))]
    ids = data["USUBJID"].tolist()
    grouped: dict[str, list[dict[str, Any]]] = {}
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or ids[i] != ids[start]:
            grouped[str(ids[start])] = records[start:i]
            start = i
    return grouped


def _until_first_pd(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, rec in enumerate(records):
        if rec["AVALC"] == "PD":
            return records[: i + 1]
    return records


def _confirmation(records: list[dict[str, Any]], i: int, level: int, min_days: int, ne: str) -> int | None:
    """Index of the record confirming ``records[i]`` at ``level`` (2 CR, 1 PR), or None."""
    first = records[i]
    for j in range(i + 1, len(records)):
        rec = records[j]
        value = rec["AVALC"]
        reached = RESPONSE_LEVEL.get(value, 0) >= level
        if reached and (rec["ADT"] - first["ADT"]).days >= min_days:
            return j
        if reached:
            continue  # same or better but too early: keep looking
        if value == "NE" and ne == "ignore":
            continue
        return None  # SD, PD, NE (break) or a lower response
    return None


def _sd_index(records: list[dict[str, Any]], start: Any, sd_min_days: int) -> int | None:
    if start is None or pd.isna(start):
        return None
    for i, rec in enumerate(records):
        if rec["AVALC"] in SD_LIKE and (rec["ADT"] - pd.Timestamp(start)).days >= sd_min_days:
            return i
    return None


def _result(usubjid: str, avalc: str, rec: dict[str, Any] | None, conf: dict[str, Any] | None = None,
            resp: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "USUBJID": usubjid, "AVALC": avalc,
        "ADT": rec["ADT"] if rec is not None else pd.NaT,
        "SRCSEQ": rec["SRCSEQ"] if rec is not None else None,
        "CONFSEQ": conf["SRCSEQ"] if conf is not None else None,
        "RESPDT": resp["ADT"] if resp is not None else pd.NaT,
        "RESPSEQ": resp["SRCSEQ"] if resp is not None else None,
    }


def _not_response(usubjid: str, records: list[dict[str, Any]], start: Any, sd_min_days: int) -> dict[str, Any]:
    sd = _sd_index(records, start, sd_min_days)
    if sd is not None:
        return _result(usubjid, "SD", records[sd])
    if records and records[-1]["AVALC"] == "PD":
        return _result(usubjid, "PD", records[-1])
    return _result(usubjid, "NE", records[0] if records else None)


def _check_options(confirm_min_days: int, sd_min_days: int, ne_between_responses: str) -> None:
    if ne_between_responses not in NE_HANDLING:
        raise DerivationError(f"ne_between_responses is '{ne_between_responses}'", dataset="ADRS",
                              hint="use 'ignore' (NE between two responses does not break confirmation) or 'break'")
    if confirm_min_days < 0 or sd_min_days < 0:
        raise DerivationError("confirm_min_days and sd_min_days must be >= 0", dataset="ADRS")


def compute_confirmed_bor(
    assessments: pd.DataFrame, start_dates: Mapping[str, Any], *, confirm_min_days: int = 28,
    sd_min_days: int = 35, ne_between_responses: str = "ignore", subjects: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Confirmed best overall response, one row per subject (columns ``BOR_COLUMNS``).

    ``start_dates``: USUBJID -> start date (first dose) for the SD minimum.
    ``subjects``: every subject to report (default: those in ``start_dates`` and
    in ``assessments``); a subject without assessments gets NE.
    """
    _check_options(confirm_min_days, sd_min_days, ne_between_responses)
    data = _prepare(assessments)
    grouped = _records_by_subject(data)
    everyone = sorted(set(subjects) if subjects is not None else set(grouped) | set(map(str, start_dates)))
    rows = []
    for usubjid in everyone:
        records = _until_first_pd(grouped.get(usubjid, []))
        pr_confirmed = {i: _confirmation(records, i, 1, confirm_min_days, ne_between_responses)
                        for i, r in enumerate(records) if r["AVALC"] == "PR"}
        pr_confirmed = {i: j for i, j in pr_confirmed.items() if j is not None}
        cr = next(((i, j) for i, r in enumerate(records) if r["AVALC"] == "CR"
                   for j in [_confirmation(records, i, 2, confirm_min_days, ne_between_responses)]
                   if j is not None), None)
        firsts = [i for i in [min(pr_confirmed) if pr_confirmed else None, cr[0] if cr else None] if i is not None]
        resp = records[min(firsts)] if firsts else None
        if cr is not None:
            rows.append(_result(usubjid, "CR", records[cr[0]], records[cr[1]], resp))
        elif pr_confirmed:
            i = min(pr_confirmed)
            rows.append(_result(usubjid, "PR", records[i], records[pr_confirmed[i]], resp))
        else:
            rows.append(_not_response(usubjid, records, start_dates.get(usubjid), sd_min_days))
    return pd.DataFrame(rows, columns=list(BOR_COLUMNS))


def compute_unconfirmed_bor(
    assessments: pd.DataFrame, start_dates: Mapping[str, Any], *, sd_min_days: int = 35,
    subjects: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Best overall response without confirmation (first CR, else first PR, else SD/PD/NE as confirmed)."""
    _check_options(0, sd_min_days, "ignore")
    data = _prepare(assessments)
    grouped = _records_by_subject(data)
    everyone = sorted(set(subjects) if subjects is not None else set(grouped) | set(map(str, start_dates)))
    rows = []
    for usubjid in everyone:
        records = _until_first_pd(grouped.get(usubjid, []))
        best = None
        for value in ("CR", "PR"):
            best = next((r for r in records if r["AVALC"] == value), None)
            if best is not None:
                rows.append(_result(usubjid, value, best, resp=best))
                break
        if best is None:
            rows.append(_not_response(usubjid, records, start_dates.get(usubjid), sd_min_days))
    return pd.DataFrame(rows, columns=list(BOR_COLUMNS))
