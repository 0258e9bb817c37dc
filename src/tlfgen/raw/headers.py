"""Raw stage: the key columns forms.yaml declares, checked against the header line of each raw file.

``tlfgen check`` reads only the first line of every raw export (no data): each column a form
needs to identify its records (its leading columns, the identifier columns such as ``PATNUM``
for the subject, and the raw columns of its record keys) must be in that header. A missing
file is not a spec problem (the SDTM stage reports it as a finding) and is skipped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tlfgen.errors import ErrorList, SpecError

#: bytes read from the start of a file to find its header line
HEADER_BYTES = 1 << 20


def read_header(path: Path) -> list[str]:
    """The column names of a raw CSV export as the reader sees them (stripped, upper case)."""
    with path.open("rb") as handle:
        head = handle.read(HEADER_BYTES)
    line = head.split(b"\n", 1)[0]
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = line.decode("latin-1")
    try:
        first = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return []
    return [c.strip().upper() for c in first]


def check_key_columns(study, specs) -> list[SpecError]:
    """One SpecError per declared key column missing from its raw file's header (forms.yaml line)."""
    errors = ErrorList()
    for name, form in specs.forms.items():
        path = study.raw_dir / form.file
        if not path.is_file():
            continue
        header = read_header(path)
        aliases = specs.identifiers(name).aliases()
        needed = {col: "a leading or identifier column" for col in specs.required_columns(name)}
        for key in form.keys:
            raw = aliases.get(key, key)
            needed.setdefault(raw, f"key {key}" if raw == key else f"key {key} (read from {raw})")
        for col, what in needed.items():
            if col in header:
                continue
            location = specs.forms_source.location(("forms", _index(specs, name))) if specs.forms_source else None
            errors.add(SpecError(
                f"form {name}: {study.display(path)} has no column {col} ({what})", location=location,
                hint="its header: " + (", ".join(header) or "(empty)")
                + "; name the export's column in forms.yaml (identifiers, leading or keys)"))
    return errors.errors


def _index(specs, name: str) -> int:
    return list(specs.forms).index(name)
