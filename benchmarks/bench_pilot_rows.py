"""Benchmark (issue 25): reading the pilot xN's lab-sized LB as the ADaM stage reads an input, with
row pushdown on and off, and from XPT and from Dataset-JSON.

Usage::

    .venv/bin/python benchmarks/bench_pilot_rows.py [--scales 10,20] [--repeat 3] [--work DIR]

Needs the studies ``bench_pilot.py`` builds (``<work>/xN/sdtm/lb.xpt``); writes ``lb.json`` beside
a copy of it once (``io.datasetjson.write_dataset_json``). Each case is one fresh process
(``bench_measure.measure``: wall, peak RSS) running ``adam.engine.read_sdtm`` on LB with the
columns of an ADLB-like step (USUBJID, LBSEQ, LBTESTCD, LBSTRESN, LBDTC, LBBLFL) and
``rows``: the records with ``LBTESTCD == 'ALT'`` (1 of 17 tests) or every record. The cases
run interleaved, ``--repeat`` rounds; medians are printed as a Markdown table. Timings are never
asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_measure import Measurement, measure  # noqa: E402

PYTHON = Path(sys.executable)
CHILD = """
import sys
from pathlib import Path
from tlfgen.adam.engine import read_sdtm
from tlfgen.spec.inputs import ColumnNeeds, RowFilter
folder, rows = Path(sys.argv[1]), sys.argv[2] == "on"
needs = ColumnNeeds(frozenset({"USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBDTC", "LBBLFL"}),
                    rows=RowFilter(("LBTESTCD == 'ALT'",)) if rows else None)
frame = read_sdtm(folder, "LB", needs)
print(len(frame))
"""


CONVERT = """
import sys
from tlfgen.io.datasetjson import write_dataset_json
from tlfgen.io.xpt import read_xpt
data, meta = read_xpt(sys.argv[1])
write_dataset_json(data, meta, sys.argv[2], study_oid="CDISCPILOT01", metadata_version_oid="MDV")
"""


def prepare(work: Path, scale: int) -> tuple[Path, Path]:
    """(folder with lb.xpt, folder with lb.json only) for scale ``scale``. The JSON is written by a
    separate process: Linux keeps a process's peak RSS across fork and exec, so the runner must
    never hold the data itself."""
    xpt_dir = work / f"x{scale}" / "sdtm"
    json_dir = work / "rows" / f"x{scale}"
    if not (json_dir / "lb.json").is_file():
        json_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(PYTHON), "-c", CONVERT, str(xpt_dir / "lb.xpt"), str(json_dir / "lb.json")], check=True)
    return xpt_dir, json_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="10,20")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work" / "pilot")
    args = parser.parse_args(argv)
    logs = args.work / "rows" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    script = args.work / "rows" / "read_lb.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "TLFGEN_ROW_PUSHDOWN": "1"}
    print("| scale | LB file | MiB | rows pushed down | wall s | peak MiB |")
    print("| ---: | --- | ---: | --- | ---: | ---: |")
    for scale in [int(s) for s in args.scales.split(",") if s.strip()]:
        folders = prepare(args.work, scale)
        cases = [(folder, mode) for folder in folders for mode in ("on", "off")]
        runs: dict[tuple[Path, str], list[Measurement]] = {case: [] for case in cases}
        for _ in range(args.repeat):
            for folder, mode in cases:
                log = logs / f"x{scale}-{folder.name}-{mode}.log"
                runs[(folder, mode)].append(measure([str(PYTHON), str(script), str(folder), mode], log, env=env))
        for folder, mode in cases:
            name = "lb.json" if (folder / "lb.json").is_file() and not (folder / "lb.xpt").is_file() else "lb.xpt"
            size = (folder / name).stat().st_size / 2**20
            done = runs[(folder, mode)]
            print(f"| x{scale} | {name} | {size:,.0f} | {mode} | {statistics.median(m.wall for m in done):.2f} | "
                  f"{statistics.median(m.peak_mb for m in done):,.0f} |")
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
