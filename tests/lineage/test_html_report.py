"""tlfgen.lineage.html_report: the self-contained explorer page, its JSON blocks and their escaping."""

from __future__ import annotations

import html
import json
import re

from tlfgen.lineage.explorer_data import ExplorerData
from tlfgen.lineage.explorer_subjects import pack_json
from tlfgen.lineage.html_report import create_explorer_html, json_block

BLOCK = re.compile(r'<script type="application/(json|octet-stream)" id="([^"]+)">(.*?)</script>', re.S)


def blocks_of(page: str) -> dict[str, str]:
    """Every data block's JSON text (a deflated block inflated, as the page does)."""
    from tlfgen.lineage.explorer_subjects import unpack_json

    return {html.unescape(name): text if kind == "json" else json.dumps(unpack_json(text))
            for kind, name, text in BLOCK.findall(page)}


# 1. text that would end a script block or open a comment cannot: every < > & is a JSON escape
def test_json_block_cannot_be_closed_by_its_text():
    value = {"label": "</script><script>alert(1)</script> <!-- & -->", "n": 1}
    block = json_block("tlfgen-shell", value)
    assert block.count("</script>") == 1 and "<!--" not in block
    (text,) = blocks_of(block).values()
    assert "\\u003c/script\\u003e" in text
    assert json.loads(text) == value


# 2. the page: escaped title, one block per output, no network and no external file
def test_page_has_escaped_title_and_one_block_per_output():
    data = ExplorerData(shell={"study": "S<1>", "cutoff": "", "outputs": [], "subjects": []},
                        blocks={"T1": pack_json({"cells": {}}), "L1": pack_json({"rows": [["<b>x</b>"]]})},
                        specs={"specs/tlf/T1.yaml:3": "  - kind: rate"})
    page = create_explorer_html(data)
    assert "<title>Lineage explorer S&lt;1&gt;</title>" in page
    found = blocks_of(page)
    assert list(found) == ["tlfgen-shell", "tlfgen-specs", "tlfgen-output-T1", "tlfgen-output-L1"]
    assert json.loads(found["tlfgen-output-L1"]) == {"rows": [["<b>x</b>"]]}
    assert "<b>x</b>" not in page
    assert '<script type="application/octet-stream" id="tlfgen-output-L1">' in page  # deflated, not JSON text
    assert not re.search(r"https?:|<link|<script[^>]+src|<img|@import", page, flags=re.I)
    assert "innerHTML=" not in page.replace('panel.innerHTML="";', "")  # text only ever set as text


# 3. the embedded study's page is written by the lineage stage and is self-contained
def test_embedded_page_is_written_and_self_contained(lineage_study):
    study, result = lineage_study
    path = study.outputs_dir / "lineage.html"
    assert path in result.outputs
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"https?:|//[a-z]|<link|<script[^>]+src|<img|@import", page, flags=re.I)
    found = blocks_of(page)
    shell = json.loads(found["tlfgen-shell"])
    assert [o["id"] for o in shell["outputs"] if o["kind"] == "table"] == ["T1", "T2", "T3", "T4", "T5"]
    assert {f"tlfgen-output-{o['id']}" for o in shell["outputs"] if o["kind"] != "figure"} <= set(found)


# 4. same inputs, same bytes: the page rebuilt from adam/ and sdtm/ equals the one the stage wrote
def test_page_is_rebuilt_byte_identical(lineage_study):
    from tlfgen.lineage.html_report import REPORT_NAME, create_explorer_html
    from tlfgen.lineage.explorer_data import create_explorer_data
    from tlfgen.lineage.trace import TraceContext
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

    study = lineage_study[0]
    specs = load_stage_specs(study, "tlf")
    tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    page = create_explorer_html(create_explorer_data(TraceContext(study), tables))
    assert page == (study.outputs_dir / REPORT_NAME).read_text(encoding="utf-8")


def test_numbers_json_cannot_hold_are_written_as_the_text_sas_and_r_print():
    # a Cox model with an infinite estimate gives an upper limit of inf: the page says Inf, the run goes on
    from tlfgen.lineage.explorer_subjects import pack_json, unpack_json

    cell = {"values": {"est": 2.5, "lower": 0.4, "upper": float("inf"), "p": float("nan"), "d": -float("inf")}}
    assert unpack_json(pack_json(cell)) == {"values": {"est": 2.5, "lower": 0.4, "upper": "Inf", "p": "NaN",
                                                        "d": "-Inf"}}
    block = json_block("x", [cell])
    payload = block.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert json.loads(payload) == [{"values": {"est": 2.5, "lower": 0.4, "upper": "Inf", "p": "NaN", "d": "-Inf"}}]
