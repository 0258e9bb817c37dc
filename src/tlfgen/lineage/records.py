"""Lineage layer: record-level lineage (raw rows -> SDTM records -> ADaM records), read column-wise.

Reads ``sdtm/lineage/<domain>.json`` (compact form: ``[key values..., [[file index, row], ...]]``
per record, or the older dict form) and ``adam/lineage/<dataset>.json`` once each, and
builds the ``records`` part of ``lineage.json``::

    sdtm: {"sdtm.RS:<USUBJID>:<RSSEQ>": ["raw/rs.csv:<line>", ...], ...}
          (no --SEQ: all key values, ``sdtm.SV:<USUBJID>:<VISITNUM>``, ``sdtm.DM:<USUBJID>``;
           trial design: ``sdtm.TS:#<record>``; a repeated id gets ``#2``, ``#3``... so no record is lost)
    adam: {"adam.ADRS:<key values>": ["sdtm.RS:<USUBJID>:<RSSEQ>", ...], ...}

At 5,000 subjects there are about a million SDTM records, so the SDTM files are kept
as columns (record ids, per-source file index and row in numpy arrays) and turned into
``file:line`` text per file in one step; the per-record ``{id: [(file, row)]}`` lookup
that ``tlfgen trace`` uses is built only when asked for (``RecordIndex.sdtm``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from tlfgen.errors import DataError
from tlfgen.io.jsontext import loads
from tlfgen.spec.study import ResolvedStudy


def raw_line_numbers(path: Path) -> list[int]:
    """The file line each data row starts on (index 0 = row 1); quoted newlines are counted."""
    data = path.read_bytes()
    if b'"' not in data and data.count(b"\r") == data.count(b"\r\n") and not _has_blank_line(data):
        # no quoted fields, no lone CR: one physical line per row, row k starts on line k + 1
        physical = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        return list(range(2, physical + 1))
    lines: list[int] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        start = reader.line_num + 1
        for record in reader:
            if record:  # a blank line is not a record (as the raw reader counts rows)
                lines.append(start)
            start = reader.line_num + 1
    return lines


def _has_blank_line(data: bytes) -> bool:
    body = data.rstrip(b"\r\n")
    return b"\n\n" in body or b"\n\r\n" in body


def sdtm_record_id(domain: str, usubjid: Any, seq: Any = None) -> str:
    return f"sdtm.{domain}:{usubjid}" + (f":{int(seq)}" if seq is not None else "")


def _key_text(value: Any) -> str:
    """A key value in a record id: whole numbers as digits, others as written, missing as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sdtm_key_id(domain: str, values: list[Any]) -> str:
    """Record id from all key values of a domain without --SEQ: ``sdtm.SV:<USUBJID>:<VISITNUM>``."""
    return f"sdtm.{domain}:" + ":".join(map(_key_text, values))


def adam_record_id(dataset: str, key: dict[str, Any]) -> str:
    parts = ["" if v is None else str(v) for k, v in key.items() if k != "STUDYID"]
    return f"adam.{dataset}:" + ":".join(parts)


def read_json(path: Path) -> Any:
    try:
        return loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read lineage file: {exc}", file=path,
                        hint="run the pipeline again (`tlfgen run`)") from exc


@dataclass
class SdtmLinks:
    """The record lineage of one SDTM domain: record ids and, per source, file index and row (flat)."""

    ids: list[str]
    files: list[str]
    counts: np.ndarray  # sources per record
    file_index: np.ndarray  # per source, into ``files``
    rows: np.ndarray  # per source: the data row (raw CSV) or the spec line
    domain: str = ""  # every id starts with ``sdtm.<domain>:``

    def pairs(self) -> dict[str, list[tuple[str, int]]]:
        """{record id: [(file, row), ...]} (ids are unique: ``read_sdtm_links`` suffixes a repeat)."""
        flat = [(self.files[f], r) for f, r in zip(self.file_index.tolist(), self.rows.tolist())]
        ends = np.cumsum(self.counts).tolist()
        starts = [0, *ends[:-1]]
        return {rid: flat[a:b] for rid, a, b in zip(self.ids, starts, ends)}


