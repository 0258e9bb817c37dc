"""SDTM stage: dataset metadata (io/metadata.py) from the domain specs, for the writers and define.xml.

Origins and sources as Define-XML 2.1 wants them: a Collected variable names the raw fields it
comes from (every source form of the domain); a Derived variable has a method (its derivation,
or the per-source rules when the sources give it); Assigned/Protocol variables have none.
SUPP-- datasets get value-level metadata for QVAL by QNAM from the spec's ``supp`` entries.
"""

from __future__ import annotations

from tlfgen.io.metadata import (
    CodelistItem,
    CodelistMetadata,
    DatasetMetadata,
    MethodMetadata,
    ValueLevelMetadata,
    VariableMetadata,
)
from tlfgen.registry import get_derivation
from tlfgen.spec.ct import Codelist
from tlfgen.spec.sdtm import ResolvedDomain, SdtmSpecs

SUPP_VARIABLES = (
    ("STUDYID", "Study Identifier", "Identifier"),
    ("RDOMAIN", "Related Domain Abbreviation", "Identifier"),
    ("USUBJID", "Unique Subject Identifier", "Identifier"),
    ("IDVAR", "Identifying Variable", "Identifier"),
    ("IDVARVAL", "Identifying Variable Value", "Identifier"),
    ("QNAM", "Qualifier Variable Name", "Topic"),
    ("QLABEL", "Qualifier Variable Label", "Synonym Qualifier"),
    ("QVAL", "Data Value", "Result Qualifier"),
    ("QORIG", "Origin", "Record Qualifier"),
    ("QEVAL", "Evaluator", "Record Qualifier"),
)
#: QORIG (SUPP--) -> Define-XML origin
QORIG_ORIGIN = {"CRF": "Collected", "Collected": "Collected", "Derived": "Derived", "Assigned": "Assigned"}


def create_codelist_metadata(codelist: Codelist) -> CodelistMetadata:
    return CodelistMetadata(
        oid=f"CL.{codelist.id}", name=codelist.name, nci_code=codelist.nci_code,
        items=tuple(CodelistItem(i.value, i.decode, i.nci_code, i.extended) for i in codelist.items),
    )


def _rule_text(rule, specs: SdtmSpecs) -> str | None:
    if rule.source:
        form, col = rule.source.split(".", 1)
        extra = f" ({rule.codelist})" if rule.codelist else (f" ({rule.format})" if rule.format else "")
        return f"raw {specs.forms[form].file} {col}{extra}"
    if rule.assign is not None and rule.assign != "":
        return f"'{rule.assign}'"
    return None


def _source_text(rd: ResolvedDomain, var, specs: SdtmSpecs) -> str | None:
    """Where the values come from: the variable's rule, then each source form's override."""
    parts = [_rule_text(var, specs)] if var.derive is None else []
    for src in rd.spec.sources:
        if var.name in src.values:
            text = _rule_text(src.values[var.name], specs)
            parts.append(f"{src.form}: {text}" if text else None)
    found = [p for p in dict.fromkeys(parts) if p]
    return "; ".join(found) if found else None


def _method(rd: ResolvedDomain, var, source: str | None) -> MethodMetadata | None:
    if var.origin != "Derived":
        return None
    if var.derive is not None:
        found = get_derivation(var.derive.name)
        args = ", ".join(f"{k}={v}" for k, v in sorted(var.derive.args.items()))
        text = f"{found.name}({args}): {found.description}".strip()
    else:
        text = f"Per source form: {source}" if source else f"As stated in {rd.display}"
    return MethodMetadata(oid=f"MT.{rd.name}.{var.name}", name=f"{rd.name}.{var.name}", description=text)


