"""Lineage layer: what define.xml says about a dataset beyond its spec, taken from the IG and the data.

``create_define_metadata(meta, data, codelists)`` returns the dataset's metadata completed for
Define-XML 2.1 (the XPT and Dataset-JSON writers ignore these fields):

- ``core``: the IG's core designation (``ig_core.yaml``: SDTMIG 3.4, ADaMIG 1.3);
- ``mandatory``: Yes for a Required variable; for a variable the IG does not name (sponsor
  ADaM variables), Yes when every record has a value; No otherwise;
- ``codelist`` for every CT-bound variable (``ct_binding``): the study's CT codelist when the
  data's values are all in it, else a codelist of the values found (NCI codes looked up by value
  in the study's CDISC codelists); MedDRA and ISO 3166 as external dictionaries;
- value-level metadata for a parameterised dataset (``parameter_variable``): SDTM findings by
  --TESTCD (TS by TSPARMCD) for the result variables, SUPP-- by QNAM for QVAL, ADaM BDS by
  PARAMCD for AVAL/AVALC and the derived variables present for some parameters only; rows the
  spec declares win, the data adds the others (type, length, codelist, Mandatory per value);
- a method for every Derived variable (one is made from the spec's source when none is
  declared); Assigned/Predecessor/Collected/Protocol variables carry none (a method text they
  had becomes their comment).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import Mapping

import numpy as np
import pandas as pd
import yaml

from tlfgen.io.metadata import (
    CodelistItem,
    CodelistMetadata,
    DatasetMetadata,
    ExternalDictionary,
    MethodMetadata,
    ValueLevelMetadata,
    VariableMetadata,
)

#: the embedded study codes AEs with a small MedDRA-shaped dictionary whose codes are invented
#: (specs/dictionaries/README.md); a real study names MedDRA and its version here
MEDDRA = ExternalDictionary("Synthetic MedDRA-shaped AE dictionary (codes invented, not MedDRA)", "1.0")
ISO3166 = ExternalDictionary("ISO 3166-1 Alpha-3", "2020-08", "https://www.iso.org/iso-3166-country-codes.html")
MEDDRA_VARIABLES = ("AEDECOD", "AEBODSYS", "AELLT", "AEHLT", "AEHLGT", "AESOC")
#: variable -> codelist id of the study's CT (specs/ct/*.yaml)
CT_BY_NAME = {
    "SEX": "SEX", "RACE": "RACE", "ETHNIC": "ETHNIC", "AGEU": "AGEU", "EPOCH": "EPOCH", "DSCAT": "DSCAT",
    "ARMCD": "ARMCD", "ACTARMCD": "ARMCD", "TRT01P": "ARMCD", "TRT01A": "ARMCD", "TRTA": "ARMCD",
    "ARM": "ARM", "ACTARM": "ARM", "AEACN": "ACN", "AEOUT": "OUT", "AETOXGR": "TOXGR", "ATOXGR": "TOXGR",
    "AEREL": "REL", "AREL": "REL", "EXROUTE": "ROUTE", "EXDOSU": "UNIT", "EXTRT": "EXTRT",
    "DOMAIN": "DOMAIN", "RDOMAIN": "DOMAIN", "SRCDOM": "DOMAIN", "TSPARMCD": "TSPARMCD", "TSPARM": "TSPARM",
    "AESER": "NY", "AESDTH": "NY", "AESHOSP": "NY", "AESLIFE": "NY", "AESDISAB": "NY", "AESCONG": "NY",
    "AESMIE": "NY", "DTHFL": "NY", "STAGE": "STAGE", "TUMLOC": "TUMLOC", "SMOKSTAT": "HABIT",
    "ALCSTAT": "HABIT", "ECOGBL": "ECOG",
}
#: suffix -> codelist id (after the exact names above)
CT_BY_SUFFIX = (("FL", "NY"), ("ORRESU", "UNIT"), ("STRESU", "UNIT"), ("DTF", "DATEFL"), ("METHOD", "METHOD"),
                ("EVAL", None))
#: variables whose codelist is the values found in the dataset (sponsor-defined), by name or suffix
DATA_NAMES = ("PARAMCD", "PARAM", "QNAM", "AVALC", "QORIG", "QEVAL", "AGEGR1", "AGEGR1N", "PDL1GR1",
              "PDL1GR1N", "EOTSTT", "EOSSTT", "DCTREAS", "DCSREAS", "TRT01PN", "TRT01AN", "TRTAN",
              "SRCVAR", "EVNTDESC", "CNSDTDSC", "DSDECOD", "IDVAR", "AREL", "ARELCAM", "ARELANL",
              "ARELTAX", "ARELPLT", "CNSR", "RCRESP")
DATA_SUFFIXES = ("TESTCD", "TEST", "CAT", "SCAT", "STAT")
#: code -> decode pairs: a TESTCD codelist decodes each code by its test name
DECODED_BY = {"PARAMCD": "PARAM", "TSPARMCD": "TSPARM", "QNAM": "QLABEL"}
#: result variables of an SDTM findings domain, by suffix (value level by --TESTCD)
FINDINGS_RESULTS = ("ORRES", "ORRESU", "STRESC", "STRESN", "STRESU")
MAX_CODELIST_VALUES = 60
#: the method of an ADaM traceability or event-description variable whose spec states none
STANDARD_METHODS = {
    "SRCDOM": "The SDTM domain (or ADaM dataset) of the one record AVAL/AVALC/ADT was taken from; blank when "
              "the value comes from several records (their list is in the record lineage)",
    "SRCVAR": "The variable of the SRCDOM record the value was taken from; blank with SRCDOM",
    "SRCSEQ": "The --SEQ of the SRCDOM record the value was taken from; blank with SRCDOM",
    "EVNTDESC": "The description of the event or censoring rule that set ADT (see the value level of ADT)",
    "CNSDTDSC": "For a censored record (CNSR = 1), the description of the censoring date (see ADT)",
}
ORIGINS_WITHOUT_METHOD = ("Collected", "Assigned", "Predecessor", "Protocol")


@lru_cache(maxsize=1)
def load_ig_core() -> dict:
    """``ig_core.yaml`` (package data): core designations of SDTMIG 3.4 and ADaMIG 1.3."""
    text = resources.files("tlfgen.lineage").joinpath("ig_core.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def is_adam(meta: DatasetMetadata) -> bool:
    return meta.standard.upper().startswith("ADAM")


def _prefix(meta: DatasetMetadata) -> str:
    return meta.name[4:] if meta.name.startswith("SUPP") else meta.name


def compute_core(meta: DatasetMetadata) -> dict[str, str]:
    """Variable -> "Req"/"Exp" the IG gives it in this dataset (others: not listed)."""
    core = load_ig_core()
    lists: list[dict] = []
    if is_adam(meta):
        if meta.name == "ADSL" or meta.class_.upper().startswith("SUBJECT LEVEL"):
            lists.append(core["adam"]["ADSL"])
        else:
            lists.append(core["adam"].get(meta.class_.upper(), {}))
            if "CNSR" in {v.name for v in meta.variables}:
                lists.append(core["adam"]["TIME-TO-EVENT"])
    elif meta.name.startswith("SUPP"):
        lists.append(core["sdtm"]["domains"]["SUPP"])
    else:
        sdtm = core["sdtm"]
        klass = meta.class_.lower()
        if klass in ("events", "interventions", "findings"):
            lists += [sdtm["general"], sdtm[klass]]
        lists.append(sdtm["domains"].get(meta.name, {}))
    found: dict[str, str] = {}
    for level in ("exp", "req"):  # Req wins over Exp
        for table in lists:
            for name in table.get(level, []):
                name = name.replace("--", _prefix(meta))
                found[name] = level.capitalize()
    return found


def parameter_variable(meta: DatasetMetadata) -> str | None:
    """The variable whose values parameterise the dataset (None: not parameterised)."""
    names = {v.name for v in meta.variables}
    if meta.name.startswith("SUPP") and "QNAM" in names:
        return "QNAM"
    if is_adam(meta):
        return "PARAMCD" if "PARAMCD" in names else None
    for candidate in (f"{meta.name}TESTCD", "TSPARMCD" if meta.name == "TS" else ""):
        if candidate in names:
            return candidate
    return None


def ct_binding(meta: DatasetMetadata, name: str) -> str | None:
    """How a variable's values are controlled: a CT codelist id, "@data" (the values found),
    "@meddra", "@iso3166", or None (free text, dates, numbers)."""
    if name in MEDDRA_VARIABLES and not is_adam(meta) or name in ("AEDECOD", "AEBODSYS"):
        return "@meddra"
    if name == "COUNTRY":
        return "@iso3166"
    if name in CT_BY_NAME:
        return CT_BY_NAME[name]
    if name in DATA_NAMES or name == parameter_variable(meta):
        return "@data"
    for suffix, target in CT_BY_SUFFIX:
        if name.endswith(suffix) and len(name) > len(suffix):
            return target or "@data"
    stem = name[len(_prefix(meta)):] if name.startswith(_prefix(meta)) and not is_adam(meta) else name
    if stem in DATA_SUFFIXES or is_adam(meta) and name.endswith("STAT"):
        return "@data"
    return None


def _print_alike(series: pd.Series, distinct: pd.Series) -> bool:
    """Whether the values of ``series`` that are equal have one text, so that one stands for the
    others when they are counted per distinct value (``distinct``: some of its records, every distinct
    value among them): not so for 1, 1.0 and True in an object column, or 0.0 and -0.0."""
    if series.dtype == object:
        return all(isinstance(v, str) for v in distinct.dropna())
    if series.dtype.kind == "f":
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        return not (np.signbit(numbers) & (numbers == 0)).any()
    return series.dtype.kind in "iub"


def _values(series: pd.Series) -> list[str]:
    """Distinct non-missing values as text, in sorted order (numbers without '.0')."""
    distinct = series.drop_duplicates()
    present = distinct.dropna() if _print_alike(series, distinct) else series.dropna()
    out = set()
    for value in present.tolist():
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
        if text.strip():
            out.add(text)
    return sorted(out, key=lambda v: (len(v) if v.isdigit() else 0, v))


def _nci_lookup(codelists: Mapping[str, CodelistMetadata]) -> dict[str, str]:
    """Value -> NCI code over the study's CDISC codelists (values with two different codes left out)."""
    codes: dict[str, set[str]] = {}
    for codelist in codelists.values():
        for item in codelist.items:
            if item.nci_code:
                codes.setdefault(item.coded_value, set()).add(item.nci_code)
    return {value: next(iter(found)) for value, found in codes.items() if len(found) == 1}


