"""Hostile and clumsy inputs (issue 24): user text printed literally, errors capped, control
characters in specs, output roots that overlap, duplicate raw columns. Each case asserts the
exit code and the message."""

from __future__ import annotations

from typer.testing import CliRunner

from study_copy import copy_study
from tlfgen.cli import app

runner = CliRunner()


def _replace(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# item 3: console markup, emoji codes and ESC in user text are printed as they are
def test_markup_emoji_and_escape_in_a_raw_header_are_printed_literally(tmp_path):
    study = copy_study(tmp_path)
    _replace(study.raw_dir / "ae.csv", "STUDYID,SITEID,SUBJID,", "STUDYID,SITEID,[/x]SUBJ:x:ID\x1b[2J,")
    result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    assert result.exit_code == 1, result.output
    assert "raw/ae.csv:1, column SUBJID: required column SUBJID is missing" in result.output
    assert "[/X]SUBJ:X:ID\\x1b[2J" in result.output  # upper-cased by the reader, ESC made visible
    assert "\x1b" not in result.output and "Traceback" not in result.output


def test_a_trace_argument_with_markup_is_echoed_literally(tmp_path):
    study = copy_study(tmp_path)
    result = runner.invoke(app, ["--study", str(study.root), "trace", "[/x]:x:\x07"])
    assert result.exit_code == 2, result.output
    assert "[/x]:x:\\x07" in result.output
    assert "\x07" not in result.output and "Traceback" not in result.output


# item 13: a flood of spec errors is capped with a count of what was left out
def test_spec_errors_are_capped_at_50_with_a_count_of_the_rest(tmp_path):
    study = copy_study(tmp_path)
    extra = "".join(f"  unknown_{i}: 1\n" for i in range(120))
    _replace(study.root / "specs" / "study.yaml", "  days_per_month: 30", extra + "  days_per_month: 30")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert "error: 120 spec error(s):" in result.output
    assert "unknown key 'unknown_49'" in result.output
    assert "unknown key 'unknown_50'" not in result.output
    assert "  ... and 70 more errors not shown (fix these and run check again)" in result.output
    assert len(result.output.splitlines()) < 110  # 50 errors with their hints, not 240 lines


# item 8: a control character in spec text is a spec error at check, with file:line:column
def test_a_control_character_in_a_spec_label_is_a_spec_error(tmp_path):
    study = copy_study(tmp_path)
    _replace(study.root / "specs" / "study.yaml", 'name: "Anlotinib', 'name: "Anl\\x07otinib')
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert ("error: specs/study.yaml:4:9: text holds the control character U+0007 at position 4"
            in result.output)
    assert "\x07" not in result.output


# item 9: output roots that are the same folder, nested, or an input folder
def test_adam_written_into_the_sdtm_folder_is_a_spec_error(tmp_path):
    study = copy_study(tmp_path)
    _replace(study.root / "specs" / "study.yaml", "    adam: adam", "    adam: sdtm")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert "error: specs/study.yaml:24:5: paths.adam is the same folder as paths.sdtm" in result.output
    assert "(at study.paths.adam)" in result.output


def test_outputs_inside_raw_or_sdtm_equal_to_specs_are_spec_errors(tmp_path):
    study = copy_study(tmp_path)
    _replace(study.root / "specs" / "study.yaml", "    outputs: outputs", "    outputs: raw/out")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert "error: specs/study.yaml:25:5: paths.outputs is inside paths.raw" in result.output
    _replace(study.root / "specs" / "study.yaml", "    outputs: raw/out", "    outputs: outputs")
    _replace(study.root / "specs" / "study.yaml", "    sdtm: sdtm", "    sdtm: specs")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert "error: specs/study.yaml:23:5: paths.sdtm is the same folder as paths.specs" in result.output


# item 7: duplicate raw column names, exact or differing in case
def test_raw_columns_differing_only_in_case_are_a_data_error(tmp_path):
    study = copy_study(tmp_path)
    path = study.raw_dir / "ae.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",aeout"] + [line + ",x" for line in lines[1:]]) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    assert result.exit_code == 1, result.output
    assert ("error: raw/ae.csv:1, column AEOUT: column AEOUT appears as 'AEOUT' and 'aeout' in the header"
            in result.output)


def test_an_exact_duplicate_raw_column_is_a_data_error_not_first_wins(tmp_path):
    study = copy_study(tmp_path)
    path = study.raw_dir / "ae.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",AETERM"] + [line + ",x" for line in lines[1:]]) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    assert result.exit_code == 1, result.output
    assert "error: raw/ae.csv:1, column AETERM: column AETERM appears twice in the header" in result.output


# item 10: expression errors that hold whatever the data are spec errors at check, with file:line
def test_an_expression_dividing_by_zero_is_a_spec_error_at_check(tmp_path):
    study = copy_study(tmp_path)
    _replace(study.root / "specs" / "adam" / "ADSL.yaml", 'condition: "AGE < 65"', 'condition: "AGE < 1 / 0"')
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert "specs/adam/ADSL.yaml:21:" in result.output
    assert "expression 'AGE < 1 / 0': division by zero" in result.output


def test_an_impossible_literal_date_is_a_spec_error_at_check(tmp_path):
    study = copy_study(tmp_path)
    _replace(study.root / "specs" / "adam" / "ADSL.yaml", 'filter: "EXDOSE > 0 and',
             "filter: \"EXSTDTC != date('2021-02-29') and EXDOSE > 0 and")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert "specs/adam/ADSL.yaml:45:" in result.output
    assert "date('2021-02-29') is not a valid date" in result.output


# item 2: infinity, NaN or a number beyond XPT's range in a raw field is a finding on the raw row
def test_infinite_and_huge_raw_numbers_are_findings_naming_the_raw_file_line_and_column(tmp_path):
    import openpyxl

    study = copy_study(tmp_path)
    path = study.raw_dir / "dx.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",PDL1CPS,DYSPHSC") and lines[1].endswith(",40,0") and lines[2].endswith(",7,1")
    lines[1] = lines[1][:-len(",40,0")] + ",1e308,0"
    lines[2] = lines[2][:-len(",7,1")] + ",-inf,1"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["--study", str(study.root), "sdtm", "--allow-data-errors"])
    assert result.exit_code == 0, result.output
    assert "error finding(s) in the data" in result.output
    sheet = openpyxl.load_workbook(study.outputs_dir / "qc" / "findings.xlsx").worksheets[0]
    found = [row[:6] for row in sheet.iter_rows(values_only=True) if row[1] == "NUMBER-RANGE"]
    assert found == [("ERROR", "NUMBER-RANGE", "raw/dx.csv", 2, "PDL1CPS", "1e308"),
                     ("ERROR", "NUMBER-RANGE", "raw/dx.csv", 3, "PDL1CPS", "-inf")]
    assert (study.sdtm_dir / "sc.xpt").is_file()


