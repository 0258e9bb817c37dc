"""tlfgen.lineage.record_columns and TraceContext.column: whole columns give what one value at a time gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlfgen.lineage.record_columns import create_adam_sources, sdtm_ids_at
from tlfgen.lineage.trace_context import plain_values


def test_plain_values_of_numbers_text_and_dates():
    numbers = pd.Series([1.0, 2.5, np.nan, -0.0, np.inf, 1e20, -3.0])
    assert plain_values(numbers) == [1, 2.5, None, 0, np.inf, 10 ** 20, -3]
    assert [type(v) for v in plain_values(numbers)] == [int, float, type(None), int, float, int, int]
    assert plain_values(pd.Series(["a", None, np.nan, ""], dtype=object)) == ["a", None, None, ""]
    dates = pd.Series(pd.to_datetime(["2020-01-02 13:45", None, "1969-12-31 23:00"]))
    assert plain_values(dates) == ["2020-01-02", None, "1969-12-31"]
    assert plain_values(pd.Series(np.array(["0999-01-01", "NaT"], dtype="datetime64[s]"))) == ["999-01-01", None]


LINEAGE = [
    {"key": {"STUDYID": "S", "USUBJID": "S-1", "PARAMCD": "OS"}, "sources": [{"domain": "ADSL"}]},
    {"key": {"STUDYID": "S", "USUBJID": "S-1", "PARAMCD": "PFS"},
     "sources": [{"domain": "RS", "seq": [2, 3]}, {"domain": "DM"}]},
    {"key": {"STUDYID": "S", "USUBJID": "S-2", "PARAMCD": "PFS"}, "sources": [{"domain": "EX", "seq": [1.0]}]},
]


def test_adam_sources_column_wise():
    sources = create_adam_sources("ADTTE", LINEAGE)
    assert sources.ids == ["adam.ADTTE:S-1:OS", "adam.ADTTE:S-1:PFS", "adam.ADTTE:S-2:PFS"]
    assert sources.parents == ["ADSL"]
    assert sources.parent_starts.tolist() == [0, 1, 1, 1]
    assert sdtm_ids_at(sources, np.asarray([2, 0, 1]), None) == [
        ["sdtm.EX:S-2:1"], [], ["sdtm.RS:S-1:2", "sdtm.RS:S-1:3", "sdtm.DM:S-1"]]
    assert sdtm_ids_at(sources, np.asarray([1, 2]), frozenset({"DM"})) == [["sdtm.DM:S-1"], []]
    assert sdtm_ids_at(sources, np.asarray([], dtype=np.int64), None) == []


def test_raw_texts_and_raw_rows_of_a_domain_in_two_lineage_files():
    """An id in two lineage files of one domain takes the last file's sources; an unknown id has none."""
    from tlfgen.lineage.record_columns import _raw_texts
    from tlfgen.lineage.records import RecordIndex, SdtmLinks
    from tlfgen.lineage.trace_context import TraceContext

    first = SdtmLinks(ids=["sdtm.TS:#1", "sdtm.TS:#2"], files=["specs/a.yaml", "specs/b.yaml"],
                      counts=np.asarray([2, 1]), file_index=np.asarray([0, 1, 1]), rows=np.asarray([5, 7, 9]),
                      domain="TS")
    second = SdtmLinks(ids=["sdtm.TS:#2", "sdtm.TS:#3"], files=["specs/c.yaml"], counts=np.asarray([1, 0]),
                       file_index=np.asarray([0]), rows=np.asarray([4]), domain="TS")
    ctx = TraceContext(study=None)  # type: ignore[arg-type]  # spec files: their lines are given, none is read
    ctx._cache["records"] = RecordIndex(study=None, links=[first, second])  # type: ignore[arg-type]
    ids = ["sdtm.TS:#2", "sdtm.TS:#9", "sdtm.TS:#1", "sdtm.TS:#3"]
    assert _raw_texts(ctx, "TS", ids) == [["specs/c.yaml:4"], [], ["specs/a.yaml:5", "specs/b.yaml:7"], []]
    assert _raw_texts(ctx, "TS", []) == []
    assert ctx.raw_rows("sdtm.TS:#1") == [{"file": "specs/a.yaml", "row": 5, "line": 5, "id": "specs/a.yaml:5"},
                                          {"file": "specs/b.yaml", "row": 7, "line": 7, "id": "specs/b.yaml:7"}]
    assert ctx.raw_rows("sdtm.TS:#2") == [{"file": "specs/c.yaml", "row": 4, "line": 4, "id": "specs/c.yaml:4"}]
    assert ctx.raw_rows("sdtm.TS:#9") == []
