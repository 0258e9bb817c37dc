"""Tests for tlfgen.lineage.define: Define-XML 2.1 structure, completeness, references."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tlfgen.errors import DataError
from tlfgen.io.metadata import (
    CodelistItem,
    CodelistMetadata,
    DatasetMetadata,
    MethodMetadata,
    StudyMetadata,
    ValueLevelMetadata,
    VariableMetadata,
)
from tlfgen.lineage.define import build_define_xml, make_oid, write_define_xml

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"
XLINK = "{http://www.w3.org/1999/xlink}"

CL_NY = CodelistMetadata("CL.NY", "No Yes Response", items=(CodelistItem("N"), CodelistItem("Y")), nci_code="C66742")
CL_SEX = CodelistMetadata("CL.SEX", "Sex", items=(CodelistItem("F", "Female"), CodelistItem("M", "Male")))
CL_PARAMCD = CodelistMetadata("CL.PARAMCD.ADTTE", "ADTTE Parameter Code",
                              items=(CodelistItem("OS", "Overall Survival"), CodelistItem("PFS")))
MT_AVAL_PFS = MethodMetadata("MT.ADTTE.AVAL.PFS", "PFS days", "ADT - STARTDT + 1 for PARAMCD PFS")
MT_AVAL_OS = MethodMetadata("MT.ADTTE.AVAL.OS", "OS days", "ADT - STARTDT + 1 for PARAMCD OS")
MT_CNSR = MethodMetadata("MT.ADTTE.CNSR", "Censor", "0 for an event, 1 when censored")

DM = DatasetMetadata(
    name="DM", label="Demographics", structure="One record per subject", class_="SPECIAL PURPOSE",
    keys=("STUDYID", "USUBJID"), comment="Screen failures are not included.",
    variables=(
        VariableMetadata("STUDYID", "Study Identifier", "text", length=11, role="Identifier",
                         origin="Protocol", mandatory=True),
        VariableMetadata("USUBJID", "Unique Subject Identifier", "text", length=17, role="Identifier",
                         origin="Derived", source="STUDYID || '-' || SUBJID", mandatory=True),
        VariableMetadata("SEX", "Sex", "text", length=1, role="Record Qualifier", source="Investigator",
                         codelist=CL_SEX, comment="Collected as Male/Female, mapped to CT."),
        VariableMetadata("DTHFL", "Subject Death Flag", "text", length=1, codelist=CL_NY, origin="Derived"),
        VariableMetadata("BRTHDTC", "Date/Time of Birth", "date", length=10, source="raw dm.csv BRTHDAT"),
    ),
)
ADTTE = DatasetMetadata(
    name="ADTTE", label="Time-to-Event Analysis Dataset", structure="One record per subject per parameter",
    class_="BASIC DATA STRUCTURE", keys=("USUBJID", "PARAMCD"), standard="ADaMIG 1.3",
    variables=(
        VariableMetadata("USUBJID", "Unique Subject Identifier", "text", length=17, origin="Predecessor",
                         source="ADSL.USUBJID", mandatory=True),
        VariableMetadata("PARAMCD", "Parameter Code", "text", length=3, origin="Assigned", codelist=CL_PARAMCD,
                         mandatory=True),
        VariableMetadata("AVAL", "Analysis Value", "float", length=8, origin="Derived"),
        VariableMetadata("CNSR", "Censor", "integer", length=8, origin="Derived", method=MT_CNSR),
        VariableMetadata("ADT", "Analysis Date", "date", length=8, origin="Derived", display_format="DATE9."),
        VariableMetadata("DTHFL", "Subject Death Flag", "text", length=1, codelist=CL_NY, origin="Predecessor",
                         source="ADSL.DTHFL"),
    ),
    value_level=(
        ValueLevelMetadata("AVAL", "PARAMCD", "PFS", "Progression-free survival (days)", "integer", "Derived",
                           MT_AVAL_PFS),
        ValueLevelMetadata("AVAL", "PARAMCD", "OS", "Overall survival (days)", "integer", "Derived", MT_AVAL_OS),
    ),
)
STUDY = StudyMetadata("NCT04471480", "NCT04471480", "Camrelizumab + chemo +/- anlotinib in ESCC",
                      "NCT04471480 protocol", datasets=(DM, ADTTE))


@pytest.fixture(scope="module")
def root() -> ET.Element:
    return ET.fromstring(build_define_xml(STUDY))


def _mdv(root: ET.Element) -> ET.Element:
    return root.find(f"{ODM}Study/{ODM}MetaDataVersion")  # type: ignore[return-value]


def _oids(root: ET.Element, tag: str) -> list[str]:
    return [e.get("OID", "") for e in root.iter(tag)]


def test_header_and_global_variables(root: ET.Element) -> None:
    assert root.tag == f"{ODM}ODM"
    assert (root.get("ODMVersion"), root.get("FileType"), root.get(f"{DEF}Context")) == ("1.3.2", "Snapshot", "Submission")
    gv = root.find(f"{ODM}Study/{ODM}GlobalVariables")
    assert [(c.tag.removeprefix(ODM), c.text) for c in gv] == [  # type: ignore[union-attr]
        ("StudyName", "NCT04471480"),
        ("StudyDescription", "Camrelizumab + chemo +/- anlotinib in ESCC"),
        ("ProtocolName", "NCT04471480 protocol"),
    ]
    mdv = _mdv(root)
    assert mdv.get(f"{DEF}DefineVersion") == "2.1.0"
    assert [(s.get("OID"), s.get("Name"), s.get("Version")) for s in mdv.iter(f"{DEF}Standard")] == [
        ("STD.SDTMIG.3.4", "SDTMIG", "3.4"), ("STD.ADaMIG.1.3", "ADaMIG", "1.3")]


def test_metadata_version_child_order(root: ET.Element) -> None:
    order = []
    for child in _mdv(root):
        if not order or order[-1] != child.tag:
            order.append(child.tag)
    assert order == [f"{DEF}Standards", f"{DEF}ValueListDef", f"{DEF}WhereClauseDef", f"{ODM}ItemGroupDef",
                     f"{ODM}ItemDef", f"{ODM}CodeList", f"{ODM}MethodDef", f"{DEF}CommentDef"]


def test_every_dataset_and_variable_listed(root: ET.Element) -> None:
    groups = {g.get("Name"): g for g in root.iter(f"{ODM}ItemGroupDef")}
    assert list(groups) == ["DM", "ADTTE"]
    for ds in STUDY.datasets:
        refs = [r.get("ItemOID") for r in groups[ds.name].findall(f"{ODM}ItemRef")]
        assert refs == [f"IT.{ds.name}.{v.name}" for v in ds.variables]
    item_names = [(i.get("OID"), i.get("Name")) for i in root.iter(f"{ODM}ItemDef")]
    assert item_names == [
        ("IT.DM.STUDYID", "STUDYID"), ("IT.DM.USUBJID", "USUBJID"), ("IT.DM.SEX", "SEX"),
        ("IT.DM.DTHFL", "DTHFL"), ("IT.DM.BRTHDTC", "BRTHDTC"),
        ("IT.ADTTE.USUBJID", "USUBJID"), ("IT.ADTTE.PARAMCD", "PARAMCD"), ("IT.ADTTE.AVAL", "AVAL"),
        ("IT.ADTTE.CNSR", "CNSR"), ("IT.ADTTE.ADT", "ADT"), ("IT.ADTTE.DTHFL", "DTHFL"),
        ("IT.ADTTE.AVAL.PFS", "AVAL"), ("IT.ADTTE.AVAL.OS", "AVAL"),
    ]


def test_oids_unique(root: ET.Element) -> None:
    oids = [e.get("OID") for e in root.iter() if e.get("OID") is not None]
    assert len(oids) == len(set(oids)) == 30


def test_every_reference_resolves(root: ET.Element) -> None:
    item_defs = set(_oids(root, f"{ODM}ItemDef"))
    pairs = [
        (f"{ODM}ItemRef", "ItemOID", item_defs),
        (f"{ODM}CodeListRef", "CodeListOID", set(_oids(root, f"{ODM}CodeList"))),
        (f"{ODM}ItemRef", "MethodOID", set(_oids(root, f"{ODM}MethodDef"))),
        (f"{DEF}WhereClauseRef", "WhereClauseOID", set(_oids(root, f"{DEF}WhereClauseDef"))),
        (f"{DEF}ValueListRef", "ValueListOID", set(_oids(root, f"{DEF}ValueListDef"))),
        (f"{ODM}RangeCheck", f"{DEF}ItemOID", item_defs),
        (f"{ODM}ItemGroupDef", f"{DEF}StandardOID", set(_oids(root, f"{DEF}Standard"))),
        (f"{ODM}ItemGroupDef", f"{DEF}CommentOID", set(_oids(root, f"{DEF}CommentDef"))),
        (f"{ODM}ItemDef", f"{DEF}CommentOID", set(_oids(root, f"{DEF}CommentDef"))),
    ]
    counts = []
    for tag, attr, targets in pairs:
        refs = [e.get(attr) for e in root.iter(tag) if e.get(attr) is not None]
        assert set(refs) <= targets, (tag, attr, set(refs) - targets)
        counts.append(len(refs))
    assert counts == [13, 4, 3, 2, 1, 2, 2, 1, 1]
    leaves = {leaf.get("ID"): leaf.get(f"{XLINK}href") for leaf in root.iter(f"{DEF}leaf")}
    assert leaves == {"LF.DM": "dm.xpt", "LF.ADTTE": "adtte.xpt"}
    assert {g.get(f"{DEF}ArchiveLocationID") for g in root.iter(f"{ODM}ItemGroupDef")} == set(leaves)
    # every defined ItemDef is used by exactly one ItemRef
    assert sorted(e.get("ItemOID") for e in root.iter(f"{ODM}ItemRef")) == sorted(item_defs)


def test_item_group_attributes(root: ET.Element) -> None:
    dm, adtte = root.iter(f"{ODM}ItemGroupDef")
    assert dict(dm.attrib) == {
        "OID": "IG.DM", "Domain": "DM", "Name": "DM", "Repeating": "No", "IsReferenceData": "No",
        "SASDatasetName": "DM", f"{DEF}Structure": "One record per subject", "Purpose": "Tabulation",
        f"{DEF}StandardOID": "STD.SDTMIG.3.4", f"{DEF}ArchiveLocationID": "LF.DM", f"{DEF}CommentOID": "COM.DM",
    }
    assert adtte.get("Purpose") == "Analysis" and adtte.get("Domain") is None
    assert adtte.find(f"{DEF}Class").get("Name") == "BASIC DATA STRUCTURE"  # type: ignore[union-attr]
    refs = [dict(r.attrib) for r in adtte.findall(f"{ODM}ItemRef")]
    assert refs[0] == {"ItemOID": "IT.ADTTE.USUBJID", "OrderNumber": "1", "Mandatory": "Yes", "KeySequence": "1"}
    assert refs[3] == {"ItemOID": "IT.ADTTE.CNSR", "OrderNumber": "4", "Mandatory": "No",
                       "MethodOID": "MT.ADTTE.CNSR"}
    assert dict(dm.findall(f"{ODM}ItemRef")[2].attrib) == {
        "ItemOID": "IT.DM.SEX", "OrderNumber": "3", "Mandatory": "No", "Role": "Record Qualifier"}


def test_item_def_exact_xml() -> None:
    text = build_define_xml(STUDY).decode()
    assert (
        '      <ItemDef OID="IT.DM.SEX" Name="SEX" DataType="text" Length="1" SASFieldName="SEX" '
        'def:CommentOID="COM.DM.SEX">\n'
        '        <Description>\n'
        '          <TranslatedText xml:lang="en">Sex</TranslatedText>\n'
        '        </Description>\n'
        '        <CodeListRef CodeListOID="CL.SEX" />\n'
        '        <def:Origin Type="Collected" Source="Investigator" />\n'
        '      </ItemDef>\n'
    ) in text
    assert (
        '      <ItemDef OID="IT.ADTTE.ADT" Name="ADT" DataType="integer" Length="8" SASFieldName="ADT" '
        'def:DisplayFormat="DATE9.">\n'
    ) in text


def test_origin_source_text_goes_to_description(root: ET.Element) -> None:
    usubjid = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("OID") == "IT.ADTTE.USUBJID")
    origin = usubjid.find(f"{DEF}Origin")
    assert origin.attrib == {"Type": "Predecessor"}  # type: ignore[union-attr]
    assert origin.findtext(f"{ODM}Description/{ODM}TranslatedText") == "ADSL.USUBJID"  # type: ignore[union-attr]


def test_value_level_metadata(root: ET.Element) -> None:
    [vl] = root.iter(f"{DEF}ValueListDef")
    assert vl.get("OID") == "VL.ADTTE.AVAL"
    rows = [(r.get("ItemOID"), r.get("MethodOID"), r.find(f"{DEF}WhereClauseRef").get("WhereClauseOID"))  # type: ignore[union-attr]
            for r in vl.findall(f"{ODM}ItemRef")]
    assert rows == [("IT.ADTTE.AVAL.PFS", "MT.ADTTE.AVAL.PFS", "WC.ADTTE.PARAMCD.PFS"),
                    ("IT.ADTTE.AVAL.OS", "MT.ADTTE.AVAL.OS", "WC.ADTTE.PARAMCD.OS")]
    wcs = {w.get("OID"): w.find(f"{ODM}RangeCheck") for w in root.iter(f"{DEF}WhereClauseDef")}
    check = wcs["WC.ADTTE.PARAMCD.PFS"]
    assert check.attrib == {"SoftHard": "Soft", f"{DEF}ItemOID": "IT.ADTTE.PARAMCD", "Comparator": "EQ"}  # type: ignore[union-attr]
    assert check.findtext(f"{ODM}CheckValue") == "PFS"  # type: ignore[union-attr]
    aval = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("OID") == "IT.ADTTE.AVAL")
    assert aval.find(f"{DEF}ValueListRef").get("ValueListOID") == "VL.ADTTE.AVAL"  # type: ignore[union-attr]


def test_codelists(root: ET.Element) -> None:
    lists = {c.get("OID"): c for c in root.iter(f"{ODM}CodeList")}
    assert list(lists) == ["CL.NY", "CL.PARAMCD.ADTTE", "CL.SEX"]  # by OID; CL.NY shared by DM and ADTTE, once
    sex = [(i.get("CodedValue"), i.findtext(f"{ODM}Decode/{ODM}TranslatedText"))
           for i in lists["CL.SEX"].findall(f"{ODM}CodeListItem")]
    assert sex == [("F", "Female"), ("M", "Male")]
    assert [i.get("CodedValue") for i in lists["CL.NY"].findall(f"{ODM}EnumeratedItem")] == ["N", "Y"]
    assert lists["CL.NY"].find(f"{ODM}Alias").attrib == {"Context": "nci:ExtCodeID", "Name": "C66742"}  # type: ignore[union-attr]
    paramcd = [(i.get("CodedValue"), i.findtext(f"{ODM}Decode/{ODM}TranslatedText"))
               for i in lists["CL.PARAMCD.ADTTE"].findall(f"{ODM}CodeListItem")]
    assert paramcd == [("OS", "Overall Survival"), ("PFS", "PFS")]


def test_methods_and_comments(root: ET.Element) -> None:
    methods = [(m.get("OID"), m.get("Type"), m.findtext(f"{ODM}Description/{ODM}TranslatedText"))
               for m in root.iter(f"{ODM}MethodDef")]
    assert methods == [
        ("MT.ADTTE.AVAL.PFS", "Computation", "ADT - STARTDT + 1 for PARAMCD PFS"),
        ("MT.ADTTE.AVAL.OS", "Computation", "ADT - STARTDT + 1 for PARAMCD OS"),
        ("MT.ADTTE.CNSR", "Computation", "0 for an event, 1 when censored"),
    ]
    comments = [(c.get("OID"), c.findtext(f"{ODM}Description/{ODM}TranslatedText"))
                for c in root.iter(f"{DEF}CommentDef")]
    assert comments == [("COM.DM", "Screen failures are not included."),
                        ("COM.DM.SEX", "Collected as Male/Female, mapped to CT.")]


def test_deterministic_and_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    first = write_define_xml(STUDY, tmp_path / "define.xml").read_bytes()
    assert first == build_define_xml(STUDY)
    assert first.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                            b'<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>\n'
                            b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
                            b'xmlns:def="http://www.cdisc.org/ns/def/v2.1" xmlns:xlink="http://www.w3.org/1999/xlink" '
                            b'ODMVersion="1.3.2" FileType="Snapshot" FileOID="DEF.NCT04471480" '
                            b'CreationDateTime="1970-01-01T00:00:00"')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["define.xml", "define2-1.xsl"]


def test_make_oid_replaces_bad_characters() -> None:
    assert make_oid("IT", "ADRS", "AVAL", ">=10 %") == "IT.ADRS.AVAL.__10__"


def test_conflicting_codelists_rejected() -> None:
    other = dataclasses.replace(CL_SEX, items=(CodelistItem("U", "Unknown"),))
    dm = dataclasses.replace(DM, variables=DM.variables + (
        VariableMetadata("SEXX", "Sex again", "text", length=1, codelist=other),))
    with pytest.raises(DataError, match=r"codelist CL.SEX is defined twice with different content \(second at DM.SEXX\)"):
        build_define_xml(dataclasses.replace(STUDY, datasets=(dm,)))


def test_value_level_on_unknown_variable_rejected() -> None:
    bad = dataclasses.replace(ADTTE, value_level=(
        ValueLevelMetadata("AVALC", "PARAMCD", "BOR", "Best response", "text", "Derived"),))
    with pytest.raises(DataError, match="value-level row AVALC where PARAMCD = 'BOR' names 'AVALC'"):
        build_define_xml(dataclasses.replace(STUDY, datasets=(bad,)))


def test_colliding_oids_rejected() -> None:
    bad = dataclasses.replace(ADTTE, value_level=(
        ValueLevelMetadata("AVAL", "PARAMCD", "A B", "x", "float", "Derived"),
        ValueLevelMetadata("AVAL", "PARAMCD", "A_B", "y", "float", "Derived"),))
    with pytest.raises(DataError, match=r"OID WC.ADTTE.PARAMCD.A_B is used by two where clauses \('A B' and 'A_B'\)"):
        build_define_xml(dataclasses.replace(STUDY, datasets=(bad,)))


def test_bad_context_rejected() -> None:
    with pytest.raises(DataError, match="context 'Draft' must be 'Submission' or 'Other'"):
        build_define_xml(STUDY, context="Draft")
