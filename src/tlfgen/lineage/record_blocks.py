"""Lineage layer: the ``records`` part of lineage.json in blocks (per SDTM domain, plus ADaM), by two processes.

The SDTM record links are most of the lineage stage's work (about a million records
at 5,000 subjects). Every id starts with ``sdtm.<DOMAIN>:``, so in the sorted section
the records of one domain are contiguous and the domains follow in the order of that
prefix: the section is the concatenation of one block per domain. ``run_lineage``
has a forked child and itself take the domain files (and the ``records.adam``
section, one more block) from a shared queue, largest first; a block travels as its
JSON text (one string, cheap to send back) and ``join_blocks`` puts the blocks in
order. The text is what ``LinkSection.json_text`` writes for the section, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from tlfgen.gc_pause import paused_gc
from tlfgen.lineage.records import (
    BODY_JOIN, SECTION_NEWLINE, LinkSection, RecordIndex, _sdtm_entries, create_adam_section,
    read_adam_lineage, read_sdtm_links,
)
from tlfgen.spec.study import ResolvedStudy


@dataclass(frozen=True)
class DomainBlock:
    """The entries of one SDTM domain (or of the whole ADaM section) as JSON text."""

    domain: str  # "" for the ADaM section
    count: int  # entries (record ids) in ``text``
    text: str  # the entries joined by ``BODY_JOIN``, sorted by id ("" when there are none)


class RenderedSection(Mapping):
    """A records section already written as JSON text, kept in pieces (the blocks are not copied
    into one string); read as a mapping, it is parsed on first use."""

    def __init__(self, parts: list[str], count: int) -> None:
        self.parts = parts
        self.count = count
        self._parsed: dict[str, list[str]] | None = None

    def _items(self) -> dict[str, list[str]]:
        if self._parsed is None:
            self._parsed = json.loads("".join(self.parts))
        return self._parsed

    def __getitem__(self, rid: str) -> list[str]:
        return self._items()[rid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return self.count

    def json_parts(self, newline: str) -> list[str] | None:
        """The pieces where the section was made for (``SECTION_NEWLINE``), else None (then written as a dict)."""
        return self.parts if newline == SECTION_NEWLINE else None

    def json_text(self, newline: str) -> str | None:
        return None if newline != SECTION_NEWLINE else "".join(self.parts)


def record_parts(study: ResolvedStudy) -> list[Path | None]:
    """The pieces of work: None for the ADaM section (about as much work as the largest domain),
    then ``sdtm/lineage/*.json`` largest first (then by name); the processes take them in this order."""
    paths = sorted((study.sdtm_dir / "lineage").glob("*.json"))
    return [None, *sorted(paths, key=lambda p: -p.stat().st_size)]


def create_domain_block(index: RecordIndex, path: Path) -> DomainBlock:
    """One domain file's block: its entries sorted by id (a repeated id keeps its last entry)."""
    link = read_sdtm_links(path)
    section = LinkSection(*_sdtm_entries(index, link))
    return DomainBlock(link.domain, len(section), section.body())


def create_adam_block(study: ResolvedStudy) -> DomainBlock:
    """The whole ``records.adam`` section as a block (``domain`` "")."""
    index = RecordIndex(study)
    index.adam = read_adam_lineage(study)
    section = create_adam_section(index)
    return DomainBlock("", len(section), section.body())


def create_record_blocks(study: ResolvedStudy, parts: list[Path | None],
                         take: Callable[[], int | None]) -> list[DomainBlock]:
    """The blocks of the parts ``parts[take()]``, until ``take`` returns None."""
    index = RecordIndex(study)  # this process's cache of raw file line numbers
    blocks = []
    with paused_gc():
        while (i := take()) is not None:
            part = parts[i]
            blocks.append(create_adam_block(study) if part is None else create_domain_block(index, part))
    return blocks


def _section(blocks: list[DomainBlock]) -> RenderedSection:
    count = sum(b.count for b in blocks)
    if not count:
        return RenderedSection(["{}"], 0)
    parts = ["{" + SECTION_NEWLINE + " "]
    for b in blocks:
        if b.count:
            parts += [b.text, BODY_JOIN]
    parts[-1] = SECTION_NEWLINE + "}"  # the last BODY_JOIN closes the section instead
    return RenderedSection(parts, count)


def join_blocks(blocks: list[DomainBlock]) -> dict[str, RenderedSection] | None:
    """The ``records`` part of lineage.json from its blocks (one ADaM block, one per SDTM domain);
    None if two SDTM blocks are of one domain (their entries would interleave: build the part as a whole)."""
    adam = [b for b in blocks if not b.domain]
    sdtm = [b for b in blocks if b.domain]
    domains = [b.domain for b in sdtm]
    if len(adam) != 1 or len(set(domains)) != len(domains):
        return None
    return {"sdtm": _section(sorted(sdtm, key=lambda b: f"sdtm.{b.domain}:")), "adam": _section(adam)}