def _compact_ids(domain: str, keys: list[str], columns: list[list]) -> list[str]:
    """Record ids from the key columns: ``#record`` (trial design), USUBJID(:--SEQ), or every key value."""
    if not columns:  # no key and no records
        return []
    if keys and keys[0] == "record":
        return [f"sdtm.{domain}:#{v}" for v in columns[0]]
    if len(keys) < 2:
        return [f"sdtm.{domain}:{u}" for u in columns[0]]
    if len(keys) == 2 and keys[1].endswith("SEQ"):
        usubjids, seqs = columns[0], columns[1]
        if {type(s) for s in seqs} <= {int}:
            return [f"sdtm.{domain}:{u}:{s}" for u, s in zip(usubjids, seqs)]
        return [sdtm_record_id(domain, u, s) for u, s in zip(usubjids, seqs)]
    rows = zip(*columns[:len(keys)])
    if all(set(map(type, col)) <= {str, int} for col in columns[:len(keys)]):
        if len(keys) == 2:  # e.g. SV: USUBJID, VISITNUM
            return [f"sdtm.{domain}:{u}:{v}" for u, v in zip(columns[0], columns[1])]
        return [f"sdtm.{domain}:" + ":".join(map(str, row)) for row in rows]
    return [sdtm_key_id(domain, list(row)) for row in rows]


def _unique_ids(ids: list[str]) -> list[str]:
    """Ids as given; a repeated id (two records with the same full key) gets ``#2``, ``#3``... in file order.

    Two records with one key are a data problem, but lineage keeps every record rather than drop one.
    """
    if len(set(ids)) == len(ids):
        return ids
    seen: dict[str, int] = {}
    out = []
    for rid in ids:
        seen[rid] = seen.get(rid, 0) + 1
        out.append(rid if seen[rid] == 1 else f"{rid}#{seen[rid]}")
    return out


def read_sdtm_links(path: Path) -> SdtmLinks:
    """``sdtm/lineage/<domain>.json`` as columns; reads the compact and the dict form."""
    doc = read_json(path)
    domain = str(doc.get("domain") or path.stem.upper())
    keys = list(doc.get("key") or [])
    records = doc.get("records", [])
    if records and set(map(type, records)) == {list} and set(map(len, records)) == {len(keys) + 1}:
        columns = [list(map(itemgetter(i), records)) for i in range(len(keys) + 1)]
        ids = _compact_ids(domain, keys, columns)
        sources = columns[len(keys)]
        files = [str(f) for f in doc.get("files") or []]
        flat = list(chain.from_iterable(sources))
    else:  # dict form (or mixed): one record at a time
        values_of, sources, files, flat = [], [], [], []
        known: dict[str, int] = {}
        for rec in records:
            if isinstance(rec, dict):
                values = [rec.get(k) for k in keys]
                pairs = [(s["file"], int(s.get("row", s.get("line", 0)))) for s in rec.get("sources", [])]
            else:
                values = rec[:len(keys)]
                pairs = [(doc["files"][f], int(r)) for f, r in rec[len(keys)]]
            values_of.append(values)
            sources.append(pairs)
            for name, row in pairs:
                flat.append((known.setdefault(name, len(known)), row))
        files = list(known)
        ids = _compact_ids(domain, keys, [[v[i] for v in values_of] for i in range(len(keys))])
    ids = _unique_ids(ids)
    counts = np.fromiter(map(len, sources), dtype=np.int64, count=len(sources))
    file_index, rows = (np.fromiter(map(itemgetter(i), flat), dtype=np.int64, count=len(flat)) for i in (0, 1))
    return SdtmLinks(ids, files, counts, file_index, rows, domain)


