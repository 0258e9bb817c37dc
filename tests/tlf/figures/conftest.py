"""Shared inline ADaM for the figure tests: 9 subjects, 4 per arm in the FAS (S09 is not in the FAS).

PFS (AVALM, CNSR): TCAC S01 2.0 event, S02 4.0 censored, S03 6.0 event, S04 8.0 censored;
TCC S05 1.0 event, S06 3.0 event, S07 5.0 censored, S08 7.0 event; S09 0.5 event (not FAS).
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import pytest

from tlfgen.tlf.figures.common import Arm
from tlfgen.tlf.figures.spec import LoadedFigure, load_figures_file

NAT = None
IDS = [f"S{i:02d}" for i in range(1, 10)]
ARMS = (Arm("TCAC", "Anlotinib + camrelizumab + chemotherapy", 0), Arm("TCC", "Camrelizumab + chemotherapy", 1))
STUDY_ARMS = [("TCAC", "Anlotinib + camrelizumab + chemotherapy"), ("TCC", "Camrelizumab + chemotherapy")]


def _dates(values: list[str | None]) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype=object))


def make_adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": IDS,
        "TRT01P": ["TCAC"] * 4 + ["TCC"] * 5,
        "FASFL": ["Y"] * 8 + ["N"],
        "SAFFL": ["Y"] * 7 + ["N", "N"],
        "AGEGR1": ["<65", ">=65", "<65", "<65", ">=65", "<65", "<65", ">=65", "<65"],
        "SEX": ["M", "F", "M", "F", "M", "M", "F", "F", "M"],
        "ECOGBL": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
        "SURGFL": ["N", "Y", "N", "N", "N", "N", "N", "N", "N"],
        "DTHFL": ["N", "N", "Y", "N", "N", "Y", "N", "N", "N"],
        "EOTSTT": ["DISCONTINUED", "DISCONTINUED", "DISCONTINUED", "ONGOING", "DISCONTINUED",
                   "DISCONTINUED", "DISCONTINUED", "", "DISCONTINUED"],
        "DCSREAS": ["", "", "DEATH", "", "LOST TO FOLLOW-UP", "DEATH", "", "", ""],
        "TRTSDT": _dates(["2020-01-01", "2020-02-01", "2020-01-15", "2020-03-01", "2020-01-01", "2020-01-10",
                          "2020-02-01", NAT, "2020-01-01"]),
        "TRTEDT": _dates(["2020-06-30", "2020-03-31", "2020-07-01", "2020-12-31", "2020-02-01", "2020-05-01",
                          "2020-04-01", NAT, "2020-01-01"]),
        "LSTALVDT": _dates(["2021-01-10", "2020-05-15", "2020-08-01", "2021-01-05", "2020-04-01", "2020-09-01",
                            "2020-06-01", "2020-02-01", "2020-01-20"]),
        "DTHDT": _dates([NAT, NAT, "2020-08-20", NAT, NAT, "2020-09-30", NAT, NAT, NAT]),
        "SURGDT": _dates([NAT, "2020-05-15", NAT, NAT, NAT, NAT, NAT, NAT, NAT]),
    })


def make_adtte() -> pd.DataFrame:
    pfs = pd.DataFrame({
        "USUBJID": IDS,
        "PARAMCD": "PFS",
        "AVALM": [2.0, 4.0, 6.0, 8.0, 1.0, 3.0, 5.0, 7.0, 0.5],
        "CNSR": [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        "ADT": _dates(["2020-03-01", "2020-05-15", "2020-08-20", "2020-12-01", "2020-01-31", "2020-04-03",
                       "2020-06-01", "2020-02-01", "2020-01-10"]),
    })
    # DOR: TCAC responders never progress, so no HR can be estimated
    dor = pd.DataFrame({
        "USUBJID": ["S01", "S02", "S06", "S08"],
        "PARAMCD": "DOR",
        "AVALM": [5.0, 2.0, 3.0, 4.0],
        "CNSR": [1.0, 1.0, 0.0, 1.0],
        "ADT": _dates(["2020-08-01", "2020-05-15", "2020-04-03", "2020-06-01"]),
    })
    return pd.concat([pfs, dor], ignore_index=True)


def make_adrs() -> pd.DataFrame:
    best = pd.DataFrame({
        "USUBJID": ["S01", "S02", "S03", "S05", "S06", "S07", "S08", "S09"],
        "PARAMCD": "BESTPCHG",
        "AVAL": [-60.0, -35.5, 10.0, 25.0, -40.0, 0.0, -100.0, 5.0],
        "AVALC": "",
    })
    bor = pd.DataFrame({
        "USUBJID": IDS,
        "PARAMCD": "BOR",
        "AVAL": float("nan"),
        "AVALC": ["PR", "PR", "SD", "NE", "PD", "PR", "SD", "CR", "SD"],
    })
    ovr = pd.DataFrame({
        "USUBJID": ["S01", "S01", "S02", "S02", "S06", "S05"],
        "PARAMCD": "OVR",
        "AVAL": float("nan"),
        "AVALC": ["PR", "CR", "SD", "PR", "PR", "PD"],
        "ADT": _dates(["2020-02-12", "2020-04-01", "2020-03-01", "2020-04-01", "2020-02-20", "2020-01-31"]),
    })
    return pd.concat([best, bor, ovr], ignore_index=True)


@pytest.fixture()
def fig_adam() -> dict[str, pd.DataFrame]:
    return {"ADSL": make_adsl(), "ADTTE": make_adtte(), "ADRS": make_adrs()}


@pytest.fixture()
def arms() -> tuple[Arm, ...]:
    return ARMS


@pytest.fixture()
def study_arms() -> list[tuple[str, str]]:
    return list(STUDY_ARMS)


@pytest.fixture()
def load_figs(tmp_path) -> Callable[[str], tuple[LoadedFigure, ...]]:
    """Write a figures spec into tmp_path and load it (arms TCAC, TCC)."""

    def load(text: str) -> tuple[LoadedFigure, ...]:
        path = tmp_path / "figures.yaml"
        path.write_text(text, encoding="utf-8")
        return load_figures_file(path, ["TCAC", "TCC"], root=tmp_path)

    return load
