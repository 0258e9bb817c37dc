"""Spec layer: errors an expression holds whatever the data (checked when it is parsed).

``1 / 0``, ``date('2021-02-29')``, ``-'x'`` and ``'a' + 1`` would fail (or give nonsense) on every
row at run time; ``check_literals`` reports them at ``tlfgen check`` with the spec's file:line.
"""

from __future__ import annotations

import ast
from typing import Any

from tlfgen.errors import ExpressionError, Location

_NAMED = {"True": True, "False": False, "None": None, "null": None, "true": True, "false": False}
_NOT_LITERAL = object()
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _literal(node: ast.AST) -> Any:
    """The value of a literal node (``3``, ``-3``, ``'CR'``, ``null``), else ``_NOT_LITERAL``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMED:
        return _NAMED[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    return _NOT_LITERAL


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _refuse(text: str, location: Location | None, problem: str, hint: str) -> ExpressionError:
    return ExpressionError(f"expression '{text}': {problem}", location=location, hint=hint)


def check_literals(tree: ast.AST, text: str, location: Location | None) -> None:
    """Raise ``ExpressionError`` for an operation on literals that can never succeed."""
    for node in ast.walk(tree):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            if isinstance(_literal(node.operand), str):
                raise _refuse(text, location, f"unary {'-' if isinstance(node.op, ast.USub) else '+'} "
                              f"on the text {_literal(node.operand)!r}", "a sign applies to numbers only")
        elif isinstance(node, ast.BinOp) and type(node.op) in _SYMBOL:
            left, right, symbol = _literal(node.left), _literal(node.right), _SYMBOL[type(node.op)]
            if isinstance(node.op, ast.Div) and _is_number(right) and right == 0:
                raise _refuse(text, location, "division by zero", "divide by a number other than 0")
            texts = [isinstance(v, str) for v in (left, right)]
            numbers = [_is_number(v) for v in (left, right)]
            if any(texts) and (any(numbers) or (all(texts) and symbol != "+")):
                raise _refuse(text, location, f"'{symbol}' between {left!r} and {right!r}: "
                              f"{'text and a number' if any(numbers) else 'two texts'}",
                              "arithmetic needs numbers (number(X) reads text as a number); "
                              "'+' joins two texts")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "date"
              and len(node.args) == 1 and isinstance(_literal(node.args[0]), str)):
            _check_date(_literal(node.args[0]), text, location)


def _check_date(value: str, text: str, location: Location | None) -> None:
    """``date('...')`` with a literal: it must be a real date (what the evaluator reads with pandas)."""
    import pandas as pd

    try:
        parsed = pd.Timestamp(value)
    except (ValueError, OverflowError, TypeError):
        parsed = None
    if parsed is None or pd.isna(parsed):
        raise _refuse(text, location, f"date({value!r}) is not a valid date",
                      "write an existing date as YYYY-MM-DD, e.g. date('2021-02-28')")
