"""A second, invented oncology study (tests/adam/example_study) runs on the same derivations, new specs only.

The SDTM inputs are CSV files; ADSL, ADRS and ADTTE are built by the ADaM engine
from the study's own specs (different confirmation rules, a new anti-cancer
therapy rule instead of surgery, other parameters: TTP, DEPTH30).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tlfgen.adam.engine import run_dataset
from tlfgen.spec.adam import load_adam_spec_files
from tlfgen.spec.base import load_model
from tlfgen.spec.study import StudySpec

STUDY = Path(__file__).parent / "example_study"
DAY0 = pd.Timestamp("2022-10-03")
NUMERIC = ("SEQ", "VISITNUM", "STRESN", "DOSE")


def _read_sdtm(domain: str) -> pd.DataFrame:
    data = pd.read_csv(STUDY / "sdtm" / f"{domain.lower()}.csv", dtype=str, keep_default_na=False)
    data = data.replace("", float("nan"))
    for col in data.columns:
        if col.endswith(NUMERIC):
            data[col] = pd.to_numeric(data[col])
    return data


@pytest.fixture(scope="module")
def built() -> dict[str, object]:
    spec, _ = load_model(StudySpec, STUDY / "specs" / "study.yaml")
    specs = load_adam_spec_files(sorted((STUDY / "specs" / "adam").glob("*.yaml")), root=STUDY)
    sources: dict[str, pd.DataFrame] = {}
    out: dict[str, object] = {}
    for ds in specs.datasets:
        for item in ds.spec.inputs:
            if item.startswith("sdtm.") and item not in sources:
                sources[item] = _read_sdtm(item.split(".")[1])
        inputs = {item: sources[item] for item in ds.spec.inputs}
        result = run_dataset(ds, inputs, spec.study)
        sources[f"adam.{ds.name}"] = result.data
        out[ds.name] = result.data
        out[f"{ds.name}_findings"] = result.findings
    return out


def _param(data: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    rows = data[data["PARAMCD"] == paramcd].copy()
    rows.index = rows["USUBJID"].str[-3:]
    return rows


def test_dataset_order_and_shapes(built):
    assert list(k for k in built if not k.endswith("findings")) == ["ADSL", "ADRS", "ADTTE"]
    assert built["ADSL_findings"] == [] and built["ADTTE_findings"] == []
    assert len(built["ADSL"]) == 5
    assert len(built["ADTTE"]) == 15  # 5 subjects x PFS, TTP, OS


def test_bor_uses_this_study_rules(built):
    bor = _param(built["ADRS"], "BOR")
    # E02: PR-NE-PR with ne_between_responses = break -> SD; E03: PR after the new therapy not analysed;
    # E04: SD on day 28 < sd_min_days 42 then PD -> PD
    assert bor["AVALC"].to_dict() == {"E01": "CR", "E02": "SD", "E03": "SD", "E04": "PD", "E05": "SD"}
    assert bor["SRCSEQ"].tolist() == [2.0, 1.0, 1.0, 2.0, 1.0]
    orr = _param(built["ADRS"], "ORR")
    assert orr["AVALC"].tolist() == ["Y", "N", "N", "N", "N"]
    # the first PR of the confirmed response (RSSEQ 1), not the confirmed CR that determined BOR (RSSEQ 2)
    assert ((orr.loc["E01", "ADT"] - DAY0).days, orr.loc["E01", "SRCSEQ"]) == (42, 1.0)


def test_analysis_flag_after_new_therapy(built):
    ovr = _param(built["ADRS"], "OVR").loc["E03"]
    assert ovr["ANL01FL"].tolist() == ["Y", "Y", None]
    assert ovr["NACTDT"].tolist() == [DAY0 + pd.Timedelta(days=100)] * 3


def test_depth_and_best_change(built):
    best = _param(built["ADRS"], "BESTPCHG")
    assert best["AVAL"].to_dict() == {"E01": -90.0, "E02": -40.0, "E03": -10.0, "E04": -10.0}  # E05: no baseline
    assert _param(built["ADRS"], "DEPTH30")["AVALC"].tolist() == ["Y", "Y", "N", "N", "N"]


def test_recist_recomputation_and_findings(built):
    ovr = _param(built["ADRS"], "OVR")
    assert ovr.loc["E01", "RCRESP"].tolist() == ["PR", "CR", "CR"]  # nodal target of 5 mm is normal
    assert ovr.loc["E04", "RCRESP"].tolist() == ["SD", "PD"]  # new lesion
    findings = [f for f in built["ADRS_findings"] if f.rule == "RECIST-MISMATCH"]
    assert [(f.usubjid, f.value) for f in findings] == [
        ("ONCX02-E03", "RS=PR; RECIST=SD; date=2022-11-14"),
        ("ONCX02-E05", "RS=SD; RECIST=NE; date=2022-11-14"),
        ("ONCX02-E05", "RS=SD; RECIST=NE; date=2022-12-26"),
    ]


def test_time_to_event(built):
    tte = built["ADTTE"]
    got = {p: _param(tte, p)[["AVAL", "CNSR"]].astype(int).apply(tuple, axis=1).to_dict() for p in ("PFS", "TTP", "OS")}
    assert got["PFS"] == {"E01": (127, 1), "E02": (169, 0), "E03": (85, 1), "E04": (57, 0), "E05": (101, 0)}
    assert got["TTP"] == {"E01": (127, 1), "E02": (169, 0), "E03": (85, 1), "E04": (57, 0), "E05": (85, 1)}
    # E01 died after the cutoff: alive at the last contact
    assert got["OS"] == {"E01": (127, 1), "E02": (169, 1), "E03": (201, 0), "E04": (151, 0), "E05": (101, 0)}
    pfs = _param(tte, "PFS")
    assert pfs.loc["E03", ["CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ"]].tolist() == [
        "LAST ASSESSMENT BEFORE NEW ANTI-CANCER THERAPY", "RS", "RSDTC", 2.0]
    assert pfs.loc["E05", ["EVNTDESC", "SRCDOM", "SRCVAR"]].tolist() == ["DEATH", "ADSL", "DTHDT"]
    assert pfs.loc["E02", "AVALM"] == 169 / 30.4375
