"""tlfgen.lineage.trace: cells, derived values and variables traced on the embedded study."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from tlfgen.errors import UsageError
from tlfgen.lineage.graph import row_ids
from tlfgen.lineage.trace import find_column, find_row, trace_cell, trace_value, trace_variable
from tlfgen.lineage.trace_command import run_trace


def _table(ctx, output_id):
    return ctx.table(ctx.output(output_id))


def _count_cells(ctx, output_id):
    table = _table(ctx, output_id)
    for row, rid in row_ids(table):
        for column, cell in zip(table.columns, row.cells):
            if cell.analysis_id and any(name == "n" for name, _ in cell.values) and column.kind != "comparison":
                yield row, rid, column, cell


# 1. every count cell of Tables 2 and 3: the traced subjects and the recount from ADaM equal the cell's n
@pytest.mark.parametrize("output_id", ["T2", "T3"])
def test_every_count_cell_traces_to_its_n(trace_ctx, output_id):
    cells = list(_count_cells(trace_ctx, output_id))
    assert len(cells) >= (18 if output_id == "T2" else 40)
    for row, rid, column, cell in cells:
        result = trace_cell(trace_ctx, output_id, rid, column.key)
        n = cell.value("n")
        assert result["n"] == n, (rid, column.key)
        assert len(result["subjects"]) == n, (rid, column.key)
        assert result["recount"] == {"n": n, "matches": True}, (rid, column.key)
        assert all(s["records"] for s in result["subjects"]), (rid, column.key)


# 2. the TCAC ORR cell: 27 subjects, each with its confirming RS records and their raw rows
def test_orr_tcac_lists_27_subjects_with_confirming_rs_records(trace_ctx):
    result = trace_cell(trace_ctx, "T2", "ORR", "TCAC")
    assert result["analysis"]["id"] == "T2.ORR.TCAC"
    assert result["analysis"]["population"] == "FASFL == 'Y'"
    assert result["analysis"]["subset"] == "PARAMCD == 'ORR'"
    assert result["analysis"]["method"].startswith("Clopper-Pearson")
    assert result["n"] == 27 and len(result["subjects"]) == 27
    raw_rs = (trace_ctx.study.raw_dir / "rs.csv").read_text(encoding="utf-8").splitlines()
    for subject in result["subjects"]:
        (record,) = subject["records"]
        assert record["values"]["PARAMCD"] == "ORR" and record["values"]["AVALC"] == "Y"
        rs = [s for s in record["sdtm"] if s["domain"] == "RS"]
        assert len(rs) >= 2, subject["usubjid"]  # first response and its confirmation
        for item in rs:
            assert item["values"]["RSTESTCD"] == "OVRLRESP"
            assert item["values"]["RSSTRESC"] in ("CR", "PR")
            (raw,) = item["raw"]
            assert raw["file"] == "raw/rs.csv"
            line = raw_rs[raw["line"] - 1]
            assert subject["usubjid"].split("-")[-1] in line and item["values"]["RSSTRESC"] in line
    rules = {r["spec"].split(":")[0] for r in result["rules"]}
    assert {"specs/adam/ADRS.yaml", "specs/sdtm/RS.yaml"} <= rules
    assert all(r["spec"].count(":") == 1 for r in result["rules"])


# 3. a surgical patient's PFS: censored at the conversion surgery by the spec entry that says so
def test_pfs_of_a_surgical_patient_shows_the_surgery_censoring_rule(trace_ctx):
    adtte = trace_ctx.adam("ADTTE")
    hit = adtte[(adtte["PARAMCD"] == "PFS") & (adtte["CNSDTDSC"] == "CONVERSION SURGERY")]
    assert len(hit) >= 1
    usubjid = hit["USUBJID"].iloc[0]
    result = trace_value(trace_ctx, "ADTTE.AVAL", usubjid, "pfs")
    (record,) = result["records"]
    assert result["variable"] == "adam.ADTTE.AVAL[PFS]"
    assert record["values"]["CNSR"] == 1
    rule = record["rule"]
    assert (rule["kind"], rule["description"], rule["step"]) == ("censor", "CONVERSION SURGERY", "pfs")
    assert rule["entry"]["date"] == "SURGDT" and rule["entry"]["preempts"] is True
    file, line = rule["spec"].split(":")
    assert file == "specs/adam/ADTTE.yaml"
    assert "CONVERSION SURGERY" in (trace_ctx.study.root / file).read_text().splitlines()[int(line) - 1]
    pr = [s for parent in record["adam"] for s in parent["sdtm"] if s["domain"] == "PR"]
    assert pr and pr[0]["raw"][0]["file"] == "raw/pr.csv"
    assert record["value"] == int(hit["AVAL"].iloc[0])


# 4. a variable's chain reaches the raw column, each edge with its spec line
def test_variable_chain_of_trtsdt_reaches_raw_exstdat(trace_ctx):
    result = trace_variable(trace_ctx, "adsl.trtsdt")
    assert result["variable"] == "adam.ADSL.TRTSDT"
    pairs = {(e["from"], e["to"]) for e in result["chain"]}
    assert ("adam.ADSL.TRTSDTC", "adam.ADSL.TRTSDT") in pairs
    assert ("sdtm.EX.EXSTDTC", "adam.ADSL.TRTSDTC") in pairs
    assert ("raw.ex.EXSTDAT", "sdtm.EX.EXSTDTC") in pairs
    assert "raw.ex.EXSTDAT" in result["raw_columns"]
    assert all(e["spec"].startswith("specs/") for e in result["chain"])


# 5. rows by id, block id or label; columns by key; case-insensitive
def test_rows_and_columns_are_found_by_id_block_or_label(trace_ctx):
    table = _table(trace_ctx, "T2")
    by_block = find_row(table, "orr")
    assert by_block == find_row(table, "Objective response rate (CR + PR), n (%)")
    assert by_block == find_row(table, "ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N")
    assert find_row(table, "orr.95_ci")[1] == "ORR.95_CI"
    assert find_column(table, "tcac").key == "TCAC"
    with pytest.raises(UsageError, match="ambiguous"):
        find_row(table, "95% CI")


# 6. unknown names: exit code 2 and the closest valid names
@pytest.mark.parametrize("args, near", [
    (("T22", "ORR", "TCAC"), "T2"),
    (("T2", "ORX", "TCAC"), "ORR"),
    (("T2", "ORR", "TCA"), "TCAC"),
])
def test_unknown_table_row_or_column_names_the_closest(trace_ctx, args, near):
    with pytest.raises(UsageError) as info:
        trace_cell(trace_ctx, *args)
    assert info.value.exit_code == 2
    assert "closest: " + near in info.value.hint


def test_unknown_variable_names_the_closest(trace_ctx):
    with pytest.raises(UsageError) as info:
        trace_variable(trace_ctx, "ADSL.TRTSDX")
    assert info.value.hint.startswith("closest: ADSL.TRTSDT")


# 7. --json prints JSON that parses; the rich rendering names the subjects
def test_run_trace_json_parses_and_text_renders(lineage_study):
    study = lineage_study[0]
    buffer = io.StringIO()
    code = run_trace(study, "T2", row="ORR", col="TCAC", subject=None, param=None, as_json=True,
                     console=Console(file=buffer, width=200))
    doc = json.loads(buffer.getvalue())
    assert code == 0 and doc["kind"] == "cell" and doc["n"] == 27
    buffer = io.StringIO()
    run_trace(study, "ADSL.TRTSDT", row=None, col=None, subject=None, param=None, as_json=False,
              console=Console(file=buffer, width=200))
    assert "raw.ex.EXSTDAT" in buffer.getvalue()


def test_cli_trace_cell(lineage_study):
    from typer.testing import CliRunner

    from tlfgen.cli import app

    result = CliRunner().invoke(app, ["--study", str(lineage_study[0].root), "trace", "T2", "--row", "ORR",
                                      "--col", "TCAC", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["text"].startswith("27 ")
    bad = CliRunner().invoke(app, ["--study", str(lineage_study[0].root), "trace", "T2", "--row", "ORX",
                                   "--col", "TCAC"])
    assert bad.exit_code == 2 and "ORR" in bad.output


# 3. exact paths: the rules listed for a cell are those its records went through, found here by the
#    spec text each rule sits on (so a spec edit that moves lines does not break the expectation)
def _spec_line(study, file: str, anchor: str) -> str:
    lines = (study.root / file).read_text(encoding="utf-8").splitlines()
    pattern = re.compile(re.escape(anchor) + r"(?![A-Za-z0-9_])")
    hits = [i + 1 for i, line in enumerate(lines) if pattern.match(line.strip())]
    assert len(hits) == 1, f"{file}: anchor {anchor!r} found {len(hits)} times"
    return f"{file}:{hits[0]}"


def _expected(study, anchors: dict[str, list[str]]) -> set[str]:
    return {_spec_line(study, f"specs/{file}", a) for file, items in anchors.items() for a in items}


# who is counted where: FASFL (population) and TRT01PN (column), from DM.ARMCD and EX's first dose
POPULATION = {
    "adam/ADSL.yaml": ["- id: dm", "- id: trt01p", "- id: trtsdtc", "- id: trtsdt", "- id: fasfl"],
    "sdtm/DM.yaml": ["- {name: USUBJID", "- {name: SUBJID", "- {name: ARMCD"],
    "sdtm/EX.yaml": ["- {name: USUBJID", "- {name: EXSEQ", "- {name: EXTRT", "- {name: EXDOSE", "- {name: EXSTDTC"],
}
# the overall responses: RS records of test OVRLRESP only (not TRGRESP, NTRGRESP, NEWLIND), analysed
# up to a subsequent therapy (CM.CMSTDTC)
OVERALL_RESPONSE = {
    "adam/ADRS.yaml": ["- id: ovr"],
    "sdtm/RS.yaml": ["RSSTRESC: {source: rs.OVRLRESP", "- {name: USUBJID", "- {name: RSSEQ", "- {name: VISITNUM",
                     "- {name: RSDTC"],
    "sdtm/CM.yaml": ["- {name: CMSTDTC"],
}


def _merge(*parts: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in parts:
        for file, anchors in part.items():
            out.setdefault(file, []).extend(anchors)
    return out


def test_orr_cell_rules_are_exactly_its_path(trace_ctx):
    """ORR <- BOR (source_paramcd) <- OVR <- RS OVRLRESP; no DCR, DEPTH50, BESTPCHG, TR or TU rule."""
    result = trace_cell(trace_ctx, "T2", "ORR", "TCAC")
    expected = _expected(trace_ctx.study, _merge(POPULATION, OVERALL_RESPONSE,
                                                 {"adam/ADRS.yaml": ["- id: bor", "- id: orr"]}))
    assert {r["spec"] for r in result["rules"]} == expected


def test_pfs_median_rules_are_exactly_its_path(trace_ctx):
    """PFS <- OVR records (PD events, last adequate assessment), death (DM.DTHDTC from dth.csv) and
    conversion surgery (PR); no BOR/ORR/DCR/DEPTH50/BESTPCHG step, no TR/TU rule."""
    result = trace_cell(trace_ctx, "T2", "PFS.MEDIAN_MONTHS_95_CI", "TCAC")
    expected = _expected(trace_ctx.study, _merge(POPULATION, OVERALL_RESPONSE, {
        "adam/ADTTE.yaml": ["- id: pfs"],
        "adam/ADSL.yaml": ["- id: surgfl", "- id: surgdtc", "- id: surgdt", "- id: dthdt"],
        "sdtm/DM.yaml": ["- {name: DTHDTC"],
        "sdtm/PR.yaml": ["- {name: USUBJID", "- {name: PRSEQ", "- {name: PRSTDTC"],
    }))
    assert {r["spec"] for r in result["rules"]} == expected
    # each subject row shows the values the median was computed from
    for subject in result["subjects"]:
        (record,) = subject["records"]
        assert {"AVAL", "CNSR", "STARTDT", "PARAMCD"} <= set(record["values"]), subject["usubjid"]
        assert record["values"]["PARAMCD"] == "PFS"


def test_age_mean_rules_and_raw_rows_are_exactly_its_path(trace_ctx):
    """AGE <- DM.AGE <- BRTHDTC (dm.csv) and RFICDTC (ic.csv); no dth.csv row, no EX rule."""
    result = trace_cell(trace_ctx, "T1", "AGE.MEAN_SD", "TCAC")
    expected = _expected(trace_ctx.study, {
        "adam/ADSL.yaml": ["- id: dm", "- id: trt01p", "- id: fasfl"],
        "sdtm/DM.yaml": ["- {name: ARMCD", "- {name: AGE,", "- {name: BRTHDTC", "- {name: RFICDTC"],
    })
    assert {r["spec"] for r in result["rules"]} == expected
    adsl = trace_ctx.adam("ADSL").set_index("USUBJID")
    for subject in result["subjects"]:
        (record,) = subject["records"]
        assert record["values"]["AGE"] == adsl.loc[subject["usubjid"], "AGE"]
        files = {raw["file"] for sdtm in record["sdtm"] for raw in sdtm["raw"]}
        assert files == {"raw/dm.csv", "raw/ic.csv"}, subject["usubjid"]


# 4. row ids keep their operators
def test_row_ids_keep_comparison_operators(trace_ctx):
    ids = [rid for _, rid in row_ids(_table(trace_ctx, "T1"))]
    assert {"AGEGR1.<65", "AGEGR1.>=65", "PDL1.<1", "PDL1.1-9", "PDL1.>=10"} <= set(ids)
    assert not any("#" in rid for rid in ids)
    row, rid = find_row(_table(trace_ctx, "T1"), "agegr1.>=65")
    assert (rid, row.label) == ("AGEGR1.>=65", "\u226565")
    assert trace_cell(trace_ctx, "T1", "AGEGR1.>=65", "TCAC")["recount"]["matches"] is True


def test_an_unknown_target_offers_tables_and_listings(lineage_study):
    study = lineage_study[0]
    with pytest.raises(UsageError) as err:
        run_trace(study, "T9", row=None, col=None, subject=None, param=None, as_json=True,
                  console=Console(file=io.StringIO()))
    hint = err.value.hint or ""
    assert "T2" in hint and "L1" in hint  # listings are traced by row (test_trace_listing.py)


# 5. a KM figure: per arm the subjects drawn, their time and censoring, and the events, which
#    equal Table 2's "Progression or death" counts (computed by the table, not the figure)
def test_km_figure_lists_per_arm_subjects_and_events(trace_ctx):
    from tlfgen.lineage.trace_figure import trace_figure

    result = trace_figure(trace_ctx, "f1")
    assert (result["output"], result["param"], result["time"], result["censor"]) == ("F1", "PFS", "AVALM", "CNSR")
    table = _table(trace_ctx, "T2")
    events_row = next(r for r in table.rows if r.block_id == "PFS" and r.label.startswith("Progression or death"))
    for arm in result["arms"]:
        cell = events_row.cells[[c.key for c in table.columns].index(arm["armcd"])]
        assert arm["events"] == cell.value("n"), arm["armcd"]
        assert arm["n"] == len(arm["subjects"]) == 30
        assert arm["events"] + arm["censored"] == arm["n"]
        for subject in arm["subjects"]:
            (record,) = subject["records"]
            assert record["values"]["PARAMCD"] == "PFS" and record["values"]["CNSR"] in (0, 1)
            assert "AVALM" in record["values"]
    assert [a["armcd"] for a in result["arms"]] == ["TCAC", "TCC"]
    with pytest.raises(UsageError, match="F4 is a forest figure"):
        trace_figure(trace_ctx, "F4")
