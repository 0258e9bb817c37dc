"""TLF writers benchmark (issue 25): CPU of the write units of two versions of tlfgen, interleaved.

Usage::

    # 1. the study's tables and figures, built once from its adam/ (after `tlfgen run`), saved with pickle
    .venv/bin/python benchmarks/bench_writers.py tables --study DIR --out tables.pickle
    # 2. old and new writers, A B A B ... in fresh processes (each imports tlfgen from its src/)
    .venv/bin/python benchmarks/bench_writers.py pair --study DIR --tables tables.pickle --a-src OLD/src --b-src src
    # one measurement (what `pair` runs): prints one JSON line
    .venv/bin/python benchmarks/bench_writers.py write --study DIR --tables tables.pickle

``write`` runs what the units ``write.tlf.<ID>`` (``write_single``) and ``write.tlf.combined``
(``write_combined``) run, in one process, into ``DIR/outputs/tables``: the CPU seconds
(``time.process_time``) of each, and one sha256 over every file written, so that the two versions
are seen to write the same bytes. ``pair`` prints each round and the medians. Only measures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
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
    from tlfgen.tlf.figures.run import build_figures, needed_datasets as figure_datasets
    from tlfgen.tlf.figures.spec import load_figure_specs
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

    study = load_study(study_dir)
    specs = load_stage_specs(study, "tlf")
    tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    loaded = load_figure_specs(study)
    arms = [(a.armcd, a.arm) for a in study.spec.study.arms]
    figures = build_figures(loaded, read_adam(study.adam_dir, figure_datasets(loaded)), arms,
                            out_dir=out.parent / f"{out.stem}_figures")
    out.write_bytes(pickle.dumps((tables, figures), protocol=pickle.HIGHEST_PROTOCOL))
    print(f"{len(tables)} tables, {sum(len(t.rows) for t in tables):,} rows, {len(figures)} figures -> {out}")


def measure_write(study_dir: Path, tables_path: Path) -> dict:
    import rtflite  # noqa: F401  (imports are not part of the writing)

    import tlfgen
    import tlfgen.tlf.docx_writer  # noqa: F401
    import tlfgen.tlf.rtf_combined  # noqa: F401
    import tlfgen.tlf.xlsx_writer  # noqa: F401
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.spec.study import load_study
    from tlfgen.tlf.run import write_combined, write_single

    study = load_study(study_dir)
    specs = load_stage_specs(study, "tlf")
    tables, figures = pickle.loads(tables_path.read_bytes())
    cpu, singles = {}, []
    for table in tables:
        start = time.process_time()
        singles.append(write_single(study, specs, table, RUN_AT))
        cpu[table.id] = round(time.process_time() - start, 3)
    start = time.process_time()
    combined = write_combined(study, tables, singles, figures, RUN_AT)
    cpu["combined"] = round(time.process_time() - start, 3)
    files = sorted(p for single in singles for p in single.paths) + sorted(combined)
    digest = hashlib.sha256(b"".join(hashlib.sha256(Path(p).read_bytes()).digest() for p in files)).hexdigest()
    return {"tlfgen": str(Path(tlfgen.__file__).parent), "cpu_s": cpu, "total_s": round(sum(cpu.values()), 3),
            "files": len(files), "sha256": digest[:16]}


def run_one(study: Path, tables: Path, src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    out = subprocess.run([sys.executable, __file__, "write", "--study", str(study), "--tables", str(tables)],
                         env=env, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if not result["tlfgen"].startswith(str(src.resolve())):
        raise SystemExit(f"the process imported tlfgen from {result['tlfgen']}, not from {src}")
    return result


def pair(study: Path, tables: Path, a_src: Path, b_src: Path, rounds: int) -> None:
    rows = []
    for k in range(rounds):
        a, b = run_one(study, tables, a_src), run_one(study, tables, b_src)
        rows.append((a, b))
        same = "same bytes" if a["sha256"] == b["sha256"] else "BYTES DIFFER"
        print(f"round {k + 1}: A {a['total_s']:.2f}s B {b['total_s']:.2f}s B/A {b['total_s'] / a['total_s']:.2f} "
              f"({same})", flush=True)
    for unit in [*rows[0][0]["cpu_s"], "total"]:
        ma, mb = (statistics.median(r[i]["total_s"] if unit == "total" else r[i]["cpu_s"][unit] for r in rows)
                  for i in (0, 1))
        print(f"median cpu {unit:>9}: A {ma:7.3f}s  B {mb:7.3f}s  B/A {mb / ma if ma else float('nan'):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tables = sub.add_parser("tables")
    tables.add_argument("--study", type=Path, required=True)
    tables.add_argument("--out", type=Path, required=True)
    write = sub.add_parser("write")
    write.add_argument("--study", type=Path, required=True)
    write.add_argument("--tables", type=Path, required=True)
    both = sub.add_parser("pair")
    both.add_argument("--study", type=Path, required=True)
    both.add_argument("--tables", type=Path, required=True)
    both.add_argument("--a-src", type=Path, required=True)
    both.add_argument("--b-src", type=Path, required=True)
    both.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.command == "tables":
        save_tables(args.study, args.out)
    elif args.command == "write":
        print(json.dumps(measure_write(args.study, args.tables)))
    else:
        pair(args.study, args.tables, args.a_src, args.b_src, args.rounds)


if __name__ == "__main__":
    main()
