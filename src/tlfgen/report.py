"""Run summary for the terminal: records in/out per stage, findings, outputs (rich tables)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from tlfgen.results import StageResult
from tlfgen.spec.study import ResolvedStudy
from tlfgen.terminal import plain

if TYPE_CHECKING:
    from tlfgen.executor import StudyOutcome


def stage_line(result: StageResult) -> str:
    """One line saying a stage finished: datasets, records out, findings by severity, outputs."""
    by_sev = Counter(f.severity for f in result.findings)
    findings = ", ".join(f"{by_sev[s]} {s.lower()}" for s in ("ERROR", "WARNING", "NOTE") if by_sev[s])
    records = sum(c.rows_out for c in result.counts)
    return (f"{result.stage.upper()} stage done: {len(result.counts)} dataset(s), {records} record(s) out, "
            f"findings: {findings or 'none'}, {len(result.outputs)} output(s) written")


def print_summary(console, results: list[StageResult], study: ResolvedStudy) -> None:
    """Per stage: a table of records in/out/rejected, findings by severity, notes, outputs.

    Dataset names, reasons and notes come from the study: they are printed as plain text."""
    from rich.table import Table

    for result in results:
        table = Table(title=f"{result.stage.upper()} stage", title_justify="left")
        table.add_column("dataset / file")
        table.add_column("rows in", justify="right")
        table.add_column("rows out", justify="right")
        table.add_column("rejected", justify="right")
        table.add_column("reasons")
        for count in result.counts:
            reasons = "; ".join(f"{k}: {v}" for k, v in sorted(count.rejected.items()))
            table.add_row(plain(count.name), str(count.rows_in), str(count.rows_out), str(count.rows_rejected),
                          plain(reasons))
        if result.counts:
            console.print(table)
        by_sev = Counter(f.severity for f in result.findings)
        if result.findings:
            console.print(plain(
                f"{result.stage}: findings " + ", ".join(f"{by_sev[s]} {s.lower()}" for s in ("ERROR", "WARNING", "NOTE") if by_sev[s])))
        for note in result.notes:
            console.print(plain(f"{result.stage}: {note}"))
        if result.outputs:
            console.print(plain(f"{result.stage}: {len(result.outputs)} output(s) written"))


def study_line(outcome: "StudyOutcome", finished: int, total: int, *, allow_data_errors: bool = False) -> str:
    """One line saying a study of a portfolio finished: its exit code, records, outputs, time and where."""
    head = f"[{finished}/{total}] {outcome.root}: "
    if outcome.error is not None:
        return head + f"exit {outcome.exit_code}: {outcome.error} ({outcome.seconds:.1f} s, {outcome.worker})"
    outputs = sum(len(r.outputs) for r in outcome.results)
    errors = outcome.data_errors
    code = 1 if errors and not allow_data_errors else 0
    return (head + f"exit {code}: {len(outcome.results)} stage(s), {outputs} output(s) written, "
            f"{errors} error finding(s) ({outcome.seconds:.1f} s, {outcome.worker})")
