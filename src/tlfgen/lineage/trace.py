"""Lineage layer: ``tlfgen trace`` — from a printed number or a variable back to raw rows and spec rules.

Three questions, each answered as plain data (``trace_cell``, ``trace_value``,
``trace_variable`` return dicts; ``--json`` prints them) and as rich tables:

- a table cell (``trace T2 --row ORR --col TCAC``): the analysis, population,
  subset and method; the subjects counted, recounted from the ADaM data with the
  block's own filters (the check that the cell's n is right); per subject the
  ADaM records used, the SDTM records behind them and their raw rows (file:line);
  and the spec rule (file:line) of every derivation on the path;
- a derived value (``trace ADTTE.AVAL --subject <USUBJID> --param PFS``): the
  record, the rule that applied (for time to event: the event or censoring entry
  of ``derive_param_tte`` whose EVNTDESC / CNSDTDSC the record carries) and the
  records it came from;
- a variable (``trace ADSL.TRTSDT``): its upstream chain down to raw columns;
- a Kaplan-Meier figure (``trace F1``): per arm the subjects drawn (``trace_figure.py``);
- a listing row (``trace L1 --row <id>``): its records down to raw rows (``trace_listing.py``);
- a define.xml method (``trace ADSL.AGEGR1 --define``, ``trace MT.ADSL.AGEGR1``): the spec rule
  and derivation behind it (``trace_define.py``).

The explorer page (``html_report.py``) shows ``cell_path`` of every cell: page and command line agree.

Rows are named by their id (``<block>.<LABEL AS ID>``, see ``graph.row_ids``),
by their block id (the block's first row: ``ORR``) or by their label, case-insensitively.
Tables are rebuilt in memory from ``adam/*.xpt`` (``tlfgen.tlf.tables.create_table``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import DataError, UsageError
from tlfgen.lineage.graph import (
    RecordIndex, VariableGraph, _block_variables, adam_record_id, analysis_of, build_variable_graph, row_ids,
    row_label_id,
)
from tlfgen.lineage.paths import keep_raw, path_rules, raw_forms, record_scope
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


def _unknown(what: str, name: str, valid: list[str]) -> UsageError:
    near = closest(name, valid) or closest(name.upper(), [v.upper() for v in valid])
    hint = ("closest: " + ", ".join(near) + "; " if near else "") + "valid: " + ", ".join(valid[:30])
    return UsageError(f"unknown {what} '{name}'", hint=hint + (" ..." if len(valid) > 30 else ""))


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

    def sdtm(self, domain: str) -> pd.DataFrame | None:
        """The columns of ``sdtm/<domain>.xpt`` a trace shows (keys, --SEQ, VISIT, ``SDTM_SHOW``)."""
        key = f"sdtm.{domain}"
        if key not in self._cache:
            import pyreadstat

            path = self.study.sdtm_dir / f"{domain.lower()}.xpt"
            data = None
            if path.is_file():
                try:
                    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
                    wanted = {"USUBJID", "VISIT", f"{domain}SEQ", *(f"{domain}{s}" for s in SDTM_SHOW)}
                    data, _ = pyreadstat.read_xport(str(path), usecols=[c for c in meta.column_names if c in wanted],
                                                    disable_datetime_conversion=True)
                except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
                    raise DataError(f"cannot read XPT file: {exc}", file=path, hint="run the SDTM stage again") from exc
            self._cache[key] = data
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
        where, files, rows, lines = self._raw_sources(rid[len("sdtm."):].partition(":")[0])
        span = where.get(rid)
        if span is None:
            return []
        return [{"file": files[j], "row": rows[j], "line": lines[j], "id": f"{files[j]}:{lines[j]}"}
                for j in range(*span)]

    def _raw_sources(self, domain: str) -> tuple[dict[str, tuple[int, int]], list[str], list[int], list[int]]:
        """One domain's record lineage, column-wise: {record id: (first, end) source}, and per source
        its file, data row and file line (read for the domains a trace meets, not for all)."""
        key = ("raw_sources", domain)
        if key not in self._cache:
            links = [link for link in self.records.links if link.domain == domain]
            where: dict[str, tuple[int, int]] = {}
            files: list[str] = []
            rows: list[int] = []
            lines: list[int] = []
            for link in links:
                ends = (np.cumsum(link.counts) + len(files)).tolist()
                where.update(zip(link.ids, zip([len(files), *ends[:-1]], ends)))
                files += [link.files[f] for f in link.file_index.tolist()]
                rows += link.rows.tolist()
                lines += self.records.source_lines(link).tolist()
            self._cache[key] = (where, files, rows, lines)
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
            values = data[name]
            if values.dtype == object:  # text: only missing values change
                self._cache[key] = [None if v is None or (not isinstance(v, str) and pd.isna(v)) else v
                                    for v in values.tolist()]
            else:
                self._cache[key] = [_value(v) for v in values.tolist()]
        return self._cache[key]

    def _sdtm_positions(self, domain: str) -> dict[tuple[str, float], int]:
        key = f"sdtm.{domain}.positions"
        if key not in self._cache:
            data = self.sdtm(domain)
            seq = f"{domain}SEQ"
            self._cache[key] = ({} if data is None or seq not in data else
                                {(u, float(q)): i for i, (u, q) in enumerate(zip(data["USUBJID"], data[seq]))})
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


# ---------------------------------------------------------------- cells


def find_row(table: Any, name: str) -> tuple[Any, str]:
    """A data row by id, block id (the block's first row), label or label-as-id (case-insensitive)."""
    rows = row_ids(table)
    wanted = name.strip().upper()
    tests = (("id", lambda r, rid: rid.upper() == wanted),
             ("block", lambda r, rid: r.block_id.upper() == wanted),
             ("label", lambda r, rid: r.label.strip().upper() == wanted),
             ("label", lambda r, rid: row_label_id(r.label) == row_label_id(name)))
    for kind, test in tests:
        hits = [(r, rid) for r, rid in rows if test(r, rid)]
        if kind == "block":
            hits = hits[:1]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UsageError(f"row '{name}' of {table.id} is ambiguous",
                             hint="give a row id: " + ", ".join(rid for _, rid in hits))
    blocks = list(dict.fromkeys(r.block_id for r, _ in rows if r.block_id))
    raise _unknown(f"row of {table.id}", name, blocks + [rid for _, rid in rows])


def find_column(table: Any, name: str) -> Any:
    for column in table.columns:
        if column.key.upper() == name.strip().upper():
            return column
    hits = [c for c in table.columns if c.label.strip().upper() == name.strip().upper()]
    if len(hits) == 1:
        return hits[0]
    raise _unknown(f"column of {table.id}", name, [c.key for c in table.columns])


def _group_subjects(ctx: TraceContext, out: Any, column: Any) -> list[str]:
    key = ("group_subjects", out.id, column.key)
    if key not in ctx._cache:
        ctx._cache[key] = _find_group_subjects(ctx, out, column)
    return ctx._cache[key]


def _find_group_subjects(ctx: TraceContext, out: Any, column: Any) -> list[str]:
    spec = out.spec
    adsl = ctx.adam(spec.population.dataset)
    pop = adsl[out.filters["population"].mask(adsl)] if "population" in out.filters else adsl
    arms = {a.armcd: a.trtn for a in ctx.study.spec.study.arms}
    key = column.key.split(".")[0]
    codes = pd.to_numeric(pop[spec.columns.by], errors="coerce")
    if key in arms:
        pop = pop[codes == float(arms[key])]
    elif column.kind == "comparison":
        pair = [float(arms[a]) for a in (spec.columns.treatment, spec.columns.reference) if a in arms]
        pop = pop[codes.isin(pair)]
    return sorted(pop["USUBJID"].astype(str))


def select_cell_records(ctx: TraceContext, out: Any, table: Any, row: Any, column: Any,
                        cell: Any) -> tuple[pd.DataFrame, bool]:
    """The ADaM records a cell used, and whether the cell counts subjects (recount = their USUBJIDs)."""
    from tlfgen.tlf.blocks import norm

    block = next(b for b in out.spec.blocks if b.id == row.block_id)
    key = ("block_records", out.id, block.id, column.key)
    if key not in ctx._cache:  # every row of a block starts from the same records
        data = ctx.adam(block.dataset).reset_index(drop=True)
        data = data[data["USUBJID"].isin(_group_subjects(ctx, out, column))]
        if block.id in out.filters:
            data = data[out.filters[block.id].mask(data)]
        if getattr(block, "param", None) and "PARAMCD" in data:
            data = data[data["PARAMCD"].astype(str).str.strip() == block.param]
        ctx._cache[key] = data
    data = ctx._cache[key]
    counted = any(name == "n" for name, _ in cell.values) and bool(cell.subjects or cell.value("n") == 0)
    kind = block.kind
    first = row.label == block.label
    if kind == "categorical":
        level = next((lv for lv in block.levels if lv.text == row.label), None)
        if level is not None:
            if ("normed",) + key not in ctx._cache:
                ctx._cache[("normed",) + key] = data[block.variable].map(norm)
            data = data[ctx._cache[("normed",) + key] == norm(level.value)]
    elif kind == "rate" and first:
        data = data[out.filters[f"{block.id}.responder"].mask(data)]
    elif kind == "tte" and cell.analysis_id.endswith(".EVENTS"):
        data = data[pd.to_numeric(data[block.censor], errors="coerce") == 0]
    elif kind == "ae_by_term":
        if ("terms",) + key not in ctx._cache:  # once per block and column, not per term row
            terms = data[block.term].astype(str).str.strip()
            if block.term_case == "sentence":
                terms = terms.str[:1].str.upper() + terms.str[1:].str.lower()
            ctx._cache[("terms",) + key] = terms
        terms = ctx._cache[("terms",) + key]
        if row.label != block.any_label:
            data = data[terms == row.label]
        if column.key.endswith(".HIGH"):
            grade = pd.to_numeric(data[block.grade], errors="coerce")
            worst = grade.groupby(data["USUBJID"]).transform("max")
            data = data[(worst >= block.high_grade) & (grade == worst)]
    elif kind == "continuous":
        data = data[data[block.variable].notna()]
    elif kind == "regression" and cell.subjects:
        data = data[data["USUBJID"].isin(cell.subjects)]
    return data, counted and kind != "regression"


def trace_cell(ctx: TraceContext, target: str, row_name: str, col_name: str) -> dict[str, Any]:
    """A table cell traced: the analysis, the subjects and their records down to the raw rows of
    the forms on the path, and the spec rules on the path (what ``tlfgen trace`` prints)."""
    out = ctx.output(target)
    table = ctx.table(out)
    row, rid = find_row(table, row_name)
    column = find_column(table, col_name)
    result = cell_path(ctx, out, table, row, rid, column)
    result["subjects"] = copy.deepcopy(result["subjects"])
    for subject in result["subjects"]:
        keep_raw(subject["records"], set(result["forms"]))
    return result


def cell_path(ctx: TraceContext, out: Any, table: Any, row: Any, rid: str, column: Any,
              store: Any = None) -> dict[str, Any]:
    """The trace of one cell with its records shared with other traces (``adam_record``) and all
    their raw rows; ``forms`` names the raw forms on the path (``trace_cell`` keeps only their rows,
    the explorer page filters by them).

    ``store`` (the explorer page's record store, ``explorer_data._Store``): the subjects come as
    ``[[subject index, [record index...]], ...]`` into that store, found column-wise
    (``store.cell_records``), instead of one dict per record."""
    cell = row.cells[list(table.columns).index(column)]
    item = analysis_of(table, cell.analysis_id) if cell.analysis_id else None
    if item is None:
        raise UsageError(f"cell {table.id} [{rid}, {column.key}] is empty (no analysis)",
                         hint="columns with values in this row: " + ", ".join(
                             c.key for c, x in zip(table.columns, row.cells) if x.analysis_id))
    data, counted = select_cell_records(ctx, out, table, row, column, cell)
    index = next(i for i, b in enumerate(out.spec.blocks) if b.id == row.block_id)
    block = out.spec.blocks[index]
    reads = _block_variables(block, out) + _population_variables(ctx, out)
    nodes = sorted({f"adam.{ds}.{var}" for ds, var in reads} & set(ctx.graph.nodes))
    domains = ctx.sdtm_domains_above(nodes)
    shown = tuple(var for ds, var in reads if ds == block.dataset)
    if store is None:
        positions: dict[str, list[int]] = {}
        for usubjid, position in zip(data["USUBJID"].tolist(), data.index.tolist()):
            positions.setdefault(usubjid, []).append(position)
        subjects = list(cell.subjects) or sorted(positions)
        subject_rows: list[Any] = [
            {"usubjid": s, "records": [ctx.adam_record(block.dataset, int(p), domains, shown)
                                       for p in positions.get(s, [])]} for s in subjects]
        scope = record_scope(block.dataset, data, [r for s in subject_rows for r in s["records"]],
                             ctx._cache.setdefault("scope_memo", {}))
    else:
        subject_rows, positions, scope = store.cell_records(ctx, block.dataset, data, list(cell.subjects),
                                                            domains, shown)
    rules_key = ("rules", tuple(nodes), tuple(sorted((k, tuple(sorted(v))) for k, v in scope.items())))
    if rules_key not in ctx._cache:  # many cells of one block share their path
        ctx._cache[rules_key] = path_rules(ctx.graph, ctx.specs("adam"), nodes, scope)
    rules = ctx._cache[rules_key]
    recount = sorted(positions) if counted else None
    loc = out.source.location(("blocks", index))
    return {
        "kind": "cell", "output": table.id, "spec": out.display,
        "row": {"id": rid, "label": row.label, "block": row.block_id},
        "column": {"key": column.key, "label": column.label, "N": column.n},
        "text": cell.text, "values": {k: _value(v) for k, v in cell.values},
        "analysis": {"id": item.id, "cell_analysis_id": cell.analysis_id, "description": item.description,
                     "dataset": item.dataset, "population": item.population, "subset": item.subset,
                     "method": item.method, "group": item.group, "spec": f"{loc.file}:{loc.line}"},
        "n": len(cell.subjects) if counted else None,
        "recount": None if recount is None else {"n": len(recount), "matches": recount == sorted(cell.subjects)},
        "subjects": subject_rows,
        "rules": rules,
        "forms": sorted(raw_forms(rules)),
        "shown": list(shown),  # the variables of the cell's records it reads (shown with ADAM_SHOW)
    }


def _population_variables(ctx: TraceContext, out: Any) -> list[tuple[str, str]]:
    """(dataset, variable) of the population filter and the column variable (who is counted where)."""
    dataset = out.spec.population.dataset
    pop = out.filters.get("population")
    found = [(dataset, c) for c in sorted(pop.columns)] if pop is not None else []
    by = getattr(getattr(out.spec, "columns", None), "by", None)
    return found + ([(dataset, by)] if by else [])


# ---------------------------------------------------------------- derived values and variables


def resolve_variable(ctx: TraceContext, target: str, param: str | None = None) -> str:
    """A node id of the variable graph for ``ADSL.TRTSDT``, ``adam.ADSL.TRTSDT``, ``RS.RSSTRESC`` ..."""
    text = target.strip()
    lowered = text.split(".", 1)[0].lower()
    bare = text.split(".", 1)[1] if lowered in ("adam", "sdtm", "raw") else text
    candidates = [text] if lowered in ("adam", "sdtm", "raw") else []
    candidates += [f"adam.{bare.upper()}", f"sdtm.{bare.upper()}", f"raw.{bare}"]
    if param:
        candidates = [f"{c}[{param.upper()}]" for c in candidates] + candidates
    for node in candidates:
        if node in ctx.graph.nodes:
            return node
    valid = sorted(n.split(".", 1)[1] for n in ctx.graph.nodes if n.startswith(("adam.", "sdtm.")) and "[" not in n)
    raise _unknown("variable", target, valid)


def trace_variable(ctx: TraceContext, target: str, param: str | None = None) -> dict[str, Any]:
    node = resolve_variable(ctx, target, param)
    edges = ctx.graph.upstream_edges(node)
    return {"kind": "variable", "variable": node, "metadata": ctx.graph.nodes[node],
            "chain": [{"from": p, "to": c, **rule} for p, c, rule in edges],
            "raw_columns": sorted({p for p, _, _ in edges if p.startswith("raw.")})}


def _tte_rule(ctx: TraceContext, dataset: str, record: pd.Series) -> dict[str, Any] | None:
    """The derive_param_tte entry (event or censoring) that produced this record."""
    ds = ctx.specs("adam")[dataset]
    for step in ds.steps:
        args = step.spec.args
        if step.spec.derive != "derive_param_tte" or args.get("paramcd") != record.get("PARAMCD"):
            continue
        event = _value(record.get("CNSR")) == 0
        key, desc = ("events", "evntdesc") if event else ("censors", "cnsdtdsc")
        wanted = record.get("EVNTDESC") if event else record.get("CNSDTDSC")
        for j, entry in enumerate(args.get(key, [])):
            if str(entry.get(desc, "")).strip().upper() == str(wanted).strip().upper():
                loc = ds.source.location(("steps", step.index, "args", key, j, desc))  # the line naming it
                return {"step": step.spec.id, "derivation": step.spec.derive, "kind": key[:-1],
                        "description": wanted, "entry": dict(entry), "spec": f"{loc.file}:{loc.line}"}
        loc = ds.source.location(("steps", step.index))
        return {"step": step.spec.id, "derivation": step.spec.derive, "kind": "unmatched",
                "description": wanted, "spec": f"{loc.file}:{loc.line}"}
    return None


def trace_value(ctx: TraceContext, target: str, subject: str, param: str | None) -> dict[str, Any]:
    node = resolve_variable(ctx, target, param)
    if not node.startswith("adam."):
        raise UsageError(f"{target}: --subject traces ADaM values", hint="e.g. ADTTE.AVAL --subject <USUBJID> --param PFS")
    dataset, var = node[len("adam."):].split("[")[0].split(".")
    data = ctx.adam(dataset).reset_index(drop=True)
    subjects = sorted(data["USUBJID"].astype(str).unique())
    match = [s for s in subjects if s.upper() == subject.strip().upper() or s.upper().endswith("-" + subject.upper())]
    if not match:
        raise _unknown(f"subject in {dataset}", subject, subjects)
    mask = data["USUBJID"] == match[0]
    if param:
        if "PARAMCD" not in data:
            raise UsageError(f"{dataset} has no PARAMCD; leave out --param")
        params = sorted(data["PARAMCD"].astype(str).unique())
        if param.upper() not in params:
            raise _unknown(f"PARAMCD of {dataset}", param, params)
        mask &= data["PARAMCD"] == param.upper()
    if not mask.any():
        raise DataError(f"{dataset} has no record for {match[0]}" + (f" and PARAMCD {param.upper()}" if param else ""))
    domains = ctx.sdtm_domains_above([node])
    records = []
    for pos in data.index[mask]:
        row = data.loc[pos]
        rec = copy.deepcopy(ctx.adam_record(dataset, int(pos), domains))
        rec["value"] = _value(row[var]) if var in row.index else None
        tte = _tte_rule(ctx, dataset, row) if "CNSR" in row.index else None
        if tte is not None:
            date_var = tte.get("entry", {}).get("date")
            if date_var and str(tte.get("entry", {}).get("dataset", "")).startswith("adam.ADSL"):
                above = ctx.sdtm_domains_above([f"adam.ADSL.{date_var}"])
                for parent in rec["adam"]:
                    parent["sdtm"] = [s for s in parent["sdtm"] if s["domain"] in above]
            rec["rule"] = tte
        records.append(rec)
    return {"kind": "value", "variable": node, "subject": match[0], "param": param.upper() if param else None,
            "metadata": ctx.graph.nodes.get(node, {}), "records": records,
            "rules": path_rules(ctx.graph, ctx.specs("adam"), [node], record_scope(dataset, data[mask], records))}
