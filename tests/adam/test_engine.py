"""Tests for tlfgen.adam.engine and tlfgen.adam.run: running specs, checks, lineage, outputs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tlfgen.adam.engine import compute_lineage, compute_record_sources, run_dataset
from tlfgen.errors import DerivationError
from tlfgen.spec.adam import load_adam_spec_files
from tlfgen.spec.study import Arm, StudyInfo

ADSL = """\
dataset: ADSL
label: Subject-Level Analysis Dataset
class: SUBJECT LEVEL ANALYSIS DATASET
structure: One record per subject
keys: [USUBJID]
inputs: [sdtm.DM, sdtm.EX]
steps:
  - id: dm
    derive: create_dataset
    args: {source: sdtm.DM, keep: [STUDYID, USUBJID, AGE, ARMCD]}
  - id: trt01p
    derive: derive_vars_trt_from_arms
    args: {armcd_var: ARMCD, new_var: TRT01P, new_varn: TRT01PN}
  - id: trtsdtc
    derive: derive_vars_merged
    args: {source: sdtm.EX, new_vars: {TRTSDTC: EXSTDTC}, filter: "EXDOSE > 0", order: [EXSTDTC, EXSEQ], mode: first}
  - id: trtsdt
    derive: derive_vars_dt
    args: {dtc: TRTSDTC, new_var: TRTSDT}
  - id: saffl
    derive: derive_var_flag
    args: {new_var: SAFFL, condition: "not_missing(TRTSDT)"}
  - id: dcutdt
    derive: derive_var_cutoff_date
variables:
  - {name: STUDYID, label: Study Identifier, type: text, origin: Predecessor, source: sdtm.DM.STUDYID}
  - {name: USUBJID, label: Unique Subject Identifier, type: text, origin: Predecessor, source: sdtm.DM.USUBJID}
  - {name: AGE, label: Age, type: integer, origin: Predecessor, source: sdtm.DM.AGE}
  - {name: TRT01P, label: Planned Treatment for Period 01, type: text}
  - {name: TRT01PN, label: Planned Treatment for Period 01 (N), type: integer}
  - {name: TRTSDT, label: Date of First Exposure to Treatment, type: date, method: "First EXSTDTC with EXDOSE > 0"}
  - {name: SAFFL, label: Safety Population Flag, type: text}
  - {name: DCUTDT, label: Data Cutoff Date, type: date}
"""

ADAE = """\
dataset: ADAE
label: Adverse Events Analysis Dataset
class: OCCURRENCE DATA STRUCTURE
structure: One record per adverse event
keys: [USUBJID, AESEQ]
inputs: [sdtm.AE, adam.ADSL]
steps:
  - id: ae
    derive: create_dataset
    args: {source: sdtm.AE, keep: [USUBJID, AESEQ, AETOXGR]}
  - id: adsl
    derive: derive_vars_merged
    args: {source: adam.ADSL, new_vars: {TRTA: TRT01P}}
variables:
  - {name: USUBJID, label: Unique Subject Identifier, type: text}
  - {name: AESEQ, label: Sequence Number, type: integer}
  - {name: AETOXGR, label: Standard Toxicity Grade, type: text}
  - {name: TRTA, label: Actual Treatment, type: text}
