"""I/O layer: checks of a raw export file that need no specs (the file is inside the study; its
header names each column once), shared by ``tlfgen check`` (spec layer) and the raw reader."""

from __future__ import annotations

from pathlib import Path

from tlfgen.errors import DataError


def unique_header(names: list[str], display: str) -> list[str]:
    """Column names as tlfgen reads them (stripped, upper case); two that are the same after that
    (``AETERM`` twice, ``AEOUT`` and ``aeout``) make the file ambiguous: ``DataError``."""
    seen: dict[str, str] = {}
    for name in names:
        key = name.strip().upper()
        if key in seen:
            same = "twice" if seen[key] == name else f"as {seen[key]!r} and {name!r}"
            raise DataError(
                f"column {key} appears {same} in the header; tlfgen cannot tell which one holds the data",
                file=display, line=1, column=key,
                hint="rename or remove one of the columns in the export (column names are compared "
                     "ignoring case and outer spaces)")
        seen[key] = name
    return [name.strip().upper() for name in names]


def check_inside_study(path: Path, root: Path, display: str) -> None:
    """A raw file that resolves outside the study folder (a symbolic link to elsewhere) is refused
    before anything of it is read (``DataError``, exit 1); its content is never shown."""
    try:
        path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        raise DataError(
            "the raw file is a link to a file outside the study folder; tlfgen reads raw data only "
            "from inside the study", file=display,
            hint=f"copy the export into {display.rsplit('/', 1)[0]}/ instead of linking to it") from None
