"""The mapping algorithms of tlfgen.sdtm.algorithms (sdtm.oak's set), each on a small raw form
mapped by the real engine, with the exact SDTM values expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tlfgen.errors import DerivationError
from tlfgen.sdtm.run import map_study
from tlfgen.spec.study import load_study

STUDY = """\
study:
  id: ALG01
  name: algorithms
  description: algorithm tests
  protocol: ALG01
  cutoff: 2021-12-31
  arms: [{armcd: A, arm: Drug A, trtn: 1}]
visits:
  - {folder: V1, visit: VISIT 1, visitnum: 1, epoch: TREATMENT}
"""
CT = """\
codelists:
  - {id: ROUTE, name: Route, items: [{value: ORAL, raw: [PO]}, {value: INTRAVENOUS, raw: [IV]}]}
  - {id: STENRF, name: Relation to Reference Period, items: [{value: BEFORE}, {value: ONGOING}]}
"""
FORMS = """\
leading: [PATNUM]
subject_forms: [cm]
identifiers: {subject: PATNUM, site: null, study: null, visit: null}
dates: {order: DMY, yearcutoff: 1950}
forms:
  - {name: cm, file: cm.csv, label: Medications, keys: [SUBJID, LINE], columns: [%s]}
"""
HEAD = """\
domain: CM
label: Concomitant Medications
class: INTERVENTIONS
structure: One record per medication
keys: [STUDYID, USUBJID, CMSEQ]
sources:
  - form: cm
variables:
  - {name: STUDYID, label: Study Identifier, derive: {name: compute_studyid}}
  - {name: USUBJID, label: Unique Subject Identifier, derive: {name: compute_usubjid}}
  - {name: CMSEQ, label: Sequence Number, type: integer, derive: {name: compute_seq, args: {order: [LINE]}}}
  - {name: LINE, label: Raw line, source: cm.LINE}
"""


def mapped(tmp_path: Path, raw: str, variables: str, supp: str = ""):
    """Map a CM domain with ``variables`` (YAML list items) from the raw cm.csv ``raw``."""
    (tmp_path / "specs" / "sdtm").mkdir(parents=True)
    (tmp_path / "specs" / "ct").mkdir()
    (tmp_path / "raw").mkdir()
    (tmp_path / "specs" / "study.yaml").write_text(STUDY)
    (tmp_path / "specs" / "ct" / "ct.yaml").write_text(CT)
    raw = textwrap.dedent(raw).lstrip()
    columns = [c for c in raw.splitlines()[0].split(",") if c != "PATNUM"]
    (tmp_path / "specs" / "sdtm" / "forms.yaml").write_text(FORMS % ", ".join(columns))
    spec = HEAD.replace("  - {name: LINE", textwrap.indent(textwrap.dedent(variables).strip(), "  ") + "\n  - {name: LINE")
    if supp:
        spec += "supp:\n" + textwrap.indent(textwrap.dedent(supp).strip(), "  ") + "\n"
    (tmp_path / "specs" / "sdtm" / "CM.yaml").write_text(spec)
    (tmp_path / "raw" / "cm.csv").write_text(raw)
    return map_study(load_study(tmp_path))


def column(run, name: str) -> list:
    return run.results["CM"].data[name].tolist()


def test_assign_no_ct_cleans_spaces_and_honours_a_condition(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDRAW,MDIND
        1,1,  Aspirin   100 mg ,Pain
        1,2,Ibuprofen,
        """, """
        - {name: CMTRT, label: Name, derive: {name: assign_no_ct, args: {raw_var: MDRAW}}}
        - {name: CMINDC, label: Indication, derive: {name: assign_no_ct, args: {raw_var: MDIND, condition: "LINE == '1'"}}}
        """)
    assert column(run, "CMTRT") == ["Aspirin 100 mg", "Ibuprofen"]
    assert column(run, "CMINDC") == ["Pain", ""]


def test_assign_ct_maps_through_the_codelist_and_reports_unmapped_values(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDRTE
        1,1,po
        1,2,IV
        1,3,Nasal
        1,4,
        """, """
        - {name: CMROUTE, label: Route, derive: {name: assign_ct, args: {raw_var: MDRTE, codelist: ROUTE}}}
        """)
    assert column(run, "CMROUTE") == ["ORAL", "INTRAVENOUS", "", ""]
    [finding] = [f for f in run.findings if f.rule == "CT-UNMAPPED"]
    assert (finding.file, finding.row, finding.column, finding.value, finding.usubjid, finding.domain) == (
        "raw/cm.csv", 4, "MDRTE", "Nasal", "ALG01-1", "CM")


def test_hardcode_with_and_without_ct_where_a_tick_box_is_ticked(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDPRIOR,MDONG
        1,1,X,
        1,2,,X
        1,3, ,
        """, """
        - {name: CMSTRTPT, label: Start rel, derive: {name: assign_hardcode_ct, args: {raw_var: MDPRIOR, value: before, codelist: STENRF}}}
        - {name: CMSTTPT, label: Start ref, derive: {name: assign_hardcode_no_ct, args: {raw_var: MDPRIOR, value: SCREENING}}}
        - {name: CMENTPT, label: End ref, derive: {name: assign_hardcode_no_ct, args: {condition: "MDONG == 'X'", value: END OF STUDY}}}
        """)
    assert column(run, "CMSTRTPT") == ["BEFORE", "", ""]
    assert column(run, "CMSTTPT") == ["SCREENING", "", ""]
    assert column(run, "CMENTPT") == ["", "END OF STUDY", ""]