def create_codelist(meta: DatasetMetadata, var: VariableMetadata, series: pd.Series, data: pd.DataFrame,
                    codelists: Mapping[str, CodelistMetadata]) -> CodelistMetadata | None:
    """The codelist of a CT-bound variable (None when it is not CT-bound or has no values)."""
    binding = ct_binding(meta, var.name)
    if binding is None:
        return None
    if binding == "@meddra":
        return CodelistMetadata("CL.AEDICT", "Adverse Event Dictionary", external=MEDDRA)
    if binding == "@iso3166":
        return CodelistMetadata("CL.ISO3166", "Country Codes", external=ISO3166)
    values = _values(series)
    if not values:
        return None
    known = codelists.get(binding) if binding != "@data" else None
    if known is not None and set(values) <= {i.coded_value for i in known.items}:
        return known
    if len(values) > MAX_CODELIST_VALUES:
        return None
    data_type = "integer" if var.data_type in ("integer", "float") and all(
        re.fullmatch(r"-?\d+", v) for v in values) else "text"
    if var.data_type == "float" and data_type != "integer":
        data_type = "float"
    codes = _nci_lookup(codelists)
    decodes = _decodes(var.name, data, meta)
    known_items = {i.coded_value: i for i in known.items} if known is not None else {}
    items = tuple(known_items.get(v) or CodelistItem(v, decodes.get(v), codes.get(v) if known is None else None,
                                                     extended=known is not None and known.nci_code is not None)
                  for v in values)
    name = f"{known.name} ({meta.name}.{var.name})" if known is not None else f"{var.label} ({meta.name})"
    return CodelistMetadata(f"CL.{meta.name}.{var.name}", name, data_type, items,
                            nci_code=known.nci_code if known is not None else None)


