"""ADaM stage: RECIST 1.1 overall response recomputed from tumour measurements (TU/TR).

Pure functions first, over plain DataFrames (no YAML, no files):

- ``compute_target_response`` / ``compute_nontarget_response`` /
  ``compute_overall_response``: the RECIST 1.1 tables for one assessment;
- ``create_lesion_measurements``: SDTM TU + TR -> one row per lesion per assessment;
- ``derive_recist_assessments``: per subject and assessment the sum of target
  diameters, % change from baseline and from nadir, target / non-target / new
  lesion responses and the overall response;
- ``compute_recist_mismatches``: every disagreement with the investigator's
  RS OVRLRESP as a ``Finding`` (rule ``RECIST-MISMATCH``).

The registered ADRS steps that use them (``derive_vars_recist_check``,
``derive_param_best_pchg`` ...) are thin wrappers in ``recist_adrs.py``; the
best-overall-response logic is in ``recist_bor.py``.

Rules (RECIST 1.1, Eisenhauer 2009): baseline = the last assessment on or before
the start date (first dose); target CR: every non-nodal target 0 mm and every
nodal target < 10 mm (short axis); PD: sum >= 120% of the nadir (smallest sum so
far, baseline included) and >= 5 mm above it; PR: sum <= 70% of baseline; NE when
a baseline target is not measured (unless the measured ones already show PD);
non-target: any unequivocal progression PD, any not assessed NE, all absent CR,
else NON-CR/NON-PD; a new lesion is PD.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from tlfgen.adam.tte import compute_iso_date  # noqa: F401 - the shared date helper, also used here
from tlfgen.errors import DerivationError
from tlfgen.pipeline import Finding

TARGET, NONTARGET, NEW = "TARGET", "NON-TARGET", "NEW"
NONCR_NONPD = "NON-CR/NON-PD"
_EPS = 1e-9

#: columns of the lesion-measurement frame used by the pure functions
LESION_COLUMNS = ("USUBJID", "LNKID", "ROLE", "NODAL", "VISITNUM", "VISIT", "DATE", "DIAM", "STATE", "SEQ")


# --------------------------------------------------------------------------- RECIST tables
def compute_target_response(
    diams: Mapping[str, float | None], nodal: Mapping[str, bool], *, baseline_sum: float | None,
    nadir_sum: float | None, pd_pct: float = 20.0, pd_abs_mm: float = 5.0, pr_pct: float = 30.0,
    node_normal_mm: float = 10.0,
) -> str:
    """Target-lesion response for one assessment.

    ``diams`` maps every baseline target lesion to its diameter at the assessment
    (None or NaN when not measured). Returns CR, PR, SD, PD, NE, or NA when there
    are no target lesions at baseline.
    """
    if not diams or baseline_sum is None or baseline_sum <= 0:
        return "NA" if not diams else "NE"
    measured = {k: float(v) for k, v in diams.items() if v is not None and not _isnan(v)}
    total = sum(measured.values())
    nadir = baseline_sum if nadir_sum is None else nadir_sum
    progressed = total - nadir >= pd_pct / 100.0 * nadir - _EPS and total - nadir >= pd_abs_mm - _EPS
    if len(measured) < len(diams):
        return "PD" if progressed else "NE"
    if all((v < node_normal_mm) if nodal.get(k, False) else (v == 0) for k, v in measured.items()):
        return "CR"
    if progressed:
        return "PD"
    if total - baseline_sum <= -pr_pct / 100.0 * baseline_sum + _EPS:
        return "PR"
    return "SD"


def compute_nontarget_response(states: Mapping[str, str | None]) -> str:
    """Non-target response from each baseline non-target lesion's state.

    States (normalised by ``compute_lesion_state``): ABSENT, PRESENT, PD, NE.
    Returns NA (no non-target lesions), PD, NE, CR or NON-CR/NON-PD.
    """
    if not states:
        return "NA"
    values = [compute_lesion_state(s) for s in states.values()]
    if "PD" in values:
        return "PD"
    if "NE" in values:
        return "NE"
    if all(v == "ABSENT" for v in values):
        return "CR"
    return NONCR_NONPD


def compute_lesion_state(value: Any) -> str:
    """Normalise a TR tumour-state text: ABSENT, PRESENT, PD (unequivocal progression) or NE."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "NE"
    text = " ".join(str(value).upper().split())
    if text in ("", "NE", "NOT EVALUABLE", "NOT ASSESSED", "NOT DONE", "UNKNOWN"):
        return "NE"
    if text in ("ABSENT", "CR", "DISAPPEARED"):
        return "ABSENT"
    if "UNEQUIVOCAL" in text or text in ("PD", "PROGRESSION"):
        return "PD"
    return "PRESENT"


