"""Lineage layer: ``tlfgen trace ADSL.AGEGR1 --define`` — a define.xml method back to its spec rule and derivation.

A reviewer reads a MethodDef in ``adam/define.xml`` (or ``sdtm/define.xml``) and asks where it is
made. The variable (or its value-level item: ``--param PFS``, ``MT.ADTTE.AVAL.PFS``) is looked up
in the define.xml as written (ItemGroupDef -> ItemRef -> MethodOID -> MethodDef, each with its
file:line), then in the variable graph: the spec line that declares the variable (file:line and
its text) and every rule that makes it, with the step's spec text and the registered derivation
function (its one-line summary and its source file:line). ``method_ids`` lists every MethodDef of
both files for the explorer page.
"""

from __future__ import annotations

import inspect
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tlfgen.errors import DataError, UsageError
from tlfgen.lineage.trace import TraceContext, _unknown

_MT = re.compile(r"^MT\.([A-Z0-9]+)\.([A-Z0-9_]+)(?:\.(.+))?$", re.I)


def _define_file(ctx: TraceContext, dataset: str) -> Path:
    return (ctx.study.adam_dir if dataset.upper().startswith("AD") else ctx.study.sdtm_dir) / "define.xml"


def _define(ctx: TraceContext, path: Path) -> tuple[ET.Element, list[str]]:
    """The parsed define.xml and its lines (for file:line), read once."""
    key = ("define", str(path))
    if key not in ctx._cache:
        if not path.is_file():
            raise DataError("define.xml not found", file=ctx.study.display(path),
                            hint="run the pipeline first (`tlfgen run`): the SDTM and ADaM stages write it")
        text = path.read_text(encoding="utf-8")
        try:
            root = ET.fromstring(text)  # a file this tool wrote (no DTD, no entities)
        except ET.ParseError as exc:
            raise DataError(f"define.xml does not parse: {exc}", file=ctx.study.display(path),
                            hint="run the stage that writes it again") from exc
        ctx._cache[key] = (root, text.splitlines())
    return ctx._cache[key]


def _all(element: ET.Element, name: str) -> list[ET.Element]:
    """The elements named ``name`` under ``element`` in any namespace (ODM or def:)."""
    return [e for e in element.iter() if e.tag.rpartition("}")[2] == name]


def _line(lines: list[str], needle: str) -> int:
    return next((i + 1 for i, line in enumerate(lines) if needle in line), 0)


def method_ids(ctx: TraceContext) -> list[str]:
    """The OIDs of every MethodDef of sdtm/define.xml and adam/define.xml (the files that exist)."""
    found = []
    for path in (ctx.study.sdtm_dir / "define.xml", ctx.study.adam_dir / "define.xml"):
        if path.is_file():
            root, _ = _define(ctx, path)
            found += [m.get("OID", "") for m in _all(root, "MethodDef")]
    return found


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return " ".join(" ".join(t.text or "" for t in _all(element, "TranslatedText")).split())


def _item_ref(root: ET.Element, dataset: str, variable: str, value: str | None) -> ET.Element | None:
    """The ItemRef of the variable in its ItemGroupDef, or of its value-level item in its ValueListDef."""
    if value:
        oid = f"IT.{dataset}.{variable}.{value}"
        return next((r for vl in _all(root, "ValueListDef") for r in _all(vl, "ItemRef")
                     if r.get("ItemOID") == oid), None)
    group = next((g for g in _all(root, "ItemGroupDef") if g.get("Name") == dataset), None)
    return None if group is None else next((r for r in _all(group, "ItemRef")
                                             if r.get("ItemOID") == f"IT.{dataset}.{variable}"), None)


