"""Tests of executor.py: a portfolio of studies on each backend writes the same bytes.

Two studies, the embedded one (raw/ and specs/ of the repository, 60 subjects) and a tiny
simulated one (seed 1, 10 subjects per arm), run whole (SDTM, ADaM, TLF, lineage, manifest) in this
process, in a pool of two processes, and on a two-worker Dask LocalCluster with one task per
study and with one task per work unit; every file each writes under sdtm/, adam/ and outputs/ is
compared byte for byte with the in-process run.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from functools import partial
from pathlib import Path

import pytest

from tlfgen.errors import SpecError, UsageError
from tlfgen.executor import BACKENDS, GRANULARITIES, StudyUnit, run_portfolio, run_study
from tlfgen.simulate.run import simulate
from tlfgen.spec.portfolio import load_portfolio
from tlfgen.units import RUNNER, Unit, run_units

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("portfolio")
    embedded, tiny = base / "a", base / "b"
    for study in (embedded, tiny):
        shutil.copytree(REPO / "specs", study / "specs")
    shutil.copytree(REPO / "raw", embedded / "raw")
    simulate(tiny / "raw", subjects_per_arm=10, seed=1)
    return [embedded, tiny]


def _copies(studies: list[Path], target: Path) -> list[Path]:
    return [Path(shutil.copytree(s, target / s.name)) for s in studies]


def _written(study: Path) -> dict[str, bytes]:
    return {p.relative_to(study).as_posix(): p.read_bytes()
            for folder in ("sdtm", "adam", "outputs") for p in sorted((study / folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def in_process(portfolio, tmp_path_factory) -> tuple[list, list[dict[str, bytes]]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
    try:
        studies = _copies(portfolio, tmp_path_factory.mktemp("inprocess"))
        seen: list[tuple[str, int, int]] = []
        outcomes = run_portfolio([StudyUnit(str(s)) for s in studies],
                                 on_done=lambda o, k, n: seen.append((Path(o.root).name, k, n)))
    finally:
        mp.undo()
    assert seen == [("a", 1, 2), ("b", 2, 2)]  # progress: one call per study, as it finishes
    return outcomes, [_written(s) for s in studies]


def test_in_process_each_study_runs_whole_and_writes_its_manifest(in_process):
    outcomes, files = in_process
    assert [o.error for o in outcomes] == [None, None]
    assert [[r.stage for r in o.results] for o in outcomes] == [["sdtm", "adam", "tlf", "lineage"]] * 2
    for found in files:
        assert {"outputs/manifest.json", "outputs/lineage.json", "outputs/tables/T2.docx", "adam/adtte.xpt",
                "sdtm/dm.xpt"} <= set(found)
    assert files[0]["sdtm/dm.xpt"] != files[1]["sdtm/dm.xpt"]  # two different studies


def _compare(outcomes, files, expected) -> None:
    want_outcomes, want_files = expected
    assert [o.error for o in outcomes] == [None, None]
    assert [[len(r.outputs) for r in o.results] for o in outcomes] == [
        [len(r.outputs) for r in o.results] for o in want_outcomes]
    for got, want in zip(files, want_files):
        assert sorted(got) == sorted(want)
        assert [name for name in sorted(want) if got[name] != want[name]] == []


def test_a_pool_of_two_processes_writes_the_same_bytes(portfolio, in_process, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    studies = _copies(portfolio, tmp_path)
    outcomes = run_portfolio([StudyUnit(str(s)) for s in studies], backend="processes", jobs=2)
    assert {o.worker for o in outcomes} != {""}
    _compare(outcomes, [_written(s) for s in studies], in_process)


def test_a_two_worker_dask_local_cluster_writes_the_same_bytes(portfolio, in_process, tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="dask distributed not installed: the optional extra tlfgen[dask]")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    studies = _copies(portfolio, tmp_path)
    outcomes = run_portfolio([StudyUnit(str(s)) for s in studies], backend="dask", jobs=2)
    assert all(o.worker.startswith(("tcp://", "inproc://")) for o in outcomes)  # ran on the cluster's workers
    _compare(outcomes, [_written(s) for s in studies], in_process)


def _without_first_column(study: Path, form: str) -> None:
    """Drop the first column (STUDYID) of ``raw/<form>``: reading the forms (a unit) is a data error."""
    path = study / "raw" / form
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(row[1:] for row in rows)


def test_dask_with_one_task_per_work_unit_writes_the_same_bytes_and_a_failing_study_keeps_its_exit_code(
        portfolio, in_process, tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="dask distributed not installed: the optional extra tlfgen[dask]")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    studies = _copies(portfolio, tmp_path)
    broken = Path(shutil.copytree(portfolio[1], tmp_path / "c"))
    _without_first_column(broken, "ae.csv")
    seen: list[tuple[str, int]] = []
    outcomes = run_portfolio([StudyUnit(str(s)) for s in [*studies, broken]], backend="dask", jobs=2,
                             granularity="unit", on_done=lambda o, k, n: seen.append((Path(o.root).name, n)))
    assert sorted(seen) == [("a", 3), ("b", 3), ("c", 3)]
    assert all(o.worker.startswith(("tcp://", "inproc://")) for o in outcomes)  # each study's driver task
    assert outcomes[2].exit_code == 1  # a DataError raised in a unit on a worker: exit 1, as in one process
    assert outcomes[2].error.startswith("raw/ae.csv:1, column STUDYID: required column STUDYID is missing")
    assert not (broken / "sdtm").exists()  # nothing published
    _compare(outcomes[:2], [_written(s) for s in studies], in_process)


def _drive(units: list[Unit], want: list[str]) -> tuple[str, dict]:
    """A Dask task running ``units`` with ``run_units`` sent to Dask, as a study's driver task does."""
    from distributed import get_worker

    from tlfgen.executor import _run_units_on_dask, _StudyRef

    token = RUNNER.set(partial(_run_units_on_dask, _StudyRef(uuid.uuid4().hex, None, ())))
    try:
        return get_worker().address, run_units(units, want)
    finally:
        RUNNER.reset(token)


