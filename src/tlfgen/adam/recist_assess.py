"""ADaM stage: RECIST 1.1 per subject and assessment from lesion measurements (pure, vectorised).

``derive_recist_assessments`` turns the lesion frame of
``recist.create_lesion_measurements`` into one row per subject-date with the sum
of target diameters, % change from baseline and nadir and the target /
non-target / new-lesion / overall responses (rules: ``recist.compute_*``). Whole
columns are computed at once: per-row arrays (one row per lesion and date), per
assessment arrays (``_Visits``) and per subject arrays, joined by integer codes.
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping

import numpy as np
import pandas as pd

from tlfgen.adam.columns import compute_per_distinct
from tlfgen.adam.recist import (LESION_COLUMNS, NEW, NONTARGET, TARGET, compute_lesion_state,
                                compute_nontarget_responses, compute_overall_response, compute_target_response,
                                compute_target_responses)
from tlfgen.errors import DerivationError

ASSESSMENT_COLUMNS = ("USUBJID", "ADT", "VISITNUM", "VISIT", "BASEFL", "SUMDIAM", "BASESUM", "NADIR",
                      "PCHGBL", "PCHGNAD", "TRGRESP", "NTRGRESP", "NEWLIND", "OVRLRESP", "TRSEQS")
#: pd_pct, pd_abs_mm, pr_pct, node_normal_mm: the defaults of the rule, in one place
THRESHOLDS = {k: p.default for k, p in inspect.signature(compute_target_response).parameters.items()
              if p.kind is p.KEYWORD_ONLY and p.default is not p.empty}


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
    limits = {**THRESHOLDS, **thresholds}
    node_normal_mm = limits.pop("node_normal_mm")
    data = lesions.sort_values(["USUBJID", "DATE", "LNKID"], kind="stable")
    data = data[data["USUBJID"].notna().to_numpy() & data["DATE"].notna().to_numpy()]
    v = _Visits(data, dict(start_dates or {}))
    lnk = data["LNKID"].to_numpy(dtype=object)
    role = data["ROLE"]
    base_row = v.row_is_base()
    diam = data["DIAM"].to_numpy(dtype=float)
    states = compute_per_distinct(data["STATE"], lambda s: s.map(compute_lesion_state))
    # baseline target lesions per subject: names (str), first position, CR-size rule from the baseline
    tgt = base_row & np.asarray(role == TARGET, dtype=bool)
    targets = _lesion_keys(v.subj[tgt], lnk[tgt], data["NODAL"].to_numpy(dtype=bool)[tgt])
    n_targets = np.bincount(targets["subj"], minlength=v.n_subjects)
    base_sum = _baseline_sums(v, v.subj[tgt], diam[tgt], n_targets)
    # each assessment's measurement of each baseline target, in target order
    hit = _match(v, lnk, targets).sort_values(["visit", "order"], kind="stable")
    d = diam[hit["row"].to_numpy()]
    measured = ~np.isnan(d)
    mvisit = hit["visit"].to_numpy()[measured]
    total = compute_ordered_sums(mvisit, d[measured], v.n)
    n_measured = np.bincount(mvisit, minlength=v.n)
    normal = np.where(hit["nodal"].to_numpy(dtype=bool), d < node_normal_mm, d == 0)
    all_normal = np.bincount(mvisit[~normal[measured]], minlength=v.n) == 0
    vbase = base_sum[v.subj_of]
    complete = (n_measured == n_targets[v.subj_of]) & (n_targets[v.subj_of] > 0)
    nadir = v.running_nadir(np.where(complete, total, np.nan), vbase)
    trg = compute_target_responses(total, n_measured, n_targets[v.subj_of], all_normal, vbase, nadir, **limits)
    ntrg = _nontarget_responses(v, base_row & np.asarray(role == NONTARGET, dtype=bool), lnk, states)
    new_state = np.where(data["STATE"].isna().to_numpy(), "PRESENT", states)
    new_rows = np.asarray(role == NEW, dtype=bool) & (new_state != "ABSENT")
    new_flag = np.bincount(v.visit[new_rows], minlength=v.n) > 0
    return _assessment_frame(data, v, total=np.where(complete, total, np.nan), base_sum=vbase, nadir=nadir,
                             trg=trg, ntrg=ntrg, new_flag=new_flag)


class _Visits:
    """Assessments (subject-dates) of a lesion frame sorted by USUBJID and DATE, as integer codes."""

    def __init__(self, data: pd.DataFrame, starts: Mapping[Any, Any]) -> None:
        usubjid = data["USUBJID"].to_numpy(dtype=object)
        dates = np.asarray(data["DATE"], dtype="datetime64[ns]")
        new_subject = np.ones(len(data), dtype=bool)
        new_subject[1:] = usubjid[1:] != usubjid[:-1]
        new_visit = new_subject.copy()
        new_visit[1:] |= dates[1:] != dates[:-1]
        self.subj = np.cumsum(new_subject) - 1  # per row
        self.visit = np.cumsum(new_visit) - 1  # per row
        first = np.flatnonzero(new_visit)
        self.first_row = first  # per assessment
        self.n, self.subj_of, self.date = len(first), self.subj[first], dates[first]
        self.subject_ids = usubjid[new_subject].tolist()
        self.n_subjects = len(self.subject_ids)
        start = np.array([_start(starts.get(u)) for u in self.subject_ids], dtype="datetime64[ns]")
        pre = self.date <= start[self.subj_of]  # NaT compares False
        last_pre = np.full(self.n_subjects, -1)
        np.maximum.at(last_pre, self.subj_of[pre], np.flatnonzero(pre))
        # baseline: the last assessment up to the start date; without a start date the first one
        self.base = np.where(np.isnat(start), self.visit[new_subject], last_pre)
        base_date = np.where(self.base >= 0, self.date[self.base], np.datetime64("NaT"))[self.subj_of]
        self.has_base = ~np.isnat(base_date)
        self.is_base = self.date == base_date
        self.keep = ~(self.date < base_date)  # an earlier screening scan is no assessment

    def row_is_base(self) -> np.ndarray:
        return (self.base[self.subj] >= 0) & (self.visit == self.base[self.subj])

    def running_nadir(self, total: np.ndarray, base_sum: np.ndarray) -> np.ndarray:
        """Per assessment, the smallest of the baseline sum and the complete sums of the subject's earlier
        post-baseline assessments (the nadir it is compared with); the baseline sum when that is 0 or missing."""
        truthy = ~np.isnan(base_sum) & (base_sum != 0)
        counts = self.keep & ~self.is_base & ~np.isnan(total) & truthy
        value = pd.Series(np.where(counts, total, np.inf))
        before = value.groupby(self.subj_of).cummin().groupby(self.subj_of).shift(1, fill_value=np.inf)
        return np.where(truthy, np.minimum(base_sum, before.to_numpy()), base_sum)


def _start(value: Any) -> np.datetime64:
    if value is None or pd.isna(value):
        return np.datetime64("NaT", "ns")
    return pd.Timestamp(value).to_datetime64()


def _lesion_keys(subj: np.ndarray, lnk: np.ndarray, nodal: np.ndarray) -> pd.DataFrame:
    """Baseline lesions per subject named str(LNKID), once each, in order (``order``), with the nodal
    flag of the name's last record."""
    frame = pd.DataFrame({"subj": subj, "key": np.array([str(k) for k in lnk.tolist()], dtype=object), "nodal": nodal})
    if frame.duplicated(["subj", "key"]).any():
        frame["nodal"] = frame.groupby(["subj", "key"], sort=False)["nodal"].transform("last")
        frame = frame.drop_duplicates(["subj", "key"])
    return frame.assign(order=np.arange(len(frame)))


