"""Simulation stage: the raw EDC export layout (docs/contracts.md section 2) and its print helpers.

Shared by the form writers in ``forms*.py``: the columns of every form, the
leading columns, EDC date printing (``03 AUG 2020``, ``UN MAR 2021``), the
FOLDER sort order, per-subject seeded random generators and the "texture"
(inconsistent case and stray spaces) of coded text fields.
"""

from __future__ import annotations

import random
import re
from datetime import date
from functools import lru_cache

STUDYID = "NCT04471480"
SITEID = "01"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
LEADING_COLUMNS = ("STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS")

#: Fields after the leading columns, per form (file name without ".csv"), in file order.
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "dm": ("BRTHDAT", "SEX", "RACE", "ETHNIC", "SMOKING", "ALCOHOL"),
    "ic": ("ICDAT", "ENRLDAT", "ARMSEL", "ELIGYN"),
    "dx": ("DXDAT", "HISTOL", "TUMLOC", "STAGE", "TSTAGE", "NSTAGE", "MSTAGE", "PDL1CPS", "DYSPHSC"),
    "ecog": ("ECOGDAT", "ECOG"),
    "mh": ("MHTERM", "MHSTDAT", "MHONGO"),
    "ex": ("EXCYCLE", "EXTRT", "EXSTDAT", "EXENDAT", "EXDOSE", "EXDOSU", "EXROUTE", "EXADJ", "EXADJRS"),
    "tl": ("TLDAT", "TLID", "TLLOC", "TLNODAL", "TLMETH", "TLDIAM"),
    "ntl": ("NTLDAT", "NTLID", "NTLLOC", "NTLSTAT"),
    "nl": ("NLDAT", "NLID", "NLLOC"),
    "rs": ("RSDAT", "TRGRESP", "NTRGRESP", "NEWLES", "OVRLRESP"),
    "ae": ("AETERM", "AEPT", "AESOC", "AESTDAT", "AEENDAT", "AEONGO", "AETOXGR", "AESER",
           "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE", "AERELCAM", "AERELANL", "AERELTAX", "AERELPLT", "AEACN", "AEOUT"),
    "pr": ("PRDAT", "PRTRT", "PRR0", "PRPCR"),
    "eot": ("EOTDAT", "EOTREAS"),
    "eos": ("EOSDAT", "EOSREAS"),
    "dth": ("DTHDAT", "DTHCAUSE"),
    "cm": ("CMTRT", "CMSTDAT", "CMENDAT", "CMLINE"),
    "fu": ("FUDAT", "FUSTAT"),
}
FORM_NAMES = tuple(FORM_FIELDS)

_FOLDER_PATTERNS = (
    (re.compile(r"^SCRN$"), 1, 0),
    (re.compile(r"^C(\d+)D1$"), 100, 10),
    (re.compile(r"^TA(\d+)$"), 2000, 10),
    (re.compile(r"^EOT$"), 8000, 0),
    (re.compile(r"^FU(\d+)$"), 9000, 1),
    (re.compile(r"^LOG$"), 99999, 0),
)


def form_columns(form: str) -> tuple[str, ...]:
    """All columns of a form in file order (leading columns first)."""
    return LEADING_COLUMNS + FORM_FIELDS[form]


def folder_rank(folder: str) -> int:
    """Sort rank of a FOLDER value; the same numbers as VISITNUM in specs/study.yaml."""
    for pattern, base, step in _FOLDER_PATTERNS:
        match = pattern.match(folder)
        if match:
            return base + (int(match.group(1)) * step if match.groups() else 0)
    return 10**6


@lru_cache(maxsize=None)
def format_date(value: date | None) -> str:
    """EDC print format ``03 AUG 2020``; ``""`` for no date."""
    if value is None:
        return ""
    return f"{value.day:02d} {MONTHS[value.month - 1]} {value.year}"


def format_partial_date(value: date, *, month_known: bool = True) -> str:
    """Partial EDC date: ``UN MAR 2021`` (day unknown) or ``UN UNK 2021``."""
    month = MONTHS[value.month - 1] if month_known else "UNK"
    return f"UN {month} {value.year}"


def format_mm(tenths: int) -> str:
    """A diameter held in tenths of a millimetre, printed ``23`` or ``23.4``."""
    whole, frac = divmod(int(tenths), 10)
    return str(whole) if frac == 0 else f"{whole}.{frac}"


def format_yes_no(flag: bool | None) -> str:
    if flag is None:
        return ""
    return "Yes" if flag else "No"


def format_sentence(code: str) -> str:
    """``"MIDDLE THORACIC"`` -> ``"Middle thoracic"`` (how the EDC shows coded text)."""
    text = code.strip().lower()
    return text[:1].upper() + text[1:]


def create_rng(seed: int, subjid: str, group: str) -> random.Random:
    """A generator for one subject and form group: independent of every other subject."""
    return random.Random(f"{seed}:{subjid}:{group}")


def apply_texture(value: str, rng: random.Random, rate: float = 0.08) -> str:
    """Sometimes return the value in another case or with a stray space (EDC free-typing)."""
    draw = rng.random()
    if not value or draw >= rate:
        return value
    variant = int(draw / rate * 4)
    if variant == 0:
        return value.lower()
    if variant == 1:
        return value.upper()
    if variant == 2:
        return " " + value.lower()
    return value + " "


def create_row(subjid: str, folder: str, recpos: int, **fields: str) -> dict[str, str]:
    """One raw record: the leading columns plus the form's fields (all text)."""
    row = {"STUDYID": STUDYID, "SITEID": SITEID, "SUBJID": subjid, "FOLDER": folder,
           "RECPOS": str(recpos)}
    row.update(fields)
    return row
