"""Lineage layer: the conformance report ``outputs/qc/conformance.xlsx`` (beside findings.xlsx).

The checks tlfgen runs on its own submission output, read back from the files a reviewer gets
(``sdtm/`` and ``adam/``: define.xml and Dataset-JSON), each with how many items it checked and
how many failed:

- IG-REQ / IG-EXP: the IG's Required variables present and populated, Expected variables present
  (``ig_core.yaml``: SDTMIG 3.4, ADaMIG 1.3), per dataset;
- TS-PARAM / TS-CODE: the TS parameters FDA's Study Data Technical Conformance Guide expects
  (SSTDTC first), and TSVALCD/TSVCDREF where a code system applies;
- EPOCH: present and populated in the domains SDTMIG 3.4 expects it in;
- VISIT-SV: every VISITNUM of a findings/events record is a visit SV knows;
- AE-MEDDRA / AE-SERIOUS: the dictionary hierarchy on every coded AE, a criterion on every SAE;
- DEFINE-CODELIST, DEFINE-VLM, DEFINE-MANDATORY, DEFINE-METHOD, DEFINE-OID: define.xml against
  the data (every CT-bound variable has a codelist and its values are in it; parameterised
  datasets have value-level metadata; Mandatory="Yes" only where every record has a value and on
  every Required variable; a method exactly on Derived items; the OIDs Dataset-JSON names exist).

The report is data about the output, not a validation against the CDISC schemas (the tests do
that with the official XSD and JSON schema).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tlfgen.io.atomic import atomic_write_bytes
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.lineage.conformance_data import (
    SERIOUS,
    ColumnProfile,
    DatasetProfile,
    create_dataset_profile,
    is_blank,
    read_dataset_profile,
)
from tlfgen.lineage.define_content import compute_core, ct_binding, parameter_variable

NS = {"o": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
DEF_ITEM = "{http://www.cdisc.org/ns/def/v2.1}ItemOID"
#: FDA Study Data Technical Conformance Guide: the TS parameters of an interventional drug trial
FDA_TS = ("SSTDTC", "SENDTC", "ACTSUB", "ADDON", "ADAPT", "AGEMAX", "AGEMIN", "DCUTDESC", "DCUTDTC", "FCNTRY",
          "HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "NARMS", "OBJPRIM", "OBJSEC", "OUTMSPRI", "OUTMSSEC",
          "PCLAS", "PLANSUB", "RANDOM", "REGID", "ROUTE", "SDTIGVER", "SDTMVER", "SEXPOP", "SPONSOR", "STYPE",
          "TBLIND", "TCNTRL", "TDIGRP", "TINDTP", "TITLE", "TPHASE", "TRT", "TTYPE")
#: parameters whose value has a code in a reference terminology (TSVALCD + TSVCDREF)
TS_CODED = {"TPHASE": "CDISC CT", "STYPE": "CDISC CT", "INTMODEL": "CDISC CT", "INTTYPE": "CDISC CT",
            "TTYPE": "CDISC CT", "TINDTP": "CDISC CT", "RANDOM": "CDISC CT", "TBLIND": "CDISC CT",
            "TCNTRL": "CDISC CT", "SEXPOP": "CDISC CT", "HLTSUBJI": "CDISC CT", "ADDON": "CDISC CT",
            "ADAPT": "CDISC CT", "ROUTE": "CDISC CT", "REGID": "ClinicalTrials.gov", "INDIC": "SNOMED",
            "TDIGRP": "SNOMED", "TRT": "UNII", "PCLAS": "MED-RT", "SPONSOR": "DUNS"}
EPOCH_DOMAINS = ("AE", "CM", "DS", "EX", "PR", "QS", "RS", "SC", "SV", "TR", "TU")
MEDDRA = ("AELLT", "AELLTCD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD", "AESOC", "AESOCCD", "AEBDSYCD")
COLUMNS = ("check", "stage", "dataset", "description", "checked", "failed", "status", "examples")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class ConformanceCheck:
    check: str  # e.g. "IG-REQ"
    stage: str  # "sdtm" or "adam"
    dataset: str
    description: str
    checked: int
    failed: list[str]  # what failed (variable, value, record ...)
    severity: str = "ERROR"  # what a failure is: ERROR or WARNING

    @property
    def status(self) -> str:
        return "PASS" if not self.failed else ("FAIL" if self.severity == "ERROR" else "WARN")

    def row(self) -> tuple:
        return (self.check, self.stage, self.dataset, self.description, self.checked, len(self.failed), self.status,
                "; ".join(self.failed[:MAX_EXAMPLES]) + (" ..." if len(self.failed) > MAX_EXAMPLES else ""))


@dataclass
class _Stage:
    name: str
    define: ET.Element | None
    data: dict[str, DatasetProfile]  # dataset name -> what the checks read of its Dataset-JSON

    def profile(self, dataset: str, variable: str) -> ColumnProfile:
        """The variable's column profile (no records without the variable)."""
        return self.data[dataset].columns.get(variable, _ABSENT)

    def column(self, dataset: str, variable: str) -> list:
        """A column read whole (``conformance_data.WHOLE_COLUMNS``) in record order ([] without the variable)."""
        found = self.data[dataset]
        return found.whole[variable] if variable in found.columns else []


