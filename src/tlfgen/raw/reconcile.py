"""Raw stage: reconciliation of raw rows against SDTM records.

For every raw file: rows read = rows mapped into at least one domain
+ rows intentionally not mapped (a spec filter left them out) + rows rejected
(with their reason). ``FileUsage`` collects which rows each domain used;
``reconcile`` turns it into a ``DatasetCount`` whose ``rejected`` holds both
the rejections and the "not mapped: ..." reasons, so
``rows_in == rows_out + rows_rejected`` always holds (``check_balance``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tlfgen.errors import DataError
from tlfgen.results import DatasetCount
from tlfgen.raw.reader import RawForm


@dataclass
class FileUsage:
    """Rows of one raw file used by each domain, and why unused rows were left out."""

    mapped: dict[str, set[int]] = field(default_factory=dict)  # domain -> rows
    skipped: dict[int, str] = field(default_factory=dict)  # row -> reason (first one recorded)

    def use(self, domain: str, rows) -> None:
        self.mapped.setdefault(domain, set()).update(as_row_numbers(rows))

    def skip(self, rows, reason: str) -> None:
        for r in rows:
            self.skipped.setdefault(int(r), reason)


def reconcile(form: RawForm, usage: FileUsage) -> DatasetCount:
    """Counts for one raw file; every row read lands in exactly one bucket."""
    used: set[int] = set().union(*usage.mapped.values()) if usage.mapped else set()
    rejected: dict[str, int] = {}
    for reason in form.rejected.values():
        rejected[f"rejected: {reason}"] = rejected.get(f"rejected: {reason}", 0) + 1
    rows = np.asarray(as_row_numbers(form.data["__row"]), dtype="int64")
    taken = np.fromiter(used, dtype="int64", count=len(used))
    for row in rows[~np.isin(rows, taken)].tolist():
        reason = "not mapped: " + usage.skipped.get(row, "no domain spec reads this form")
        rejected[reason] = rejected.get(reason, 0) + 1
    count = DatasetCount(name=form.file, rows_in=form.rows_read, rows_out=len(used), rejected=dict(sorted(rejected.items())))
    check_balance(count)
    return count


def as_row_numbers(rows) -> list[int]:
    """Row numbers (a Series, array or iterable of whole numbers, int or float) as a list of int."""
    values = rows.to_numpy() if hasattr(rows, "to_numpy") else np.asarray(list(rows))
    return [int(r) for r in values.tolist()] if values.dtype == object else values.astype("int64").tolist()


def check_balance(count: DatasetCount) -> None:
    if count.rows_in != count.rows_out + count.rows_rejected:
        raise DataError(
            f"reconciliation does not add up: {count.rows_in} read, {count.rows_out} mapped, "
            f"{count.rows_rejected} rejected or not mapped", file=count.name,
            hint="this is a bug in tlfgen; please report it with the raw file",
        )


def domain_rows(usage: dict[str, FileUsage], domain: str) -> dict[str, int]:
    """Raw rows mapped into one domain, per raw file."""
    return {file: len(u.mapped[domain]) for file, u in sorted(usage.items()) if domain in u.mapped}
