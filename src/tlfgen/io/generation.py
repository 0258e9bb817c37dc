"""I/O layer: a whole run publishes all its output folders or none (one generation).

``io.atomic`` makes each *file* crash-safe. A run writes several folders (``sdtm/``,
``adam/``, ``outputs/`` with the manifest), and a run stopped half-way (SIGKILL, Ctrl-C, a
data error in the ADaM stage, a full disk) must not leave new SDTM beside old ADaM and an
old manifest. ``RunStaging`` builds the whole next generation out of sight and then makes
it current in one step:

1. **Lock.** ``<study>/.tlfgen/lock`` is held (``flock``) for the whole command, so a second
   tlfgen command on the same study stops at once with a clear message instead of deleting
   the first one's staging. The kernel releases the lock of a killed process.
2. **Recover** what a previous command left (see below), then create the staging folder
   ``<study>/.tlfgen/run-<random>/``. It mirrors the study: every input folder (raw, specs)
   and every output root holding the previous generation is linked in file by file
   (``os.link``: no data is copied; a copy where hard links are refused), at the same
   relative paths. The run then sees a complete study whose root is the staging folder, so
   every path it records (``sdtm/ae.xpt``, ``raw/dm.csv``, the manifest keys) reads exactly
   as in the study itself. Writers replace files by ``rename`` (``io.atomic``), so a linked
   previous file is never changed in place: the published generation stays intact.
3. **Run** every stage and write the manifest into the staging folder. An error, Ctrl-C or
   kill here leaves the published folders untouched: nothing of this run is visible.
4. **Publish.** Every staged folder and file is ``fsync``-ed, then a journal
   ``.tlfgen/publish.json`` is written atomically, listing each output root with the inode
   of its staged folder. Writing the journal is the commit point. Each root is then swapped
   with its staged folder by ``renameat2(RENAME_EXCHANGE)`` (Linux; at every instant the
   root path holds a complete folder) or, where that call is missing, two renames (root
   aside, staged folder in). The journal is removed when every root is swapped; the
   previous generation, now in the staging folder, is deleted. Ctrl-C and SIGTERM are
   ignored while this runs (they come after the run, which ends a moment later).

**Recovery** at the next start (every run command, and ``tlfgen verify``/``trace``): a
journal means a kill came inside step 4, after the commit point, so the publish is
*completed* (a root whose inode is already the staged one is done; the others are swapped
now); without a journal the run never committed, and its staging folder is simply deleted.
Either way the published folders are one complete generation, manifest included.

What this does not cover: the output roots must be ordinary folders on the study's file
system (a root that is itself a mount point cannot be swapped: ``rename`` fails and the run
stops with an environment error, nothing published); files put into an output root by
hand while a run is going are lost when the root is swapped; a kill inside step 4 leaves a
moment (a few renames) where some roots are new and some old, until the next tlfgen
command completes the publish.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from tlfgen.errors import EnvironmentFault
from tlfgen.io.atomic import _exchange_paths, _fsync_dir, atomic_write_text

CONTROL = ".tlfgen"
JOURNAL = "publish.json"
LOCK = "lock"
STAGING_PREFIX = "run-"


# ---------------------------------------------------------------- lock


class _Lock:
    """An exclusive ``flock`` on ``<control>/lock`` (nothing on systems without fcntl)."""

    def __init__(self, control: Path) -> None:
        self.path = control / LOCK
        self.fd: int | None = None

    def acquire(self) -> bool:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None


# ---------------------------------------------------------------- mirroring


def _link_or_copy(source: Path, dest: Path) -> None:
    if dest.exists() or dest.is_symlink():
        return
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        shutil.copy2(source, dest, follow_symlinks=False)


def _mirror_tree(source: Path, dest: Path, root: Path, staging: Path, *, verbatim: bool = False) -> None:
    """Link every file under ``source`` into ``dest`` (same relative layout, folders created).
    ``verbatim``: symlinks are copied as they are (output roots, which get published)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copymode(source, dest)
    with os.scandir(source) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            path, target = Path(entry.path), dest / entry.name
            if path == root / CONTROL:
                continue
            if entry.is_symlink():
                if verbatim:
                    os.symlink(os.readlink(path), target)
                else:
                    _mirror_symlink(path, target, root, staging)
            elif entry.is_dir(follow_symlinks=False):
                _mirror_tree(path, target, root, staging, verbatim=verbatim)
            else:
                _link_or_copy(path, target)


