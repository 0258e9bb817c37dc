"""The embedded study's define.xml files and Dataset-JSON files, against the official CDISC schemas
(Define-XML 2.1 XSD, Dataset-JSON 1.1 JSON schema; copies in tests/data/schemas/) and against
the data they describe."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from tlfgen.lineage.define_content import compute_core, ct_binding, parameter_variable
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
NS = {"o": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
STAGES = ("sdtm", "adam")


@pytest.fixture(scope="module")
def defines(embedded_run) -> dict[str, etree._ElementTree]:
    study, _ = embedded_run
    return {stage: etree.parse(str(study.root / stage / "define.xml")) for stage in STAGES}


@pytest.fixture(scope="module")
def datasets(embedded_run) -> dict[str, dict[str, dict]]:
    """stage -> dataset name -> Dataset-JSON document."""
    study, _ = embedded_run
    return {stage: {p.stem.upper(): json.loads(p.read_text(encoding="utf-8"))
                    for p in sorted((study.root / stage).glob("*.json"))} for stage in STAGES}


def _items(tree) -> dict[str, etree._Element]:
    return {i.get("OID"): i for i in tree.iterfind(".//o:ItemDef", NS)}


def _missing(doc: dict, name: str) -> int:
    k = [c["name"] for c in doc["columns"]].index(name)
    return sum(1 for row in doc["rows"] if row[k] is None or row[k] == "")


def _meta(group, items) -> DatasetMetadata:
    """Enough of a dataset's metadata (from define.xml) for the module's own classifiers."""
    variables = tuple(VariableMetadata(items[r.get("ItemOID")].get("Name"), "", "text")
                      for r in group.iterfind("o:ItemRef", NS))
    standard = "ADaMIG 1.3" if group.get("Purpose") == "Analysis" else "SDTMIG 3.4"
    return DatasetMetadata(group.get("Name"), "", "", group.find("def:Class", NS).get("Name"),
                           variables=variables, standard=standard)


# ---------------------------------------------------------------- schemas


def test_1_both_define_files_are_valid_against_the_define_xml_2_1_xsd(defines) -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "define-xml-2.1" / "cdisc-define-2.1" / "define2-1-0.xsd")))
    for stage, tree in defines.items():
        assert schema.validate(tree), (stage, [str(e) for e in schema.error_log][:5])


def test_2_every_dataset_json_is_valid_against_the_v1_1_schema(datasets) -> None:
    schema = json.loads((SCHEMAS / "dataset-json-1.1" / "dataset.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    count = 0
    for stage, docs in datasets.items():
        for name, doc in docs.items():
            errors = [e.message for e in validator.iter_errors(doc)]
            assert errors == [], (stage, name, errors[:3])
            count += 1
    assert count == 25  # 21 SDTM (16 domains + 5 SUPP--) and 4 ADaM datasets


# ---------------------------------------------------------------- content


def test_3_ct_standard_declared_and_cdisc_codelists_point_at_it(defines) -> None:
    for tree in defines.values():
        ct = tree.findall(".//def:Standard[@Type='CT']", NS)
        assert [(s.get("Name"), s.get("PublishingSet"), s.get("Version")) for s in ct] == [
            ("CDISC/NCI", "SDTM", "2024-09-27")]
        for codelist in tree.iterfind(".//o:CodeList", NS):
            coded = codelist.find("o:Alias[@Context='nci:ExtCodeID']", NS) is not None
            assert (codelist.get("{%s}StandardOID" % NS["def"]) == ct[0].get("OID")) == coded, codelist.get("OID")
            assert (codelist.get("{%s}IsNonStandard" % NS["def"]) == "Yes") == (not coded), codelist.get("OID")
    sex = defines["sdtm"].find(".//o:CodeList[@OID='CL.SEX']", NS)
    assert [(i.get("CodedValue"), i.find("o:Alias", NS).get("Name")) for i in sex.iterfind("o:CodeListItem", NS)] == [
        ("M", "C20197"), ("F", "C16576")]  # the CDISC codes of Sex (C66731)


def test_4_every_ct_bound_variable_has_a_codelist(defines, datasets) -> None:
    expected = {  # the examples, by name
        "adam": {("ADRS", "PARAMCD"), ("ADRS", "AVALC"), ("ADRS", "ANL01FL"), ("ADSL", "SEX"), ("ADSL", "RACE"),
                 ("ADSL", "SAFFL"), ("ADSL", "FASFL"), ("ADSL", "ITTFL"), ("ADTTE", "PARAMCD"), ("ADAE", "TRTEMFL")},
        "sdtm": {("QS", "QSTESTCD"), ("RS", "RSTESTCD"), ("SC", "SCTESTCD"), ("TR", "TRTESTCD"), ("TU", "TUTESTCD"),
                 ("DM", "SEX"), ("DM", "RACE"), ("AE", "AEDECOD"), ("AE", "EPOCH"), ("SUPPAE", "QNAM"),
                 ("TS", "TSPARMCD")},
    }
    for stage, tree in defines.items():
        items = _items(tree)
        bound, with_codelist = set(), set()
        for group in tree.iterfind(".//o:ItemGroupDef", NS):
            meta = _meta(group, items)
            for ref in group.iterfind("o:ItemRef", NS):
                item = items[ref.get("ItemOID")]
                name = item.get("Name")
                if ct_binding(meta, name) and _missing(datasets[stage][meta.name], name) < \
                        datasets[stage][meta.name]["records"]:
                    bound.add((meta.name, name))
                if item.find("o:CodeListRef", NS) is not None:
                    with_codelist.add((meta.name, name))
        assert expected[stage] <= bound
        assert sorted(bound - with_codelist) == [], stage


def test_5_every_parameterised_dataset_has_value_level_metadata(defines) -> None:
    expected = {"sdtm": {"QS", "RS", "SC", "TR", "TU", "TS", "SUPPAE", "SUPPCM", "SUPPDM", "SUPPEX", "SUPPPR"},
                "adam": {"ADRS", "ADTTE"}}
    for stage, tree in defines.items():
        items = _items(tree)
        clauses = {w.get("OID"): w for w in tree.iterfind(".//def:WhereClauseDef", NS)}
        parameterised = set()
        for group in tree.iterfind(".//o:ItemGroupDef", NS):
            meta = _meta(group, items)
            param = parameter_variable(meta)
            if param is None:
                continue
            parameterised.add(meta.name)
            lists = [items[r.get("ItemOID")].find("def:ValueListRef", NS) for r in group.iterfind("o:ItemRef", NS)]
            oids = [v.get("ValueListOID") for v in lists if v is not None]
            assert oids, meta.name
            for oid in oids:  # every row is restricted by the parameter variable of this dataset
                for ref in tree.find(f".//def:ValueListDef[@OID='{oid}']", NS).iterfind("o:ItemRef", NS):
                    clause = clauses[ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")]
                    check = clause.find("o:RangeCheck", NS)
                    assert items[check.get("{%s}ItemOID" % NS["def"])].get("Name") == param
        assert parameterised == expected[stage]
    adrs_avalc = {r.get("ItemOID") for r in defines["adam"].find(".//def:ValueListDef[@OID='VL.ADRS.AVALC']", NS)}
    assert {"IT.ADRS.AVALC.OVR", "IT.ADRS.AVALC.BOR", "IT.ADRS.AVALC.ORR"} <= adrs_avalc


def test_6_mandatory_agrees_with_the_data_and_the_ig(defines, datasets) -> None:
    for stage, tree in defines.items():
        items = _items(tree)
        for group in tree.iterfind(".//o:ItemGroupDef", NS):
            meta = _meta(group, items)
            doc = datasets[stage][meta.name]
            core = compute_core(meta)
            for ref in group.iterfind("o:ItemRef", NS):
                name = items[ref.get("ItemOID")].get("Name")
                if ref.get("Mandatory") == "Yes":
                    assert _missing(doc, name) == 0, (meta.name, name)
                if core.get(name) == "Req":
                    assert ref.get("Mandatory") == "Yes", (meta.name, name)
    adrs = {items.get("Name"): ref.get("Mandatory") for ref in defines["adam"].iterfind(
        ".//o:ItemGroupDef[@Name='ADRS']/o:ItemRef", NS) for items in [_items(defines["adam"])[ref.get("ItemOID")]]}
    assert adrs["ADT"] == "No" and adrs["SRCSEQ"] == "No" and adrs["PARAMCD"] == "Yes"


def test_7_a_method_for_every_derived_variable_and_none_for_others(defines) -> None:
    for tree in defines.values():
        items = _items(tree)
        methods = {m.get("OID") for m in tree.iterfind(".//o:MethodDef", NS)}
        for ref in tree.iterfind(".//o:ItemRef", NS):
            origin = items[ref.get("ItemOID")].find("def:Origin", NS).get("Type")
            method = ref.get("MethodOID")
            assert (method is not None) == (origin == "Derived"), ref.get("ItemOID")
            assert method is None or method in methods


def test_8_origins_per_define_xml_2_1(defines) -> None:
    for tree in defines.values():
        for origin in tree.iterfind(".//def:Origin", NS):
            kind = origin.get("Type")
            assert kind in ("Collected", "Derived", "Assigned", "Protocol", "Predecessor")
            if kind == "Collected":
                assert origin.get("Source") == "Investigator"
            if kind == "Predecessor":
                assert origin.find("o:Description/o:TranslatedText", NS).text
    item = _items(defines["sdtm"])["IT.AE.AETERM"]
    assert item.find("def:Origin/o:Description/o:TranslatedText", NS).text == "raw ae.csv AETERM"
    item = _items(defines["adam"])["IT.ADRS.USUBJID"]
    assert item.find("def:Origin/o:Description/o:TranslatedText", NS).text == "adam.ADSL.USUBJID"


def test_9_oids_agree_between_define_xml_and_dataset_json(defines, datasets) -> None:
    for stage, tree in defines.items():
        study = tree.find("o:Study", NS)
        mdv = study.find("o:MetaDataVersion", NS)
        groups = {g.get("OID"): g for g in mdv.iterfind("o:ItemGroupDef", NS)}
        for name, doc in datasets[stage].items():
            assert (doc["studyOID"], doc["metaDataVersionOID"], doc["metaDataRef"]) == (
                study.get("OID"), mdv.get("OID"), "define.xml")
            refs = [r.get("ItemOID") for r in groups[doc["itemGroupOID"]].iterfind("o:ItemRef", NS)]
            assert [c["itemOID"] for c in doc["columns"]] == refs
    assert defines["sdtm"].find("o:Study/o:MetaDataVersion", NS).get("OID") == "MDV.NCT04471480.SDTM"
    assert defines["adam"].find("o:Study/o:MetaDataVersion", NS).get("OID") == "MDV.NCT04471480.ADAM"


def test_10_stylesheet_renders_the_document(embedded_run, defines) -> None:
    study, _ = embedded_run
    for stage, tree in defines.items():
        pi = tree.getroot().getprevious()
        assert pi.target == "xml-stylesheet" and pi.get("href") == "define2-1.xsl"
        transform = etree.XSLT(etree.parse(str(study.root / stage / "define2-1.xsl")))
        html = str(transform(tree))
        assert html.count("<table") >= 10
        for group in tree.iterfind(".//o:ItemGroupDef", NS):
            assert f'id="{group.get("OID")}"' in html
    html = str(etree.XSLT(etree.parse(str(study.root / "adam" / "define2-1.xsl")))(defines["adam"]))
    assert 'PARAMCD EQ "BOR"' in html


def test_11_creation_time_is_source_date_epoch_when_set(defines, datasets) -> None:
    # the suite runs with SOURCE_DATE_EPOCH=1700000000 (tests/conftest.py)
    for stage, tree in defines.items():
        assert tree.getroot().get("CreationDateTime") == "2023-11-14T22:13:20"
        assert {d["datasetJSONCreationDateTime"] for d in datasets[stage].values()} == {"2023-11-14T22:13:20"}
