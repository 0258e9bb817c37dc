"""Tests for tlfgen.spec.inputs row pushdown: which records of each SDTM input the ADaM specs read
(compute_input_rows, is_simple_condition), and read_sdtm keeping only those (adam/engine.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tlfgen.adam.engine import is_row_subset, read_sdtm
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt import complete_metadata, write_xpt
from tlfgen.spec.adam import load_adam_spec_files
from tlfgen.spec.inputs import ColumnNeeds, RowFilter, compute_input_columns, compute_input_rows, is_simple_condition

ADSL = """\
dataset: ADSL
label: Subject-Level Analysis Dataset
class: SUBJECT LEVEL ANALYSIS DATASET
structure: One record per subject
keys: [USUBJID]
inputs: [sdtm.DM, sdtm.LB, sdtm.SV, sdtm.SC, sdtm.SUPPDM]
steps:
  - id: dm
    derive: create_dataset
    args: {source: sdtm.DM, keep: [STUDYID, USUBJID, RFSTDTC]}
  - id: alt
    derive: derive_vars_merged
    args: {source: sdtm.LB, new_vars: {ALTBL: LBORRES}, filter: "LBTESTCD == 'ALT' and LBBLFL == 'Y'"}
  - id: lstlb
    derive: derive_var_extreme_dt
    args: {new_var: LSTLBDT, events: [{source: sdtm.LB, date: LBDTC, condition: "LBTESTCD in ['AST', 'ALT']"}]}
  - id: v1
    derive: derive_vars_merged
    args: {source: sdtm.SV, new_vars: {V1DTC: SVSTDTC}, filter: "VISITNUM == 1"}
  - id: v2
    derive: derive_vars_merged
    args: {source: sdtm.SV, new_vars: {V2DTC: SVSTDTC}, filter: "days_between(SVSTDTC, SVENDTC) > 1"}
  - id: sc
    derive: derive_vars_transposed
    args: {source: sdtm.SC, key_var: SCTESTCD, value_var: SCSTRESC, key_values: {STAGE: STAGE, TUMLOC: TUMLOC}}
  - id: supp
    derive: derive_vars_suppqual
    args: {source: sdtm.SUPPDM, qnams: {DTHCAUS: DTHCAUS}, idvar: USUBJID}
variables:
  - {name: STUDYID, label: Study Identifier, type: text}
  - {name: USUBJID, label: Unique Subject Identifier, type: text}
  - {name: RFSTDTC, label: Reference start, type: text}
  - {name: ALTBL, label: ALT at baseline, type: text}
  - {name: LSTLBDT, label: Last lab date, type: date}
  - {name: V1DTC, label: Visit 1, type: text}
  - {name: V2DTC, label: Visit 2, type: text}
  - {name: STAGE, label: Stage, type: text}
  - {name: TUMLOC, label: Tumour location, type: text}
  - {name: DTHCAUS, label: Cause of death, type: text}
"""


def load(tmp_path: Path, text: str):
    folder = tmp_path / "specs" / "adam"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ADSL.yaml").write_text(text, encoding="utf-8")
    return load_adam_spec_files([folder / "ADSL.yaml"], root=tmp_path).datasets


def test_records_each_input_is_read_for(tmp_path: Path) -> None:
    rows = compute_input_rows(load(tmp_path, ADSL))
    assert rows == {
        "sdtm.DM": None,  # a use without a condition: every record
        "sdtm.LB": RowFilter(("LBTESTCD == 'ALT' and LBBLFL == 'Y'", "LBTESTCD in ['AST', 'ALT']")),
        "sdtm.SV": None,  # days_between(...) is not a simple condition
        "sdtm.SC": RowFilter(("(SCTESTCD == 'STAGE' or SCTESTCD == 'TUMLOC')",)),
        "sdtm.SUPPDM": RowFilter(("QNAM == 'DTHCAUS'",)),
    }
    assert rows["sdtm.LB"].columns == {"LBTESTCD", "LBBLFL"}
    needs = compute_input_columns(load(tmp_path, ADSL), rows=True)
    assert needs["sdtm.LB"].rows == rows["sdtm.LB"] and needs["sdtm.DM"].rows is None
    assert compute_input_columns(load(tmp_path, ADSL), rows=False)["sdtm.LB"].rows is None


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


def test_a_step_outside_the_reviewed_derivations_reads_every_record(tmp_path: Path) -> None:
    text = ADSL.replace("inputs: [sdtm.DM,", "inputs: [sdtm.TR, sdtm.DM,").replace("variables:\n", (
        "  - id: sumdiam\n    derive: derive_vars_merged\n"
        "    args: {source: sdtm.TR, new_vars: {TRSUM: TRSTRESN}, filter: \"TRTESTCD == 'SUMDIAM'\"}\n"
        "  - id: trtsdt\n    derive: derive_vars_dt\n    args: {dtc: RFSTDTC, new_var: TRTSDT}\n"
        "variables:\n  - {name: TRSUM, label: Sum of diameters, type: float}\n"
        "  - {name: TRTSDT, label: Treatment start, type: date}\n"), 1)
    alone = compute_input_rows(load(tmp_path, text))
    assert alone["sdtm.TR"] == RowFilter(("TRTESTCD == 'SUMDIAM'",))
    (tmp_path / "specs" / "adam" / "ADRS.yaml").write_text(ADRS, encoding="utf-8")
    both = load_adam_spec_files([tmp_path / "specs" / "adam" / f"{n}.yaml" for n in ("ADSL", "ADRS")],
                                root=tmp_path).datasets
    rows = compute_input_rows(both)
    assert rows["sdtm.TR"] is None and rows["sdtm.TU"] is None  # the RECIST step reads TU and TR whole
    assert rows["sdtm.LB"] == alone["sdtm.LB"]  # it names TU and TR only


def test_the_environment_switch_turns_row_pushdown_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLFGEN_ROW_PUSHDOWN", "0")
    assert compute_input_columns(load(tmp_path, ADSL))["sdtm.LB"].rows is None
    monkeypatch.setenv("TLFGEN_ROW_PUSHDOWN", "1")
    assert compute_input_columns(load(tmp_path, ADSL))["sdtm.LB"].rows is not None


@pytest.mark.parametrize(("text", "simple"), [
    ("LBTESTCD == 'ALT'", True),
    ("PARAMCD in ['OS', 'PFS'] and not_missing(AVAL)", True),
    ("RSEVAL == 'INVESTIGATOR' or upper(RSTESTCD) != 'OVRLRESP'", True),
    ("not (EXDOSE > 0) and length(EXSTDTC) >= 10", True),
    ("date(QSDTC) <= TRTSDT", False),  # date parsing: not a plain test
    ("AVAL * 2 > 3", False),  # arithmetic
    ("if_else(A == 'Y', 1, 0) == 1", False),
    ("LBTESTCD ==", False),  # not an expression at all
])
def test_simple_conditions(text: str, simple: bool) -> None:
    assert is_simple_condition(text) is simple


@pytest.fixture(autouse=True)
def _push_rows_of_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test files are small: push rows down whatever their size (ROW_PUSHDOWN_MIN_BYTES)."""
    monkeypatch.setattr("tlfgen.adam.engine.ROW_PUSHDOWN_MIN_BYTES", 0)


