"""Tests of tlfgen.sdtm.dictionary and the ``dictionary`` spec option (AEDECOD/AEBODSYS coding checks)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from sdtm_helpers import LEAD, ROOT, S, make_study

from tlfgen.errors import SpecError, SpecErrors
from tlfgen.sdtm.dictionary import compute_term_key, mismatch_rule
from tlfgen.sdtm.run import map_study
from tlfgen.spec.check import load_stage_specs

AE_HEAD = (f"{LEAD},AETERM,AEPT,AESOC,AESTDAT,AEENDAT,AEONGO,AETOXGR,AESER,AESDTH,AESLIFE,AESHOSP,AESDISAB,"
           "AESCONG,AESMIE,AERELCAM,AERELANL,AERELTAX,AERELPLT,AEACN,AEOUT\n")
TAIL = ("10 AUG 2020,20 AUG 2020,No,2,No,,,,,,,Related,Not related,Not related,Not related,Dose not changed,"
        "Recovered/resolved")
DICT = "specs/dictionaries/ae_dictionary.csv"
UNCODED_ACTION = "kept as reported; code it or correct the raw value"
MISMATCH_ACTION = "kept as reported; correct the SOC or the PT in the raw data"


def _study(tmp_path, ae_rows: list[str] | None = None):
    """The small SDTM test study with the project's dictionary and the given AE rows (PT, SOC ...)."""
    edits = {"ae.csv": AE_HEAD + "".join(f"{S},{r},{TAIL}\n" for r in ae_rows)} if ae_rows is not None else None
    study = make_study(tmp_path / "study", edits)
    shutil.copytree(ROOT / "specs" / "dictionaries", study.specs_dir / "dictionaries", dirs_exist_ok=True)
    return study


def _dict_findings(study) -> list[tuple]:
    run = map_study(study)
    return [(f.severity, f.rule, f.file, f.row, f.column, f.value, f.usubjid, f.message, f.action)
            for f in run.findings if f.rule.startswith("DICT-")]


def _edit_ae_spec(study, old: str, new: str) -> None:
    path = study.specs_dir / "sdtm" / "AE.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# ---------------------------------------------------------------- pure helpers


def test_01_mismatch_rule_names_the_column():
    assert mismatch_rule("SOC") == "DICT-SOC-MISMATCH"
    assert mismatch_rule("hlgt term") == "DICT-HLGT-TERM-MISMATCH"


def test_02_term_key_ignores_case_and_spaces():
    keys = compute_term_key(pd.Series(["  nausea ", "NAUSEA", None, "Rash  papular"]))
    assert keys.tolist() == ["NAUSEA", "NAUSEA", "", "RASH PAPULAR"]


# ---------------------------------------------------------------- mapping findings


def test_03_clean_small_study_has_no_dictionary_findings(tmp_path):
    assert _dict_findings(_study(tmp_path)) == []


def test_04_uncoded_preferred_term(tmp_path):
    study = _study(tmp_path, ["01001,LOG,1,low wbc,Low white cells,Investigations",
                              "01001,LOG,2,Nausea,Nausea,Gastrointestinal disorders"])
    assert _dict_findings(study) == [
        ("WARNING", "DICT-UNCODED", "raw/ae.csv", 2, "AEPT", "Low white cells", "NCT04471480-01001",
         f"'Low white cells' is not a PT of {DICT} (AEDECOD)", UNCODED_ACTION)]


def test_05_soc_mismatch(tmp_path):
    study = _study(tmp_path, ["01001,LOG,1,Nausea,Nausea,Gastrointestinal disorders",
                              "01002,LOG,1,proteinuria,Proteinuria,Investigations"])
    assert _dict_findings(study) == [
        ("WARNING", "DICT-SOC-MISMATCH", "raw/ae.csv", 3, "AESOC", "Investigations", "NCT04471480-01002",
         f"'Investigations' is not the SOC of PT 'Proteinuria' ({DICT} gives 'Renal and urinary disorders')",
         MISMATCH_ACTION)]


def test_06_case_and_space_differences_are_accepted(tmp_path):
    study = _study(tmp_path, ["01001,LOG,1,nausea,  nausea ,GASTROINTESTINAL  disorders",
                              "01002,LOG,1,rash,RASH,skin and subcutaneous tissue disorders"])
    assert _dict_findings(study) == []


def test_07_blank_soc_of_a_coded_pt(tmp_path):
    study = _study(tmp_path, ["01001,LOG,1,Nausea,Nausea,"])
    assert _dict_findings(study) == [
        ("WARNING", "DICT-SOC-MISMATCH", "raw/ae.csv", 2, "AESOC", "", "NCT04471480-01001",
         f"SOC is blank for PT 'Nausea' ({DICT} gives 'Gastrointestinal disorders')", MISMATCH_ACTION)]


