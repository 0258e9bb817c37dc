"""Lineage layer: the HTML lineage report (``outputs/lineage.html``).

One self-contained page (inline CSS and JavaScript, no network access) built
from the lineage document (``graph.build_lineage``): per stage and dataset, its
variables with label, origin, method, the spec line, the variables they come
from (with the rule) and those they feed; a search box filters every row.
Rendered with a sandboxed Jinja environment with autoescaping, so text from
specs cannot inject markup.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from tlfgen.spec.study import ResolvedStudy

REPORT_NAME = "lineage.html"
STAGES = (("raw", "Raw EDC columns"), ("sdtm", "SDTM variables"), ("adam", "ADaM variables"),
          ("analysis", "Analyses"), ("cell", "Table cells"), ("output", "Outputs"))

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Lineage report {{ study }}</title>
<style>
body{font-family:system-ui,Segoe UI,Arial,sans-serif;margin:0;color:#1d2733;background:#f7f8fa}
header{position:sticky;top:0;background:#1d3557;color:#fff;padding:.6em 1em;z-index:2}
header input{width:28em;max-width:90%;padding:.35em;font-size:1em;border-radius:4px;border:0}
nav{padding:.5em 1em;background:#e9edf2;font-size:.9em;line-height:1.8}
nav a{margin-right:.8em;color:#1d3557}
main{padding:0 1em 2em}
h2{margin:1.2em 0 .3em;border-bottom:2px solid #1d3557}
h3{margin:1em 0 .3em}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.85em}
th,td{border:1px solid #d0d7de;padding:.25em .4em;vertical-align:top;text-align:left}
th{background:#eef1f5}
td.id{font-family:ui-monospace,Consolas,monospace;white-space:nowrap}
.rule{color:#5a6b7b;font-size:.9em}
tr:target{background:#fff3bf}
.count{color:#5a6b7b;font-weight:normal;font-size:.8em}
</style></head>
<body>
<header><strong>Lineage report</strong> &middot; {{ study }} &middot; cutoff {{ cutoff }} &middot;
schema {{ schema_version }} &middot; {{ n_nodes }} nodes, {{ n_edges }} edges
<br><input id="q" type="search" placeholder="Search variables, methods, rules, spec files..." autocomplete="off">
<span id="shown"></span></header>
<nav>{% for stage in stages %}{% for ds in stage.datasets %}<a href="#{{ ds.anchor }}">{{ ds.name }}</a>{% endfor %}{% endfor %}</nav>
<main>
{% for stage in stages %}<h2>{{ stage.title }}</h2>
{% for ds in stage.datasets %}<h3 id="{{ ds.anchor }}">{{ ds.name }} <span class="count">{{ ds.rows|length }}</span></h3>
<table><thead><tr><th>id</th><th>label</th><th>origin</th><th>method / source</th><th>spec</th>
<th>comes from (rule)</th><th>used by</th></tr></thead><tbody>
{% for r in ds.rows %}<tr id="{{ r.anchor }}" data-search="{{ r.search }}">
<td class="id">{{ r.id }}</td><td>{{ r.label }}</td><td>{{ r.origin }}</td><td>{{ r.method }}</td><td>{{ r.spec }}</td>
<td>{% for p in r.parents %}<a href="#{{ p.anchor }}">{{ p.id }}</a> <span class="rule">{{ p.rule }}{% if p.spec %} @ {{ p.spec }}{% endif %}</span><br>{% endfor %}</td>
<td>{% for c in r.children %}<a href="#{{ c.anchor }}">{{ c.id }}</a><br>{% endfor %}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}{% endfor %}
</main>
<script>
(function(){
  var q=document.getElementById('q'), shown=document.getElementById('shown');
  var rows=Array.prototype.slice.call(document.querySelectorAll('tr[data-search]'));
  function apply(){
    var terms=q.value.toLowerCase().split(/\\s+/).filter(Boolean), n=0;
    rows.forEach(function(r){
      var hay=r.getAttribute('data-search'), ok=terms.every(function(t){return hay.indexOf(t)>=0;});
      r.style.display=ok?'':'none'; if(ok){n++;}
    });
    shown.textContent=terms.length?(' '+n+' of '+rows.length+' rows'):'';
  }
  q.addEventListener('input',apply);
})();
</script>
</body></html>
"""


def _anchor(node: str) -> str:
    return "n-" + re.sub(r"[^A-Za-z0-9_.-]", "_", node)


def _dataset_of(node: str, attrs: dict[str, Any]) -> tuple[str, str]:
    stage = node.split(".", 1)[0]
    if stage in ("raw", "sdtm", "adam"):
        return stage, f"{stage}.{node.split('.')[1]}"
    if stage == "analysis":
        return stage, "analyses of " + node.split(".")[1]
    if stage == "cell":
        return stage, "cells of " + node[len("cell."):].split("[")[0]
    return stage, "outputs"


def create_report_context(doc: dict[str, Any]) -> dict[str, Any]:
    nodes = doc["nodes"]
    anchors: dict[str, str] = {}
    used: set[str] = set()
    for node in nodes:
        anchor = _anchor(node)
        while anchor in used:
            anchor += "_"
        used.add(anchor)
        anchors[node] = anchor
    parents: dict[str, list[dict[str, str]]] = {}
    children: dict[str, list[dict[str, str]]] = {}
    for edge in doc["edges"]:
        rule = edge.get("rule", {})
        parents.setdefault(edge["to"], []).append({"id": edge["from"], "anchor": anchors.get(edge["from"], ""),
                                                   "rule": rule.get("name") or rule.get("kind", ""),
                                                   "spec": rule.get("spec", "")})
        children.setdefault(edge["from"], []).append({"id": edge["to"], "anchor": anchors.get(edge["to"], "")})
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for node, attrs in nodes.items():
        stage, dataset = _dataset_of(node, attrs)
        method = attrs.get("method") or attrs.get("source") or attrs.get("text") or attrs.get("subset") or ""
        row = {"id": node, "anchor": anchors[node], "label": attrs.get("label", ""),
               "origin": attrs.get("origin", ""), "method": method, "spec": attrs.get("spec", ""),
               "parents": parents.get(node, []), "children": children.get(node, [])}
        row["search"] = " ".join(str(v) for v in (node, row["label"], row["origin"], method, row["spec"],
                                                   *(p["rule"] for p in row["parents"]))).lower()
        grouped.setdefault(stage, {}).setdefault(dataset, []).append(row)
    stages = []
    for stage, title in STAGES:
        datasets = [{"name": name, "anchor": "ds-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name), "rows": rows}
                    for name, rows in sorted(grouped.get(stage, {}).items())]
        if datasets:
            stages.append({"title": title, "datasets": datasets})
    return {"study": doc.get("study", ""), "cutoff": doc.get("cutoff", ""),
            "schema_version": doc.get("schema_version", ""), "n_nodes": len(nodes), "n_edges": len(doc["edges"]),
            "stages": stages}


def create_html_report(doc: dict[str, Any]) -> str:
    env = SandboxedEnvironment(autoescape=True, trim_blocks=False, keep_trailing_newline=True)
    return env.from_string(TEMPLATE).render(**create_report_context(doc))


def write_html_report(study: ResolvedStudy, doc: dict[str, Any]) -> Path:
    from tlfgen.io.atomic import atomic_write_text

    study.outputs_dir.mkdir(parents=True, exist_ok=True)
    return Path(atomic_write_text(study.outputs_dir / REPORT_NAME, create_html_report(doc)))