def compute_overall_response(target: str, nontarget: str, new_lesion: bool) -> str:
    """RECIST 1.1 overall response (tables 1 and 2 of the guideline)."""
    if new_lesion or target == "PD" or nontarget == "PD":
        return "PD"
    if target == "NA":  # non-target disease only (table 2)
        return {"CR": "CR", NONCR_NONPD: NONCR_NONPD}.get(nontarget, "NE")
    if target == "NE":
        return "NE"
    if target == "CR":
        return "CR" if nontarget in ("CR", "NA") else "PR"
    if target == "PR":
        return "PR"
    return "SD"  # target SD, non-target non-PD or not all evaluated


def _isnan(value: Any) -> bool:
    if isinstance(value, float):  # fast path (numpy floats too): NaN is the only value unequal to itself
        return bool(value != value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- SDTM -> lesions
def create_lesion_measurements(
    tu: pd.DataFrame, tr: pd.DataFrame, *, role_var: str = "TUORRES",
    diameter_testcds: Iterable[str] = ("DIAMETER", "LDIAM", "SAXIS"),
    state_testcds: Iterable[str] = ("TUMSTATE",), nodal_testcds: Iterable[str] = ("SAXIS",),
    nodal: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per subject, lesion and assessment from SDTM TU (identification) and TR (results).

    ``nodal`` is an optional boolean Series aligned to ``tu`` (True for lymph nodes).
    TR rows without a TU lesion are a ``DerivationError`` naming USUBJID and TRLNKID.
    New lesions recorded in TU only (no TR row) count at the TU visit/date.
    """
    _require(tu, ("USUBJID", "TULNKID", role_var), "TU")
    _require(tr, ("USUBJID", "TRLNKID", "TRTESTCD", "TRDTC"), "TR")
    tu = tu[[c for c in dict.fromkeys(("USUBJID", "TULNKID", role_var, "VISITNUM", "VISIT", "TUDTC"))
             if c in tu.columns]].copy()  # the columns read below
    tu["_ROLE"] = tu[role_var].astype("string").str.strip().str.upper()
    tu["_NODAL"] = False if nodal is None else nodal.reindex(tu.index).fillna(False).astype(bool)
    lesions = tu.drop_duplicates(["USUBJID", "TULNKID"]).set_index(["USUBJID", "TULNKID"])
    pos = lesions.index.get_indexer(pd.MultiIndex.from_arrays([tr["USUBJID"], tr["TRLNKID"]]))
    for i in np.flatnonzero(pos < 0):
        k = (tr["USUBJID"].iloc[i], tr["TRLNKID"].iloc[i])
        if k in lesions.index:  # a key get_indexer does not match (missing values): look it up singly
            pos[i] = lesions.index.get_loc(k)
            continue
        raise DerivationError(
            f"TR lesion {k[1]} has no TU record", dataset="TR", variable="TRLNKID",
            usubjid=str(k[0]), hint="every TR.TRLNKID must match a TU.TULNKID of the subject",
        )
    testcd = tr["TRTESTCD"].astype("string").str.upper()
    diam_codes, state_codes = {c.upper() for c in diameter_testcds}, {c.upper() for c in state_testcds}
    num = pd.to_numeric(tr["TRSTRESN"], errors="coerce") if "TRSTRESN" in tr else pd.Series(np.nan, index=tr.index)
    txt = tr["TRSTRESC"] if "TRSTRESC" in tr else pd.Series(pd.NA, index=tr.index, dtype="string")
    frame = pd.DataFrame({
        "USUBJID": tr["USUBJID"].astype(str).values,
        "LNKID": tr["TRLNKID"].astype(str).values,
        "ROLE": lesions["_ROLE"].to_numpy(dtype=object)[pos],
        "NODAL": (lesions["_NODAL"].to_numpy(dtype=bool)[pos]
                  | np.asarray(testcd.isin({c.upper() for c in nodal_testcds}).fillna(False), dtype=bool)),
        "VISITNUM": pd.to_numeric(tr["VISITNUM"], errors="coerce").values if "VISITNUM" in tr else np.nan,
        "VISIT": tr["VISIT"].values if "VISIT" in tr else None,
        "DATE": compute_iso_date(tr["TRDTC"]).values,
        "DIAM": num.where(testcd.isin(diam_codes).fillna(False)).values,
        "STATE": txt.where(testcd.isin(state_codes).fillna(False)).values,
        "SEQ": pd.to_numeric(tr["TRSEQ"], errors="coerce").values if "TRSEQ" in tr else np.nan,
    })
    # a lesion may have several tests at one visit: keep one row (diameter and state together)
    frame = (frame.groupby(["USUBJID", "LNKID", "DATE"], dropna=False, sort=True)
             .agg(ROLE=("ROLE", "first"), NODAL=("NODAL", "max"), VISITNUM=("VISITNUM", "first"),
                  VISIT=("VISIT", "first"), DIAM=("DIAM", "max"), STATE=("STATE", "first"), SEQ=("SEQ", "min"))
             .reset_index())
    new_only = tu[(tu["_ROLE"] == NEW) & ~tu.set_index(["USUBJID", "TULNKID"]).index.isin(
        pd.MultiIndex.from_arrays([frame["USUBJID"], frame["LNKID"]]))]
    if len(new_only) and "TUDTC" in new_only:
        extra = pd.DataFrame({
            "USUBJID": new_only["USUBJID"].astype(str).values, "LNKID": new_only["TULNKID"].astype(str).values,
            "ROLE": NEW, "NODAL": False,
            "VISITNUM": pd.to_numeric(new_only["VISITNUM"], errors="coerce").values if "VISITNUM" in new_only else np.nan,
            "VISIT": new_only["VISIT"].values if "VISIT" in new_only else None,
            "DATE": compute_iso_date(new_only["TUDTC"]).values, "DIAM": np.nan, "STATE": "PRESENT", "SEQ": np.nan,
        })
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame[list(LESION_COLUMNS)].sort_values(["USUBJID", "DATE", "LNKID"], kind="stable").reset_index(drop=True)


def _require(data: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    for column in columns:
        if column not in data.columns:
            raise DerivationError(f"column {column} is missing", dataset=name, variable=column,
                                  hint=f"the RECIST derivation reads {name}.{column}")


# --------------------------------------------------------------------------- per assessment
ASSESSMENT_COLUMNS = ("USUBJID", "ADT", "VISITNUM", "VISIT", "BASEFL", "SUMDIAM", "BASESUM", "NADIR",
                      "PCHGBL", "PCHGNAD", "TRGRESP", "NTRGRESP", "NEWLIND", "OVRLRESP", "TRSEQS")


def derive_recist_assessments(
    lesions: pd.DataFrame, start_dates: Mapping[str, Any] | None = None, **thresholds: float,
) -> pd.DataFrame:
    """RECIST 1.1 per subject and assessment from a lesion-measurement frame.

    ``lesions`` has the columns of ``LESION_COLUMNS``. An assessment is one
    subject-date. Baseline: the last assessment on or before the subject's start
    date (``start_dates``: USUBJID -> date); without a start date, the first one.
    A subject without a baseline assessment gets NE throughout (no % change).
    ``thresholds``: ``pd_pct``, ``pd_abs_mm``, ``pr_pct``, ``node_normal_mm``.
    Returns one row per assessment (baseline included, BASEFL "Y") with the
    columns of ``ASSESSMENT_COLUMNS``; ``TRSEQS`` lists the TR --SEQ used.
    """
    missing = [c for c in LESION_COLUMNS if c not in lesions.columns]
    if missing:
        raise DerivationError(f"lesion frame lacks column(s) {', '.join(missing)}", dataset="TR",
                              hint="build it with create_lesion_measurements")
    starts = dict(start_dates or {})
    data = lesions.sort_values(["USUBJID", "DATE", "LNKID"], kind="stable")
    data = data[data["USUBJID"].notna().to_numpy() & data["DATE"].notna().to_numpy()]
    table = _LesionTable(data)
    rows: list[tuple[Any, ...]] = []
    for lo, hi in _runs(table.usubjid, 0, len(data)):
        usubjid = table.usubjid[lo]
        rows.extend(_subject_assessments(str(usubjid), table, lo, hi, starts.get(usubjid), thresholds))
    return pd.DataFrame(rows, columns=list(ASSESSMENT_COLUMNS))


class _LesionTable:
    """The columns of a sorted lesion frame as plain Python lists (no pandas indexing in the loops)."""

    def __init__(self, data: pd.DataFrame) -> None:
        self.usubjid = data["USUBJID"].tolist()
        self.date = compute_timestamp_list(data["DATE"])
        self.lnkid = data["LNKID"].tolist()
        self.is_target = np.asarray(data["ROLE"] == TARGET, dtype=bool).tolist()
        self.is_nontarget = np.asarray(data["ROLE"] == NONTARGET, dtype=bool).tolist()
        self.is_new = np.asarray(data["ROLE"] == NEW, dtype=bool).tolist()
        self.nodal = data["NODAL"].tolist()
        self.visitnum = data["VISITNUM"].tolist()
        self.visit = data["VISIT"].tolist()
        self.diam_array = data["DIAM"].to_numpy(dtype=float)
        self.diam = data["DIAM"].tolist()
        self.diam_ok = data["DIAM"].notna().to_numpy().tolist()
        self.state = data["STATE"].tolist()
        self.new_state = data["STATE"].fillna("PRESENT").tolist()
        self.seq = data["SEQ"].tolist()
        self.seq_ok = data["SEQ"].notna().to_numpy().tolist()


def compute_timestamp_list(dates: pd.Series) -> list[Any]:
    """``list(dates.array)`` (Timestamps, NaT), one Timestamp object per distinct date (dates repeat)."""
    codes, uniques = pd.factorize(dates)
    stamps = list(uniques)
    return [stamps[c] if c >= 0 else pd.NaT for c in codes.tolist()]


def _runs(values: list[Any], lo: int, hi: int) -> Iterable[tuple[int, int]]:
    """(start, end) of each run of equal consecutive values in ``values[lo:hi]``."""
    start = lo
    for i in range(lo + 1, hi):
        if values[i] != values[i - 1]:
            yield start, i
            start = i
    if hi > lo:
        yield start, hi


def _subject_assessments(usubjid: str, t: _LesionTable, lo: int, hi: int, start: Any,
                         thresholds: Mapping[str, float]) -> list[tuple[Any, ...]]:
    visits = list(_runs(t.date, lo, hi))  # one run per assessment date, in date order
    if not visits:
        return []
    start = pd.Timestamp(start) if start is not None and not _isnan(start) else None
    pre = [v for v in visits if start is not None and t.date[v[0]] <= start]
    base = pre[-1] if pre else (visits[0] if start is None else None)
    base_date = t.date[base[0]] if base is not None else None
    targets: dict[str, bool] = {}
    nontargets: list[str] = []
    base_sum: float | None = None
    if base is not None:
        tgt = [i for i in range(*base) if t.is_target[i]]
        targets = {str(t.lnkid[i]): bool(t.nodal[i]) for i in tgt}
        nontargets = sorted(str(t.lnkid[i]) for i in range(*base) if t.is_nontarget[i])
        if tgt and all(t.diam_ok[i] for i in tgt):
            base_sum = float(t.diam_array[tgt].sum())  # numpy's sum, as Series.sum adds them
    nadir = base_sum
    rows: list[tuple[Any, ...]] = []
    for v0, v1 in visits:
        when = t.date[v0]
        is_base = when == base_date
        if base_date is not None and when < base_date:
            continue  # an earlier screening scan is not the baseline and not a response
        by_id = {t.lnkid[i]: i for i in range(v0, v1)}
        diams = {k: (t.diam[by_id[k]] if k in by_id else None) for k in targets}
        measured = [float(v) for v in diams.values()
                    if v is not None and (v == v if type(v) is float else not _isnan(v))]
        total = float(sum(measured)) if len(measured) == len(targets) and targets else None
        seqs = sorted(int(t.seq[i]) for i in range(v0, v1) if t.seq_ok[i])
        pchgbl = pchgnad = None
        if is_base:
            trg = ntrg = new_ind = ovr = None
        else:
            if base_date is None:
                trg, ntrg = "NE", "NE"
            else:
                trg = compute_target_response(diams, targets, baseline_sum=base_sum, nadir_sum=nadir, **thresholds)
                ntrg = compute_nontarget_response(
                    {k: (t.state[by_id[k]] if k in by_id else None) for k in nontargets})
            new_flag = any(compute_lesion_state(t.new_state[i]) != "ABSENT" for i in range(v0, v1) if t.is_new[i])
            new_ind, ovr = "Y" if new_flag else "N", compute_overall_response(trg, ntrg, new_flag)
        row_nadir = nadir
        if not is_base and total is not None and base_sum:
            pchgbl = round((total - base_sum) / base_sum * 100.0, 10)
            if nadir:
                pchgnad = round((total - nadir) / nadir * 100.0, 10)
            nadir = total if nadir is None else min(nadir, total)
        rows.append((usubjid, when, t.visitnum[v0], t.visit[v0], "Y" if is_base else None, total, base_sum,
                     row_nadir, pchgbl, pchgnad, trg, ntrg, new_ind, ovr, seqs))
    return rows


# --------------------------------------------------------------------------- the check
def compute_recist_mismatches(
    recomputed: pd.DataFrame, investigator: pd.DataFrame, *, dataset: str = "ADRS",
) -> list[Finding]:
    """Compare recomputed overall responses with the investigator's, one finding per disagreement.

    ``recomputed``: output of ``derive_recist_assessments``. ``investigator``:
    columns USUBJID, ADT (datetime), AVALC, optional SRCSEQ. Assessments are
    matched on USUBJID and date; a post-baseline assessment present on one side
    only is a disagreement too. NON-CR/NON-PD and SD are not interchangeable.
    """
    post = recomputed[recomputed["BASEFL"].ne("Y") & recomputed["OVRLRESP"].notna()]
    shown = [c for c in ("OVRLRESP", "SUMDIAM", "PCHGBL", "PCHGNAD", "TRGRESP", "NTRGRESP", "NEWLIND")
             if c in post.columns]  # the fields read below: fewer to box per row
    calc = {key: r for key, r in zip(compute_assessment_keys(post), post[shown].itertuples(index=False))
            if key[1] is not None}
    inv_cols = [c for c in ("AVALC", "SRCSEQ") if c in investigator.columns]
    inv = {key: r for key, r in zip(compute_assessment_keys(investigator),
                                    investigator[inv_cols].itertuples(index=False)) if key[1] is not None}
    findings: list[Finding] = []
    for key in sorted(set(calc) | set(inv)):  # (USUBJID, date in ns): the order of (USUBJID, Timestamp)
        c, i = calc.get(key), inv.get(key)
        c_val = c.OVRLRESP if c is not None else None
        i_val = _clean(i.AVALC) if i is not None else None
        if c_val == i_val:
            continue
        day = pd.Timestamp(key[1]).strftime("%Y-%m-%d")
        detail = ""
        if c is not None and c.PCHGBL is not None and not _isnan(c.PCHGBL):
            detail = (f" (sum of diameters {c.SUMDIAM:g} mm, {c.PCHGBL:+.1f}% from baseline"
                      + (f", {c.PCHGNAD:+.1f}% from nadir" if c.PCHGNAD is not None and not _isnan(c.PCHGNAD) else "")
                      + f"; target {c.TRGRESP}, non-target {c.NTRGRESP}, new lesion {c.NEWLIND})")
        elif c is not None:
            detail = f" (target {c.TRGRESP}, non-target {c.NTRGRESP}, new lesion {c.NEWLIND})"
        seq = getattr(i, "SRCSEQ", None) if i is not None else None
        findings.append(Finding(
            severity="WARNING", rule="RECIST-MISMATCH",
            message=(f"assessment {day}: investigator overall response {i_val or '(none)'} but RECIST 1.1 "
                     f"from TU/TR gives {c_val or '(no measurements)'}{detail}"
                     + (f"; RS record RSSEQ={int(seq)}" if seq is not None and not _isnan(seq) else "")),
            file="RS", column="RSSTRESC", value=f"RS={i_val or ''}; RECIST={c_val or ''}; date={day}",
            usubjid=str(key[0]), domain=dataset, action="kept investigator response",
        ))
    return findings


def compute_assessment_keys(frame: pd.DataFrame) -> list[tuple[Any, int | None]]:
    """(USUBJID, ADT as nanoseconds since 1970, None when missing) per row of ``frame``."""
    adt = frame["ADT"]
    if isinstance(adt.dtype, np.dtype) and adt.dtype.kind == "M":
        missing = adt.isna().tolist()
        ns = adt.to_numpy(dtype="datetime64[ns]").view("i8").tolist()
        return [(u, None if m else n) for u, n, m in zip(frame["USUBJID"].tolist(), ns, missing)]
    return [(u, None if _isnan(d) else pd.Timestamp(d).value) for u, d in zip(frame["USUBJID"], adt)]


def _clean(value: Any) -> str | None:
    if value is None or (type(value) is not str and _isnan(value)):
        return None
    return " ".join(str(value).upper().split())
