"""ADaM stage: the engine that runs one resolved ADaM spec on its input datasets.

``build_dataset`` runs the steps in order (docs/adam_engine.md), then
``finalize_dataset`` checks declared variables and types, keeps and orders
the declared variables, drops records of subjects not in ADSL (finding),
refuses duplicate keys and sorts. ``compute_lineage`` turns the ``_SRC``
column (or SRCDOM/SRCSEQ) into per-record lineage. No file I/O here except
``read_sdtm``; writing is in ``run.py``.
"""

from __future__ import annotations

import inspect
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, TypeVar

import numpy as np
import pandas as pd

from tlfgen.errors import DataError, DerivationError, ExpressionError
from tlfgen.frames import renumber
from tlfgen.io.metadata import DatasetMetadata, MethodMetadata, ValueLevelMetadata, VariableMetadata
from tlfgen.results import Finding
from tlfgen.spec.adam import ResolvedAdamSpec, ResolvedStep
from tlfgen.spec.base import closest

if TYPE_CHECKING:
    from tlfgen.spec.inputs import ColumnNeeds

SRC = "_SRC"
FINDINGS = "findings"
ENGINE_CONTEXT = ("dataset", "sources", "study")
_T = TypeVar("_T")
#: results shared by the steps of one ``build_dataset`` call (None outside one)
_STEP_CACHE: ContextVar[dict[tuple, tuple[tuple, Any]] | None] = ContextVar("tlfgen_adam_step_cache", default=None)


@dataclass
class BuiltDataset:
    name: str
    data: pd.DataFrame
    metadata: DatasetMetadata
    lineage: list[dict[str, Any]]
    findings: list[Finding] = field(default_factory=list)
    rows_in: int = 0  # records the steps produced, before subjects not in ADSL were dropped


# ---------------------------------------------------------------- shared results

@contextmanager
def step_cache() -> Iterator[None]:
    """Scope in which ``compute_cached`` keeps results (the engine opens one per dataset)."""
    token = _STEP_CACHE.set({})
    try:
        yield
    finally:
        _STEP_CACHE.reset(token)


def compute_cached(name: str, inputs: tuple[Any, ...], params: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
    """``compute()``, computed once per ``step_cache`` scope for the same input objects and params.

    ``inputs`` are compared by identity (the engine never mutates its sources), ``params``
    by value. Outside a scope (unit tests, direct calls) it simply calls ``compute``. The
    result is shared: callers must not mutate it.
    """
    cache = _STEP_CACHE.get()
    if cache is None:
        return compute()
    key = (name, tuple(id(x) for x in inputs), params)
    hit = cache.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], inputs)):
        return hit[1]
    value = compute()
    cache[key] = (inputs, value)  # holding the inputs keeps their ids from being reused
    return value


# ---------------------------------------------------------------- inputs

def _blank_to_nan(value: Any) -> Any:
    return np.nan if isinstance(value, str) and not value.strip() else value


def compute_blank_as_missing(series: pd.Series) -> pd.Series:
    """Text that is empty or only blanks becomes NaN (as ``series.map`` of that rule would return it).

    Looked at once per distinct value (a set: the hashes strings keep), never per cell: a column
    of plain strings without blanks is returned as it is; one left with nothing but NaN is
    float64, as ``map`` infers it; when some text stays, the column stays object, with the blank
    cells set to NaN and every other value untouched (``map``'s result too, None and numbers
    included). Only columns where no text stays (``map`` may then infer numbers), with unhashable
    values or with str subclasses go through ``map``.
    """
    values = series.to_numpy(dtype=object)
    try:
        distinct = set(values)
    except TypeError:  # unhashable values (lists)
        return series.map(_blank_to_nan)
    if any(isinstance(u, str) and type(u) is not str for u in distinct):  # str subclasses (numpy.str_)
        return series.map(_blank_to_nan)
    texts = [u for u in distinct if type(u) is str]
    blanks = [u for u in texts if not u.strip()]
    if len(texts) == len(distinct):
        if not blanks:
            return series
        if len(blanks) == len(distinct):
            return pd.Series(np.nan, index=series.index, dtype=float, name=series.name)
    elif len(blanks) == len(texts):  # no text stays: let map infer the type of what is left
        return series.map(_blank_to_nan)
    if not blanks:
        return series
    out = values.copy()
    out[compute_equal_any(values, blanks)] = np.nan
    return pd.Series(out, index=series.index, dtype=object, name=series.name)


