"""Ground floor: what every stage returns and reports (findings, dataset counts, stage results).

Plain data, no behaviour beyond sums: the stages build them, the pipeline collects them,
the CLI prints them. Nothing here imports anything of tlfgen, so every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SEVERITIES = ("ERROR", "WARNING", "NOTE")


@dataclass(frozen=True)
class Finding:
    """One problem found in the data, with where it is and which rule found it."""

    severity: str  # ERROR, WARNING, NOTE
    rule: str  # rule id, e.g. "DATE-INVALID"
    message: str
    file: str | None = None  # raw file (or dataset) the problem is in
    row: int | None = None  # the file's line number (header = line 1; a raw record: the line it starts on)
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
