"""Spec layer (TLF stage): what a table or listing spec and its template refer to, checked before data.

- every variable a TLF spec names (block variables, time and censor variables, covariates,
  listing columns and sort keys, the columns its filters read) must be declared by the ADaM
  spec of the dataset it is read from;
- every name a template reads from its context (``{{ methods.ORR.ci }}``) must be part of the
  context the TLF stage passes it: ``template_context_shape`` declares that shape per output,
  and the template's Jinja syntax tree is walked against it (``jinja2.meta``).

Each problem is a ``SpecError`` naming the spec (file:line:column) or template (file:line), the
key path and the closest valid names.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from tlfgen.errors import Location, SpecError
from tlfgen.spec.base import closest, format_key_path

#: a value the template may use freely (text, numbers, lists: their own attributes are not checked)
LEAF: None = None
#: key of a mapping whose keys are data (arm codes): every key has the shape below it
ANY_KEY = "*"

#: the analyses each block kind records, by role (``Analysis.role``), given the block
_ROLES = {
    "categorical": lambda b: ["count", *(["test"] if b.test != "none" else [])],
    "continuous": lambda b: ["summary", *(["test"] if b.test != "none" else [])],
    "rate": lambda b: ["ci", *(["test"] if b.test != "none" else []), *(["difference"] if b.difference else [])],
    "tte": lambda b: ["events", "median", "hr", *(["logrank"] if b.logrank_p else [])],
    "followup": lambda b: ["summary"],
    "ae_by_term": lambda b: ["count"],
    "regression": lambda b: ["univariable", "multivariable"],
}

_COMMON = ("output_id", "study_id", "cutoff", "population", "population_filter")


def template_context_shape(spec: Any) -> dict[str, Any]:
    """The names the TLF stage passes an output's template (``tlf.tables`` / ``tlf.listings``).

    Nested dicts are mappings with known keys; ``LEAF`` is a value used as is.
    """
    shape: dict[str, Any] = {name: LEAF for name in _COMMON}
    shape["arms"] = {ANY_KEY: {"label": LEAF, "n": LEAF}}
    if getattr(spec, "type", None) == "listing":
        shape.update(records=LEAF, subjects=LEAF)
        return shape
    shape.update(treatment=LEAF, reference=LEAF, notes=LEAF, p_values=LEAF)
    shape["methods"] = {b.id: {role: LEAF for role in _ROLES.get(b.kind, lambda _: [])(b)} for b in spec.blocks}
    shape["blocks"] = {b.id: {name: LEAF for name in type(b).model_fields} for b in spec.blocks}
    return shape


# ---------------------------------------------------------------- variables


def check_variables(out: Any, declared: Mapping[str, list[str]], adam_files: Mapping[str, str]) -> list[SpecError]:
    """Variables ``out`` (a ``LoadedOutput``) names that the ADaM specs of its datasets do not declare.

    ``declared``: ADaM dataset -> its variables; ``adam_files``: dataset -> its spec file.
    """
    spec, source = out.spec, out.source
    errors: list[SpecError] = []

    def need(dataset: str, variable: str | None, key: tuple, *, also: tuple[str, ...] = ()) -> None:
        if not variable:
            return
        if dataset not in declared:
            near = closest(dataset, declared)
            errors.append(SpecError(
                f"dataset {dataset} has no ADaM spec", location=source.location(key), key_path=format_key_path(key),
                hint=("did you mean " + " or ".join(near) + "?") if near else
                "ADaM datasets: " + ", ".join(sorted(declared))))
            return
        names = list(dict.fromkeys((dataset, *also)))
        if any(variable in declared.get(d, ()) for d in names):
            return
        near = closest(variable, list(dict.fromkeys(v for d in names for v in declared.get(d, ()))))
        where = " or ".join(f"{d} ({adam_files.get(d, 'no spec')})" for d in names)
        errors.append(SpecError(
            f"variable {variable} is not declared by the ADaM spec of {where}",
            location=source.location(key), key_path=format_key_path(key),
            hint=("did you mean " + " or ".join(near) + "?") if near else
            f"declare {variable} in {adam_files.get(dataset, 'the ADaM spec')} or name another variable"))

    def need_filter(dataset: str, filter_key: str, key: tuple) -> None:
        expr = out.filters.get(filter_key)
        for column in sorted(expr.columns) if expr is not None else ():
            need(dataset, column, key)

    pop = spec.population
    need_filter(pop.dataset, "population", ("population", "filter"))
    if spec.type == "listing":
        need(pop.dataset, spec.arm, ("arm",))
        need_filter(spec.dataset, "listing", ("filter",))
        for i, col in enumerate(spec.columns):
            if col.source:
                need(col.source, col.variable, ("columns", i, "variable"))
            else:
                need(spec.dataset, col.variable, ("columns", i, "variable"), also=("ADSL",))
        listed = {c.variable for c in spec.columns}
        for i, key in enumerate(spec.sort):
            if key not in listed:
                need(spec.dataset, key, ("sort", i))
        return errors
    need(pop.dataset, spec.columns.by, ("columns", "by"))
    for i, block in enumerate(spec.blocks):
        at = ("blocks", i)
        need_filter(block.dataset, block.id, at + ("filter",))
        for name in ("variable", "time", "censor", "term", "grade", "soc"):
            if name in type(block).model_fields and (block.kind != "regression" or block.model == "cox"
                                                     or name not in ("time", "censor")):
                need(block.dataset, getattr(block, name), at + (name,))
        if block.kind == "rate":
            need_filter(block.dataset, f"{block.id}.responder", at + ("responder",))
        if block.kind == "regression":
            need_filter(block.dataset, f"{block.id}.responder", at + ("response",))
            for j, cov in enumerate(block.covariates):
                need(block.dataset, cov.variable, at + ("covariates", j, "variable"), also=("ADSL",))
    return errors


# ---------------------------------------------------------------- templates


def check_template(env: Any, source_text: str, name: str, display: str, shape: Mapping[str, Any],
                   output: str) -> list[SpecError]:
    """Names template ``name`` reads from its context that ``shape`` does not provide."""
    from jinja2 import meta, nodes

    tree = env.parse(source_text, name=name)
    roots = meta.find_undeclared_variables(tree)
    errors: list[SpecError] = []
    seen: set[tuple] = set()

    def report(line: int, path: list[str], level: Mapping[str, Any], bad: str) -> None:
        if (line, tuple(path)) in seen:
            return
        seen.add((line, tuple(path)))
        choices = [k for k in level if k != ANY_KEY]
        near = closest(bad, choices)
        shown = ".".join(path)
        errors.append(SpecError(
            f"template names '{shown}', which the context of {output} does not provide",
            location=Location(display, line), key_path=shown,
            hint=("did you mean " + " or ".join(f"'{'.'.join(path[:-1] + [n])}'" for n in near) + "?") if near
            else ("available here: " + ", ".join(sorted(choices))) if choices else None))

    chained: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        chained.add(id(node.node))
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        if id(node) in chained:
            continue  # part of a longer chain, checked with it
        path = _chain(node)
        if path is None or path[0] not in roots or path[0] in env.globals:
            continue
        level: Any = shape
        for depth, part in enumerate(path):
            if level is LEAF:
                break
            if part in level:
                level = level[part]
            elif ANY_KEY in level:
                level = level[ANY_KEY]
            else:
                report(node.lineno, path[:depth + 1], level, part)
                break
    return errors


def _chain(node: Any) -> list[str] | None:
    """``methods.ORR.ci`` / ``methods['ORR'].ci`` as ['methods', 'ORR', 'ci']; None when not a plain chain."""
    from jinja2 import nodes

    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return parts[::-1]
        else:
            return None
        node = node.node


def check_outputs(outputs: Iterable[Any], templates: Any, declared: Mapping[str, list[str]] | None,
                  adam_files: Mapping[str, str]) -> list[SpecError]:
    """Variable references of every output (when the ADaM specs loaded) and names in its template."""
    errors: list[SpecError] = []
    for out in outputs:
        if declared is not None:
            errors += check_variables(out, declared, adam_files)
        path = templates.folder / out.template
        if not path.is_file():
            continue
        errors += check_template(templates.env, path.read_text(encoding="utf-8"), out.template,
                                 templates.display(out.template), template_context_shape(out.spec), out.id)
    return errors
