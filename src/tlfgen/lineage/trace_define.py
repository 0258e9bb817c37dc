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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlfgen.errors import DataError, UsageError
from tlfgen.lineage.trace import TraceContext, _unknown

_MT = re.compile(r"^MT\.([A-Z0-9]+)\.([A-Z0-9_]+)(?:\.(.+))?$", re.I)


def _define_file(ctx: TraceContext, dataset: str) -> Path:
    return (ctx.study.adam_dir if dataset.upper().startswith("AD") else ctx.study.sdtm_dir) / "define.xml"


@dataclass(frozen=True)
class DefineIndex:
    """One define.xml, indexed once: ItemRefs by (dataset, variable, value), ItemDefs and MethodDefs
    by OID, and the file line of each ItemRef and MethodDef."""

    refs: dict[tuple[str, str, str], ET.Element]  # value "" for the variable itself
    items: dict[str, ET.Element]
    methods: dict[str, ET.Element]
    ref_lines: dict[str, int]  # ItemOID -> line of its (first) ItemRef
    method_lines: dict[str, int]


def _define(ctx: TraceContext, path: Path) -> DefineIndex:
    """The define.xml at ``path``, parsed and indexed once."""
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
        refs: dict[tuple[str, str, str], ET.Element] = {}
        for group in _all(root, "ItemGroupDef"):
            for ref in _all(group, "ItemRef"):
                refs.setdefault((group.get("Name", ""), *_split_item(ref.get("ItemOID", ""), 2)), ref)
        for values in _all(root, "ValueListDef"):
            for ref in _all(values, "ItemRef"):
                refs.setdefault(tuple(_split_item(ref.get("ItemOID", ""), 3)), ref)  # type: ignore[arg-type]
        ref_lines: dict[str, int] = {}
        method_lines: dict[str, int] = {}
        for i, line in enumerate(text.splitlines()):
            if (found := _REF.search(line)) is not None:
                ref_lines.setdefault(found.group(1), i + 1)
            elif (found := _METHOD.search(line)) is not None:
                method_lines.setdefault(found.group(1), i + 1)
        ctx._cache[key] = DefineIndex(refs, {e.get("OID", ""): e for e in _all(root, "ItemDef")},
                                      {e.get("OID", ""): e for e in _all(root, "MethodDef")}, ref_lines, method_lines)
    return ctx._cache[key]


_REF = re.compile(r'<ItemRef ItemOID="([^"]+)"')
_METHOD = re.compile(r'<MethodDef OID="([^"]+)"')


def _split_item(oid: str, parts: int) -> list[str]:
    """``IT.ADSL.AGEGR1`` -> [ADSL, AGEGR1] (parts 2: the variable, dataset from its group);
    ``IT.ADTTE.AVAL.PFS`` -> [ADTTE, AVAL, PFS] (parts 3: a value-level item)."""
    names = oid.split(".", 3)[1:]
    if parts == 2:
        return [names[1] if len(names) > 1 else "", ""]
    return (names + ["", "", ""])[:3]


def _all(element: ET.Element, name: str) -> list[ET.Element]:
    """The elements named ``name`` under ``element`` in any namespace (ODM or def:)."""
    return [e for e in element.iter() if e.tag.rpartition("}")[2] == name]


def _files(ctx: TraceContext) -> list[Path]:
    return [p for p in (ctx.study.sdtm_dir / "define.xml", ctx.study.adam_dir / "define.xml") if p.is_file()]


def method_ids(ctx: TraceContext) -> list[str]:
    """The OIDs of every MethodDef of sdtm/define.xml and adam/define.xml (the files that exist)."""
    return [oid for path in _files(ctx) for oid in _define(ctx, path).methods]


def method_items(ctx: TraceContext) -> list[tuple[str, str, str]]:
    """(dataset, variable, value) of every item with a MethodOID, in define.xml order (SDTM, then ADaM)."""
    return [key for path in _files(ctx) for key, ref in _define(ctx, path).refs.items() if ref.get("MethodOID")]


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return " ".join(" ".join(t.text or "" for t in _all(element, "TranslatedText")).split())


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
        source = f"{_package_relative(file)}:{line}"
    except (OSError, TypeError):
        source = ""
    return {"function": f"{func.__module__}.{func.__name__}", "summary": found.summary, "source": source}


def _function_of(ctx: TraceContext, name: str) -> dict[str, str]:
    """``_function`` once per derivation in a context (the page traces every method; the source
    lines of a function are read with ``inspect``, the slow part)."""
    key = ("derivation_function", name)
    if key not in ctx._cache:
        ctx._cache[key] = _function(name)
    return ctx._cache[key]


def _package_relative(file: Path) -> str:
    """``tlfgen/adam/common.py`` for a module of this package, wherever it is installed (the
    checkout's folder may itself be called tlfgen); the file name for any other file."""
    import tlfgen

    try:
        return file.resolve().relative_to(Path(tlfgen.__file__).resolve().parent.parent).as_posix()
    except ValueError:
        return file.name


def trace_define(ctx: TraceContext, target: str, param: str | None = None) -> dict[str, Any]:
    """A define.xml method traced: the MethodDef (define.xml file:line, text), the variable's spec line
    and text, and each rule that makes it with its spec text and derivation function."""
    from tlfgen.lineage.paths import spec_text

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
    index = _define(ctx, path)
    ref = index.refs.get((dataset, variable, value or ""))
    if ref is None:
        items = sorted(f"{d}.{v}" for d, v, x in index.refs if not x)
        raise _unknown(f"variable in {ctx.study.display(path)}", f"{dataset}.{variable}" + (f" [{value}]" if value else ""),
                       items)
    item_oid = ref.get("ItemOID", "")
    item = index.items.get(item_oid)
    origin = next(iter(_all(item, "Origin")), None) if item is not None else None
    oid = ref.get("MethodOID")
    method = index.methods.get(oid or "")
    display = ctx.study.display(path)
    cache: dict[str, list[str]] = ctx._cache.setdefault("spec_lines", {})  # spec files read once per context
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
            entry.update(_function_of(ctx, name.split(" (step ")[0]))
        rules.append(entry)
    return {
        "kind": "define", "define": display, "variable": node, "item": item_oid,
        "item_line": f"{display}:{index.ref_lines.get(item_oid, 0)}",
        "origin": {"type": origin.get("Type", "") if origin is not None else "", "text": _text(origin)},
        "method": None if method is None else {
            "oid": oid, "name": method.get("Name", ""), "type": method.get("Type", ""), "description": _text(method),
            "line": f"{display}:{index.method_lines.get(oid or '', 0)}"},
        "metadata": meta, "spec": meta.get("spec", ""), "spec_text": spec_text(ctx.study.root, meta.get("spec", ""), cache),
        "rules": rules,
    }