def compute_equal_any(values: np.ndarray, texts: list[str]) -> np.ndarray:
    """Where ``values`` (an object array) equals one of ``texts``, as a bool array."""
    mask = np.zeros(len(values), dtype=bool)
    for text in texts:
        mask |= values == text
    return mask


#: row pushdown only for files at least this large: below it, reading the filter columns first costs
#: more than decoding every record (CDISC pilot x20: MH 7 MB, 0.15 s with, 0.11 s without; LB 300 MB
#: filtered to 6%: 1.1-1.5 s with, 1.8-2.9 s without)
ROW_PUSHDOWN_MIN_BYTES = 16 << 20

#: frames ``read_sdtm`` returned with only some records (row pushdown), by id, with a reference to each
_ROW_SUBSETS: dict[int, "weakref.ref[pd.DataFrame]"] = {}


def is_row_subset(frame: pd.DataFrame | None) -> bool:
    """Whether ``frame`` is a ``read_sdtm`` result holding only the records the specs read (row
    pushdown): a consumer that needs every record of the file (supplied lineage) reads it again."""
    ref = _ROW_SUBSETS.get(id(frame)) if frame is not None else None
    return ref is not None and ref() is frame


def _mark_row_subset(frame: pd.DataFrame) -> None:
    key = id(frame)
    _ROW_SUBSETS[key] = weakref.ref(frame, lambda _ref: _ROW_SUBSETS.pop(key, None))


