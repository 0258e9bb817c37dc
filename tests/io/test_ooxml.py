"""Tests for tlfgen.io.ooxml: reproducible DOCX/XLSX packages."""

from __future__ import annotations

import io
import zipfile
import zlib
from datetime import datetime, timezone

from tlfgen.io.ooxml import PACKAGE_LEVEL, read_entries, write_package

WHEN = datetime(2024, 5, 6, 7, 8, 10, tzinfo=timezone.utc)  # zip times have 2-second steps
CORE = (b'<cp:coreProperties><dcterms:created xsi:type="dcterms:W3CDTF">2001-01-01T00:00:00Z'
        b'</dcterms:created></cp:coreProperties>')


def _raw_entry(package: bytes, info: zipfile.ZipInfo) -> bytes:
    """The compressed bytes of one entry, as stored in the package."""
    header = package[info.header_offset:info.header_offset + 30]
    name_len, extra_len = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    return package[start:start + info.compress_size]


def test_entries_are_deflated_at_the_package_level_with_fixed_dates_and_the_run_time():
    xml = b"<row><c>text</c></row>" * 2000 + bytes(range(256)) * 40
    package = write_package([("docProps/core.xml", CORE), ("xl/sheet1.xml", xml)], WHEN)
    assert package == write_package([("docProps/core.xml", CORE), ("xl/sheet1.xml", xml)], WHEN)
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["docProps/core.xml", "xl/sheet1.xml"]
        assert {i.date_time for i in infos} == {(2024, 5, 6, 7, 8, 10)}
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
        sheet = infos[1]
    # zipfile ignores the archive's level for ZipInfo entries unless writestr is given it:
    # the stored stream is exactly zlib's raw deflate at PACKAGE_LEVEL (1), not the default 6
    deflate = zlib.compressobj(PACKAGE_LEVEL, zlib.DEFLATED, -15)
    assert PACKAGE_LEVEL == 1
    assert _raw_entry(package, sheet) == deflate.compress(xml) + deflate.flush()
    default = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert _raw_entry(package, sheet) != default.compress(xml) + default.flush()
    assert read_entries(package) == [
        ("docProps/core.xml", CORE.replace(b"2001-01-01T00:00:00Z", b"2024-05-06T07:08:10Z")), ("xl/sheet1.xml", xml)]
