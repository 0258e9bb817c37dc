"""tlfgen.lineage.trace_listing: every listing row of the embedded study traced to its records and raw rows.

The raw rows a row names are read back from raw/*.csv and compared with what the listing printed
(the raw file is the independent source: the reported term, the grade, the overall response).
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from tlfgen.errors import UsageError
from tlfgen.lineage.trace_command import run_trace
from tlfgen.lineage.trace_listing import find_listing_row, listing_rows, row_id_of, trace_listing_row


def _raw(study, ref: str) -> dict[str, str]:
    file, line = ref.rsplit(":", 1)
    lines = (study.root / file).read_text(encoding="utf-8").splitlines()
    return dict(zip(next(csv.reader([lines[0]])), next(csv.reader([lines[int(line) - 1]]))))


def _raw_refs(record, domain):
    return [r["id"] for s in record["sdtm"] if s["domain"] == domain for r in s["raw"]]


# 1. ids: the ADaM record's key, readable, unique, in the listing's order
def test_row_ids_are_the_record_keys(trace_ctx):
    assert row_id_of({"STUDYID": "S", "USUBJID": "S-01001", "AESEQ": 3.0}) == "S-01001.AESEQ=3"
    assert row_id_of({"STUDYID": "S", "USUBJID": "S-1", "PARAMCD": "OVR", "ADT": "2021-02-24", "SRCSEQ": None}) \
        == "S-1.PARAMCD=OVR.ADT=2021-02-24"
    rows = listing_rows(trace_ctx, trace_ctx.output("L1"))
    table = trace_ctx.table(trace_ctx.output("L1"))
    assert len(rows.ids) == len(set(rows.ids)) == sum(1 for r in table.rows if r.kind == "data")
    assert list(rows.usubjids) == [r.label for r in table.rows if r.kind == "data"]
    assert all(rid.startswith(u + ".AESEQ=") for rid, u in zip(rows.ids, rows.usubjids))


# 2. L1 (all AEs): every row reaches the one raw/ae.csv line it was made from, with the printed term and grade
def test_every_ae_listing_row_reaches_its_ae_csv_line(trace_ctx):
    study = trace_ctx.study
    rows = listing_rows(trace_ctx, trace_ctx.output("L1"))
    assert len(rows.ids) > 300
    for rid, usubjid in zip(rows.ids, rows.usubjids):
        traced = trace_listing_row(trace_ctx, "L1", rid)
        adae, adsl = traced["records"]
        assert (adae["dataset"], adsl["dataset"]) == ("ADAE", "ADSL"), rid
        (ref,) = _raw_refs(adae, "AE")
        raw = _raw(study, ref)
        assert usubjid.endswith("-" + raw["SUBJID"]), (rid, ref)
        assert raw["AETERM"].strip() == traced["cells"]["AETERM"], (rid, ref)
        assert raw["AETOXGR"] == traced["cells"]["ATOXGRN"], (rid, ref)
        assert traced["row"]["usubjid"] == usubjid and traced["cells"]["ARM"] in ("TCAC", "TCC")


# 3. L3 (overall response by visit): each row reaches its raw/rs.csv line, whose OVRLRESP is the printed response
def test_every_response_listing_row_reaches_its_rs_csv_line(trace_ctx):
    study = trace_ctx.study
    rows = listing_rows(trace_ctx, trace_ctx.output("L3"))
    for rid, usubjid in zip(rows.ids, rows.usubjids):
        traced = trace_listing_row(trace_ctx, "L3", rid)
        refs = _raw_refs(traced["records"][0], "RS")
        assert len(refs) == 1, rid
        raw = _raw(study, refs[0])
        assert usubjid.endswith("-" + raw["SUBJID"]) and raw["OVRLRESP"] == traced["cells"]["AVALC"], (rid, refs)
        assert {r["file"] for rec in traced["records"] for s in rec["sdtm"] for r in s["raw"]} <= {
            f"raw/{form}.csv" for form in traced["forms"]}


# 4. --row takes the id, the id without the study prefix, or <USUBJID>#<k>; a bad name lists the closest
def test_rows_are_found_by_id_short_id_or_position(trace_ctx):
    rows = listing_rows(trace_ctx, trace_ctx.output("L1"))
    first = rows.ids[0]
    subject = rows.usubjids[0]
    second = rows.usubjids.index(subject) + 1
    assert find_listing_row(rows, first.lower()) == 0
    assert find_listing_row(rows, first.split("-", 1)[1]) == 0
    assert find_listing_row(rows, subject.split("-", 1)[1] + "#2") == second
    with pytest.raises(UsageError, match="ambiguous"):
        find_listing_row(rows, subject)
    with pytest.raises(UsageError, match="unknown row of L1"):
        find_listing_row(rows, "NOBODY.AESEQ=1")


# 5. the command line: a listing needs --row (the hint shows row ids); --json parses
def test_run_trace_listing_row(lineage_study):
    study = lineage_study[0]
    with pytest.raises(UsageError, match="needs --row") as err:
        run_trace(study, "L2", row=None, col=None, subject=None, param=None, as_json=True,
                  console=Console(file=io.StringIO()))
    assert ".AESEQ" not in (err.value.hint or "") and "NCT04471480-" in (err.value.hint or "")
    buffer = io.StringIO()
    assert run_trace(study, "l2", row="01001", col=None, subject=None, param=None, as_json=True,
                     console=Console(file=buffer, width=200)) == 0
    doc = json.loads(buffer.getvalue())
    assert doc["kind"] == "listing_row" and doc["row"]["id"] == "NCT04471480-01001"
    assert [r["dataset"] for r in doc["records"]] == ["ADSL"]
    buffer = io.StringIO()
    run_trace(study, "L3", row="01001#2", col=None, subject=None, param=None, as_json=False,
              console=Console(file=buffer, width=200))
    assert "raw/rs.csv:" in buffer.getvalue()