_ABSENT = ColumnProfile(0, 0, 0, frozenset())


def codelist_variables(define: ET.Element | None) -> dict[str, set[str]]:
    """Per dataset of define.xml, its variables with a codelist (their values are checked against it)."""
    if define is None:
        return {}
    items = {i.get("OID"): i for i in define.iterfind(".//o:ItemDef", NS)}
    return {group.get("Name"): {item.get("Name") for ref in group.iterfind("o:ItemRef", NS)
                                if (item := items.get(ref.get("ItemOID"))) is not None
                                and item.find("o:CodeListRef", NS) is not None}
            for group in define.iterfind(".//o:ItemGroupDef", NS)}


def create_stage(name: str, define: ET.Element | None, documents: dict[str, dict]) -> _Stage:
    """The stage of Dataset-JSON documents already read (dataset name -> document)."""
    texts_of = codelist_variables(define)
    return _Stage(name, define, {dataset: create_dataset_profile(doc, dataset, texts_of.get(dataset, ()))
                                 for dataset, doc in documents.items()})


def read_stage(folder: Path, name: str) -> _Stage:
    """define.xml and the profile of every Dataset-JSON file of the folder, one file read at a time."""
    define = folder / "define.xml"
    root = ET.parse(define).getroot() if define.is_file() else None
    texts_of = codelist_variables(root)
    data = {p.stem.upper(): read_dataset_profile(p, p.stem.upper(), texts_of.get(p.stem.upper(), ()))
            for p in sorted(folder.glob("*.json"))}
    return _Stage(name, root, data)


def _meta(stage: _Stage, dataset: str) -> DatasetMetadata:
    doc = stage.data[dataset].header
    standard = "ADaMIG 1.3" if stage.name == "adam" else "SDTMIG 3.4"
    klass = ""
    if stage.define is not None:
        group = stage.define.find(f".//o:ItemGroupDef[@Name='{dataset}']", NS)
        klass = group.find("def:Class", NS).get("Name", "") if group is not None else ""
    variables = tuple(VariableMetadata(c["name"], c.get("label", ""), "text") for c in doc["columns"])
    return DatasetMetadata(dataset, doc.get("label", ""), "", klass, variables=variables, standard=standard)


# ---------------------------------------------------------------- data checks


def check_ig_variables(stage: _Stage) -> list[ConformanceCheck]:
    out = []
    for name in stage.data:
        meta = _meta(stage, name)
        core = compute_core(meta)
        present = {v.name for v in meta.variables}
        req = sorted(v for v, c in core.items() if c == "Req")
        exp = sorted(v for v, c in core.items() if c == "Exp")
        failed = [f"{v} absent" for v in req if v not in present]
        failed += [f"{v} blank on {n} record(s)" for v in req if v in present
                   and (n := stage.profile(name, v).blank)]
        out.append(ConformanceCheck("IG-REQ", stage.name, name, "Required variables present and populated",
                                    len(req), failed))
        out.append(ConformanceCheck("IG-EXP", stage.name, name, "Expected variables present", len(exp),
                                    [f"{v} absent" for v in exp if v not in present], "WARNING"))
    return out


def check_trial_summary(stage: _Stage) -> list[ConformanceCheck]:
    if "TS" not in stage.data:
        return [ConformanceCheck("TS-PARAM", stage.name, "TS", "TS dataset present", 1, ["TS absent"])]
    params = stage.column("TS", "TSPARMCD")
    refs = stage.column("TS", "TSVCDREF")
    codes = stage.column("TS", "TSVALCD")
    failed = [p for p in FDA_TS if p not in params]
    if params and params[0] != "SSTDTC":
        failed.append(f"first parameter is {params[0]}, not SSTDTC")
    coded_failed = []
    checked = 0
    for param, ref, code in zip(params, refs, codes):
        if param in TS_CODED:
            checked += 1
            if is_blank(code) or is_blank(ref):
                coded_failed.append(f"{param} (no {TS_CODED[param]} code)")
    return [ConformanceCheck("TS-PARAM", stage.name, "TS", "TS parameters FDA's conformance guide expects, "
                             "SSTDTC first", len(FDA_TS) + 1, failed),
            ConformanceCheck("TS-CODE", stage.name, "TS", "TSVALCD and TSVCDREF where a code system applies",
                             checked, coded_failed, "WARNING")]


