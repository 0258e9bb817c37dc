"""Spec layer: the safe expression language used in specs for filters and conditions.

Example: ``AVALC in ('CR', 'PR') and ADT >= TRTSDT``.

Text is parsed with Python's ``ast`` in ``eval`` mode, then every node is
checked against a whitelist; nothing is ever passed to ``eval``, ``exec`` or
``DataFrame.query``. Allowed:

- column names (``AVALC``) and literals (strings, numbers, ``True``/``False``,
  ``None``/``null``);
- comparisons ``== != < <= > >=`` (chains allowed), ``in`` / ``not in`` a
  tuple or list of literals, ``is None`` / ``is not None``;
- ``and``, ``or``, ``not``; arithmetic ``+ - * /`` and unary minus;
- the functions in ``FUNCTIONS`` (``is_missing``, ``upper``, ``date`` ...), among them
  ``if_else(cond, a, b)`` and ``case_when(c1, v1, c2, v2, ..., default)`` (dplyr's, vectorised),
  ``round(x, digits)`` (half away from zero, as SAS), ``floor``, ``number`` (text -> number);
  ``days_between(start, end)`` gives whole days between two dates.

Evaluation is vectorised over a pandas DataFrame. Missing values follow SQL:
a comparison with a missing operand is False; use ``is_missing(X)`` to test.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from tlfgen.errors import ExpressionError, Location
from tlfgen.spec.expr_literals import check_literals

MAX_EXPRESSION_LENGTH = 2000
MAX_NODES = 400

_COMPARE_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_BIN_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_LITERAL_NAMES = {"True": True, "False": False, "None": None, "null": None, "true": True, "false": False}


def _series(value: Any, index: pd.Index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    return pd.Series([value] * len(index), index=index, dtype=object if value is None else None)


def _is_text_column(x: Any) -> bool:
    """An object Series whose values are all str (or missing): safe to compute per distinct value."""
    return (isinstance(x, pd.Series) and x.dtype == object
            and pd.api.types.infer_dtype(x, skipna=True) in ("string", "empty"))


def compute_per_unique(x: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn(x.astype("string"))`` for a text column, computed once per distinct value.

    ``fn`` must map a missing value to a missing value (string methods do); the result
    has the dtype ``fn`` gives, aligned to ``x``'s index.
    """
    codes, uniques = pd.factorize(x)
    values = fn(pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype("string"))
    return pd.Series(values.array.take(codes, allow_fill=True), index=x.index, name=x.name)


def _is_blank(text: pd.Series) -> pd.Series:
    return text.str.strip() == ""


def _fn_is_missing(x: pd.Series) -> pd.Series:
    s = x if isinstance(x, pd.Series) else pd.Series([x])
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iufbM":  # never blank text
        return s.isna().astype("boolean")
    if _is_text_column(s):
        return s.isna() | compute_per_unique(s, _is_blank).fillna(False)
    return s.isna() | (s.astype("string").str.strip() == "").fillna(False)


def _fn_not_missing(x: pd.Series) -> pd.Series:
    return ~_fn_is_missing(x)


def _fn_str(method: str) -> Callable[[pd.Series], pd.Series]:
    def apply(text: pd.Series) -> pd.Series:
        return getattr(text.str, method)()

    def fn(x: pd.Series) -> pd.Series:
        return compute_per_unique(x, apply) if _is_text_column(x) else apply(x.astype("string"))

    fn.__name__ = method
    return fn


def _str_len(text: pd.Series) -> pd.Series:
    return text.str.len()


def _fn_length(x: pd.Series) -> pd.Series:
    return compute_per_unique(x, _str_len) if _is_text_column(x) else _str_len(x.astype("string"))


def _fn_date(x: Any) -> Any:
    if isinstance(x, pd.Series):
        return pd.to_datetime(x, errors="coerce", format="ISO8601")
    return pd.Timestamp(x)


def _fn_contains(x: pd.Series, sub: str) -> pd.Series:
    return x.astype("string").str.contains(str(sub), regex=False).fillna(False).astype(bool)


def _fn_startswith(x: pd.Series, prefix: str) -> pd.Series:
    return x.astype("string").str.startswith(str(prefix)).fillna(False).astype(bool)


def _fn_coalesce(*args: Any) -> Any:
    result = args[0]
    for nxt in args[1:]:
        if isinstance(result, pd.Series):
            result = result.where(result.notna(), nxt)
        elif result is None:
            result = nxt
    return result


def _fn_days_between(start: pd.Series, end: pd.Series) -> pd.Series:
    return (pd.to_datetime(end) - pd.to_datetime(start)).dt.days


