"""Errors: one root, ``TlfgenError``, and one class per kind of failure.

Every error carries enough context for a person to find and fix the problem
(file, line, column, dataset, variable, row or USUBJID) and an exit code used
by the command line: 2 for bad specs, templates or usage, 1 for bad data.
Causes are chained with ``raise ... from exc``; the CLI prints ``str(error)``
without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and optionally a line and column (1-based)."""

    file: str | Path | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return "<unknown>"
        text = str(self.file)
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


class TlfgenError(Exception):
    """Root of every error tlfgen raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:  # pragma: no cover - trivial
        text = self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(TlfgenError):
    """Wrong command-line use: a missing folder, an unknown option value."""

    exit_code = 2


class SpecError(TlfgenError):
    """A spec or template is invalid. Names file:line:column and the key path."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        key_path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.location = location or Location()
        self.key_path = key_path
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        text = self.message if self.location.file is None else f"{self.location}: {self.message}"
        if self.key_path:
            text += f" (at {self.key_path})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecErrors(SpecError):
    """Several spec errors found in one pass; ``errors`` holds each one."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(
            first.message, location=first.location, key_path=first.key_path, hint=first.hint
        )

    def __str__(self) -> str:
        lines = [f"{len(self.errors)} spec error(s):"]
        lines.extend(f"  {str(err)}" for err in self.errors)
        return "\n".join(lines)


class ExpressionError(SpecError):
    """A spec expression uses something outside the whitelist or is malformed."""


class DataError(TlfgenError):
    """Input data that cannot be processed at all (as opposed to a finding).

    Names the file (and row and column where known) and what to do.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.row = row  # a record number (datasets); ``line`` for a text file (header = line 1)
        self.line = line
        self.column = column
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file) + (f":{self.line}" if self.line is not None else ""))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        prefix = ", ".join(parts)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class DerivationError(TlfgenError):
    """A derivation could not run: names dataset, variable, USUBJID and spec line."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        dataset: str | None = None,
        variable: str | None = None,
        usubjid: str | None = None,
        location: Location | None = None,
        hint: str | None = None,
    ) -> None:
        self.dataset = dataset
        self.variable = variable
        self.usubjid = usubjid
        self.location = location
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        parts = []
        if self.location is not None and self.location.file is not None:
            parts.append(str(self.location))
        target = ".".join(p for p in (self.dataset, self.variable) if p)
        if target:
            parts.append(target)
        if self.usubjid:
            parts.append(f"USUBJID={self.usubjid}")
        prefix = ": ".join(parts)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class RenderError(TlfgenError):
    """A table, listing or figure could not be rendered."""

    exit_code = 1


@dataclass
class ErrorList:
    """Collects errors so a loader can report all of them at once."""

    errors: list[SpecError] = field(default_factory=list)

    def add(self, error: SpecError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpecErrors(self.errors)
