"""I/O: make Office Open XML packages (DOCX, XLSX: tables, listings, the findings report) byte-reproducible.

python-docx and openpyxl stamp the wall clock into zip entry headers and into
``docProps/core.xml``. ``write_package`` zips a package's entries (name, bytes)
with fixed entry times (in the given order) and the run timestamp in the core
properties, so the same inputs always give the same bytes. ``store_zip`` is the uncompressed
zip the writers save into first (compressing once, at the end, is enough).
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone
from typing import Iterable

_CORE = "docProps/core.xml"
#: zlib level of every package entry: the fastest (table XML is repetitive; files ~1.2x level 6's size)
PACKAGE_LEVEL = 1
_STAMP_RE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def run_timestamp() -> datetime:
    """The run date/time printed in footers and package properties: ``SOURCE_DATE_EPOCH`` when set
    (reproducible builds, io.atomic's rule), else the current UTC time to the second.

    Datasets carry a fixed creation time (``fixed_timestamp``) so that they are byte-identical
    run to run; a table tells its reader when it was produced.
    """
    import os

    from tlfgen.io.atomic import fixed_timestamp

    if os.environ.get("SOURCE_DATE_EPOCH"):
        return fixed_timestamp()
    return datetime.now(timezone.utc).replace(microsecond=0)


def store_zip(buffer: io.BytesIO) -> zipfile.ZipFile:
    """A zip open for writing into ``buffer`` without compression (read back by ``read_entries``)."""
    return zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED)


def read_entries(data: bytes) -> list[tuple[str, bytes]]:
    """The (name, bytes) entries of a zip package, in stored order."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        return [(info.filename, src.read(info.filename)) for info in src.infolist()]


def write_package(entries: Iterable[tuple[str, bytes]], when: datetime) -> bytes:
    """Zip ``entries`` (name, bytes) with fixed entry dates and ``when`` as created/modified time."""
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    date_time = max((when.year, when.month, when.day, when.hour, when.minute, when.second), (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=PACKAGE_LEVEL) as dst:
        for name, blob in entries:
            if name == _CORE:
                blob = _STAMP_RE.sub(lambda m: m.group(1) + stamp + m.group(3), blob)
            entry = zipfile.ZipInfo(name, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            # the level must be given here: for a ZipInfo entry zipfile ignores the archive's
            # compresslevel and deflates at level 6 (3-4x the time on table XML)
            dst.writestr(entry, blob, compresslevel=PACKAGE_LEVEL)
    return out.getvalue()
