"""tlfgen.lineage.html_report: the self-contained, searchable, autoescaped lineage page."""

from __future__ import annotations

import re

from tlfgen.lineage.html_report import create_html_report


def _doc(label: str) -> dict:
    return {"schema_version": "1.0", "study": "S1", "cutoff": "2022-01-01",
            "nodes": {"raw.ex.EXSTDAT": {"kind": "raw", "label": "Exposure"},
                      "adam.ADSL.TRTSDT": {"kind": "adam", "label": label, "origin": "Derived",
                                           "method": "first dose", "spec": "specs/adam/ADSL.yaml:48"}},
            "edges": [{"from": "raw.ex.EXSTDAT", "to": "adam.ADSL.TRTSDT",
                       "rule": {"kind": "derive", "name": "derive_vars_dt", "spec": "specs/adam/ADSL.yaml:48"}}]}


# 1. text from specs is escaped
def test_labels_are_escaped():
    html = create_html_report(_doc("<script>alert(1)</script>"))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# 2. nodes, links between them, rules and a search box
def test_nodes_links_and_search():
    html = create_html_report(_doc("First dose date"))
    assert 'id="n-adam.ADSL.TRTSDT"' in html and 'href="#n-raw.ex.EXSTDAT"' in html
    assert 'href="#n-adam.ADSL.TRTSDT"' in html
    assert "derive_vars_dt" in html and "specs/adam/ADSL.yaml:48" in html
    assert '<input id="q" type="search"' in html


# 3. the embedded study's page: self-contained (no external URL, no external script or style)
def test_embedded_report_is_self_contained(lineage_study):
    study, result = lineage_study
    path = study.outputs_dir / "lineage.html"
    assert path in result.outputs
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"https?:|//[a-z]|<link|<script[^>]+src|<img|@import", html, flags=re.I)
    for node in ("adam.ADSL.TRTSDT", "adam.ADTTE.AVAL[PFS]", "sdtm.RS.RSSTRESC", "raw.rs.OVRLRESP",
                 "analysis.T2.ORR.TCAC"):
        assert f">{node}</td>" in html
    anchors = set(re.findall(r'id="([^"]+)"', html))
    assert set(re.findall(r'href="#([^"]+)"', html)) <= anchors