# item 12: a YAML key holding '[' is reported as itself, at its own line
def test_a_yaml_key_with_a_bracket_is_an_unknown_key_at_its_line(tmp_path):
    study = copy_study(tmp_path, parts=("specs",))
    _replace(study.root / "specs" / "study.yaml", "  days_per_month: 30", '  "bad[0]": 1\n  days_per_month: 30')
    line = study.root.joinpath("specs", "study.yaml").read_text(encoding="utf-8").splitlines().index('  "bad[0]": 1') + 1
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert f"error: specs/study.yaml:{line}:3: unknown key 'bad[0]' (at study.bad[0])" in result.output
    assert "hint: allowed keys: arms, country, cutoff, days_per_month" in " ".join(result.output.split())


# item 15: a raw file linked from outside the study is refused, its content never shown
def test_a_raw_file_linked_from_outside_the_study_is_refused_without_its_content(tmp_path):
    study = copy_study(tmp_path / "study")
    secret = tmp_path / "secret.csv"
    secret.write_text("TOPSECRET,PASSWORD\nx,y\n", encoding="utf-8")
    (study.raw_dir / "dm.csv").unlink()
    (study.raw_dir / "dm.csv").symlink_to(secret)
    for command in ("check", "sdtm"):
        result = runner.invoke(app, ["--study", str(study.root), command])
        assert result.exit_code == 1, result.output
        text = " ".join(result.output.split())
        assert ("error: raw/dm.csv: the raw file is a link to a file outside the study folder; tlfgen reads "
                "raw data only from inside the study hint: copy the export into raw/ instead of linking to it") in text
        assert "TOPSECRET" not in text and str(secret) not in text


