"""Tests of tlf/run.py: the TLF stage end to end on inline ADaM data (XPT reading patched out)."""

from __future__ import annotations

import shutil

import pytest
from docx import Document
from openpyxl import load_workbook

from tlf_helpers import REPO
from tlfgen.errors import DataError
from tlfgen.spec.study import load_study
from tlfgen.tlf import run as tlf_run

OUTPUTS = ["T1", "T2", "T3", "T4", "T5", "L1", "L2", "L3", "L4"]


@pytest.fixture()
def ready(study, adam, monkeypatch):
    for output_id in OUTPUTS:
        shutil.copy(REPO / "specs" / "tlf" / f"{output_id}.yaml", study.specs_dir / "tlf")
    adam["ADAE"]["AEBODSYS"] = "SOC"
    for col in ("ASTDT", "AENDT"):
        adam["ADAE"][col] = None
    adam["ADAE"]["AESER"] = "N"
    adam["ADRS"]["AVISIT"] = ""
    adam["ADRS"]["ADT"] = None
    adam["ADRS"]["ADY"] = None
    monkeypatch.setattr(tlf_run, "read_adam", lambda folder, names: {n: adam[n] for n in names})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    return study


def test_01_writes_every_output_combined_files_and_ards(ready) -> None:
    result = tlf_run.run_tlf(ready)
    names = sorted(p.relative_to(ready.outputs_dir).as_posix() for p in result.outputs)
    expected = sorted([f"tables/{i}.{ext}" for i in OUTPUTS for ext in ("docx", "xlsx", "rtf")]
                      + [f"ard/{i}.csv" for i in OUTPUTS if i.startswith("T")]
                      + ["tables/combined.docx", "tables/combined.xlsx", "tables/combined.rtf"])
    assert names == expected
    assert result.stage == "tlf" and [c.name for c in result.counts] == ["ADAE", "ADRS", "ADSL", "ADTTE"]


def test_02_docx_and_xlsx_show_the_table2_cells(ready) -> None:
    tlf_run.run_tlf(ready)
    doc = Document(ready.outputs_dir / "tables" / "T2.docx")
    rows = [(r.cells[0].text, [c.text for c in r.cells[1:]]) for r in doc.tables[0].rows]
    k = rows.index(("Objective response rate (CR + PR), n (%)", ["27 (90.0)", "13 (43.3)", "40 (66.7)", "< 0.001"]))
    assert rows[k + 1] == ("95% CI", ["73.5, 97.9", "25.5, 62.6", "53.3, 78.3", ""])
    ws = load_workbook(ready.outputs_dir / "tables" / "T2.xlsx")["T2"]
    values = {ws.cell(row=r, column=1).value.strip(): ws.cell(row=r, column=2).value
              for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value}
    assert values["Objective response rate (CR + PR), n (%)"] == "27 (90.0)"


def test_03_combined_outputs(ready) -> None:
    tlf_run.run_tlf(ready)
    wb = load_workbook(ready.outputs_dir / "tables" / "combined.xlsx")
    assert wb.sheetnames == OUTPUTS
    doc = Document(ready.outputs_dir / "tables" / "combined.docx")
    assert len(doc.tables) == len(OUTPUTS)
    rtf = (ready.outputs_dir / "tables" / "combined.rtf").read_text(encoding="ascii")
    bookmarks = [rtf.index(f"{{\\*\\bkmkstart tlf_{i}}}") for i in OUTPUTS]
    assert bookmarks == sorted(bookmarks) and rtf.index("Table of contents") < bookmarks[0]


def test_03b_combined_rtf_holds_the_outputs_written_as_rtf(ready) -> None:
    """A spec's ``formats:`` leaves an output out of the combined RTF; with none in RTF there is none."""
    for output_id in OUTPUTS:
        path = ready.specs_dir / "tlf" / f"{output_id}.yaml"
        text = path.read_text(encoding="utf-8")
        if output_id != "T1":
            path.write_text(text.rstrip("\n") + "\nformats: [docx, xlsx]\n", encoding="utf-8")
    tlf_run.run_tlf(ready)
    rtf = (ready.outputs_dir / "tables" / "combined.rtf").read_text(encoding="ascii")
    assert "tlf_T1" in rtf and "tlf_T2" not in rtf
    (ready.specs_dir / "tlf" / "T1.yaml").write_text(
        (ready.specs_dir / "tlf" / "T1.yaml").read_text(encoding="utf-8").rstrip("\n") + "\nformats: [docx]\n",
        encoding="utf-8")
    for path in (ready.outputs_dir / "tables").iterdir():
        path.unlink()
    again = load_study(ready.root)  # the specs as now written (a study keeps those it loaded)
    tlf_run.run_tlf(again)
    assert (again.outputs_dir / "tables" / "combined.docx").exists()
    assert not (again.outputs_dir / "tables" / "combined.rtf").exists()


def test_04_ard_lists_the_subjects_counted(ready) -> None:
    tlf_run.run_tlf(ready)
    lines = (ready.outputs_dir / "ard" / "T2.csv").read_text(encoding="utf-8").splitlines()
    orr = [line for line in lines if line.startswith("T2,T2.ORR.TCAC,TCAC,")]
    assert orr[0].startswith('T2,T2.ORR.TCAC,TCAC,"Objective response rate (CR + PR), n (%)",n,27,27 (90.0),')


def test_05_same_inputs_same_bytes(ready) -> None:
    tlf_run.run_tlf(ready)
    first = {p.name: p.read_bytes() for p in (ready.outputs_dir / "tables").iterdir()}
    tlf_run.run_tlf(ready)
    second = {p.name: p.read_bytes() for p in (ready.outputs_dir / "tables").iterdir()}
    assert first == second


def test_06_missing_adam_file_is_a_data_error(tmp_path) -> None:
    with pytest.raises(DataError) as info:
        tlf_run.read_adam(tmp_path, ["ADSL"])
    assert str(info.value).splitlines()[0] == f"{tmp_path}/adsl.xpt: ADaM dataset ADSL not found"


def test_formats_come_from_the_spec_else_from_the_study(ready) -> None:
    from tlfgen.spec.check import load_stage_specs

    specs = load_stage_specs(ready, "tlf")
    formats = tlf_run.output_formats(ready, specs)
    assert all(f == ["docx", "xlsx", "rtf"] for f in formats.values())  # specs/study.yaml documents: formats
    from types import SimpleNamespace

    own = SimpleNamespace(outputs=[SimpleNamespace(id="L9", spec=specs.outputs[0].spec.model_copy(update={"formats": ["rtf"]}))])
    assert tlf_run.output_formats(ready, own) == {"L9": ["rtf"]}
