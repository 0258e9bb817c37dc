"""Spec layer: the Jinja sandbox templates run in, with limits on size, depth and time.

``jinja2.sandbox.SandboxedEnvironment`` keeps templates away from Python internals; it does
not stop a template from running for ever or filling the memory. ``LimitedSandbox`` adds,
for one render (a title block, a cell macro, a whole output template):

- ``range()`` of at most ``MAX_RANGE`` items, and at most ``MAX_ITERATIONS`` range items in
  all (nested ``range(100000)`` loops stop after a million steps instead of 10**10);
- macro calls nested at most ``MAX_DEPTH`` deep (a recursive macro stops at once);
- ``*`` building a text or list of at most ``MAX_TEXT`` items, ``**`` of at most
  ``MAX_POWER_BITS`` bits, and a rendered text of at most ``MAX_TEXT`` characters;
- ``MAX_SECONDS`` of time, checked at every call and every range step.

A limit reached while rendering is a ``TemplateLimitError`` (a sandbox ``SecurityError``),
reported by ``tlf.text`` as a SpecError with the template file and line (exit 2).
``check_template_limits`` finds the plain cases before any data is read (``tlfgen check``):
a ``range`` or ``*``/``**`` of literals over the limits, nested literal ranges over the
iteration budget, a macro that calls itself (directly or through other macros).
"""

from __future__ import annotations

import math
import time
from typing import Any, Iterator

from jinja2 import nodes
from jinja2.runtime import Macro
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_RANGE = 10_000
MAX_ITERATIONS = 1_000_000
MAX_DEPTH = 50
MAX_TEXT = 1_000_000
MAX_POWER_BITS = 4096
MAX_SECONDS = 10.0


class TemplateLimitError(SecurityError):
    """A template went over one of the limits of ``LimitedSandbox``."""


class _Range:
    """``range`` that counts every step against the render's budget."""

    def __init__(self, env: LimitedSandbox, items: range) -> None:
        self._env, self._items = env, items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[int]:
        for item in self._items:
            self._env.tick()
            yield item

    def __repr__(self) -> str:
        return repr(self._items)


class LimitedSandbox(SandboxedEnvironment):
    """The sandbox with the limits of the module docstring; ``begin()`` starts a render's budget."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = self._range
        self.begin()

    def begin(self) -> None:
        self._deadline = time.monotonic() + MAX_SECONDS
        self._iterations = 0
        self._depth = 0

    def tick(self) -> None:
        self._iterations += 1
        if self._iterations > MAX_ITERATIONS:
            raise TemplateLimitError(f"the template loops more than {MAX_ITERATIONS:,} times in one render")
        if time.monotonic() > self._deadline:
            raise TemplateLimitError(f"the template ran for more than {MAX_SECONDS:g} seconds")

    def _range(self, *args: int) -> _Range:
        items = range(*args)
        if len(items) > MAX_RANGE:
            raise TemplateLimitError(f"range() of {len(items):,} items; a template may loop over at most "
                                     f"{MAX_RANGE:,}")
        return _Range(self, items)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if time.monotonic() > __self._deadline:
            raise TemplateLimitError(f"the template ran for more than {MAX_SECONDS:g} seconds")
        if not isinstance(__obj, Macro):
            return super().call(__context, __obj, *args, **kwargs)
        __self._depth += 1
        try:
            if __self._depth > MAX_DEPTH:
                raise TemplateLimitError(f"macro {__obj.name}() is nested more than {MAX_DEPTH} calls deep "
                                         "(does it call itself?)")
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            __self._depth -= 1

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            size = _repeat_size(left, right)
            if size is not None and size > MAX_TEXT:
                raise TemplateLimitError(f"'*' would build {size:,} items; a template may build at most {MAX_TEXT:,}")
        elif operator == "**" and _power_bits(left, right) > MAX_POWER_BITS:
            raise TemplateLimitError(f"{left!r} ** {right!r} is too large a number for a template")
        return super().call_binop(context, operator, left, right)


def _repeat_size(left: Any, right: Any) -> int | None:
    """Items ``left * right`` builds when it repeats a text or list; None for numbers."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and not isinstance(times, bool):
            return len(seq) * max(times, 0)
    return None


