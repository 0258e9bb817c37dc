"""ADaM stage: time-to-event parameters (ADTTE) driven entirely by spec entries.

After admiral's ``derive_param_tte`` with ``event_source`` / ``censor_source``:
a parameter is a start date plus a list of event sources and censor sources,
each a dataset, an optional filter (a safe spec expression), a date variable,
a description and the SRCDOM/SRCVAR/SRCSEQ to record. The code knows no
disease: PFS, OS, DOR and follow-up time differ only in their spec entries.

Choice per subject (contracts.md section 4):

1. events and censor dates after the cutoff: events are ignored; a censor date
   is ignored (``after_cutoff: ignore``) or set to the cutoff (``cap``);
2. the first event (earliest date; ties: source order) is the event candidate;
3. a censor source with ``preempts: true`` (conversion surgery) wins when its
   date (or its ``trigger_date`` column, e.g. the start of a new anti-cancer
   therapy when the censor date is the last assessment before it) is before the
   event date, or there is no event;
4. otherwise the event, if any;
5. otherwise the censor source with the lowest ``priority`` (default: list
   order) that has a date: e.g. the last adequate assessment, then the start date.

AVAL = ADT - STARTDT + 1 (days); AVALM = AVAL / ``months_divisor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from tlfgen.errors import DerivationError, SpecError
from tlfgen.registry import derivation
from tlfgen.spec.expr import parse_expression

TTE_COLUMNS = ("USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALM", "CNSR", "EVNTDESC",
               "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ")
_SOURCE_KEYS = {"dataset", "date", "condition", "evntdesc", "cnsdtdsc", "srcdom", "srcvar", "srcseq",
                "select", "censor", "preempts", "trigger_date", "priority", "after_cutoff"}


@dataclass(frozen=True)
class DateSource:
    """Where a date comes from: ``dataset`` ("adam.ADRS"), ``condition`` (a safe expression), ``date``.

    ``select`` picks the first or last qualifying date per subject. The other
    fields say what the chosen record becomes in ADTTE.
    """

    dataset: str
    date: str
    condition: str | None = None
    description: str | None = None  # EVNTDESC (events) or CNSDTDSC (censoring)
    evntdesc: str | None = None  # censor sources only: EVNTDESC, if it should differ from CNSDTDSC
    srcdom: str | None = None  # default: the dataset name without prefix
    srcvar: str | None = None  # default: the date variable
    srcseq: str | None = None  # column holding the record's sequence number
    select: str = "first"
    censor: int = 1  # CNSR value of a censor source
    preempts: bool = False  # censor source that wins over a later event (conversion surgery)
    trigger_date: str | None = None  # preempting source: the column whose date must precede the event
    priority: int = 0
    after_cutoff: str = "ignore"  # or "cap"

    @property
    def domain(self) -> str:
        return self.srcdom or self.dataset.split(".")[-1]


def compute_iso_date(values: pd.Series) -> pd.Series:
    """ISO 8601 text (or datetimes) -> datetime64; partial or invalid dates become NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.normalize()
    # each distinct value once (dates repeat across records), then spread back; missing -> NaT
    codes, uniques = pd.factorize(values)
    text = pd.Series(uniques, dtype=values.dtype if len(uniques) else object).astype("string").str.strip()
    text = text.str.slice(0, 10)
    full = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(full), format="%Y-%m-%d", errors="coerce")
    dates = np.append(np.asarray(parsed, dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(dates[codes], index=values.index, dtype="datetime64[ns]")


def create_date_source(entry: Mapping[str, Any], *, kind: str, position: int = 0) -> DateSource:
    """Build a ``DateSource`` from a spec mapping (``kind``: start, event or censor)."""
    if not isinstance(entry, Mapping):
        raise SpecError(f"{kind} source {position + 1} must be a mapping with dataset, date, ...")
    unknown = sorted(set(entry) - _SOURCE_KEYS)
    if unknown:
        from tlfgen.spec.base import closest

        near = closest(unknown[0], _SOURCE_KEYS)
        raise SpecError(f"{kind} source {position + 1} has unknown key '{unknown[0]}'",
                        hint=("did you mean " + " or ".join(near) + "?") if near else
                        "keys: " + ", ".join(sorted(_SOURCE_KEYS)))
    for key in ("dataset", "date"):
        if not entry.get(key):
            raise SpecError(f"{kind} source {position + 1} needs '{key}'")
    desc = entry.get("evntdesc") if kind == "event" else entry.get("cnsdtdsc")
    if kind in ("event", "censor") and not desc:
        raise SpecError(f"{kind} source {position + 1} needs '{'evntdesc' if kind == 'event' else 'cnsdtdsc'}'")
    select = entry.get("select", "last" if kind == "censor" else "first")
    after = entry.get("after_cutoff", "ignore")
    if select not in ("first", "last") or after not in ("ignore", "cap"):
        raise SpecError(f"{kind} source {position + 1}: select must be first/last and after_cutoff ignore/cap")
    if kind == "event" and (entry.get("preempts") or "censor" in entry or after != "ignore"
                            or entry.get("trigger_date")):
        raise SpecError(f"event source {position + 1}: preempts, trigger_date, censor and after_cutoff are "
                        "for censor sources",
                        hint="events after the cutoff are always ignored")
    return DateSource(
        dataset=str(entry["dataset"]), date=str(entry["date"]), condition=entry.get("condition"),
        description=desc, evntdesc=entry.get("evntdesc") if kind == "censor" else None,
        srcdom=entry.get("srcdom"), srcvar=entry.get("srcvar"), srcseq=entry.get("srcseq"), select=select,
        censor=int(entry.get("censor", 1)), preempts=bool(entry.get("preempts", False)),
        trigger_date=entry.get("trigger_date"),
        priority=int(entry.get("priority", position)), after_cutoff=after,
    )


def compute_source_dates(data: pd.DataFrame, source: DateSource, *, by: str = "USUBJID") -> pd.DataFrame:
    """One row per subject: the first/last ``source.date`` among rows meeting ``source.condition``.

    Returns columns USUBJID, DATE (datetime64), SRCSEQ, TRIGGER (the ``trigger_date``
    of the chosen record, else DATE). Text dates are ISO 8601;
    partial ones are not used. A missing column is a ``DerivationError``.
    """
    for column in (by, source.date, *[c for c in (source.srcseq, source.trigger_date) if c]):
        if column not in data.columns:
            raise DerivationError(f"column {column} is missing", dataset=source.dataset, variable=column,
                                  hint="check the source's dataset and date in the spec")
    rows = data
    if source.condition:
        rows = data[parse_expression(source.condition).mask(data)]
    out = pd.DataFrame({
        "USUBJID": rows[by].astype(str).values,
        "DATE": compute_iso_date(rows[source.date]).values,
        "SRCSEQ": pd.to_numeric(rows[source.srcseq], errors="coerce").values if source.srcseq else float("nan"),
    })
    out["TRIGGER"] = compute_iso_date(rows[source.trigger_date]).values if source.trigger_date else out["DATE"]
    out = out[out["DATE"].notna()].sort_values(["USUBJID", "DATE", "SRCSEQ"], kind="stable")
    keep = "first" if source.select == "first" else "last"
    return out.drop_duplicates("USUBJID", keep=keep).reset_index(drop=True)


def _candidates(dates: pd.DataFrame) -> dict[str, tuple[pd.Timestamp, Any, pd.Timestamp]]:
    trigger = dates["TRIGGER"] if "TRIGGER" in dates else dates["DATE"]
    when = pd.to_datetime(dates["DATE"]).tolist()  # Timestamps (NaT stays NaT), as pd.Timestamp(...) gives
    return dict(zip(dates["USUBJID"].tolist(), zip(when, dates["SRCSEQ"].tolist(), pd.to_datetime(trigger).tolist())))


def create_tte_records(
    starts: pd.DataFrame, events: Sequence[tuple[DateSource, pd.DataFrame]],
    censors: Sequence[tuple[DateSource, pd.DataFrame]], *, paramcd: str, param: str,
    months_divisor: float = 30.4375,
) -> pd.DataFrame:
    """One time-to-event record per subject of ``starts`` (columns USUBJID, STARTDT, optional CUTOFF).

    ``events`` / ``censors``: each source with its ``compute_source_dates`` result.
    Raises ``DerivationError`` when no censor source gives a date or ADT < STARTDT.
    """
    if months_divisor <= 0:
        raise DerivationError(f"months_divisor is {months_divisor}", dataset="ADTTE", variable="AVALM",
                              hint="use 30.4375 (days per month)")
    event_maps = [(src, _candidates(d)) for src, d in events]
    censor_maps = sorted(((src, _candidates(d)) for src, d in censors), key=lambda x: x[0].priority)
    rows = []
    for rec in starts.sort_values("USUBJID").itertuples(index=False):
        usubjid, start = str(rec.USUBJID), pd.Timestamp(rec.STARTDT)
        cutoff = getattr(rec, "CUTOFF", None)
        cutoff = None if cutoff is None or pd.isna(cutoff) else pd.Timestamp(cutoff)
        chosen = _choose(usubjid, cutoff, event_maps, censor_maps)
        if chosen is None:
            raise DerivationError(f"no event and no censoring date for {paramcd}", dataset="ADTTE",
                                  variable="ADT", usubjid=usubjid,
                                  hint="add a last-resort censor source, e.g. the start date")
        src, when, seq, is_event = chosen
        if when < start:
            raise DerivationError(
                f"{paramcd} date {when:%Y-%m-%d} ({src.dataset}.{src.date}) is before STARTDT {start:%Y-%m-%d}",
                dataset="ADTTE", variable="ADT", usubjid=usubjid,
                hint="check the source dates or restrict the source with a condition")
        aval = int((when - start).days) + 1
        rows.append({
            "USUBJID": usubjid, "PARAMCD": paramcd, "PARAM": param, "STARTDT": start, "ADT": when,
            "AVAL": aval, "AVALM": aval / months_divisor, "CNSR": 0 if is_event else src.censor,
            "EVNTDESC": src.description if is_event else (src.evntdesc or src.description),
            "CNSDTDSC": None if is_event else src.description,
            "SRCDOM": src.domain, "SRCVAR": src.srcvar or src.date,
            "SRCSEQ": None if seq is None or pd.isna(seq) else int(seq),
        })
    out = pd.DataFrame(rows, columns=list(TTE_COLUMNS))
    out["AVAL"] = out["AVAL"].astype("int64")
    out["CNSR"] = out["CNSR"].astype("int64")
    out["SRCSEQ"] = out["SRCSEQ"].astype("Int64")
    return out


def _choose(usubjid: str, cutoff: pd.Timestamp | None,
            event_maps: list[tuple[DateSource, dict]], censor_maps: list[tuple[DateSource, dict]]
            ) -> tuple[DateSource, pd.Timestamp, Any, bool] | None:
    event = None
    for src, dates in event_maps:
        if usubjid in dates:
            when, seq, _ = dates[usubjid]
            if cutoff is not None and when > cutoff:
                continue
            if event is None or when < event[1]:
                event = (src, when, seq, True)
    censors = []
    for src, dates in censor_maps:
        if usubjid not in dates:
            continue
        when, seq, trigger = dates[usubjid]
        if cutoff is not None and when > cutoff:
            if src.after_cutoff == "ignore":
                continue
            when = cutoff
        censors.append((src, when, seq, False, trigger))
    preempt = [c for c in censors if c[0].preempts and (pd.isna(c[4]) or cutoff is None or c[4] <= cutoff)
               and (event is None or (c[1] if pd.isna(c[4]) else c[4]) < event[1])]
    if preempt:
        return min(preempt, key=lambda c: c[1])[:4]
    if event is not None:
        return event
    ordinary = [c for c in censors if not c[0].preempts]
    return ordinary[0][:4] if ordinary else None


# --------------------------------------------------------------------------- step function
def _tte_requires(args: Mapping[str, Any]) -> Iterable[str]:
    from tlfgen.spec.expr import parse_expression as parse

    entries = [args.get("start")] + list(args.get("events") or []) + list(args.get("censors") or [])
    for entry in entries:
        if not isinstance(entry, Mapping) or "dataset" not in entry:
            continue
        ds = entry["dataset"]
        yield f"{ds}.USUBJID"
        if entry.get("date"):
            yield f"{ds}.{entry['date']}"
        for key in ("srcseq", "trigger_date"):
            if entry.get(key):
                yield f"{ds}.{entry[key]}"
        if entry.get("condition"):
            try:
                yield from (f"{ds}.{c}" for c in sorted(parse(entry["condition"]).columns))
            except SpecError:
                pass  # reported when the step runs / the spec loads
    for var in ["STUDYID", *(args.get("adsl_vars") or ())]:
        yield f"{args.get('adsl', 'adam.ADSL')}.{var}"
    cutoff_var = args.get("cutoff_var", "DCUTDT")
    if cutoff_var:
        yield f"{args.get('adsl', 'adam.ADSL')}.{cutoff_var}"
    if args.get("subject_condition"):
        try:
            yield from (f"{args.get('adsl', 'adam.ADSL')}.{c}"
                        for c in sorted(parse(args["subject_condition"]).columns))
        except SpecError:
            pass


def _tte_produces(args: Mapping[str, Any]) -> Iterable[str]:
    return ["STUDYID", *TTE_COLUMNS, *(args.get("adsl_vars") or ())]


@derivation(requires=_tte_requires, produces=_tte_produces, context=("dataset", "sources", "study"))
def derive_param_tte(
    dataset: pd.DataFrame | None, *, sources: Mapping[str, pd.DataFrame], study: Any = None,
    paramcd: str, param: str, start: Mapping[str, Any], events: list[Mapping[str, Any]],
    censors: list[Mapping[str, Any]], months_divisor: float = 30.4375, cutoff_var: str | None = "DCUTDT",
    adsl: str = "adam.ADSL", adsl_vars: list[str] | None = None, subject_condition: str | None = None,
) -> pd.DataFrame:
    """Add one time-to-event parameter (one record per subject) from spec'd event and censor sources.

    ``start``: a source giving STARTDT (subjects without one get no record);
    ``events`` / ``censors``: lists of sources (keys: dataset, date, condition,
    evntdesc / cnsdtdsc, srcdom, srcvar, srcseq, select, censor, preempts,
    priority, after_cutoff). The cutoff is ADSL ``cutoff_var`` or the study's.
    """
    start_src = create_date_source(start, kind="start")
    event_srcs = [create_date_source(e, kind="event", position=i) for i, e in enumerate(events)]
    censor_srcs = [create_date_source(c, kind="censor", position=i) for i, c in enumerate(censors)]
    adsl_df = _source(sources, adsl)
    subjects = adsl_df
    if subject_condition:
        subjects = adsl_df[parse_expression(subject_condition).mask(adsl_df)]
    starts = compute_source_dates(_source(sources, start_src.dataset), start_src)
    starts = starts[starts["USUBJID"].isin(subjects["USUBJID"].astype(str))]
    starts = starts.rename(columns={"DATE": "STARTDT"})[["USUBJID", "STARTDT"]]
    cut = adsl_df.set_index(adsl_df["USUBJID"].astype(str))
    if cutoff_var:
        if cutoff_var not in cut.columns:
            raise DerivationError(f"column {cutoff_var} is missing", dataset=adsl.split(".")[-1], variable=cutoff_var)
        starts["CUTOFF"] = compute_iso_date(cut[cutoff_var]).reindex(starts["USUBJID"]).values
    elif study is not None and getattr(study, "cutoff", None) is not None:
        starts["CUTOFF"] = pd.Timestamp(study.cutoff)
    records = create_tte_records(
        starts,
        [(s, compute_source_dates(_source(sources, s.dataset), s)) for s in event_srcs],
        [(s, compute_source_dates(_source(sources, s.dataset), s)) for s in censor_srcs],
        paramcd=paramcd, param=param, months_divisor=months_divisor,
    )
    keep = [v for v in dict.fromkeys(["STUDYID", *(adsl_vars or [])]) if v not in records.columns]
    missing = [v for v in keep if v not in cut.columns]
    if missing:
        raise DerivationError(f"column {missing[0]} is missing", dataset=adsl.split(".")[-1], variable=missing[0])
    extra = cut[keep].reindex(records["USUBJID"]).reset_index(drop=True)
    records = pd.concat([extra, records], axis=1)
    if dataset is None or dataset.empty:
        return records
    return pd.concat([dataset, records], ignore_index=True)


def _source(sources: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    try:
        return sources[name]
    except KeyError:
        raise DerivationError(f"input {name} is not available", dataset=name.split(".")[-1],
                              hint=f"list {name} under 'inputs' in the spec") from None
