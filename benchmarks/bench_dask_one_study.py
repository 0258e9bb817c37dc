"""Benchmark of one study spread over a two-worker Dask LocalCluster (issue 23). Measures only.

With ``--granularity unit`` a study's work units are Dask tasks (its ``main`` units and their
takers on the worker of the study's driver task, the others where Dask places them). This script
runs the same study that way (``dask-unit``, a fresh LocalCluster each time) and in one process
with forked workers (``inprocess-2``, ``TLFGEN_JOBS=2``, what ``tlfgen run`` does), interleaved:

    .venv/bin/python benchmarks/bench_dask_one_study.py --work /tmp/one --studies 1 --subjects-per-arm 250

Each trial is a fresh process (``--trial MODE``); wall, CPU of the process tree (``os.wait4``) and
the largest process's peak RSS are recorded, and for the Dask modes the transfers between
workers (count, bytes as Dask sizes them, seconds spent), from each worker's transfer log.
The outputs of every trial must be the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_portfolio import create_portfolio, outputs_digest  # noqa: E402

MODES = ("dask-unit", "inprocess-2")


def trial(mode: str, work: Path) -> None:
    """One run of every study under ``work`` (this process is the measured one); prints a JSON line."""
    from tlfgen.executor import StudyUnit, _run_on_dask, run_study, run_study_as_units
    from tlfgen.spec.portfolio import load_portfolio

    units = [StudyUnit(str(s)) for s in load_portfolio(work / "portfolio.yaml")]
    transfers = {"count": 0, "bytes": 0, "seconds": 0.0}
    if mode == "inprocess-2":
        outcomes = [run_study(u) for u in units]
    else:
        import logging

        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            outcomes = _run_on_dask(units, 2, cluster.scheduler_address, None, run_study_as_units, priority=-1)
            logs = client.run(lambda dask_worker: list(dask_worker.transfer_incoming_log))
            for log in logs.values():
                for entry in log:
                    transfers["count"] += len(entry["keys"])
                    transfers["bytes"] += entry["total"]
                    transfers["seconds"] += entry["duration"]
    bad = [(o.root, o.error) for o in outcomes if o.error is not None]
    if bad:
        raise SystemExit(f"studies failed: {bad}")
    print(json.dumps(transfers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=1)
    parser.add_argument("--subjects-per-arm", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--trial", choices=MODES, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.trial:
        trial(opts.trial, opts.work)
        return
    opts.work.mkdir(parents=True, exist_ok=True)
    create_portfolio(opts.work, opts.studies, opts.subjects_per_arm)
    env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "1700000000"), TLFGEN_JOBS="2")
    modes = opts.modes.split(",")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    digests = set()
    for _ in range(opts.rounds):
        for mode in modes:
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, __file__, "--trial", mode, "--work", str(opts.work)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"trial {mode} failed: {out[-2000:]}")
            got = {"wall": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime,
                   "peak": usage.ru_maxrss / 1024, **json.loads(out.strip().splitlines()[-1])}
            runs[mode].append(got)
            digests.add(outputs_digest(opts.work))
            with (opts.work / "runs.jsonl").open("a") as handle:
                handle.write(json.dumps({"mode": mode, **got, "load": os.getloadavg()[0]}) + "\n")
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    lines = [f"{opts.studies} simulated stud{'y' if opts.studies == 1 else 'ies'} ({opts.subjects_per_arm} subjects "
             f"per arm), {opts.rounds} interleaved round(s), two-worker LocalCluster; load average at end "
             f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. Outputs byte-identical: "
             f"{'yes' if len(digests) == 1 else 'NO'}.", "",
             "| way | n | wall s (min / median) | CPU s (median) | peak MiB (median) | transfers "
             "| MB moved (Dask's sizes) | s in transfers |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mode, got in runs.items():
        lines.append(f"| {mode} | {len(got)} | {min(r['wall'] for r in got):.1f} / {median([r['wall'] for r in got]):.1f}"
                     f" | {median([r['cpu'] for r in got]):.1f} | {median([r['peak'] for r in got]):.0f} | "
                     f"{median([r['count'] for r in got])} | {median([r['bytes'] for r in got]) / 1e6:.1f} | "
                     f"{median([r['seconds'] for r in got]):.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if opts.out:
        with opts.out.open("a") as handle:
            handle.write("\n" + text)
    if len(digests) != 1:
        raise SystemExit("the modes wrote different bytes")


if __name__ == "__main__":
    main()