def _blank_as_missing_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``compute_blank_as_missing`` applied to each text column (in place; returned)."""
    for col in df.columns:
        series = df[col]
        if series.dtype == object:
            done = compute_blank_as_missing(series)
            if done is not series:  # a column without blanks is kept as it is, not set again
                df[col] = done
    return df


def _read_rows(path: Path, columns: "ColumnNeeds") -> pd.DataFrame | None:
    """The records of ``path`` that ``columns.rows`` keeps, blanks as missing, exactly as those
    records of the whole read (``_blank_as_missing_frame`` of every record) would be; None when
    the filter cannot be applied (a filter column missing, a condition that raises)."""
    from tlfgen.io.datasets import read_dataset_file

    rows = columns.rows
    assert rows is not None
    picked: list[np.ndarray] = []

    def select(frame: pd.DataFrame) -> np.ndarray:
        try:
            positions = rows.compute_positions(_blank_as_missing_frame(frame.copy(deep=False)))
        except (ExpressionError, DataError, TypeError, ValueError):
            positions = np.arange(len(frame))
        picked.append(positions)
        return positions

    df = read_dataset_file(path, columns, select_rows=select, rows_from=sorted(rows.columns))
    if not picked:
        return None
    df = _blank_as_missing_frame(df)
    # a text column with no text left in the kept records: its type is decided by every record
    # (all blank in the file -> float NaN, as compute_blank_as_missing gives it), so read it whole
    unsure = [c for c in df.columns if not len(df) or (df[c].dtype == np.float64 and df[c].isna().all())]
    if unsure:
        whole = _blank_as_missing_frame(read_dataset_file(path, set(unsure)))
        for col in unsure:
            if whole[col].dtype != df[col].dtype:
                df[col] = whole[col].iloc[picked[0]].reset_index(drop=True)
    return df


def read_sdtm(folder: Path, domain: str, columns: "ColumnNeeds | None" = None) -> pd.DataFrame:
    """Read SDTM dataset ``domain`` of ``folder``: text stays text (ISO dates too); empty text is missing.

    The file is ``<domain>.xpt``, else the Dataset-JSON ``<domain>.json`` (``io.datasets``).
    ``columns`` (``spec.inputs.compute_input_columns``): only the columns the specs read; every column when a
    declared one is not in the file (the step then names it with the file's own columns); with
    ``columns.rows``, only the records the specs' conditions keep (``is_row_subset`` is then true)
    when the file has at least ``ROW_PUSHDOWN_MIN_BYTES``.
    """
    from tlfgen.io.datasets import find_dataset, read_dataset_file

    path = find_dataset(folder, domain)
    if path is None:
        raise DataError(f"SDTM dataset {domain} not found", file=folder / f"{domain.lower()}.xpt",
                        hint=f"run `tlfgen sdtm` first, supply {domain.lower()}.xpt or the Dataset-JSON "
                        f"{domain.lower()}.json, or remove it from the ADaM spec's inputs")
    if columns is not None and columns.rows is not None and path.stat().st_size >= ROW_PUSHDOWN_MIN_BYTES:
        subset = _read_rows(path, columns)
        if subset is not None and not columns.lacks_required(subset.columns):
            _mark_row_subset(subset)
            return subset
    df = read_dataset_file(path, columns)
    if columns is not None and columns.lacks_required(df.columns):
        df = read_dataset_file(path)
    return _blank_as_missing_frame(df)


# ---------------------------------------------------------------- steps

def check_step_inputs(ds: ResolvedAdamSpec, step: ResolvedStep, dataset: pd.DataFrame | None,
                      sources: Mapping[str, pd.DataFrame]) -> None:
    """Every variable a step requires must exist in the data before it runs."""
    for req in step.requires:
        parts = req.split(".")
        if len(parts) == 3:
            frame = sources.get(f"{parts[0]}.{parts[1]}")
            where, var = f"{parts[0]}.{parts[1]}", parts[2]
        else:
            frame, where, var = dataset, ds.name, req
        if frame is None or var in frame.columns:
            continue
        near = closest(var, frame.columns)
        raise DerivationError(
            f"step '{step.spec.id}' ({step.spec.derive}) needs {where}.{var}, which the data does not have",
            dataset=ds.name, variable=var, location=step.location,
            hint=("did you mean " + " or ".join(near) + "? " if near else "")
            + f"check the {where} dataset or the spec",
        )


def run_step(ds: ResolvedAdamSpec, step: ResolvedStep, dataset: pd.DataFrame | None,
             sources: Mapping[str, pd.DataFrame], study: Any) -> pd.DataFrame:
    check_step_inputs(ds, step, dataset, sources)
    func = step.derivation.func
    context = {"dataset": dataset, "sources": sources, "study": study}
    params = inspect.signature(func).parameters
    call = {k: v for k, v in context.items() if k in params and k not in step.derivation.parameters}
    try:
        result = func(**call, **step.spec.args)
    except DerivationError as exc:
        exc.location = exc.location or step.location
        exc.dataset = exc.dataset if exc.dataset and "." in exc.dataset else ds.name
        raise
    except ExpressionError as exc:
        if exc.location is None or exc.location.file is None:
            exc.location = step.location
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise DerivationError(
            f"step '{step.spec.id}' ({step.spec.derive}) failed: {type(exc).__name__}: {exc}",
            dataset=ds.name, location=step.location,
            hint="check the step's arguments and the input data",
        ) from exc
    if not isinstance(result, pd.DataFrame):
        raise DerivationError(f"step '{step.spec.id}' ({step.spec.derive}) returned {type(result).__name__}, "
                              "not a DataFrame", dataset=ds.name, location=step.location)
    missing = [v for v in step.produces if v not in result.columns]
    if missing:
        raise DerivationError(f"step '{step.spec.id}' ({step.spec.derive}) did not produce {missing[0]}",
                              dataset=ds.name, variable=missing[0], location=step.location)
    return renumber(result)


def build_dataset(ds: ResolvedAdamSpec, sources: Mapping[str, pd.DataFrame], study: Any
                  ) -> tuple[pd.DataFrame, list[Finding]]:
    """Run every step of ``ds`` (already in dependency order); returns the raw result and findings.

    A step may report findings in ``result.attrs["findings"]``; the engine takes them
    after each step (and clears them, so the next step starts empty).
    """
    data: pd.DataFrame | None = None
    findings: list[Finding] = []
    with step_cache():
        for step in ds.steps:
            data = run_step(ds, step, data, sources, study)
            findings.extend(data.attrs.pop(FINDINGS, []) or [])
    assert data is not None  # the spec model requires at least one step
    return data, findings


# ---------------------------------------------------------------- finalize

def coerce_type(series: pd.Series, var_type: str) -> pd.Series | None:
    """The column in its declared type, or None when it holds something else."""
    values = series.dropna()
    if var_type == "text":
        if len(values) == 0 or pd.api.types.infer_dtype(values, skipna=False) == "string":  # every value a str
            return series.astype(object).where(series.notna(), None)
        return None
    if var_type in ("integer", "float"):
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            return None
        if len(values) and not pd.api.types.is_numeric_dtype(values):
            return None
        num = pd.to_numeric(series, errors="coerce").astype(float)
        if var_type == "integer" and not np.all(np.equal(np.mod(num.dropna(), 1), 0)):
            return None
        return num
    if var_type in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(series):
            return series.astype("datetime64[ns]")
        if len(values) == 0:
            return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
        return None
    return series  # pragma: no cover - the spec model restricts types


def _describe(series: pd.Series) -> str:
    values = series.dropna()
    sample = repr(values.iloc[0]) if len(values) else "nothing"
    return f"{series.dtype} (e.g. {sample})"


def finalize_dataset(ds: ResolvedAdamSpec, data: pd.DataFrame,
                     adsl_subjects: set[str] | None) -> tuple[pd.DataFrame, list[Finding]]:
    """Check types, keep declared variables in order, drop non-ADSL subjects, check keys, sort."""
    findings: list[Finding] = []
    out = {}
    for var in ds.spec.variables:
        loc = ds.variable_location(var.name)
        if var.name not in data.columns:  # pragma: no cover - run_step checks produces
            raise DerivationError("declared variable was not derived", dataset=ds.name, variable=var.name,
                                  location=loc)
        coerced = coerce_type(data[var.name], var.type)
        if coerced is None:
            raise DerivationError(
                f"declared type is {var.type} but the derivation produced {_describe(data[var.name])}",
                dataset=ds.name, variable=var.name, location=loc,
                hint="fix the derivation or the declared type",
            )
        out[var.name] = coerced.reset_index(drop=True)
    result = pd.DataFrame(out)
    if SRC in data.columns:
        result[SRC] = data[SRC].reset_index(drop=True)
    if adsl_subjects is not None and "USUBJID" in result.columns:
        stray = ~result["USUBJID"].isin(adsl_subjects)
        for usubjid in sorted(set(result.loc[stray, "USUBJID"])):
            findings.append(Finding(
                "ERROR", "ADAM-SUBJ-NOT-IN-ADSL",
                f"{int((result['USUBJID'] == usubjid).sum())} {ds.name} record(s) of a subject not in ADSL; dropped",
                file=f"adam/{ds.name.lower()}.xpt", usubjid=str(usubjid), domain=ds.name, column="USUBJID",
                action="dropped",
            ))
        result = result[~stray]
    keys = list(ds.spec.keys)
    dup = result[result.duplicated(keys, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise DerivationError(
            f"{len(dup)} records share the keys " + ", ".join(f"{k}={first[k]}" for k in keys),
            dataset=ds.name, usubjid=str(first["USUBJID"]) if "USUBJID" in keys else None,
            location=ds.source.location(("keys",)),
            hint="add a key variable to the spec, or fix the step that creates the duplicates",
        )
    result = result.sort_values(keys, kind="mergesort", na_position="first").reset_index(drop=True)
    return result, findings


# ---------------------------------------------------------------- lineage and metadata

def _json_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _json_column(series: pd.Series) -> list[Any]:
    """``_json_value`` of every value of a column (text and float columns without a call per value)."""
    if series.dtype == np.float64:
        return [None if v != v else (int(v) if v.is_integer() else v) for v in series.tolist()]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "M":  # Timestamp.strftime, per distinct date
        codes, uniques = pd.factorize(series)
        text = [None] + [d.strftime("%Y-%m-%d") for d in uniques]
        return [text[c + 1] for c in codes.tolist()]
    values = series.tolist()
    if series.dtype == object:
        return [v if type(v) is str else _json_value(v) for v in values]
    return [_json_value(v) for v in values]


def _add_seq(seqs: set[int], seq: Any) -> None:
    if type(seq) is int:
        seqs.add(seq)
    elif seq is not None and not pd.isna(seq):
        seqs.add(int(seq))


def _seq_column(series: pd.Series) -> list[int | None]:
    """SRCSEQ values as int, None where missing (float columns without a call per value)."""
    if series.dtype == np.float64:
        return [None if v != v else int(v) for v in series.tolist()]
    return [None if pd.isna(v) else int(v) for v in series.tolist()]


def compute_lineage(ds: ResolvedAdamSpec, data: pd.DataFrame) -> list[dict[str, Any]]:
    """Per record: its key values and the SDTM records used, grouped by domain (seq sorted)."""
    keys = list(ds.spec.keys)
    n = len(data)
    # plain lists once (same boxed values as .iloc[i]): no pandas indexing per record
    src = data[SRC].tolist() if SRC in data.columns else [None] * n
    srcdom = data["SRCDOM"].tolist() if "SRCDOM" in data.columns else [None] * n
    srcseq = _seq_column(data["SRCSEQ"]) if "SRCSEQ" in data.columns else [None] * n
    key_values = [_json_column(data[k]) for k in keys]
    key_rows = zip(*key_values) if keys else ((),) * n
    return [{"key": dict(zip(keys, key_row)), "sources": compute_record_sources(cell, dom, seq)}
            for cell, dom, seq, key_row in zip(src, srcdom, srcseq, key_rows)]


def compute_record_sources(cell: Any, dom: Any, seq: int | None) -> list[dict[str, Any]]:
    """The ``sources`` of one lineage record: its ``_SRC`` pairs (domain, seq) and its SRCDOM / SRCSEQ
    (``seq``: int or None), as ``[{"domain": d, "seq": [sorted ints]}]`` sorted by domain."""
    # the usual records first, without the grouping below: one _SRC pair that SRCDOM/SRCSEQ repeat
    # or do not name, or SRCDOM/SRCSEQ alone
    if type(cell) is list and len(cell) == 1:
        domain, pair_seq = cell[0]
        if (type(domain) is str and type(pair_seq) is int
                and (not isinstance(dom, str) or (dom == domain and (seq is None or seq == pair_seq)))):
            return [{"domain": domain, "seq": [pair_seq]}]
    elif not isinstance(cell, list) and isinstance(dom, str):
        return [{"domain": dom, "seq": [] if seq is None else [seq]}]
    by_domain: dict[str, set[int]] = {}
    if isinstance(cell, list):
        for domain, pair_seq in cell:
            seqs = by_domain.setdefault(domain if type(domain) is str else str(domain), set())
            if type(pair_seq) is int:
                seqs.add(pair_seq)
            else:
                _add_seq(seqs, pair_seq)
    if isinstance(dom, str):
        _add_seq(by_domain.setdefault(dom, set()), seq)
    return [{"domain": d, "seq": sorted(s)} for d, s in sorted(by_domain.items())]


def _method(ds: str, name: str, text: str | None, where: str = "") -> MethodMetadata | None:
    if not text:
        return None
    oid = f"MT.{ds}.{name}" + (f".{where}" if where else "")
    return MethodMetadata(oid=oid, name=f"Algorithm for {ds}.{name}" + (f" ({where})" if where else ""),
                          description=text)


def build_metadata(ds: ResolvedAdamSpec) -> DatasetMetadata:
    """The neutral metadata the writers read, from the spec."""
    spec = ds.spec
    variables = tuple(
        VariableMetadata(
            name=v.name, label=v.label, data_type=v.type, length=v.length, origin=v.origin,
            source=v.source, method=_method(spec.dataset, v.name, v.method), comment=v.comment,
            mandatory=v.name in spec.keys, display_format="DATE9." if v.type == "date" else None,
            spec_file=ds.source.display, spec_line=ds.variable_location(v.name).line,
        ) for v in spec.variables
    )
    value_level = tuple(
        ValueLevelMetadata(
            variable=vl.variable, where_variable=next(iter(vl.where)), where_value=next(iter(vl.where.values())),
            label=vl.label, data_type=vl.type, origin=vl.origin,
            method=_method(spec.dataset, vl.variable, vl.method, next(iter(vl.where.values()))),
        ) for vl in spec.value_level
    )
    return DatasetMetadata(
        name=spec.dataset, label=spec.label, structure=spec.structure, class_=spec.class_,
        keys=tuple(spec.keys), variables=variables, value_level=value_level, standard="ADaMIG 1.3",
        spec_file=ds.source.display,
    )


def run_dataset(ds: ResolvedAdamSpec, sources: Mapping[str, pd.DataFrame], study: Any) -> BuiltDataset:
    """Build, finalize and describe one ADaM dataset (no files written)."""
    raw, step_findings = build_dataset(ds, sources, study)
    adsl = sources.get("adam.ADSL") if ds.name != "ADSL" else None
    subjects = set(adsl["USUBJID"]) if adsl is not None and "USUBJID" in adsl.columns else None
    data, findings = finalize_dataset(ds, raw, subjects)
    findings = step_findings + findings
    lineage = compute_lineage(ds, data)
    data = data.drop(columns=[SRC], errors="ignore")
    return BuiltDataset(ds.name, data, build_metadata(ds), lineage, findings, rows_in=len(raw))