def _mirror_symlink(path: Path, target: Path, root: Path, staging: Path) -> None:
    """A symlink resolving inside the study points at the mirrored copy of its target (which is
    mirrored too), so it resolves to the same study-relative path; one resolving outside keeps
    pointing there (the readers' own checks decide about it)."""
    resolved = Path(os.path.realpath(path))
    try:
        rel = resolved.relative_to(root)
    except ValueError:
        os.symlink(resolved, target)
        return
    if rel.parts[:1] == (CONTROL,):
        os.symlink(resolved, target)
        return
    mirrored = staging / rel
    if resolved.is_dir():
        if not mirrored.exists():
            _mirror_tree(resolved, mirrored, root, staging)
    elif resolved.exists() and not mirrored.exists():
        mirrored.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(resolved, mirrored)
    os.symlink(mirrored, target)


def _fsync_tree(folder: Path) -> None:
    """fsync every folder (new links) and every file under ``folder`` (files written by
    ``io.atomic`` are already synced; syncing them again is cheap)."""
    for current, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(current) / name
            if not path.is_symlink():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _fsync_dir(Path(current))


# ---------------------------------------------------------------- publish and recover


def _swap_in(root_path: Path, staged: Path, aside: Path) -> None:
    """Make ``staged`` the folder at ``root_path``; the previous folder ends at ``staged``
    (exchange) or at ``aside`` (two renames)."""
    if not root_path.exists():
        os.rename(staged, root_path)
    elif not _exchange_paths(staged, root_path):
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.rename(root_path, aside)
        os.rename(staged, root_path)
    _fsync_dir(root_path.parent)


def _roll_forward(root: Path, journal: dict) -> None:
    """Complete a publish whose journal was written (idempotent: done roots are skipped)."""
    staging = root / CONTROL / journal["staging"]
    for index, swap in enumerate(journal["swaps"]):
        root_path, staged = root / swap["root"], staging / "new" / swap["root"]
        try:
            if os.stat(root_path).st_ino == swap["inode"]:
                continue  # swapped before the kill
        except FileNotFoundError:
            pass
        if not staged.is_dir() or os.stat(staged).st_ino != swap["inode"]:
            raise EnvironmentFault(
                f"an interrupted publish of {root / CONTROL / JOURNAL} cannot be completed: the staged "
                f"folder for {swap['root']} is gone",
                hint=f"check {root_path} by hand, then delete {root / CONTROL} and run tlfgen again")
        _swap_in(root_path, staged, staging / "old" / str(index))


def recover_run(root: str | os.PathLike[str]) -> str | None:
    """Repair what an interrupted command left in ``<root>/.tlfgen`` (call with the lock held).

    Returns a one-line note for the user, or None when there was nothing to do.
    """
    root = Path(root).resolve()
    control = root / CONTROL
    if not control.is_dir():
        return None
    note = None
    journal_path = control / JOURNAL
    if journal_path.is_file():
        _roll_forward(root, json.loads(journal_path.read_text(encoding="utf-8")))
        journal_path.unlink()
        _fsync_dir(control)
        note = ("a previous run was stopped while it published its outputs; the publish was "
                "completed, the outputs are that run's")
    stale = sorted(p for p in control.iterdir() if p.name.startswith(STAGING_PREFIX))
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    # a kill while the journal itself was being written leaves its temporary file (io.atomic):
    # the journal never existed, so nothing was published; the file is only removed
    unwritten = sorted(p for p in control.iterdir() if p.name.startswith(f".{JOURNAL}.") and p.name.endswith(".tmp"))
    for path in unwritten:
        path.unlink(missing_ok=True)
    stale += unwritten
    if stale and note is None:
        note = ("a previous run was stopped before it finished; its unpublished files were removed, "
                "the outputs are those of the last complete run")
    return note


