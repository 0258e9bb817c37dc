"""The safe expression language: exact results on valid expressions, refusals on the rest."""

import pandas as pd
import pytest

from tlfgen.errors import ExpressionError
from tlfgen.spec.expr import parse_expression


@pytest.fixture()
def data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "AVALC": ["CR", "PR", "SD", None, "pd "],
            "ADT": pd.to_datetime(["2021-01-01", "2021-02-01", None, "2021-03-01", "2021-04-01"]),
            "TRTSDT": pd.to_datetime(["2020-12-01"] * 5),
            "AVAL": [1.0, 2.0, 3.0, None, 4.0],
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AVALC in ('CR', 'PR') and ADT >= TRTSDT", [True, True, False, False, False]),
        ("AVALC not in ('CR', 'PR')", [False, False, True, False, True]),
        ("is_missing(AVALC) or ADT > '2021-02-15'", [False, False, False, True, True]),
        ("AVALC is None", [False, False, False, True, False]),
        ("AVALC is not null", [True, True, True, False, True]),
        ("upper(strip(AVALC)) == 'PD'", [False, False, False, False, True]),
        ("1 < AVAL <= 3", [False, True, True, False, False]),
        ("AVAL * 2 - 1 > 4", [False, False, True, False, True]),
        ("days_between(TRTSDT, ADT) >= 62", [False, True, False, True, True]),
        ("not (AVAL > 2)", [True, True, False, True, False]),
        ("startswith(AVALC, 'C') or contains(AVALC, 'S')", [True, False, True, False, False]),
        ("ADT >= date('2021-03-01')", [False, False, False, True, True]),
    ],
)
def test_valid_expressions_give_exact_masks(data, text, expected):
    assert parse_expression(text).mask(data).tolist() == expected


def test_columns_are_collected_without_function_names():
    expr = parse_expression("is_missing(AVALC) or upper(SEX) == 'M' and AGE >= 65")
    assert expr.columns == frozenset({"AVALC", "SEX", "AGE"})


def test_missing_column_names_the_closest_one(data):
    with pytest.raises(ExpressionError) as info:
        parse_expression("AVALCC == 'CR'").mask(data)
    assert "uses column AVALCC which the data does not have" in str(info.value)
    assert "did you mean AVALC or AVAL?" in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "calls '__import__', which is not an allowed function"),
        ("AVALC.upper()", "calls 'AVALC.upper', which is not an allowed function"),
        ("AVALC.__class__", "uses attribute access, which is not allowed in specs"),
        ("AVALC[0]", "uses subscripts, which is not allowed in specs"),
        ("(lambda: 1)()", "calls 'lambda: 1', which is not an allowed function"),
        ("lambda: 1", "uses lambdas, which is not allowed in specs"),
        ("[x for x in AVALC]", "uses comprehensions, which is not allowed in specs"),
        ("open('/etc/passwd')", "calls 'open', which is not an allowed function"),
        ("upper(x=AVALC)", "keyword arguments are not allowed"),
        ("AVALC in AVAL", "'in' needs a literal list"),
        ("__builtins__", "uses the name '__builtins__', which is not allowed"),
        ("AVALC ==", "is not valid"),
        ("f'{AVALC}'", "uses f-strings, which is not allowed in specs"),
        ("{'a': 1}", "uses dict literals, which is not allowed in specs"),
        ("AVALC if AVAL else ADT", "uses conditional expressions"),
        ("upper(AVALC, AVAL)", "upper() takes 1 argument(s), got 2"),
        ("", "expression is empty"),
    ],
)
def test_refused_expressions(text, fragment):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert fragment in str(info.value)


def test_expression_too_long_is_refused():
    with pytest.raises(ExpressionError, match="more than 2000"):
        parse_expression("A == 1 or " * 300 + "A == 1")


def test_compare_with_literal_matches_the_general_path():
    data = pd.DataFrame({"S": ["a", None, "b", "a "], "N": [1.0, None, 3.0, 2.0], "I": [1, 2, 3, 4],
                         "T": pd.array(["a", None, "b", "a"], dtype="string")})
    assert parse_expression("S == 'a'").mask(data).tolist() == [True, False, False, False]
    assert parse_expression("S != 'a'").mask(data).tolist() == [False, False, True, True]
    assert parse_expression("T == 'a'").mask(data).tolist() == [True, False, False, True]
    assert parse_expression("N >= 2").mask(data).tolist() == [False, False, True, True]
    assert parse_expression("2 < I").mask(data).tolist() == [False, False, True, True]
    assert parse_expression("N != 1").mask(data).tolist() == [False, False, True, True]


def test_text_functions_per_distinct_value():
    from tlfgen.spec.expr import compute_per_unique
    data = pd.DataFrame({"S": [" ab", None, "c", " ab", ""]})
    assert parse_expression("length(S) >= 2").mask(data).tolist() == [True, False, False, True, False]
    assert parse_expression("upper(strip(S)) == 'AB'").mask(data).tolist() == [True, False, False, True, False]
    assert parse_expression("is_missing(S)").mask(data).tolist() == [False, True, False, False, True]
    assert parse_expression("not_missing(N)").mask(pd.DataFrame({"N": [1.0, None]})).tolist() == [True, False]
    lengths = compute_per_unique(data["S"], lambda t: t.str.len())
    assert str(lengths.dtype) == "Int64" and lengths.tolist() == [3, pd.NA, 1, 3, 0]


def test_if_else_case_when_round_number():
    """dplyr's if_else / case_when, SAS rounding (half away from zero), text to number."""
    data = pd.DataFrame({"AGE": [50.0, 70.0, 85.0], "X": [2.5, -2.5, 0.25], "T": ["16", "n/a", " 7 "]})
    assert parse_expression("if_else(AGE >= 65, '>=65', '<65')").evaluate(data).tolist() == ["<65", ">=65", ">=65"]
    assert parse_expression("case_when(AGE < 65, '<65', AGE <= 80, '65-80', '>80')").evaluate(data).tolist() == [
        "<65", "65-80", ">80"]
    assert parse_expression("case_when(AGE < 65, 1)").evaluate(data).tolist()[0] == 1
    assert parse_expression("round(X)").evaluate(data).tolist() == [3.0, -3.0, 0.0]
    assert parse_expression("round(X, 1)").evaluate(data).tolist() == [2.5, -2.5, 0.3]
    assert parse_expression("floor(X)").evaluate(data).tolist() == [2.0, -3.0, 0.0]
    got = parse_expression("number(T)").evaluate(data).tolist()
    assert got[0] == 16.0 and got[2] == 7.0 and got[1] != got[1]
