"""Benchmark data (issue 25): the CDISC pilot study replicated N times, with a lab-sized LB.

``create_pilot_study(target, copies)`` writes ``<target>/`` as a tlfgen study started from SDTM:
the specs of ``examples/cdiscpilot01`` and each of its SDTM domains ``copies`` times, copy ``k``
(k >= 1) with ``-kk`` appended to every USUBJID, so the ADaM stage sees ``306 x copies``
subjects. The pilot package shipped here has no LB, so a synthetic one is added: for each SV
record of each subject, one record per lab test (17 tests: about 200 records per subject, the
size of the pilot's own LB), 23 columns as in the pilot's LB, values from a seeded generator.
ADSL gets one more step, admiral's last-known-alive date (``LSTALVDT``: the last complete date
over LB, AE, EX and DS, as admiral's ADSL template), so the stage must read LB, as admiral's
programs do. Nothing in the repository is changed.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt import complete_metadata, read_xpt, write_xpt

REPO = Path(__file__).resolve().parents[1]
PILOT = REPO / "examples" / "cdiscpilot01"
LAB_TESTS = (("ALB", "Albumin", "g/L", 33, 49), ("ALP", "Alkaline Phosphatase", "U/L", 35, 125),
             ("ALT", "Alanine Aminotransferase", "U/L", 6, 43), ("AST", "Aspartate Aminotransferase", "U/L", 10, 40),
             ("BILI", "Bilirubin", "umol/L", 3, 21), ("BUN", "Blood Urea Nitrogen", "mmol/L", 1.4, 8.6),
             ("CA", "Calcium", "mmol/L", 2.1, 2.6), ("CHOL", "Cholesterol", "mmol/L", 3.9, 7.2),
             ("CK", "Creatine Kinase", "U/L", 18, 198), ("CREAT", "Creatinine", "umol/L", 53, 133),
             ("GLUC", "Glucose", "mmol/L", 3.9, 6.4), ("HGB", "Hemoglobin", "mmol/L", 7.4, 10.0),
             ("K", "Potassium", "mmol/L", 3.4, 5.4), ("PLAT", "Platelet", "10^9/L", 130, 394),
             ("SODIUM", "Sodium", "mmol/L", 132, 147), ("URATE", "Urate", "umol/L", 125, 494),
             ("WBC", "Leukocytes", "10^9/L", 3.8, 10.7))
LSTALVDT_STEP = """\
  - id: lstalvdt
    derive: derive_var_extreme_dt
    description: last known alive date (admiral ADSL template), the last complete date in LB, AE, EX, DS
    args:
      new_var: LSTALVDT
      mode: last
      events:
        - {source: sdtm.LB, date: LBDTC}
        - {source: sdtm.AE, date: AESTDTC}
        - {source: sdtm.EX, date: EXENDTC}
        - {source: sdtm.DS, date: DSSTDTC}
