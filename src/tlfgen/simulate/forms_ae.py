"""Simulation stage: the adverse event log (ae.csv) and the small invented AE dictionary.

``AE_DICTIONARY`` and ``AE_HIERARCHY`` are the single source of
``specs/dictionaries/ae_dictionary.csv`` (columns LLT,LLTCD,PT,PTCD,HLT,HLTCD,HLGT,HLGTCD,SOC,
SOCCD,VERBATIMS; verbatims separated by "|"): a small dictionary shaped like MedDRA (each PT is its
own LLT, as in MedDRA; HLT and HLGT names modelled on MedDRA's, not checked against a licensed
release). Every code is an invented 8-digit number starting with 9 (LLT/PT 900, HLT 960, HLGT
970, SOC 950) and is NOT a MedDRA code.

Seriousness criteria (AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG, AESMIE) are ticked only on
serious events, from what the event already is (no random draw): death for grade 5, life
threatening for grade 4, hospitalisation for grade 3 to 5, "other medically important" for a
serious event of grade 1 or 2 (no other criterion applies); disability and congenital anomaly
never. Non-serious events leave them blank, as the CRF does.
"""

from __future__ import annotations

import csv
import io
import random

from tlfgen.errors import DataError
from tlfgen.simulate.forms_common import (
    apply_texture,
    create_row,
    format_date,
    format_partial_date,
    format_sentence,
)
from tlfgen.simulate.truth_model import SubjectTruth

_SOC = {
    "INV": ("Investigations", "95000001"),
    "BLD": ("Blood and lymphatic system disorders", "95000002"),
    "VAS": ("Vascular disorders", "95000003"),
    "SKN": ("Skin and subcutaneous tissue disorders", "95000004"),
    "REN": ("Renal and urinary disorders", "95000005"),
    "GI": ("Gastrointestinal disorders", "95000006"),
    "MET": ("Metabolism and nutrition disorders", "95000007"),
    "NRV": ("Nervous system disorders", "95000008"),
    "GEN": ("General disorders and administration site conditions", "95000009"),
    "END": ("Endocrine disorders", "95000010"),
    "INF": ("Infections and infestations", "95000011"),
    "RSP": ("Respiratory, thoracic and mediastinal disorders", "95000012"),
}

#: (PT, PTCD, SOC key, verbatims)
_TERMS = (
    ("Neutrophil count decreased", "90000101", "INV", ("neutropenia", "low neutrophils", "ANC decreased")),
    ("White blood cell count decreased", "90000102", "INV", ("WBC decreased", "leukopenia", "low white cells")),
    ("Platelet count decreased", "90000103", "INV", ("low platelets", "thrombocytopenia", "PLT decreased")),
    ("Lymphocyte count decreased", "90000104", "INV", ("lymphopenia", "low lymphocytes")),
    ("Anaemia", "90000105", "BLD", ("anemia", "low haemoglobin", "Hb decreased")),
    ("Hypertension", "90000106", "VAS", ("hypertension", "high blood pressure", "BP elevated")),
    ("Rash", "90000107", "SKN", ("rash", "skin rash", "maculopapular rash")),
    ("Proteinuria", "90000108", "REN", ("proteinuria", "urine protein positive")),
    ("Reactive cutaneous capillary endothelial proliferation", "90000109", "SKN",
     ("RCCEP", "capillary haemangioma of skin", "reactive capillary proliferation")),
    ("Nausea", "90000110", "GI", ("nausea", "feeling sick")),
    ("Vomiting", "90000111", "GI", ("vomiting", "emesis")),
    ("Decreased appetite", "90000112", "MET", ("anorexia", "poor appetite", "loss of appetite")),
    ("Dysgeusia", "90000113", "NRV", ("taste change", "dysgeusia", "altered taste")),
    ("Fatigue", "90000114", "GEN", ("fatigue", "tiredness", "asthenia")),
    ("Alopecia", "90000115", "SKN", ("hair loss", "alopecia")),
    ("Peripheral sensory neuropathy", "90000116", "NRV",
     ("peripheral neuropathy", "numbness of fingers", "sensory neuropathy")),
    ("Diarrhoea", "90000117", "GI", ("diarrhea", "loose stools")),
    ("Hypothyroidism", "90000118", "END", ("hypothyroidism", "TSH increased low FT4")),
    ("Alanine aminotransferase increased", "90000119", "INV", ("ALT increased", "ALT elevated")),
    ("Aspartate aminotransferase increased", "90000120", "INV", ("AST increased", "AST elevated")),
    ("Palmar-plantar erythrodysaesthesia syndrome", "90000121", "SKN",
     ("hand-foot syndrome", "hand foot skin reaction", "PPE")),
    ("Pneumonia", "90000122", "INF", ("pneumonia", "lung infection")),
    ("Constipation", "90000123", "GI", ("constipation",)),
    ("Epistaxis", "90000124", "RSP", ("nosebleed", "epistaxis")),
    ("Pneumonitis", "90000125", "RSP", ("pneumonitis", "immune-related pneumonitis", "checkpoint pneumonitis")),
)

