"""TLF stage: build a ``Table`` from a table spec and the ADaM datasets.

Three layouts, chosen by the blocks of the spec:

- by group (Table 1, Table 2): one column per arm, an optional total and
  comparison columns (p-values, HRs, differences): one for a single pair, or one per
  pair for each arm vs a control or all pairs; blocks from ``blocks.py`` and ``tte_rows.py``;
- adverse events by term (Table 3): per arm "Any grade" and "Grade >= 3" columns (headers, grade
  variable and threshold from the block: "Any severity" and "Severe" for AESEV);
- regression (logistic for ORR, Cox for PFS): univariable and multivariable
  estimate (95% CI) and p columns, one row per term.

Titles and footnotes come from the output's template (``text.py``); the footnotes of
the conventions applied on the data (NE and why, N=0 dashes, Firth after separation)
follow them, so no printed NE or dash is left unexplained.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

import pandas as pd

from tlfgen.errors import DataError
from tlfgen.spec.study import ResolvedStudy
from tlfgen.spec.tlf import AeBlock, LoadedOutput, RegressionBlock, TableSpec
from tlfgen.tlf import estimates
from tlfgen.tlf.blocks import (
    BUILDERS, CMP, TOTAL, BlockContext, Group, _num, count_cell, fmt, fmt_p, header_row, map_distinct, norm,
    require, row_of, select_records,
)
from tlfgen.tlf.tte_rows import TTE_BUILDERS
from tlfgen.tlf.model import Analysis, Cell, Column, Row, Table
from tlfgen.tlf.text import TemplateSet


def create_groups(out: LoadedOutput, study: ResolvedStudy, adsl: pd.DataFrame, *, total: bool,
                  by: str, header: Literal["code", "label"] = "code") -> tuple[Group, ...]:
    """Population subjects per arm (study arm order), then the total group if asked.

    Each group is keyed by its armcd; its label (the column header) is the armcd, or the arm's
    label from ``specs/study.yaml`` when ``header`` is ``label``."""
    require(adsl, "ADSL", "USUBJID", by)
    pop = adsl[out.filters["population"].mask(adsl)] if "population" in out.filters else adsl
    arm_of = {float(a.trtn): a.armcd for a in study.spec.study.arms}
    codes = pd.to_numeric(pop[by], errors="coerce")
    unknown = pop.loc[~codes.isin(list(arm_of)), "USUBJID"]
    if not unknown.empty:
        raise DataError(f"{by} of USUBJID {unknown.iloc[0]} is not an arm number of the study "
                        f"({', '.join(f'{int(k)}={v}' for k, v in arm_of.items())})",
                        file="adam/adsl.xpt", column=by, hint=f"check {by} or the arms in specs/study.yaml")
    groups = [Group(arm.armcd, arm.arm if header == "label" else arm.armcd, tuple(sorted(pop.loc[codes == float(arm.trtn), "USUBJID"])))
              for arm in study.spec.study.arms]
    if total:
        groups.append(Group(TOTAL, "", tuple(sorted(pop["USUBJID"]))))
    return tuple(groups)


def _header(templates: TemplateSet, label: str, n: int) -> str:
    return templates.cell("column_header", label=label, n=str(n))


def resolve_pairs(spec: TableSpec, study: ResolvedStudy) -> tuple[tuple[str, str], ...]:
    """The (treatment, reference) armcds compared by the table, in column order."""
    cols = spec.columns
    arms = [a.armcd for a in study.spec.study.arms]
    if isinstance(cols.comparisons, list):
        return tuple((p.treatment, p.reference) for p in cols.comparisons)
    if cols.comparisons == "each-vs-control":
        return tuple((arm, cols.reference) for arm in arms if arm != cols.reference)
    if cols.comparisons == "pairwise":
        return tuple((arms[i], arms[j]) for i in range(len(arms)) for j in range(i + 1, len(arms)))
    if cols.treatment is not None and cols.reference is not None:
        return ((cols.treatment, cols.reference),)
    return ()


def _comparison_columns(spec: TableSpec, pairs: tuple[tuple[str, str], ...],
                        label_of: Mapping[str, str]) -> tuple[Column, ...]:
    header = spec.columns.comparison
    if len(pairs) == 1:
        return (Column(CMP, header, header=header, kind="comparison"),) if header else ()
    return tuple(
        Column(f"{CMP}.{t}.{r}", f"{t} vs {r}",
               header=f"{label_of.get(t, t)} vs {label_of.get(r, r)}" + (f"\n{header}" if header else ""),
               kind="comparison")
        for t, r in pairs
    )


def create_table(out: LoadedOutput, study: ResolvedStudy, datasets: Mapping[str, pd.DataFrame],
                 templates: TemplateSet) -> Table:
    spec = out.spec
    assert isinstance(spec, TableSpec)
    if spec.population.dataset not in datasets:
        raise DataError(f"dataset {spec.population.dataset} (population of {spec.id}) was not found",
                        file=f"adam/{spec.population.dataset.lower()}.xpt", hint="run the ADaM stage first")
    groups = create_groups(out, study, datasets[spec.population.dataset], total=spec.columns.total,
                           by=spec.columns.by, header=spec.columns.header)
    if spec.columns.total:
        groups = groups[:-1] + (Group(TOTAL, spec.columns.total_label, groups[-1].subjects),)
    pairs = resolve_pairs(spec, study)
    kinds = {type(b) for b in spec.blocks}
    if AeBlock in kinds:
        ae = next(b for b in spec.blocks if isinstance(b, AeBlock))
        columns = tuple(
            Column(f"{g.key}.{part}", label, len(g.subjects), spanner=_header(templates, g.label, len(g.subjects)),
                   kind="total" if g.key == TOTAL else "group")
            for g in groups
            for part, label in (("ANY", ae.any_header), ("HIGH", ae.high_text))
        )
    elif RegressionBlock in kinds:
        columns = (
            Column("UNI.EST", "Estimate (95% CI)", spanner="Univariable", kind="comparison"),
            Column("UNI.P", "p-value", spanner="Univariable", kind="comparison"),
            Column("MULTI.EST", "Estimate (95% CI)", spanner="Multivariable", kind="comparison"),
            Column("MULTI.P", "p-value", spanner="Multivariable", kind="comparison"),
        )
    else:
        columns = tuple(
            Column(g.key, g.label, len(g.subjects), _header(templates, g.label, len(g.subjects)),
                   kind="total" if g.key == TOTAL else "group")
            for g in groups
        )
        columns += _comparison_columns(spec, pairs, {g.key: g.label for g in groups})
    ctx = BlockContext(
        output_id=spec.id, groups=groups, columns=columns, datasets=datasets, templates=templates,
        precision=spec.precision, population_text=spec.population.filter, filters=out.filters,
        treatment=spec.columns.treatment, reference=spec.columns.reference, pairs=pairs,
        conventions=out.conventions,
    )
    rows: list[Row] = []
    analyses: list[Analysis] = []
    for block in spec.blocks:
        builder = BLOCK_BUILDERS.get(type(block))
        if builder is None:
            raise DataError(f"{out.display}: block {block.id} ({block.kind}) cannot be mixed with this table layout")
        block_rows, block_analyses = builder(block, ctx)
        rows += block_rows
        analyses += block_analyses
    context = _template_context(out, study, groups, analyses, spec)
    context["notes"] = list(ctx.notes)
    context["p_values"] = ctx.p_style
    title, footnotes = templates.output_text(out.template, context)
    footnotes = footnotes + tuple(n for n in ctx.notes if n not in footnotes)
    return Table(
        id=spec.id, kind="table", title=title, stub_header=spec.stub_header, columns=columns, rows=tuple(rows),
        footnotes=footnotes, spec_path=out.display, cutoff=study.cutoff.isoformat(), analyses=tuple(analyses),
    )


def _template_context(out: LoadedOutput, study: ResolvedStudy, groups: tuple[Group, ...],
                      analyses: list[Analysis], spec: Any) -> dict[str, Any]:
    methods: dict[str, dict[str, str]] = {}
    for item in analyses:
        block = item.id.split(".")[1]
        methods.setdefault(block, {}).setdefault(item.role or "main", item.method)
    return {
        "output_id": spec.id,
        "study_id": study.studyid,
        "cutoff": study.cutoff.isoformat(),
        "population": spec.population.label,
        "population_filter": spec.population.filter,
        "arms": {g.key: {"label": g.label, "n": len(g.subjects)} for g in groups},
        "treatment": getattr(spec.columns, "treatment", None) if hasattr(spec, "columns") else None,
        "reference": getattr(spec.columns, "reference", None) if hasattr(spec, "columns") else None,
        "methods": methods,
        "blocks": {b.id: b.model_dump() for b in getattr(spec, "blocks", [])},
    }


# -- adverse events by preferred term -----------------------------------------------------------


def _ae_text(values: pd.Series, case: str) -> pd.Series:
    """Term text as printed: stripped, and "NEUTROPHIL COUNT" -> "Neutrophil count" for sentence case."""
    text = values.astype(str).str.strip()
    return text.str[:1].str.upper() + text.str[1:].str.lower() if case == "sentence" else text


def _ordered_terms(worst: pd.DataFrame, key: str, subjects: set[str], block: AeBlock, minimum: int) -> list[str]:
    """Terms of ``worst[key]`` by descending subject count (then name) or by name, at least ``minimum`` subjects."""
    freq = worst[worst["USUBJID"].isin(subjects)].groupby(key)["USUBJID"].nunique()
    if block.sort == "frequency":
        terms = sorted(freq.index, key=lambda t: (-int(freq[t]), t))
    else:
        terms = sorted(freq.index)
    return [t for t in terms if int(freq[t]) >= minimum]


def create_ae_rows(block: AeBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    """Subjects with at least one record per term (any grade) and with worst grade >= high_grade.

    With ``soc``, each system organ class row (subjects with any term in it, at their worst grade
    in it) is followed by its terms, indented (SAS-style SOC / PT tables); ``min_subjects`` applies
    to the terms and a class none of whose terms is shown is left out."""
    data = select_records(ctx, block.dataset, block.id, block.label)
    require(data, block.dataset, block.term, block.grade, *([block.soc] if block.soc else []))
    data = data.assign(_TERM=_ae_text(data[block.term], block.term_case),
                       _SOC=_ae_text(data[block.soc], block.term_case) if block.soc else "",
                       _GRADE=pd.to_numeric(data[block.grade], errors="coerce"))
    worst = data.groupby(["USUBJID", "_SOC", "_TERM"], sort=True)["_GRADE"].max().reset_index()
    any_worst = data.groupby("USUBJID", sort=True)["_GRADE"].max()
    total_subjects = set().union(*(g.subjects for g in ctx.groups))
    rows, analyses = [], []

    def make_row(label: str, per_subject: pd.Series, key: tuple[str, ...], indent: int) -> Row:
        cells: dict[str, Cell] = {}
        for g in ctx.groups:
            mine = per_subject[per_subject.index.isin(g.subjects)]
            for part, chosen in (("ANY", mine), ("HIGH", mine[mine >= block.high_grade])):
                aid = ctx.analysis_id(block.id, *key, g.key, part)
                cells[f"{g.key}.{part}"] = count_cell(ctx, aid, list(chosen.index), len(g.subjects))
                what = "any grade" if part == "ANY" else (
                    f"worst grade >= {block.high_grade}" if block.high_header is None
                    else f"{block.high_header} (worst {block.grade} >= {block.high_grade})")
                analyses.append(Analysis(aid, f"{' / '.join(key) if len(key) > 1 else label}: subjects with {what}",
                                         block.dataset, ctx.population_text,
                                         ctx.filters[block.id].text if block.id in ctx.filters else "",
                                         "count of subjects, once per term at worst grade", g.key, "count"))
        return row_of(ctx, label, cells, block.id, indent=indent)

    def term_rows(frame: pd.DataFrame, soc: tuple[str, ...], indent: int) -> list[Row]:
        return [make_row(term, frame[frame["_TERM"] == term].set_index("USUBJID")["_GRADE"], (*soc, term), indent)
                for term in _ordered_terms(frame, "_TERM", total_subjects, block, block.min_subjects)]

    rows.append(make_row(block.any_label, any_worst, ("ANY",), 0))
    if not block.soc:
        rows += term_rows(worst, (), 1)
        return rows, analyses
    by_soc = worst.groupby(["USUBJID", "_SOC"], sort=True)["_GRADE"].max().reset_index()
    for soc in _ordered_terms(by_soc, "_SOC", total_subjects, block, 1):
        terms = term_rows(worst[worst["_SOC"] == soc], (soc,), 1)
        if terms:
            rows.append(make_row(soc, by_soc[by_soc["_SOC"] == soc].set_index("USUBJID")["_GRADE"], (soc,), 0))
            rows += terms
    return rows, analyses


# -- regression -------------------------------------------------------------------------------


def _model_arms(ctx: BlockContext) -> tuple[str, list[str]]:
    """The reference arm and the arms compared with it (one model: every pair shares the reference)."""
    references = {r for _, r in ctx.pairs}
    if len(references) != 1:
        raise DataError(f"{ctx.output_id}: a regression table compares every arm with one reference arm; "
                        f"the comparisons have references {sorted(references)}",
                        hint="use comparisons: each-vs-control (or one pair) for regression tables")
    return references.pop(), [t for t, _ in ctx.pairs]


def _regression_frame(block: RegressionBlock, ctx: BlockContext) -> tuple[pd.DataFrame, list[str]]:
    adsl = ctx.datasets["ADSL"]
    reference, treatments = _model_arms(ctx)
    arm_of = {s: g.key for g in ctx.groups if g.key in (reference, *treatments) for s in g.subjects}
    subjects = [s for g in ctx.groups if g.key in (reference, *treatments) for s in g.subjects]
    frame = adsl[adsl["USUBJID"].isin(subjects)].set_index("USUBJID").reindex(subjects)
    out = pd.DataFrame(index=frame.index)
    out["TRT"] = [arm_of[s] for s in frame.index]
    for cov in block.covariates:
        if cov.variable not in frame.columns:
            require(frame.reset_index(), "ADSL", cov.variable)
        out[cov.variable] = map_distinct(_level_text, frame[cov.variable])
    data = select_records(ctx, block.dataset, block.id, block.label)
    if block.model == "logistic":
        hits = set(data.loc[ctx.filters[f"{block.id}.responder"].mask(data), "USUBJID"])
        out["Y"] = [1.0 if s in hits else 0.0 for s in out.index]
        outcome = ["Y"]
    else:
        data = data[data["PARAMCD"].astype(str).str.strip() == block.param].set_index("USUBJID")
        out = out[out.index.isin(data.index)]
        out["TIME"] = pd.to_numeric(data[block.time], errors="coerce").reindex(out.index)
        out["EVENT"] = 1.0 - pd.to_numeric(data[block.censor], errors="coerce").reindex(out.index)
        outcome = ["TIME", "EVENT"]
    for cov in block.covariates:  # values outside the listed levels count as missing
        if cov.levels:
            out.loc[~out[cov.variable].isin([str(norm(lv.value)) for lv in cov.levels]), cov.variable] = ""
    return out, outcome


def _level_text(value: Any) -> str:
    """A covariate value as model level text ("" when missing)."""
    level = norm(value)
    return "" if level is None else str(level)


def _complete(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Complete cases for the model's covariates (TRT is never missing)."""
    covariates = [c for c in columns if c != "TRT"]
    if not covariates:
        return frame
    return frame[(frame[covariates] != "").all(axis=1)]