def test_a_raw_file_linked_inside_the_study_is_read(tmp_path):
    study = copy_study(tmp_path / "study")
    (study.root / "archive").mkdir()
    (study.raw_dir / "dm.csv").rename(study.root / "archive" / "dm.csv")
    (study.raw_dir / "dm.csv").symlink_to("../archive/dm.csv")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 0, result.output


# item 15: a negative dose or lesion diameter is an error finding, and is read as missing
def test_negative_doses_and_diameters_are_error_findings(tmp_path):
    import csv
    import io

    import openpyxl

    study = copy_study(tmp_path)
    changed = {}
    for name, column, value in (("ex.csv", "EXDOSE", "-200"), ("tl.csv", "TLDIAM", "-12")):
        path = study.raw_dir / name
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        col = rows[0].index(column)
        changed[name] = rows[1][col]
        rows[1][col] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    result = runner.invoke(app, ["--study", str(study.root), "sdtm"])
    assert result.exit_code == 1, result.output
    sheet = openpyxl.load_workbook(study.outputs_dir / "qc" / "findings.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    found = [(row[1], row[2], row[3], row[4], row[5], row[header.index("message")], row[header.index("action")])
             for row in sheet.iter_rows(values_only=True) if row[1] == "RAW-NEGATIVE"]
    assert found == [
        ("RAW-NEGATIVE", "raw/ex.csv", 2, "EXDOSE", "-200", "EXDOSE '-200' is below zero, which an amount cannot be",
         "set to missing"),
        ("RAW-NEGATIVE", "raw/tl.csv", 2, "TLDIAM", "-12", "TLDIAM '-12' is below zero, which an amount cannot be",
         "set to missing")]
    assert sheet.cell(row=[r[1] for r in sheet.iter_rows(values_only=True)].index("RAW-NEGATIVE") + 1,
                      column=1).value == "ERROR"


# check: duplicate raw column names are found before any data is read
def test_check_finds_raw_columns_differing_only_in_case(tmp_path):
    study = copy_study(tmp_path)
    path = study.raw_dir / "ae.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",aeout"] + [line + ",x" for line in lines[1:]]) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 1, result.output
    assert ("error: raw/ae.csv:1, column AEOUT: column AEOUT appears as 'AEOUT' and 'aeout' in the header"
            in result.output)


# one very long message: each line is capped, with the count of what was left out
def test_a_very_long_message_line_is_capped(tmp_path):
    study = copy_study(tmp_path)
    path = study.raw_dir / "ae.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    long_name = "X" * 200_000
    lines[0] = lines[0].replace(",AEOUT", "," + long_name)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["--study", str(study.root), "check"])
    assert result.exit_code == 2, result.output
    assert "raw file raw/ae.csv has no column AEOUT" in " ".join(result.output.split())
    assert "more characters not shown)" in result.output
    assert len(result.output) < 5_000


# item 15: Ctrl-C ends a run with exit 130 and one line saying nothing was published
def test_ctrl_c_during_a_run_exits_130_with_one_line(tmp_path, monkeypatch):
    import tlfgen.pipeline

    study = copy_study(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tlfgen.pipeline, "run_stages", interrupted)
    result = runner.invoke(app, ["--study", str(study.root), "run"])
    assert result.exit_code == 130
    assert result.output == "interrupted: nothing was published; the outputs are those of the last complete run\n"
    assert [p.name for p in (study.root / ".tlfgen").iterdir()] == ["lock"]
