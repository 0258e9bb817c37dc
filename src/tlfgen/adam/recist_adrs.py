"""ADaM stage: the registered ADRS steps (RECIST 1.1 response parameters), thin wrappers.

Each step takes the ADRS being built plus ``sources`` and returns a new frame
with added records or variables; the logic lives in the pure functions of
``recist.py`` (TU/TR recomputation) and ``recist_bor.py`` (best response).

- ``derive_param_overall_response``  OVR: one record per RS overall response;
- ``derive_vars_recist_check``       the RECIST 1.1 recomputation on OVR records
  (+ findings ``RECIST-MISMATCH`` in ``DataFrame.attrs["findings"]``);
- ``derive_param_bor``               BOR (confirmed) / BORU (unconfirmed);
- ``derive_param_best_pchg``         BESTPCHG: best % change of the sum of diameters;
- ``derive_param_exist_flag``        Y/N parameters: ORR, DCR, DEPTH50.
"""

from __future__ import annotations

from typing import Any, Iterable, Literal, Mapping

import numpy as np
import pandas as pd

from tlfgen.adam.engine import compute_cached
from tlfgen.adam.recist import (
    compute_assessment_keys,
    compute_iso_date,
    compute_recist_mismatches,
    create_lesion_measurements,
)
from tlfgen.adam.recist_assess import derive_recist_assessments
from tlfgen.adam.dates import compute_dt
from tlfgen.adam.recist_bor import compute_confirmed_bor, compute_unconfirmed_bor
from tlfgen.adam.tte import StartSource, compute_source_dates, create_date_source
from tlfgen.errors import DerivationError, SpecError
from tlfgen.results import Finding
from tlfgen.registry import derivation
from tlfgen.spec.expr import parse_expression

SRC = "_SRC"
FINDINGS = "findings"
WORST_FIRST = ("PD", "NE", "SD", "NON-CR/NON-PD", "PR", "CR")


