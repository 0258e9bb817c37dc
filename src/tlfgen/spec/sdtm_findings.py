"""Spec layer: findings domains from wide forms (``tests:`` of a stacked SDTM source).

A wide form holds several tests in one raw row (``SYSBP``, ``DIABP``, ``PULSE`` ...); each
``TestSpec`` of a source turns every row into one record of that test. ``expand_tests``
rewrites such a source into one stacked source per test, with the values the engine already
knows (``assign`` for --TESTCD/--TEST/--ORRESU, ``source`` for --ORRES/--STRESC/--STRESN) and
a filter keeping rows with a result, so the engine has nothing new to learn.
"""

from __future__ import annotations

from typing import Any, Callable

from tlfgen.spec.sdtm_forms import FormSpec, FormsFile, form_available_columns


def test_values(domain: str, form: str, test: Any, declared: set[str]) -> dict[str, dict[str, Any]]:
    """The override values (as dicts) one test gives the variables ``declared`` by the domain."""
    result = f"{form}.{test.result}"
    unit: dict[str, Any] | None = None
    if test.unit is not None:
        unit = {"assign": test.unit}
    elif test.unit_field is not None:
        unit = {"source": f"{form}.{test.unit_field}"}
    stresc: dict[str, Any] = {"source": result}
    if test.codelist:
        stresc["codelist"] = test.codelist
    elif test.numeric:
        stresc["format"] = "number"
    values: dict[str, dict[str, Any] | None] = {
        "TESTCD": {"assign": test.testcd},
        "TEST": {"assign": test.test},
        "ORRES": {"source": result},
        "ORRESU": unit,
        "STRESC": stresc,
        "STRESN": {"source": result, "format": "number"} if test.numeric else None,
        "STRESU": unit,
    }
    # a variable the test has nothing for (no unit, a text result) is blank on its records
    out = {f"{domain}{k}": v if v is not None else {"assign": ""} for k, v in values.items()
           if f"{domain}{k}" in declared}
    out.update({k: v.model_dump(exclude_none=True) for k, v in test.values.items()})
    return out


def expand_tests(spec: Any, override: Callable[..., Any]) -> Any:
    """The domain spec with every source that has ``tests`` replaced by one source per test
    (``override``: the model of a source's ``values``, ``spec.sdtm.OverrideSpec``)."""
    declared = {v.name for v in spec.variables}
    sources = []
    for src in spec.sources:
        if not src.tests:
            sources.append(src)
            continue
        for test in src.tests:
            values = {k: override(**v) for k, v in test_values(spec.domain, src.form, test, declared).items()}
            keep = None if test.keep_blank else f"not_missing({test.result})"
            filters = [f"({f})" for f in (src.filter, keep) if f]
            sources.append(src.model_copy(update={
                "values": {**src.values, **values}, "tests": [],
                "filter": " and ".join(filters) if filters else None}))
    return spec.model_copy(update={"sources": sources})


def check_tests(spec: Any, index: int, form: FormSpec, forms_file: FormsFile, codelists: dict, err) -> None:
    """Each test reads columns of its form, and sets variables the domain declares."""
    src = spec.sources[index]
    if src.tests and src.join != "stack":
        err("tests belong to a stacked source (join: stack)", ("sources", index, "tests"))
    declared = {v.name for v in spec.variables}
    available = form_available_columns(forms_file, form)
    seen: set[str] = set()
    for t, test in enumerate(src.tests):
        path = ("sources", index, "tests", t)
        if test.testcd in seen:
            err(f"test {test.testcd} is listed twice", path + ("testcd",))
        seen.add(test.testcd)
        for key in ("result", "unit_field"):
            col = getattr(test, key)
            if col is not None and col not in available:
                err(f"form {form.name} has no column {col}", path + (key,))
        if test.codelist and test.codelist not in codelists:
            err(f"unknown codelist '{test.codelist}'", path + ("codelist",))
        for var in test.values:
            if var not in declared:
                err(f"test value for unknown variable '{var}'", path + ("values", var))
        if f"{spec.domain}TESTCD" not in declared:
            err(f"a domain with tests declares {spec.domain}TESTCD", path + ("testcd",))
