"""Errors: one root, ``TlfgenError``, and one class per kind of failure.

Every error carries enough context for a person to find and fix the problem
(file, line, column, dataset, variable, row or USUBJID) and an exit code used
by the command line: 2 for bad specs, templates or usage, 1 for bad data,
4 for a fault of the environment (permissions, disk space).
Causes are chained with ``raise ... from exc``; the CLI prints ``str(error)``
without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


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

    def map_text(self, mapping: Callable[[str], str]) -> None:
        """Apply ``mapping`` to every text this error prints (e.g. a staging path -> the study's)."""
        for name, value in list(vars(self).items()):
            if isinstance(value, str):
                setattr(self, name, mapping(value))
            elif isinstance(value, Path):
                setattr(self, name, Path(mapping(str(value))))
            elif isinstance(value, Location) and isinstance(value.file, (str, Path)):
                setattr(self, name, Location(mapping(str(value.file)), value.line, value.column))
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, TlfgenError):
                        item.map_text(mapping)
        self.args = (str(self),)


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


class EnvironmentFault(TlfgenError):
    """The machine stopped the command, not the data or the specs: no permission, a read-only
    or full file system, a path of the wrong kind, the study locked by another command.
    Names the path and what to do. Exit 4."""

    exit_code = 4

    #: errno -> (what happened, what to do)
    CAUSES = {
        errno.EACCES: ("permission denied", "give your user write access to it (or read access, for an input)"),
        errno.EPERM: ("operation not permitted", "give your user write access to it"),
        errno.EROFS: ("the file system is read-only", "run the study from a writable folder"),
        errno.ENOSPC: ("no space left on the device", "free disk space (or point the study at a larger disk), "
                       "then run again"),
        errno.EDQUOT: ("the disk quota is exceeded", "free space within your quota, then run again"),
        errno.ENOTDIR: ("a file is in the way where a folder is needed", "move or rename that file"),
        errno.EISDIR: ("a folder is in the way where a file is needed", "move or rename that folder"),
        errno.EEXIST: ("something is already in the way", "move or rename it"),
        errno.EXDEV: ("the output folders are on different file systems", "keep the study and its output "
                      "folders on one file system (an output folder must not be a mount point)"),
        errno.EBUSY: ("the path is busy (a mount point?)", "an output folder must not be a mount point"),
        errno.EMFILE: ("too many open files", "raise the limit (ulimit -n)"),
    }

    @classmethod
    def from_os_error(cls, exc: OSError, mapping: Callable[[str], str] = str, *,
                      writing_in: str | Path | None = None) -> EnvironmentFault | None:
        """The fault for an ``OSError`` of the environment (permission, read-only, disk full, a
        file in the way); None for any other errno. Hidden temporary names are not shown: the
        file they stand for is. ``writing_in``: the folder to name when the error names no file."""
        cause = cls.CAUSES.get(exc.errno or 0)
        if cause is None:
            return None
        paths = [mapping(_visible(str(p))) for p in (exc.filename, exc.filename2) if p is not None]
        where = " -> ".join(dict.fromkeys(paths))
        if not where:
            where = f"while writing in {writing_in}" if writing_in is not None else "(no path given)"
        return cls(f"{cause[0]}: {where}", hint=cause[1])


def _visible(path: str) -> str:
    """``path`` without hidden temporary parts: ``out/.t1.docx.x8.tmp`` -> ``out/t1.docx``,
    ``study/.tlfgen/run-x/new/sdtm`` stays (mapped by the caller)."""
    folder, _, name = path.rpartition("/")
    if name.startswith(".") and name.endswith(".tmp") and name.count(".") >= 3:
        name = name[1:].rsplit(".", 2)[0]
        return f"{folder}/{name}" if folder else name
    return path


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
