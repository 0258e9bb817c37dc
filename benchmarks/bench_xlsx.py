"""XLSX writing benchmark (issue 23): two versions of tlfgen's XLSX writer on the same tables, interleaved.

Usage::

    # 1. the study's tables, built once from its adam/ (after `tlfgen run`), saved with pickle
    .venv/bin/python benchmarks/bench_xlsx.py tables --study DIR --out tables.pickle
    # 2. old and new writer, A B A B ... in fresh processes (each imports tlfgen from its src/)
    .venv/bin/python benchmarks/bench_xlsx.py pair --tables tables.pickle --a-src OLD/src --b-src src --rounds 5
    # one measurement (what `pair` runs): prints one JSON line
    .venv/bin/python benchmarks/bench_xlsx.py write --tables tables.pickle
    # content comparison of the .xlsx files of two output folders (openpyxl)
    .venv/bin/python benchmarks/bench_xlsx.py compare OLD/outputs/tables NEW/outputs/tables

``write`` renders what ``tlfgen.tlf.run.write_outputs`` writes as XLSX (each output's workbook,
then the combined one), in memory: wall and CPU seconds of the writing alone, and the rise of
the process's peak resident memory over what it held before writing (the tables loaded).
``pair`` prints every round and the medians, with the B/A ratio of each round's pair.

Issue 23's comparison: A = this writer (hand-built sheet XML), B = the XlsxWriter writer of commit
4889932 (``git worktree add /tmp/xw 4889932``, then ``--b-src /tmp/xw/src``); the figures are in
the docstring of ``tlfgen/tlf/xlsx_writer.py``.

``compare`` opens each pair of workbooks with openpyxl and compares sheet names, defined
names, workbook properties and per sheet: every cell's value, type, number format, bold, font
size, alignment, borders and quote prefix, merged ranges, column widths, print titles, frozen
panes, header/footer, page setup and margins, row breaks (``--max-breaks 1023``: the old
writer wrote breaks past Excel's 1,023) and the autofilter. Only measures; changes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

RUN_AT = datetime.fromtimestamp(1700000000, timezone.utc)


def save_tables(study_dir: Path, out: Path) -> None:
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.spec.study import load_study
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

    study = load_study(study_dir)
    specs = load_stage_specs(study, "tlf")
    tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    out.write_bytes(pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"{len(tables)} tables, {sum(len(t.rows) for t in tables):,} rows -> {out}")


def write_all(tables: list) -> int:
    """Every XLSX ``write_outputs`` writes, in memory; total bytes."""
    from tlfgen.tlf.xlsx_writer import create_xlsx

    cache: dict = {}
    size = sum(len(create_xlsx([t], RUN_AT, cache=cache)) for t in tables)
    return size + len(create_xlsx(tables, RUN_AT, cache=cache))


def measure_write(tables_path: Path) -> dict:
    import tlfgen
    import tlfgen.tlf.xlsx_writer  # noqa: F401  (imports are not part of the writing)

    tables = pickle.loads(tables_path.read_bytes())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall0, cpu0 = time.perf_counter(), time.process_time()
    size = write_all(tables)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"tlfgen": str(Path(tlfgen.__file__).parent), "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "peak_rise_mb": round((after - before) / 1024, 1), "peak_mb": round(after / 1024, 1), "bytes": size}


def run_one(tables: Path, src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    out = subprocess.run([sys.executable, __file__, "write", "--tables", str(tables)], env=env,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if not result["tlfgen"].startswith(str(src.resolve())):
        raise SystemExit(f"the process imported tlfgen from {result['tlfgen']}, not from {src}")
    return result


def pair(tables: Path, a_src: Path, b_src: Path, rounds: int) -> None:
    rows = []
    for k in range(rounds):
        a, b = run_one(tables, a_src), run_one(tables, b_src)
        rows.append((a, b))
        print(f"round {k + 1}: A {a['wall_s']:.2f}s cpu {a['cpu_s']:.2f}s +{a['peak_rise_mb']:.0f} MB   "
              f"B {b['wall_s']:.2f}s cpu {b['cpu_s']:.2f}s +{b['peak_rise_mb']:.0f} MB   "
              f"B/A wall {b['wall_s'] / a['wall_s']:.2f} cpu {b['cpu_s'] / a['cpu_s']:.2f}", flush=True)
    for key in ("wall_s", "cpu_s", "peak_rise_mb", "peak_mb", "bytes"):
        ma, mb = (statistics.median(r[i][key] for r in rows) for i in (0, 1))
        print(f"median {key:>13}: A {ma:>12,.2f}  B {mb:>12,.2f}  B/A {mb / ma if ma else float('nan'):.2f}")
    ratios = [r[1]["cpu_s"] / r[0]["cpu_s"] for r in rows]
    print(f"B/A cpu per round: min {min(ratios):.2f} median {statistics.median(ratios):.2f} max {max(ratios):.2f}")


def sheet_facts(ws) -> dict:
    from openpyxl.utils import get_column_letter

    cells = {}
    for row in ws.iter_rows():
        for c in row:
            b, al = c.border, c.alignment
            facts = (c.value, c.data_type if c.value is not None else None, c.number_format, bool(c.font.b),
                     c.font.sz if c.font.sz != 11 else None, al.horizontal, al.vertical, bool(al.wrap_text),
                     *(getattr(getattr(b, side), "style", None) for side in ("top", "bottom", "left", "right")),
                     bool(c.quotePrefix))
            if facts[0] is not None or any(facts[3:]) or facts[2] != "General":
                cells[c.coordinate] = facts
    ps, pm = ws.page_setup, ws.page_margins
    return {
        "cells": cells, "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "widths": {get_column_letter(i): d.width for d in ws.column_dimensions.values() if d.customWidth
                   for i in range(d.min, d.max + 1)},
        "freeze": ws.freeze_panes, "print_titles": (ws.print_title_rows, ws.print_title_cols),
        "print_area": ws.print_area,
        "footer": tuple((p.text, p.size) for p in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right)),
        "header": tuple((p.text, p.size) for p in (ws.oddHeader.left, ws.oddHeader.center, ws.oddHeader.right)),
        "page": (ps.orientation, ps.fitToWidth or 1, 1 if ps.fitToHeight is None else ps.fitToHeight,
                 ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr else None),
        "margins": (pm.left, pm.right, pm.top, pm.bottom, pm.header, pm.footer),
        "breaks": [b.id for b in ws.row_breaks.brk], "autofilter": ws.auto_filter.ref,
        "dims": (ws.max_row, ws.max_column),
    }


def compare_books(old: Path, new: Path, max_breaks: int | None) -> tuple[list, int]:
    from openpyxl import load_workbook

    books = [load_workbook(p) for p in (old, new)]
    facts = []
    for wb in books:
        facts.append({"sheets": wb.sheetnames, "names": sorted((n, str(d.value)) for n, d in wb.defined_names.items()),
                      "props": (wb.properties.creator, wb.properties.created, wb.properties.modified),
                      **{f"sheet {ws.title}": sheet_facts(ws) for ws in wb.worksheets}})
    a, b = facts
    diffs, checked = [], 0
    for key in a:
        if not key.startswith("sheet "):
            if a[key] != b.get(key):
                diffs.append((key, a[key], b.get(key)))
            continue
        for part, value in a[key].items():
            other = b.get(key, {}).get(part)
            if part == "cells":
                checked += len(value)
                other = other or {}
                diffs += [(key, ref, value.get(ref), other.get(ref)) for ref in sorted(set(value) | set(other))
                          if value.get(ref) != other.get(ref)]
            elif part == "breaks" and max_breaks is not None and len(value) > max_breaks:
                if value[:max_breaks] != other:
                    diffs.append((key, part, len(value), len(other or [])))
            elif value != other:
                diffs.append((key, part, value, other))
    return diffs, checked


def compare(old_dir: Path, new_dir: Path, max_breaks: int | None) -> int:
    total_cells = total_diffs = 0
    for old in sorted(old_dir.glob("*.xlsx")):
        diffs, checked = compare_books(old, new_dir / old.name, max_breaks)
        total_cells, total_diffs = total_cells + checked, total_diffs + len(diffs)
        print(f"{old.name}: {checked:,} cells compared, {len(diffs)} differences")
        for diff in diffs[:10]:
            print("   ", repr(diff)[:300])
    print(f"total: {total_cells:,} cells compared, {total_diffs} differences")
    return 1 if total_diffs else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tables")
    p.add_argument("--study", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("write")
    p.add_argument("--tables", type=Path, required=True)
    p = sub.add_parser("pair")
    p.add_argument("--tables", type=Path, required=True)
    p.add_argument("--a-src", type=Path, required=True)
    p.add_argument("--b-src", type=Path, required=True)
    p.add_argument("--rounds", type=int, default=5)
    p = sub.add_parser("compare")
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--max-breaks", type=int, default=None)
    args = parser.parse_args()
    if args.command == "tables":
        save_tables(args.study, args.out)
    elif args.command == "write":
        print(json.dumps(measure_write(args.tables)))
    elif args.command == "pair":
        pair(args.tables, args.a_src, args.b_src, args.rounds)
    else:
        return compare(args.old, args.new, args.max_breaks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
