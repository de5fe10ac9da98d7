"""The on-disk layout of a store directory, and the one way to change what it serves.

    <store>/current              symlink to the generation that answers queries
    <store>/previous             symlink to the one before, kept for readers that still have it open
    <store>/generations/<id>/    one generation: `oxigraph/` (the database) and `manifest.json`
    <store>/build.lock           held while a generation is being written
    <store>/generations/<id>/readers.lock   held (shared) by every job queued or running on it

Every change (a build, a SPARQL update, a Graph Store write) writes a new generation beside the
current one and, only when it is complete, replaces `current` in one atomic rename. A failed or
killed writer (even `kill -9`) leaves a stray directory that the next writer removes; readers never
see it. Generations are never written after they are swapped in, so any number of readers can open
them read-only. A job holds its generation (`hold`) from the moment it is given one until its answer
is written, in whichever process it runs; pruning skips a held generation and removes it at a later
change, so two quick writes cannot take a generation from under a query queued behind a busy worker.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import os
import shutil
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

from skategraph.errors import BuildError, GenerationGone, StoreLocked, StoreNotFound

READERS = "readers.lock"


def new_id() -> str:
    """A generation id: when it was made (UTC, to the microsecond) and a random suffix."""
    now = datetime.datetime.now(datetime.UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:8]}"


def current(path: Path) -> Path:
    """The directory of the generation in place."""
    name = _link_target(path, "current")
    if name is None:
        if path.is_dir() and any(path.iterdir()) and not (path / "generations").is_dir():
            raise StoreNotFound(f"{path} is not a skategraph store")
        raise StoreNotFound(f"no store at {path}: run 'skategraph build' first")
    return _directory(str(path), name)


@functools.lru_cache(maxsize=64)
def _directory(store: str, name: str) -> Path:
    return Path(store, "generations", name)


def current_id(path: Path) -> str:
    return current(path).name


@contextlib.contextmanager
def writing(path: Path, generation_id: str, *, wait: float = 0.0) -> Iterator[Path]:
    """Yield a fresh generation directory; make it current if the block completes, else remove it.

    Writers are serialised by a lock: with `wait` 0 a second writer fails at once, otherwise it
    waits up to `wait` seconds.
    """
    _prepare(path)
    with _lock(path, wait):
        _prune(path)
        target = path / "generations" / generation_id
        target.mkdir(parents=True)
        (target / READERS).touch()  # now, so that the generation is never written once it serves
        try:
            yield target
            _sync_tree(target)
            _swap(path, target.name)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        _prune(path)


class Hold:
    """A shared lock on a generation's `readers.lock`: while it is held, no writer removes it."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd
        self._finalizer = weakref.finalize(self, _close, fd)

    def release(self) -> None:
        self._finalizer()


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the descriptor releases its lock