# --------------------------------------------------------------------------- helpers
def _cols(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        return sorted(parse_expression(text).columns)
    except SpecError:
        return []  # reported when the spec loads


def _get(sources: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    if name not in sources:
        raise DerivationError(f"input {name} is not available", dataset=name,
                              hint=f"list {name} under 'inputs' in the spec")
    return sources[name]


def _need(data: pd.DataFrame, names: Iterable[str], where: str) -> None:
    for name in names:
        if name not in data.columns:
            raise DerivationError(f"column {name} is missing", dataset=where, variable=name,
                                  hint=f"the step reads {where}.{name}")


def _adsl_frame(sources: Mapping[str, pd.DataFrame], adsl: str, names: Iterable[str]) -> pd.DataFrame:
    frame = _get(sources, adsl)
    names = list(dict.fromkeys(["USUBJID", *names]))
    _need(frame, names, adsl)
    return frame[names].assign(USUBJID=frame["USUBJID"].astype(str)).drop_duplicates("USUBJID")


def _subjects(sources: Mapping[str, pd.DataFrame], adsl: str, condition: str | None) -> list[str]:
    frame = _get(sources, adsl)
    if condition:
        frame = frame[parse_expression(condition).mask(frame)]
    return sorted(frame["USUBJID"].astype(str))


def _with_date_sources(frame: pd.DataFrame, sources: Mapping[str, pd.DataFrame],
                       date_sources: Mapping[str, Mapping[str, Any]] | None) -> pd.DataFrame:
    """Merge per-subject dates (e.g. start of new anti-cancer therapy) as new columns."""
    out = frame
    for i, (name, entry) in enumerate((date_sources or {}).items()):
        src = create_date_source(entry, kind="date", position=i)
        dates = compute_source_dates(_get(sources, src.dataset), src).set_index("USUBJID")["DATE"]
        out = out.assign(**{name: out["USUBJID"].map(dates).astype("datetime64[ns]")})
    return out


def _aval(avalc: pd.Series, aval_map: Mapping[str, float] | None) -> pd.Series:
    mapping = dict(aval_map or {})
    return pd.Series([float(mapping[v]) if isinstance(v, str) and v in mapping else np.nan for v in avalc],
                     index=avalc.index, dtype=float)


def _ady(adt: pd.Series, start: pd.Series) -> pd.Series:
    days = (adt - start).dt.days
    return days.where(days < 0, days + 1).astype("Int64").astype(float)


def _attach(out: pd.DataFrame, dataset: pd.DataFrame | None, findings: list[Finding] = ()) -> pd.DataFrame:
    result = out if dataset is None or dataset.empty else pd.concat([dataset, out], ignore_index=True)
    before = list(dataset.attrs.get(FINDINGS, [])) if dataset is not None else []
    result.attrs[FINDINGS] = before + list(findings)
    return result


def _take(values: list[Any], positions: list[int], default: Any) -> list[Any]:
    """``values[p]`` for each position, ``default`` where the position is -1 (not found)."""
    return [values[p] if p >= 0 else default for p in positions]


def _date_source_requires(date_sources: Mapping[str, Any] | None) -> list[str]:
    out = []
    for entry in (date_sources or {}).values():
        if isinstance(entry, Mapping) and entry.get("dataset"):
            out += [f"{entry['dataset']}.{c}" for c in [entry.get("date"), *_cols(entry.get("condition"))] if c]
    return out


# --------------------------------------------------------------------------- OVR
def _ovr_requires(a: Mapping[str, Any]) -> list[str]:
    src, adsl = a.get("source", "sdtm.RS"), a.get("adsl", "adam.ADSL")
    own = {"ADT", "ADY", "AVALC", "AVAL", "AVISIT", "AVISITN", *(a.get("date_sources") or {}),
           *(a.get("adsl_vars") or [])}
    return ([f"{src}.{v}" for v in ("USUBJID", "RSSTRESC", "RSDTC", "RSSEQ", *_cols(a.get("filter")))]
            + [f"{adsl}.{v}" for v in [a.get("start_var", "TRTSDT"), *(a.get("adsl_vars") or [])]
               + [c for c in _cols(a.get("anl01fl_condition")) if c not in own]]
            + _date_source_requires(a.get("date_sources")))


@derivation(requires=_ovr_requires,
            produces=lambda a: ["USUBJID", "PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "ADY", "AVISIT", "AVISITN",
                                "ANL01FL", "SRCDOM", "SRCVAR", "SRCSEQ", *(a.get("adsl_vars") or []),
                                *(a.get("date_sources") or {}),
                                *(["ADTF"] if a.get("highest_imputation", "n") != "n" else [])],
            context=("dataset", "sources"))
def derive_param_overall_response(
    dataset: pd.DataFrame | None, *, sources: Mapping[str, pd.DataFrame], param: str, paramcd: str = "OVR",
    source: str = "sdtm.RS", filter: str = "RSTESTCD == 'OVRLRESP'", aval_map: Mapping[str, float] | None = None,
    adsl: str = "adam.ADSL", start_var: str = "TRTSDT", adsl_vars: list[str] | None = None,
    anl01fl_condition: str | None = None, date_sources: Mapping[str, StartSource] | None = None,
    worst_order: list[str] | None = None, highest_imputation: Literal["n", "D", "M"] = "n",
    date_imputation: Literal["first", "last"] = "first",
) -> pd.DataFrame:
    """Add one record per overall-response assessment from RS (AVALC = RSSTRESC, ADT = RSDTC).

    ANL01FL is "Y" for records meeting ``anl01fl_condition`` (it may read ADT,
    ``adsl_vars``, ``start_var`` and the per-subject ``date_sources`` columns);
    of several records of a subject on one date only the worst response is
    flagged and the duplicate is a finding (``ADRS-DUP-ASSESSMENT``).
    ``worst_order``: the responses from worst to best that decide which one
    (default ``WORST_FIRST``: PD, NE, SD, NON-CR/NON-PD, PR, CR; a value not
    listed ranks after all listed ones, ties go to the lower RSSEQ).
    Partial RSDTC: no ADT by default (``highest_imputation`` "n"); "D" imputes
    a missing day, "M" a missing month and day, to the first or last possible
    date (``date_imputation``, admiral's ``derive_vars_dt``), and ADTF holds the
    imputation flag (D or M).
    """
    if worst_order is not None and (isinstance(worst_order, str) or not all(isinstance(v, str) for v in worst_order)):
        raise DerivationError(f"worst_order must be a list of responses, not {worst_order!r}", dataset="ADRS",
                              hint="e.g. worst_order: [PD, NE, SD, NON-CR/NON-PD, PR, CR]")
    rs = _get(sources, source)
    _need(rs, ("USUBJID", "RSSTRESC", "RSDTC"), source)
    rows = rs[parse_expression(filter).mask(rs)] if filter else rs
    domain = source.split(".")[-1]
    seq = pd.to_numeric(rows[f"{domain}SEQ"], errors="coerce") if f"{domain}SEQ" in rows else np.nan
    adt, adtf = _response_dates(rows["RSDTC"], highest_imputation, date_imputation)
    out = pd.DataFrame({
        "USUBJID": rows["USUBJID"].astype(str).values, "PARAMCD": paramcd, "PARAM": param,
        "AVALC": rows["RSSTRESC"].astype("string").str.strip().str.upper().astype(object).values,
        "ADT": adt.values,
        "AVISIT": rows["VISIT"].values if "VISIT" in rows else None,
        "AVISITN": pd.to_numeric(rows["VISITNUM"], errors="coerce").values if "VISITNUM" in rows else np.nan,
        "SRCDOM": domain, "SRCVAR": "RSSTRESC", "SRCSEQ": np.asarray(seq, dtype=float),
    })
    if highest_imputation != "n":
        out["ADTF"] = adtf.values
    out["AVAL"] = _aval(out["AVALC"], aval_map)
    subj = _adsl_frame(sources, adsl, [start_var, *(adsl_vars or [])])
    out = out.merge(subj, on="USUBJID", how="left")
    out["ADY"] = _ady(out["ADT"], compute_iso_date(out[start_var]))
    out = _with_date_sources(out, sources, date_sources)
    ok = parse_expression(anl01fl_condition).mask(out) if anl01fl_condition else pd.Series(True, index=out.index)
    ok &= out["ADT"].notna() & out["AVALC"].notna()
    out, findings = _flag_worst_per_date(out, ok, paramcd, WORST_FIRST if worst_order is None else worst_order)
    out[SRC] = pd.Series([[(domain, None if pd.isna(s) else int(s))] for s in out["SRCSEQ"]], index=out.index,
                         dtype=object)
    if start_var not in (adsl_vars or []):
        out = out.drop(columns=[start_var])
    out = out.sort_values(["USUBJID", "ADT", "SRCSEQ"], kind="stable").reset_index(drop=True)
    return _attach(out, dataset, findings)


def _response_dates(dtc: pd.Series, highest_imputation: str, date_imputation: str) -> tuple[pd.Series, pd.Series]:
    """(ADT, ADTF) from RSDTC: complete dates only for "n", else imputed by ``dates.compute_dt``."""
    if highest_imputation == "n":
        return compute_iso_date(dtc), pd.Series(None, index=dtc.index, dtype=object)
    return compute_dt(dtc, highest_imputation=highest_imputation, date_imputation=date_imputation)


def _flag_worst_per_date(out: pd.DataFrame, ok: pd.Series, paramcd: str,
                         worst_first: Iterable[str]) -> tuple[pd.DataFrame, list[Finding]]:
    findings = []
    out = out.copy()
    out["ANL01FL"] = None
    order: dict[str, int] = {}
    for i, value in enumerate(worst_first):
        order.setdefault(str(value).strip().upper(), i)
    rank = out["AVALC"].map(order).fillna(len(order))
    cand = out[ok].assign(_RANK=rank[ok]).sort_values(["USUBJID", "ADT", "_RANK", "SRCSEQ"], kind="stable")
    keys = ["USUBJID", "ADT"]
    cand = cand[cand["USUBJID"].notna().to_numpy() & cand["ADT"].notna().to_numpy()]  # as groupby(dropna=True)
    out.loc[cand.index[~cand.duplicated(keys, keep="first").to_numpy()], "ANL01FL"] = "Y"  # first of each date
    dups = cand[cand.duplicated(keys, keep=False).to_numpy()]
    for (usubjid, adt), group in dups.groupby(keys, sort=True):
        if len(group) > 1:
            values = group["AVALC"].tolist()
            conflict = len(set(values)) > 1
            findings.append(Finding(
                "WARNING" if conflict else "NOTE", "ADRS-DUP-ASSESSMENT",
                f"{len(group)} {paramcd} assessments on {adt:%Y-%m-%d} ({', '.join(values)}); "
                f"ANL01FL set on {'the worst' if conflict else 'the first'} (RSSEQ "
                f"{int(group['SRCSEQ'].iloc[0]) if pd.notna(group['SRCSEQ'].iloc[0]) else '?'})",
                file="RS", column="RSDTC", value=f"{adt:%Y-%m-%d}", usubjid=str(usubjid), domain="ADRS",
                action="flagged one record",
            ))
    return out, findings


# --------------------------------------------------------------------------- RECIST check
def _lesions(sources: Mapping[str, pd.DataFrame], tu: str, tr: str, role_var: str,
             nodal_condition: str | None) -> pd.DataFrame:
    tu_df, tr_df = _get(sources, tu), _get(sources, tr)
    nodal = parse_expression(nodal_condition).mask(tu_df) if nodal_condition else None
    return create_lesion_measurements(tu_df, tr_df, role_var=role_var, nodal=nodal)


def _starts(sources: Mapping[str, pd.DataFrame], adsl: str, start_var: str) -> dict[str, Any]:
    frame = _adsl_frame(sources, adsl, [start_var])
    dates = compute_iso_date(frame[start_var])
    return {u: d for u, d in zip(frame["USUBJID"], dates) if pd.notna(d)}


def _recomputed(sources: Mapping[str, pd.DataFrame], tu: str, tr: str, role_var: str,
                nodal_condition: str | None, adsl: str, start_var: str) -> pd.DataFrame:
    """RECIST 1.1 per assessment from TU/TR; computed once per dataset build for the same inputs (shared,
    read-only)."""
    return compute_cached(
        "recist_assessments", (_get(sources, tu), _get(sources, tr), _get(sources, adsl)),
        (tu, tr, role_var, nodal_condition, adsl, start_var),
        lambda: derive_recist_assessments(_lesions(sources, tu, tr, role_var, nodal_condition),
                                          _starts(sources, adsl, start_var)))


def _tu_tr_requires(a: Mapping[str, Any]) -> list[str]:
    tu, tr = a.get("tu", "sdtm.TU"), a.get("tr", "sdtm.TR")
    return ([f"{tu}.{v}" for v in ("USUBJID", "TULNKID", a.get("role_var", "TUORRES"),
                                   *_cols(a.get("nodal_condition")))]
            + [f"{tr}.{v}" for v in ("USUBJID", "TRLNKID", "TRTESTCD", "TRDTC")]
            + [f"{a.get('adsl', 'adam.ADSL')}.{a.get('start_var', 'TRTSDT')}"])


@derivation(requires=lambda a: [*_tu_tr_requires(a), "PARAMCD", "ADT", "AVALC"],
            produces=("{new_var}",), context=("dataset", "sources"))
def derive_vars_recist_check(
    dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], new_var: str = "RCRESP",
    paramcd: str = "OVR", tu: str = "sdtm.TU", tr: str = "sdtm.TR", role_var: str = "TUORRES",
    nodal_condition: str | None = None, adsl: str = "adam.ADSL", start_var: str = "TRTSDT",
) -> pd.DataFrame:
    """Recompute each ``paramcd`` record's overall response by RECIST 1.1 from TU/TR into ``new_var``.

    Every disagreement with the investigator's AVALC is a ``RECIST-MISMATCH``
    finding (kept in ``attrs["findings"]``); the investigator's value stays.
    """
    recomputed = _recomputed(sources, tu, tr, role_var, nodal_condition, adsl, start_var)
    rows = dataset["PARAMCD"] == paramcd
    inv = dataset.loc[rows, ["USUBJID", "ADT", "AVALC"] + (["SRCSEQ"] if "SRCSEQ" in dataset else [])]
    findings = compute_recist_mismatches(recomputed, inv)
    post = recomputed[recomputed["BASEFL"].ne("Y")]
    lookup = dict(zip(compute_assessment_keys(post), post["OVRLRESP"]))  # (USUBJID, date in ns)
    out = dataset.copy()
    out[new_var] = [lookup.get(k) if p == paramcd and k[1] is not None else None
                    for k, p in zip(compute_assessment_keys(out), out["PARAMCD"])]
    out.attrs[FINDINGS] = list(dataset.attrs.get(FINDINGS, [])) + findings
    return out


# --------------------------------------------------------------------------- BOR / BORU
def _bor_requires(a: Mapping[str, Any]) -> list[str]:
    adsl = a.get("adsl", "adam.ADSL")
    pd_source = a.get("pd_source") if isinstance(a.get("pd_source"), Mapping) else {}
    pd_cols = [c for c in [pd_source.get("date"), *_cols(pd_source.get("condition"))] if c]
    return (["PARAMCD", "AVALC", "ADT", "SRCSEQ", *_cols(a.get("filter"))]
            + [f"{pd_source['dataset']}.{c}" if pd_source.get("dataset") else c for c in pd_cols]
            + [f"{adsl}.{v}" for v in [a.get("start_var", "TRTSDT"), *(a.get("adsl_vars") or []),
                                       *_cols(a.get("subject_condition"))]])


def _pd_dates(dataset: pd.DataFrame, sources: Mapping[str, pd.DataFrame],
              pd_source: Mapping[str, str] | None) -> dict[str, Any] | None:
    """USUBJID -> the first date of the PD source (its ``dataset``, default the dataset being built)."""
    if not pd_source:
        return None
    own = not pd_source.get("dataset")
    src = create_date_source({**pd_source, "dataset": pd_source.get("dataset") or "ADRS"}, kind="PD")
    data = dataset if own else _get(sources, src.dataset)
    dates = compute_source_dates(data, src)
    return dict(zip(dates["USUBJID"], dates["DATE"]))


@derivation(requires=_bor_requires,
            produces=lambda a: ["PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "ADY", "SRCDOM", "SRCVAR", "SRCSEQ",
                                "RESPDT", "RESPSEQ", *(a.get("adsl_vars") or [])],
            context=("dataset", "sources"))
def derive_param_bor(
    dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], paramcd: str, param: str,
    confirmation: bool = True, source_paramcd: str = "OVR", filter: str | None = "ANL01FL == 'Y'",
    confirm_min_days: int = 28, sd_min_days: int = 35, ne_between_responses: Literal["ignore", "break"] = "ignore",
    max_nr_ne: int | None = None, accept_sd: bool = False, missing_as_ne: bool = True,
    noncrnonpd_as: Literal["SD", "NON-CR/NON-PD"] = "SD", nd_as: Literal["NE", "ND"] = "NE",
    pd_source: dict[str, str] | None = None, until_first_pd: bool = True,
    aval_map: Mapping[str, float] | None = None, adsl: str = "adam.ADSL", start_var: str = "TRTSDT",
    subject_condition: str | None = None, adsl_vars: list[str] | None = None,
) -> pd.DataFrame:
    """Add the best overall response per subject (confirmed unless ``confirmation`` is false).

    Reads the ``source_paramcd`` records passing ``filter``; the rules and their
    numbers are in ``recist_bor`` (module docstring), with admiralonco's options:
    ``max_nr_ne`` NE (default: any, or none with ``ne_between_responses`` "break")
    and, with ``accept_sd``, one SD between a PR and its confirmation;
    ``missing_as_ne`` false reports a subject without assessments as MISSING;
    ``noncrnonpd_as`` / ``nd_as`` keep NON-CR/NON-PD and ND as categories of
    their own; ``pd_source`` ({dataset, date, condition}; without ``dataset`` the
    dataset being built, e.g. ``{date: ADT, condition: "PARAMCD == 'PD'"}``)
    gives the date of first PD after which no assessment counts, and
    ``until_first_pd`` false lets assessments after an OVR PD count (admiralonco
    without ``source_pd``). SRCSEQ is the RS record
    that determined the response; ``_SRC`` adds the confirming record; RESPDT
    and RESPSEQ (helpers) are the date and RS record of the first CR/PR of the
    confirmed response.
    """
    rows = dataset[dataset["PARAMCD"] == source_paramcd]
    if filter:
        rows = rows[parse_expression(filter).mask(rows)]
    starts = _starts(sources, adsl, start_var)
    subjects = _subjects(sources, adsl, subject_condition)
    options: dict[str, Any] = dict(missing_as_ne=missing_as_ne, noncrnonpd_as=noncrnonpd_as, nd_as=nd_as,
                                   pd_dates=_pd_dates(dataset, sources, pd_source), until_first_pd=until_first_pd)
    if confirmation:
        best = compute_confirmed_bor(rows, starts, confirm_min_days=confirm_min_days, sd_min_days=sd_min_days,
                                     ne_between_responses=ne_between_responses, max_nr_ne=max_nr_ne,
                                     accept_sd=accept_sd, subjects=subjects, **options)
    else:
        best = compute_unconfirmed_bor(rows, starts, sd_min_days=sd_min_days, subjects=subjects, **options)
    domain = str(rows["SRCDOM"].dropna().iloc[0]) if "SRCDOM" in rows and rows["SRCDOM"].notna().any() else "RS"
    out = best.assign(PARAMCD=paramcd, PARAM=param, SRCDOM=np.where(best["SRCSEQ"].notna(), domain, None),
                      SRCVAR=np.where(best["SRCSEQ"].notna(), "RSSTRESC", None))
    out["SRCSEQ"] = pd.to_numeric(out["SRCSEQ"], errors="coerce").astype(float)
    out["RESPSEQ"] = pd.to_numeric(out["RESPSEQ"], errors="coerce").astype(float)
    out["AVAL"] = _aval(out["AVALC"], aval_map)
    out[SRC] = pd.Series([[(domain, int(s)) for s in (a, b) if s is not None and pd.notna(s)]
                          for a, b in zip(out["SRCSEQ"], out["CONFSEQ"])], index=out.index, dtype=object)
    subj = _adsl_frame(sources, adsl, [start_var, *(adsl_vars or [])])
    out = out.drop(columns=["CONFSEQ"]).merge(subj, on="USUBJID", how="left")
    out["ADY"] = _ady(out["ADT"], compute_iso_date(out[start_var]))
    if start_var not in (adsl_vars or []):
        out = out.drop(columns=[start_var])
    return _attach(out, dataset)


