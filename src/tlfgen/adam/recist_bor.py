"""ADaM stage: best overall response (RECIST 1.1) and the responder parameters of ADRS.

Pure functions over plain DataFrames:

- ``compute_confirmed_bor``: confirmed best overall response per subject;
- ``compute_unconfirmed_bor``: best overall response without confirmation.

Input: per-assessment overall responses, columns USUBJID, ADT (datetime64),
AVALC, SRCSEQ (the RS record), sorted or not. Rules (the spec sets the numbers
and chooses the options; admiralonco's ``derive_param_confirmed_bor`` names in brackets):

- only assessments up to and including the first PD count (``until_first_pd``),
  and none after the subject's date in ``pd_dates`` (an external PD source,
  [``source_pd``]: assessments on that date count);
- CR is confirmed by the first later CR at least ``confirm_min_days`` after it
  [``ref_confirm``], PR by the first later CR or PR at least that long after it.
  From the response up to and including the confirming assessment only CR and NE
  (CR) or CR, PR, SD and NE (PR) may occur; at most ``max_nr_ne`` NE [``max_nr_ne``]
  (``ne_between_responses``: "ignore" any number, "break" none); SD only when
  ``accept_sd`` and then once [``accept_sd``]; and no PR after a CR (a PR followed
  by CR and then PR is not a confirmed PR; a CR followed by a PR confirms neither:
  RECIST 1.1 table 3 gives SD when the SD duration is met);
- SD: the first CR/PR/SD (and NON-CR/NON-PD unless ``noncrnonpd_as`` is
  "NON-CR/NON-PD") at least ``sd_min_days`` after the start date
  (ADT - start >= sd_min_days) [``ref_start_window``]; with ``noncrnonpd_as``
  "NON-CR/NON-PD", NON-CR/NON-PD is its own category, after SD;
- otherwise PD if there is a PD (an SD before the minimum followed by PD is PD),
  else NE; with ``nd_as`` "ND" a subject whose only assessments are ND gets ND;
- a subject without any assessment gets NE, or MISSING when ``missing_as_ne`` is
  false [``missing_as_ne``; admiralonco's default is false, ours true].

Order from best to worst (admiralonco): CR, PR, SD, NON-CR/NON-PD, PD, NE, ND,
MISSING; of equal ones the first by date.

Each result row names the record that determined it (SRCSEQ), the confirming
record (CONFSEQ) and RESPDT / RESPSEQ: the date and record of the first CR/PR
of the confirmed response (the start of the duration of response).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

import pandas as pd

from tlfgen.adam.columns import compute_per_distinct
from tlfgen.errors import DerivationError

RESPONSE_LEVEL = {"CR": 2, "PR": 1}
SD_LIKE = ("CR", "PR", "SD", "NON-CR/NON-PD")
NE_HANDLING = ("ignore", "break")
NONCRNONPD_AS = ("SD", "NON-CR/NON-PD")
ND_AS = ("NE", "ND")
BOR_COLUMNS = ("USUBJID", "AVALC", "ADT", "SRCSEQ", "CONFSEQ", "RESPDT", "RESPSEQ")
#: what may lie between a response and its confirmation (the confirming record included)
_BETWEEN = {2: ("CR", "NE"), 1: ("CR", "PR", "SD", "NE")}
_TARGETS = {2: ("CR",), 1: ("CR", "PR")}


@dataclass(frozen=True)
class _Rules:
    """The options of one BOR derivation, checked."""

    sd_min_days: int
    max_nr_ne: int | None  # None: any number
    max_nr_sd: int
    noncrnonpd_as: str
    nd_as: str
    missing: str  # the response of a subject without assessments: NE or MISSING
    until_first_pd: bool


def _prepare(assessments: pd.DataFrame, pd_dates: Mapping[str, Any] | None) -> pd.DataFrame:
    # only the columns read here (no copy of the others); AVALC cleaned once per distinct value
    data = assessments[[c for c in _RECORD_COLUMNS if c in assessments.columns]].copy()
    if "SRCSEQ" not in data:
        data["SRCSEQ"] = None
    data["AVALC"] = compute_per_distinct(data["AVALC"], lambda s: s.astype("string").str.strip().str.upper())
    data = data[data["ADT"].notna()]
    if pd_dates:
        limit = pd.to_datetime(data["USUBJID"].astype(str).map(
            {str(k): v for k, v in pd_dates.items() if v is not None and not pd.isna(v)}))
        data = data[(limit.isna() | (data["ADT"] <= limit)).to_numpy()]
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


def _evaluated(records: list[dict[str, Any]], rules: _Rules) -> list[dict[str, Any]]:
    """The records that count: up to and including the first PD when ``until_first_pd``."""
    if rules.until_first_pd:
        for i, rec in enumerate(records):
            if rec["AVALC"] == "PD":
                return records[: i + 1]
    return records


def _confirmation(records: list[dict[str, Any]], i: int, level: int, min_days: int, rules: _Rules) -> int | None:
    """Index of the record confirming ``records[i]`` at ``level`` (2 CR, 1 PR), or None.

    The confirming record is the first later one of the level (CR; CR or PR) at least
    ``min_days`` after; the records from ``i`` to it must pass the rules of the module docstring.
    """
    first = records[i]
    for j in range(i + 1, len(records)):
        rec = records[j]
        if rec["AVALC"] in _TARGETS[level] and (rec["ADT"] - first["ADT"]).days >= min_days:
            between = records[i + 1: j + 1]
            break
    else:
        return None
    values = [r["AVALC"] for r in between]
    if any(v not in _BETWEEN[level] for v in values):
        return None
    if rules.max_nr_ne is not None and values.count("NE") > rules.max_nr_ne:
        return None
    if level == 1:
        if values.count("SD") > rules.max_nr_sd:
            return None
        cr = [r["ADT"] for r in between if r["AVALC"] == "CR"]
        pr = [r["ADT"] for r in between if r["AVALC"] == "PR"]
        if cr and pr and min(cr) <= max(pr):
            return None  # a PR after a CR
    return j


def _first_after(records: list[dict[str, Any]], values: tuple[str, ...], start: Any, min_days: int) -> int | None:
    """Index of the first record with AVALC in ``values`` at least ``min_days`` after ``start``."""
    if start is None or pd.isna(start):
        return None
    for i, rec in enumerate(records):
        if rec["AVALC"] in values and (rec["ADT"] - pd.Timestamp(start)).days >= min_days:
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


def _not_response(usubjid: str, records: list[dict[str, Any]], start: Any, rules: _Rules) -> dict[str, Any]:
    """SD, NON-CR/NON-PD, PD, NE, ND or the missing response for a subject without a (confirmed) CR/PR."""
    if not records:
        return _result(usubjid, rules.missing, None)
    own = rules.noncrnonpd_as == "NON-CR/NON-PD"
    sd = _first_after(records, ("CR", "PR", "SD") if own else SD_LIKE, start, rules.sd_min_days)
    if sd is not None:
        return _result(usubjid, "SD", records[sd])
    non = _first_after(records, ("NON-CR/NON-PD",), start, rules.sd_min_days) if own else None
    if non is not None:
        return _result(usubjid, "NON-CR/NON-PD", records[non])
    pd_rec = next((r for r in records if r["AVALC"] == "PD"), None)
    if pd_rec is not None:
        return _result(usubjid, "PD", pd_rec)
    if rules.nd_as == "ND":
        # NE: an NE, or a CR/PR/SD/NON-CR/NON-PD before the SD minimum; ND only when there is none
        ne = next((r for r in records if r["AVALC"] == "NE" or r["AVALC"] in SD_LIKE), None)
        nd = next((r for r in records if r["AVALC"] == "ND"), None)
        if ne is None and nd is not None:
            return _result(usubjid, "ND", nd)
        return _result(usubjid, "NE", ne if ne is not None else records[0])
    return _result(usubjid, "NE", records[0])


def _check_options(confirm_min_days: int, sd_min_days: int, ne_between_responses: str, max_nr_ne: int | None,
                   noncrnonpd_as: str, nd_as: str) -> None:
    if ne_between_responses not in NE_HANDLING:
        raise DerivationError(f"ne_between_responses is '{ne_between_responses}'", dataset="ADRS",
                              hint="use 'ignore' (NE between two responses does not break confirmation) or 'break'")
    if confirm_min_days < 0 or sd_min_days < 0:
        raise DerivationError("confirm_min_days and sd_min_days must be >= 0", dataset="ADRS")
    if max_nr_ne is not None and (max_nr_ne < 0 or ne_between_responses != "ignore"):
        raise DerivationError(f"max_nr_ne is {max_nr_ne} with ne_between_responses '{ne_between_responses}'",
                              dataset="ADRS", hint="max_nr_ne must be >= 0; give it or ne_between_responses: "
                                                   "break (which means max_nr_ne 0), not both")
    if noncrnonpd_as not in NONCRNONPD_AS:
        raise DerivationError(f"noncrnonpd_as is '{noncrnonpd_as}'", dataset="ADRS",
                              hint="use 'SD' or 'NON-CR/NON-PD'")
    if nd_as not in ND_AS:
        raise DerivationError(f"nd_as is '{nd_as}'", dataset="ADRS", hint="use 'NE' or 'ND'")


def _rules(*, confirm_min_days: int, sd_min_days: int, ne_between_responses: str, max_nr_ne: int | None,
           accept_sd: bool, missing_as_ne: bool, noncrnonpd_as: str, nd_as: str, until_first_pd: bool) -> _Rules:
    _check_options(confirm_min_days, sd_min_days, ne_between_responses, max_nr_ne, noncrnonpd_as, nd_as)
    return _Rules(sd_min_days=sd_min_days, max_nr_ne=0 if ne_between_responses == "break" else max_nr_ne,
                  max_nr_sd=1 if accept_sd else 0, noncrnonpd_as=noncrnonpd_as, nd_as=nd_as,
                  missing="NE" if missing_as_ne else "MISSING", until_first_pd=until_first_pd)


def _everyone(grouped: Mapping[str, Any], start_dates: Mapping[str, Any], subjects: Iterable[str] | None) -> list[str]:
    return sorted(set(subjects) if subjects is not None else set(grouped) | set(map(str, start_dates)))


def compute_confirmed_bor(
    assessments: pd.DataFrame, start_dates: Mapping[str, Any], *, confirm_min_days: int = 28,
    sd_min_days: int = 35, ne_between_responses: Literal["ignore", "break"] = "ignore",
    max_nr_ne: int | None = None, accept_sd: bool = False, missing_as_ne: bool = True,
    noncrnonpd_as: Literal["SD", "NON-CR/NON-PD"] = "SD", nd_as: Literal["NE", "ND"] = "NE",
    pd_dates: Mapping[str, Any] | None = None, until_first_pd: bool = True,
    subjects: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Confirmed best overall response, one row per subject (columns ``BOR_COLUMNS``).

    ``start_dates``: USUBJID -> start date (first dose) for the SD minimum.
    ``subjects``: every subject to report (default: those in ``start_dates`` and
    in ``assessments``); a subject without assessments gets NE (MISSING when
    ``missing_as_ne`` is false). ``pd_dates``: USUBJID -> date of first PD from
    another source; later assessments do not count. The other options: the
    module docstring.
    """
    rules = _rules(confirm_min_days=confirm_min_days, sd_min_days=sd_min_days,
                   ne_between_responses=ne_between_responses, max_nr_ne=max_nr_ne, accept_sd=accept_sd,
                   missing_as_ne=missing_as_ne, noncrnonpd_as=noncrnonpd_as, nd_as=nd_as,
                   until_first_pd=until_first_pd)
    grouped = _records_by_subject(_prepare(assessments, pd_dates))
    rows = []
    for usubjid in _everyone(grouped, start_dates, subjects):
        records = _evaluated(grouped.get(usubjid, []), rules)
        pr_confirmed = {i: _confirmation(records, i, 1, confirm_min_days, rules)
                        for i, r in enumerate(records) if r["AVALC"] == "PR"}
        pr_confirmed = {i: j for i, j in pr_confirmed.items() if j is not None}
        cr = next(((i, j) for i, r in enumerate(records) if r["AVALC"] == "CR"
                   for j in [_confirmation(records, i, 2, confirm_min_days, rules)]
                   if j is not None), None)
        firsts = [i for i in [min(pr_confirmed) if pr_confirmed else None, cr[0] if cr else None] if i is not None]
        resp = records[min(firsts)] if firsts else None
        if cr is not None:
            rows.append(_result(usubjid, "CR", records[cr[0]], records[cr[1]], resp))
        elif pr_confirmed:
            i = min(pr_confirmed)
            rows.append(_result(usubjid, "PR", records[i], records[pr_confirmed[i]], resp))
        else:
            rows.append(_not_response(usubjid, records, start_dates.get(usubjid), rules))
    return pd.DataFrame(rows, columns=list(BOR_COLUMNS))


