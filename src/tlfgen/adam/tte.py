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
5. otherwise, ``censor_rule: latest`` (the default, admiral's ``derive_param_tte``): the
   latest censoring date over the censor sources; a tie goes to the source listed last
   (``censor_ties: last_listed``, admiral's order of the combined sources) or first
   (``first_listed``). ``censor_rule: priority``: the censor source with the lowest
   ``priority`` (default: list order) that has a date.

AVAL = ADT - STARTDT + 1 (days); AVALM = AVAL / ``months_divisor``, by default the
study's ``days_per_month`` (specs/study.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import NotRequired, TypedDict

from tlfgen.adam.columns import compute_taken
from tlfgen.errors import DerivationError, SpecError
from tlfgen.registry import derivation
from tlfgen.spec.expr import parse_expression

TTE_COLUMNS = ("USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALM", "CNSR", "EVNTDESC",
               "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ")
_Text = Annotated[str, StringConstraints(min_length=1)]


@with_config(ConfigDict(extra="forbid", strict=True))
class StartSource(TypedDict):
    """A ``start`` entry of ``derive_param_tte``: where STARTDT comes from."""

    dataset: _Text
    date: _Text
    condition: NotRequired[str | None]
    srcdom: NotRequired[str | None]
    srcvar: NotRequired[str | None]
    srcseq: NotRequired[str | None]
    select: NotRequired[Literal["first", "last"]]
    priority: NotRequired[int]


@with_config(ConfigDict(extra="forbid", strict=True))
class EventSource(StartSource):
    """An ``events`` entry: an event date (events after the cutoff are always ignored)."""

    evntdesc: _Text


@with_config(ConfigDict(extra="forbid", strict=True))
class CensorSource(StartSource):
    """A ``censors`` entry: a censoring date, its CNSR value and how it competes with events."""

    cnsdtdsc: _Text
    evntdesc: NotRequired[str | None]
    censor: NotRequired[int]
    preempts: NotRequired[bool]
    trigger_date: NotRequired[str | None]
    after_cutoff: NotRequired[Literal["ignore", "cap"]]


_SOURCE_MODELS = {"start": StartSource, "event": EventSource, "censor": CensorSource}
#: keys only a censor source may have
_CENSOR_ONLY = ("preempts", "trigger_date", "censor", "after_cutoff")


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
    _check_source(entry, kind, position)
    desc = entry.get("evntdesc") if kind == "event" else entry.get("cnsdtdsc")
    select = entry.get("select", "last" if kind == "censor" else "first")
    after = entry.get("after_cutoff", "ignore")
    return DateSource(
        dataset=str(entry["dataset"]), date=str(entry["date"]), condition=entry.get("condition"),
        description=desc, evntdesc=entry.get("evntdesc") if kind == "censor" else None,
        srcdom=entry.get("srcdom"), srcvar=entry.get("srcvar"), srcseq=entry.get("srcseq"), select=select,
        censor=int(entry.get("censor", 1)), preempts=bool(entry.get("preempts", False)),
        trigger_date=entry.get("trigger_date"),
        priority=int(entry.get("priority", position)), after_cutoff=after,
    )


def _check_source(entry: Any, kind: str, position: int) -> None:
    """Validate one source through its typed model (``StartSource``, ``EventSource``, ``CensorSource``).

    A spec's sources are already checked with file:line by the registry's arguments model;
    this covers direct calls.
    """
    from tlfgen.spec.base import closest

    model = _SOURCE_MODELS.get(kind, StartSource)
    try:
        TypeAdapter(model).validate_python(entry)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        what = f"{kind} source {position + 1}"
        if err["type"] == "extra_forbidden" and kind == "event" and key in _CENSOR_ONLY:
            raise SpecError(f"{what}: {', '.join(_CENSOR_ONLY[:2])}, censor and after_cutoff are for censor "
                            "sources", hint="events after the cutoff are always ignored") from None
        if err["type"] == "extra_forbidden":
            keys = list(model.__annotations__)
            near = closest(key, keys)
            raise SpecError(f"{what} has unknown key '{key}'",
                            hint=("did you mean " + " or ".join(near) + "?") if near else
                            "keys: " + ", ".join(keys)) from None
        if err["type"] == "missing":
            raise SpecError(f"{what} needs '{key}'") from None
        raise SpecError(f"{what}: {key or 'entry'}: {err['msg']}") from None


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


def compute_datetime_array(values: pd.Series) -> np.ndarray:
    """``pd.to_datetime(values)`` as a datetime64[ns] array (a datetime64 column is taken as it is)."""
    if not isinstance(values.dtype, np.dtype) or values.dtype.kind != "M":
        values = pd.to_datetime(values)
    return values.to_numpy(dtype="datetime64[ns]")


def compute_aligned_dates(dates: pd.DataFrame, usubjids: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dates`` (a ``compute_source_dates`` result) lined up with ``usubjids``: (DATE, SRCSEQ, TRIGGER).

    datetime64[ns] / float64 arrays, NaT / NaN for a subject without a row (or without a date);
    TRIGGER is DATE when the frame has none. A subject listed twice takes its last row.
    """
    dates = dates.drop_duplicates("USUBJID", keep="last")
    when = compute_datetime_array(dates["DATE"])
    trigger = compute_datetime_array(dates["TRIGGER"]) if "TRIGGER" in dates else when
    seq = pd.to_numeric(dates["SRCSEQ"], errors="coerce").to_numpy(dtype=np.float64)
    positions = pd.Index(dates["USUBJID"].tolist(), dtype=object).get_indexer(pd.Index(usubjids, dtype=object))
    return compute_taken(when, positions), compute_taken(seq, positions), compute_taken(trigger, positions)


def compute_tte_choice(cutoff: np.ndarray, events: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                       censors: Sequence[tuple[DateSource, tuple[np.ndarray, np.ndarray, np.ndarray]]],
                       censor_rule: str = "latest", censor_ties: str = "last_listed",
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per subject, the chosen record (contracts.md section 4, see the module docstring).

    ``cutoff``: datetime64[ns] per subject (NaT: none); ``events``: aligned (DATE, SRCSEQ, TRIGGER)
    per event source in list order; ``censors``: (source, aligned arrays) in priority order.
    Returns (choice, ADT, SRCSEQ): choice is the event source's position, or ``len(events)`` plus
    the censor source's position, or -1 when nothing qualifies.
    """
    n = len(cutoff)
    has_cut = ~np.isnat(cutoff)
    choice = np.full(n, -1, dtype=np.int64)
    when = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    seq = np.full(n, np.nan)
    for k, (date, date_seq, _) in enumerate(events):
        ok = ~np.isnat(date) & ~(has_cut & (date > cutoff))
        better = ok & ((choice < 0) | (date < when))
        choice[better], when[better], seq[better] = k, date[better], date_seq[better]
    event_when = when.copy()
    no_event = choice < 0
    preempt = np.full(n, -1, dtype=np.int64)
    pre_when = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    ordinary = np.full(n, -1, dtype=np.int64)
    capped = []
    for k, (src, (date, _, trigger)) in enumerate(censors):
        after = has_cut & (date > cutoff)
        present = ~np.isnat(date)
        if src.after_cutoff == "ignore":
            present &= ~after
        date = np.where(after, cutoff, date)
        capped.append(date)
        if src.preempts:
            no_trigger = np.isnat(trigger)
            ok = present & (no_trigger | ~has_cut | (trigger <= cutoff)) & (
                no_event | (np.where(no_trigger, date, trigger) < event_when))
            better = ok & ((preempt < 0) | (date < pre_when))
            preempt[better], pre_when[better] = k, date[better]
        elif censor_rule == "priority":
            ordinary[present & (ordinary < 0)] = k
        else:  # latest date; ties: the source listed last (or first)
            best = _chosen_dates(capped, ordinary)
            later = (date > best) | ((date == best) & (censor_ties == "last_listed"))
            ordinary[present & ((ordinary < 0) | later)] = k
    censor = np.where(preempt >= 0, preempt, np.where(no_event, ordinary, -1))
    for k, (date, (_, (_, date_seq, _))) in enumerate(zip(capped, censors)):
        rows = censor == k
        choice[rows], when[rows], seq[rows] = len(events) + k, date[rows], date_seq[rows]
    return choice, when, seq


def _chosen_dates(capped: list[np.ndarray], chosen: np.ndarray) -> np.ndarray:
    """Per subject, the date of the censor source ``chosen`` (NaT where none is chosen yet)."""
    out = np.full(len(chosen), np.datetime64("NaT"), dtype="datetime64[ns]")
    for k, dates in enumerate(capped):
        rows = chosen == k
        out[rows] = dates[rows]
    return out


def create_tte_records(
    starts: pd.DataFrame, events: Sequence[tuple[DateSource, pd.DataFrame]],
    censors: Sequence[tuple[DateSource, pd.DataFrame]], *, paramcd: str, param: str,
    months_divisor: float = 30.4375, censor_rule: str = "latest", censor_ties: str = "last_listed",
) -> pd.DataFrame:
    """One time-to-event record per subject of ``starts`` (columns USUBJID, STARTDT, optional CUTOFF).

    ``events`` / ``censors``: each source with its ``compute_source_dates`` result.
    Raises ``DerivationError`` when no censor source gives a date or ADT < STARTDT.
    """
    if months_divisor <= 0:
        raise DerivationError(f"months_divisor is {months_divisor}", dataset="ADTTE", variable="AVALM",
                              hint="use 30.4375 (days per month)")
    order = starts.sort_values("USUBJID")
    if order.empty:
        return create_empty_tte_records()
    usubjids = order["USUBJID"].astype(str).tolist()
    start = compute_datetime_array(order["STARTDT"])
    cutoff = (compute_datetime_array(order["CUTOFF"]) if "CUTOFF" in order
              else np.full(len(order), np.datetime64("NaT"), dtype="datetime64[ns]"))
    ranked = sorted(censors, key=lambda x: x[0].priority)
    choice, when, seq = compute_tte_choice(
        cutoff, [compute_aligned_dates(d, usubjids) for _, d in events],
        [(src, compute_aligned_dates(d, usubjids)) for src, d in ranked], censor_rule, censor_ties)
    sources = [src for src, _ in events] + [src for src, _ in ranked]
    check_tte_records(usubjids, choice, when, start, sources, paramcd)
    is_event = choice < len(events)
    aval = ((when - start) // np.timedelta64(1, "D")).astype(np.int64) + 1

    def pick(values: list) -> np.ndarray:  # one value per source -> the chosen source's, per subject
        return np.asarray(values, dtype=object)[choice]

    return pd.DataFrame({
        "USUBJID": np.asarray(usubjids, dtype=object), "PARAMCD": paramcd, "PARAM": param,
        "STARTDT": start, "ADT": when, "AVAL": aval, "AVALM": aval / months_divisor,
        "CNSR": np.where(is_event, 0, pick([s.censor for s in sources]).astype(np.int64)),
        "EVNTDESC": np.where(is_event, pick([s.description for s in sources]),
                             pick([s.evntdesc or s.description for s in sources])),
        "CNSDTDSC": np.where(is_event, None, pick([s.description for s in sources])),
        "SRCDOM": pick([s.domain for s in sources]), "SRCVAR": pick([s.srcvar or s.date for s in sources]),
        "SRCSEQ": pd.array(np.trunc(seq), dtype="Int64"),
    }, columns=list(TTE_COLUMNS))


def create_empty_tte_records() -> pd.DataFrame:
    """The ADTTE records of no subject (the columns and dtypes of the records built one by one)."""
    out = pd.DataFrame([], columns=list(TTE_COLUMNS))
    return out.astype({"AVAL": "int64", "CNSR": "int64", "SRCSEQ": "Int64"})


def check_tte_records(usubjids: Sequence[str], choice: np.ndarray, when: np.ndarray, start: np.ndarray,
                      sources: Sequence[DateSource], paramcd: str) -> None:
    """Raise for the first subject (in ``usubjids`` order) without a record, without STARTDT or with ADT
    before STARTDT."""
    bad = (choice < 0) | (when < start) | np.isnat(start)
    if not bad.any():
        return
    i = int(np.argmax(bad))
    usubjid = usubjids[i]
    if choice[i] < 0:
        raise DerivationError(f"no event and no censoring date for {paramcd}", dataset="ADTTE",
                              variable="ADT", usubjid=usubjid,
                              hint="add a last-resort censor source, e.g. the start date")
    if np.isnat(start[i]):  # derive_param_tte gives none (subjects without a start date get no record)
        raise DerivationError(f"{paramcd}: STARTDT is missing", dataset="ADTTE", variable="STARTDT",
                              usubjid=usubjid, hint="give every subject of the start rows a start date")
    src, day, first = sources[choice[i]], pd.Timestamp(when[i]), pd.Timestamp(start[i])
    raise DerivationError(
        f"{paramcd} date {day:%Y-%m-%d} ({src.dataset}.{src.date}) is before STARTDT {first:%Y-%m-%d}",
        dataset="ADTTE", variable="ADT", usubjid=usubjid,
        hint="check the source dates or restrict the source with a condition")


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
    paramcd: str, param: str, start: StartSource, events: list[EventSource],
    censors: list[CensorSource], months_divisor: float | None = None, cutoff_var: str | None = "DCUTDT",
    adsl: str = "adam.ADSL", adsl_vars: list[str] | None = None, subject_condition: str | None = None,
    censor_rule: Literal["latest", "priority"] = "latest",
    censor_ties: Literal["last_listed", "first_listed"] = "last_listed",
) -> pd.DataFrame:
    """Add one time-to-event parameter (one record per subject) from spec'd event and censor sources.

    ``start``: a source giving STARTDT (subjects without one get no record);
    ``events`` / ``censors``: lists of sources (keys: dataset, date, condition,
    evntdesc / cnsdtdsc, srcdom, srcvar, srcseq, select, censor, preempts,
    priority, after_cutoff). The cutoff is ADSL ``cutoff_var`` or the study's.
    Event: the earliest event date (ties: the source listed first); without an event,
    ``censor_rule`` latest (admiral's): the latest censoring date, ties by ``censor_ties``;
    priority: the first censor source (by ``priority``) with a date.
    ``months_divisor`` (AVALM = AVAL / it): the study's ``days_per_month`` unless given.
    """
    if censor_rule not in ("latest", "priority") or censor_ties not in ("last_listed", "first_listed"):
        raise DerivationError(f"censor_rule must be latest or priority and censor_ties last_listed or "
                              f"first_listed, not {censor_rule!r} / {censor_ties!r}", dataset="ADTTE")
    if months_divisor is None:
        months_divisor = float(getattr(study, "days_per_month", None) or 30.4375)
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
        paramcd=paramcd, param=param, months_divisor=months_divisor, censor_rule=censor_rule,
        censor_ties=censor_ties,
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