def read_sdtm_lineage(path: Path) -> dict[str, list[tuple[str, int]]]:
    """``sdtm/lineage/<domain>.json`` as {record id: [(file, row)]}; reads the compact and the dict form."""
    return read_sdtm_links(path).pairs()


def read_adam_lineage(study: ResolvedStudy) -> dict[str, list[dict[str, Any]]]:
    """{dataset: lineage records} from ``adam/lineage/*.json``."""
    adam = {}
    for path in sorted((study.adam_dir / "lineage").glob("*.json")):
        doc = read_json(path)
        adam[str(doc.get("dataset") or path.stem.upper())] = list(doc.get("records", []))
    return adam


def check_found(study: ResolvedStudy, sdtm_records: int, adam_datasets: int) -> None:
    """A DataError when the study has no record lineage at all (the pipeline has not run)."""
    if not sdtm_records and not adam_datasets:
        raise DataError("no lineage files found", file=study.display(study.sdtm_dir / "lineage"),
                        hint="run the pipeline first (`tlfgen run`)")


def _is_row_file(file: str) -> bool:
    """Sources in a raw CSV are data rows (turned into file lines); spec files already give a line."""
    return file.startswith("raw/") or file.endswith(".csv")


@dataclass
class RecordIndex:
    """Record-level lineage of one study run, loaded from the stage lineage files."""

    study: ResolvedStudy
    links: list[SdtmLinks] = field(default_factory=list)  # one per SDTM domain file, sorted by file name
    adam: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # dataset -> lineage records
    _lines: dict[str, np.ndarray] = field(default_factory=dict)
    _sdtm: dict[str, list[tuple[str, int]]] | None = None

    @classmethod
    def load(cls, study: ResolvedStudy, *, sdtm: bool = True) -> "RecordIndex":
        """The lineage files of ``study`` (``sdtm=False``: the ADaM ones only, no check that any exist)."""
        index = cls(study)
        if sdtm:
            index.links = [read_sdtm_links(p) for p in sorted((study.sdtm_dir / "lineage").glob("*.json"))]
        index.adam = read_adam_lineage(study)
        if sdtm:
            check_found(study, sum(len(link.ids) for link in index.links), len(index.adam))
        return index

    @property
    def sdtm(self) -> dict[str, list[tuple[str, int]]]:
        """{SDTM record id: [(file, row)]}, built on first use."""
        if self._sdtm is None:
            self._sdtm = {}
            for link in self.links:
                self._sdtm.update(link.pairs())
        return self._sdtm

    def _file_lines(self, file: str) -> np.ndarray:
        if file not in self._lines:
            path = self.study.root / file
            self._lines[file] = np.asarray(raw_line_numbers(path) if path.is_file() else [], dtype=np.int64)
        return self._lines[file]

    def lines_of(self, file: str, rows: np.ndarray) -> np.ndarray:
        """File lines of 1-based data rows (a row the file does not have: row + 1)."""
        if not _is_row_file(file):
            return rows
        lines = self._file_lines(file)
        inside = (rows > 0) & (rows <= len(lines))
        return np.where(inside, lines[np.clip(rows - 1, 0, max(len(lines) - 1, 0))] if len(lines) else 0, rows + 1)

    def line_of(self, file: str, row: int) -> int:
        """File line of a 1-based data row (spec files already give a line)."""
        return int(self.lines_of(file, np.asarray([row], dtype=np.int64))[0])

    def raw_of(self, record_id: str) -> list[dict[str, Any]]:
        return [{"file": f, "row": r, "line": self.line_of(f, r), "id": f"{f}:{self.line_of(f, r)}"}
                for f, r in self.sdtm.get(record_id, [])]

    def source_lines(self, link: SdtmLinks) -> np.ndarray:
        """The file line of every source of one domain (flat, in record order)."""
        lines = link.rows.copy()
        for f, name in enumerate(link.files):
            mask = link.file_index == f
            if mask.any():
                lines[mask] = self.lines_of(name, link.rows[mask])
        return lines

    def adam_sources(self, dataset: str, record: dict[str, Any]) -> list[str]:
        """Record ids (SDTM or ADaM) one ADaM record was made from."""
        usubjid = record["key"].get("USUBJID")
        out = []
        for src in record.get("sources", []):
            domain = str(src["domain"])
            if domain.startswith("AD"):
                out.append(adam_record_id(domain, {"USUBJID": usubjid}))
            elif not src.get("seq"):
                out.append(sdtm_record_id(domain, usubjid))
            else:
                out.extend(sdtm_record_id(domain, usubjid, s) for s in src["seq"])
        return out