def _write_lb(folder: Path) -> pd.DataFrame:
    frame = pd.DataFrame({
        "STUDYID": ["S1"] * 5, "DOMAIN": ["LB"] * 5, "USUBJID": ["S1-1", "S1-1", "S1-2", "S1-2", "S1-3"],
        "LBSEQ": [1, 2, 1, 2, 1], "LBTESTCD": ["ALT", "AST", "ALT", "HGB", " "],
        "LBORRES": ["10", " ", "30", "", "5"], "LBCOM": ["", "", "", "clotted", ""],
        "LBDTC": ["2020-01-01", "2020-02-01", "", "2020-03-01", "2020-04-01"]})
    meta = DatasetMetadata(name="LB", label="Laboratory", structure="", class_="", variables=tuple(
        VariableMetadata(c, c, "integer" if c == "LBSEQ" else "text") for c in frame.columns))
    write_xpt(frame, complete_metadata(meta, frame), folder / "lb.xpt")
    return frame


def test_read_sdtm_keeps_the_records_of_the_conditions_as_a_full_read_gives_them(tmp_path: Path) -> None:
    _write_lb(tmp_path)
    needs = ColumnNeeds(frozenset({"USUBJID", "LBTESTCD", "LBORRES", "LBCOM", "LBDTC"}),
                        rows=RowFilter(("LBTESTCD == 'ALT'", "LBTESTCD == 'AST'")))
    data = read_sdtm(tmp_path, "LB", columns=needs)
    full = read_sdtm(tmp_path, "LB", columns=ColumnNeeds(needs.required))
    assert is_row_subset(data) and not is_row_subset(full)
    assert data["LBSEQ"].tolist() == [1.0, 2.0, 1.0]
    pd.testing.assert_frame_equal(data, full.iloc[[0, 1, 2]].reset_index(drop=True))
    # LBCOM is blank in every kept record but not in the file: it stays a text column of missing values
    assert data["LBCOM"].dtype == object and data["LBCOM"].isna().all()


def test_no_record_kept_gives_the_full_read_types(tmp_path: Path) -> None:
    _write_lb(tmp_path)
    needs = ColumnNeeds(frozenset({"USUBJID", "LBTESTCD", "LBCOM"}), rows=RowFilter(("LBTESTCD == 'CRP'",)))
    data = read_sdtm(tmp_path, "LB", columns=needs)
    full = read_sdtm(tmp_path, "LB", columns=ColumnNeeds(needs.required))
    assert len(data) == 0
    pd.testing.assert_frame_equal(data, full.iloc[[]].reset_index(drop=True))


def test_a_condition_on_a_column_the_file_lacks_reads_every_record(tmp_path: Path) -> None:
    _write_lb(tmp_path)
    needs = ColumnNeeds(frozenset({"USUBJID"}), rows=RowFilter(("LBCAT == 'CHEMISTRY'",)))
    data = read_sdtm(tmp_path, "LB", columns=needs)
    assert len(data) == 5 and not is_row_subset(data)
    assert np.array_equal(data["LBSEQ"].to_numpy(), [1.0, 2.0, 1.0, 2.0, 1.0])


def test_files_below_the_size_limit_are_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_lb(tmp_path)
    size = (tmp_path / "lb.xpt").stat().st_size
    needs = ColumnNeeds(frozenset({"USUBJID", "LBTESTCD"}), rows=RowFilter(("LBTESTCD == 'ALT'",)))
    monkeypatch.setattr("tlfgen.adam.engine.ROW_PUSHDOWN_MIN_BYTES", size + 1)
    assert len(read_sdtm(tmp_path, "LB", columns=needs)) == 5
    monkeypatch.setattr("tlfgen.adam.engine.ROW_PUSHDOWN_MIN_BYTES", size)
    assert len(read_sdtm(tmp_path, "LB", columns=needs)) == 2
