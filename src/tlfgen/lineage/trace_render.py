"""Lineage layer: ``tlfgen trace`` printed as rich tables (the ``--json`` form is the dict itself)."""

from __future__ import annotations

from typing import Any

from tlfgen.terminal import plain


def _raw_text(raw: list[dict[str, Any]]) -> str:
    return ", ".join(r["id"] for r in raw) or "-"


def _adam_label(rec: dict[str, Any]) -> str:
    v = rec["values"]
    shown = [str(v[k]) for k in ("PARAMCD", "AVALC", "ADT", "AEDECOD", "ATOXGRN") if k in v]
    return f"{rec['dataset']} " + " ".join(shown) if shown else rec["id"]


def _sdtm_label(rec: dict[str, Any]) -> str:
    head = f"{rec['domain']} {rec['seq']}" if rec["seq"] is not None else rec["domain"]
    return f"{head}: " + " ".join(str(v) for v in rec["values"].values()) if rec["values"] else head


def _record_lines(rec: dict[str, Any], indent: str = "") -> list[tuple[str, str, str]]:
    """(ADaM record, SDTM record, raw rows) lines; the ADaM label only on its first line."""
    lines = []
    for s in rec["sdtm"]:
        lines.append(("" if lines else indent + _adam_label(rec), _sdtm_label(s), _raw_text(s["raw"])))
    for parent in rec["adam"]:
        lines += _record_lines(parent, indent + "> ")
    return lines or [(indent + _adam_label(rec), "-", "-")]


def render(result: dict[str, Any], console: Any) -> None:
    from rich.table import Table as RichTable

    def kv(title: str, pairs: list[tuple[str, Any]]) -> None:
        grid = RichTable(title=plain(title), show_header=False, title_justify="left")
        grid.add_column(style="bold")
        grid.add_column()
        for k, v in pairs:
            if v not in (None, ""):
                grid.add_row(plain(k), plain(v))
        console.print(grid)

    def records_table(title: str, rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> None:
        table = RichTable(title=plain(title), title_justify="left")
        for h in headers:
            table.add_column(plain(h), overflow="fold")
        for r in rows:
            table.add_row(*(plain(c) for c in r))
        console.print(table)

    if result["kind"] == "cell":
        a = result["analysis"]
        rc = result["recount"]
        kv(f"{result['output']} [{result['row']['id']}, {result['column']['key']}]: {result['text']}", [
            ("row", result["row"]["label"]), ("column", result["column"]["label"]), ("analysis", a["id"]),
            ("description", a["description"]), ("population", a["population"]),
            ("subset", f"{a['dataset']}: {a['subset']}" if a["subset"] else a["dataset"]), ("method", a["method"]),
            ("subjects counted", result["n"]),
            ("recount from ADaM", None if rc is None else f"{rc['n']} ({'matches' if rc['matches'] else 'DIFFERS'})"),
            ("spec", result["spec"])])
        rows = []
        for subj in result["subjects"]:
            lines = [line for rec in subj["records"] for line in _record_lines(rec)] or [("-", "-", "-")]
            rows += [("" if i else subj["usubjid"], *line) for i, line in enumerate(lines)]
        records_table(f"Subjects ({len(result['subjects'])}) and records", rows,
                      ("USUBJID", "ADaM record", "SDTM record", "raw rows (file:line)"))
    elif result["kind"] == "value":
        for rec in result["records"]:
            rule = rec.get("rule") or {}
            kv(f"{result['variable']} for {result['subject']}: {rec['value']}", [
                *[(k, v) for k, v in rec["values"].items()], ("record", rec["id"]),
                ("rule", f"{rule.get('kind')}: {rule.get('description')} (step {rule.get('step')}, "
                         f"{rule.get('derivation')})" if rule else None),
                ("rule spec", rule.get("spec")), ("method", result["metadata"].get("method"))])
            records_table("Records used", [(a, s, r) for a, s, r in _record_lines(rec)],
                          ("ADaM record", "SDTM record", "raw rows (file:line)"))
    elif result["kind"] == "listing_row":
        row = result["row"]
        kv(f"{result['output']} row {row['number']} [{row['id']}]", [
            *[(k, v) for k, v in result["cells"].items()], ("subject", row["usubjid"]), ("spec", result["spec"])])
        records_table("Records of the row", [line for rec in result["records"] for line in _record_lines(rec)],
                      ("ADaM record", "SDTM record", "raw rows (file:line)"))
    elif result["kind"] == "define":
        m = result["method"] or {}
        kv(f"{result['variable']} in {result['define']}", [
            ("item", f"{result['item']} ({result['item_line']})"),
            ("origin", " ".join(x for x in (result["origin"]["type"], result["origin"]["text"]) if x)),
            ("method", f"{m['oid']} ({m['line']})" if m else "none (not a derived item)"),
            ("method text", m.get("description")), ("variable spec", result["spec"])])
        if result["spec_text"]:
            console.print(plain(result["spec_text"]), markup=False, highlight=False)
        for rule in result["rules"]:
            kv(f"{rule['kind']}: {rule['rule']} ({rule['spec']})", [
                ("from", ", ".join(rule["from"])), ("function", rule.get("function")),
                ("summary", rule.get("summary")), ("source", rule.get("source"))])
            if rule["spec_text"]:
                console.print(plain(rule["spec_text"]), markup=False, highlight=False)
    elif result["kind"] == "figure":
        kv(f"{result['output']}: {result['title']}", [
            ("records", f"{result['dataset']} PARAMCD {result['param']}"), ("population", result["population"]),
            ("time, censoring", f"{result['time']}, {result['censor']} (1 = censored)"), ("spec", result["spec"])])
        for arm in result["arms"]:
            rows = []
            for subj in arm["subjects"]:
                lines = [line for rec in subj["records"] for line in _record_lines(rec)] or [("-", "-", "-")]
                v = subj["records"][0]["values"] if subj["records"] else {}
                shown = {k: round(x, 2) if isinstance(x, float) else x for k, x in v.items()}
                values = f"{result['time']}={shown.get(result['time'])} {result['censor']}={shown.get(result['censor'])}"
                rows += [("" if i else subj["usubjid"], "" if i else values, *line) for i, line in enumerate(lines)]
            records_table(f"{arm['label']} ({arm['armcd']}): {arm['n']} subjects, {arm['events']} events, "
                          f"{arm['censored']} censored", rows,
                          ("USUBJID", "time, censoring", "ADaM record", "SDTM record", "raw rows (file:line)"))
    else:
        meta = result["metadata"]
        kv(result["variable"], [(k, meta.get(k)) for k in ("label", "origin", "method", "source", "spec")])
        records_table("Upstream chain", [(e["to"], e["from"], e.get("name", ""), e.get("spec", ""))
                                         for e in result["chain"]], ("variable", "from", "rule", "spec"))
        console.print(plain("raw columns: " + ", ".join(result["raw_columns"])))
    if result.get("rules") and result["kind"] != "define":
        records_table("Spec rules on the path", [(r["variable"], r["rule"], r["spec"], ", ".join(r["from"]))
                                                 for r in result["rules"]], ("variable", "rule", "spec", "from"))
