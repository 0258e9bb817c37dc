"""TLF stage: worker threads for the work that releases the GIL (PNG compression, file writes).

Python code holds the GIL, but Pillow's PNG encoder, zlib and the file system calls
(write, fsync) release it: on a multi-core machine they run while the main thread
builds the next output. ``background()`` is the one shared pool; ``wait_all``
collects the results of submitted jobs in submission order and re-raises the first
error (a ``RenderError`` from a figure, an ``OSError`` from a write), so nothing
fails silently; ``settle`` is for the way out of a failure (Ctrl-C included): no job may
still be writing once the caller's staging folder is cleaned up. The bytes written do not
depend on the order the jobs finish in.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Iterable

WORKERS = 2
_POOL: list[ThreadPoolExecutor] = []
# a forked worker (tlfgen.forks) has none of the parent's threads: it starts its own pool
os.register_at_fork(after_in_child=_POOL.clear)


def background() -> ThreadPoolExecutor:
    """The shared worker pool (created on first use)."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tlfgen-bg"))
    return _POOL[0]


def wait_all(futures: Iterable[Future]) -> list[Any]:
    """The results of ``futures`` in order; every job is waited for before the first error is raised."""
    futures = list(futures)
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


def settle(futures: Iterable[Future]) -> None:
    """Cancel the jobs not yet started and wait for the running ones, whatever they raise.

    Called when the submitter fails (an error, a KeyboardInterrupt): a job left running would
    write into a folder the failure is about to remove, and recreate it after the removal.
    """
    futures = list(futures)
    for future in futures:
        future.cancel()
    wait(futures)
