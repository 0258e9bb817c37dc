"""Expression errors found when an expression is parsed (tlfgen.spec.expr_literals, issue 24)."""

from __future__ import annotations

import pytest

from tlfgen.errors import ExpressionError, Location
from tlfgen.spec.expr import parse_expression

WHERE = Location("specs/adam/ADSL.yaml", 12, 7)


@pytest.mark.parametrize(("text", "message"), [
    ("1 / 0", "expression '1 / 0': division by zero"),
    ("AVAL / 0.0 > 1", "expression 'AVAL / 0.0 > 1': division by zero"),
    ("ADT > date('2021-02-29')", "expression 'ADT > date('2021-02-29')': date('2021-02-29') is not a valid date"),
    ("date('2021-13-01') == ADT", "date('2021-13-01') is not a valid date"),
    ("-'x' == AVALC", "expression '-'x' == AVALC': unary - on the text 'x'"),
    ("'a' + 1 == AVALC", "'+' between 'a' and 1: text and a number"),
    ("AVALC == 'x' * 2500000000", "'*' between 'x' and 2500000000: text and a number"),
    ("AVALC == 'a' - 'b'", "'-' between 'a' and 'b': two texts"),
])
def test_an_operation_that_fails_on_every_row_is_refused_when_parsed(text, message):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, location=WHERE)
    assert message in str(info.value)
    assert str(info.value).startswith("specs/adam/ADSL.yaml:12:7: ")


@pytest.mark.parametrize("text", ["AVAL / 2 > 1", "AVALC == 'a' + 'b'", "AVAL > -3", "ADT >= date('2020-02-29')",
                                  "AVAL / (2 - 2) > 1", "AVALC + 1 > 0"])
def test_operations_that_may_succeed_are_accepted(text):
    assert parse_expression(text, location=WHERE).text == text