def test_08_uncoded_pt_with_unknown_soc_gives_two_findings(tmp_path):
    study = _study(tmp_path, ["01001,LOG,1,odd,Odd event,Odd disorders"])
    assert _dict_findings(study) == [
        ("WARNING", "DICT-UNCODED", "raw/ae.csv", 2, "AEPT", "Odd event", "NCT04471480-01001",
         f"'Odd event' is not a PT of {DICT} (AEDECOD)", UNCODED_ACTION),
        ("WARNING", "DICT-UNCODED", "raw/ae.csv", 2, "AESOC", "Odd disorders", "NCT04471480-01001",
         f"'Odd disorders' is not a SOC of {DICT} (AEBODSYS)", UNCODED_ACTION)]


def test_09_values_are_kept_and_no_record_dropped(tmp_path):
    study = _study(tmp_path, ["01001,LOG,1,low wbc,Low white cells,Investigations",
                              "01002,LOG,1,proteinuria,Proteinuria,Investigations"])
    ae = map_study(study).results["AE"].data
    assert ae[["AEDECOD", "AEBODSYS"]].values.tolist() == [["LOW WHITE CELLS", "INVESTIGATIONS"],
                                                           ["PROTEINURIA", "INVESTIGATIONS"]]


def test_10_one_finding_per_row_for_a_repeated_value(tmp_path):
    study = _study(tmp_path, ["01001,LOG,1,x,Low white cells,Investigations",
                              "01001,LOG,2,x,low white cells,Investigations",
                              "01002,LOG,1,x,Low white cells,Investigations"])
    assert [(f[3], f[5]) for f in _dict_findings(study)] == [
        (2, "Low white cells"), (3, "low white cells"), (4, "Low white cells")]


def test_11_the_dictionary_is_read_once_with_the_specs(tmp_path):
    study = _study(tmp_path)
    specs = load_stage_specs(study, "sdtm")
    assert list(specs.dictionaries) == ["dictionaries/ae_dictionary.csv"]
    coding = specs.dictionaries["dictionaries/ae_dictionary.csv"]
    assert coding.columns == ("LLT", "LLTCD", "PT", "PTCD", "HLT", "HLTCD", "HLGT", "HLGTCD", "SOC", "SOCCD",
                              "VERBATIMS")
    assert len(coding.rows) == 25
    assert coding.entries("PT", "SOC")["EPISTAXIS"] == ("Respiratory, thoracic and mediastinal disorders",)


# ---------------------------------------------------------------- spec errors


def _spec_error(study) -> SpecError:
    with pytest.raises((SpecError, SpecErrors)) as info:
        load_stage_specs(study, "sdtm")
    err = info.value
    return err.errors[0] if isinstance(err, SpecErrors) else err


def test_12_missing_dictionary_file_is_a_spec_error_with_its_location(tmp_path):
    study = _study(tmp_path)
    shutil.rmtree(study.specs_dir / "dictionaries")
    err = _spec_error(study)
    assert err.message == f"dictionary {DICT}: file not found"
    assert (str(err.location), err.key_path) == ("specs/sdtm/AE.yaml:21:19", "variables[8].dictionary.file")
    assert err.hint == "the file is relative to specs/; correct the name or add the dictionary there"


def test_13_missing_column_is_a_spec_error_listing_the_columns(tmp_path):
    study = _study(tmp_path)
    _edit_ae_spec(study, "column: SOC,", "column: SOCNAME,")
    err = _spec_error(study)
    assert err.message == f"dictionary {DICT}: no column 'SOCNAME'"
    assert (str(err.location), err.key_path) == ("specs/sdtm/AE.yaml:33:57", "variables[14].dictionary.column")
    assert err.hint == "its columns: LLT, LLTCD, PT, PTCD, HLT, HLTCD, HLGT, HLGTCD, SOC, SOCCD, VERBATIMS"


def test_14_match_must_name_a_variable_coded_on_the_same_file(tmp_path):
    study = _study(tmp_path)
    _edit_ae_spec(study, "match: AEDECOD", "match: AETERM")
    err = _spec_error(study)
    assert err.message == ("match 'AETERM' must be another variable of AE coded on dictionaries/ae_dictionary.csv "
                           "without a match of its own")
    assert err.key_path == "variables[14].dictionary.match"


def test_15_dictionary_outside_the_specs_folder_is_refused(tmp_path):
    study = _study(tmp_path)
    _edit_ae_spec(study, "file: dictionaries/ae_dictionary.csv, column: PT",
                  "file: dictionaries/../../raw/ae.csv, column: PT")
    err = _spec_error(study)
    assert "dictionary path 'dictionaries/../../raw/ae.csv' points outside" in err.message
    assert str(err.location) == "specs/sdtm/AE.yaml:21:19"


def test_16_unknown_key_in_the_option_is_rejected(tmp_path):
    study = _study(tmp_path)
    _edit_ae_spec(study, "column: PT}", "column: PT, version: 27.0}")
    err = _spec_error(study)
    assert err.key_path == "variables[8].dictionary.version"


def test_17_ragged_dictionary_is_a_spec_error(tmp_path):
    study = _study(tmp_path)
    path = study.specs_dir / "dictionaries" / "ae_dictionary.csv"
    path.write_text("PT,SOC\nNausea,Gastrointestinal disorders\nRash\n")
    err = _spec_error(study)
    assert err.message == f"dictionary {DICT}: line 3 has 1 fields, the header has 2"
