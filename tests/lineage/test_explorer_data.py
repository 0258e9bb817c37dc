"""tlfgen.lineage.explorer_data: the page's data are the command line's traces (trace_cell), in table order."""

from __future__ import annotations

import html
import json
import re

import pytest

from tlfgen.lineage.explorer_data import spec_text
from tlfgen.lineage.graph import row_ids
from tlfgen.lineage.trace import trace_cell

BLOCK = re.compile(r'<script type="application/(json|octet-stream)" id="([^"]+)">(.*?)</script>', re.S)


def blocks_of(page: str) -> dict[str, str]:
    """Every data block's JSON text (a deflated block inflated, as the page does)."""
    from tlfgen.lineage.explorer_subjects import unpack_json

    return {html.unescape(name): text if kind == "json" else json.dumps(unpack_json(text))
            for kind, name, text in BLOCK.findall(page)}

SPEC = """steps:
  - id: orr
    derive: derive_param_rate
    args:
      paramcd: ORR

  - id: dcr
    derive: x
columns:
  - {name: USUBJID, source: dm.SUBJID}
  - {name: AGE, source: dm.AGE}
"""


# 1. a rule's text: its line and the lines indented under it, up to the next sibling
def test_spec_text_takes_the_block_under_the_line(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "A.yaml").write_text(SPEC, encoding="utf-8")
    cache: dict = {}
    assert spec_text(tmp_path, "specs/A.yaml:2", cache) == (
        "  - id: orr\n    derive: derive_param_rate\n    args:\n      paramcd: ORR")
    assert spec_text(tmp_path, "specs/A.yaml:11", cache) == "  - {name: AGE, source: dm.AGE}"
    assert spec_text(tmp_path, "specs/A.yaml:99", cache) == ""
    assert spec_text(tmp_path, "specs/missing.yaml:1", cache) == ""


@pytest.fixture(scope="module")
def page(lineage_study):
    study = lineage_study[0]
    found = blocks_of((study.outputs_dir / "lineage.html").read_text(encoding="utf-8"))
    return {name: json.loads(text) for name, text in found.items()}


def _cell(page, output_id, row_id, column_key):
    shell = next(o for o in page["tlfgen-shell"]["outputs"] if o["id"] == output_id)
    r = next(i for i, row in enumerate(shell["rows"]) if row["id"] == row_id)
    c = [col["key"] for col in shell["columns"]].index(column_key)
    block = page[f"tlfgen-output-{output_id}"]
    return block, block["cells"][f"{r},{c}"]


def _records(block, index, forms, show=None):
    """A page record rebuilt in trace_cell's shape (ids, values, raw rows of the path's forms); ``show``:
    the cell's own variables, shown with ADAM_SHOW (the page stores a record once with all of them)."""
    from tlfgen.lineage.trace import ADAM_SHOW

    rid, dataset, values, sdtm, adam = block["adam"][index]
    if show is not None:
        values = {k: v for k, v in values.items() if k in ADAM_SHOW or k in show}
    return {"id": rid, "dataset": dataset, "values": values,
            "sdtm": [{"id": block["sdtm"][s][0], "values": block["sdtm"][s][2],
                      "raw": [r for r in block["sdtm"][s][3] if r.rsplit("/", 1)[-1].rsplit(".", 1)[0] in forms]}
                     for s in sdtm],
            "adam": [_records(block, a, forms) for a in adam]}


def _traced(rec):
    return {"id": rec["id"], "dataset": rec["dataset"], "values": rec["values"],
            "sdtm": [{"id": s["id"], "values": s["values"], "raw": [r["id"] for r in s["raw"]]} for s in rec["sdtm"]],
            "adam": [_traced(a) for a in rec["adam"]]}


# 2. rows in table order, as printed
def test_rows_are_in_table_order(page, trace_ctx):
    table = trace_ctx.table(trace_ctx.output("T1"))
    shell = next(o for o in page["tlfgen-shell"]["outputs"] if o["id"] == "T1")
    assert [r["label"] for r in shell["rows"]] == [r.label for r in table.rows]
    assert [r["id"] for r in shell["rows"] if r["id"]] == [rid for _, rid in row_ids(table)]
    assert shell["rows"][[r["id"] for r in shell["rows"]].index("AGEGR1.>=65")]["label"] == "\u226565"