def test_hardcode_ct_refuses_a_value_outside_the_codelist(tmp_path):
    with pytest.raises(DerivationError, match="'LATER' is not in codelist STENRF") as info:
        mapped(tmp_path, """
            PATNUM,LINE,MDPRIOR
            1,1,X
            """, """
            - {name: CMSTRTPT, label: Start rel, derive: {name: assign_hardcode_ct, args: {raw_var: MDPRIOR, value: LATER, codelist: STENRF}}}
            """)
    assert info.value.location.file.endswith("CM.yaml")


def test_if_else_dose_if_numeric_else_dose_text(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,DOS
        1,1,500
        1,2,one tablet
        1,3,2.5
        1,4,
        """, """
        - {name: CMDOSE, label: Dose, type: float, derive: {name: compute_if_else, args: {condition: is_number(DOS), true_value: DOS}}}
        - {name: CMDOSTXT, label: Dose text, derive: {name: compute_if_else, args: {condition: "not is_number(DOS)", true_value: DOS, false_value: "''"}}}
        - {name: CMDOSFRM, label: Form, derive: {name: compute_if_else, args: {condition: is_number(DOS), true_value: "'TABLET'", false_value: "'UNKNOWN'"}}}
        """)
    dose = column(run, "CMDOSE")
    assert dose[0] == 500.0 and dose[2] == 2.5 and dose[1] != dose[1] and dose[3] != dose[3]
    assert column(run, "CMDOSTXT") == ["", "one tablet", "", ""]
    assert column(run, "CMDOSFRM") == ["TABLET", "UNKNOWN", "TABLET", "UNKNOWN"]


def test_case_when_takes_the_first_case_that_holds(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDPRIOR,MDONG
        1,1,X,X
        1,2,,X
        1,3,,
        """, """
        - {name: CMCAT, label: Category, derive: {name: compute_case_when, args: {
            cases: [{when: "MDPRIOR == 'X'", then: "'PRIOR'"}, {when: "MDONG == 'X'", then: "'ONGOING'"}],
            default: "'OTHER'"}}}
        """)
    assert column(run, "CMCAT") == ["PRIOR", "ONGOING", "OTHER"]


def test_format_string_and_join(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,FORML,PAGE,ROW,MDRAW,MDSALT
        1,1,CM,12,1,Metoprolol,tartrate
        1,2,CM,12,2,Aspirin,
        """, """
        - {name: CMSPID, label: Sponsor id, derive: {name: compute_format_string, args: {template: "/F:{FORML}-D:{PAGE}-R:{ROW:0>3}"}}}
        - {name: CMTRT, label: Name, derive: {name: compute_join, args: {vars: [MDRAW, MDSALT], sep: " "}}}
        """)
    assert column(run, "CMSPID") == ["/F:CM-D:12-R:001", "/F:CM-D:12-R:002"]
    assert column(run, "CMTRT") == ["Metoprolol tartrate", "Aspirin"]


def test_assign_datetime_joins_date_and_time_with_findings(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDBDR,MDBTM
        1,1,15-Sep-20,08:00
        1,2,15-Sep-20,
        1,3,UN-Sep-20,08:00
        1,4,15-Sep-20,25:00
        1,5,31-Sep-20,08:00
        1,6,01-Jan-49,14:UN
        """, """
        - {name: CMSTDTC, label: Start, derive: {name: assign_datetime, args: {date: MDBDR, time: MDBTM}}}
        - {name: CMENDTC, label: End, derive: {name: assign_datetime, args: {date: MDBDR, order: DMY, yearcutoff: 1900}}}
        """)
    assert column(run, "CMSTDTC") == ["2020-09-15T08:00", "2020-09-15", "2020-09", "2020-09-15", "", "2049-01-01T14"]
    assert column(run, "CMENDTC") == ["1920-09-15", "1920-09-15", "1920-09", "1920-09-15", "", "1949-01-01"]
    found = sorted({(f.rule, f.row, f.column) for f in run.findings if f.severity != "NOTE" or f.rule == "TIME-DROPPED"})
    assert found == [("DATE-INVALID", 6, "MDBDR"), ("TIME-DROPPED", 4, "MDBTM"), ("TIME-INVALID", 5, "MDBTM")]


