"""Pipeline services: what one stage hands the next inside one run (datasets, work done ahead).

In one process (``tlfgen run``) a stage takes the datasets the previous stage just wrote
from memory instead of reading the XPT files back. What it gets is exactly the frame
``io.xpt.read_xpt`` would return (same values and dtypes); the entry is keyed by the file's
path and guarded by its (mtime_ns, size) recorded right after the write, so a file changed
on disk, or a stage run on its own, reads the file. Each entry is handed out once.

The pipeline (``pipeline.run_stages``) opens the scopes; the stages only publish and take,
so they import this module, never the pipeline above them.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

if TYPE_CHECKING:
    import pandas as pd

    from tlfgen.io.metadata import DatasetMetadata
    from tlfgen.spec.study import ResolvedStudy

#: the stages that follow the one running in this ``run_stages`` call, each with the work it
#: gives the running stage to do ahead, or None (``stage_follows``, ``work_ahead``)
_FOLLOWING: ContextVar[Mapping[str, Callable[..., Any] | None]] = ContextVar(
    "tlfgen_following_stages", default={})


def stage_follows(name: str) -> bool:
    """True when the stage ``name`` runs later in this process's ``run_stages`` (so the running
    stage may prepare its work, e.g. the TLF stage starts the lineage while it writes)."""
    return name in _FOLLOWING.get()


def work_ahead(name: str) -> Callable[..., Any] | None:
    """The work the stage ``name`` gives the running stage to do ahead, when it follows in this
    run (the pipeline passes it in: a stage never imports a stage above it); else None."""
    return _FOLLOWING.get().get(name)


#: ``study.cache`` key of the hand-off entries: {absolute path: (stage, signature, frame or (data, metadata))}
HANDOFF_CACHE = "pipeline.handoff"
#: the cache writers publish into (``study.cache`` inside ``stage_handoff``; None: nothing is kept)
_CURRENT: ContextVar[dict | None] = ContextVar("tlfgen_stage_handoff", default=None)


@contextmanager
def stage_handoff(study: ResolvedStudy, enabled: bool = True) -> Iterator[None]:
    """Scope in which ``publish_written`` keeps datasets in ``study.cache`` (``enabled``) or not.

    ``run_stages`` opens one per stage; the entries stay until ``run_stages`` ends.
    """
    token = _CURRENT.set(study.cache if enabled else None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _file_signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _handoff_key(path: Path) -> str:
    return str(Path(path).absolute())


def publish_written(stage: str, path: Path, data: pd.DataFrame, meta: DatasetMetadata, *,
                    build_now: bool = False) -> None:
    """Offer the dataset just written to ``path`` (XPT) to the next stages of this run.

    Does nothing outside ``stage_handoff``. Call right after the write: the file's
    (mtime_ns, size) is recorded now. ``build_now`` builds the read frame at once (use it
    when ``data`` may still change); otherwise it is built when taken, and ``data`` must
    not be changed afterwards. ``meta``: the completed metadata that was written.
    In a child process of ``tlfgen.parallel`` the offer is collected (``collect_published``)
    and made by the parent when it takes the child's result (``publish_collected``).
    """
    cache = _CURRENT.get()
    signature = _file_signature(path)
    if cache is None or signature is None:
        return
    from tlfgen.io.xpt import create_read_frame

    payload = create_read_frame(data, meta) if build_now else (data.copy(deep=False), meta)
    if payload is None:
        return
    collected = _COLLECTED.get()
    if collected is not None:
        collected.append((stage, str(path), payload))
        return
    _offer(cache, stage, Path(path), signature, payload)


def _offer(cache: dict[str, Any], stage: str, path: Path, signature: tuple[int, int], payload: Any) -> None:
    cache.setdefault(HANDOFF_CACHE, {})[_handoff_key(path)] = (stage, signature, payload)


#: offers made in a child process, sent to the parent with the child's result (None: not collecting)
_COLLECTED: ContextVar[list | None] = ContextVar("tlfgen_handoff_collected", default=None)


@contextmanager
def collect_published() -> Iterator[list]:
    """Scope (a child process's work) in which ``publish_written`` collects its offers in the
    list yielded instead of keeping them: the child's copy of the cache dies with it."""
    collected: list = []
    token = _COLLECTED.set(collected)
    try:
        yield collected
    finally:
        _COLLECTED.reset(token)


def publish_collected(collected: Iterable[tuple[str, str, Any]]) -> None:
    """Make here the offers a child process collected (its files are written by now)."""
    cache = _CURRENT.get()
    if cache is None:
        return
    for stage, path, payload in collected:
        signature = _file_signature(Path(path))
        if signature is not None:
            _offer(cache, stage, Path(path), signature, payload)


def take_written(cache: dict[str, Any] | None, path: Path) -> pd.DataFrame | None:
    """The frame ``read_xpt(path)[0]`` would give, from the stage that wrote ``path`` in this
    process; None when there is none, the file changed since, or it was already taken."""
    if cache is None:
        return None
    entries = cache.get(HANDOFF_CACHE)
    entry = entries.pop(_handoff_key(path), None) if entries else None
    if entry is None:
        return None
    _stage, signature, payload = entry
    if signature != _file_signature(path):
        return None
    from tlfgen.io.xpt import create_read_frame

    return create_read_frame(*payload) if isinstance(payload, tuple) else payload


def release_written(cache: dict[str, Any], stage: str, keep: Iterable[Path] = ()) -> None:
    """Drop the hand-off entries ``stage`` wrote, except those of the files ``keep``."""
    entries = cache.get(HANDOFF_CACHE)
    if not entries:
        return
    kept = {_handoff_key(p) for p in keep}
    for key in [k for k, (s, _, _) in entries.items() if s == stage and k not in kept]:
        del entries[key]
