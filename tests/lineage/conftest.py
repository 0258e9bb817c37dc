"""Lineage tests: the embedded study run once per session (specs/ and raw/ copied, SDTM -> ADaM -> TLF -> lineage)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lineage_study(embedded_run):
    """The shared embedded-study run (tests/conftest.py), with its lineage stage result."""
    study, results = embedded_run
    return study, results["lineage"]


@pytest.fixture(scope="session")
def trace_ctx(lineage_study):
    from tlfgen.lineage.trace import TraceContext

    return TraceContext(lineage_study[0])
