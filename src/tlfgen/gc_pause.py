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