def recover_if_needed(root: str | os.PathLike[str]) -> str | None:
    """For commands that only read: complete an interrupted publish when no command holds the
    lock (a running command's staging is left alone). Returns the note of ``recover_run``."""
    control = Path(root).resolve() / CONTROL
    if not (control / JOURNAL).is_file():
        return None
    lock = _Lock(control)
    if not lock.acquire():
        return None
    try:
        return recover_run(root)
    finally:
        lock.release()


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM inside the block (main thread only): one that comes while the
    generation is being published (a few renames) is taken as coming after the run, which ends
    normally a moment later."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class RunStaging:
    """Stage the output roots of one command under ``<root>/.tlfgen`` and publish them together.

    ``outputs`` and ``inputs`` are folders inside ``root``. Use as a context manager: entering
    locks, recovers and mirrors (``note`` says what recovery did); ``staged(path)`` maps a
    study path to its staging twin; leaving without an error publishes, with an error discards.
    """

    def __init__(self, root: str | os.PathLike[str], *, outputs: Sequence[Path],
                 inputs: Sequence[Path] = ()) -> None:
        self.root = Path(root).resolve()
        self.control = self.root / CONTROL
        self.outputs = [self._relative(p) for p in outputs]
        self.inputs = [self._relative(p) for p in inputs]
        self.staging: Path | None = None
        self.note: str | None = None
        self._lock = _Lock(self.control)

    def _relative(self, path: Path) -> Path:
        return Path(path).resolve().relative_to(self.root)

    @property
    def study_root(self) -> Path:
        """The staging twin of ``root`` (the run's study folder)."""
        if self.staging is None:
            raise RuntimeError("RunStaging is not open")
        return self.staging / "new"

    def staged(self, path: Path) -> Path:
        return self.study_root / self._relative(path)

    def unstaged_text(self, text: str) -> str:
        """``text`` with the staging folder's path replaced by the study's."""
        if self.staging is None:
            return text
        return text.replace(str(self.study_root), str(self.root))

    def open(self) -> RunStaging:
        self.control.mkdir(exist_ok=True)
        if not self._lock.acquire():
            raise EnvironmentFault(
                f"another tlfgen command is writing this study (it holds {self.control / LOCK})",
                hint="wait for it to finish, then run again")
        try:
            self.note = recover_run(self.root)
            self._check_swappable()
            self.staging = Path(tempfile.mkdtemp(dir=self.control, prefix=STAGING_PREFIX))
            new = self.study_root
            new.mkdir()
            for rel in self.outputs + self.inputs:  # outputs first: inputs may link into them
                if (self.root / rel).is_dir():
                    _mirror_tree(self.root / rel, new / rel, self.root, new, verbatim=rel in self.outputs)
        except BaseException:
            self.discard()
            raise
        return self

    def _check_swappable(self) -> None:
        """Every existing output root can be replaced by a rename: an ordinary folder on the file
        system of ``<root>/.tlfgen`` (checked before the run, so a refusal publishes nothing)."""
        device = os.stat(self.control).st_dev
        for rel in self.outputs:
            path = self.root / rel
            if not path.exists():
                continue
            if not path.is_dir():
                raise EnvironmentFault(f"output folder {path} is a file, not a folder",
                                       hint="move or rename that file")
            if os.path.ismount(path) or os.stat(path).st_dev != device:
                raise EnvironmentFault(
                    f"output folder {path} is a mount point or on another file system than the study: "
                    "a run cannot replace it in one step",
                    hint="make it an ordinary folder of the study (mount the whole study folder instead)")

    def publish(self) -> None:
        """Swap every staged output root in for the study's (see the module docstring)."""
        new = self.study_root
        roots = [rel for rel in self.outputs if (new / rel).is_dir()]
        for rel in roots:
            _fsync_tree(new / rel)
        journal = {"staging": self.staging.name,
                   "swaps": [{"root": rel.as_posix(), "inode": os.stat(new / rel).st_ino} for rel in roots]}
        with _signals_held():
            atomic_write_text(self.control / JOURNAL, json.dumps(journal, indent=1) + "\n")
            _roll_forward(self.root, journal)
            (self.control / JOURNAL).unlink()
            _fsync_dir(self.control)
            self.discard()

    def discard(self) -> None:
        """Delete the staging folder (the unpublished or the previous generation); unlock."""
        if self.staging is not None:
            with _signals_held():  # a second Ctrl-C must not leave half a staging folder
                shutil.rmtree(self.staging, ignore_errors=True)
        self._lock.release()

    def __enter__(self) -> RunStaging:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            try:
                self.publish()
            except BaseException:
                # Ctrl-C or an error while the staged trees were synced, before the journal (the
                # commit point) was written: nothing was published, so the staging goes at once.
                # With a journal the next start completes the publish from the staging: keep it.
                if not (self.control / JOURNAL).exists():
                    self.discard()
                raise
        else:
            self.discard()
