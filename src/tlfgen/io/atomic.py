"""I/O layer: crash-safe output writing and the fixed output timestamp.

Every writer in tlfgen (XPT, Dataset-JSON, define.xml, tables) goes through
these helpers so that a run killed at any moment never leaves a half-written
file where a complete one used to be.

Single files (``atomic_write_bytes``, ``atomic_write_text``, ``atomic_output``)
    The data goes to a temporary file in the *same folder* as the target
    (``.<name>.<random>.tmp``), is flushed and ``fsync``-ed, then moved over
    the target with ``os.replace`` (one ``rename(2)``, atomic on POSIX when
    both paths are on one file system, which the same folder guarantees), and
    the folder is ``fsync``-ed. A reader sees either the complete previous
    file or the complete new one. On an exception the temporary file is
    removed and the previous file is untouched. A ``kill -9`` can leave a
    stray ``.<name>.*.tmp`` file beside the target, never a damaged target.

A set of files (``staged_outputs`` / ``AtomicDirWriter``)
    All files are written into a staging folder beside the target folder
    (``.<name>.staging-<random>``). On success every staged file and folder is
    ``fsync``-ed and the staging folder is swapped with the target folder:

    * Linux: one ``renameat2(RENAME_EXCHANGE)`` call, so at every instant the
      target path holds either the complete previous set or the complete new
      set; the previous set is then deleted from its new place.
    * Elsewhere (or a file system without RENAME_EXCHANGE): two renames,
      target -> ``.<name>.old-<random>`` then staging -> target. A kill between
      the two renames leaves no target folder but a complete ``.old-`` folder;
      ``recover_staged`` (which every new ``AtomicDirWriter`` calls first)
      moves it back, so the previous complete set is restored.

    A kill while files are being staged leaves the target untouched (and a
    stale staging folder that the next writer deletes). Files in the target
    that the run did not write are *not* carried over unless they match a
    ``preserve`` pattern (e.g. ``README.md``). Two concurrent writers on the
    same target are not supported.

Several folders at once (a whole run: SDTM, ADaM and outputs published together) are
``io.generation``'s job; it relies on every writer here replacing files by rename.

``fixed_timestamp`` gives the one creation time written into file headers:
the ``created`` argument, else ``SOURCE_DATE_EPOCH``, else 1970-01-01T00:00:00
UTC, so outputs never depend on the wall clock.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from tlfgen.errors import DataError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


# ---------------------------------------------------------------- timestamps


#: 9999-12-31T23:59:59Z, the last second a four-digit year can print
MAX_SOURCE_DATE_EPOCH = 253402300799


def fixed_timestamp(created: datetime | None = None) -> datetime:
    """Return the creation time to write into output headers (UTC, no microseconds).

    ``created`` wins; else ``SOURCE_DATE_EPOCH`` (seconds since 1970, the
    reproducible-builds convention); else 1970-01-01T00:00:00Z.
    """
    if created is not None:
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return created.astimezone(timezone.utc).replace(microsecond=0)
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw.strip() == "":
        return datetime(1970, 1, 1, tzinfo=timezone.utc)
    try:
        seconds = int(raw.strip())
    except ValueError as exc:
        raise DataError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds",
            hint="unset it or set it to e.g. 1700000000",
        ) from exc
    if not 0 <= seconds <= MAX_SOURCE_DATE_EPOCH:
        raise DataError(
            f"SOURCE_DATE_EPOCH={raw!r} is out of range: the reproducible-builds convention is a "
            f"non-negative number of seconds since 1970, and dates end at 9999-12-31 ({MAX_SOURCE_DATE_EPOCH})",
            hint="unset it or set it to e.g. 1700000000",
        )
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


# ---------------------------------------------------------------- single files


def _fsync_dir(folder: Path) -> None:
    """fsync a folder so a rename inside it survives a power loss (POSIX only)."""
    if sys.platform.startswith("win"):  # pragma: no cover - not tested on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _new_file_mode(target: Path) -> int:
    """Mode for the replacement: the old file's mode, else 0o666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it over ``path``.

    The caller (or a library such as pyreadstat) writes the complete file to
    the yielded path. On normal exit it is fsync-ed and renamed over ``path``;
    on an exception it is deleted and ``path`` keeps its previous content.
    """
    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise DataError(f"temporary file {tmp} vanished before it could replace {target}")
        os.chmod(tmp, _new_file_mode(target))
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a write on a full disk names no file: name the target
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    target = Path(path)
    with atomic_output(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines kept as given)."""
    return atomic_write_bytes(path, text.encode(encoding))


