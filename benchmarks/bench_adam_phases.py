"""Benchmark: ``tlfgen --study <dir> adam`` with its time split into read / derive / write.

Run as ``python benchmarks/bench_adam_phases.py <study-dir> <json-out>`` (with ``TLFGEN_JOBS=1``,
so every phase runs in this process). It wraps, in ``tlfgen.adam.run``, ``read_sdtm`` (read: the
SDTM XPT files and blank-as-missing), ``run_dataset`` (derive) and ``write_dataset``,
``write_define`` and ``write_supplied_lineage`` (write), runs the command as the ``tlfgen``
script does, and writes the seconds of each phase, the rest ("other": imports, specs, checks,
report) and the total to ``<json-out>``. Only names that both the current and older versions
of ``tlfgen.adam.run`` have are wrapped, so it times either (PYTHONPATH picks the source).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()


def main(study: str, out: str) -> int:
    import tlfgen.adam.run as adam_run
    import tlfgen.adam.supplied as supplied
    from tlfgen.cli import main as tlfgen_main

    spent = {"read": 0.0, "derive": 0.0, "write": 0.0}

    def timed(phase: str, func):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[phase] += time.perf_counter() - start
        return wrapper

    adam_run.read_sdtm = timed("read", adam_run.read_sdtm)
    adam_run.run_dataset = timed("derive", adam_run.run_dataset)
    adam_run.write_dataset = timed("write", adam_run.write_dataset)
    adam_run.write_define = timed("write", adam_run.write_define)
    supplied.write_supplied_lineage = timed("write", supplied.write_supplied_lineage)
    sys.argv = ["tlfgen", "--study", study, "adam"]
    code = 0
    try:
        tlfgen_main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    total = time.perf_counter() - T0
    result = dict(spent, total=total, other=total - sum(spent.values()), rc=code)
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