def hold(generation: Path) -> Hold:
    """Keep `generation` from being pruned until the hold is released (or garbage collected).

    Raises GenerationGone if it was pruned before the hold was taken: the caller takes the current
    generation instead.
    """
    try:
        fd: int | None = os.open(generation / READERS, os.O_RDONLY)
    except FileNotFoundError:
        if not (generation / "manifest.json").is_file():
            raise GenerationGone(f"generation {generation.name} has been replaced and removed") from None
        try:  # a generation written before readers.lock existed
            fd = os.open(generation / READERS, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            fd = None  # a read-only store: nothing can prune it either
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a prune is removing this very generation
        if not (generation / "manifest.json").is_file():
            os.close(fd)
            raise GenerationGone(f"generation {generation.name} has been replaced and removed")
    return Hold(fd)


class Holds:
    """One process's holds, one shared lock a generation however many of its jobs use it: taking a
    hold on a generation already held costs a count, not a file open and a lock (every query takes
    one). A generation's lock is let go when its last job is done and it is no longer current; the
    current one stays held between jobs, which costs nothing, since pruning never removes it."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._held: dict[str, tuple[Hold, int]] = {}  # generation directory -> (its hold, jobs using it)

    def take(self, generation: Path) -> Callable[[], None]:
        """Hold `generation` (GenerationGone as `hold`); the function returned lets this one go (once,
        however often it is called; or when it is garbage collected, as a `Hold` is)."""
        key = str(generation)
        with self._lock:
            found = self._held.get(key)
            if found is not None:
                self._held[key] = (found[0], found[1] + 1)
                return _Lease(self, key).release
        held = hold(generation)  # outside the lock: it may wait while a prune removes this generation
        with self._lock:
            found = self._held.get(key)
            if found is not None:  # another thread took it meanwhile: keep one lock
                held.release()
                held = found[0]
            self._held[key] = (held, (found[1] if found else 0) + 1)
        return _Lease(self, key).release

    def _release(self, key: str) -> None:
        with self._lock:
            held, users = self._held[key]
            if users > 1:
                self._held[key] = (held, users - 1)
                return
            self._held[key] = (held, 0)
            current = _link_target(self.store, "current")
            for k in [k for k, (_, n) in self._held.items() if n == 0 and os.path.basename(k) != current]:
                self._held.pop(k)[0].release()

    def close(self) -> None:
        with self._lock:
            for held, _ in self._held.values():
                held.release()
            self._held.clear()


class _Lease:
    """One job's use of a held generation: let go once, or when collected."""

    __slots__ = ("_holds", "_key")

    def __init__(self, holds: Holds | None, key: str) -> None:
        self._holds = holds
        self._key = key

    def release(self) -> None:
        holds, self._holds = self._holds, None
        if holds is not None:
            holds._release(self._key)

    def __del__(self) -> None:
        self.release()


def _prepare(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise BuildError(f"{path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not (path / "generations").is_dir():
        raise BuildError(f"{path} exists and is not a skategraph store; choose another --store path")
    path.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _lock(path: Path, wait: float) -> Iterator[None]:
    deadline = time.monotonic() + wait
    with open(path / "build.lock", "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreLocked(
                        f"another build or update is running on {path}; nothing was changed, try again when it is done"
                    ) from None
                time.sleep(0.01)
        yield


def _sync_tree(directory: Path) -> None:
    for root, _dirs, files in os.walk(directory):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _sync_dir(directory)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap(path: Path, name: str) -> None:
    old = _link_target(path, "current")
    _point(path, "current", name)  # atomic: readers see the old or the new generation
    if old is not None:
        _point(path, "previous", old)


def _point(path: Path, link_name: str, generation: str) -> None:
    link = path / f".{link_name}-{generation}"
    link.symlink_to(Path("generations") / generation)
    os.replace(link, path / link_name)
    _sync_dir(path)


def _link_target(path: Path, name: str) -> str | None:
    """The generation the link `name` points to, or None where there is no such link (one `readlink`:
    every request asks for the current generation)."""
    try:
        return os.path.basename(os.readlink(os.path.join(path, name)))
    except OSError:  # missing, or not a link
        return None


def _prune(path: Path) -> None:
    """Remove every generation but `current`, `previous` and those a job holds: older ones, and those
    of failed writers."""
    for leftover in [*path.glob(".current-*"), *path.glob(".previous-*")]:
        leftover.unlink()
    keep = {_link_target(path, "current"), _link_target(path, "previous")}
    generations = path / "generations"
    if generations.is_dir():
        for generation in generations.iterdir():
            if generation.name not in keep:
                _remove_unless_held(generation)


def _remove_unless_held(generation: Path) -> None:
    try:
        fd = os.open(generation / READERS, os.O_RDONLY)
    except OSError:  # a failed writer's directory, or one from before readers.lock
        shutil.rmtree(generation, ignore_errors=True)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # a queued or running job uses it: a later change removes it
    else:
        shutil.rmtree(generation, ignore_errors=True)
    finally:
        os.close(fd)