def check_epoch_and_visits(stage: _Stage) -> list[ConformanceCheck]:
    out = []
    for name in EPOCH_DOMAINS:
        if name not in stage.data:
            continue
        epoch = stage.profile(name, "EPOCH")
        failed = ["EPOCH absent"] if "EPOCH" not in stage.data[name].names() else []
        if epoch.blank:
            failed.append(f"EPOCH blank on {epoch.blank} record(s)")
        out.append(ConformanceCheck("EPOCH", stage.name, name, "EPOCH present and populated",
                                    epoch.records or 1, failed))
    if "SV" in stage.data:
        known = stage.data["SV"].visits or frozenset()
        for name in sorted(stage.data):
            found = stage.data[name]
            if name == "SV" or found.visits is None:
                continue
            outside = found.visits - known
            unknown = sorted({f"{u} VISITNUM {v}" for u, v in found.visits_apart or outside
                              if v is not None and (u, v) in outside})
            out.append(ConformanceCheck("VISIT-SV", stage.name, name, "every VISITNUM is a visit of the subject in SV",
                                        found.visit_records, unknown))
    return out


def check_adverse_events(stage: _Stage) -> list[ConformanceCheck]:
    if "AE" not in stage.data:
        return []
    n = stage.data["AE"].header["records"]
    missing = [f"{v} absent" for v in MEDDRA if not stage.profile("AE", v).records and n]
    missing += [f"{v} blank on {k} record(s)" for v in MEDDRA if (k := stage.profile("AE", v).blank)]
    serious = stage.column("AE", "AESER")
    criteria = [stage.column("AE", v) or [None] * n for v in SERIOUS]
    sae = [i for i, s in enumerate(serious) if s == "Y"]
    without = [f"AESEQ {stage.column('AE', 'AESEQ')[i]}" for i in sae if not any(c[i] == "Y" for c in criteria)]
    return [ConformanceCheck("AE-MEDDRA", stage.name, "AE", "MedDRA hierarchy and codes on every AE", n, missing),
            ConformanceCheck("AE-SERIOUS", stage.name, "AE", "every serious AE meets a seriousness criterion",
                             len(sae), without)]


# ---------------------------------------------------------------- define.xml checks


def check_define(stage: _Stage) -> list[ConformanceCheck]:
    if stage.define is None:
        return [ConformanceCheck("DEFINE-OID", stage.name, "define.xml", "define.xml present", 1, ["absent"])]
    root = stage.define
    items = {i.get("OID"): i for i in root.iterfind(".//o:ItemDef", NS)}
    codelists = {c.get("OID"): c for c in root.iterfind(".//o:CodeList", NS)}
    study = root.find("o:Study", NS)
    mdv = study.find("o:MetaDataVersion", NS) if study is not None else None
    if mdv is None:  # e.g. a supplied Define-XML 1.0 (ODM 1.2 namespace): not what these checks read
        return [ConformanceCheck("DEFINE-OID", stage.name, "define.xml", "define.xml is Define-XML 2.1 (ODM 1.3)", 1,
                                 [f"not checked: root element {root.tag}"])]
    out = []
    for group in mdv.iterfind("o:ItemGroupDef", NS):
        name = group.get("Name")
        if name not in stage.data:
            out.append(ConformanceCheck("DEFINE-OID", stage.name, name, "dataset file present", 1, ["no Dataset-JSON"]))
            continue
        meta = _meta(stage, name)
        core = compute_core(meta)
        refs = list(group.iterfind("o:ItemRef", NS))
        bound = no_list = 0
        list_failed, mand_failed, method_failed = [], [], []
        for ref in refs:
            item = items[ref.get("ItemOID")]
            var = item.get("Name")
            column = stage.profile(name, var)
            given = column.given
            cl_ref = item.find("o:CodeListRef", NS)
            if ct_binding(meta, var) and given:
                bound += 1
                if cl_ref is None:
                    no_list += 1
                    list_failed.append(f"{var}: no codelist")
            if cl_ref is not None and item.find("def:ValueListRef", NS) is None:
                codelist = codelists[cl_ref.get("CodeListOID")]
                allowed = {i.get("CodedValue") for i in codelist if i.tag.endswith("Item")}
                if allowed:
                    outside = sorted(column.texts - allowed)
                    list_failed += [f"{var}: '{v}' not in {codelist.get('OID')}" for v in outside]
            missing = column.blank
            if ref.get("Mandatory") == "Yes" and missing:
                mand_failed.append(f"{var}: Mandatory with {missing} blank")
            if core.get(var) == "Req" and ref.get("Mandatory") != "Yes":
                mand_failed.append(f"{var}: Required but Mandatory=No")
            origin = item.find("def:Origin", NS)
            derived = origin is not None and origin.get("Type") == "Derived"
            if derived != (ref.get("MethodOID") is not None):
                method_failed.append(f"{var}: {'Derived without' if derived else 'method on a non-derived'} method")
        out.append(ConformanceCheck("DEFINE-CODELIST", stage.name, name, "CT-bound variables have a codelist "
                                    "holding their values", bound, list_failed))
        out.append(ConformanceCheck("DEFINE-MANDATORY", stage.name, name, "Mandatory agrees with the data and "
                                    "the IG core", len(refs), mand_failed))
        out.append(ConformanceCheck("DEFINE-METHOD", stage.name, name, "a method exactly on Derived variables",
                                    len(refs), method_failed))
        param = parameter_variable(meta)
        if param is not None:
            lists = [items[r.get("ItemOID")].find("def:ValueListRef", NS) for r in refs]
            out.append(ConformanceCheck("DEFINE-VLM", stage.name, name, f"value-level metadata by {param}", 1,
                                        [] if any(v is not None for v in lists) else ["no value list"]))
        doc = stage.data[name].header
        oid_failed = [f"{k} {doc[k]}" for k, want in (("studyOID", study.get("OID")),
                                                      ("metaDataVersionOID", mdv.get("OID"))) if doc[k] != want]
        oid_failed += [f"{c['itemOID']} not an item of {group.get('OID')}" for c in doc["columns"]
                       if c["itemOID"] not in {r.get("ItemOID") for r in refs}]
        out.append(ConformanceCheck("DEFINE-OID", stage.name, name, "Dataset-JSON OIDs are define.xml's",
                                    2 + len(doc["columns"]), oid_failed))
    return out