def _function(name: str) -> dict[str, str]:
    """The registered derivation ``name``: its summary and where its function is written."""
    from tlfgen.registry import get_derivation

    try:
        found = get_derivation(name)
    except Exception:  # noqa: BLE001 - an unknown name (an SDTM rule such as "copy") has no function
        return {}
    func = inspect.unwrap(found.func)
    try:
        file = Path(inspect.getsourcefile(func) or "")
        lines, line = inspect.getsourcelines(func)
        line += next((i for i, text in enumerate(lines) if text.lstrip().startswith("def ")), 0)  # past decorators
        parts = file.parts
        source = "/".join(parts[parts.index("tlfgen"):]) + f":{line}" if "tlfgen" in parts else f"{file.name}:{line}"
    except (OSError, TypeError):
        source = ""
    return {"function": f"{func.__module__}.{func.__name__}", "summary": found.summary, "source": source}


def trace_define(ctx: TraceContext, target: str, param: str | None = None) -> dict[str, Any]:
    """A define.xml method traced: the MethodDef (define.xml file:line, text), the variable's spec line
    and text, and each rule that makes it with its spec text and derivation function."""
    from tlfgen.lineage.explorer_data import spec_text

    text = target.strip()
    matched = _MT.match(text)
    if matched:
        dataset, variable, value = matched.group(1).upper(), matched.group(2).upper(), matched.group(3)
    else:
        dataset, _, variable = text.upper().removeprefix("ADAM.").removeprefix("SDTM.").partition(".")
        value = None
    value = (param or value or "").upper() or None
    if not dataset or not variable:
        raise UsageError(f"'{target}' is not a variable or a method OID",
                         hint="e.g. tlfgen trace ADSL.AGEGR1 --define, or tlfgen trace MT.ADTTE.AVAL.PFS")
    path = _define_file(ctx, dataset)
    root, lines = _define(ctx, path)
    ref = _item_ref(root, dataset, variable, value)
    if ref is None:
        items = sorted(f"{g.get('Name')}.{r.get('ItemOID', '').split('.')[-1]}" for g in _all(root, "ItemGroupDef")
                       for r in _all(g, "ItemRef"))
        raise _unknown(f"variable in {ctx.study.display(path)}", f"{dataset}.{variable}" + (f" [{value}]" if value else ""),
                       items)
    item_oid = ref.get("ItemOID", "")
    item = next((i for i in _all(root, "ItemDef") if i.get("OID") == item_oid), None)
    origin = next(iter(_all(item, "Origin")), None) if item is not None else None
    oid = ref.get("MethodOID")
    method = next((m for m in _all(root, "MethodDef") if m.get("OID") == oid), None) if oid else None
    display = ctx.study.display(path)
    method_tag, item_tag = f'<MethodDef OID="{oid}"', f'ItemRef ItemOID="{item_oid}"'
    cache: dict[str, list[str]] = {}
    node = f"{'adam' if dataset.startswith('AD') else 'sdtm'}.{dataset}.{variable}" + (f"[{value}]" if value else "")
    if node not in ctx.graph.nodes:
        node = node.split("[")[0]
    meta = ctx.graph.nodes.get(node, {})
    rules = []
    for parent, rule in sorted(ctx.graph.parents.get(node, {}).items()):
        name, spec = rule.get("name", ""), rule.get("spec", "")
        known = next((r for r in rules if (r["rule"], r["spec"]) == (name, spec)), None)
        if known is not None:
            known["from"].append(parent)
            continue
        entry = {"rule": name, "kind": rule.get("kind", ""), "spec": spec, "spec_text": spec_text(ctx.study.root, spec, cache),
                 "from": [parent]}
        if rule.get("kind") == "derive":
            entry.update(_function(name.split(" (step ")[0]))
        rules.append(entry)
    return {
        "kind": "define", "define": display, "variable": node, "item": item_oid,
        "item_line": f"{display}:{_line(lines, item_tag)}",
        "origin": {"type": origin.get("Type", "") if origin is not None else "", "text": _text(origin)},
        "method": None if method is None else {
            "oid": oid, "name": method.get("Name", ""), "type": method.get("Type", ""), "description": _text(method),
            "line": f"{display}:{_line(lines, method_tag)}"},
        "metadata": meta, "spec": meta.get("spec", ""), "spec_text": spec_text(ctx.study.root, meta.get("spec", ""), cache),
        "rules": rules,
    }