def test_a_source_rule_takes_date_and_time_options(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDEDR,MDETM
        1,1,09/15/2020,7:05
        1,2,02/30/2020,
        """, """
        - {name: CMENDTC, label: End, source: cm.MDEDR, time: cm.MDETM, date: {order: MDY}}
        """)
    assert column(run, "CMENDTC") == ["2020-09-15T07:05", ""]
    [bad] = [f for f in run.findings if f.rule == "DATE-INVALID"]
    assert (bad.row, bad.column, bad.value) == (3, "MDEDR", "02/30/2020")
    assert bad.message == "'02/30/2020' is not a valid date (MDY, four-digit years)"


def test_modify_only_when_different_from_the_reported_name(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDRAW,MDMODIF
        1,1,Paracetamol 500mg,Paracetamol
        1,2,Omeprazole, OMEPRAZOLE
        1,3,Aspirin,
        """, """
        - {name: CMTRT, label: Name, source: cm.MDRAW}
        - {name: CMMODIFY, label: Modified, derive: {name: compute_if_different, args: {var: MDMODIF, other: MDRAW}}}
        """)
    assert column(run, "CMMODIFY") == ["Paracetamol", "", ""]


def test_adam_flag_and_category_derivations_run_in_sdtm_specs(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDONG,DOS
        1,1,X,500
        1,2,,20
        """, """
        - {name: CMONGO, label: Ongoing, derive: {name: derive_var_flag, args: {condition: "MDONG == 'X'"}}}
        - {name: CMDOSGR, label: Dose group, derive: {name: derive_var_cat, args: {
            cats: [{condition: "DOS == '500'", value: HIGH}], default: LOW}}}
        """)
    assert column(run, "CMONGO") == ["Y", "N"]
    assert column(run, "CMDOSGR") == ["HIGH", "LOW"]


def test_suppqual_from_a_derived_rule(tmp_path):
    run = mapped(tmp_path, """
        PATNUM,LINE,MDPROPH
        1,1,
        1,2,X
        """, "", supp="""
        - {qnam: CMPROPH, qlabel: Prophylactic Use, derive: {name: assign_hardcode_no_ct, args: {raw_var: MDPROPH, value: "Y"}}}
        """)
    supp = run.results["CM"].supp
    assert supp[["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL"]].values.tolist() == [
        ["ALG01-1", "CMSEQ", "2", "CMPROPH", "Y"]]


def test_a_derivation_missing_its_column_names_the_spec_line(tmp_path):
    with pytest.raises(DerivationError, match="assign_no_ct needs column MDRAWX") as info:
        mapped(tmp_path, """
            PATNUM,LINE,MDRAW
            1,1,Aspirin
            """, """
            - {name: CMTRT, label: Name, derive: {name: assign_no_ct, args: {raw_var: MDRAWX}}}
            """)
    assert info.value.location.file.endswith("CM.yaml") and info.value.location.line == 12


def test_a_wide_form_gives_one_record_per_test(tmp_path):
    """One raw row per visit, one column per test -> one LB record per test with a result."""
    run = mapped(tmp_path, """
        PATNUM,LINE,HGB,HGBU,UPROT
        1,1,13.5,g/dL,Negative
        1,2,,g/dL,Trace
        """, "")  # builds the folder; the LB spec below replaces CM
    spec = tmp_path / "specs" / "sdtm"
    (spec / "CM.yaml").unlink()
    (spec / "LB.yaml").write_text(textwrap.dedent("""\
        domain: LB
        label: Laboratory Test Results
        class: FINDINGS
        structure: One record per lab test per time point per visit per subject
        keys: [USUBJID, LBTESTCD, LBREFID]
        sources:
          - form: cm
            tests:
              - {testcd: HGB, test: Hemoglobin, result: HGB, unit_field: HGBU}
              - {testcd: PROT, test: Protein, result: UPROT, numeric: false, values: {LBSPEC: {assign: URINE}}}
        variables:
          - {name: USUBJID, label: Unique Subject Identifier, derive: {name: compute_usubjid}}
          - {name: LBSEQ, label: Sequence Number, type: integer, derive: {name: compute_seq, args: {order: [LBREFID, LBTESTCD]}}}
          - {name: LBREFID, label: Specimen ID, source: cm.LINE}
          - {name: LBTESTCD, label: Test Short Name}
          - {name: LBTEST, label: Test Name}
          - {name: LBORRES, label: Result in Original Units}
          - {name: LBORRESU, label: Original Units}
          - {name: LBSTRESC, label: Character Result in Std Format}
          - {name: LBSTRESN, label: Numeric Result in Standard Units, type: float}
          - {name: LBSTRESU, label: Standard Units}
          - {name: LBSPEC, label: Specimen Type, assign: BLOOD}
        """))
    run = map_study(load_study(tmp_path))
    lb = run.results["LB"].data
    assert lb.drop(columns=["USUBJID", "LBSTRESN"]).values.tolist() == [
        [1.0, "1", "HGB", "Hemoglobin", "13.5", "g/dL", "13.5", "g/dL", "BLOOD"],
        [2.0, "1", "PROT", "Protein", "Negative", "", "Negative", "", "URINE"],
        [3.0, "2", "PROT", "Protein", "Trace", "", "Trace", "", "URINE"],
    ]
    assert lb["LBSTRESN"].tolist()[0] == 13.5 and lb["LBSTRESN"].isna().tolist() == [False, True, True]
