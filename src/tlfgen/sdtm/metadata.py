"""SDTM stage: dataset metadata (io/metadata.py) from the domain specs, for the writers and define.xml."""

from __future__ import annotations

from tlfgen.io.metadata import CodelistItem, CodelistMetadata, DatasetMetadata, MethodMetadata, VariableMetadata
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


def create_codelist_metadata(codelist: Codelist) -> CodelistMetadata:
    return CodelistMetadata(
        oid=f"CL.{codelist.id}", name=codelist.name, nci_code=codelist.nci_code,
        items=tuple(CodelistItem(i.value, i.decode) for i in codelist.items),
    )


def _source_text(var, specs: SdtmSpecs) -> str | None:
    if var.source:
        form, col = var.source.split(".", 1)
        return f"raw {specs.forms[form].file} {col}"
    if var.assign is not None:
        return f"assigned '{var.assign}'"
    return None


def create_domain_metadata(rd: ResolvedDomain, specs: SdtmSpecs) -> DatasetMetadata:
    """Neutral metadata of one domain: variables, origins, codelists, methods."""
    variables = []
    for j, var in enumerate(rd.spec.variables):
        method = None
        if var.derive is not None:
            found = get_derivation(var.derive.name)
            args = ", ".join(f"{k}={v}" for k, v in sorted(var.derive.args.items()))
            method = MethodMetadata(oid=f"MT.{rd.name}.{var.name}", name=f"{rd.name}.{var.name}",
                                    description=f"{found.name}({args}): {found.description}".strip())
        variables.append(VariableMetadata(
            name=var.name, label=var.label, data_type=var.type,
            length=None if var.length == "auto" else var.length, role=var.role, origin=var.origin,
            source=_source_text(var, specs),
            codelist=create_codelist_metadata(specs.codelists[var.codelist]) if var.codelist else None,
            method=method, comment=var.comment, mandatory=var.required,
            spec_file=rd.display, spec_line=rd.line("variables", j),
        ))
    return DatasetMetadata(
        name=rd.name, label=rd.spec.label, structure=rd.spec.structure, class_=rd.spec.class_,
        keys=tuple(rd.spec.keys), variables=tuple(variables), standard="SDTMIG 3.4",
        comment=rd.spec.comment, spec_file=rd.display,
    )


def create_supp_metadata(rd: ResolvedDomain) -> DatasetMetadata:
    return DatasetMetadata(
        name=f"SUPP{rd.name}", label=f"Supplemental Qualifiers for {rd.name}",
        structure="One record per supplemental qualifier per related parent domain record",
        class_="RELATIONSHIP", keys=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        variables=tuple(VariableMetadata(name=n, label=label, data_type="text", role=role, origin="Assigned"
                                         if n in ("STUDYID", "RDOMAIN", "QORIG", "QEVAL") else "Derived")
                        for n, label, role in SUPP_VARIABLES),
        standard="SDTMIG 3.4", spec_file=rd.display,
    )