def check_stage(folder: Path, name: str) -> list[ConformanceCheck]:
    """Every check of one written stage folder (``name``: sdtm or adam); none when it holds no output."""
    if not (folder / "define.xml").is_file() and not any(folder.glob("*.json")):
        return []
    stage = read_stage(folder, name)
    checks = check_ig_variables(stage)
    if name == "sdtm":
        checks += check_trial_summary(stage) + check_epoch_and_visits(stage) + check_adverse_events(stage)
    return checks + check_define(stage)


def run_conformance_checks(sdtm_dir: Path, adam_dir: Path) -> list[ConformanceCheck]:
    """Every check on the written SDTM and ADaM folders (a folder without output is skipped)."""
    return check_stage(sdtm_dir, "sdtm") + check_stage(adam_dir, "adam")


# ---------------------------------------------------------------- report


def build_conformance_workbook(checks: list[ConformanceCheck]) -> bytes:
    """conformance.xlsx: sheet "summary" (per check: datasets, items checked, failed) and sheet
    "checks" (one row per check and dataset). Text cells via xlsx_safe; same checks -> same bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from tlfgen.io.ooxml import read_entries, write_package
    from tlfgen.io.xlsx_safe import write_text_cell

    wb = Workbook()
    wb.properties.creator = "tlfgen"
    fixed = datetime(2000, 1, 1)
    wb.properties.created = wb.properties.modified = fixed
    summary = wb.active
    summary.title = "summary"
    detail = wb.create_sheet("checks")
    totals: dict[str, list[int]] = {}
    for c in checks:
        entry = totals.setdefault(c.check, [0, 0, 0, 0])
        entry[0] += 1
        entry[1] += c.checked
        entry[2] += len(c.failed)
        entry[3] += c.status != "PASS"
    rows = [("check", "datasets", "checked", "failed", "datasets not passing")] + [
        (k, *v) for k, v in sorted(totals.items())]
    for sheet, table in ((summary, rows), (detail, [COLUMNS] + [c.row() for c in checks])):
        for r, values in enumerate(table, start=1):
            for col, value in enumerate(values, start=1):
                if isinstance(value, int):
                    sheet.cell(row=r, column=col, value=value)
                else:
                    write_text_cell(sheet, r, col, value)
                if r == 1:
                    sheet.cell(row=r, column=col).font = Font(bold=True)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return write_package(read_entries(buffer.getvalue()), datetime(2000, 1, 1, tzinfo=timezone.utc))


def write_conformance_report(checks: list[ConformanceCheck], path: Path) -> Path:
    """``outputs/qc/conformance.xlsx`` of ``checks`` (``build_conformance_workbook``), written atomically."""
    return atomic_write_bytes(path, build_conformance_workbook(checks))