# ---------------------------------------------------------------- the records part of lineage.json

#: a ``records`` section of lineage.json: record id -> the ids of its sources (written by ``json``)
Section = dict[str, list[str]]


def _sdtm_sources(index: RecordIndex, link: SdtmLinks) -> tuple[list[str], list[list[str]]]:
    """Record ids and, per record, its sources as ``file:line`` (one domain; its ids are unique)."""
    lines = index.source_lines(link).tolist()
    prefixes = [f"{name}:" for name in link.files]
    texts = [prefixes[f] + str(line) for f, line in zip(link.file_index.tolist(), lines)]
    if len(texts) == len(link.ids) and bool((link.counts == 1).all()):  # one source each
        return link.ids, [[text] for text in texts]
    ends = np.cumsum(link.counts).tolist()
    return link.ids, list(map(texts.__getitem__, map(slice, [0, *ends[:-1]], ends)))


def adam_source_ids(dataset: str, records: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """ADaM record ids and their source record ids (``adam_record_id`` and ``adam_sources`` inlined)."""
    prefix = f"adam.{dataset}:"
    ids: list[str] = []
    links: list[list[str]] = []
    for rec in records:
        key = rec["key"]
        usubjid = key.get("USUBJID")
        sources: list[str] = []
        for src in rec.get("sources", ()):
            domain = str(src["domain"])
            seqs = src.get("seq")
            if domain.startswith("AD"):
                sources.append(f"adam.{domain}:" + ("" if usubjid is None else str(usubjid)))
            elif not seqs:
                sources.append(f"sdtm.{domain}:{usubjid}")
            else:
                sources.extend(map(f"sdtm.{domain}:{usubjid}:".__add__, map(str, map(int, seqs))))
        ids.append(prefix + ":".join(["" if v is None else str(v) for k, v in key.items() if k != "STUDYID"]))
        links.append(sources)
    return ids, links


def create_section(ids: list[str], sources: list[list[str]]) -> Section:
    """``{record id: [source ids]}`` (a record id met twice keeps its last sources); the JSON encoder
    sorts the ids when lineage.json is written."""
    return dict(zip(ids, sources))


def create_sdtm_section(index: RecordIndex) -> Section:
    """``records.sdtm``: SDTM record id -> raw ``file:line`` (and spec lines of trial design records)."""
    section: Section = {}
    for link in index.links:
        section.update(create_section(*_sdtm_sources(index, link)))
    return section


def create_adam_section(index: RecordIndex) -> Section:
    """``records.adam``: ADaM record id -> the SDTM (or ADaM) record ids it was made from."""
    ids: list[str] = []
    links: list[list[str]] = []
    for dataset, records in sorted(index.adam.items()):
        more_ids, more_links = adam_source_ids(dataset, records)
        ids += more_ids
        links += more_links
    return create_section(ids, links)


def build_record_links(index: RecordIndex) -> dict[str, Section]:
    """The ``records`` part of lineage.json: SDTM record -> raw file:line, ADaM record -> source records."""
    return {"sdtm": create_sdtm_section(index), "adam": create_adam_section(index)}
