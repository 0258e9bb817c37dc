"""I/O: make Office Open XML packages (DOCX, XLSX: tables, listings, the findings report) byte-reproducible.

python-docx and openpyxl stamp the wall clock into zip entry headers and into
``docProps/core.xml``. ``write_package`` zips a package's entries (name, bytes)
with fixed entry times (in the given order) and the run timestamp in the core
properties, so the same inputs always give the same bytes.

XlsxWriter (the table/listing workbooks and the findings report) already gives every zip
entry a fixed date (1980); ``create_workbook`` opens one with the created date given and
no string ever turned into a number, formula or link.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import xlsxwriter
    import xlsxwriter.worksheet

_CORE = "docProps/core.xml"
#: zlib level of every package entry: the fastest (table XML is repetitive; files ~1.2x level 6's size)
PACKAGE_LEVEL = 1
#: XlsxWriter stores a column width w as w plus Calibri 11's 5-pixel cell padding (5/7 of a
#: character); writers give the width less this, so the stored width is the character count
CELL_PADDING = 5 / 7
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


def create_workbook(target: io.BytesIO, created: datetime, *, constant_memory: bool = False) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook writing into ``target`` on ``close()``: author "tlfgen", ``created`` as
    its created and modified time, text written as text (no conversion to numbers, formulas or
    links). ``constant_memory``: rows must be written in order; one row is kept in memory."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(target, {
        "constant_memory": constant_memory, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False})
    stamp = created.astimezone(timezone.utc).replace(tzinfo=None) if created.tzinfo else created
    workbook.set_properties({"author": "tlfgen", "created": stamp})
    return workbook


def set_print_margins(ws: xlsxwriter.worksheet.Worksheet, *, footer: str = "") -> None:
    """The page margins tlfgen's workbooks have always had (0.75 inch left/right, 1 inch top/bottom,
    header and footer 0.5 inch), and ``footer`` (Excel header/footer code) when given."""
    ws.set_margins(left=0.75, right=0.75, top=1, bottom=1)
    ws.set_header("", {"margin": 0.5})
    ws.set_footer(footer, {"margin": 0.5})


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