# --------------------------------------------------------------------------- BESTPCHG
def _best_requires(a: Mapping[str, Any]) -> list[str]:
    own = {"ADT", *(a.get("date_sources") or {}), *(a.get("adsl_vars") or [])}
    adsl = a.get("adsl", "adam.ADSL")
    return (_tu_tr_requires(a) + [f"{adsl}.{v}" for v in [*(a.get("adsl_vars") or []),
                                                          *[c for c in _cols(a.get("window_condition"))
                                                            if c not in own]]]
            + _date_source_requires(a.get("date_sources")))


@derivation(requires=_best_requires,
            produces=lambda a: ["PARAMCD", "PARAM", "AVAL", "ADT", "ADY", "AVISIT", "AVISITN", "SRCDOM",
                                "SRCVAR", *(a.get("adsl_vars") or [])],
            context=("dataset", "sources"))
def derive_param_best_pchg(
    dataset: pd.DataFrame | None, *, sources: Mapping[str, pd.DataFrame], param: str, paramcd: str = "BESTPCHG",
    tu: str = "sdtm.TU", tr: str = "sdtm.TR", role_var: str = "TUORRES", nodal_condition: str | None = None,
    adsl: str = "adam.ADSL", start_var: str = "TRTSDT", adsl_vars: list[str] | None = None,
    window_condition: str | None = None, date_sources: Mapping[str, StartSource] | None = None,
) -> pd.DataFrame:
    """Add the best (lowest) % change from baseline in the sum of target diameters per subject (AVAL).

    Post-baseline assessments with all targets measured count when they meet
    ``window_condition`` (reads ADT, ``adsl_vars`` and ``date_sources``).
    Subjects without such an assessment (e.g. missing baseline) get no record.
    """
    recomputed = _recomputed(sources, tu, tr, role_var, nodal_condition, adsl, start_var)
    post = recomputed[recomputed["BASEFL"].ne("Y") & recomputed["PCHGBL"].notna()].copy()
    post["ADT"] = pd.to_datetime(post["ADT"])
    subj = _adsl_frame(sources, adsl, [start_var, *(adsl_vars or [])])
    post = _with_date_sources(post.merge(subj, on="USUBJID", how="left"), sources, date_sources)
    if window_condition:
        post = post[parse_expression(window_condition).mask(post)]
    post = post.assign(PCHGBL=post["PCHGBL"].astype(float)).sort_values(["USUBJID", "PCHGBL", "ADT"], kind="stable")
    best = post.drop_duplicates("USUBJID").reset_index(drop=True)
    out = pd.DataFrame({
        "USUBJID": best["USUBJID"], "PARAMCD": paramcd, "PARAM": param, "AVAL": best["PCHGBL"].astype(float),
        "ADT": best["ADT"], "AVISIT": best["VISIT"], "AVISITN": pd.to_numeric(best["VISITNUM"], errors="coerce"),
        # the sum of several TR records (one per target lesion): no single source record, so SRCDOM,
        # SRCVAR and SRCSEQ stay blank (ADaMIG 1.3 3.3.8); the record lineage lists every TR record
        "SRCDOM": None, "SRCVAR": None,
    })
    out["ADY"] = _ady(out["ADT"], compute_iso_date(best[start_var]))
    for var in adsl_vars or []:
        out[var] = best[var].values
    out[SRC] = pd.Series([[("TR", s) for s in seqs] for seqs in best["TRSEQS"]], index=out.index, dtype=object)
    return _attach(out, dataset)