#: PT -> (HLT, HLGT): the MedDRA-like groups of each PT (codes: ``_GROUP_CODES``)
_GROUPS = {
    "Neutrophil count decreased": ("White blood cell analyses", "Haematology investigations (incl blood groups)"),
    "White blood cell count decreased": ("White blood cell analyses", "Haematology investigations (incl blood groups)"),
    "Platelet count decreased": ("Platelet analyses", "Haematology investigations (incl blood groups)"),
    "Lymphocyte count decreased": ("White blood cell analyses", "Haematology investigations (incl blood groups)"),
    "Anaemia": ("Anaemias NEC", "Anaemias nonhaemolytic and marrow depression"),
    "Hypertension": ("Vascular hypertensive disorders NEC", "Vascular hypertensive disorders"),
    "Rash": ("Rashes, eruptions and exanthems NEC", "Epidermal and dermal conditions"),
    "Proteinuria": ("Urinary abnormalities", "Urinary tract signs and symptoms"),
    "Reactive cutaneous capillary endothelial proliferation": ("Skin vascular abnormalities NEC",
                                                               "Skin vascular abnormalities"),
    "Nausea": ("Nausea and vomiting symptoms", "Gastrointestinal signs and symptoms"),
    "Vomiting": ("Nausea and vomiting symptoms", "Gastrointestinal signs and symptoms"),
    "Decreased appetite": ("Appetite disorders", "Appetite and general nutritional disorders"),
    "Dysgeusia": ("Disturbances of taste", "Neurological disorders NEC"),
    "Fatigue": ("Asthenic conditions", "General system disorders NEC"),
    "Alopecia": ("Alopecias", "Skin appendage conditions"),
    "Peripheral sensory neuropathy": ("Peripheral neuropathies NEC", "Peripheral neuropathies"),
    "Diarrhoea": ("Diarrhoea (excl infective)", "Gastrointestinal motility and defaecation conditions"),
    "Hypothyroidism": ("Thyroid hypofunction disorders", "Thyroid gland disorders"),
    "Alanine aminotransferase increased": ("Liver function analyses", "Hepatobiliary investigations"),
    "Aspartate aminotransferase increased": ("Liver function analyses", "Hepatobiliary investigations"),
    "Palmar-plantar erythrodysaesthesia syndrome": ("Erythemas", "Epidermal and dermal conditions"),
    "Pneumonia": ("Lower respiratory tract and lung infections", "Infections - pathogen unspecified"),
    "Constipation": ("Gastrointestinal atonic and hypomotility disorders NEC",
                     "Gastrointestinal motility and defaecation conditions"),
    "Epistaxis": ("Respiratory tract haemorrhages and bleeding", "Respiratory disorders NEC"),
    "Pneumonitis": ("Lower respiratory tract inflammatory and immunologic conditions",
                    "Lower respiratory tract disorders (excl obstruction and infection)"),
}
#: invented codes of the groups, numbered in name order: HLT 9600nnnn, HLGT 9700nnnn
_GROUP_CODES = {
    **{name: f"9600{n:04d}" for n, name in enumerate(sorted({h for h, _ in _GROUPS.values()}), start=1)},
    **{name: f"9700{n:04d}" for n, name in enumerate(sorted({g for _, g in _GROUPS.values()}), start=1)},
}
#: PT -> (LLT, LLTCD, HLT, HLTCD, HLGT, HLGTCD); the LLT is the PT's own (same name and code)
AE_HIERARCHY: dict[str, tuple[str, str, str, str, str, str]] = {
    pt: (pt, ptcd, _GROUPS[pt][0], _GROUP_CODES[_GROUPS[pt][0]], _GROUPS[pt][1], _GROUP_CODES[_GROUPS[pt][1]])
    for pt, ptcd, _, _ in _TERMS
}

