"""Pipeline: runs the stages (raw -> SDTM -> ADaM -> TLF) for a study folder.

Each stage module exposes one ``run_*`` function taking a ``ResolvedStudy``
and returning a ``StageResult``: records in and out per dataset, findings and
outputs written. The pipeline knows nothing of the terminal; the CLI reports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tlfgen.spec.study import ResolvedStudy

SEVERITIES = ("ERROR", "WARNING", "NOTE")


@dataclass(frozen=True)
class Finding:
    """One problem found in the data, with where it is and which rule found it."""

    severity: str  # ERROR, WARNING, NOTE
    rule: str  # rule id, e.g. "DATE-INVALID"
    message: str
    file: str | None = None  # raw file (or dataset) the problem is in
    row: int | None = None  # 1-based data row number in that file (header is line 1, row 1 is line 2)
    column: str | None = None
    value: str | None = None
    usubjid: str | None = None
    domain: str | None = None  # SDTM domain or ADaM dataset concerned
    action: str | None = None  # what the pipeline did: "rejected", "kept as partial", "set to missing"

    def sort_key(self) -> tuple:
        return (SEVERITIES.index(self.severity), self.file or "", self.row or 0, self.column or "", self.rule)


@dataclass
class DatasetCount:
    """Reconciliation for one input or output: rows in, out and rejected (with reasons)."""

    name: str
    rows_in: int = 0
    rows_out: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass
class StageResult:
    stage: str
    counts: list[DatasetCount] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "ERROR")


#: stage name -> "module:function"
STAGES: dict[str, str] = {
    "sdtm": "tlfgen.sdtm.run:run_sdtm",
    "adam": "tlfgen.adam.run:run_adam",
    "tlf": "tlfgen.tlf.run:run_tlf",
    "lineage": "tlfgen.lineage.run:run_lineage",
}


def stage_runner(name: str) -> Callable[[ResolvedStudy], StageResult]:
    module_name, func = STAGES[name].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, func)


def run_stages(study: ResolvedStudy, stages: Iterable[str],
               on_stage: Callable[[str], None] | None = None) -> list[StageResult]:
    results = []
    for name in stages:
        if on_stage is not None:
            on_stage(name)
        results.append(stage_runner(name)(study))
    return results
