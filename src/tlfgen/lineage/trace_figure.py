"""Lineage layer: ``tlfgen trace F1`` — the subjects of a Kaplan-Meier figure, per arm, down to raw rows.

The subjects are chosen as the figure chooses them (``subject_arms``, ``param_records`` of
``tlf.figures.common``); each comes with its time and censoring record, the records behind it
(``TraceContext.adam_record``) and the spec rules on the path (``paths.path_rules``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from tlfgen.errors import UsageError
from tlfgen.lineage.explorer_store import RecordStore
from tlfgen.lineage.paths import keep_raw, path_rules, raw_forms, record_scope
from tlfgen.lineage.trace import TraceContext, _unknown

def _figures(ctx: TraceContext) -> dict[str, Any]:
    from tlfgen.tlf.figures.spec import load_figure_specs

    if "figures" not in ctx._cache:
        ctx._cache["figures"] = {f.id.upper(): f for f in load_figure_specs(ctx.study)}
    return ctx._cache["figures"]


def km_figure_ids(ctx: TraceContext) -> list[str]:
    from tlfgen.tlf.figures.spec import KmFigure

    return [f.id for f in _figures(ctx).values() if isinstance(f.spec, KmFigure)]


def trace_figure(ctx: TraceContext, target: str, *, store: RecordStore | None = None) -> dict[str, Any]:
    """A Kaplan-Meier figure traced: per arm the subjects drawn (the figure's own selection:
    ``subject_arms``, ``param_records``), their time, censoring and records, and the rules on the path.

    ``store`` (the explorer page's ``RecordStore``): each arm's subjects come as ``[[subject index,
    [record index]], ...]`` into that store, with all their raw rows, ``forms`` naming the raw forms
    on the path (the page filters by them), instead of one dict per record."""
    from tlfgen.tlf.figures.common import param_records, subject_arms
    from tlfgen.tlf.figures.run import figure_arms
    from tlfgen.tlf.figures.spec import KmFigure

    loaded = _figures(ctx).get(target.strip().upper())
    if loaded is None:
        raise _unknown("figure", target, km_figure_ids(ctx))
    spec = loaded.spec
    if not isinstance(spec, KmFigure):
        raise UsageError(f"{spec.id} is a {spec.kind} figure; trace follows the subjects of Kaplan-Meier figures",
                         hint="Kaplan-Meier figures: " + ", ".join(km_figure_ids(ctx)))
    arms = figure_arms(loaded, [(a.armcd, a.arm) for a in ctx.study.spec.study.arms])
    population = loaded.filters.get("population")
    drawn = subject_arms(ctx.adam("ADSL"), population, arms)
    chosen = param_records(ctx.adam(spec.dataset), spec.dataset, spec.param, drawn.index, spec.time, spec.censor)
    data = ctx.adam_rows(spec.dataset)
    data = data[(data["PARAMCD"].astype(str).str.strip() == spec.param) & data["USUBJID"].isin(chosen.index)]
    positions = dict(zip(data["USUBJID"], data.index))
    reads = [(spec.dataset, v) for v in dict.fromkeys(("AVAL", spec.time, spec.censor))]
    reads += [("ADSL", c) for c in sorted(population.columns)] if population is not None else []
    reads += [("ADSL", "TRT01P")]
    nodes = sorted({f"adam.{ds}.{var}" for ds, var in reads} & set(ctx.graph.nodes))
    domains = ctx.sdtm_domains_above(nodes)
    shown = tuple(var for ds, var in reads if ds == spec.dataset)
    by_arm = []
    records: list[Any] = []
    for arm in arms:
        subjects = [u for u, a in drawn.items() if a == arm.armcd and u in positions]
        if store is None:
            rows: list[Any] = copy.deepcopy([{"usubjid": u, "records": [ctx.adam_record(
                spec.dataset, int(positions[u]), domains, shown)]} for u in subjects])
            records += [r for row in rows for r in row["records"]]
        else:
            found = store.records_at(ctx, spec.dataset, np.asarray([positions[u] for u in subjects], dtype=np.int64),
                                     domains, shown).tolist()
            rows = [[store.subject(u), [i]] for u, i in zip(subjects, found)]
            records += found
        censor = pd.to_numeric(chosen.loc[subjects, spec.censor], errors="coerce")
        by_arm.append({"armcd": arm.armcd, "label": arm.label, "n": len(subjects), "events": int((censor == 0).sum()),
                       "censored": int((censor == 1).sum()), "subjects": rows})
    if store is None:
        scope = record_scope(spec.dataset, data, records)
    else:
        scope = store.scope(ctx, spec.dataset, data.index.to_numpy(dtype=np.int64), records)
    rules = path_rules(ctx.graph, ctx.specs("adam"), nodes, scope)
    forms = raw_forms(rules)
    for arm in by_arm if store is None else []:
        for row in arm["subjects"]:
            keep_raw(row["records"], forms)
    loc = loaded.source.location(("figures", loaded.index))
    return {"kind": "figure", "output": spec.id, "title": spec.title, "figure": spec.kind,
            "spec": f"{loc.file}:{loc.line}", "dataset": spec.dataset, "param": spec.param,
            "time": spec.time, "censor": spec.censor,
            "population": loaded.spec.population.filter or "", "arms": by_arm, "rules": rules,
            "forms": sorted(forms)}
