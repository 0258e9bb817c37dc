"""ADaM stage: RECIST 1.1 overall response recomputed from tumour measurements (TU/TR).

Pure functions first, over plain DataFrames (no YAML, no files):

- ``compute_target_response`` / ``compute_nontarget_response`` /
  ``compute_overall_response``: the RECIST 1.1 tables for one assessment
  (``compute_target_responses`` / ``compute_nontarget_responses``: for many at once);
- ``create_lesion_measurements``: SDTM TU + TR -> one row per lesion per assessment;
- ``recist_assess.derive_recist_assessments`` (its own module): per subject and
  assessment the sum of target diameters, % change from baseline and from nadir,
  target / non-target / new lesion responses and the overall response;
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

from tlfgen.adam.columns import compute_per_distinct
from tlfgen.adam.tte import compute_iso_date  # noqa: F401 - the shared date helper, also used here
from tlfgen.errors import DerivationError
from tlfgen.results import Finding

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
    are no target lesions at baseline. (One case of ``compute_target_responses``.)
    """
    measured = {k: float(v) for k, v in diams.items() if v is not None and not _isnan(v)}
    normal = all((v < node_normal_mm) if nodal.get(k, False) else (v == 0) for k, v in measured.items())
    base = np.nan if baseline_sum is None else baseline_sum
    return str(compute_target_responses(
        np.array([sum(measured.values())], dtype=float), np.array([len(measured)]), np.array([len(diams)]),
        np.array([normal]), np.array([base], dtype=float),
        np.array([base if nadir_sum is None else nadir_sum], dtype=float),
        has_baseline=np.array([baseline_sum is not None]), pd_pct=pd_pct, pd_abs_mm=pd_abs_mm, pr_pct=pr_pct)[0])


def compute_target_responses(
    total: np.ndarray, n_measured: np.ndarray, n_targets: np.ndarray, all_normal: np.ndarray,
    baseline_sum: np.ndarray, nadir_sum: np.ndarray, *, has_baseline: np.ndarray | None = None,
    pd_pct: float = 20.0, pd_abs_mm: float = 5.0, pr_pct: float = 30.0,
) -> np.ndarray:
    """Target-lesion responses of many assessments at once (object array of CR/PR/SD/PD/NE/NA).

    Per assessment: ``total`` the sum of the measured target diameters, ``n_measured`` /
    ``n_targets`` how many of the baseline targets were measured / exist, ``all_normal``
    whether every measured one has the CR size (node < ``node_normal_mm``, others 0),
    ``baseline_sum`` (missing: ``has_baseline`` False, by default where it is NaN) and
    ``nadir_sum``. PD: +``pd_pct``% and +``pd_abs_mm`` mm from the nadir; PR: -``pr_pct``% from baseline.
    """
    base, nadir = np.asarray(baseline_sum, dtype=float), np.asarray(nadir_sum, dtype=float)
    total, n_targets = np.asarray(total, dtype=float), np.asarray(n_targets)
    has_baseline = ~np.isnan(base) if has_baseline is None else np.asarray(has_baseline, dtype=bool)
    with np.errstate(invalid="ignore"):
        progressed = (total - nadir >= pd_pct / 100.0 * nadir - _EPS) & (total - nadir >= pd_abs_mm - _EPS)
        partial = np.asarray(n_measured) < n_targets
        no_base = ~has_baseline | (base <= 0)
        shrunk = total - base <= -pr_pct / 100.0 * base + _EPS
    out = np.select([n_targets == 0, no_base, partial & progressed, partial, np.asarray(all_normal, dtype=bool),
                     progressed, shrunk], ["NA", "NE", "PD", "NE", "CR", "PD", "PR"], "SD")
    return out.astype(object)


def compute_nontarget_response(states: Mapping[str, str | None]) -> str:
    """Non-target response from each baseline non-target lesion's state.

    States (normalised by ``compute_lesion_state``): ABSENT, PRESENT, PD, NE.
    Returns NA (no non-target lesions), PD, NE, CR or NON-CR/NON-PD.
    (One case of ``compute_nontarget_responses``.)
    """
    values = [compute_lesion_state(s) for s in states.values()]
    counts = [np.array([len(values) if v is None else values.count(v)]) for v in (None, "PD", "NE", "ABSENT")]
    return str(compute_nontarget_responses(*counts)[0])


