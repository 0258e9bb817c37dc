"""Spec layer: the study spec (``specs/study.yaml``) and the resolved study folder.

The study spec holds the study's identity, arms, data cutoff, folder paths
and visit schedule. ``load_study`` resolves it against the study folder:
every path must stay inside that folder unless given on the command line.
Stage specs (SDTM, ADaM, TLF, CT) are loaded by their own spec modules from
the ``ResolvedStudy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tlfgen.errors import Location, SpecError
from tlfgen.spec.base import SpecSource, StrictModel, load_yaml, resolve_inside, validate_model

STUDY_SPEC = Path("specs") / "study.yaml"


class Arm(StrictModel):
    #: any case, as the SDTM ARMCD holds it (``Pbo``, ``Xan_Lo``); compared exactly, unique ignoring case
    armcd: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,19}$")
    arm: str
    trtn: int
    description: str = ""


class Paths(StrictModel):
    raw: str = "raw"
    sdtm: str = "sdtm"
    adam: str = "adam"
    outputs: str = "outputs"
    specs: str = "specs"


class VisitRule(StrictModel):
    """Maps raw FOLDER values to VISIT, VISITNUM and EPOCH.

    ``folder`` is either a literal ("SCRN") or a pattern with ``{n}`` ("C{n}D1");
    with a pattern, VISITNUM = ``visitnum`` + n * ``step`` and ``{n}`` in
    ``visit`` is replaced by n.
    """

    folder: str
    visit: str
    visitnum: float
    step: float = 0
    epoch: str

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.folder).replace(r"\{n\}", r"(?P<n>\d+)") + "$")

    def match(self, folder: str) -> tuple[str, float, str] | None:
        m = self.regex.match(folder.strip().upper())
        if not m:
            return None
        if "n" in m.groupdict():
            n = int(m.group("n"))
            return self.visit.replace("{n}", str(n)), self.visitnum + n * self.step, self.epoch
        return self.visit, self.visitnum, self.epoch


class StudyInfo(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    name: str
    description: str
    protocol: str
    country: str = "CHN"
    cutoff: date
    #: Days per month for every time in months (ADTTE AVALM, figures): 30.4375 = 365.25 / 12
    #: (admiral, SAS conventions) unless the study's publication counted otherwise.
    days_per_month: float = Field(default=30.4375, gt=0, le=31)
    arms: list[Arm] = Field(min_length=1)
    paths: Paths = Paths()
    #: where the study's data starts: raw EDC exports (mapped by specs/sdtm), supplied SDTM
    #: datasets (sdtm/*.xpt, never rewritten) or supplied ADaM datasets (adam/*.xpt)
    start: Literal["raw", "sdtm", "adam"] = "raw"

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms: list[Arm]) -> list[Arm]:
        seen: dict[str, str] = {}
        for arm in arms:
            if arm.armcd.upper() in seen:
                first = seen[arm.armcd.upper()]
                raise ValueError(f"arm code {arm.armcd} is listed twice" if first == arm.armcd else
                                 f"arm codes {first} and {arm.armcd} differ only in case")
            seen[arm.armcd.upper()] = arm.armcd
        return arms


class Documents(StrictModel):
    """How the outputs look: one font family for tables, listings and figures (one whose widths
    tlfgen knows: column widths are computed from them), sizes in points."""

    font: Literal["DejaVu Sans", "DejaVu Serif"] = "DejaVu Sans"
    table_size: float = Field(default=8.0, ge=6, le=12)
    listing_size: float = Field(default=7.0, ge=6, le=12)
    max_column_share: float = Field(default=0.4, gt=0.05, le=1.0)
    #: files written for each table and listing unless its spec says ``formats:``
    formats: list[Literal["docx", "xlsx", "rtf"]] = Field(default_factory=lambda: ["docx", "xlsx", "rtf"])


class StudySpec(StrictModel):
    study: StudyInfo
    visits: list[VisitRule] = Field(default_factory=list)
    documents: Documents = Documents()

    @model_validator(mode="after")
    def _check_visits(self) -> "StudySpec":
        folders = [v.folder for v in self.visits]
        dup = sorted({f for f in folders if folders.count(f) > 1})
        if dup:
            raise ValueError(f"visit folder {dup[0]} is listed twice")
        return self


@dataclass
class ResolvedStudy:
    """The study folder with its study spec loaded and its paths resolved."""

    root: Path
    spec: StudySpec
    source: SpecSource
    raw_dir: Path
    sdtm_dir: Path
    adam_dir: Path
    outputs_dir: Path
    specs_dir: Path
    #: stage specs loaded on demand, keyed by stage name
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def studyid(self) -> str:
        return self.spec.study.id

    @property
    def cutoff(self) -> date:
        return self.spec.study.cutoff

    @property
    def start(self) -> str:
        """Where the data starts: "raw", "sdtm" (supplied SDTM) or "adam" (supplied ADaM)."""
        return self.spec.study.start

    def supplies(self, stage: str) -> bool:
        """True when the user supplies the datasets ``stage`` would build ("sdtm" or "adam"), so
        that stage does not run and its specs are not needed."""
        order = ("raw", "sdtm", "adam")
        return stage in order[1:] and order.index(stage) <= order.index(self.start)

    def visit_of(self, folder: str) -> tuple[str, float, str] | None:
        for rule in self.spec.visits:
            found = rule.match(folder)
            if found:
                return found
        return None

    def spec_files(self, subdir: str, pattern: str = "*.yaml") -> list[Path]:
        folder = self.specs_dir / subdir
        return sorted(folder.glob(pattern)) if folder.is_dir() else []

    def display(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


def load_study(root: Path, *, overrides: dict[str, Path] | None = None) -> ResolvedStudy:
    """Load ``specs/study.yaml`` under ``root``; ``overrides`` are paths given on the command line."""
    root = Path(root)
    if not root.is_dir():
        raise SpecError(f"study folder {root} does not exist", location=Location(str(root)))
    spec_path = root / STUDY_SPEC
    if not spec_path.is_file():
        raise SpecError(
            "no study spec found", location=Location(str(spec_path)),
            hint="run tlfgen in a study folder holding specs/study.yaml, or pass --study DIR",
        )
    doc = load_yaml(spec_path, root=root)
    spec = validate_model(StudySpec, doc)
    overrides = overrides or {}
    paths = spec.study.paths

    def place(name: str) -> Path:
        if name in overrides:
            return Path(overrides[name]).resolve()
        return resolve_inside(root, getattr(paths, name), what=name,
                              location=doc.source.location(("study", "paths", name)))

    placed = {name: place(name) for name in ("raw", "sdtm", "adam", "outputs", "specs")}
    _check_separate_roots(placed, doc.source)
    return ResolvedStudy(
        root=root.resolve(), spec=spec, source=doc.source,
        raw_dir=placed["raw"], sdtm_dir=placed["sdtm"], adam_dir=placed["adam"],
        outputs_dir=placed["outputs"], specs_dir=placed["specs"],
    )


#: folders tlfgen writes into (each is cleaned and rewritten by its stage)
_OUTPUT_ROOTS = ("sdtm", "adam", "outputs")


def _check_separate_roots(placed: dict[str, Path], source: SpecSource) -> None:
    """Each output root is its own folder: not the same as, inside or around another output
    root, the raw folder or the specs folder (a stage would overwrite another's files)."""
    names = list(placed)
    pairs = [(later, first) if later in _OUTPUT_ROOTS else (first, later)  # the output root first
             for i, first in enumerate(names) for later in names[i + 1:]]
    for name, other in pairs:
        if name not in _OUTPUT_ROOTS:
            continue
        a, b = placed[name], placed[other]
        if a == b:
            relation = "the same folder as"
        elif b in a.parents:
            relation = "inside"
        elif a in b.parents:
            relation = "a parent folder of"
        else:
            continue
        raise SpecError(
            f"paths.{name} is {relation} paths.{other} ({b}): a stage would overwrite "
            "or delete files it does not own",
            location=source.location(("study", "paths", name)), key_path=f"study.paths.{name}",
            hint="give raw, specs, sdtm, adam and outputs separate folders, none inside another",
        )