def _fn_abs(x: Any) -> Any:
    return x.abs() if isinstance(x, pd.Series) else abs(x)


_NUMBER_TEXT = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$"


def _fn_is_number(x: Any) -> Any:
    """True where the value is a number or text holding a plain decimal number (no unit, no comma)."""
    s = x if isinstance(x, pd.Series) else pd.Series([x])
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
        return s.notna()
    text = s.astype("string")
    return text.str.match(_NUMBER_TEXT).fillna(False).astype(bool)


def _choose(flags: list[pd.Series], values: list[Any], default: Any, index: pd.Index) -> pd.Series:
    """Per row the value of the first flag that holds, else ``default``; a numeric (or date) result when
    every value is one (missing values stay missing)."""
    columns = [_series(v, index) for v in [*values, default]]
    out = np.select([f.to_numpy(dtype=bool) for f in flags], [c.to_numpy(dtype=object) for c in columns[:-1]],
                    default=columns[-1].to_numpy(dtype=object))
    result = pd.Series(out, index=index, dtype=object)
    known = result[result.notna()]
    if len(known) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                          for v in known):
        return pd.to_numeric(result).astype(float)
    if len(known) and all(isinstance(v, (pd.Timestamp, np.datetime64)) for v in known):
        return pd.to_datetime(result)
    return result.where(result.notna(), None)


def _as_flags(condition: Any, index: pd.Index) -> pd.Series:
    return _series(condition, index).astype("boolean").fillna(False).astype(bool)


def _fn_if_else(condition: Any, true: Any, false: Any) -> Any:
    """dplyr's ``if_else``: ``true`` where ``condition`` holds, ``false`` where it does not (a comparison
    with a missing operand does not hold, as in filters)."""
    index = next((a.index for a in (condition, true, false) if isinstance(a, pd.Series)), pd.RangeIndex(1))
    return _choose([_as_flags(condition, index)], [true], false, index)


