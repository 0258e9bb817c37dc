"""AE: the MedDRA-shaped hierarchy carried from the study's coding dictionary, and the seriousness
criteria collected on the CRF, on the embedded study (tests/conftest.py runs it once)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyreadstat
import pytest

from tlfgen.simulate.forms_ae import compute_seriousness

ROOT = Path(__file__).resolve().parents[2]
CRITERIA = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")


@pytest.fixture(scope="module")
def ae(embedded_run):
    study, _ = embedded_run
    df, _ = pyreadstat.read_xport(str(study.sdtm_dir / "ae.xpt"))
    return df


def _dictionary() -> dict[str, dict[str, str]]:
    with (ROOT / "specs" / "dictionaries" / "ae_dictionary.csv").open(encoding="utf-8", newline="") as handle:
        return {row["PT"].upper(): row for row in csv.DictReader(handle)}


def _raw_ae() -> list[dict[str, str]]:
    """raw/ae.csv without the injected duplicate of raw/README.md's data-problem table (item 4)."""
    with (ROOT / "raw" / "ae.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    seen, kept = set(), []
    for row in rows:
        key = tuple(v for k, v in row.items() if k != "RECPOS")
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def test_1_every_coded_ae_carries_the_dictionary_hierarchy(ae) -> None:
    coding = _dictionary()
    coded = ae[ae["AEDECOD"].isin(coding)]
    assert len(coded) == len(ae) == len(_raw_ae())
    for _, rec in coded.iterrows():
        entry = coding[rec["AEDECOD"]]
        assert (rec["AELLT"], rec["AEHLT"], rec["AEHLGT"], rec["AESOC"]) == (
            entry["LLT"].upper(), entry["HLT"].upper(), entry["HLGT"].upper(), entry["SOC"].upper())
        assert [int(rec[v]) for v in ("AELLTCD", "AEPTCD", "AEHLTCD", "AEHLGTCD", "AESOCCD", "AEBDSYCD")] == [
            int(entry[c]) for c in ("LLTCD", "PTCD", "HLTCD", "HLGTCD", "SOCCD", "SOCCD")]


def test_2_an_example_record(ae) -> None:
    """Alopecia sits under MedDRA's HLT Alopecias, HLGT Skin appendage conditions, SOC Skin and
    subcutaneous tissue disorders (the codes are the synthetic dictionary's own)."""
    rec = ae[ae["AEDECOD"] == "ALOPECIA"].iloc[0]
    assert (rec["AEDECOD"], rec["AEHLT"], rec["AEHLGT"], rec["AESOC"]) == (
        "ALOPECIA", "ALOPECIAS", "SKIN APPENDAGE CONDITIONS", "SKIN AND SUBCUTANEOUS TISSUE DISORDERS")
    assert (rec["AEPTCD"], rec["AESOCCD"]) == (90000115, 95000004)


def test_3_seriousness_criteria_collected_for_serious_events_only(ae) -> None:
    serious = ae[ae["AESER"] == "Y"]
    assert len(serious) == sum(r["AESER"].strip().lower() == "yes" for r in _raw_ae()) > 0
    assert (serious[list(CRITERIA)] == "Y").any(axis=1).all()  # every SAE meets a criterion
    assert (ae.loc[ae["AESER"] == "N", list(CRITERIA)] == "").all().all()
    assert set(ae[list(CRITERIA)].stack()) <= {"Y", "N", ""}


@pytest.mark.parametrize(("serious", "grade", "ticked"), [
    (False, 3, {}),
    (True, 5, {"AESDTH", "AESHOSP"}),
    (True, 4, {"AESLIFE", "AESHOSP"}),
    (True, 3, {"AESHOSP"}),
    (True, 1, {"AESMIE"}),
])
def test_4_crf_seriousness_from_grade(serious: bool, grade: int, ticked: set[str]) -> None:
    found = compute_seriousness(serious, grade)
    assert list(found) == list(CRITERIA)
    if not serious:
        assert set(found.values()) == {""}
    else:
        assert {k for k, v in found.items() if v == "Yes"} == ticked
        assert {v for k, v in found.items() if k not in ticked} == {"No"}
