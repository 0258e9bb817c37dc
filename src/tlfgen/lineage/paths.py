"""Lineage layer: the exact path of a traced number, from record-level lineage.

The variable graph (``graph.py``) joins every parameter of a BDS variable and every stacked
source of a findings variable into one node. A trace of one cell must list only the rules its
own records went through: ``path_rules`` walks the graph upstream keeping, at each fan-in, the
PARAMCDs of the traced ADaM records (and those their steps read: ``source_paramcd``, a
condition's ``PARAMCD == 'OVR'``) and the test codes of the traced SDTM records; ``keep_raw``
drops raw rows of forms that are not on that path (a DM record is built from several forms).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from tlfgen.lineage.graph import VariableGraph

#: most lines of a spec rule shown under its first line (``spec_text``)
SPEC_LINES = 24

_STEP = re.compile(r"\(step ([^)]+)\)")


def _dataset_params(adam_specs: Any) -> dict[str, set[str]]:
    """PARAMCDs each ADaM dataset's steps create (``paramcd:`` arguments)."""
    out: dict[str, set[str]] = {}
    for ds in adam_specs.datasets:
        for st in ds.steps:
            code = st.spec.args.get("paramcd") if isinstance(st.spec.args, dict) else None
            if code:
                out.setdefault(ds.name, set()).add(str(code))
    return out


def _step_params(adam_specs: Any, dataset: str, rule_name: str) -> dict[str, set[str]]:
    """The PARAMCDs a step reads, per dataset: ``source_paramcd: BOR`` of its own dataset, and the
    codes its conditions name on the dataset an entry reads (``{dataset: adam.ADRS, condition:
    "PARAMCD == 'OVR' ..."}``)."""
    found = _STEP.search(rule_name)
    if found is None or dataset not in {ds.name for ds in adam_specs.datasets}:
        return {}
    step = next((st for st in adam_specs[dataset].steps if st.spec.id == found.group(1)), None)
    if step is None or not isinstance(step.spec.args, dict):
        return {}
    known = _dataset_params(adam_specs)
    out: dict[str, set[str]] = {}

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            named = str(value.get("dataset", ""))
            inner = named.split(".", 1)[1] if named.startswith("adam.") else where
            for key, item in value.items():
                if key != "paramcd":
                    walk(item, inner)
        elif isinstance(value, list):
            for item in value:
                walk(item, where)
        elif isinstance(value, str):
            words = set(re.findall(r"'([^']*)'|\"([^\"]*)\"", value)) if "PARAMCD" in value else set()
            texts = {a or b for a, b in words} | {value}
            hits = texts & known.get(where, set())
            if hits:
                out.setdefault(where, set()).update(hits)

    walk(step.spec.args, dataset)
    return out


def _kept_parents(child: str, parents: dict[str, dict[str, str]],
                  scope: dict[str, set[str]]) -> list[tuple[str, dict[str, str]]]:
    """The parents of ``child`` on the traced records' path.

    An ADaM variable of a parameterised dataset fans in from one node per PARAMCD: only the
    PARAMCDs in scope are kept (all of them when none is). A findings-domain variable fans in
    from one stacked source per test code: only the test codes of the traced SDTM records are kept.
    """
    items = sorted(parents.items())
    kind, _, rest = child.partition(".")
    dataset = rest.split(".")[0]
    if kind == "adam" and "[" not in child:
        by_param = [(p, r) for p, r in items if r.get("kind") == "parameter"]
        wanted = [(p, r) for p, r in by_param if p.rsplit("[", 1)[-1].rstrip("]") in scope.get(dataset, set())]
        if wanted:
            return [(p, r) for p, r in items if r.get("kind") != "parameter"] + wanted
    if kind == "sdtm" and scope.get(f"sdtm.{dataset}"):
        return [(p, r) for p, r in items if not r.get("where") or r["where"] in scope[f"sdtm.{dataset}"]]
    return items


