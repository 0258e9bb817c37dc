"""The SDTM stage end to end on a small study (tlfgen.sdtm.run): outputs, findings, reconciliation."""

import json
import xml.etree.ElementTree as ET

import pyreadstat
import pytest
from sdtm_helpers import RAW, S, make_study

from tlfgen.io.xpt_checks import check_xpt_v5
from tlfgen.sdtm.metadata import create_domain_metadata
from tlfgen.sdtm.run import map_study, run_sdtm
from tlfgen.sdtm.write import read_lineage
from tlfgen.spec.check import load_stage_specs

DOMAINS = ["AE", "CM", "DM", "DS", "EX", "MH", "PR", "QS", "RS", "SC", "SV", "TA", "TE", "TR", "TS", "TU"]


def assert_balanced(run):
    for count in run.counts:
        assert count.rows_in == count.rows_out + count.rows_rejected, count


def findings_of(run, rule):
    return [f for f in run.findings if f.rule == rule]


def test_clean_study_maps_every_domain_with_expected_counts(small_study):
    run = map_study(small_study)
    assert sorted(run.results) == DOMAINS
    sizes = {n: len(r.data) for n, r in run.results.items()}
    assert sizes == {"AE": 3, "CM": 1, "DM": 3, "DS": 10, "EX": 5, "MH": 2, "PR": 1, "QS": 5, "RS": 4,
                     "SC": 30, "SV": 10, "TA": 6, "TE": 4, "TR": 7, "TS": 44, "TU": 4}
    assert [f.rule for f in run.findings] == ["DATE-PARTIAL", "DATE-PARTIAL", "DATE-PARTIAL", "RAW-FILE-NO-ROWS"]
    assert_balanced(run)
    dm = run.results["DM"].data.set_index("SUBJID")
    assert dm.loc["01001", ["RFSTDTC", "RFENDTC", "RFICDTC", "SEX", "ARMCD", "ACTARMCD"]].tolist() == [
        "2020-08-05", "2020-08-26", "2020-08-01", "M", "TCAC", "TCAC"]
    assert dm.loc["01002", ["DTHDTC", "DTHFL", "AGE", "SEX"]].tolist() == ["2021-03-01", "Y", 65.0, "F"]
    assert dm.loc["01003", "ACTARMCD"] == "NOTTRT"
    ae = run.results["AE"].data
    assert ae[["AESEQ", "AEREL", "AESTDTC"]].values.tolist() == [
        [1.0, "RELATED", "2020-08-10"], [2.0, "NOT RELATED", "2020-09"], [1.0, "RELATED", "2020-09-20"]]
    assert ae["AESTDY"].fillna(0).tolist() == [6.0, 0.0, 7.0]


def test_ae_relationship_columns_go_to_suppae(small_study):
    supp = map_study(small_study).results["AE"].supp
    rows = supp[(supp.USUBJID == f"{S.split(',')[0]}-01002")]
    assert dict(zip(rows.QNAM, rows.QVAL)) == {"AEONGO": "N", "AERELANL": "NOT APPLICABLE", "AERELCAM": "NOT RELATED",
                                               "AERELPLT": "NOT RELATED", "AERELTAX": "RELATED"}


def test_run_writes_conforming_files_that_read_back(small_study):
    result = run_sdtm(small_study)
    folder = small_study.sdtm_dir
    specs = load_stage_specs(small_study, "sdtm")
    run = map_study(small_study)
    for name in DOMAINS:
        df, meta = pyreadstat.read_xport(str(folder / f"{name.lower()}.xpt"))
        expected = run.results[name].data
        assert len(df) == len(expected)
        assert check_xpt_v5(expected, create_domain_metadata(specs.domains[name], specs)) == []
        for col in expected.columns:
            if expected[col].dtype == object:
                assert df[col].tolist() == expected[col].tolist(), (name, col)
            else:
                assert df[col].fillna(-1).tolist() == expected[col].fillna(-1).tolist(), (name, col)
    tree = ET.parse(folder / "define.xml")
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    groups = {g.get("Name") for g in tree.getroot().iter(f"{{{ns['odm']}}}ItemGroupDef")}
    assert groups == set(DOMAINS) | {"SUPPAE", "SUPPDM", "SUPPEX", "SUPPPR", "SUPPCM"}
    items = {i.get("OID") for i in tree.getroot().iter(f"{{{ns['odm']}}}ItemDef")}
    assert "IT.AE.AETERM" in items and "IT.DM.RFSTDTC" in items
    doc = json.loads((folder / "lineage" / "ae.json").read_text())
    assert (doc["version"], doc["domain"], doc["key"], doc["files"]) == (1, "AE", ["USUBJID", "AESEQ"], ["raw/ae.csv"])
    assert doc["records"][0] == ["NCT04471480-01001", 1, [[0, 1]]]
    dm = read_lineage(folder / "lineage" / "dm.json")
    assert dm[("NCT04471480-01002",)] == [("raw/dm.csv", 2), ("raw/dth.csv", 1), ("raw/ic.csv", 2)]
    assert (small_study.outputs_dir / "qc" / "findings.xlsx").is_file()
    assert result.errors == 0