#: PT -> (PT, PTCD, SOC, SOCCD, verbatims)
AE_DICTIONARY: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    pt: (pt, ptcd, _SOC[soc][0], _SOC[soc][1], verbatims) for pt, ptcd, soc, verbatims in _TERMS
}

_ACTIONS = {"DOSE NOT CHANGED", "DOSE REDUCED", "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE"}


def render_ae_dictionary_csv() -> str:
    """The text of specs/dictionaries/ae_dictionary.csv."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["LLT", "LLTCD", "PT", "PTCD", "HLT", "HLTCD", "HLGT", "HLGTCD", "SOC", "SOCCD", "VERBATIMS"])
    for pt, ptcd, soc, soccd, verbatims in sorted(AE_DICTIONARY.values()):
        llt, lltcd, hlt, hltcd, hlgt, hlgtcd = AE_HIERARCHY[pt]
        writer.writerow([llt, lltcd, pt, ptcd, hlt, hltcd, hlgt, hlgtcd, soc, soccd, "|".join(verbatims)])
    return buffer.getvalue()


def compute_seriousness(serious: bool, grade: int) -> dict[str, str]:
    """The seriousness criteria of one event as the CRF shows them (blank unless serious)."""
    names = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
    if not serious:
        return dict.fromkeys(names, "")
    ticked = {"AESDTH": grade == 5, "AESLIFE": grade == 4, "AESHOSP": grade >= 3,
              "AESDISAB": False, "AESCONG": False, "AESMIE": grade <= 2}
    return {name: "Yes" if ticked[name] else "No" for name in names}


def compute_ae_outcome(grade: int, ended: bool) -> str:
    """AEOUT as the EDC shows it."""
    if grade == 5:
        return "Fatal"
    return "Recovered/resolved" if ended else "Not recovered/not resolved"


def create_ae_rows(subject: SubjectTruth, rng: random.Random) -> list[dict[str, str]]:
    """One AE log line per ``AdverseEventTruth``, in start-date order."""
    rows = []
    events = sorted(subject.aes, key=lambda e: (e.start, e.pt, e.grade))
    for recpos, event in enumerate(events, start=1):
        entry = AE_DICTIONARY.get(event.pt)
        if entry is None:
            raise DataError(f"subject {subject.subjid}: AE preferred term {event.pt!r} is not in the "
                            "AE dictionary", hint="use a PT from specs/dictionaries/ae_dictionary.csv")
        if event.action.upper() not in _ACTIONS:
            raise DataError(f"subject {subject.subjid}: AE action {event.action!r} is unknown",
                            hint=f"use one of {sorted(_ACTIONS)}")
        pt, _, soc, _, verbatims = entry
        verbatim = event.verbatim or rng.choice(verbatims)
        start = format_partial_date(event.start) if event.partial_start else format_date(event.start)
        rel = {key: ("Related" if event.rel.get(key, False) else "Not related")
               for key in ("CAM", "ANL", "TAX", "PLT")}
        if subject.arm != "TCAC":
            rel["ANL"] = "Not applicable"
        rows.append(create_row(
            subject.subjid, "LOG", recpos,
            AETERM=apply_texture(verbatim, rng, rate=0.15), AEPT=pt, AESOC=soc,
            AESTDAT=start, AEENDAT=format_date(event.end), AEONGO="No" if event.end else "Yes",
            AETOXGR=str(event.grade), AESER="Yes" if event.serious else "No",
            **compute_seriousness(event.serious, event.grade),
            AERELCAM=rel["CAM"], AERELANL=rel["ANL"], AERELTAX=rel["TAX"], AERELPLT=rel["PLT"],
            AEACN=format_sentence(event.action), AEOUT=compute_ae_outcome(event.grade, event.end is not None),
        ))
    return rows
