"""Lineage layer: Define-XML 2.1 builder (dataset and variable metadata for submission).

Reads only ``StudyMetadata`` (io/metadata.py). Produces ODM 1.3.2 with the
Define-XML 2.1 extension (``def:`` = http://www.cdisc.org/ns/def/v2.1):

ODM > Study > GlobalVariables, MetaDataVersion > def:Standards,
def:ValueListDef*, def:WhereClauseDef*, ItemGroupDef*, ItemDef*, CodeList*,
MethodDef*, def:CommentDef* (the order Define-XML files use).

OIDs (shared with the Dataset-JSON writer): ``IG.<DS>``, ``IT.<DS>.<VAR>``,
value level ``IT.<DS>.<VAR>.<VALUE>``, ``VL.<DS>.<VAR>``,
``WC.<DS>.<WHEREVAR>.<VALUE>``, ``LF.<DS>``, ``COM.<DS>[.<VAR>]``,
``STD.<NAME>.<VERSION>``; codelists and methods keep the OIDs of their metadata.
Characters outside ``[A-Za-z0-9._-]`` in an OID become ``_``.

Conventions: a ``date``/``datetime`` variable *with* a display format is a
numeric SAS date (ADaM) and is written DataType="integer" with
def:DisplayFormat; without one it is ISO 8601 text (DataType="date").
``Length`` is written when the metadata has one; call
``tlfgen.io.xpt.complete_metadata`` first so it matches the XPT.
``def:Origin/@Source`` is set when ``source`` is one of Subject, Investigator,
Vendor, Sponsor; any other source text goes into ``def:Origin/Description``.

Origins (Define-XML 2.1 section 5.3.11.2): Collected with Source="Investigator" and the raw
field as description; Derived, Assigned and Protocol with Source="Sponsor"; Predecessor with
the predecessor variable as description. A MethodOID only on Derived items (and every Derived
item has one). Codelists with an NCI code point at the CT standard (def:StandardOID) and carry
the terms' codes (Alias nci:ExtCodeID); the others are def:IsNonStandard="Yes"; MedDRA and
ISO 3166 are ExternalCodeList. ``lineage/define_content.py`` completes the metadata from the
IG and the data (codelists, value level, Mandatory, methods) before it reaches this module.

The document points at the stylesheet ``define2-1.xsl`` (package data, written beside it) with
an xml-stylesheet processing instruction, so a browser shows it as HTML.

Deterministic apart from CreationDateTime: attributes in a fixed order (ElementTree keeps
insertion order), elements in metadata order; CreationDateTime is the time of writing, or
``SOURCE_DATE_EPOCH`` when set (``creation_timestamp``). The tests validate the output
against the Define-XML 2.1 XSD.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from importlib import resources
from pathlib import Path

from tlfgen.errors import DataError
from tlfgen.io.atomic import atomic_write_bytes
from tlfgen.io.metadata import (
    CodelistMetadata,
    CtStandard,
    DatasetMetadata,
    MethodMetadata,
    StudyMetadata,
    ValueLevelMetadata,
    VariableMetadata,
    creation_timestamp,
)

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
ORIGIN_SOURCES = ("Subject", "Investigator", "Vendor", "Sponsor")
STYLESHEET = "define2-1.xsl"
_OID_BAD = re.compile(r"[^A-Za-z0-9._-]")


def make_oid(*parts: str) -> str:
    """Join parts with '.', replacing characters an OID should not hold by '_'."""
    return ".".join(_OID_BAD.sub("_", part) for part in parts)


def study_oid(studyid: str) -> str:
    return make_oid("ST", studyid)


def metadata_version_oid(studyid: str, purpose: str | None = None) -> str:
    """``MDV.<study>[.<purpose>]``: the SDTM and ADaM define.xml (and their Dataset-JSON) use
    ``purpose`` "SDTM" and "ADAM"."""
    return make_oid("MDV", studyid, *([purpose] if purpose else []))


def _sub(parent: ET.Element, tag: str, attrs: dict[str, str | None] | None = None) -> ET.Element:
    """Add a child; attributes with value None are left out, order kept."""
    clean = {k: v for k, v in (attrs or {}).items() if v is not None}
    return ET.SubElement(parent, tag, clean)


def _description(parent: ET.Element, text: str, tag: str = "Description") -> ET.Element:
    element = _sub(parent, tag)
    translated = _sub(element, "TranslatedText", {"xml:lang": "en"})
    translated.text = text
    return element


class _Registry:
    """OIDs defined so far; a second, different definition of one OID is an error."""

    def __init__(self) -> None:
        self.codelists: dict[str, CodelistMetadata] = {}
        self.methods: dict[str, MethodMetadata] = {}
        self.comments: dict[str, str] = {}
        self.where: dict[str, tuple[str, str]] = {}

    def add_codelist(self, codelist: CodelistMetadata, where: str) -> None:
        known = self.codelists.setdefault(codelist.oid, codelist)
        if known != codelist:
            raise DataError(f"codelist {codelist.oid} is defined twice with different content (second at {where})",
                            hint="give the two codelists different OIDs or make them identical")

    def add_method(self, method: MethodMetadata, where: str) -> None:
        known = self.methods.setdefault(method.oid, method)
        if known != method:
            raise DataError(f"method {method.oid} is defined twice with different content (second at {where})",
                            hint="give the two methods different OIDs or make them identical")


# ---------------------------------------------------------------- pieces


def _standard_parts(standard: str) -> tuple[str, str]:
    parts = standard.rsplit(" ", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise DataError(f"standard {standard!r} is not '<name> <version>' (e.g. 'SDTMIG 3.4')")
    return parts[0], parts[1]


def _standard_oid(standard: str) -> str:
    name, version = _standard_parts(standard)
    return make_oid("STD", name, version)


def _is_adam(dataset: DatasetMetadata) -> bool:
    return dataset.standard.upper().startswith("ADAM")


def _item_data_type(var: VariableMetadata | ValueLevelMetadata, display_format: str | None) -> str:
    if var.data_type in ("date", "datetime") and display_format:
        return "integer"
    return var.data_type


def _origin(parent: ET.Element, origin: str, source: str | None) -> None:
    """def:Origin per Define-XML 2.1: who gave the value (Source) and, as text, where it came from."""
    attrs: dict[str, str | None] = {"Type": origin}
    if source in ORIGIN_SOURCES:
        attrs["Source"] = source
    elif origin == "Collected":
        attrs["Source"] = "Investigator"
    elif origin in ("Derived", "Assigned", "Protocol"):
        attrs["Source"] = "Sponsor"
    text = source if source and source not in ORIGIN_SOURCES else None
    if origin == "Predecessor" and not text:
        raise DataError("a Predecessor origin needs its source (the predecessor variable)",
                        hint="give the variable a source, e.g. sdtm.DM.AGE")
    element = _sub(parent, "def:Origin", attrs)
    if text:
        _description(element, text)


def _item_ref(parent: ET.Element, oid: str, order: int, mandatory: bool, key: int | None,
              method: MethodMetadata | None, role: str | None) -> ET.Element:
    return _sub(parent, "ItemRef", {
        "ItemOID": oid,
        "OrderNumber": str(order),
        "Mandatory": "Yes" if mandatory else "No",
        "KeySequence": str(key) if key is not None else None,
        "MethodOID": method.oid if method else None,
        "Role": role,
    })


def _item_group(mdv: ET.Element, ds: DatasetMetadata, reg: _Registry) -> None:
    adam = _is_adam(ds)
    repeating = "No" if ds.name == "DM" or ds.class_.upper() == "SUBJECT LEVEL ANALYSIS DATASET" else "Yes"
    domain = None if adam else (ds.name[4:] if ds.name.startswith("SUPP") and len(ds.name) > 4 else ds.name)
    comment_oid = None
    if ds.comment:
        comment_oid = make_oid("COM", ds.name)
        reg.comments[comment_oid] = ds.comment
    group = _sub(mdv, "ItemGroupDef", {
        "OID": make_oid("IG", ds.name),
        "Domain": domain,
        "Name": ds.name,
        "Repeating": repeating,
        "IsReferenceData": "Yes" if ds.class_.upper() == "TRIAL DESIGN" else "No",
        "SASDatasetName": ds.name,
        "def:Structure": ds.structure,
        "Purpose": "Analysis" if adam else "Tabulation",
        "def:StandardOID": _standard_oid(ds.standard),
        "def:ArchiveLocationID": make_oid("LF", ds.name),
        "def:CommentOID": comment_oid,
    })
    _description(group, ds.label)
    for order, var in enumerate(ds.variables, start=1):
        key = ds.keys.index(var.name) + 1 if var.name in ds.keys else None
        method = var.method if var.origin == "Derived" else None
        _item_ref(group, make_oid("IT", ds.name, var.name), order, var.mandatory, key, method,
                  None if adam else var.role)
        if method:
            reg.add_method(var.method, f"{ds.name}.{var.name}")
    _sub(group, "def:Class", {"Name": ds.class_})
    leaf = _sub(group, "def:leaf", {"ID": make_oid("LF", ds.name), "xlink:href": f"{ds.name.lower()}.xpt"})
    title = _sub(leaf, "def:title")
    title.text = f"{ds.name.lower()}.xpt"


def _value_lists(mdv: ET.Element, ds: DatasetMetadata, reg: _Registry) -> dict[str, str]:
    """Write def:ValueListDef for each variable with value-level rows; return var -> VL OID."""
    names = {v.name for v in ds.variables}
    by_var: dict[str, list[ValueLevelMetadata]] = {}
    for vlm in ds.value_level:
        for needed in (vlm.variable, vlm.where_variable):
            if needed not in names:
                raise DataError(f"dataset {ds.name}: value-level row {vlm.variable} where "
                                f"{vlm.where_variable} = {vlm.where_value!r} names {needed!r}, "
                                "which is not a variable of the dataset",
                                hint="add the variable to the dataset metadata or fix the value-level row")
        by_var.setdefault(vlm.variable, []).append(vlm)
    refs: dict[str, str] = {}
    for variable, rows in by_var.items():
        vl_oid = make_oid("VL", ds.name, variable)
        refs[variable] = vl_oid
        vl = _sub(mdv, "def:ValueListDef", {"OID": vl_oid})
        for order, vlm in enumerate(rows, start=1):
            method = vlm.method if vlm.origin == "Derived" else None
            item = _item_ref(vl, make_oid("IT", ds.name, variable, vlm.where_value), order, vlm.mandatory, None,
                             method, None)
            wc_oid = make_oid("WC", ds.name, vlm.where_variable, vlm.where_value)
            clause = (make_oid("IT", ds.name, vlm.where_variable), vlm.where_value)
            if reg.where.setdefault(wc_oid, clause) != clause:
                raise DataError(f"OID {wc_oid} is used by two where clauses ({reg.where[wc_oid][1]!r} and "
                                f"{vlm.where_value!r})", hint="OIDs replace characters outside A-Z a-z 0-9 . _ - "
                                "by '_'; make the where values differ after that")
            _sub(item, "def:WhereClauseRef", {"WhereClauseOID": wc_oid})
            if method:
                reg.add_method(method, f"{ds.name}.{variable} where {vlm.where_value}")
    return refs


def _item_def(mdv: ET.Element, ds: DatasetMetadata, var: VariableMetadata, vl_oid: str | None,
              reg: _Registry) -> None:
    comment_oid = None
    if var.comment:
        comment_oid = make_oid("COM", ds.name, var.name)
        reg.comments[comment_oid] = var.comment
    item = _sub(mdv, "ItemDef", {
        "OID": make_oid("IT", ds.name, var.name),
        "Name": var.name,
        "DataType": _item_data_type(var, var.display_format),
        "Length": str(var.length) if var.length is not None else None,
        "SASFieldName": var.name,
        "def:DisplayFormat": var.display_format,
        "def:CommentOID": comment_oid,
    })
    _description(item, var.label)
    if var.codelist:
        reg.add_codelist(var.codelist, f"{ds.name}.{var.name}")
        _sub(item, "CodeListRef", {"CodeListOID": var.codelist.oid})
    if vl_oid:
        _sub(item, "def:ValueListRef", {"ValueListOID": vl_oid})
    _origin(item, var.origin, var.source)


def _value_item_defs(mdv: ET.Element, ds: DatasetMetadata, reg: _Registry) -> None:
    for vlm in ds.value_level:
        parent = ds.variable(vlm.variable)
        fmt = parent.display_format if vlm.data_type in ("date", "datetime") else None
        length = vlm.length
        if length is None and parent.length is not None and vlm.data_type == parent.data_type:
            length = parent.length
        if vlm.data_type in ("integer", "float") and parent.data_type in ("integer", "float"):
            length = None  # numbers stored as 8-byte doubles: no text length
        item = _sub(mdv, "ItemDef", {
            "OID": make_oid("IT", ds.name, vlm.variable, vlm.where_value),
            "Name": vlm.variable,
            "DataType": _item_data_type(vlm, fmt),
            "Length": str(length) if length is not None and vlm.data_type != "float" else None,
            "SASFieldName": vlm.variable,
            "def:DisplayFormat": fmt,
        })
        _description(item, vlm.label)
        if vlm.codelist:
            reg.add_codelist(vlm.codelist, f"{ds.name}.{vlm.variable} where {vlm.where_value}")
            _sub(item, "CodeListRef", {"CodeListOID": vlm.codelist.oid})
        _origin(item, vlm.origin, vlm.source)


def _where_clauses(mdv: ET.Element, reg: _Registry) -> None:
    for oid, (item_oid, value) in reg.where.items():
        wc = _sub(mdv, "def:WhereClauseDef", {"OID": oid})
        check = _sub(wc, "RangeCheck", {"SoftHard": "Soft", "def:ItemOID": item_oid, "Comparator": "EQ"})
        _sub(check, "CheckValue").text = value


def _codelist(mdv: ET.Element, codelist: CodelistMetadata, ct_oid: str | None) -> None:
    standard = ct_oid if codelist.nci_code and ct_oid else None
    element = _sub(mdv, "CodeList", {"OID": codelist.oid, "Name": codelist.name,
                                     "DataType": codelist.data_type,
                                     "def:IsNonStandard": None if standard else "Yes",
                                     "def:StandardOID": standard})
    if codelist.external is not None:
        ext = codelist.external
        _sub(element, "ExternalCodeList", {"Dictionary": ext.dictionary, "Version": ext.version, "href": ext.href})
        return
    decoded = any(item.decode is not None for item in codelist.items)
    for order, item in enumerate(codelist.items, start=1):
        attrs = {"CodedValue": item.coded_value, "OrderNumber": str(order),
                 "def:ExtendedValue": "Yes" if item.extended and standard else None}
        if decoded:
            entry = _sub(element, "CodeListItem", attrs)
            _description(entry, item.decode if item.decode is not None else item.coded_value, tag="Decode")
        else:
            entry = _sub(element, "EnumeratedItem", attrs)
        if item.nci_code:
            _sub(entry, "Alias", {"Context": "nci:ExtCodeID", "Name": item.nci_code})
    if codelist.nci_code:
        _sub(element, "Alias", {"Context": "nci:ExtCodeID", "Name": codelist.nci_code})


def _method(mdv: ET.Element, method: MethodMetadata) -> None:
    element = _sub(mdv, "MethodDef", {"OID": method.oid, "Name": method.name, "Type": method.type})
    _description(element, method.description)


# ---------------------------------------------------------------- document


def build_define_xml(
    study: StudyMetadata, *, context: str = "Submission", created: datetime | None = None
) -> bytes:
    """Return define.xml (Define-XML 2.1) for ``study`` as UTF-8 bytes."""
    if context not in ("Submission", "Other"):
        raise DataError(f"define.xml context {context!r} must be 'Submission' or 'Other'")
    names = [ds.name for ds in study.datasets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(f"datasets listed twice in the study metadata: {duplicates}")
    when = creation_timestamp(created)
    odm = ET.Element("ODM", {
        "xmlns": ODM_NS,
        "xmlns:def": DEF_NS,
        "xmlns:xlink": XLINK_NS,
        "ODMVersion": "1.3.2",
        "FileType": "Snapshot",
        "FileOID": make_oid("DEF", study.studyid),
        "CreationDateTime": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "Originator": "tlfgen",
        "SourceSystem": "tlfgen",
        "def:Context": context,
    })
    study_el = _sub(odm, "Study", {"OID": study_oid(study.studyid)})
    globals_el = _sub(study_el, "GlobalVariables")
    _sub(globals_el, "StudyName").text = study.name
    _sub(globals_el, "StudyDescription").text = study.description
    _sub(globals_el, "ProtocolName").text = study.protocol
    reg = _Registry()
    if study.comment:
        reg.comments["COM.MDV"] = study.comment
    mdv = _sub(study_el, "MetaDataVersion", {
        "OID": study.metadata_version_oid or metadata_version_oid(study.studyid),
        "Name": f"{study.studyid} Define-XML 2.1",
        "Description": study.description,
        "def:DefineVersion": "2.1.0",
        "def:CommentOID": "COM.MDV" if study.comment else None,
    })
    standards = _sub(mdv, "def:Standards")
    for standard in dict.fromkeys(ds.standard for ds in study.datasets):
        name, version = _standard_parts(standard)
        _sub(standards, "def:Standard", {"OID": _standard_oid(standard), "Name": name, "Type": "IG",
                                         "Version": version, "Status": "Final"})
    ct_oid = _ct_standards(standards, study.ct_standards)
    value_lists = {ds.name: _value_lists(mdv, ds, reg) for ds in study.datasets}
    _where_clauses(mdv, reg)
    for ds in study.datasets:
        _item_group(mdv, ds, reg)
    for ds in study.datasets:
        for var in ds.variables:
            _item_def(mdv, ds, var, value_lists[ds.name].get(var.name), reg)
        _value_item_defs(mdv, ds, reg)
    for codelist in sorted(reg.codelists.values(), key=lambda c: c.oid):
        _codelist(mdv, codelist, ct_oid)
    for method in reg.methods.values():
        _method(mdv, method)
    for oid, text in reg.comments.items():
        _description(_sub(mdv, "def:CommentDef", {"OID": oid}), text)
    _check_unique_oids(odm)
    ET.indent(odm, space="  ")
    body = ET.tostring(odm, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<?xml-stylesheet type="text/xsl" href="{STYLESHEET}"?>\n' + body + "\n").encode("utf-8")


def _ct_standards(standards: ET.Element, packages: tuple[CtStandard, ...]) -> str | None:
    """Declare the CT packages; return the OID CDISC codelists point at (the first one's)."""
    first = None
    for ct in packages:
        oid = make_oid("STD", "CT", ct.publishing_set, ct.version)
        _sub(standards, "def:Standard", {"OID": oid, "Name": ct.name, "Type": "CT",
                                         "PublishingSet": ct.publishing_set, "Version": ct.version,
                                         "Status": "Final"})
        first = first or oid
    return first


def _check_unique_oids(odm: ET.Element) -> None:
    seen: dict[str, str] = {}
    for element in odm.iter():
        oid = element.get("OID")
        if oid is None:
            continue
        if oid in seen:
            raise DataError(f"OID {oid} is used by two {element.tag} elements (after {seen[oid]})",
                            hint="two names map to the same OID; rename one (OIDs replace "
                                 "characters outside A-Z a-z 0-9 . _ - by '_')")
        seen[oid] = element.tag


def write_define_xml(
    study: StudyMetadata, path: str | os.PathLike[str], *, context: str = "Submission",
    created: datetime | None = None,
) -> Path:
    """Build define.xml for ``study`` and write it atomically to ``path``, with the stylesheet
    it names (``define2-1.xsl``) beside it."""
    written = atomic_write_bytes(path, build_define_xml(study, context=context, created=created))
    write_stylesheet(Path(path).parent)
    return written


def write_stylesheet(folder: str | os.PathLike[str]) -> Path:
    """Copy the package's define.xml stylesheet into ``folder``."""
    xsl = resources.files("tlfgen.lineage").joinpath(STYLESHEET).read_bytes()
    return atomic_write_bytes(Path(folder) / STYLESHEET, xsl)