def _decodes(name: str, data: pd.DataFrame, meta: DatasetMetadata) -> dict[str, str]:
    decode = DECODED_BY.get(name)
    if decode is None and name.endswith("TESTCD"):
        decode = name[:-2]
    if decode is None or decode not in data or name not in data:
        return {}
    # the distinct pairs first: the first pair of each code without a blank is the same, among fewer rows
    pairs = data[[name, decode]].drop_duplicates().dropna().drop_duplicates(subset=[name])
    return {str(k): str(v) for k, v in zip(pairs[name], pairs[decode]) if str(v).strip()}


# ---------------------------------------------------------------- value level


def _present(series: pd.Series) -> pd.Series:
    if series.dtype == object:
        return series.notna() & (series.astype(str).str.strip() != "")
    return series.notna()


def _all_present(series: pd.Series) -> bool:
    """``_present`` on every value, asked once per distinct value (equal values are alike present)."""
    return bool(_present(series.drop_duplicates()).all())


def _distinct_by_group(series: pd.Series, groups: pd.Series) -> dict[str, pd.Series]:
    """Per group, the values of ``series`` in it: one record per distinct value where equal values
    print alike (``_print_alike``), else every record."""
    first = ~pd.DataFrame({"group": groups, "value": series}).duplicated()
    if _print_alike(series, series[first]):
        series, groups = series[first], groups[first]
    return {str(key): part for key, part in series.groupby(groups, sort=False)}


