"""Tests of tlfgen.tlf.figures.consort: box counts as drawn."""

from __future__ import annotations

from tlfgen.tlf.figures.consort import compute_consort_counts, create_consort_figure

SPEC = """
type: figures
figures:
  - id: F7
    kind: consort
    title: Flow
    arm_boxes:
      - {label: "Treatment ongoing", filter: "EOTSTT == 'ONGOING'"}
      - {label: "Conversion surgery", filter: "SURGFL == 'Y'"}
      - {label: "Lost to follow-up", filter: "DCSREAS == 'LOST TO FOLLOW-UP'"}
    analysis_boxes:
      - {label: "Full analysis set", filter: "FASFL == 'Y'"}
      - {label: "Safety set", filter: "SAFFL == 'Y'"}
"""


# 1. counts per arm from ADSL (every ADSL subject is enrolled: S09 counts although not in the FAS)
def test_counts(fig_adam, arms, load_figs):
    (loaded,) = load_figs(SPEC)
    counts = compute_consort_counts(loaded.spec, fig_adam["ADSL"], arms, loaded.filters)
    assert counts.enrolled == 9
    assert counts.allocated == {"TCAC": 4, "TCC": 5}
    assert counts.arm_boxes["TCAC"] == (("Treatment ongoing", 1), ("Conversion surgery", 1), ("Lost to follow-up", 0))
    assert counts.arm_boxes["TCC"] == (("Treatment ongoing", 0), ("Conversion surgery", 0), ("Lost to follow-up", 1))
    assert counts.analysis_boxes == {"TCAC": (("Full analysis set", 4), ("Safety set", 4)),
                                     "TCC": (("Full analysis set", 4), ("Safety set", 3))}


# 2. the drawn box texts carry those counts
def test_drawn_boxes(fig_adam, arms, load_figs):
    (loaded,) = load_figs(SPEC)
    drawn = create_consort_figure(loaded.spec, fig_adam["ADSL"], arms, filters=loaded.filters)
    boxes = {k: v.replace("\n", " ") for k, v in drawn.data["boxes"].items()}
    assert boxes["enrolled"] == "Enrolled (n=9)"
    assert boxes["allocated:TCC"] == "Allocated to TCC Camrelizumab + chemotherapy (n=5)"
    assert boxes["followup:TCC"] == "Follow-up Treatment ongoing: 0 Conversion surgery: 0 Lost to follow-up: 1"
    assert boxes["analysis:TCAC"] == "Analysis Full analysis set: 4 Safety set: 4"
