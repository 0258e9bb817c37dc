"""TLF stage: row blocks of time-to-event endpoints in tables laid out by treatment group.

Per arm: events n (%), the Kaplan-Meier median (95% CI), optionally the first and third
quartiles and the event-free rate at landmark times; per comparison: the hazard ratio
(log-rank O/E, Mantel-Haenszel or Cox, stratified when the block names strata) and the
log-rank p-value. Statistics come from ``tlfgen.stats`` through ``tlf/estimates.py``; the
study's conventions (R or SAS rule at a final 0.5 plateau, landmark past the last time)
from ``specs/tlf/conventions.yaml``. Anything not estimable prints NE with its reason in the
footnotes; an arm with no subjects prints dashes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tlfgen.spec.tlf import FollowupBlock, TteBlock
from tlfgen.tlf import estimates
from tlfgen.tlf.blocks import (
    BlockContext, _num, analysis, count_cell, est_cell, fmt, header_row, one_per_subject, p_cell, require, row_of,
    select_records,
)
from tlfgen.tlf.model import Analysis, Cell, Row


P_TEST_LABELS = {"logrank": "Log-rank", "cox-lr": "Cox likelihood ratio", "cox-score": "Cox score",
                 "cox-wald": "Cox Wald"}


def tte_records(ctx: BlockContext, block: TteBlock | FollowupBlock) -> pd.DataFrame:
    data = select_records(ctx, block.dataset, block.id, block.label)
    require(data, block.dataset, "PARAMCD", block.time)
    data = data[data["PARAMCD"].astype(str).str.strip() == block.param]
    return one_per_subject(data, block.dataset, f"block {block.id} (PARAMCD {block.param})")


def _strata(ctx: BlockContext, block: TteBlock, subjects: pd.Index) -> np.ndarray | None:
    """One stratum label per subject from the ADSL variables of ``block.strata`` (None if none)."""
    if not block.strata:
        return None
    adsl = ctx.datasets["ADSL"]
    require(adsl, "ADSL", *block.strata)
    frame = adsl.drop_duplicates("USUBJID").set_index("USUBJID").reindex(subjects)[block.strata]
    return np.array(["/".join(str(v) for v in row) for row in frame.itertuples(index=False)], dtype=object)


def create_tte_rows(block: TteBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    data = tte_records(ctx, block)
    require(data.reset_index(), block.dataset, block.censor)
    pr = ctx.precision
    conv = ctx.conventions
    events: dict[str, Cell] = {}
    medians: dict[str, Cell] = {}
    quartiles: dict[float, dict[str, Cell]] = {0.25: {}, 0.75: {}}
    landmarks: dict[float, dict[str, Cell]] = {t: {} for t in block.landmarks}
    rmst: dict[str, Cell] = {}
    analyses: list[Analysis] = []
    present = set(data.index)
    for g in ctx.groups:
        sub = data.reindex([s for s in g.subjects if s in present])
        aid = ctx.analysis_id(block.id, g.key)
        event_subjects = list(sub.index[sub[block.censor] == 0])
        events[g.key] = count_cell(ctx, aid + ".EVENTS", event_subjects, len(sub))
        analyses.append(analysis(ctx, aid + ".EVENTS", f"{block.label}: events", dataset=block.dataset,
                                 block_key=block.id, method=f"count of {block.censor} = 0", group=g.key, role="events"))
        time, event = sub[block.time], 1 - sub[block.censor]
        if not len(sub):
            medians[g.key] = Cell(ctx.empty_cell(), aid + ".MEDIAN")
            for cells in (*quartiles.values(), *landmarks.values(), rmst):
                cells[g.key] = Cell(ctx.empty_cell(), aid)
            continue
        res = estimates.km_median_est(time, event, block.median_ci, plateau=conv.median_plateau)
        medians[g.key] = est_cell(ctx, aid + ".MEDIAN", res, pr.time, "median")
        analyses.append(analysis(ctx, aid + ".MEDIAN", f"{block.label}: Kaplan-Meier median ({block.time})",
                                 dataset=block.dataset, block_key=block.id, method=res.method, group=g.key,
                                 role="median"))
        if block.quartiles:
            band = "loglog" if block.median_ci == "symmetric" else block.median_ci
            for prob, cells in quartiles.items():
                q = estimates.km_quantile_est(time, event, prob, band, plateau=conv.median_plateau)
                qid = f"{aid}.Q{int(prob * 100)}"
                cells[g.key] = est_cell(ctx, qid, q, pr.time, "quantile")
                analyses.append(analysis(ctx, qid, f"{block.label}: Kaplan-Meier {int(prob * 100)}th percentile",
                                         dataset=block.dataset, block_key=block.id, method=q.method, group=g.key,
                                         role="quartile"))
        for at, cells in landmarks.items():
            lm = estimates.km_landmark_est(time, event, at, block.survival_ci, beyond=conv.survival_beyond_last)
            lid = f"{aid}.AT{fmt(at, 0 if float(at).is_integer() else 2).replace('.', '_')}"
            cells[g.key] = est_cell(ctx, lid, lm, pr.survival, "survival")
            analyses.append(analysis(ctx, lid, f"{block.label}: Kaplan-Meier event-free rate at {at:g}",
                                     dataset=block.dataset, block_key=block.id, method=lm.method, group=g.key,
                                     role="landmark"))
        if block.rmst_tau is not None:
            rm = estimates.rmst_est(time, event, block.rmst_tau)
            rmst[g.key] = est_cell(ctx, aid + ".RMST", rm, pr.time, "rmst")
            analyses.append(analysis(ctx, aid + ".RMST", f"{block.label}: RMST up to {block.rmst_tau:g}",
                                     dataset=block.dataset, block_key=block.id, method=rm.method, group=g.key,
                                     role="rmst"))
    rows = [header_row(block.label, block.id), row_of(ctx, block.event_label, events, block.id),
            row_of(ctx, "Median, months (95% CI)", medians, block.id)]
    if block.quartiles:
        rows += [row_of(ctx, "25th percentile, months (95% CI)", quartiles[0.25], block.id),
                 row_of(ctx, "75th percentile, months (95% CI)", quartiles[0.75], block.id)]
    for at, cells in landmarks.items():
        rows.append(row_of(ctx, block.landmark_label.format(t=f"{at:g}"), cells, block.id))
    if block.rmst_tau is not None:
        rows.append(row_of(ctx, f"RMST up to {block.rmst_tau:g} months (95% CI)", rmst, block.id))
    if ctx.has_comparison:
        rows += _comparison_rows(block, ctx, data, analyses)
    return rows, analyses


def _comparison_rows(block: TteBlock, ctx: BlockContext, data: pd.DataFrame,
                     analyses: list[Analysis]) -> list[Row]:
    pr = ctx.precision
    present = set(data.index)
    hr_cells: dict[str, Cell] = {}
    p_cells: dict[str, Cell] = {}
    ph_cells: dict[str, Cell] = {}
    stratified = " (stratified)" if block.strata else ""
    for pair in ctx.pairs:
        treat, ref = ctx.group(pair[0]), ctx.group(pair[1])
        pair_data = data.reindex([s for g in (treat, ref) for s in g.subjects if s in present])
        group = np.where(pair_data.index.isin(treat.subjects), treat.key, ref.key)
        strata = _strata(ctx, block, pair_data.index)
        time, event = pair_data[block.time], 1 - pair_data[block.censor]
        parts = ctx.pair_parts(pair)
        res = estimates.hazard_ratio_est(time, event, group, treat.key, ref.key, block.hr, ties=block.ties,
                                         strata=strata)
        aid = ctx.analysis_id(block.id, "HR", *parts)
        hr_cells[ctx.cmp_key(pair)] = est_cell(ctx, aid, res, pr.ratio, "hr", tuple(sorted(pair_data.index)))
        analyses.append(analysis(ctx, aid, f"{block.label}: hazard ratio {pair[0]} vs {pair[1]}{stratified}",
                                 dataset=block.dataset, block_key=block.id, method=res.method, role="hr"))
        if block.logrank_p:
            lr = (estimates.logrank_est(time, event, group, strata=strata) if block.p_test == "logrank" else
                  estimates.cox_test_est(time, event, group, treat.key, ref.key, block.p_test.removeprefix("cox-"),
                                         ties=block.ties, strata=strata))
            aid = ctx.analysis_id(block.id, "LOGRANK", *parts)
            p_cells[ctx.cmp_key(pair)] = p_cell(ctx, aid, lr)
            analyses.append(analysis(ctx, aid, f"{block.label}: log-rank test{stratified}", dataset=block.dataset,
                                     block_key=block.id, method=lr.method, role="logrank"))
        if block.ph_check != "none":
            ph = estimates.ph_check_est(time, event, group, treat.key, ref.key, block.ph_check)
            aid = ctx.analysis_id(block.id, "PH", *parts)
            ph_cells[ctx.cmp_key(pair)] = p_cell(ctx, aid, ph)
            analyses.append(analysis(ctx, aid, f"{block.label}: proportional-hazards check", dataset=block.dataset,
                                     block_key=block.id, method=ph.method, role="ph"))
    rows = [row_of(ctx, ctx.pair_label(ctx.pairs[0], "Hazard ratio{pair} (95% CI)"), hr_cells, block.id)]
    if p_cells:
        test = P_TEST_LABELS[block.p_test]
        rows.append(row_of(ctx, f"{'Stratified ' + test.lower() if block.strata else test} p-value", p_cells,
                           block.id))
    if ph_cells:
        rows.append(row_of(ctx, "Proportional hazards (Schoenfeld) p-value", ph_cells, block.id))
    return rows


def create_followup_rows(block: FollowupBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    data = tte_records(ctx, block)
    pr = ctx.precision
    cells: dict[str, Cell] = {}
    analyses: list[Analysis] = []
    for g in ctx.groups:
        x = pd.to_numeric(data[block.time], errors="coerce").reindex(list(g.subjects)).dropna()
        arr = x.to_numpy(dtype=float)
        aid = ctx.analysis_id(block.id, g.key)
        if not arr.size:
            cells[g.key] = Cell(ctx.empty_cell(), aid)
            continue
        med = float(np.median(arr))
        lo, hi = float(arr.min()), float(arr.max())
        cells[g.key] = Cell(
            ctx.templates.cell("median_range", median=fmt(med, pr.median), min=fmt(lo, pr.median),
                               max=fmt(hi, pr.median)), aid,
            (("median", _num(med)), ("min", _num(lo)), ("max", _num(hi))), tuple(sorted(x.index)))
        analyses.append(analysis(ctx, aid, f"{block.label}: median (range) of {block.param} {block.time}",
                                 dataset=block.dataset, block_key=block.id,
                                 method="median and range of observed follow-up", group=g.key, role="summary"))
    return [row_of(ctx, block.label, cells, block.id, indent=0)], analyses


TTE_BUILDERS: dict[type, Any] = {TteBlock: create_tte_rows, FollowupBlock: create_followup_rows}