def _power_bits(base: Any, exponent: Any) -> float:
    """About how many bits ``base ** exponent`` has (0 when it is not a growing integer power)."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2 or exponent <= 0:
        return 0.0
    return exponent * math.log2(abs(base))


# ---------------------------------------------------------------- check without data

#: a literal expression whose value is too large to compute
_HUGE = object()


def _literal(node: nodes.Node) -> Any:
    """The value of a literal expression (ints, texts, + - * ** of them); None when it is not one;
    ``_HUGE`` when computing it would go over the limits."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg):
        value = _literal(node.node)
        return -value if isinstance(value, int) else value if value is _HUGE else None
    if isinstance(node, (nodes.Add, nodes.Sub, nodes.Mul, nodes.Pow)):
        left, right = _literal(node.left), _literal(node.right)
        if left is _HUGE or right is _HUGE:
            return _HUGE
        if left is None or right is None:
            return None
        if isinstance(node, nodes.Pow):
            return _HUGE if _power_bits(left, right) > MAX_POWER_BITS else _apply(pow, left, right)
        if isinstance(node, nodes.Mul):
            size = _repeat_size(left, right)
            if size is not None and size > MAX_TEXT:
                return _HUGE
            return _apply(lambda a, b: a * b, left, right)
        return _apply((lambda a, b: a + b) if isinstance(node, nodes.Add) else (lambda a, b: a - b), left, right)
    return None


def _apply(op: Any, left: Any, right: Any) -> Any:
    try:
        return op(left, right)
    except (TypeError, ValueError, ArithmeticError):
        return None


def _range_size(node: nodes.Node) -> int | None:
    """Items of a ``range(...)`` call of literals (a huge one counts as MAX_RANGE + 1 or more)."""
    if not (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range"):
        return None
    args = [_literal(a) for a in node.args]
    if node.kwargs or node.dyn_args or node.dyn_kwargs or not 1 <= len(args) <= 3:
        return None
    if any(a is _HUGE for a in args):
        return MAX_RANGE * MAX_RANGE
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return None
    try:
        return len(range(*args))
    except (ValueError, OverflowError):
        return MAX_RANGE * MAX_RANGE


def check_template_limits(tree: nodes.Template) -> tuple[int, str] | None:
    """The first (line, problem) a template's syntax tree shows against the limits, else None."""
    problems: list[tuple[int, str]] = []
    for call in tree.find_all(nodes.Call):
        size = _range_size(call)
        if size is not None and size > MAX_RANGE:
            problems.append((call.lineno, f"range() of {size:,} items; a template may loop over at most {MAX_RANGE:,}"))
    for expr in tree.find_all((nodes.Mul, nodes.Pow)):
        if _literal(expr) is _HUGE:
            problems.append((expr.lineno, "a '*' or '**' of literals builds a value too large for a template "
                                          f"(at most {MAX_TEXT:,} characters, {MAX_POWER_BITS:,}-bit numbers)"))
    for loop in tree.find_all(nodes.For):
        steps = _nested_steps(loop)
        if steps > MAX_ITERATIONS:
            problems.append((loop.lineno, f"nested loops over literal ranges take {steps:,} steps; a template may "
                                          f"take at most {MAX_ITERATIONS:,}"))
    problems += _recursive_macros(tree)
    return min(problems, key=lambda p: p[0]) if problems else None  # the first line; there the first found


def _nested_steps(loop: nodes.For) -> int:
    """Steps of ``loop`` times those of the deepest literal-range loops inside it."""
    size = _range_size(loop.iter)
    if size is None:
        return 0
    inner = [_nested_steps(child) for child in _direct_loops(loop)]
    return size * max([1] + [i for i in inner if i])


def _direct_loops(loop: nodes.For) -> list[nodes.For]:
    found: list[nodes.For] = []
    stack = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.For):
            found.append(node)
        else:
            stack.extend(node.iter_child_nodes())
    return found


def _recursive_macros(tree: nodes.Template) -> list[tuple[int, str]]:
    """Macros that call themselves, directly or through other macros of the template."""
    macros = {m.name: m for m in tree.find_all(nodes.Macro)}
    calls: dict[str, dict[str, int]] = {}
    for name, macro in macros.items():
        calls[name] = {}
        for call in macro.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in macros:
                calls[name].setdefault(call.node.name, call.lineno)
    problems, reported = [], set()
    for name in macros:  # in source order; each cycle once, from its first macro
        path = _cycle_from(name, calls)
        if path is not None and not reported & set(path):
            reported |= set(path)
            chain = " -> ".join(f"{p}()" for p in path)
            problems.append((calls[path[-2]][name], f"macro {name}() calls itself ({chain}); templates may not recurse"))
    return problems


def _cycle_from(start: str, calls: dict[str, dict[str, int]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for callee in calls.get(name, {}):
            if callee == start:
                return path + [start]
            if callee not in seen:
                seen.add(callee)
                stack.append((callee, path + [callee]))
    return None