# ---------------------------------------------------------------- file sets


def _exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            _fsync_file(Path(folder) / name)
        _fsync_dir(Path(folder))


def _siblings(target: Path, kind: str) -> list[Path]:
    prefix = f".{target.name}.{kind}-"
    if not target.parent.exists():
        return []
    return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix))


def recover_staged(target: str | os.PathLike[str]) -> bool:
    """Repair the leftovers of a killed ``AtomicDirWriter`` on ``target``.

    If ``target`` is missing but a ``.<name>.old-*`` folder exists (a kill
    between the two renames of the fallback swap), move the newest one back
    and return True. Stale staging and old folders are deleted.
    """
    target = Path(target)
    restored = False
    olds = _siblings(target, "old")
    if not target.exists() and olds:
        newest = max(olds, key=lambda p: p.stat().st_mtime_ns)
        os.rename(newest, target)
        _fsync_dir(target.parent)
        olds.remove(newest)
        restored = True
    for stale in olds + _siblings(target, "staging"):
        shutil.rmtree(stale, ignore_errors=True)
    return restored


class AtomicDirWriter:
    """Stage a complete set of files, then swap it in for ``target`` in one step.

    Use through ``staged_outputs(target)``; see the module docstring for the
    exact crash guarantee. ``preserve`` lists glob patterns (relative to the
    target, e.g. ``"README.md"``) of existing files to carry over into the new
    set when the run did not write them itself.
    """

    def __init__(self, target: str | os.PathLike[str], *, preserve: Sequence[str] = ()) -> None:
        self.target = Path(target)
        self.preserve = tuple(preserve)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        recover_staged(self.target)
        self.staging = Path(
            tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}.staging-")
        )
        self._done = False

    def path(self, relative: str | os.PathLike[str]) -> Path:
        """Path inside the staging folder for ``relative``; parent folders are created."""
        rel = Path(relative)
        if rel.is_absolute() or ".." in rel.parts:
            raise DataError(f"output path {rel} must be relative and stay inside {self.target}")
        full = self.staging / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        return full

    def write_bytes(self, relative: str | os.PathLike[str], data: bytes) -> Path:
        full = self.path(relative)
        full.write_bytes(data)
        return full

    def write_text(self, relative: str | os.PathLike[str], text: str) -> Path:
        return self.write_bytes(relative, text.encode("utf-8"))

    def _carry_over_preserved(self) -> None:
        if not self.preserve or not self.target.is_dir():
            return
        for source in sorted(self.target.rglob("*")):
            rel = source.relative_to(self.target)
            if not source.is_file() or not any(fnmatch.fnmatch(str(rel), p) for p in self.preserve):
                continue
            dest = self.staging / rel
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)

    def commit(self) -> None:
        """Swap the staged set in for the target folder."""
        if self._done:
            raise DataError(f"staged outputs for {self.target} were already committed or aborted")
        self._done = True
        self._carry_over_preserved()
        os.chmod(self.staging, 0o777 & ~_current_umask())
        _fsync_tree(self.staging)
        parent = self.target.parent
        if not self.target.exists():
            os.rename(self.staging, self.target)
        elif _exchange_paths(self.staging, self.target):
            shutil.rmtree(self.staging)
        else:
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{self.target.name}.old-"))
            os.rmdir(old)
            os.rename(self.target, old)
            os.rename(self.staging, self.target)
            shutil.rmtree(old)
        _fsync_dir(parent)

    def abort(self) -> None:
        """Throw the staged files away; the target is left as it was."""
        self._done = True
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> AtomicDirWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextmanager
def staged_outputs(
    target: str | os.PathLike[str], *, preserve: Sequence[str] = ()
) -> Iterator[AtomicDirWriter]:
    """Context manager: yield an ``AtomicDirWriter``; commit on success, abort on error."""
    writer = AtomicDirWriter(target, preserve=preserve)
    with writer:
        yield writer
