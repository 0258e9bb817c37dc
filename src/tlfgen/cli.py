"""Command line: the only module that knows about the terminal.

Exit codes: 0 clean; 1 findings of error severity in the data (or data that
cannot be processed); 2 bad specs, templates or usage; 3 a bug in tlfgen;
4 the environment (permission, read-only or full disk, a path of the wrong
kind, the study locked by another command); 130 interrupted. Errors print as
one clear message; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    name="tlfgen",
    help="Raw EDC exports -> SDTM -> ADaM -> tables, listings and figures, traceable end to end.\n\n"
         "Exit codes: 0 clean; 1 data (error findings, data that cannot be processed, verify found "
         "changes); 2 specs, templates or usage; 3 a bug in tlfgen; 4 the environment (permission, "
         "read-only or full disk, a file where a folder is needed, the study locked by another "
         "command); 130 interrupted. A run publishes all its outputs or none.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_STATE = {"debug": False, "study": Path(".")}


def _print_version(value: bool) -> None:
    if value:
        from tlfgen.versions import version_text

        typer.echo(version_text())
        raise typer.Exit(0)


@app.callback()
def _main(
    study: Path = typer.Option(Path("."), "--study", "-s", help="Study folder holding specs/ and raw/."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version of tlfgen and of its key dependencies, then exit."),
) -> None:
    _STATE["debug"] = debug
    _STATE["study"] = study
    _check_source_date_epoch()


def _check_source_date_epoch() -> None:
    """A blank ``SOURCE_DATE_EPOCH`` is unset (tlfgen's rule, io.atomic.fixed_timestamp): it is
    removed, since libraries imported later read it too (numpy.f2py does ``int()`` on it); a value
    that is not a whole number is an error here, before any stage starts."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None:
        return
    if raw.strip() == "":
        del os.environ["SOURCE_DATE_EPOCH"]
        return
    from tlfgen.errors import TlfgenError
    from tlfgen.io.atomic import fixed_timestamp

    try:
        fixed_timestamp()
    except TlfgenError as exc:
        _fail(exc)


def _plain(text: object):
    from tlfgen.terminal import plain

    return plain(text)


def _console():
    from tlfgen.terminal import make_console

    return make_console(stderr=False, soft_wrap=True)


_MAX_ERRORS_SHOWN = 50


#: characters of one message line shown (a raw header or value can be megabytes long)
_MAX_LINE_SHOWN = 1_000


def _error_text(exc: BaseException) -> str:
    """The message of ``exc``; a list of spec errors is capped at ``_MAX_ERRORS_SHOWN`` entries,
    each line at ``_MAX_LINE_SHOWN`` characters."""
    from tlfgen.errors import SpecErrors

    if isinstance(exc, SpecErrors) and len(exc.errors) > _MAX_ERRORS_SHOWN:
        hidden = len(exc.errors) - _MAX_ERRORS_SHOWN
        lines = [f"{len(exc.errors)} spec error(s):"]
        lines += [f"  {err}" for err in exc.errors[:_MAX_ERRORS_SHOWN]]
        lines.append(f"  ... and {hidden} more errors not shown (fix these and run check again)")
        return _capped("\n".join(lines))
    return _capped(str(exc))


def _capped(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        if len(line) > _MAX_LINE_SHOWN:
            line = line[:_MAX_LINE_SHOWN] + f" ... ({len(line) - _MAX_LINE_SHOWN:,} more characters not shown)"
        lines.append(line)
    return "\n".join(lines)


#: said when a run command stops before it published (io.generation)
_UNPUBLISHED = "nothing was published; the outputs are those of the last complete run"


def _fail(exc: BaseException, note: str | None = None) -> None:
    """Print a tlfgen error without a traceback and exit with its code (``note``: a last line)."""
    from tlfgen.errors import EnvironmentFault, TlfgenError

    if _STATE["debug"]:
        raise exc
    from rich.text import Text

    from tlfgen.terminal import plain

    err = _console()
    if isinstance(exc, OSError):
        exc = EnvironmentFault.from_os_error(exc) or exc
    tail = f"\n  {note}" if note else ""
    if isinstance(exc, TlfgenError):
        err.print(Text.assemble(plain("error:", "bold red"), " ", plain(_error_text(exc) + tail)))
        raise typer.Exit(exc.exit_code)
    err.print(Text.assemble(plain("internal error:", "bold red"), " ", plain(f"{type(exc).__name__}: {_capped(str(exc))}\n"
              "  this is a bug in tlfgen; run again with --debug for the traceback" + tail)))
    raise typer.Exit(3)


def _load_study():
    from tlfgen.spec.study import load_study

    return load_study(_STATE["study"])


def _load_published_study():
    """The study for a command that reads outputs: an interrupted publish is completed first."""
    from tlfgen.io.generation import recover_if_needed

    study = _load_study()
    note = recover_if_needed(study.root)
    if note:  # on stderr: `trace --json` prints JSON on stdout
        from tlfgen.terminal import make_console

        make_console(stderr=True, soft_wrap=True).print(_plain(f"note: {note}"))
    return study


_ALLOW = typer.Option(
    False, "--allow-data-errors",
    help="Exit 0 even when the raw data has error findings (they are still reported in "
         "outputs/qc/findings.xlsx and the summary).")


def _run(stages: list[str], allow_data_errors: bool = False) -> None:
    from tlfgen.errors import TlfgenError

    console = _console()
    staged = False  # once the study is loaded, a failure says that nothing was published
    try:
        from tlfgen.lineage.manifest import manifest_path, write_manifest
        from tlfgen.pipeline import published_run
        from tlfgen.spec.check import check_all

        published = _load_study()
        staged = True
        with published_run(published) as (study, recovered):  # all outputs or none (io.generation)
            if recovered:
                console.print(_plain(f"note: {recovered}"))
            check_all(study)
            results = _run_with_progress(console, study, stages)
            write_manifest(study)
        study = published
        manifest = manifest_path(study)
    except KeyboardInterrupt:
        _console().print(_plain(f"interrupted: {_UNPUBLISHED}"))
        raise typer.Exit(130) from None
    except TlfgenError as exc:
        _fail(exc, note=_UNPUBLISHED if staged else None)
        return
    except Exception as exc:  # noqa: BLE001 - reported as an internal error
        _fail(exc, note=_UNPUBLISHED if staged else None)
        return
    from tlfgen.report import print_summary

    print_summary(console, results, study)
    console.print(_plain(f"manifest: {study.display(manifest)}"))
    errors = sum(r.errors for r in results)
    if errors:
        console.print(_plain(f"{errors} error finding(s) in the data: see {study.display(study.outputs_dir / 'qc' / 'findings.xlsx')}"
                      + (" (exit 0: --allow-data-errors)" if allow_data_errors else "")))
    raise typer.Exit(1 if errors and not allow_data_errors else 0)


def _run_with_progress(console, study, stages: list[str]):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from tlfgen.pipeline import run_stages

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=not console.is_terminal, disable=not console.is_terminal) as progress:
        task = {"id": None}

        def on_stage(name: str) -> None:
            if task["id"] is not None:
                progress.update(task["id"], completed=1)
            task["id"] = progress.add_task(f"{name.upper()} stage", total=1)

        def on_done(result) -> None:
            if not console.is_terminal:  # a log: one line per stage as it finishes
                from tlfgen.report import stage_line

                console.print(_plain(stage_line(result)))

        results = run_stages(study, stages, on_stage, on_done)
        if task["id"] is not None:
            progress.update(task["id"], completed=1)
    return results


@app.command()
def run(
    allow_data_errors: bool = _ALLOW,
    studies: Optional[list[Path]] = typer.Option(
        None, "--study", "-s", help="A study folder of a portfolio; repeat for each study (each runs whole)."),
    portfolio: Optional[Path] = typer.Option(None, "--portfolio", help="A YAML file listing study folders (studies: [...])."),
    jobs: Optional[int] = typer.Option(
        None, "--jobs", "-j", min=1, help="Processes: a portfolio's studies run at once (default 1); for one study, "
                                          "the processes its work units share (default TLFGEN_JOBS, else 2)."),
    backend: Optional[str] = typer.Option(
        None, "--backend", help="inprocess, processes or dask (default: dask with --scheduler, processes with "
                                "--jobs > 1, else inprocess)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a Dask scheduler (tcp://host:8786)."),
    granularity: str = typer.Option(
        "study", "--granularity", help="Dask only: what one task is: a whole study (study, the default) or one "
                                       "work unit of a study (unit: a large study spreads over the workers)."),
) -> None:
    """Run the whole pipeline: raw -> SDTM -> ADaM -> TLFs (for one study, or a portfolio)."""
    if studies or portfolio is not None:
        _run_portfolio(list(studies or []), portfolio, jobs or 1, backend, scheduler, granularity, allow_data_errors)
    else:
        if jobs is not None:
            import os

            from tlfgen.units import JOBS_ENV

            os.environ[JOBS_ENV] = str(jobs)
        _run(["sdtm", "adam", "tlf", "lineage"], allow_data_errors)


def _run_portfolio(studies: list[Path], portfolio: Optional[Path], jobs: int, backend: Optional[str],
                   scheduler: Optional[str], granularity: str, allow_data_errors: bool) -> None:
    """Run every study of the portfolio on the backend; a line per study as it finishes; exit with the worst."""
    console = _console()
    try:
        from tlfgen.executor import StudyUnit, run_portfolio
        from tlfgen.report import study_line

        if portfolio is not None:
            from tlfgen.spec.portfolio import load_portfolio

            studies = studies + load_portfolio(portfolio)
        dask = scheduler or granularity == "unit"
        chosen = backend or ("dask" if dask else "processes" if jobs > 1 else "inprocess")
        outcomes = run_portfolio(
            [StudyUnit(str(s)) for s in studies], backend=chosen, jobs=jobs, scheduler=scheduler,
            granularity=granularity,
            on_done=lambda o, k, n: console.print(_plain(study_line(o, k, n, allow_data_errors=allow_data_errors))))
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    codes = [o.exit_code if o.error is not None else int(bool(o.data_errors) and not allow_data_errors)
             for o in outcomes]
    label = f"dask, one task per {granularity}" if chosen == "dask" else chosen
    console.print(_plain(f"{len(outcomes)} studies run ({label}): {codes.count(0)} exit 0, "
                         f"{len(codes) - codes.count(0)} not"))
    raise typer.Exit(max(codes))


@app.command()
def sdtm(allow_data_errors: bool = _ALLOW) -> None:
    """Map raw EDC exports to SDTM domains, with the findings report."""
    _run(["sdtm"], allow_data_errors)


@app.command()
def adam(allow_data_errors: bool = _ALLOW) -> None:
    """Derive ADaM datasets from SDTM."""
    _run(["adam"], allow_data_errors)


@app.command()
def tlf(allow_data_errors: bool = _ALLOW) -> None:
    """Generate tables, listings and figures from ADaM, and the lineage artifacts."""
    _run(["tlf", "lineage"], allow_data_errors)


@app.command()
def check(
    list_derivations: bool = typer.Option(
        False, "--list-derivations",
        help="List the registered derivations with their arguments (types, defaults) and a line of help."),
) -> None:
    """Validate every spec and template without touching data."""
    console = _console()
    try:
        from tlfgen.spec.check import check_all

        if list_derivations:
            from tlfgen.registry import registered

            for name, deriv in registered().items():
                console.print(_plain(f"{name}: {deriv.summary}"))
                for arg in deriv.arguments():
                    default = "required" if arg.required else f"default {arg.default!r}"
                    console.print(_plain(f"    {arg.name}: {arg.type_text} ({default})"))
            return
        study = _load_study()
        checked = check_all(study)
        if any(item.stage == "sdtm" for item in checked):
            from tlfgen.errors import ErrorList
            from tlfgen.raw.headers import check_key_columns
            from tlfgen.spec.check import load_stage_specs

            ErrorList(check_key_columns(study, load_stage_specs(study, "sdtm"))).raise_if_any()
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    for item in checked:
        what = "raw file header(s)" if item.stage == "raw" else "spec(s)"
        console.print(_plain(f"{item.stage}: {item.items} {what} ok"))
    console.print(_plain("all specs are valid"))


@app.command()
def simulate(
    subjects_per_arm: int = typer.Option(30, "--subjects-per-arm", min=1, max=100_000,
                                         help="Subjects simulated in each of the two arms."),
    seed: int = typer.Option(20200803, "--seed", help="Random seed (same seed, same export)."),
    out: Path = typer.Option(Path("raw"), "--out", help="Folder for the raw CSV exports."),
    problems: Optional[bool] = typer.Option(
        None, "--problems/--no-problems",
        help="Inject the documented data problems (default: only for the embedded study)."),
    force: bool = typer.Option(False, "--force",
                               help="Write into --out even when it already holds files (they are overwritten)."),
) -> None:
    """Write a synthetic raw EDC export of NCT04471480 (one CSV per form)."""
    try:
        from tlfgen.simulate.run import simulate as do_simulate

        written = do_simulate(out, subjects_per_arm=subjects_per_arm, seed=seed, inject_problems=problems,
                              force=force)
    except OSError as exc:
        from tlfgen.errors import EnvironmentFault

        _fail(EnvironmentFault.from_os_error(exc, writing_in=out) or exc)
        return
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    _console().print(_plain(f"wrote {len(written)} files to {out}"))


@app.command()
def trace(
    target: str = typer.Argument(..., help="A table (T2), a listing (L1), a Kaplan-Meier figure (F1), a variable "
                                 "such as ADSL.TRTSDT or ADTTE.AVAL, or a define.xml method OID (MT.ADSL.AGEGR1)."),
    row: Optional[str] = typer.Option(
        None, "--row", help="Row of the table: its id (ORR.95_CI, AGEGR1.>=65), its block id (ORR: the block's "
                            "first row) or its label; case-insensitive. Of a listing: the row id "
                            "(<USUBJID>.AESEQ=3) or <USUBJID>#<k>. Leave out to list the rows."),
    col: Optional[str] = typer.Option(
        None, "--col", help="Column of the table: its key (TCAC, TOTAL, TCAC.HIGH) or its label."),
    subject: Optional[str] = typer.Option(
        None, "--subject", help="With a variable: trace that subject's value (USUBJID, or its last part 01001)."),
    param: Optional[str] = typer.Option(
        None, "--param", help="With a variable of a BDS dataset: the PARAMCD (ADTTE.AVAL --param PFS)."),
    as_json: bool = typer.Option(False, "--json", help="Print the trace as JSON (the fields the explorer page shows)."),
    define: bool = typer.Option(False, "--define", help="With a variable: its define.xml method (MethodDef) traced to "
                                "the spec rule and the derivation (ADSL.AGEGR1 --define; or give MT.ADSL.AGEGR1)."),
) -> None:
    """Trace a table cell, a listing row, a derived value, a variable or a define.xml method back to raw rows and spec rules."""
    from functools import partial

    from tlfgen.lineage.trace_command import run_trace
    from tlfgen.units import Unit, run_units

    try:
        study = _load_published_study()
        # one work unit, so the executor's garbage-collector policy applies as in a run (at 5,000
        # subjects the lineage index loads in 1.8-1.9 s CPU with it, 3.6-3.8 s without)
        trace = partial(run_trace, study, target, row=row, col=col, subject=subject, param=param,
                        as_json=as_json, console=_console(), define=define)
        code = run_units([Unit("trace", (), trace)], ["trace"], jobs_=1)["trace"]
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    raise typer.Exit(code)


@app.command()
def verify() -> None:
    """Re-hash specs, raw inputs and outputs; report what changed since the last run."""
    console = _console()
    try:
        from tlfgen.lineage.manifest import verify_manifest

        report = verify_manifest(_load_published_study())
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    for label, items in (("changed", report.changed), ("missing", report.missing), ("added", report.added)):
        for item in items:
            console.print(_plain(f"{label}: {item}"))
    if report.ok:
        console.print(_plain(f"verified {report.checked} file(s): nothing changed since the run"))
        return
    console.print(_plain(
        f"{len(report.changed)} changed, {len(report.missing)} missing, {len(report.added)} added "
        f"since the run"))
    raise typer.Exit(1)


def main() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    finally:
        _skip_final_collections()


def _skip_final_collections() -> None:
    """The process is about to end: move every object out of the collector's reach.

    Interpreter shutdown clears each module and runs full collections over everything the run
    left (pandas, scipy, matplotlib, the cached datasets): ~0.7 s measured after the last line
    was printed, even for the 60-subject study. Frozen objects are simply released with the
    process; ``atexit`` handlers and thread joins still run as usual.
    """
    import gc

    gc.disable()
    gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
