"""Render-only benchmark (issue 6): DOCX and XLSX writing time, without building the tables.

Usage::

    .venv/bin/python benchmarks/bench_render.py [--rows 1000,10000,100000] [--study DIR | --no-study]
                                                [--repeat 1] [--no-memory] [--json OUT]

1. Synthetic listings: a ``Table`` of kind "listing" with N rows and 9 columns (subject,
   arm, term, organ class, dates, grade, flags; repeated values, as real listings have) is
   built once per size, then ``create_docx([t])`` and ``create_xlsx([t])`` are timed
   (median wall of ``--repeat`` runs, with CPU time). The time ratio per 10x rows shows
   whether rendering is linear (a ratio near 10; CPU time is the steadier figure).
2. A study's outputs (default: the repository root, i.e. the embedded study; it needs
   ``adam/`` from ``tlfgen sdtm`` + ``tlfgen adam``): its tables are built once from the
   ADaM files with ``tlfgen.tlf.run.build_outputs``, then everything ``write_outputs``
   renders (per-output DOCX/XLSX and the combined document and workbook, figures excluded)
   is timed, nothing written to disk.

Peak memory is the ``tracemalloc`` peak of a separate (untimed) run of each render, since
tracing slows Python down; ``--no-memory`` skips it. Prints a table; ``--json`` also
writes the figures as JSON. Only measures; changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
RUN_AT = datetime.fromtimestamp(1700000000, timezone.utc)
TERMS = ("NAUSEA", "FATIGUE", "ANAEMIA", "NEUTROPHIL COUNT DECREASED", "ALOPECIA", "DIARRHOEA", "VOMITING",
         "PERIPHERAL SENSORY NEUROPATHY", "DECREASED APPETITE", "CONSTIPATION", "PYREXIA", "RASH")
SOCS = ("GASTROINTESTINAL DISORDERS", "GENERAL DISORDERS", "BLOOD AND LYMPHATIC SYSTEM DISORDERS",
        "INVESTIGATIONS", "NERVOUS SYSTEM DISORDERS", "SKIN AND SUBCUTANEOUS TISSUE DISORDERS")


def create_listing(n_rows: int):
    """A listing ``Table`` of ``n_rows`` rows x 9 columns (deterministic content)."""
    from tlfgen.tlf.model import Cell, Column, Row, Table

    labels = ("Treatment", "Preferred term", "System organ class", "Start date", "End date", "CTCAE grade",
              "Serious", "Related", "Treatment-emergent")
    columns = tuple(Column(f"C{i}", label, kind="listing") for i, label in enumerate(labels))
    rows = []
    for i in range(n_rows):
        day, subject = i % 28 + 1, i // 6
        cells = ("TCAC" if subject % 2 else "TC", TERMS[i % len(TERMS)], SOCS[i % len(SOCS)],
                 f"2020-{i % 12 + 1:02d}-{day:02d}", f"2021-{i % 12 + 1:02d}-{day:02d}" if i % 5 else "",
                 str(i % 5 + 1), "Y" if i % 17 == 0 else "N", "RELATED" if i % 3 else "NOT RELATED", "Y")
        rows.append(Row(f"NCT04471480-{subject:06d}", tuple(Cell(text) for text in cells)))
    return Table(f"L{n_rows}", "listing", (f"Listing of {n_rows} rows", "Safety set"), "Subject", columns,
                 tuple(rows), footnotes=("Synthetic rows for the render benchmark.",),
                 spec_path="benchmarks/bench_render.py", cutoff="2025-04-12", rows_per_page=25)


def measure(render: Callable[[], object], repeat: int, memory: bool) -> dict:
    """Median wall and CPU seconds of ``repeat`` runs of ``render``; tracemalloc peak (MB) of one more."""
    runs = []
    for _ in range(max(1, repeat)):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        render()
        runs.append((time.perf_counter() - wall0, time.process_time() - cpu0))
    wall, cpu = sorted(runs)[len(runs) // 2]
    peak = None
    if memory:
        tracemalloc.start()
        render()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_mb": None if peak is None else round(peak, 1)}


def render_study_outputs(tables: list, formats: dict[str, tuple[str, ...]]) -> None:
    """Render what ``tlfgen.tlf.run.write_outputs`` writes (figures excluded), in memory."""
    from tlfgen.tlf.docx_writer import create_docx
    from tlfgen.tlf.xlsx_writer import create_xlsx

    docx_cache: dict = {}
    xlsx_cache: dict = {}
    for table in tables:
        if "docx" in formats[table.id]:
            create_docx([table], RUN_AT, cache=docx_cache)
        if "xlsx" in formats[table.id]:
            create_xlsx([table], RUN_AT, cache=xlsx_cache)
    create_docx(tables, RUN_AT, toc=True, cache=docx_cache)
    create_xlsx(tables, RUN_AT, cache=xlsx_cache)


def load_study_tables(root: Path) -> tuple[list, dict[str, tuple[str, ...]]]:
    """The study's tables, built once from its ADaM files, and each output's formats."""
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.spec.study import load_study
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

    study = load_study(root)
    specs = load_stage_specs(study, "tlf")
    tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    return tables, {out.id: tuple(out.spec.formats) for out in specs.outputs}


def compute_ratios(results: list[dict], fmt: str) -> list[dict]:
    """Wall and CPU time ratios between consecutive sizes, scaled to a 10x step (t ~ N^b: ratio = 10^b).

    On a shared machine the CPU ratio is the steadier one.
    """
    import math

    out = []
    for small, big in zip(results, results[1:]):
        step = {"from": small["rows"], "to": big["rows"]}
        for kind in ("wall_s", "cpu_s"):
            a, b = small[fmt][kind], big[fmt][kind]
            ok = a > 0 and b > 0 and big["rows"] > small["rows"]
            exponent = math.log(b / a) / math.log(big["rows"] / small["rows"]) if ok else None
            step[kind.replace("_s", "_per_10x")] = None if exponent is None else round(10 ** exponent, 2)
        out.append(step)
    return out


def run(args: argparse.Namespace) -> dict:
    from tlfgen.tlf.docx_writer import create_docx
    from tlfgen.tlf.xlsx_writer import create_xlsx

    report: dict = {"listings": [], "study": None}
    for n in args.rows:
        table = create_listing(n)
        entry = {"rows": n, "cells": n * (1 + len(table.columns))}
        entry["docx"] = measure(lambda: create_docx([table], RUN_AT), args.repeat, args.memory)
        entry["xlsx"] = measure(lambda: create_xlsx([table], RUN_AT), args.repeat, args.memory)
        report["listings"].append(entry)
        print(f"listing {n:>9,} rows  docx {_fmt(entry['docx'])}  xlsx {_fmt(entry['xlsx'])}", flush=True)
    report["scaling"] = {fmt: compute_ratios(report["listings"], fmt) for fmt in ("docx", "xlsx")}
    for fmt, steps in report["scaling"].items():
        for step in steps:
            print(f"{fmt}: {step['from']:,} -> {step['to']:,} rows: per 10x rows wall x{step['wall_per_10x']}, "
                  f"cpu x{step['cpu_per_10x']}")
    if args.study is not None:
        if not (args.study / "adam").is_dir():
            sys.exit(f"{args.study}/adam not found: run `tlfgen sdtm` and `tlfgen adam` there first (or --no-study)")
        tables, formats = load_study_tables(args.study)
        result = measure(lambda: render_study_outputs(tables, formats), args.repeat, args.memory)
        report["study"] = {"path": str(args.study), "outputs": len(tables),
                           "rows": sum(len(t.rows) for t in tables), **result}
        print(f"study {args.study} ({len(tables)} outputs, {report['study']['rows']:,} rows): "
              f"all DOCX+XLSX {_fmt(result)}")
    return report


def _fmt(m: dict) -> str:
    peak = "" if m["peak_mb"] is None else f" peak {m['peak_mb']:.0f} MB"
    return f"{m['wall_s']:.2f} s (cpu {m['cpu_s']:.2f} s){peak}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000,10000,100000", help="listing sizes (comma-separated rows)")
    parser.add_argument("--study", type=Path, default=REPO, help="study folder with adam/ (default: the repository)")
    parser.add_argument("--no-study", dest="study", action="store_const", const=None)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per measurement (median shown)")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the tracemalloc run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    args.rows = sorted(int(r) for r in args.rows.split(",") if r.strip())
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