"""
LSTALVDT_VARIABLE = ("  - {name: LSTALVDT, label: Date Last Known Alive, type: date, "
                     "method: \"Last complete date of LB.LBDTC, AE.AESTDTC, EX.EXENDTC, DS.DSSTDTC\"}\n")


def create_copy(data: pd.DataFrame, copy: int) -> pd.DataFrame:
    """Copy ``copy`` of a domain: USUBJID with ``-kk`` appended (copy 0 unchanged)."""
    if copy == 0 or "USUBJID" not in data.columns:
        return data
    out = data.copy()
    out["USUBJID"] = out["USUBJID"].astype(str) + f"-{copy:02d}"
    return out


def create_replicated(data: pd.DataFrame, copies: int) -> pd.DataFrame:
    """``copies`` copies of a domain, one after the other, each with its own subject ids."""
    return pd.concat([create_copy(data, k) for k in range(copies)], ignore_index=True)


def create_lab(sv: pd.DataFrame, seed: int = 20251207) -> pd.DataFrame:
    """A synthetic LB: one record per SV record and lab test, dated at the visit, LBSEQ per subject."""
    rng = np.random.default_rng(seed)
    n_tests = len(LAB_TESTS)
    rows = np.repeat(np.arange(len(sv)), n_tests)
    test = np.tile(np.arange(n_tests), len(sv))
    codes, names, units, low, high = (np.array([t[i] for t in LAB_TESTS]) for i in range(5))
    low, high = low.astype(float), high.astype(float)
    value = np.round(rng.normal((low + high)[test] / 2, (high - low)[test] / 4), 1)
    usubjid = sv["USUBJID"].to_numpy(dtype=object)[rows]
    seq = pd.Series(usubjid).groupby(usubjid, sort=False).cumcount().to_numpy() + 1
    text = value.astype(str).astype(object)
    indicator = np.where(value < low[test], "LOW", np.where(value > high[test], "HIGH", "NORMAL")).astype(object)
    n = len(rows)
    return pd.DataFrame({
        "STUDYID": sv["STUDYID"].to_numpy(dtype=object)[rows], "DOMAIN": np.full(n, "LB", dtype=object),
        "USUBJID": usubjid, "LBSEQ": seq.astype(float), "LBTESTCD": codes[test].astype(object),
        "LBTEST": names[test].astype(object), "LBCAT": np.full(n, "CHEMISTRY", dtype=object),
        "LBORRES": text, "LBORRESU": units[test].astype(object),
        "LBORNRLO": low[test].astype(str).astype(object), "LBORNRHI": high[test].astype(str).astype(object),
        "LBSTRESC": text, "LBSTRESN": value, "LBSTRESU": units[test].astype(object),
        "LBSTNRLO": low[test], "LBSTNRHI": high[test], "LBNRIND": indicator,
        "VISITNUM": sv["VISITNUM"].to_numpy(dtype=float)[rows], "VISIT": sv["VISIT"].to_numpy(dtype=object)[rows],
        "VISITDY": sv["VISITDY"].to_numpy(dtype=float)[rows], "LBDTC": sv["SVSTDTC"].to_numpy(dtype=object)[rows],
        "LBDY": sv["VISITDY"].to_numpy(dtype=float)[rows], "LBBLFL": np.where(sv["VISITNUM"].to_numpy()[rows] == 3,
                                                                             "Y", "").astype(object),
    })


def _write(frame: pd.DataFrame, meta: DatasetMetadata, path: Path) -> None:
    loose = dataclasses.replace(meta, variables=tuple(dataclasses.replace(v, length=None) for v in meta.variables))
    write_xpt(frame, complete_metadata(loose, frame), path)


def add_lstalvdt(text: str) -> str:
    """The ADSL spec text with sdtm.AE and sdtm.LB among its inputs and the LSTALVDT step and variable added."""
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("inputs: ["))
    lines[at] = lines[at].rstrip().rstrip("]") + ", sdtm.AE, sdtm.LB]\n"
    text = "".join(lines)
    head, tail = text.split("\nvariables:\n", 1)
    return head + "\n" + LSTALVDT_STEP + "variables:\n" + tail.rstrip("\n") + "\n" + LSTALVDT_VARIABLE


def create_pilot_study(target: Path, copies: int) -> dict[str, int]:
    """Write the replicated pilot study to ``target`` (replaced); returns the records per domain."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PILOT / "specs", target / "specs")
    adsl = target / "specs" / "adam" / "ADSL.yaml"
    adsl.write_text(add_lstalvdt(adsl.read_text(encoding="utf-8")), encoding="utf-8")
    folder = target / "sdtm"
    folder.mkdir(parents=True)
    counts = {}
    sv = None
    for path in sorted((PILOT / "sdtm").glob("*.xpt")):
        data, meta = read_xpt(path)
        big = create_replicated(data, copies)
        _write(big, meta, folder / path.name)
        counts[path.stem.upper()] = len(big)
        if path.stem == "sv":
            sv = big
    assert sv is not None
    lab = create_lab(sv)
    lab_meta = DatasetMetadata(name="LB", label="Laboratory Test Results", structure="", class_="", variables=tuple(
        VariableMetadata(c, c, "float" if lab[c].dtype == np.float64 else "text") for c in lab.columns))
    _write(lab, lab_meta, folder / "lb.xpt")
    counts["LB"] = len(lab)
    return counts
