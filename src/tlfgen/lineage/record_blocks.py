"""Lineage layer: the ``records`` part of lineage.json in blocks (per SDTM domain, plus ADaM), by two processes.

The SDTM record links are most of the lineage stage's work (about a million records
at 5,000 subjects). ``run_lineage`` has a forked child and itself take the domain files
(and the ``records.adam`` section, one more block) from a shared queue, largest first; a
block travels back as its ``{record id: [source ids]}`` and ``join_blocks`` merges the
blocks into the two sections (lineage.json is written by ``json``, which sorts the ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tlfgen.lineage.records import (
    RecordIndex, Section, _sdtm_sources, create_adam_section, create_section, read_adam_lineage, read_sdtm_links,
)
from tlfgen.spec.study import ResolvedStudy


@dataclass(frozen=True)
class DomainBlock:
    """The record links of one SDTM domain (or of the whole ADaM section)."""

    domain: str  # "" for the ADaM section
    links: Section


def record_parts(study: ResolvedStudy) -> list[Path | None]:
    """The pieces of work: None for the ADaM section (about as much work as the largest domain),
    then ``sdtm/lineage/*.json`` largest first (then by name); the processes take them in this order."""
    paths = sorted((study.sdtm_dir / "lineage").glob("*.json"))
    return [None, *sorted(paths, key=lambda p: -p.stat().st_size)]


def create_domain_block(index: RecordIndex, path: Path) -> DomainBlock:
    """One domain file's block (a repeated id keeps its last sources)."""
    link = read_sdtm_links(path)
    return DomainBlock(link.domain, create_section(*_sdtm_sources(index, link)))


def create_adam_block(study: ResolvedStudy) -> DomainBlock:
    """The whole ``records.adam`` section as a block (``domain`` "")."""
    index = RecordIndex(study)
    index.adam = read_adam_lineage(study)
    return DomainBlock("", create_adam_section(index))


def create_record_blocks(study: ResolvedStudy, parts: list[Path | None],
                         take: Callable[[], int | None]) -> list[DomainBlock]:
    """The blocks of the parts ``parts[take()]``, until ``take`` returns None."""
    index = RecordIndex(study)  # this process's cache of raw file line numbers
    blocks = []
    while (i := take()) is not None:
        part = parts[i]
        blocks.append(create_adam_block(study) if part is None else create_domain_block(index, part))
    return blocks


def join_blocks(blocks: list[DomainBlock]) -> dict[str, Section] | None:
    """The ``records`` part of lineage.json from its blocks (one ADaM block, one per SDTM domain);
    None if two SDTM blocks are of one domain (build the part as a whole instead)."""
    adam = [b for b in blocks if not b.domain]
    sdtm = sorted((b for b in blocks if b.domain), key=lambda b: f"sdtm.{b.domain}:")
    domains = [b.domain for b in sdtm]
    if len(adam) != 1 or len(set(domains)) != len(domains):
        return None
    section: Section = {}
    for block in sdtm:
        section.update(block.links)
    return {"sdtm": section, "adam": adam[0].links}
