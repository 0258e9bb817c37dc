"""Mapping context (tlfgen.sdtm.context): DM reference dates looked up per record."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from tlfgen.sdtm.context import MappingContext


def _ctx(reference: pd.DataFrame | None) -> MappingContext:
    return MappingContext(SimpleNamespace(studyid="S"), SimpleNamespace(), {}, reference=reference)


def test_reference_dates_are_complete_dates_per_subject_nat_otherwise():
    ref = pd.DataFrame({"USUBJID": ["S-1", "S-2", "S-3"], "RFSTDTC": ["2021-03-04", "2021-03", ""]})
    ctx = _ctx(ref)
    subjects = pd.Series(["S-2", "S-1", "S-9", "S-1", "S-3"], index=[5, 6, 7, 8, 9])
    dates = ctx.reference_dates(subjects, "RFSTDTC")
    assert dates.index.tolist() == [5, 6, 7, 8, 9]
    assert [None if pd.isna(d) else str(d.date()) for d in dates] == [None, "2021-03-04", None, "2021-03-04", None]
    assert dates.dtype == "datetime64[ns]"


def test_reference_dates_follow_a_rebuilt_reference_and_are_blank_before_dm():
    ctx = _ctx(None)
    assert ctx.reference_dates(pd.Series(["S-1"]), "RFSTDTC").isna().tolist() == [True]
    ctx.reference = pd.DataFrame({"USUBJID": ["S-1"], "RFSTDTC": ["2021-01-01"]})
    assert str(ctx.reference_dates(pd.Series(["S-1"]), "RFSTDTC")[0].date()) == "2021-01-01"
    ctx.reference = pd.DataFrame({"USUBJID": ["S-1"], "RFSTDTC": ["2022-02-02"]})
    assert str(ctx.reference_dates(pd.Series(["S-1"]), "RFSTDTC")[0].date()) == "2022-02-02"
    assert ctx.reference_dates(pd.Series(["S-1"]), "BRTHDTC").isna().tolist() == [True]
