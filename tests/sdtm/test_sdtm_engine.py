"""Helpers of the SDTM mapping engine (tlfgen.sdtm.engine): columns read, sorting without copies."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from tlfgen.sdtm.engine import derive_arg_names, derive_used_columns, take_sorted
from tlfgen.spec.sdtm import DomainSpec, ResolvedDomain


def test_derive_arg_names_collects_every_text_in_nested_arguments():
    args = {"fields": ["AERELCAM", "AERELANL"], "how": "max", "n": 3, "by": {"x": ["USUBJID"]}}
    assert derive_arg_names(args) == {"AERELCAM", "AERELANL", "max", "USUBJID"}
    assert derive_arg_names({}) == set()


def test_derive_used_columns_names_sources_overrides_derive_args_and_keys():
    spec = DomainSpec.model_validate({
        "domain": "AE", "label": "Adverse Events", "class": "EVENTS", "structure": "x",
        "keys": ["STUDYID", "USUBJID", "AETERM"],
        "sources": [{"form": "ae", "values": {"AETERM": {"source": "ae.AEVERB"}}}],
        "order": ["AESTDTC"],
        "variables": [
            {"name": "AETERM", "label": "Term", "source": "ae.AETERM"},
            {"name": "AEREL", "label": "Rel", "derive": {"name": "compute_any_related",
                                                         "args": {"fields": ["AERELCAM"]}}},
        ],
        "supp": [{"qnam": "AETRTEM", "qlabel": "TE", "source": "ae.AETEFL"}],
    })
    rd = ResolvedDomain(spec, SimpleNamespace(display=str(Path("specs/sdtm/AE.yaml"))))
    used = derive_used_columns(rd, ("STUDYID", "SUBJID"))
    assert used == {"STUDYID", "SUBJID", "USUBJID", "AETERM", "AESTDTC", "AEVERB", "AERELCAM", "AETEFL"}


def test_take_sorted_equals_sort_values_on_the_key_columns():
    data = pd.DataFrame({"k": ["b", "a", "b", None], "n": [2, 1, 1, 0], "v": ["w", "x", "y", "z"]},
                        index=[10, 11, 12, 13])
    taken = take_sorted(data, data[["k", "n"]], na_position="last")
    expected = data.sort_values(["k", "n"], kind="mergesort", na_position="last")
    pd.testing.assert_frame_equal(taken, expected)
    assert taken["v"].tolist() == ["x", "y", "w", "z"]