def path_rules(graph: VariableGraph, adam_specs: Any, nodes: list[str],
               scope: dict[str, set[str]]) -> list[dict[str, Any]]:
    """The spec rules on the path of ``nodes``, scoped to the traced records.

    ``scope`` holds the PARAMCDs of the traced ADaM records per dataset (``{"ADRS": {"ORR"}}``) and
    the test codes of the traced SDTM records per domain (``{"sdtm.RS": {"RSTESTCD = OVRLRESP"}}``);
    a step that reads other parameters (``source_paramcd``) adds them as the walk passes it.
    """
    scope = {k: set(v) for k, v in scope.items()}
    grouped: dict[tuple[str, str, str], set[str]] = {}
    seen, queue = set(nodes), list(nodes)
    while queue:
        child = queue.pop(0)
        if child.startswith("adam.") and "[" in child:
            dataset = child.split(".")[1]
            for rule in graph.parents.get(child, {}).values():
                for name, codes in _step_params(adam_specs, dataset, rule.get("name", "")).items():
                    scope.setdefault(name, set()).update(codes)
        for parent, rule in _kept_parents(child, graph.parents.get(child, {}), scope):
            grouped.setdefault((child, rule.get("name", ""), rule.get("spec", "")), set()).add(parent)
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return [{"variable": child, "rule": name, "spec": spec, "from": sorted(parents)}
            for (child, name, spec), parents in sorted(grouped.items(), key=lambda kv: (kv[0][2], kv[0][0]))]


def record_scope(dataset: str, data: pd.DataFrame, records: list[dict[str, Any]],
                 memo: dict[int, set[tuple[str, str]]] | None = None) -> dict[str, set[str]]:
    """PARAMCDs of the traced ADaM records and test codes of the SDTM records behind them.

    ``memo`` keeps the test codes found under each record (by object: records are shared by
    the traces of one ``TraceContext``) for the next call.
    """
    scope: dict[str, set[str]] = {}
    if "PARAMCD" in data and len(data):
        scope[dataset] = set(data["PARAMCD"].astype(str).str.strip())
    memo = {} if memo is None else memo

    def codes(rec: dict[str, Any]) -> set[tuple[str, str]]:
        key = id(rec)
        if key not in memo:
            found = set()
            for sdtm in rec.get("sdtm", []):
                code = sdtm["values"].get(f"{sdtm['domain']}TESTCD")
                if code:
                    found.add((f"sdtm.{sdtm['domain']}", f"{sdtm['domain']}TESTCD = {code}"))
            for parent in rec.get("adam", []):
                found |= codes(parent)
            memo[key] = found
        return memo[key]

    for rec in records:
        for name, code in codes(rec):
            scope.setdefault(name, set()).add(code)
    return scope


def raw_forms(rules: list[dict[str, Any]]) -> set[str]:
    return {parent.split(".")[1] for r in rules for parent in r["from"] if parent.startswith("raw.")}


def keep_raw(records: list[dict[str, Any]], forms: set[str]) -> None:
    """Drop the raw rows of forms that are not on the traced path (a DM record is built from several forms)."""
    for rec in records:
        for sdtm in rec.get("sdtm", []):
            sdtm["raw"] = [r for r in sdtm["raw"] if r["file"].rsplit("/", 1)[-1].rsplit(".", 1)[0] in forms]
        keep_raw(rec.get("adam", []), forms)


def spec_text(root: Path, ref: str, cache: dict[str, list[str]]) -> str:
    """The spec line ``ref`` (``specs/adam/ADRS.yaml:48``) and the lines indented under it."""
    name, _, line = ref.rpartition(":")
    if not name or not line.isdigit():
        return ""
    if name not in cache:
        path = root / name
        try:
            cache[name] = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        except (OSError, UnicodeDecodeError):
            cache[name] = []
    lines = cache[name]
    start = int(line) - 1
    if not 0 <= start < len(lines):
        return ""
    first = lines[start]
    stripped = first.lstrip()
    base = len(first) - len(stripped) + (2 if stripped.startswith("- ") else 0)
    out = [first]
    for text in lines[start + 1:start + SPEC_LINES]:
        if text.strip() and len(text) - len(text.lstrip()) < base + (0 if stripped.startswith("- ") else 1):
            break
        out.append(text)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)