def _fn_case_when(*args: Any) -> Any:
    """dplyr's ``case_when(c1, v1, c2, v2, ..., [default])``: the value of the first condition that holds;
    an odd last argument is the value when none holds (else missing)."""
    index = next((a.index for a in args if isinstance(a, pd.Series)), pd.RangeIndex(1))
    default = args[-1] if len(args) % 2 else None
    return _choose([_as_flags(c, index) for c in args[0:len(args) - len(args) % 2:2]],
                   list(args[1::2])[:len(args) // 2], default, index)


def _fn_round(x: Any, digits: Any = 0) -> Any:
    """Round half away from zero (SAS ``round``, not Python's half to even) to ``digits`` decimals."""
    factor = 10.0 ** int(digits)
    values = pd.to_numeric(x, errors="coerce") if isinstance(x, pd.Series) else float(x)
    return np.sign(values) * np.floor(np.abs(values) * factor + 0.5 + 1e-9) / factor


def _fn_floor(x: Any) -> Any:
    return np.floor(pd.to_numeric(x, errors="coerce") if isinstance(x, pd.Series) else float(x))


def _fn_number(x: Any) -> Any:
    """Text to a number (SAS ``input(x, best.)``): text that is not a number becomes missing."""
    if isinstance(x, pd.Series):
        return pd.to_numeric(x.astype("string").str.strip(), errors="coerce").astype(float)
    return float(x)


#: Whitelisted functions: name -> (callable, minimum args, maximum args).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "is_missing": (_fn_is_missing, 1, 1),
    "not_missing": (_fn_not_missing, 1, 1),
    "upper": (_fn_str("upper"), 1, 1),
    "lower": (_fn_str("lower"), 1, 1),
    "strip": (_fn_str("strip"), 1, 1),
    "length": (_fn_length, 1, 1),
    "date": (_fn_date, 1, 1),
    "contains": (_fn_contains, 2, 2),
    "startswith": (_fn_startswith, 2, 2),
    "coalesce": (_fn_coalesce, 2, 8),
    "days_between": (_fn_days_between, 2, 2),
    "abs": (_fn_abs, 1, 1),
    "is_number": (_fn_is_number, 1, 1),
    "if_else": (_fn_if_else, 3, 3),
    "case_when": (_fn_case_when, 2, 41),
    "round": (_fn_round, 1, 2),
    "floor": (_fn_floor, 1, 1),
    "number": (_fn_number, 1, 1),
}


@dataclass(frozen=True)
class Expression:
    """A checked expression. ``columns`` are the names it reads."""

    text: str
    tree: ast.Expression
    columns: frozenset[str]
    location: Location | None = None

    def evaluate(self, data: pd.DataFrame) -> pd.Series:
        """Evaluate over every row of ``data``; returns a Series aligned to its index."""
        missing = sorted(c for c in self.columns if c not in data.columns)
        if missing:
            from tlfgen.spec.base import closest

            near = closest(missing[0], data.columns)
            raise ExpressionError(
                f"expression '{self.text}' uses column {missing[0]} which the data does not have",
                location=self.location,
                hint=("did you mean " + " or ".join(near) + "?") if near else None,
            )
        result = _Evaluator(data, self).visit(self.tree.body)
        return _series(result, data.index)

    def mask(self, data: pd.DataFrame) -> pd.Series:
        """Evaluate as a filter: a boolean Series, missing treated as False."""
        result = self.evaluate(data)
        if result.dtype != bool:
            result = result.astype("boolean").fillna(False).astype(bool)
        return result


def parse_expression(text: str, *, location: Location | None = None) -> Expression:
    """Parse and whitelist-check an expression; raise ExpressionError naming what is refused."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty", location=location)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters, more than {MAX_EXPRESSION_LENGTH}", location=location
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            f"expression '{text}' is not valid: {exc.msg} at column {exc.offset}", location=location
        ) from None
    columns: set[str] = set()
    func_ids = _function_names(tree)
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"expression '{text}' is too complex", location=location)
        _check_node(node, text, location, columns, func_ids)
    check_literals(tree, text, location)
    return Expression(text=text, tree=tree, columns=frozenset(columns), location=location)


_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, ast.Call, ast.BinOp,
    ast.In, ast.NotIn, ast.Is, ast.IsNot, *_COMPARE_OPS, *_BIN_OPS,
)
_DESCRIBE = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions", ast.Dict: "dict literals", ast.Set: "set literals",
    ast.NamedExpr: "assignment expressions", ast.IfExp: "conditional expressions",
    ast.Starred: "star arguments", ast.JoinedStr: "f-strings", ast.Await: "await",
}


def _check_node(
    node: ast.AST, text: str, location: Location | None, columns: set[str], func_ids: set[int]
) -> None:
    if not isinstance(node, _ALLOWED):
        what = _DESCRIBE.get(type(node), type(node).__name__)
        raise ExpressionError(
            f"expression '{text}' uses {what}, which is not allowed in specs", location=location,
            hint="allowed: column names, literals, comparisons, in, and/or/not, + - * /, "
            "and the functions " + ", ".join(sorted(FUNCTIONS)),
        )
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExpressionError(f"expression '{text}' uses the name '{node.id}', which is not allowed",
                                  location=location)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            from tlfgen.spec.base import closest

            near = closest(name, FUNCTIONS)
            raise ExpressionError(
                f"expression '{text}' calls '{name}', which is not an allowed function",
                location=location,
                hint=("did you mean " + " or ".join(near) + "? ") if near else
                "allowed functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            raise ExpressionError(f"expression '{text}': keyword arguments are not allowed", location=location)
        _, lo, hi = FUNCTIONS[node.func.id]
        if not lo <= len(node.args) <= hi:
            raise ExpressionError(
                f"expression '{text}': {node.func.id}() takes {lo if lo == hi else f'{lo} to {hi}'} "
                f"argument(s), got {len(node.args)}",
                location=location,
            )
    if isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) and not (
                isinstance(elt, ast.UnaryOp) and isinstance(elt.operand, ast.Constant)
            ) and not (isinstance(elt, ast.Name) and elt.id in _LITERAL_NAMES):
                raise ExpressionError(f"expression '{text}': lists may hold literals only", location=location)
    if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
        raise ExpressionError(f"expression '{text}': literal {node.value!r} is not allowed", location=location)
    if isinstance(node, ast.Compare):
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)) and not isinstance(right, (ast.Tuple, ast.List)):
                raise ExpressionError(
                    f"expression '{text}': 'in' needs a literal list such as ('CR', 'PR')", location=location
                )
            if isinstance(op, (ast.Is, ast.IsNot)) and not (
                isinstance(right, ast.Constant) and right.value is None
                or isinstance(right, ast.Name) and right.id in ("None", "null")
            ):
                raise ExpressionError(f"expression '{text}': 'is' is only for 'is None'", location=location)
    # record column references (names that are neither literals nor called functions)
    if isinstance(node, ast.Name) and node.id not in _LITERAL_NAMES and id(node) not in func_ids:
        columns.add(node.id)


def _function_names(tree: ast.AST) -> set[int]:
    return {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}


class _Evaluator:
    def __init__(self, data: pd.DataFrame, expr: Expression) -> None:
        self.data = data
        self.expr = expr

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__)
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in _LITERAL_NAMES:
            return _LITERAL_NAMES[node.id]
        return self.data[node.id]

    def visit_Tuple(self, node: ast.Tuple) -> list[Any]:
        return [self.visit(e) for e in node.elts]

    visit_List = visit_Tuple

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return ~_as_bool(value, self.data.index)
        if isinstance(node.op, ast.USub):
            return -value
        return value

    def visit_BoolOp(self, node: ast.BoolOp) -> pd.Series:
        values = [_as_bool(self.visit(v), self.data.index) for v in node.values]
        result = values[0]
        for value in values[1:]:
            result = (result & value) if isinstance(node.op, ast.And) else (result | value)
        return result

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, (ast.Mult, ast.Div)) and (_is_text(left) or _is_text(right)):
            # 'x' * 10**10 would build a 10 GB string; '12' * 2 would silently give '1212'
            raise ExpressionError(
                f"expression '{self.expr.text}': '{'*' if isinstance(node.op, ast.Mult) else '/'}' needs numbers, "
                f"not text", location=self.expr.location)
        return _BIN_OPS[type(node.op)](left, right)

    def visit_Call(self, node: ast.Call) -> Any:
        fn = FUNCTIONS[node.func.id][0]  # type: ignore[union-attr]
        return fn(*[self.visit(a) for a in node.args])

    def visit_Compare(self, node: ast.Compare) -> pd.Series:
        index = self.data.index
        result = pd.Series(True, index=index)
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            result &= _compare(op, left, right, index)
            left = right
        return result


def _is_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, pd.Series) and (value.dtype == object or pd.api.types.is_string_dtype(value))


def _as_bool(value: Any, index: pd.Index) -> pd.Series:
    s = _series(value, index)
    if s.dtype == bool:
        return s
    return s.astype("boolean").fillna(False).astype(bool)


def _coerce_pair(left: Any, right: Any) -> tuple[Any, Any]:
    """Compare dates with ISO text literals: turn the literal into a Timestamp."""
    if isinstance(left, pd.Series) and pd.api.types.is_datetime64_any_dtype(left) and isinstance(right, str):
        return left, pd.Timestamp(right)
    if isinstance(right, pd.Series) and pd.api.types.is_datetime64_any_dtype(right) and isinstance(left, str):
        return pd.Timestamp(left), right
    return left, right


def _compare(op: ast.cmpop, left: Any, right: Any, index: pd.Index) -> pd.Series:
    if isinstance(op, (ast.Is, ast.IsNot)):
        missing = _fn_is_missing(_series(left, index))
        return missing if isinstance(op, ast.Is) else ~missing
    if isinstance(op, (ast.In, ast.NotIn)):
        s = _series(left, index)
        inside = s.isin(right) & s.notna()
        return inside if isinstance(op, ast.In) else (~inside & s.notna())
    left, right = _coerce_pair(left, right)
    try:
        with np.errstate(invalid="ignore"):
            fast = _compare_scalar(op, left, right)
    except TypeError:  # the general path below names the dtypes
        fast = None
    if fast is not None:
        return fast
    ls, rs = _series(left, index), _series(right, index)
    valid = ls.notna() & rs.notna()
    try:
        with np.errstate(invalid="ignore"):
            raw = _COMPARE_OPS[type(op)](ls, rs)
    except TypeError as exc:
        raise ExpressionError(f"cannot compare {ls.dtype} with {rs.dtype}: {exc}") from None
    return _series(raw, index).astype("boolean").fillna(False).astype(bool) & valid


def _scalar_fits(series: pd.Series, value: Any) -> bool:
    """A literal that compares with the column as it would with a column of copies of it."""
    dtype = series.dtype
    if isinstance(value, str):
        return dtype == object or isinstance(dtype, pd.StringDtype)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return isinstance(dtype, np.dtype) and dtype.kind in "iuf"
    if isinstance(value, pd.Timestamp):
        return isinstance(dtype, np.dtype) and dtype.kind == "M" and value.tz is None
    return False


def _compare_scalar(op: ast.cmpop, left: Any, right: Any) -> pd.Series | None:
    """Column against a literal without building a column of copies; None when not that case."""
    if isinstance(left, pd.Series) and _scalar_fits(left, right):
        series, raw = left, _COMPARE_OPS[type(op)](left, right)
    elif isinstance(right, pd.Series) and _scalar_fits(right, left):
        series, raw = right, _COMPARE_OPS[type(op)](left, right)
    else:
        return None
    if raw.dtype != bool:
        raw = raw.astype("boolean").fillna(False).astype(bool)
    return raw & series.notna()