"""

STUDY = StudyInfo(id="XYZ", name="x", description="x", protocol="x", cutoff=date(2022, 6, 30),
                  arms=[Arm(armcd="A", arm="Drug A", trtn=1), Arm(armcd="B", arm="Drug B", trtn=2)])


def specs(tmp_path: Path, adsl: str = ADSL, adae: str = ADAE):
    folder = tmp_path / "specs" / "adam"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ADSL.yaml").write_text(adsl)
    (folder / "ADAE.yaml").write_text(adae)
    return load_adam_spec_files([folder / "ADAE.yaml", folder / "ADSL.yaml"], root=tmp_path)


def sdtm() -> dict[str, pd.DataFrame]:
    dm = pd.DataFrame({"STUDYID": "XYZ", "DOMAIN": "DM", "USUBJID": ["XYZ-2", "XYZ-1", "XYZ-3"],
                       "AGE": [61.0, 70.0, 55.0], "ARMCD": ["B", "A", "SCRNFAIL"]})
    ex = pd.DataFrame({"STUDYID": "XYZ", "DOMAIN": "EX", "USUBJID": ["XYZ-1", "XYZ-1", "XYZ-2"],
                       "EXSEQ": [1.0, 2.0, 1.0], "EXDOSE": [200.0, 200.0, 200.0],
                       "EXSTDTC": ["2021-02-01", "2021-01-11", "2021-03-04"]})
    ae = pd.DataFrame({"STUDYID": "XYZ", "DOMAIN": "AE", "USUBJID": ["XYZ-1", "XYZ-1", "XYZ-9"],
                       "AESEQ": [2.0, 1.0, 1.0], "AETOXGR": ["3", "1", "2"]})
    return {"sdtm.DM": dm, "sdtm.EX": ex, "sdtm.AE": ae}


def test_run_dataset_01_adsl_values_types_order_and_lineage(tmp_path):
    loaded = specs(tmp_path)
    built = run_dataset(loaded["ADSL"], sdtm(), STUDY)
    data = built.data
    assert list(data.columns) == ["STUDYID", "USUBJID", "AGE", "TRT01P", "TRT01PN", "TRTSDT", "SAFFL", "DCUTDT"]
    assert data["USUBJID"].tolist() == ["XYZ-1", "XYZ-2", "XYZ-3"]
    assert data["TRT01P"].tolist() == ["A", "B", None]
    assert data["TRT01PN"].tolist()[:2] == [1.0, 2.0] and pd.isna(data["TRT01PN"].iloc[2])
    assert data["TRTSDT"].tolist()[:2] == [pd.Timestamp("2021-01-11"), pd.Timestamp("2021-03-04")]
    assert data["SAFFL"].tolist() == ["Y", "Y", "N"]
    assert str(data["DCUTDT"].dtype) == "datetime64[ns]"
    assert built.lineage[0] == {"key": {"USUBJID": "XYZ-1"},
                                "sources": [{"domain": "DM", "seq": []}, {"domain": "EX", "seq": [2]}]}
    assert built.rows_in == 3 and built.findings == []
    meta = built.metadata
    assert meta.standard == "ADaMIG 1.3" and meta.keys == ("USUBJID",)
    trtsdt = meta.variable("TRTSDT")
    assert (trtsdt.display_format, trtsdt.spec_line, trtsdt.method.description) == (
        "DATE9.", 31, "First EXSTDTC with EXDOSE > 0")


def test_run_dataset_02_subject_not_in_adsl_is_a_finding_and_dropped(tmp_path):
    loaded = specs(tmp_path)
    src = sdtm()
    adsl = run_dataset(loaded["ADSL"], src, STUDY).data
    built = run_dataset(loaded["ADAE"], {"sdtm.AE": src["sdtm.AE"], "adam.ADSL": adsl}, STUDY)
    assert built.data["AESEQ"].tolist() == [1.0, 2.0]
    assert built.data["TRTA"].tolist() == ["A", "A"]
    [finding] = built.findings
    assert (finding.severity, finding.rule, finding.usubjid, finding.message) == (
        "ERROR", "ADAM-SUBJ-NOT-IN-ADSL", "XYZ-9", "1 ADAE record(s) of a subject not in ADSL; dropped")


def test_run_dataset_03_missing_sdtm_variable_names_dataset_variable_and_line(tmp_path):
    loaded = specs(tmp_path)
    src = sdtm()
    src["sdtm.EX"] = src["sdtm.EX"].drop(columns=["EXDOSE"])
    with pytest.raises(DerivationError) as err:
        run_dataset(loaded["ADSL"], src, STUDY)
    assert str(err.value) == (
        "specs/adam/ADSL.yaml:14:5: ADSL.EXDOSE: step 'trtsdtc' (derive_vars_merged) needs sdtm.EX.EXDOSE, "
        "which the data does not have\n  hint: did you mean EXSEQ? check the sdtm.EX dataset or the spec")


def test_run_dataset_04_wrong_type_names_dataset_variable_and_line(tmp_path):
    loaded = specs(tmp_path, adsl=ADSL.replace("{name: SAFFL, label: Safety Population Flag, type: text}",
                                               "{name: SAFFL, label: Safety Population Flag, type: float}"))
    with pytest.raises(DerivationError) as err:
        run_dataset(loaded["ADSL"], sdtm(), STUDY)
    assert str(err.value) == (
        "specs/adam/ADSL.yaml:32:5: ADSL.SAFFL: declared type is float but the derivation produced "
        "object (e.g. 'Y')\n  hint: fix the derivation or the declared type")


def test_run_dataset_05_duplicate_keys(tmp_path):
    loaded = specs(tmp_path)
    src = sdtm()
    src["sdtm.DM"] = pd.concat([src["sdtm.DM"], src["sdtm.DM"].iloc[[0]]], ignore_index=True)
    with pytest.raises(DerivationError) as err:
        run_dataset(loaded["ADSL"], src, STUDY)
    assert str(err.value).startswith("specs/adam/ADSL.yaml:5:1: ADSL: USUBJID=XYZ-2: 2 records share the keys "
                                     "USUBJID=XYZ-2")


def test_run_dataset_06_unknown_arm_is_an_error_naming_the_subject(tmp_path):
    loaded = specs(tmp_path)
    src = sdtm()
    src["sdtm.DM"].loc[0, "ARMCD"] = "C"
    with pytest.raises(DerivationError) as err:
        run_dataset(loaded["ADSL"], src, STUDY)
    assert str(err.value) == ("specs/adam/ADSL.yaml:11:5: ADSL.ARMCD: USUBJID=XYZ-2: ARMCD 'C' is not an arm "
                              "of the study\n  hint: arms: A, B; codes of subjects without an arm: no_arm_codes")


def test_compute_lineage_01_srcdom_srcseq(tmp_path):
    loaded = specs(tmp_path)
    data = pd.DataFrame({"USUBJID": ["S"], "AESEQ": [1.0], "SRCDOM": ["RS"], "SRCSEQ": [4.0],
                         "_SRC": [[("AE", 3), ("AE", 1), ("DM", None)]]})
    assert compute_lineage(loaded["ADAE"], data) == [{
        "key": {"USUBJID": "S", "AESEQ": 1},
        "sources": [{"domain": "AE", "seq": [1, 3]}, {"domain": "DM", "seq": []}, {"domain": "RS", "seq": [4]}]}]


def test_run_adam_01_writes_xpt_json_lineage(tmp_path):
    from tlfgen.adam.run import run_adam
    from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
    from tlfgen.io.xpt import read_xpt, write_xpt
    from tlfgen.spec.study import load_study

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "study.yaml").write_text(
        "study:\n  id: XYZ\n  name: x\n  description: x\n  protocol: x\n  cutoff: 2022-06-30\n"
        "  arms:\n    - {armcd: A, arm: Drug A, trtn: 1}\n    - {armcd: B, arm: Drug B, trtn: 2}\n")
    specs(tmp_path)
    (tmp_path / "sdtm").mkdir()
    for name, frame in sdtm().items():
        domain = name.split(".")[1]
        variables = tuple(VariableMetadata(c, c, "text" if frame[c].dtype == object else "float")
                          for c in frame.columns)
        write_xpt(frame, DatasetMetadata(domain, domain, "", "", variables=variables),
                  tmp_path / "sdtm" / f"{domain.lower()}.xpt")
    study = load_study(tmp_path)
    result = run_adam(study)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in result.outputs)
    assert names == [
        "adam/adae.json", "adam/adae.xpt", "adam/adsl.json", "adam/adsl.xpt", "adam/define.xml", "adam/define2-1.xsl",
        "adam/lineage/adae.json", "adam/lineage/adsl.json"]
    assert [(c.name, c.rows_in, c.rows_out, c.rejected) for c in result.counts] == [
        ("ADSL", 3, 3, {}), ("ADAE", 3, 2, {"subject not in ADSL": 1})]
    assert result.errors == 1
    adsl, meta = read_xpt(tmp_path / "adam" / "adsl.xpt")
    assert adsl["TRTSDT"].tolist()[:2] == [pd.Timestamp("2021-01-11"), pd.Timestamp("2021-03-04")]
    assert meta.variable("TRTSDT").display_format == "DATE9."
    lineage = json.loads((tmp_path / "adam" / "lineage" / "adae.json").read_text())
    assert lineage["records"][1] == {"key": {"USUBJID": "XYZ-1", "AESEQ": 2},
                                     "sources": [{"domain": "AE", "seq": [2]}]}
    first = {p: p.read_bytes() for p in result.outputs}
    study.cache.clear()
    again = run_adam(study)
    assert {p: p.read_bytes() for p in again.outputs} == first  # byte-identical on a second run


def test_run_dataset_07_step_findings_from_attrs_are_collected(tmp_path):
    from tlfgen.pipeline import Finding
    from tlfgen.registry import get_derivation

    loaded = specs(tmp_path)
    deriv = get_derivation("derive_var_cutoff_date")
    original = deriv.func

    def with_finding(dataset, *, study, new_var="DCUTDT"):
        out = original(dataset, study=study, new_var=new_var)
        out.attrs["findings"] = [Finding("WARNING", "TEST-RULE", "checked", usubjid="XYZ-1")]
        return out

    step = next(s for s in loaded["ADSL"].steps if s.spec.id == "dcutdt")
    object.__setattr__(step, "derivation", type(deriv)(**{**deriv.__dict__, "func": with_finding}))
    built = run_dataset(loaded["ADSL"], sdtm(), STUDY)
    assert [(f.rule, f.usubjid) for f in built.findings] == [("TEST-RULE", "XYZ-1")]


def test_run_dataset_08_expression_on_missing_column_names_the_step_line(tmp_path):
    from tlfgen.errors import ExpressionError

    loaded = specs(tmp_path)
    src = sdtm()
    src["sdtm.EX"] = src["sdtm.EX"].rename(columns={"EXDOSE": "EXDOSE_"})
    step = next(s for s in loaded["ADSL"].steps if s.spec.id == "trtsdtc")
    object.__setattr__(step, "requires", tuple(r for r in step.requires if not r.endswith("EXDOSE")))
    with pytest.raises(ExpressionError) as err:
        run_dataset(loaded["ADSL"], src, STUDY)
    assert str(err.value) == ("specs/adam/ADSL.yaml:14:5: expression 'EXDOSE > 0' uses column EXDOSE which the "
                              "data does not have\n  hint: did you mean EXDOSE_ or EXSEQ?")


@pytest.mark.parametrize(("cell", "dom", "seq", "expected"), [
    ([("RS", 3)], "RS", 3, [{"domain": "RS", "seq": [3]}]),  # SRCDOM/SRCSEQ repeat the one _SRC pair
    ([("RS", 3)], None, None, [{"domain": "RS", "seq": [3]}]),
    ([("RS", 3)], "RS", None, [{"domain": "RS", "seq": [3]}]),
    ([("RS", 3)], "RS", 5, [{"domain": "RS", "seq": [3, 5]}]),
    ([("TR", 3)], "RS", 5, [{"domain": "RS", "seq": [5]}, {"domain": "TR", "seq": [3]}]),
    ([("RS", 3.0)], None, None, [{"domain": "RS", "seq": [3]}]),
    ([("TR", 9), ("RS", 2), ("TR", 1), ("TR", 9)], None, None,
     [{"domain": "RS", "seq": [2]}, {"domain": "TR", "seq": [1, 9]}]),
    (None, "AE", 4, [{"domain": "AE", "seq": [4]}]),
    (None, "AE", None, [{"domain": "AE", "seq": []}]),
    ([], "AE", 4, [{"domain": "AE", "seq": [4]}]),
    (None, None, 4, []),
    ([], None, None, []),
])
def test_compute_record_sources_01_pairs_and_srcdom_grouped_by_domain(cell, dom, seq, expected):
    assert compute_record_sources(cell, dom, seq) == expected


def test_compute_blank_as_missing_plain_strings_mixed_and_all_blank():
    from tlfgen.adam.engine import compute_blank_as_missing

    kept = pd.Series(["a", "b", "a"], dtype=object, name="X")
    assert compute_blank_as_missing(kept) is kept  # nothing blank: the same column
    some = compute_blank_as_missing(pd.Series(["a", "", " \t", "\u3000", "a "], dtype=object, index=[5, 6, 7, 8, 9]))
    assert some.dtype == object and some.index.tolist() == [5, 6, 7, 8, 9]
    assert [v if isinstance(v, str) else "NaN" for v in some] == ["a", "NaN", "NaN", "NaN", "a "]
    every = compute_blank_as_missing(pd.Series(["", "  "], dtype=object, name="Y"))
    assert every.dtype == "float64" and every.name == "Y" and every.isna().tolist() == [True, True]
    mixed = compute_blank_as_missing(pd.Series(["", None, "a"], dtype=object))  # not all text: map's result
    assert mixed.dtype == object and pd.isna(mixed[0]) and mixed[1] is None and mixed[2] == "a"
    numbers = compute_blank_as_missing(pd.Series(["", None, 3], dtype=object))
    assert numbers.dtype == "float64" and numbers.isna().tolist() == [True, True, False] and numbers[2] == 3.0
    assert compute_blank_as_missing(pd.Series([None, " "], dtype=object)).dtype == "float64"


def test_compute_blank_as_missing_equals_map_on_mixed_columns():
    import numpy as np

    from tlfgen.adam.engine import _blank_to_nan, compute_blank_as_missing

    cases = [["a", None, " ", np.nan, 2.5, ""], ["a", None, 3], [None, np.nan], ["", None], [" ", 1, 2],
             ["x", True, " "], [np.str_(" "), "a"], [["list"], " "], ["b", "", "b", None] * 3]
    for values in cases:
        series = pd.Series(values, dtype=object, index=range(10, 10 + len(values)), name="V")
        got, want = compute_blank_as_missing(series), series.map(_blank_to_nan)
        pd.testing.assert_series_equal(got, want)
        assert [type(v) for v in got] == [type(v) for v in want], values


def test_compute_equal_any_marks_every_listed_text():
    import numpy as np

    from tlfgen.adam.engine import compute_equal_any

    values = np.array(["", "a", " ", "", "b"], dtype=object)
    assert compute_equal_any(values, ["", " "]).tolist() == [True, False, True, True, False]
    assert compute_equal_any(values, []).tolist() == [False] * 5
