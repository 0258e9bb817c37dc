"""Messages that are true (issue 17): hints name only commands and options that exist, every
option has help, the README lists every command and exit code, ``--version`` reports the
versions the manifest records, and without a terminal each stage prints a line as it finishes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from study_copy import copy_study
from tlfgen import __version__, pipeline
from tlfgen.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _commands() -> dict:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def _options(command) -> set[str]:
    return {name for p in command.params for name in (*p.opts, *p.secondary_opts)}


def test_every_option_of_every_command_has_help():
    group = typer.main.get_command(app)
    missing = [f"tlfgen {p.name}" for p in group.params if not getattr(p, "help", None)]
    for name, command in _commands().items():
        missing += [f"tlfgen {name} {p.name}" for p in command.params if not getattr(p, "help", None)]
        if not command.help:
            missing.append(f"tlfgen {name} (no command help)")
    assert missing == []


def test_hints_in_the_source_name_only_commands_and_options_that_exist():
    commands = _commands()
    top = _options(typer.main.get_command(app))
    mentioned = re.compile(r"`tlfgen ((?:--?[a-z][a-z-]*\s+)*)([a-z]+)((?:\s+[^`]*)?)`")
    wrong = []
    files = sorted((ROOT / "src" / "tlfgen").rglob("*.py")) + [ROOT / "README.md"]
    for path in files:
        for match in mentioned.finditer(path.read_text(encoding="utf-8")):
            before, name, rest = match.groups()
            where = f"{path.relative_to(ROOT)}: `tlfgen {before}{name}{rest}`"
            if name not in commands:
                wrong.append(where + f" (no command {name})")
                continue
            for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", rest + " " + before):
                if option not in _options(commands[name]) | top:
                    wrong.append(where + f" (no option {option})")
    assert wrong == []


def test_the_readme_lists_every_command_and_every_exit_code():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Command line"):]
    section = section[:section.index("\n## ", 5)]
    for name in _commands():
        assert re.search(rf"^  {name}\s", section, re.M), f"README's command list lacks {name}"
    for code in range(4):
        assert re.search(rf"^\| {code} \| \S", section, re.M), f"README's exit codes lack {code}"
    assert "--version" in section and "--force" in section


def test_version_prints_tlfgen_and_its_dependencies_without_importing_pandas():
    code = ("import sys\nfrom tlfgen.cli import app\n"
            "try:\n    app(['--version'])\nexcept SystemExit as exc:\n    print('exit', exc.code)\n"
            "print('pandas imported:', 'pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == f"tlfgen {__version__}"
    from importlib import metadata

    for name in ("pandas", "pydantic", "pyreadstat", "scipy", "statsmodels", "lifelines", "jinja2"):
        assert f"  {name} {metadata.version(name)}" in lines
    assert "exit 0" in lines and "pandas imported: False" in lines


def test_the_manifest_records_the_versions_version_prints():
    from tlfgen.lineage.manifest import package_versions
    from tlfgen.versions import version_text

    recorded = package_versions()
    assert recorded and "pandas" in recorded and "pydantic" in recorded
    printed = version_text().splitlines()[2:]
    assert sorted(printed, key=str.lower) == sorted((f"  {k} {v}" for k, v in recorded.items()), key=str.lower)


def test_without_a_terminal_each_stage_prints_its_line_when_it_finishes(tmp_path, monkeypatch):
    from tlfgen.units import Unit

    study = copy_study(tmp_path)

    def fake(study_, names):
        units, before = [], ()
        for name in names:
            def runner_(*_, name=name):
                print(f"[{name} running]")
                return pipeline.StageResult(name, counts=[pipeline.DatasetCount("X", 3, 2, {"bad": 1})],
                                            findings=[pipeline.Finding("WARNING", "R", "m")])
            units.append(Unit(name, before, runner_, main=True))
            before = (name,)
        return units

    monkeypatch.setattr(pipeline, "study_units", fake)
    monkeypatch.setattr(pipeline, "check_raw_forms", lambda s: None)
    result = runner.invoke(app, ["--study", str(study.root), "run"])
    assert result.exit_code == 0, result.output
    out = result.output
    line = "SDTM stage done: 1 dataset(s), 2 record(s) out, findings: 1 warning, 0 output(s) written"
    assert line in out
    assert out.index("[sdtm running]") < out.index(line) < out.index("[adam running]")  # as it finishes
    assert out.index("ADAM stage done") < out.index("[tlf running]")


def test_list_derivations_shows_arguments_with_types_defaults_and_help():
    result = runner.invoke(app, ["check", "--list-derivations"])
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    start = out.index(next(line for line in out if line.startswith("derive_param_bor: ")))
    assert out[start].startswith("derive_param_bor: Add the best overall response per subject")
    block = out[start + 1:start + 14]
    assert "    paramcd: str (required)" in block
    assert "    confirm_min_days: int (default 28)" in block
    assert "    ne_between_responses: 'ignore' | 'break' (default 'ignore')" in block
    assert "    events: list[EventSource] (required)" in out  # derive_param_tte's typed entries
