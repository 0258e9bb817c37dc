"""Helpers for the TLF stage tests: the repository root, a small inline ADaM, spec writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def make_adam() -> dict[str, pd.DataFrame]:
    """60 subjects (30 TCAC, 30 TCC) built by explicit rules.

    TCAC: BOR 3 CR, 24 PR, 2 SD, 1 PD  -> ORR 27/30, DCR 29/30.
    TCC:  BOR 1 CR, 12 PR, 11 SD, 6 PD -> ORR 13/30, DCR 24/30.
    """
    ids = [f"S-{i:03d}" for i in range(1, 61)]
    arm = [1] * 30 + [2] * 30
    bor = ["CR"] * 3 + ["PR"] * 24 + ["SD"] * 2 + ["PD"] + ["CR"] + ["PR"] * 12 + ["SD"] * 11 + ["PD"] * 6
    adsl = pd.DataFrame({
        "USUBJID": ids,
        "TRT01PN": np.array(arm, dtype=float),
        "TRT01P": ["TCAC" if a == 1 else "TCC" for a in arm],
        "FASFL": "Y",
        "SAFFL": ["N"] + ["Y"] * 59,
        "AGE": [50.0 + (i % 20) for i in range(60)],
        "AGEGR1": ["<65" if 50 + (i % 20) < 65 else ">=65" for i in range(60)],
        "SEX": ["M" if i % 5 else "F" for i in range(60)],
        "ECOGBL": [float((i // 4) % 2) for i in range(60)],
        "STAGE": ["III" if i % 3 else "IV" for i in range(60)],
        "TUMLOC": [["CERVICAL", "UPPER THORACIC", "MIDDLE THORACIC", "LOWER THORACIC"][i % 4] for i in range(60)],
        "DYSPHBL": [float(i % 3) for i in range(60)],
        "SMOKSTAT": [["NEVER", "FORMER", "CURRENT"][i % 3] for i in range(60)],
        "ALCSTAT": [["NEVER", "FORMER"][i % 2] for i in range(60)],
        "PDL1GR1": [["<1", "1-9", ">=10", "Not evaluable"][i % 4] for i in range(60)],
        "DTHFL": ["Y" if i % 4 == 0 else "" for i in range(60)],
        "DTHDT": [pd.Timestamp("2021-01-01") + pd.Timedelta(days=i) if i % 4 == 0 else pd.NaT for i in range(60)],
        "TRTSDT": [pd.Timestamp("2020-09-01")] * 60,
        "SURGFL": ["Y" if i in (2, 5) else "N" for i in range(60)],
        "SURGDT": [pd.Timestamp("2021-02-01") if i in (2, 5) else pd.NaT for i in range(60)],
        "PCRFL": ["Y" if i == 2 else "N" for i in range(60)],
        "R0FL": ["Y" if i == 5 else "N" for i in range(60)],
        "DTHCAUS": [["DISEASE PROGRESSION", "ADVERSE EVENT"][i % 8 // 4] if i % 4 == 0 else "" for i in range(60)],
        "DCSREAS": ["DEATH" if i % 4 == 0 else "" for i in range(60)],
    })
    rows = []
    for sid, b in zip(ids, bor):
        rows.append({"USUBJID": sid, "PARAMCD": "BOR", "AVALC": b})
        rows.append({"USUBJID": sid, "PARAMCD": "ORR", "AVALC": "Y" if b in ("CR", "PR") else "N"})
        rows.append({"USUBJID": sid, "PARAMCD": "DCR", "AVALC": "Y" if b in ("CR", "PR", "SD") else "N"})
    for k, sid in enumerate(ids):  # depth of response > 50%: 15 TCAC, 6 TCC
        rows.append({"USUBJID": sid, "PARAMCD": "DEPTH50", "AVALC": "Y" if k < 15 or 30 <= k < 36 else "N"})
    adrs = pd.DataFrame(rows)
    tte = []
    for i, sid in enumerate(ids):
        tcac = i < 30
        tte.append({"USUBJID": sid, "PARAMCD": "PFS", "AVALM": (i % 30 + 1) * (1.5 if tcac else 0.7),
                    "CNSR": 1.0 if i % 7 == 0 else 0.0})
        tte.append({"USUBJID": sid, "PARAMCD": "OS", "AVALM": (i % 30 + 2) * (1.2 if tcac else 1.0),
                    "CNSR": 1.0 if i % 3 == 0 else 0.0})
        if bor[i] in ("CR", "PR"):
            tte.append({"USUBJID": sid, "PARAMCD": "DOR", "AVALM": (i % 30 + 1) * (1.3 if tcac else 0.6),
                        "CNSR": 1.0 if i % 5 == 0 else 0.0})
        tte.append({"USUBJID": sid, "PARAMCD": "FUTIME", "AVALM": 2.0 + (i % 30), "CNSR": 0.0})
    adtte = pd.DataFrame(tte)
    adae = pd.DataFrame({
        "USUBJID": ["S-002", "S-002", "S-003", "S-031", "S-031", "S-032", "S-001"],
        "AEDECOD": ["Nausea", "Nausea", "Hypertension", "Nausea", "Rash", "Hypertension", "Nausea"],
        "ATOXGRN": [1.0, 3.0, 2.0, 2.0, 3.0, 1.0, 4.0],
        "TRTEMFL": ["Y"] * 7,
        "AREL": ["Y", "Y", "Y", "Y", "Y", "N", "Y"],
    })
    adae["AETERM"] = adae["AEDECOD"].str.lower()
    adae["AEACN"] = "DOSE NOT CHANGED"
    adae["AEOUT"] = "RECOVERED/RESOLVED"
    return {"ADSL": adsl, "ADRS": adrs, "ADTTE": adtte, "ADAE": adae}


def write_spec(study_dir: Path, name: str, text: str) -> Path:
    path = study_dir / "specs" / "tlf" / name
    path.write_text(text, encoding="utf-8")
    return path