def _result_variables(meta: DatasetMetadata, data: pd.DataFrame, param: str) -> list[str]:
    names = [v.name for v in meta.variables]
    if param == "QNAM":
        return ["QVAL"]
    if param == "TSPARMCD":
        return [n for n in ("TSVAL", "TSVALCD") if n in names]
    if not is_adam(meta):
        return [n for n in (meta.name + s for s in FINDINGS_RESULTS) if n in names]
    declared = [vl.variable for vl in meta.value_level]
    differing = []
    groups = data[param]
    for var in meta.variables:
        if var.origin != "Derived" or var.name in ("AVAL", "AVALC") or var.name not in data:
            continue
        populated = _present(data[var.name]).groupby(groups).any()
        if populated.any() and not populated.all():
            differing.append(var.name)
    return list(dict.fromkeys([n for n in ("AVAL", "AVALC") if n in names] + declared + differing))


def _value_type(var: VariableMetadata, values: pd.Series) -> str:
    if var.data_type == "float":
        numbers = pd.to_numeric(values, errors="coerce").dropna()
        return "integer" if len(numbers) and (numbers == numbers.round()).all() else "float"
    if var.data_type == "text" and var.name.endswith(("ORRES", "STRESC")) and len(values):
        numbers = pd.to_numeric(values.astype(str), errors="coerce")
        if numbers.notna().all():
            return "integer" if (numbers == numbers.round()).all() else "float"
    return var.data_type