def test_outputs_are_byte_identical_on_a_second_run(small_study):
    run_sdtm(small_study)
    folder = small_study.sdtm_dir
    first = {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    report = (small_study.outputs_dir / "qc" / "findings.xlsx").read_bytes()
    run_sdtm(small_study)
    assert first == {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert report == (small_study.outputs_dir / "qc" / "findings.xlsx").read_bytes()


def broken(tmp_path, file, old, new):
    return make_study(tmp_path / "study", {file: RAW[file].replace(old, new)})


def test_impossible_date(tmp_path):
    run = map_study(broken(tmp_path, "ae.csv", "20 AUG 2020", "31 FEB 2021"))
    [f] = findings_of(run, "DATE-INVALID")
    assert (f.severity, f.file, f.row, f.column, f.value, f.message, f.action) == (
        "ERROR", "raw/ae.csv", 2, "AEENDAT", "31 FEB 2021", "'31 FEB 2021' is not a valid date", "set to blank")
    assert run.results["AE"].data["AEENDTC"].tolist()[0] == ""
    assert_balanced(run)


def test_unknown_subject(tmp_path):
    run = map_study(make_study(tmp_path / "study", {"fu.csv": RAW["fu.csv"] + f"{S},01999,FU01,0,01 JAN 2021,Alive\n"}))
    [f] = findings_of(run, "RAW-UNKNOWN-SUBJECT")
    assert (f.file, f.row, f.message, f.usubjid) == ("raw/fu.csv", 4, "SUBJID '01999' is not on dm.csv or ic.csv",
                                                     "NCT04471480-01999")
    count = next(c for c in run.counts if c.name == "raw/fu.csv")
    assert (count.rows_in, count.rows_out, count.rejected) == (3, 2, {"rejected: unknown subject": 1})
    assert_balanced(run)


def test_unmapped_code(tmp_path):
    run = map_study(broken(tmp_path, "ae.csv", "Drug interrupted,Recovered/resolved", "Drug interrupted,resolved?"))
    [f] = findings_of(run, "CT-UNMAPPED")
    assert (f.row, f.column, f.value, f.message) == (4, "AEOUT", "resolved?", "'resolved?' is not in codelist OUT")
    assert_balanced(run)


def test_duplicate_record(tmp_path):
    line = RAW["ae.csv"].splitlines()[1]
    run = map_study(make_study(tmp_path / "study", {"ae.csv": RAW["ae.csv"].replace(line, line + "\n" + line)}))
    [f] = findings_of(run, "RAW-DUPLICATE-RECORD")
    assert (f.row, f.message) == (3, "line 3 repeats line 2 (same values in every field but RECPOS)")
    assert len(run.results["AE"].data) == 3
    count = next(c for c in run.counts if c.name == "raw/ae.csv")
    assert (count.rows_in, count.rows_out, count.rejected) == (4, 3, {"rejected: duplicate record": 1})


def test_missing_column(tmp_path):
    text = "\n".join(",".join(line.split(",")[:-1]) for line in RAW["ae.csv"].splitlines()) + "\n"
    run = map_study(make_study(tmp_path / "study", {"ae.csv": text}))
    [f] = findings_of(run, "RAW-COLUMN-MISSING")
    assert (f.file, f.column, f.message) == ("raw/ae.csv", "AEOUT",
                                             "declared column AEOUT is missing from the file; its values are blank")
    assert run.results["AE"].data["AEOUT"].tolist() == ["", "", ""]
    assert_balanced(run)


def test_latin1_file(tmp_path):
    text = RAW["mh.csv"].replace("Hypertension", "Hypertension art\u00e9rielle").encode("latin-1")
    run = map_study(make_study(tmp_path / "study", {"mh.csv": text}))
    assert [f.message for f in findings_of(run, "RAW-ENCODING")] == [
        "line 2 is not UTF-8 (byte 0xE9); read as Windows-1252/Latin-1"]
    [f] = findings_of(run, "TEXT-NON-ASCII")
    assert (f.row, f.action) == (2, "transliterated to ASCII")
    assert run.results["MH"].data["MHTERM"].tolist()[0] == "Hypertension arterielle"
    assert_balanced(run)


def test_empty_file(tmp_path):
    run = map_study(make_study(tmp_path / "study", {"cm.csv": ""}))
    assert [(f.severity, f.file, f.message) for f in findings_of(run, "RAW-FILE-EMPTY")] == [
        ("ERROR", "raw/cm.csv", "file is empty (no header row)")]
    assert len(run.results["CM"].data) == 0
    assert_balanced(run)


def test_text_of_300_bytes_is_split_into_supp(tmp_path):
    long = ("severe " * 43).strip()  # 300 characters
    assert len(long) == 300
    run = map_study(broken(tmp_path, "ae.csv", ",rash,", f",{long},"))
    [f] = findings_of(run, "TEXT-SPLIT")
    assert (f.row, f.value, f.message) == (2, "300", "AETERM is 300 bytes, more than 200")
    ae = run.results["AE"].data
    assert len(ae["AETERM"].iloc[0]) <= 200
    supp = run.results["AE"].supp
    rest = supp[supp.QNAM == "AETERM1"]["QVAL"].tolist()
    assert [ae["AETERM"].iloc[0] + " " + rest[0]] == [long]
    assert_balanced(run)


def test_end_before_start_and_after_cutoff(tmp_path):
    run = map_study(broken(tmp_path, "ae.csv", "20 AUG 2020", "01 AUG 2020"))
    [f] = findings_of(run, "DATE-END-BEFORE-START")
    assert (f.row, f.message) == (2, "AEENDTC 2020-08-01 is before AESTDTC")
    run = map_study(broken(tmp_path / "b", "fu.csv", "29 DEC 2020", "29 DEC 2026"))
    [f] = findings_of(run, "DATE-AFTER-CUTOFF")
    assert (f.file, f.row, f.message) == ("raw/fu.csv", 2, "DSSTDTC 2026-12-29 is after the data cutoff 2025-04-12")


def test_missing_required_value(tmp_path):
    run = map_study(broken(tmp_path, "ae.csv", "No,2,No,,,,,,,Related", "No,,No,,,,,,,Related"))
    [f] = findings_of(run, "REQUIRED-MISSING")
    assert (f.file, f.row, f.column, f.message) == ("raw/ae.csv", 2, "AETOXGR", "AE.AETOXGR is required but blank")


def test_number_with_unit(tmp_path):
    run = map_study(broken(tmp_path, "tl.csv", "CT,20\n", "CT,20 mm\n"))
    [f] = findings_of(run, "NUMBER-UNIT")
    assert (f.file, f.row, f.value) == ("raw/tl.csv", 4, "20 mm")
    tr = run.results["TR"].data
    assert 20.0 in tr["TRSTRESN"].tolist()


@pytest.mark.parametrize("folder", ["TA01"])
def test_new_lesions_are_identified_once(tmp_path, folder):
    nl = RAW["nl.csv"] + f"{S},01001,{folder},1,20 SEP 2020,NEW01,Liver\n{S},01001,TA02,1,20 OCT 2020,NEW01,Liver\n"
    run = map_study(make_study(tmp_path / "study", {"nl.csv": nl}))
    tu = run.results["TU"].data
    assert tu[tu.TULNKID == "NEW01"][["TUORRES", "TUDTC"]].values.tolist() == [["NEW", "2020-09-20"]]
    lineage = run.results["TU"].lineage
    nl = lineage["files"].index("raw/nl.csv")
    assert [r[2] for r in lineage["records"] if r[2][0][0] == nl] == [((nl, 1), (nl, 2))]
    assert_balanced(run)


def _without_studyid(text: str) -> str:
    """A raw CSV text without its first column (STUDYID)."""
    return "".join(line.split(",", 1)[1] + "\n" for line in text.splitlines())


def test_an_export_without_studyid_maps_when_forms_yaml_says_so(tmp_path):
    """The issue's KeyError: 'STUDYID': declared as no study column, STUDYID is study.yaml's id."""
    study = make_study(tmp_path / "study", {name: _without_studyid(text) for name, text in RAW.items()})
    forms = study.specs_dir / "sdtm" / "forms.yaml"
    forms.write_text(forms.read_text().replace(
        "leading: [STUDYID, SITEID, SUBJID, FOLDER, RECPOS]",
        "leading: [SITEID, SUBJID, FOLDER, RECPOS]\nidentifiers: {study: null}"))
    run = map_study(study)
    assert set(run.results["DM"].data["STUDYID"]) == {"NCT04471480"}
    assert run.results["DM"].data["USUBJID"].tolist() == ["NCT04471480-01001", "NCT04471480-01002",
                                                         "NCT04471480-01003"]
    assert not [f for f in run.findings if f.rule in ("RAW-STUDYID", "RAW-COLUMN-EXTRA")]


def test_an_export_without_studyid_and_default_identifiers_is_a_data_error(tmp_path):
    from tlfgen.errors import DataError

    study = make_study(tmp_path / "study", {"cm.csv": _without_studyid(RAW["cm.csv"])})
    with pytest.raises(DataError, match="required column STUDYID is missing") as err:
        map_study(study)
    assert "forms.yaml: leading, identifiers" in err.value.hint