# --------------------------------------------------------------------------- Y/N parameters
def _flag_requires(a: Mapping[str, Any]) -> list[str]:
    adsl = a.get("adsl", "adam.ADSL")
    return (["PARAMCD", a.get("date_var", "ADT"), a.get("seq_var", "SRCSEQ"), *_cols(a.get("condition"))]
            + [f"{adsl}.{v}" for v in [*(a.get("adsl_vars") or []), *_cols(a.get("subject_condition"))]])


@derivation(requires=_flag_requires,
            produces=lambda a: ["PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", *(a.get("adsl_vars") or [])],
            context=("dataset", "sources"))
def derive_param_exist_flag(
    dataset: pd.DataFrame, *, sources: Mapping[str, pd.DataFrame], paramcd: str, param: str,
    source_paramcd: str, condition: str, date_var: str = "ADT", seq_var: str = "SRCSEQ",
    aval_map: Mapping[str, float] | None = None,
    adsl: str = "adam.ADSL", subject_condition: str | None = None, adsl_vars: list[str] | None = None,
) -> pd.DataFrame:
    """Add a Y/N parameter per subject: "Y" when a ``source_paramcd`` record meets ``condition``.

    ADT is the ``date_var`` of that record and SRCSEQ its ``seq_var`` (for ORR:
    RESPDT and RESPSEQ, the first CR/PR of the confirmed response); SRCDOM,
    SRCVAR and ``_SRC`` are carried over. Subjects (ADSL, ``subject_condition``)
    without a qualifying record get "N".
    """
    rows = dataset[dataset["PARAMCD"] == source_paramcd]
    _need(dataset, [date_var, seq_var], "ADRS")
    hits = rows[parse_expression(condition).mask(rows)].sort_values(["USUBJID", date_var], kind="stable")
    hits = hits.drop_duplicates("USUBJID").set_index("USUBJID")
    subjects = _subjects(sources, adsl, subject_condition)
    carry = [c for c in ("SRCDOM", "SRCVAR") if c in hits.columns]
    out = pd.DataFrame({"USUBJID": subjects, "PARAMCD": paramcd, "PARAM": param})
    pos = hits.index.get_indexer(subjects).tolist()  # -1: the subject has no qualifying record
    out["AVALC"] = ["Y" if p >= 0 else "N" for p in pos]
    out["ADT"] = pd.Series(_take(hits[date_var].tolist(), pos, pd.NaT), dtype="datetime64[ns]")
    for col in carry:
        out[col] = _take(hits[col].tolist(), pos, None)
    out["SRCSEQ"] = pd.Series(_take(hits[seq_var].tolist(), pos, None), dtype=float)
    cells = hits[SRC].tolist() if SRC in hits.columns else [None] * len(hits)
    out[SRC] = pd.Series([list(c) if isinstance(c, list) else [] for c in _take(cells, pos, None)], dtype=object)
    out["AVAL"] = _aval(out["AVALC"], aval_map if aval_map is not None else {"Y": 1, "N": 0})
    if adsl_vars:
        out = out.merge(_adsl_frame(sources, adsl, adsl_vars), on="USUBJID", how="left")
    return _attach(out, dataset)