def create_value_level(meta: DatasetMetadata, data: pd.DataFrame,
                       codelists: Mapping[str, CodelistMetadata]) -> tuple[ValueLevelMetadata, ...]:
    """Value-level rows: the spec's, then one per (result variable, parameter value) in the data."""
    param = parameter_variable(meta)
    if param is None or param not in data or data.empty:
        return tuple(meta.value_level)
    declared = {(vl.variable, vl.where_value): vl for vl in meta.value_level if vl.where_variable == param}
    rows: list[ValueLevelMetadata] = []
    groups = data[param].astype(str)
    labels = _decodes(param, data, meta)
    params = _values(data[param])
    for name in _result_variables(meta, data, param):
        var = meta.variable(name)
        by_value = _distinct_by_group(data[name], groups)  # what follows asks about distinct values only
        for value in params:
            subset = by_value.get(value)
            if subset is None:
                continue
            present = _present(subset)
            if not present.any():
                continue
            values = subset[present]
            spec = declared.pop((name, value), None)
            data_type = spec.data_type if spec else _value_type(var, values)
            length = None
            if data_type == "text" or (var.data_type == "text" and data_type in ("integer", "float")):
                length = max(1, int(values.astype(str).str.encode("utf-8").str.len().max()))
                if data_type != "text":
                    data_type = "text" if var.data_type == "text" else data_type
            codelist = None
            if var.data_type == "text" and not pd.to_numeric(values.astype(str), errors="coerce").notna().any():
                codelist = _value_codelist(values, codelists)
            rows.append(ValueLevelMetadata(
                variable=name, where_variable=param, where_value=value,
                label=spec.label if spec else f"{var.label} for {param} = {value}"
                + (f" ({labels[value]})" if value in labels else ""),
                data_type=data_type, origin=spec.origin if spec else var.origin,
                method=(spec.method if spec else var.method) if (spec.origin if spec else var.origin) == "Derived"
                else None,
                source=spec.source if spec else var.source, length=length, codelist=codelist,
                mandatory=bool(present.all()),
            ))
    rows.extend(declared.values())  # declared for a value the data does not hold
    return tuple(rows)


def _value_codelist(values: pd.Series, codelists: Mapping[str, CodelistMetadata]) -> CodelistMetadata | None:
    """The smallest study codelist holding every value (None: none does)."""
    found = set(_values(values))
    fitting = [c for c in codelists.values() if c.items and found <= {i.coded_value for i in c.items}]
    return min(fitting, key=lambda c: (len(c.items), c.oid)) if fitting else None


# ---------------------------------------------------------------- the dataset


def _default_method(meta: DatasetMetadata, var: VariableMetadata) -> MethodMetadata:
    text = (STANDARD_METHODS.get(var.name) if is_adam(meta) else None) or var.comment or (f"Derived from {var.source}" if var.source else None) or \
        f"Derived as the spec {var.spec_file or meta.spec_file or meta.name} states" + \
        (f" (line {var.spec_line})" if var.spec_line else "")
    return MethodMetadata(f"MT.{meta.name}.{var.name}", f"Algorithm for {meta.name}.{var.name}", text)


def create_define_metadata(meta: DatasetMetadata, data: pd.DataFrame,
                           codelists: Mapping[str, CodelistMetadata]) -> DatasetMetadata:
    """``meta`` completed for define.xml from the IG and ``data`` (the dataset as written)."""
    core = compute_core(meta)
    variables = []
    for var in meta.variables:
        series = data[var.name] if var.name in data else pd.Series([], dtype=object)
        level = core.get(var.name, None if is_adam(meta) else "Perm")
        if level == "Req":
            mandatory = True
        elif level is None:
            mandatory = bool(len(series)) and _all_present(series)
        else:
            mandatory = False
        codelist = var.codelist or create_codelist(meta, var, series, data, codelists)
        method, comment = var.method, var.comment
        if var.origin == "Derived" and method is None:
            method = _default_method(meta, var)
        elif var.origin in ORIGINS_WITHOUT_METHOD and method is not None:
            comment = "; ".join(t for t in (comment, method.description) if t)
            method = None
        variables.append(replace(var, core=level, mandatory=mandatory, codelist=codelist, method=method,
                                 comment=comment))
    done = replace(meta, variables=tuple(variables))
    return replace(done, value_level=create_value_level(done, data, codelists))


def create_ct_codelists(codelists: Mapping[str, object]) -> dict[str, CodelistMetadata]:
    """The study's CT (``spec.ct.Codelist`` by id) as define codelists ``CL.<id>``."""
    out = {}
    for cid, cl in codelists.items():
        out[cid] = CodelistMetadata(
            oid=f"CL.{cid}", name=cl.name, nci_code=cl.nci_code,  # type: ignore[attr-defined]
            items=tuple(CodelistItem(i.value, i.decode, i.nci_code, i.extended)  # type: ignore[attr-defined]
                        for i in cl.items))  # type: ignore[attr-defined]
    return out