def compute_unconfirmed_bor(
    assessments: pd.DataFrame, start_dates: Mapping[str, Any], *, sd_min_days: int = 35,
    missing_as_ne: bool = True, noncrnonpd_as: Literal["SD", "NON-CR/NON-PD"] = "SD",
    nd_as: Literal["NE", "ND"] = "NE", pd_dates: Mapping[str, Any] | None = None, until_first_pd: bool = True,
    subjects: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Best overall response without confirmation (first CR, else first PR, else SD/PD/NE as confirmed).

    The options are those of ``compute_confirmed_bor`` (admiralonco ``derive_param_bor``).
    """
    rules = _rules(confirm_min_days=0, sd_min_days=sd_min_days, ne_between_responses="ignore", max_nr_ne=None,
                   accept_sd=False, missing_as_ne=missing_as_ne, noncrnonpd_as=noncrnonpd_as, nd_as=nd_as,
                   until_first_pd=until_first_pd)
    grouped = _records_by_subject(_prepare(assessments, pd_dates))
    rows = []
    for usubjid in _everyone(grouped, start_dates, subjects):
        records = _evaluated(grouped.get(usubjid, []), rules)
        best = None
        for value in ("CR", "PR"):
            best = next((r for r in records if r["AVALC"] == value), None)
            if best is not None:
                rows.append(_result(usubjid, value, best, resp=best))
                break
        if best is None:
            rows.append(_not_response(usubjid, records, start_dates.get(usubjid), rules))
    return pd.DataFrame(rows, columns=list(BOR_COLUMNS))