def create_domain_metadata(rd: ResolvedDomain, specs: SdtmSpecs) -> DatasetMetadata:
    """Neutral metadata of one domain: variables, origins, codelists, methods."""
    variables = []
    for j, var in enumerate(rd.spec.variables):
        source = _source_text(rd, var, specs)
        variables.append(VariableMetadata(
            name=var.name, label=var.label, data_type=var.type,
            length=None if var.length == "auto" else var.length, role=var.role, origin=var.origin,
            source=source if var.origin == "Collected" else None,
            codelist=create_codelist_metadata(specs.codelists[var.codelist]) if var.codelist else None,
            method=_method(rd, var, source), comment=var.comment, mandatory=var.required,
            spec_file=rd.display, spec_line=rd.line("variables", j),
        ))
    return DatasetMetadata(
        name=rd.name, label=rd.spec.label, structure=rd.spec.structure, class_=rd.spec.class_,
        keys=tuple(rd.spec.keys), variables=tuple(variables), standard="SDTMIG 3.4",
        comment=rd.spec.comment, spec_file=rd.display, value_level=_design_value_level(rd),
    )


def _design_value_level(rd: ResolvedDomain) -> tuple[ValueLevelMetadata, ...]:
    """Trial design records that leave a derived variable to its derivation (TS: SSTDTC, SENDTC,
    ACTSUB from the data): a Derived value-level row per topic value (TSPARMCD)."""
    topic = next((v.name for v in rd.spec.variables if v.role == "Topic"), None)
    rows = []
    for var in rd.spec.variables if topic and rd.spec.records else ():
        if var.derive is None or var.name in rd.spec.keys or var.name == topic:
            continue
        found = get_derivation(var.derive.name)
        for value in dict.fromkeys(str(r[topic]) for r in rd.spec.records if var.name not in r and topic in r):
            method = MethodMetadata(f"MT.{rd.name}.{var.name}.{value}", f"{rd.name}.{var.name} ({value})",
                                    f"{found.name}: {found.description}")
            rows.append(ValueLevelMetadata(variable=var.name, where_variable=topic, where_value=value,
                                           label=f"{var.label} for {topic} = {value}", data_type="text",
                                           origin="Derived", method=method))
    return tuple(rows)


def create_supp_metadata(rd: ResolvedDomain, specs: SdtmSpecs | None = None) -> DatasetMetadata:
    """SUPP-- metadata; with ``specs``, QVAL's value level by QNAM (label, origin, source, codelist)."""
    name = f"SUPP{rd.name}"
    origins = {QORIG_ORIGIN.get(s.qorig, "Collected") for s in rd.spec.supp} or {"Collected"}
    qval_origin = origins.pop() if len(origins) == 1 else "Collected"
    variables = []
    for n, label, role in SUPP_VARIABLES:
        origin = "Derived" if n == "USUBJID" else qval_origin if n == "QVAL" else "Assigned"
        method = MethodMetadata(f"MT.{name}.USUBJID", f"{name}.USUBJID",
                                f"USUBJID of the {rd.name} record the qualifier belongs to") if n == "USUBJID" else None
        if n == "QVAL" and origin == "Derived":
            method = MethodMetadata(f"MT.{name}.QVAL", f"{name}.QVAL", "As stated per QNAM (value level)")
        variables.append(VariableMetadata(name=n, label=label, data_type="text", role=role, origin=origin,
                                          source=f"the {rd.name} CRF (per QNAM)" if n == "QVAL"
                                          and origin == "Collected" else None, method=method))
    value_level = []
    for supp in rd.spec.supp if specs is not None else ():
        origin = QORIG_ORIGIN.get(supp.qorig, "Collected")
        source = _rule_text(supp, specs)
        method = None
        if origin == "Derived":
            text = f"{supp.derive.name}: {get_derivation(supp.derive.name).description}" if supp.derive else \
                f"From {source}"
            method = MethodMetadata(f"MT.{name}.QVAL.{supp.qnam}", f"{name}.QVAL ({supp.qnam})", text)
        value_level.append(ValueLevelMetadata(
            variable="QVAL", where_variable="QNAM", where_value=supp.qnam, label=supp.qlabel, data_type="text",
            origin=origin, method=method, source=source if origin == "Collected" else None,
            codelist=create_codelist_metadata(specs.codelists[supp.codelist]) if supp.codelist else None,
        ))
    return DatasetMetadata(
        name=name, label=f"Supplemental Qualifiers for {rd.name}",
        structure="One record per supplemental qualifier per related parent domain record",
        class_="RELATIONSHIP", keys=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        variables=tuple(variables), value_level=tuple(value_level),
        standard="SDTMIG 3.4", spec_file=rd.display,
    )
