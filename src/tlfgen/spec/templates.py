"""Spec layer: the sandboxed Jinja environment that owns the wording of outputs (rendered by the TLF stage).

Templates live in ``specs/templates/*.j2``:

- ``cells.j2`` holds one macro per cell format (``n_pct(n, pct)`` -> ``27 (90.0)``,
  ``ci(lower, upper)`` -> ``73.5, 97.9`` ...). Python rounds the numbers (half up,
  ``tlfgen.stats.formatting``) and passes the rounded text; the macro assembles it.
  A study without its own ``cells.j2`` gets the package's ``tlfgen/tlf/default_cells.j2``.
- ``<output>.j2`` (one per output, e.g. ``T2.j2``) sets ``title`` and ``footnotes``
  with ``{% set title %}...{% endset %}`` blocks; footnotes are one per line.

The environment is ``spec.sandbox.LimitedSandbox`` (Jinja's ``SandboxedEnvironment`` with
limits on loops, recursion, size and time) with ``StrictUndefined``: a template reaching for
Python internals (``''.__class__``), an unknown name, or going over a limit fails with a
``SpecError`` naming the template file and line; ``tlfgen check`` finds the plain cases
(a huge literal range, a recursive macro) without data.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import nodes

from tlfgen.errors import Location, SpecError
from tlfgen.spec.sandbox import MAX_TEXT, LimitedSandbox, check_template_limits

CELLS_TEMPLATE = "cells.j2"
#: the cell formats used when a study's specs/templates has no cells.j2 (package data)
DEFAULT_CELLS = "default_cells.j2"
#: macros every cells.j2 must define, with the arguments Python passes
REQUIRED_MACROS: dict[str, tuple[str, ...]] = {
    "n_pct": ("n", "pct"),
    "ci": ("lower", "upper"),
    "est_ci": ("est", "lower", "upper"),
    "mean_sd": ("mean", "sd"),
    "median_range": ("median", "min", "max"),
    "column_header": ("label", "n"),
    "p_value": ("p",),
}


class TemplateSet:
    """The compiled templates of one study folder."""

    def __init__(self, folder: Path, *, display_prefix: str = "specs/templates") -> None:
        self.folder = Path(folder)
        self.display_prefix = display_prefix
        self.env = LimitedSandbox(
            loader=jinja2.ChoiceLoader([
                jinja2.FileSystemLoader(str(self.folder)),
                jinja2.DictLoader({CELLS_TEMPLATE: default_cells_text()}),
            ]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._templates: dict[str, jinja2.Template] = {}
        self._cells: Any = None

    # -- loading -----------------------------------------------------------------
    def display(self, name: str) -> str:
        if name == CELLS_TEMPLATE and not (self.folder / name).is_file():
            return f"tlfgen/tlf/{DEFAULT_CELLS} (built in)"
        return f"{self.display_prefix}/{name}"

    def names(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*.j2")) if self.folder.is_dir() else []

    def template(self, name: str) -> jinja2.Template:
        if name not in self._templates:
            try:
                self._templates[name] = self.env.get_template(name)
            except jinja2.TemplateNotFound as exc:
                raise SpecError(
                    f"template {name} not found", location=Location(self.display(name)),
                    hint=f"create {self.display(name)} or name an existing template in the spec",
                ) from exc
            except jinja2.TemplateSyntaxError as exc:
                raise SpecError(
                    f"template syntax error: {exc.message}", location=Location(self.display(name), exc.lineno),
                ) from None
        return self._templates[name]

    def compile_all(self) -> list[str]:
        """Compile every template and check cells.j2 (the study's or the default) defines the cell
        macros; returns the names of the study's templates."""
        names = self.names()
        for name in names:
            self.template(name)
            self.check_internals(name)
        self.cells()
        return names

    def check_internals(self, name: str) -> None:
        """Refuse, before any rendering, a template naming a private attribute (``x.__class__``,
        ``x['_y']``, ``x|attr('__globals__')``): the sandbox would refuse it at render time, but
        ``tlfgen check`` should say so without data."""
        source = (self.folder / name).read_text(encoding="utf-8")
        tree = self.env.parse(source, name=name)
        over = check_template_limits(tree)
        if over is not None:
            raise SpecError(f"template goes over a limit: {over[1]}", location=Location(self.display(name), over[0]),
                            hint="templates word the outputs; loops, sizes and recursion are limited (spec/sandbox.py)")
        found = [(node.lineno, attr) for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter))
                 for attr in [_private_name(node)] if attr is not None]
        if found:
            line = min(n for n, _ in found)
            # a chain x.a.b is found outside-in: list it in reading order
            names = list(dict.fromkeys(a for n, a in reversed(found) if n == line))
            raise SpecError(
                "template reaches for Python internals (" + ", ".join(f"'{a}'" for a in names)
                + "), which is not allowed",
                location=Location(self.display(name), line),
                hint="templates may use the variables tlfgen passes and Jinja filters only",
            )

    # -- rendering -----------------------------------------------------------------
    def cells(self) -> Any:
        """The module of cells.j2 (its macros), checked once."""
        if self._cells is None:
            module = self._run(CELLS_TEMPLATE, lambda t: t.make_module({}))
            for macro, args in REQUIRED_MACROS.items():
                found = getattr(module, macro, None)
                if found is None or not callable(found):
                    raise SpecError(
                        f"template does not define the macro {macro}({', '.join(args)})",
                        location=Location(self.display(CELLS_TEMPLATE)),
                        hint="cells.j2 must define: " + ", ".join(f"{m}({', '.join(a)})" for m, a in REQUIRED_MACROS.items()),
                    )
            self._cells = module
        return self._cells

    def cell(self, macro: str, **parts: str) -> str:
        """Render one cell format macro from cells.j2 with already-rounded parts."""
        fn = getattr(self.cells(), macro)
        return self._guard(CELLS_TEMPLATE, lambda: str(fn(**parts)).strip())

    def output_text(self, name: str, context: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Title lines and footnote lines set by an output template.

        Printed text names a population in words: ``population_filter`` is given to the template
        as the population's label ("Full analysis set"), never as its expression ("FASFL == 'Y'",
        which stays in the analysis metadata and the ARD).
        """
        context = in_words(context)
        module = self._run(name, lambda t: t.make_module(context))
        written = len(str(getattr(module, "title", ""))) + len(str(getattr(module, "footnotes", "")))
        if written > MAX_TEXT:
            raise SpecError(f"template wrote {written:,} characters of title and footnotes; a template may "
                            f"write at most {MAX_TEXT:,}", location=Location(self.display(name)),
                            hint="templates word the outputs: titles, footnotes and cells")
        title = _lines(getattr(module, "title", ""))
        footnotes = _lines(getattr(module, "footnotes", ""))
        if not title:
            raise SpecError(
                "template sets no title", location=Location(self.display(name)),
                hint="add {% set title %}Table ...{% endset %}",
            )
        return title, footnotes

    def render_string(self, name: str, context: dict[str, Any]) -> str:
        return self._run(name, lambda t: t.render(context))

    def _run(self, name: str, action: Any) -> Any:
        template = self.template(name)
        return self._guard(name, lambda: action(template))

    def _guard(self, name: str, action: Any) -> Any:
        self.env.begin()
        try:
            result = action()
        except jinja2.TemplateError as exc:
            line = _template_line(sys.exc_info()[2], self.folder / name, self._templates.get(name))
            what = "refused by the sandbox" if isinstance(exc, jinja2.sandbox.SecurityError) else "failed"
            raise SpecError(
                f"template {what}: {exc}", location=Location(self.display(name), line),
                hint="templates may use the variables tlfgen passes and Jinja filters only",
            ) from None
        except (ArithmeticError, RecursionError, MemoryError, TypeError, ValueError) as exc:
            line = _template_line(sys.exc_info()[2], self.folder / name, self._templates.get(name))
            text = "it nests too deeply" if isinstance(exc, RecursionError) else \
                "it needs too much memory" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
            raise SpecError(
                f"template failed: {text}", location=Location(self.display(name), line),
                hint="templates may use the variables tlfgen passes and Jinja filters only",
            ) from None
        if isinstance(result, str) and len(result) > MAX_TEXT:
            raise SpecError(f"template wrote {len(result):,} characters; a template may write at most {MAX_TEXT:,}",
                            location=Location(self.display(name)),
                            hint="templates word the outputs: titles, footnotes and cells")
        return result


def default_cells_text() -> str:
    """The package's default cell formats (``tlfgen/tlf/default_cells.j2``)."""
    return resources.files("tlfgen.tlf").joinpath(DEFAULT_CELLS).read_text(encoding="utf-8")


def in_words(context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with ``population_filter`` replaced by the population's label when it has one."""
    label = context.get("population")
    if "population_filter" in context and isinstance(label, str) and label:
        return {**context, "population_filter": label}
    return context


def _private_name(node: Any) -> str | None:
    """The attribute name a Getattr/Getitem/attr-filter node uses when it starts with '_'."""
    if isinstance(node, nodes.Getattr):
        name = node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        name = node.arg.value
    elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const):
        name = node.args[0].value
    else:
        return None
    return name if isinstance(name, str) and name.startswith("_") else None


def _lines(value: Any) -> tuple[str, ...]:
    text = str(value)
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _template_line(tb: TracebackType | None, path: Path, template: jinja2.Template | None) -> int | None:
    """The template line of the last traceback frame inside the template file."""
    target = str(path)
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None or template is None:
        return None
    return template.get_corresponding_lineno(line)