def _match(v: _Visits, lnk: np.ndarray, lesions: pd.DataFrame) -> pd.DataFrame:
    """(visit, row, order, nodal) for each assessment's record of a subject's baseline lesion: the record whose
    LNKID is that name (text LNKIDs only), the last one if there are several."""
    rows = np.flatnonzero(_is_text(lnk))
    found = pd.DataFrame({"visit": v.visit[rows], "subj": v.subj[rows], "key": lnk[rows], "row": rows})
    found = found.drop_duplicates(["visit", "key"], keep="last")
    return found.merge(lesions, on=["subj", "key"], how="inner")


def _is_text(values: np.ndarray) -> np.ndarray:
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # every value a str: no check per value
        return np.ones(len(values), dtype=bool)
    return np.fromiter((type(k) is str for k in values.tolist()), dtype=bool, count=len(values))


def compute_ordered_sums(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per group 0..size-1 the sum of its values added one by one in order, as Python's ``sum`` adds
    them (0.0 for none). ``groups`` must be non-decreasing."""
    out = np.zeros(size)
    if len(groups) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    rank = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    for r in range(int(rank.max()) + 1):  # one addition per position: as many rounds as the largest group
        at = rank == r
        out[groups[at]] += values[at]
    return out


def _baseline_sums(v: _Visits, subj: np.ndarray, diam: np.ndarray, n_targets: np.ndarray) -> np.ndarray:
    """Per subject the sum of the baseline target diameters (numpy's sum, as before), NaN when a target
    is not measured or there is none."""
    measured_all = np.bincount(subj[np.isnan(diam)], minlength=v.n_subjects) == 0
    sums = compute_ordered_sums(subj, np.nan_to_num(diam), v.n_subjects)
    counts = np.bincount(subj, minlength=v.n_subjects)
    for s in np.flatnonzero(counts >= 8):  # numpy adds 8 or more values pairwise: the same order here
        sums[s] = float(diam[subj == s].sum())
    return np.where(measured_all & (n_targets > 0), sums, np.nan)


def _nontarget_responses(v: _Visits, rows: np.ndarray, lnk: np.ndarray, states: np.ndarray) -> np.ndarray:
    lesions = _lesion_keys(v.subj[rows], lnk[rows], np.zeros(int(rows.sum()), dtype=bool))
    n = np.bincount(lesions["subj"], minlength=v.n_subjects)[v.subj_of]
    hit = _match(v, lnk, lesions)
    visit, state = hit["visit"].to_numpy(), states[hit["row"].to_numpy()]

    def count(value: str) -> np.ndarray:
        return np.bincount(visit[state == value], minlength=v.n)

    not_assessed = n - np.bincount(visit, minlength=v.n)
    out = compute_nontarget_responses(n, count("PD"), count("NE") + not_assessed, count("ABSENT"))
    return np.where(v.has_base, out, "NE")


def _assessment_frame(data: pd.DataFrame, v: _Visits, *, total: np.ndarray, base_sum: np.ndarray,
                      nadir: np.ndarray, trg: np.ndarray, ntrg: np.ndarray, new_flag: np.ndarray) -> pd.DataFrame:
    """One row per kept assessment, from the same Python values (and so the same column types) as a
    row-by-row build."""
    keep = np.flatnonzero(v.keep)
    first = v.first_row[keep]
    seq = data["SEQ"].to_numpy(dtype=float)
    seqs = _seq_lists(v.visit[~np.isnan(seq)], seq[~np.isnan(seq)], v.n)
    trg = np.where(v.has_base, trg, "NE")
    new = new_flag.tolist()
    columns = (v.subject_ids, pd.DatetimeIndex(v.date[keep]).tolist(), data["VISITNUM"].take(first).tolist(),
               data["VISIT"].take(first).tolist(), *(_floats(x[keep]) for x in (total, base_sum, nadir)))
    rows = []
    for k, when, visitnum, visit, t, b, nd in zip(keep.tolist(), *columns[1:]):
        usubjid = str(columns[0][v.subj_of[k]])
        if v.is_base[k]:
            rows.append((usubjid, when, visitnum, visit, "Y", t, b, nd, None, None, None, None, None, None, seqs[k]))
            continue
        pchg = t is not None and bool(b)
        rows.append((usubjid, when, visitnum, visit, None, t, b, nd,
                     round((t - b) / b * 100.0, 10) if pchg else None,
                     round((t - nd) / nd * 100.0, 10) if pchg and nd else None,
                     trg[k], ntrg[k], "Y" if new[k] else "N", compute_overall_response(trg[k], ntrg[k], new[k]),
                     seqs[k]))
    return pd.DataFrame(rows, columns=list(ASSESSMENT_COLUMNS))


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if x != x else x for x in values.tolist()]


def _seq_lists(visit: np.ndarray, seq: np.ndarray, size: int) -> list[list[int]]:
    """Per assessment 0..size-1 its TR --SEQ as sorted ints."""
    order = np.lexsort((seq, visit))
    values = seq[order].astype(np.int64).tolist()
    ends = np.cumsum(np.bincount(visit, minlength=size)).tolist()
    return [values[a:b] for a, b in zip([0, *ends[:-1]], ends)]
