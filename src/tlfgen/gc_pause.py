"""Shared helper: pause Python's cyclic garbage collector around work that builds millions of
small containers and almost no reference cycles (parsing lineage JSON, building ADaM datasets).
The collector would scan them again and again: at 5,000 subjects that was about a third of the
ADRS and ADTTE derivation time. Objects freed by reference counting are freed as usual."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block (re-enabled after it, if it was enabled)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def frozen_objects() -> Iterator[None]:
    """Keep every object alive at the start of the block out of the collections made inside it.

    For a large structure built once and only read afterwards (the TLF stage's ~435,000 table
    and listing cells at 5,000 subjects): ``gc.freeze()`` moves the objects to the permanent
    generation, so collections inside the block scan only what the block allocates (figures,
    XML); ``gc.unfreeze()`` puts them back for collection after it (a frozen object is never
    freed otherwise: the test suite runs stages in one process)."""
    already = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not already:  # an outer block (or the caller) froze before: it unfreezes
            gc.unfreeze()