def _model_note(ctx: BlockContext, note: str) -> None:
    """An infinite estimate prints NE (with the NE legend); a Firth refit is a plain footnote."""
    if "printed NE" in note:
        ctx.ne(note)
    else:
        ctx.note(note[:1].upper() + note[1:] + ("" if note.endswith(".") else "."))


def create_regression_rows(block: RegressionBlock, ctx: BlockContext) -> tuple[list[Row], list[Analysis]]:
    full, outcome = _regression_frame(block, ctx)
    kind = "OR" if block.model == "logistic" else "HR"
    reference, treatments = _model_arms(ctx)
    present = set(full["TRT"])
    for arm in treatments:  # an arm with no subjects: no term for it; NE with the reason
        if arm not in present or reference not in present:
            ctx.ne(f"{kind} {arm} vs {reference} not estimable (NE): an arm has no subjects")
    both_arms = reference in present and len(present) > 1
    all_terms = [*(["TRT"] if both_arms else []), *[c.variable for c in block.covariates]]
    frame = _complete(full, all_terms)
    refs: dict[str, Any] = {"TRT": reference}
    for cov in block.covariates:
        refs[cov.variable] = str(norm(cov.reference)) if cov.reference is not None else sorted(
            frame[cov.variable].unique().tolist())[0]
    options = {"method": block.method, "separation": block.separation, "ci": block.ci, "test": block.test}
    empty_fit = pd.DataFrame(columns=["term", "est", "lower", "upper", "p"])
    multi, multi_label, notes = (estimates.fit_terms(block.model, frame, outcome, all_terms, refs, block.ties,
                                                     **options) if all_terms else (empty_fit, "", ()))
    for note in notes:
        _model_note(ctx, f"multivariable model: {note}")
    uni: dict[str, Any] = {}
    uni_label = multi_label
    uni_n: dict[str, tuple[str, ...]] = {}
    for name in all_terms:
        data = _complete(full, [name])
        uni_n[name] = tuple(sorted(data.index))
        uni[name], uni_label, notes = estimates.fit_terms(block.model, data, outcome, [name], refs, block.ties,
                                                          **options)
        for note in notes:
            _model_note(ctx, f"univariable model: {note}")
    uni.setdefault("TRT", empty_fit)
    uni_n.setdefault("TRT", ())
    pr = ctx.precision
    rows: list[Row] = [header_row(block.label, block.id)]
    analyses = [
        Analysis(ctx.analysis_id(block.id, "UNI"), f"{block.label}: univariable models (subjects with the factor known)", block.dataset,
                 ctx.population_text, "", uni_label, "", "univariable"),
        Analysis(ctx.analysis_id(block.id, "MULTI"), f"{block.label}: multivariable model ({len(frame)} subjects)", block.dataset,
                 ctx.population_text, "", multi_label, "", "multivariable"),
    ]
    subjects = tuple(sorted(frame.index))

    def cells_for(term: str, fit: pd.DataFrame, part: str, subjects: tuple[str, ...]) -> dict[str, Cell]:
        aid = ctx.analysis_id(block.id, part)
        hit = fit[fit["term"] == term]
        if hit.empty:
            if term.startswith("TRT="):
                ne = Cell(ctx.templates.cell("est_ci", est="NE", lower="NE", upper="NE"), aid)
                return {f"{part}.EST": ne, f"{part}.P": Cell("NE", aid)}
            return {}
        r = hit.iloc[0]
        est = Cell(ctx.templates.cell("est_ci", est=fmt(r["est"], pr.ratio), lower=fmt(r["lower"], pr.ratio),
                                      upper=fmt(r["upper"], pr.ratio)), aid,
                   ((kind.lower(), _num(r["est"])), ("lower", _num(r["lower"])), ("upper", _num(r["upper"]))),
                   subjects)
        p = Cell(ctx.templates.cell("p_value", p=fmt_p(r["p"], ctx.p_style)), aid, (("p", _num(r["p"])),))
        return {f"{part}.EST": est, f"{part}.P": p}

    def add(label: str, term: str, source: str, indent: int) -> None:
        cells = {**cells_for(term, uni[source], "UNI", uni_n[source]), **cells_for(term, multi, "MULTI", subjects)}
        rows.append(row_of(ctx, label, cells, block.id, indent))

    for arm in treatments:
        add(f"{block.treatment_label}: {arm} vs {reference}", f"TRT={arm}", "TRT", 1)
    for cov in block.covariates:
        rows.append(Row(cov.label, (), 1, "header", block.id))
        labels = {str(norm(lv.value)): lv.text for lv in cov.levels}
        present = sorted(frame[cov.variable].unique().tolist())
        order = [str(norm(lv.value)) for lv in cov.levels if str(norm(lv.value)) in present] or present
        ref = refs[cov.variable]
        for level in order:
            if level == ref:
                rows.append(row_of(ctx, f"{labels.get(level, level)} (reference)", {}, block.id, 2))
            else:
                add(f"{labels.get(level, level)} vs {labels.get(ref, ref)}", f"{cov.variable}={level}",
                    cov.variable, 2)
    return rows, analyses


BLOCK_BUILDERS = {**BUILDERS, **TTE_BUILDERS, AeBlock: create_ae_rows, RegressionBlock: create_regression_rows}