def compute_nontarget_responses(n_lesions: np.ndarray, n_pd: np.ndarray, n_ne: np.ndarray,
                                n_absent: np.ndarray) -> np.ndarray:
    """Non-target responses of many assessments from the counts of baseline non-target lesions
    (all, and those in state PD, NE, ABSENT; a lesion not assessed counts as NE)."""
    n_lesions = np.asarray(n_lesions)
    out = np.select([n_lesions == 0, np.asarray(n_pd) > 0, np.asarray(n_ne) > 0, np.asarray(n_absent) == n_lesions],
                    ["NA", "PD", "NE", "CR"], NONCR_NONPD)
    return out.astype(object)


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
    # TRTESTCD upper-cased once per distinct value (as astype("string").str.upper()); missing: no test
    testcd = pd.Series(compute_per_distinct(tr["TRTESTCD"], lambda s: s.astype("string").str.upper()))

    def is_test(codes: Iterable[str]) -> np.ndarray:
        return testcd.isin({c.upper() for c in codes}).to_numpy(dtype=bool)

    num = pd.to_numeric(tr["TRSTRESN"], errors="coerce") if "TRSTRESN" in tr else pd.Series(np.nan, index=tr.index)
    txt = tr["TRSTRESC"] if "TRSTRESC" in tr else pd.Series(pd.NA, index=tr.index, dtype="string")
    frame = pd.DataFrame({
        # str once per distinct value: repeated values share one object, which later steps compare faster
        "USUBJID": compute_per_distinct(tr["USUBJID"], _as_str),
        "LNKID": compute_per_distinct(tr["TRLNKID"], _as_str),
        "ROLE": lesions["_ROLE"].to_numpy(dtype=object)[pos],
        "NODAL": lesions["_NODAL"].to_numpy(dtype=bool)[pos] | is_test(nodal_testcds),
        "VISITNUM": pd.to_numeric(tr["VISITNUM"], errors="coerce").values if "VISITNUM" in tr else np.nan,
        "VISIT": tr["VISIT"].values if "VISIT" in tr else None,
        "DATE": compute_iso_date(tr["TRDTC"]).values,
        "DIAM": num.where(is_test(diameter_testcds)).values,
        "STATE": txt.where(is_test(state_testcds)).values,
        "SEQ": pd.to_numeric(tr["TRSEQ"], errors="coerce").values if "TRSEQ" in tr else np.nan,
    })
    frame = compute_one_row_per_date(frame)
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


def compute_one_row_per_date(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per USUBJID, LNKID and DATE (a lesion may have several tests at one visit): ROLE, VISITNUM,
    VISIT, STATE first (not missing), NODAL and DIAM max, SEQ min; rows sorted by those keys.

    When the keys are already unique (one test per lesion and date, the usual case) the rows are
    returned as they are, in their order, with missing text as None (what ``first`` gives): the
    caller sorts them again, so skipping the grouping changes nothing but its cost.
    """
    keys = ["USUBJID", "LNKID", "DATE"]
    if len(frame) and not frame.duplicated(keys).any():
        return frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), None)
                               for c in ("ROLE", "VISIT", "STATE")})
    return (frame.groupby(keys, dropna=False, sort=True)
            .agg(ROLE=("ROLE", "first"), NODAL=("NODAL", "max"), VISITNUM=("VISITNUM", "first"),
                 VISIT=("VISIT", "first"), DIAM=("DIAM", "max"), STATE=("STATE", "first"), SEQ=("SEQ", "min"))
            .reset_index())


def _as_str(values: pd.Series) -> pd.Series:
    return values.astype(str)


def _require(data: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    for column in columns:
        if column not in data.columns:
            raise DerivationError(f"column {column} is missing", dataset=name, variable=column,
                                  hint=f"the RECIST derivation reads {name}.{column}")


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