# 3. the page and `tlfgen trace` agree: same analysis, subjects, records, values, raw rows and rules
@pytest.mark.parametrize("output_id, row_id, column_key", [
    ("T2", "ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N", "TCAC"),
    ("T2", "PFS.MEDIAN_MONTHS_95_CI", "TCC"),
    ("T1", "AGE.MEAN_SD", "TCAC"),
])
def test_page_cell_equals_trace_cell(page, trace_ctx, output_id, row_id, column_key):
    block, cell = _cell(page, output_id, row_id, column_key)
    traced = trace_cell(trace_ctx, output_id, row_id, column_key)
    assert cell["analysis"] == traced["analysis"] and cell["n"] == traced["n"]
    assert cell["recount"] == traced["recount"] and cell["text"] == traced["text"]
    assert [block["subjects"][s] for s, _ in cell["subjects"]] == [s["usubjid"] for s in traced["subjects"]]
    assert cell["show"] == traced["shown"]
    for (_, records), subject in zip(cell["subjects"], traced["subjects"]):
        assert [_records(block, i, cell["forms"], cell["show"]) for i in records] == [
            _traced(r) for r in subject["records"]]
    rules = [block["rules"][i] for i in cell["rules"]]
    assert rules == [[r["variable"], r["rule"], r["spec"], r["from"]] for r in traced["rules"]]
    assert all(page["tlfgen-specs"][r[2]] for r in rules)  # each rule's spec text is on the page


# 4. the ORR cell's analysis spec text is the block of T2.yaml that defines the rate
def test_analysis_spec_text_is_the_rate_block(page):
    _, cell = _cell(page, "T2", "ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N", "TCAC")
    text = page["tlfgen-specs"][cell["analysis"]["spec"]]
    assert cell["analysis"]["spec"].startswith("specs/tlf/T2.yaml:")
    assert text.lstrip().startswith("- kind: rate") and "id: ORR" in text and "responder:" in text


# 5. a Kaplan-Meier figure: one row per arm whose cell opens the subjects drawn (trace_figure)
def test_km_figure_rows_open_the_subjects_drawn(page, trace_ctx):
    from tlfgen.lineage.trace_figure import trace_figure

    traced = trace_figure(trace_ctx, "F1")
    shell = next(o for o in page["tlfgen-shell"]["outputs"] if o["id"] == "F1")
    assert [r["id"] for r in shell["rows"]] == [a["armcd"] for a in traced["arms"]] == ["TCAC", "TCC"]
    block = page["tlfgen-output-F1"]
    for r, arm in enumerate(traced["arms"]):
        cell = block["cells"][f"{r},0"]
        assert cell["values"] == {"n": arm["n"], "events": arm["events"], "censored": arm["censored"]}
        assert [block["subjects"][s] for s, _ in cell["subjects"]] == [s["usubjid"] for s in arm["subjects"]]
        for (_, records), subject in zip(cell["subjects"], arm["subjects"]):
            assert [_records(block, i, cell["forms"]) for i in records] == [_traced(x) for x in subject["records"]]


# 6. a listing: every row has its id, records, rules and forms as `tlfgen trace L<n> --row <id>` gives them
@pytest.mark.parametrize("output_id", ["L1", "L2", "L3", "L4"])
def test_page_listing_rows_equal_trace_listing_row(page, trace_ctx, output_id):
    from tlfgen.lineage.trace_listing import listing_rows, trace_listing_row

    block = page[f"tlfgen-output-{output_id}"]
    rows = listing_rows(trace_ctx, trace_ctx.output(output_id))
    assert block["ids"] == list(rows.ids) and len(block["rows"]) == len(block["records"]) == len(rows.ids)
    assert [block["subjects"][s] for s in block["row_subjects"]] == list(rows.usubjids)
    for i in sorted({0, len(rows.ids) // 2, len(rows.ids) - 1}):
        traced = trace_listing_row(trace_ctx, output_id, rows.ids[i])
        assert block["rows"][i] == list(traced["cells"].values())
        rules, forms = block["rulesets"][block["ruleset"][i]]
        assert forms == traced["forms"]
        assert [block["rules"][r] for r in rules] == [[r["variable"], r["rule"], r["spec"], r["from"]]
                                                     for r in traced["rules"]]
        assert [_records(block, a, forms) for a in block["records"][i]] == [_traced(r) for r in traced["records"]]


# 7. define.xml methods: one row per item with a MethodOID, each the trace of `tlfgen trace <item> --define`
def test_page_define_methods_equal_trace_define(page, trace_ctx):
    from tlfgen.lineage.trace_define import method_items, trace_define

    shell = next(o for o in page["tlfgen-shell"]["outputs"] if o["id"] == "DEFINE")
    assert page["tlfgen-shell"]["outputs"][-1] is shell  # after the tables, listings and figures
    items = method_items(trace_ctx)
    assert [m[0] for m in shell["methods"]] == [f"{d}.{v}" + (f" [{x}]" if x else "") for d, v, x in items]
    i = [m[0] for m in shell["methods"]].index("ADSL.AGEGR1")
    assert shell["methods"][i][1:] == ["MT.ADSL.AGEGR1", "'<65' if AGE < 65, '>=65' if AGE >= 65"]
    assert page["tlfgen-output-DEFINE"]["methods"][i] == json.loads(json.dumps(trace_define(trace_ctx, "ADSL.AGEGR1")))