def _where_am_i(*values: int) -> tuple[int, str]:
    from distributed import get_worker

    return sum(values) * 10, get_worker().address


def _where_am_i_too(unit: Unit) -> Unit:
    """``unit`` with the address of the worker it ran on added to its value."""
    def run(*values):
        from distributed import get_worker

        return (*unit.run(*values), get_worker().address)

    return Unit(unit.id, unit.inputs, run, unit.cost, unit.main)


def test_on_dask_a_unit_takes_its_inputs_values_main_units_and_their_takers_stay_home_and_an_error_is_raised():
    pytest.importorskip("distributed", reason="dask distributed not installed: the optional extra tlfgen[dask]")
    from distributed import Client, LocalCluster

    graph = [Unit("a", (), lambda: 2), Unit("b", ("a",), _where_am_i, main=True),
             Unit("c", ("a", "a"), lambda x, y: x + y), Unit("d", ("b", "c"), lambda b, c: (b, c)),
             Unit("e", ("c",), _where_am_i)]
    failing = [*graph[:2], Unit("c", ("a",), lambda a: {}["missing"]), graph[3]]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        for _ in range(3):  # wherever the driver task lands, "b" (main) and "d" (takes b) run beside it
            home, values = client.submit(_drive, [*graph[:3], _where_am_i_too(graph[3]), graph[4]],
                                         ["d", "a", "e"], pure=False).result()
            assert values["a"] == 2 and values["d"] == ((20, home), 4, home) and values["e"][0] == 40
        with pytest.raises(KeyError, match="missing"):
            client.submit(_drive, failing, ["d"], pure=False).result()


def test_a_failing_study_is_reported_and_the_others_still_run(portfolio, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    missing = tmp_path / "nowhere"
    outcomes = run_portfolio([StudyUnit(str(missing)), StudyUnit(str(missing), stages=("sdtm",))])
    assert [o.exit_code for o in outcomes] == [2, 2]
    assert all("does not exist" in (o.error or "") for o in outcomes)


def test_one_unit_runs_only_its_stages(portfolio, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    study = _copies(portfolio[:1], tmp_path)[0]
    outcome = run_study(StudyUnit(str(study), stages=("sdtm",), jobs=1))
    assert outcome.error is None and [r.stage for r in outcome.results] == ["sdtm"]
    assert (study / "sdtm" / "dm.xpt").is_file() and not (study / "adam").exists()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"backend": "spark"}, "unknown backend 'spark'"),
    ({"jobs": 0}, "--jobs must be 1 or more"),
    ({"scheduler": "tcp://127.0.0.1:8786"}, "--scheduler names a Dask scheduler"),
    ({"backend": "dask", "granularity": "domain"}, "unknown granularity 'domain'"),
    ({"granularity": "unit"}, "--granularity unit schedules work units on Dask"),
])
def test_a_wrong_backend_choice_is_a_usage_error(kwargs, message):
    with pytest.raises(UsageError, match=message):
        run_portfolio([], **kwargs)
    assert BACKENDS == ("inprocess", "processes", "dask") and GRANULARITIES == ("study", "unit")


def test_a_portfolio_file_lists_study_folders_relative_to_itself(tmp_path):
    path = tmp_path / "portfolio.yaml"
    path.write_text("studies:\n  - a\n  - sub/b\n")
    assert load_portfolio(path) == [(tmp_path / "a").resolve(), (tmp_path / "sub" / "b").resolve()]


def test_a_portfolio_file_with_an_unknown_key_or_a_repeated_folder_is_a_spec_error(tmp_path):
    path = tmp_path / "portfolio.yaml"
    path.write_text("studies:\n  - a\nstudy: b\n")
    with pytest.raises(SpecError) as info:
        load_portfolio(path)
    assert "portfolio.yaml:3" in str(info.value)
    path.write_text("studies:\n  - a\n  - ./a\n")
    with pytest.raises(SpecError, match="listed twice") as info:
        load_portfolio(path)
    assert "portfolio.yaml:3" in str(info.value)


def test_the_command_line_runs_each_study_and_exits_with_the_worst(tmp_path):
    from typer.testing import CliRunner

    from tlfgen.cli import app

    (tmp_path / "portfolio.yaml").write_text("studies:\n  - y\n")
    result = CliRunner().invoke(app, ["run", "--study", str(tmp_path / "x"), "--portfolio",
                                      str(tmp_path / "portfolio.yaml")])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith(f"[1/2] {tmp_path / 'x'}: exit 2: ") and "does not exist" in lines[0]
    assert lines[1].startswith(f"[2/2] {(tmp_path / 'y').resolve()}: exit 2:")
    assert lines[-1] == "2 studies run (inprocess): 0 exit 0, 2 not"


def test_the_command_line_refuses_one_task_per_unit_off_dask(tmp_path):
    from typer.testing import CliRunner

    from tlfgen.cli import app

    result = CliRunner().invoke(app, ["run", "--study", str(tmp_path / "x"), "--backend", "processes",
                                      "--granularity", "unit"])
    assert result.exit_code == 2
    assert "--granularity unit schedules work units on Dask" in result.output
