"""Benchmark of the explorer page (outputs/lineage.html, issue 22): generation time and load time.

For each study folder (already run by ``tlfgen run``), or for a simulated one made here:

1. generation: the page rebuilt from the study's adam/, sdtm/ and lineage files with the same
   function the lineage stage calls (``write_html_report``), the tables rebuilt first and not timed;
2. load: the page opened from file:// in headless Debian chromium (Selenium, ``/usr/bin/chromedriver``;
   no server, no network), ``--repeat`` times in a fresh tab, reporting the median of:
   first contentful paint (the browser's ``paint`` entry: time to first render), the page's own
   script done (every output drawn, ``data-ready-ms``) and the load event;
3. first click: the time to open the trace of Table 2's ORR cell for TCAC (its output's block
   inflated and parsed on that first use, then drawn).

    .venv/bin/python benchmarks/bench_explorer.py --study /tmp/s60 --study /tmp/s5k
    .venv/bin/python benchmarks/bench_explorer.py --make 2500 --work /tmp/bench-explorer   # 5,000 subjects
    PYTHONPATH=<src> .venv/bin/python benchmarks/bench_explorer.py --generate-only --study /tmp/s5k   # CPU only

The page must open in under 2 s at 5,000 subjects (issue 22); this script measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1600,1000")


def make_study(per_arm: int, work: Path, seed: int = 1) -> Path:
    """A copy of the study folder with ``per_arm`` simulated subjects per arm, run end to end."""
    folder = work / f"s{2 * per_arm}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "specs", folder / "specs")
    tlfgen = str(Path(sys.executable).with_name("tlfgen"))
    subprocess.run([tlfgen, "simulate", "--subjects-per-arm", str(per_arm), "--seed", str(seed),
                    "--out", str(folder / "raw")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([tlfgen, "--study", str(folder), "run", "--allow-data-errors"], check=True,
                   stdout=subprocess.DEVNULL)
    return folder


def time_generation(folder: Path) -> tuple[float, float, float]:
    """Wall and CPU seconds of ``write_html_report`` (the tables rebuilt first, not timed), with the
    cyclic garbage collector paused as the executor runs a unit (``forks.run_one``), and the growth
    of the process's peak RSS meanwhile (MiB)."""
    import resource

    from tlfgen.gc_pause import paused_gc
    from tlfgen.lineage.html_report import write_html_report
    from tlfgen.spec.check import load_stage_specs
    from tlfgen.spec.study import load_study
    from tlfgen.tlf.run import build_outputs, needed_datasets, read_adam

    study = load_study(folder)
    specs = load_stage_specs(study, "tlf")
    tables = build_outputs(study, specs, read_adam(study.adam_dir, needed_datasets(specs)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu = time.perf_counter(), time.process_time()
    with paused_gc():
        write_html_report(study, tables)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024


def time_load(page: Path, repeat: int) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    found: dict[str, list[float]] = {"first_paint_s": [], "script_done_s": [], "load_event_s": [], "first_click_s": []}
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_script_timeout(120)
        try:
            for _ in range(repeat):
                driver.switch_to.new_window("tab")
                driver.get(page.resolve().as_uri())
                WebDriverWait(driver, 120).until(lambda d: d.find_element("css selector", "body[data-ready='1']"))
                WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                    "return performance.getEntriesByName('first-contentful-paint').length"))
                nav = driver.execute_script("var n=performance.getEntriesByType('navigation')[0];return n.loadEventEnd;")
                fcp = driver.execute_script("return performance.getEntriesByName('first-contentful-paint')[0].startTime")
                ready = float(driver.find_element("css selector", "body").get_attribute("data-ready-ms") or "nan")
                click = driver.execute_async_script(  # the block is inflated asynchronously: wait for the panel
                    "var done=arguments[arguments.length-1];"
                    "var td=document.querySelector('section#out-T2 tr[data-row=\"ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N\"]"
                    " td.traced[data-col=\"TCAC\"]'); var t=performance.now(); td.click();"
                    " (function wait(){ if(document.querySelector('#panel .subj-count')){"
                    " document.getElementById('panel').offsetHeight; done(performance.now()-t);}"
                    " else { setTimeout(wait, 5); } })();")
                for key, ms in zip(found, (fcp, ready, nav, click)):
                    found[key].append(ms / 1000)
                driver.close()
                driver.switch_to.window(driver.window_handles[0])
        finally:
            driver.quit()
    return {k: statistics.median(v) for k, v in found.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", action="append", type=Path, default=[], help="a study folder already run")
    parser.add_argument("--make", type=int, action="append", default=[], help="simulate N subjects per arm and run")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work", help="where --make writes")
    parser.add_argument("--repeat", type=int, default=3, help="page loads per study (median shown)")
    parser.add_argument("--no-generate", action="store_true", help="measure the page as it is, do not rebuild it")
    parser.add_argument("--generate-only", action="store_true",
                        help="rebuild the page and print its CPU time, RSS growth and sha256; no browser")
    args = parser.parse_args(argv)
    folders = list(args.study) + [make_study(n, args.work) for n in args.make]
    if args.generate_only:  # one process per study: compare versions with PYTHONPATH, interleaved
        import hashlib

        for folder in folders:
            gen, cpu, grown = time_generation(folder)
            digest = hashlib.sha256((folder / "outputs" / "lineage.html").read_bytes()).hexdigest()
            print(f"{folder.name}: generation {gen:.2f} s, CPU {cpu:.2f} s, peak RSS +{grown:.0f} MiB, "
                  f"sha256 {digest[:16]}", flush=True)
        return 0
    print("| study | subjects | page MB | generation s (CPU s) | first paint s | script done s | load event s "
          "| first click s |")
    print("|---|---|---|---|---|---|---|---|")
    for folder in folders:
        page = folder / "outputs" / "lineage.html"
        gen = cpu = float("nan")
        if not args.no_generate:
            gen, cpu, _ = time_generation(folder)
        size = page.stat().st_size / 1e6
        subjects = sum(1 for _ in (folder / "raw" / "dm.csv").open(encoding="utf-8")) - 1
        load = time_load(page, args.repeat)
        print(f"| {folder.name} | {subjects} | {size:.1f} | {gen:.2f} ({cpu:.2f}) | {load['first_paint_s']:.2f} | "
              f"{load['script_done_s']:.2f} | {load['load_event_s']:.2f} | {load['first_click_s']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
