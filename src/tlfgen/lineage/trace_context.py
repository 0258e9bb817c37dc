"""Lineage layer: ``TraceContext``, what a trace loads once (specs, ADaM/SDTM data, lineage files,
the variable graph), and its records one at a time as dicts (``adam_record``, ``sdtm_record``: what
``tlfgen trace`` prints). The explorer page takes the same records column-wise (``record_columns``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import DataError, UsageError
from tlfgen.lineage.graph import RecordIndex, VariableGraph, adam_record_id, build_variable_graph
from tlfgen.spec.base import closest
from tlfgen.spec.study import ResolvedStudy


ADAM_SHOW = ("PARAMCD", "AVALC", "AVAL", "ADT", "STARTDT", "CNSR", "EVNTDESC", "CNSDTDSC", "AVISIT", "ANL01FL",
             "AEDECOD", "ATOXGRN", "TRTEMFL", "AREL", "TRTSDT", "SURGDT", "DTHDT")
SDTM_SHOW = ("TESTCD", "STRESC", "TERM", "DECOD", "TRT", "TOXGR", "DTC", "STDTC")


def _value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plain_values(values: pd.Series) -> list[Any]:
    """``_value`` of every value of a column, whole columns at once for text and numbers."""
    if values.dtype == object:  # text: only missing values change
        found = values.to_numpy(dtype=object, copy=True)
        found[pd.isna(found)] = None
        return found.tolist()
    if values.dtype.kind == "M" and isinstance(values.dtype, np.dtype):
        return _plain_dates(values.to_numpy())
    if values.dtype.kind != "f":
        return [_value(v) for v in values.tolist()]
    numbers = values.to_numpy()
    found = numbers.astype(object)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(numbers) & (np.floor(numbers) == numbers)
    exact = whole & (np.abs(numbers) < 2.0 ** 53)  # whole numbers an int64 holds exactly
    found[exact] = numbers[exact].astype(np.int64).astype(object)
    for i in np.flatnonzero(whole & ~exact).tolist():
        found[i] = int(numbers[i])
    found[np.isnan(numbers)] = None
    return found.tolist()


def _plain_dates(dates: np.ndarray) -> list[Any]:
    """Dates (no time zone) as ``YYYY-MM-DD``, missing as None (what ``_value`` makes of a Timestamp)."""
    missing = np.isnat(dates)
    days = dates.astype("datetime64[D]")
    years = days[~missing].astype("datetime64[Y]").astype(np.int64) + 1970
    if len(years) and (years.min() < 1000 or years.max() > 9999):  # four-digit years only, as strftime writes them
        return [_value(v) for v in pd.Series(dates).tolist()]
    found = days.astype(str).astype(object)
    found[missing] = None
    return found.tolist()


def _unknown(what: str, name: str, valid: list[str]) -> UsageError:
    near = closest(name, valid) or closest(name.upper(), [v.upper() for v in valid])
    hint = ("closest: " + ", ".join(near) + "; " if near else "") + "valid: " + ", ".join(valid[:30])
    return UsageError(f"unknown {what} '{name}'", hint=hint + (" ..." if len(valid) > 30 else ""))


def _read_sdtm_columns(path: Path, wanted: set[str]) -> pd.DataFrame:
    """The ``wanted`` columns of an XPT file that has them, text as str and numbers as float64."""
    from tlfgen.io.xpt_read import read_xpt_columns

    try:
        fast = read_xpt_columns(path, wanted)
    except (OSError, ValueError):
        fast = None  # pyreadstat below says what is wrong with the file
    if fast is not None and len(fast[0].columns):
        return fast[0]
    import pyreadstat

    try:
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        data, _ = pyreadstat.read_xport(str(path), usecols=[c for c in meta.column_names if c in wanted],
                                        disable_datetime_conversion=True)
    except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
        raise DataError(f"cannot read XPT file: {exc}", file=path, hint="run the SDTM stage again") from exc
    return data


@dataclass(frozen=True)
class RawSources:
    """One SDTM domain's record lineage, column-wise: record ``where[id]``'s sources are
    ``starts[k]:starts[k + 1]``; per source its file (index into ``names``), data row and file line."""

    where: dict[str, int]
    starts: np.ndarray
    names: list[str]
    files: np.ndarray
    rows: np.ndarray
    lines: np.ndarray


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)


def _counts_to_starts(counts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(_joined(counts))]).astype(np.int64)


@dataclass
class TraceContext:
    """Loads what a trace needs, once: specs, ADaM/SDTM data, lineage files, the variable graph."""

    study: ResolvedStudy
    _cache: dict[str, Any] = field(default_factory=dict)

    def specs(self, stage: str) -> Any:
        from tlfgen.spec.check import load_stage_specs

        return load_stage_specs(self.study, stage)

    def adam(self, name: str) -> pd.DataFrame:
        key = f"adam.{name}"
        if key not in self._cache:
            from tlfgen.tlf.run import read_adam

            self._cache[key] = read_adam(self.study.adam_dir, [name])[name]
        return self._cache[key]

    def adam_rows(self, name: str) -> pd.DataFrame:
        """``adam(name)`` indexed by row position (0, 1, ...), made once: every cell selects from it
        (do not change it)."""
        key = f"adam_rows.{name}"
        if key not in self._cache:
            self._cache[key] = self.adam(name).reset_index(drop=True)
        return self._cache[key]

    def sdtm(self, domain: str) -> pd.DataFrame | None:
        """The columns of ``sdtm/<domain>.xpt`` a trace shows (keys, --SEQ, VISIT, ``SDTM_SHOW``), as
        ``pyreadstat.read_xport(..., disable_datetime_conversion=True)`` gives them (read column-wise
        by ``io.xpt_read`` when it takes the file)."""
        key = f"sdtm.{domain}"
        if key not in self._cache:
            path = self.study.sdtm_dir / f"{domain.lower()}.xpt"
            wanted = {"USUBJID", "VISIT", f"{domain}SEQ", *(f"{domain}{s}" for s in SDTM_SHOW)}
            self._cache[key] = _read_sdtm_columns(path, wanted) if path.is_file() else None
        return self._cache[key]

    def has_column(self, dataset: str, name: str) -> bool:
        """Whether ``adam.<NAME>`` / ``sdtm.<DOMAIN>`` has the column (a set lookup, not pandas')."""
        key = ("columns", dataset)
        if key not in self._cache:
            stage, _, which = dataset.partition(".")
            data = self.adam(which) if stage == "adam" else self.sdtm(which)
            self._cache[key] = set() if data is None else set(data.columns)
        return name in self._cache[key]

    def raw_rows(self, rid: str) -> list[dict[str, Any]]:
        """The raw rows (file, data row, file line) of one SDTM record."""
        sources = self.raw_sources(rid[len("sdtm."):].partition(":")[0])
        k = sources.where.get(rid)
        if k is None:
            return []
        span = slice(int(sources.starts[k]), int(sources.starts[k + 1]))
        names = sources.names
        return [{"file": names[f], "row": row, "line": line, "id": f"{names[f]}:{line}"} for f, row, line in
                zip(sources.files[span].tolist(), sources.rows[span].tolist(), sources.lines[span].tolist())]

    def raw_sources(self, domain: str) -> RawSources:
        """``RawSources`` of one domain (read for the domains a trace meets, not for all)."""
        key = ("raw_sources", domain)
        if key not in self._cache:
            links = [link for link in self.records.links if link.domain == domain]
            where: dict[str, int] = {}
            first = np.cumsum([0, *(len(link.ids) for link in links)]).tolist()
            for link, start in zip(links, first):  # a record id in two files: the last one's
                where.update(zip(link.ids, range(start, start + len(link.ids))))
            offsets = np.cumsum([0, *(len(link.files) for link in links)]).tolist()
            self._cache[key] = RawSources(
                where=where, starts=_counts_to_starts([link.counts for link in links]),
                names=[name for link in links for name in link.files],
                files=_joined([link.file_index + offset for link, offset in zip(links, offsets)]),
                rows=_joined([link.rows for link in links]),
                lines=_joined([self.records.source_lines(link) for link in links]))
        return self._cache[key]

    def shown_columns(self, dataset: str, names: tuple[str, ...]) -> list[tuple[str, list[Any]]]:
        """(name, column values) of the ``names`` that ``adam.<NAME>`` / ``sdtm.<DOMAIN>`` has, in order."""
        key = ("shown", dataset, names)
        if key not in self._cache:
            self._cache[key] = [(c, self.column(dataset, c)) for c in dict.fromkeys(names)
                                if self.has_column(dataset, c)]
        return self._cache[key]

    @property
    def records(self) -> RecordIndex:
        if "records" not in self._cache:
            self._cache["records"] = RecordIndex.load(self.study)
        return self._cache["records"]

    @property
    def graph(self) -> VariableGraph:
        if "graph" not in self._cache:
            self._cache["graph"] = build_variable_graph(self.study)
        return self._cache["graph"]

    def output(self, name: str) -> Any:
        outs = {o.id.upper(): o for o in self.specs("tlf").outputs}
        if name.upper() not in outs:
            raise _unknown("output", name, sorted(o.id for o in outs.values()))
        return outs[name.upper()]

    def table(self, out: Any) -> Any:
        key = f"table.{out.id}"
        if key not in self._cache:
            from tlfgen.tlf.listings import create_listing
            from tlfgen.tlf.run import needed_datasets
            from tlfgen.tlf.tables import create_table

            specs = self.specs("tlf")
            if out.spec.type != "table":  # a listing: its dataset, ADSL and the datasets of its columns
                names = {out.spec.population.dataset, "ADSL", out.spec.dataset,
                         *(c.source for c in out.spec.columns if c.source)}
                self._cache[key] = create_listing(out, self.study, {n: self.adam(n) for n in sorted(names)},
                                                  specs.templates)
                return self._cache[key]
            names = [n for n in needed_datasets(specs) if n in {out.spec.population.dataset, "ADSL",
                                                                 *(b.dataset for b in out.spec.blocks)}]
            datasets = {n: self.adam(n) for n in names}
            self._cache[key] = create_table(out, self.study, datasets, specs.templates)
        return self._cache[key]

    def adam_lineage(self, dataset: str) -> list[dict[str, Any]]:
        """Lineage records aligned with the rows of ``adam(dataset)`` (both in output order)."""
        key = ("adam_lineage", dataset)
        if key not in self._cache:  # checked once per dataset
            records = self.records.adam.get(dataset, [])
            data = self.adam(dataset)
            if len(records) != len(data) or (len(data) and records[0]["key"].get("USUBJID") != data["USUBJID"].iloc[0]):
                raise DataError(f"adam/lineage/{dataset.lower()}.json does not match adam/{dataset.lower()}.xpt",
                                file=f"adam/lineage/{dataset.lower()}.json", hint="run the ADaM stage again")
            self._cache[key] = records
        return self._cache[key]

    # ------------------------------------------------------------ records

    def sdtm_record(self, rid: str) -> dict[str, Any]:
        """One SDTM record with its raw rows (shared by every caller: copy it before changing it)."""
        key = ("sdtm_record", rid)
        if key not in self._cache:
            self._cache[key] = self._sdtm_record(rid)
        return self._cache[key]

    def _sdtm_record(self, rid: str) -> dict[str, Any]:
        domain, _, rest = rid[len("sdtm."):].partition(":")
        usubjid, _, tail = rest.partition(":")
        values: dict[str, Any] = {}
        data = self.sdtm(domain)
        # --SEQ domains: sdtm.RS:<USUBJID>:<RSSEQ>; others (SV) carry their key values, not a --SEQ
        seq = int(tail) if tail.isdigit() and (data is None or f"{domain}SEQ" in data) else None
        position = self._sdtm_positions(domain).get((usubjid, float(seq))) if seq is not None else None
        if data is not None and position is not None:
            shown = self.shown_columns(f"sdtm.{domain}", (*(f"{domain}{suffix}" for suffix in SDTM_SHOW), "VISIT"))
            values = {c: value for c, col in shown if (value := col[position]) not in (None, "")}
        return {"id": rid, "domain": domain, "seq": seq, "values": values, "raw": self.raw_rows(rid)}

    def column(self, dataset: str, name: str) -> list[Any]:
        """One column of ``adam.<NAME>`` or ``sdtm.<DOMAIN>`` as plain values (``_value``), by row position."""
        key = ("column", dataset, name)
        if key not in self._cache:
            stage, _, which = dataset.partition(".")
            data = self.adam(which) if stage == "adam" else self.sdtm(which)
            self._cache[key] = plain_values(data[name])
        return self._cache[key]

    def _sdtm_positions(self, domain: str) -> dict[tuple[str, float], int]:
        key = f"sdtm.{domain}.positions"
        if key not in self._cache:
            data = self.sdtm(domain)
            seq = f"{domain}SEQ"
            self._cache[key] = ({} if data is None or seq not in data else  # (USUBJID, float --SEQ) -> row
                                dict(zip(zip(data["USUBJID"].tolist(), map(float, data[seq].tolist())),
                                         range(len(data)))))
        return self._cache[key]

    def adam_record(self, dataset: str, position: int, domains: frozenset[str] | set[str] | None = None,
                    show: tuple[str, ...] = ()) -> dict[str, Any]:
        """One ADaM record with the SDTM records (and their raw rows) behind it.

        ``domains`` limits the SDTM records of a predecessor ADSL record to the domains the
        traced variable depends on (an ADSL record is built from every subject-level domain);
        ``show`` adds the analysed variables (AGE for a mean) to the values shown.
        The result is shared by every caller asking the same (a table traces each record many
        times): copy it before changing it.
        """
        domains = None if domains is None else frozenset(domains)  # the same object when given one
        key = ("adam_record", dataset, position, domains, show)
        if key not in self._cache:
            self._cache[key] = self._adam_record(dataset, position, domains, show)
        return self._cache[key]

    def _subject_positions(self, dataset: str) -> dict[Any, list[int]]:
        key = f"adam.{dataset}.subjects"
        if key not in self._cache:
            found: dict[Any, list[int]] = {}
            for i, rec in enumerate(self.adam_lineage(dataset)):
                found.setdefault(rec["key"].get("USUBJID"), []).append(i)
            self._cache[key] = found
        return self._cache[key]

    def _adam_record(self, dataset: str, position: int, domains: frozenset[str] | None,
                     show: tuple[str, ...]) -> dict[str, Any]:
        values = {c: value for c, col in self.shown_columns(f"adam.{dataset}", (*ADAM_SHOW, *show))
                  if (value := col[position]) not in (None, "")}
        rid, sdtm, adam = self._adam_links(dataset, position, domains)
        return {"id": rid, "dataset": dataset, "values": values, "sdtm": sdtm, "adam": adam}

    def _adam_links(self, dataset: str, position: int,
                    domains: frozenset[str] | None) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        """The id of one ADaM record and the SDTM and ADaM records it was made from (shared by its
        records with other ``show``: the lists are not copied)."""
        key = ("adam_links", dataset, position, domains)
        if key in self._cache:
            return self._cache[key]
        lineage = self.adam_lineage(dataset)[position]
        sdtm: list[dict[str, Any]] = []
        adam: list[dict[str, Any]] = []
        usubjid = lineage["key"].get("USUBJID")
        for src in lineage.get("sources", ()):  # as RecordIndex.adam_sources names them
            domain = str(src["domain"])
            if domain.startswith("AD"):
                hits = self._subject_positions(domain).get(usubjid, [])
                adam += [self.adam_record(domain, i, domains) for i in hits]
            elif domains is None or dataset != "ADSL" or domain in domains:
                seqs = src.get("seq")
                ids = [f"sdtm.{domain}:{usubjid}:{int(q)}" for q in seqs] if seqs else [f"sdtm.{domain}:{usubjid}"]
                sdtm += map(self.sdtm_record, ids)
        self._cache[key] = (adam_record_id(dataset, lineage["key"]), sdtm, adam)
        return self._cache[key]

    def sdtm_domains_above(self, nodes: list[str]) -> frozenset[str]:
        key = ("domains_above", tuple(nodes))
        if key not in self._cache:
            found = set()
            for node in nodes:
                for parent, _, _ in self.graph.upstream_edges(node):
                    if parent.startswith("sdtm."):
                        found.add(parent.split(".")[1])
            self._cache[key] = frozenset(found)
        return self._cache[key]
