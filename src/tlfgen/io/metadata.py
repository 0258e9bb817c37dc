"""I/O layer: neutral dataset metadata, the contract between specs and writers.

The SDTM and ADaM stages turn their specs into these objects; the XPT writer,
the Dataset-JSON writer and the define.xml builder read only these objects,
never the specs. Frozen dataclasses, no behaviour beyond small lookups.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tlfgen.io.atomic import fixed_timestamp

#: Data types, as Define-XML 2.1 names them.
DATA_TYPES = ("text", "integer", "float", "date", "datetime", "durationDatetime")
#: Origins, as Define-XML 2.1 names them.
ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor")


@dataclass(frozen=True)
class CodelistItem:
    coded_value: str
    decode: str | None = None
    nci_code: str | None = None  # the term's NCI C-code (CDISC CT)
    extended: bool = False  # a sponsor value added to an extensible CDISC codelist


@dataclass(frozen=True)
class ExternalDictionary:
    """A codelist kept outside the define (MedDRA, ISO 3166): name, version, where to find it."""

    dictionary: str
    version: str
    href: str | None = None


@dataclass(frozen=True)
class CodelistMetadata:
    oid: str  # e.g. "CL.SEX"
    name: str
    data_type: str = "text"
    items: tuple[CodelistItem, ...] = ()
    nci_code: str | None = None  # set: a CDISC CT codelist (def:StandardOID); None: sponsor-defined
    external: ExternalDictionary | None = None


@dataclass(frozen=True)
class MethodMetadata:
    oid: str  # e.g. "MT.ADSL.TRTSDT"
    name: str
    description: str
    type: str = "Computation"  # or "Imputation"


@dataclass(frozen=True)
class ValueLevelMetadata:
    """One where-clause row for a variable, e.g. AVAL when PARAMCD = 'PFS'."""

    variable: str
    where_variable: str
    where_value: str
    label: str
    data_type: str
    origin: str
    method: MethodMetadata | None = None
    source: str | None = None  # e.g. "raw ae.csv AERELCAM", "sdtm.RS.RSSTRESC"
    length: int | None = None
    codelist: CodelistMetadata | None = None
    mandatory: bool = False  # every record matching the where clause has a value


@dataclass(frozen=True)
class VariableMetadata:
    name: str
    label: str
    data_type: str  # one of DATA_TYPES; "date" is ISO 8601 text in SDTM, numeric SAS date in ADaM
    length: int | None = None  # None: set from the data (longest value)
    role: str | None = None  # Identifier, Topic, Timing, Qualifier ... (SDTM)
    origin: str = "Collected"
    source: str | None = None  # e.g. "raw ae.csv AETERM" or "sdtm.DM.AGE"
    codelist: CodelistMetadata | None = None
    method: MethodMetadata | None = None
    comment: str | None = None
    mandatory: bool = False
    display_format: str | None = None  # e.g. "DATE9." for numeric ADaM dates
    core: str | None = None  # the IG's core designation: "Req", "Exp", "Perm" (None: not in the IG)
    spec_file: str | None = None
    spec_line: int | None = None


@dataclass(frozen=True)
class DatasetMetadata:
    name: str  # e.g. "AE"
    label: str
    structure: str  # e.g. "One record per adverse event per subject"
    class_: str  # e.g. "EVENTS", "SUBJECT LEVEL ANALYSIS DATASET"
    keys: tuple[str, ...] = ()
    variables: tuple[VariableMetadata, ...] = ()
    value_level: tuple[ValueLevelMetadata, ...] = ()
    standard: str = "SDTMIG 3.4"  # or "ADaMIG 1.3"
    comment: str | None = None
    spec_file: str | None = None

    def variable(self, name: str) -> VariableMetadata:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(name)


@dataclass(frozen=True)
class CtStandard:
    """A controlled terminology package the codelists come from (def:Standard Type="CT")."""

    name: str  # "CDISC/NCI"
    publishing_set: str  # "SDTM", "ADaM"
    version: str  # "2024-09-27"


@dataclass(frozen=True)
class StudyMetadata:
    studyid: str
    name: str
    description: str
    protocol: str
    datasets: tuple[DatasetMetadata, ...] = field(default_factory=tuple)
    ct_standards: tuple[CtStandard, ...] = ()
    metadata_version_oid: str | None = None  # None: "MDV.<studyid>"
    comment: str | None = None  # on the MetaDataVersion


def creation_timestamp(created: datetime | None = None) -> datetime:
    """When a define.xml or Dataset-JSON file is created: ``created`` if given, else
    ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now (UTC, whole seconds)."""
    if created is not None or os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        return fixed_timestamp(created)
    return datetime.now(timezone.utc).replace(microsecond=0)
