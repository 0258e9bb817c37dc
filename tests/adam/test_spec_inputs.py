"""Tests for tlfgen.spec.inputs: the columns of each SDTM input the ADaM specs read, and
read_sdtm reading only those (adam/engine.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tlfgen.adam.engine import read_sdtm
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt import complete_metadata, write_xpt
from tlfgen.spec.adam import load_adam_spec_files
from tlfgen.spec.inputs import ColumnNeeds, compute_input_columns, compute_mentioned_names

ADSL = """\
dataset: ADSL
label: Subject-Level Analysis Dataset
class: SUBJECT LEVEL ANALYSIS DATASET
structure: One record per subject
keys: [USUBJID]
inputs: [sdtm.DM, sdtm.LB, sdtm.SV]
steps:
  - id: dm
    derive: create_dataset
    args: {source: sdtm.DM, keep: [STUDYID, USUBJID, AGE, RFSTDTC], filter: "ARMCD != 'SCRNFAIL'"}
  - id: lstlbdtc
    derive: derive_vars_merged
    args: {source: sdtm.LB, new_vars: {LSTLBDTC: LBDTC}, order: [LBDTC], mode: last}
  - id: trtsdt
    derive: derive_vars_dt
    args: {dtc: RFSTDTC, new_var: TRTSDT}
variables:
  - {name: STUDYID, label: Study Identifier, type: text}
  - {name: USUBJID, label: Unique Subject Identifier, type: text}
  - {name: AGE, label: Age, type: integer}
  - {name: RFSTDTC, label: Reference start, type: text}
  - {name: LSTLBDTC, label: Last lab date, type: text}
  - {name: TRTSDT, label: Treatment start, type: date}
"""

ADRS = """\
dataset: ADRS
label: Tumor Response Analysis Dataset
class: BASIC DATA STRUCTURE
structure: One record per subject per parameter
keys: [STUDYID, PARAMCD]
inputs: [adam.ADSL, sdtm.TU, sdtm.TR]
steps:
  - id: bestpchg
    derive: derive_param_best_pchg
    args: {paramcd: BESTPCHG, param: Best Percent Change, tu: sdtm.TU, tr: sdtm.TR, adsl_vars: [STUDYID]}
variables:
  - {name: STUDYID, label: Study Identifier, type: text}
  - {name: PARAMCD, label: Parameter Code, type: text}
"""


def load(tmp_path: Path, **texts: str):
    folder = tmp_path / "specs" / "adam"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = folder / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return load_adam_spec_files(paths, root=tmp_path).datasets


def test_columns_named_by_steps_and_lineage(tmp_path: Path) -> None:
    needs = compute_input_columns(load(tmp_path, ADSL=ADSL))
    assert sorted(needs) == ["sdtm.DM", "sdtm.LB", "sdtm.SV"]
    lb = needs["sdtm.LB"]
    assert lb.required == {"USUBJID", "LBDTC"}
    assert not lb.everything
    assert [c in lb for c in ["USUBJID", "LBDTC", "LBSEQ", "DOMAIN", "STUDYID", "LBTESTCD", "LBORRES"]] == \
        [True, True, True, True, True, False, False]
    dm = needs["sdtm.DM"]
    assert dm.required == {"STUDYID", "USUBJID", "AGE", "RFSTDTC", "ARMCD"}
    assert "RACE" not in dm
    # SV is an input no step reads: only what lineage needs
    assert needs["sdtm.SV"] == ColumnNeeds()
    assert [c in needs["sdtm.SV"] for c in ["USUBJID", "SVSTDTC"]] == [True, False]


def test_derivation_reading_fixed_names_gets_whole_inputs(tmp_path: Path) -> None:
    needs = compute_input_columns(load(tmp_path, ADSL=ADSL, ADRS=ADRS))
    assert needs["sdtm.TU"].everything and needs["sdtm.TR"].everything
    assert "TRSTRESN" in needs["sdtm.TR"]
    assert not needs["sdtm.LB"].everything
    assert "adam.ADSL" not in needs  # ADaM inputs are frames of this run, never read


def test_mentioned_names_reach_nested_arguments_and_join_copies() -> None:
    args = {"new_vars": {"NEWV": "OLDV"}, "filter": "upper(ARMCD) == 'SCRNFAIL'", "order": ["desc(AVAL)"],
            "filter_join": "ADT_JOIN > ADT", "events": [{"source": "sdtm.DS", "date": "DSSTDTC"}]}
    names = compute_mentioned_names(args)
    assert {"NEWV", "OLDV", "ARMCD", "AVAL", "ADT_JOIN", "ADT", "DSSTDTC", "DS", "sdtm"} <= names


def test_merged_and_lacks_required() -> None:
    a = ColumnNeeds(frozenset({"A"}), frozenset({"B"}))
    b = ColumnNeeds(frozenset({"C"}), everything=True)
    both = a.merged(b)
    assert both.required == {"A", "C"} and both.mentioned == {"B"} and both.everything
    assert a.lacks_required(["A", "B"]) is False
    assert a.lacks_required(["B"]) is True


def _write_lb(folder: Path) -> None:
    frame = pd.DataFrame({"STUDYID": ["S1"] * 3, "DOMAIN": ["LB"] * 3, "USUBJID": ["S1-1", "S1-1", "S1-2"],
                          "LBSEQ": [1, 2, 1], "LBTESTCD": ["ALT", "AST", "ALT"], "LBORRES": ["10", " ", "30"],
                          "LBDTC": ["2020-01-01", "2020-02-01", ""]})
    meta = DatasetMetadata(name="LB", label="Laboratory", structure="", class_="", variables=tuple(
        VariableMetadata(c, c, "integer" if c == "LBSEQ" else "text") for c in frame.columns))
    write_xpt(frame, complete_metadata(meta, frame), folder / "lb.xpt")


def test_read_sdtm_reads_only_the_needed_columns(tmp_path: Path) -> None:
    _write_lb(tmp_path)
    needs = ColumnNeeds(frozenset({"USUBJID", "LBDTC"}))
    data = read_sdtm(tmp_path, "LB", columns=needs)
    assert list(data.columns) == ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBDTC"]
    full = read_sdtm(tmp_path, "LB")
    pd.testing.assert_frame_equal(data, full[list(data.columns)])
    assert pd.isna(data["LBDTC"].iloc[2])  # blank as missing, as on a full read


def test_read_sdtm_reads_everything_when_a_declared_column_is_absent(tmp_path: Path) -> None:
    _write_lb(tmp_path)
    data = read_sdtm(tmp_path, "LB", columns=ColumnNeeds(frozenset({"USUBJID", "LBDTM"})))
    assert list(data.columns) == ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBORRES", "LBDTC"]
