"""What `--store` names: a directory (the embedded store) or a remote SPARQL server, and opening it.

Every command and the server reach a store through `StoreAt`, so each works on both kinds:

- a directory is the embedded store, laid out by `skategraph.store.generations`;
- `oxigraph+http://HOST:PORT` or `virtuoso+http://HOST:PORT` is a dataset kept in that server
  (`skategraph.store.remote`; credentials come from the environment, never from the address).

A remote store also has a local directory, its mirror, in the generations layout: each build's
generation there holds only its `manifest.json` (the data is in the server), and `current` follows
the server's build. The web layer keys what it remembers (its response cache, the generation a job
runs on, a dump file) on the mirror's generations exactly as on an embedded store's, so it needs no
second notion of "the store changed". `sync` brings the mirror up to the server's build.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
import pyoxigraph as ox

from skategraph.errors import BuildError, GenerationGone, StoreLocked, StoreNotFound
from skategraph.store import generations
from skategraph.store.base import read_manifest, write_manifest
from skategraph.store.embedded import EmbeddedStore
from skategraph.store.remote import Remote, RemoteStore, build_remote, open_remote, parse_remote

SWITCH_WAIT = 10.0  # seconds a command waits for a build's switch under way in a remote store's server


@dataclass(frozen=True)
class StoreAt:
    """A store as `--store` names it: `path` is its directory (a remote store's mirror), `remote` the
    server keeping its data, or None for the embedded store."""

    path: Path
    remote: Remote | None = None

    def __str__(self) -> str:
        return str(self.remote) if self.remote is not None else str(self.path)


def store_at(text: str | Path) -> StoreAt:
    """What `text` names: a remote store's address, or else a directory."""
    remote = parse_remote(str(text)) if isinstance(text, str) else None
    if remote is None:
        return StoreAt(Path(text).expanduser())
    return StoreAt(mirror_path(remote), remote)


def mirror_path(remote: Remote) -> Path:
    """Where a remote store's mirror lives: the user's cache directory, one folder per server."""
    name = str(remote)
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-")[:60]
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return platformdirs.user_cache_path("skategraph") / "remotes" / f"{slug}-{digest}"


def open_store(at: StoreAt, *, wait: float = SWITCH_WAIT) -> EmbeddedStore | RemoteStore:
    """The store `at` names, as its current build: the embedded generation in place, or the server's
    build (waiting up to `wait` seconds for a switch under way there)."""
    if at.remote is None:
        return EmbeddedStore(generations.current(at.path))
    return open_remote(at.remote, wait=wait)


T = TypeVar("T")
ATTEMPTS = 3  # times a command's query runs on a remote store whose server switches builds under it


def answering(at: StoreAt, run: Callable[[EmbeddedStore | RemoteStore], T]) -> T:
    """`run` on the store `at` names, as its current build; on a remote store whose server switched
    builds while `run` queried it (GenerationGone: the answer may mix two builds, and is dropped),
    again on the build switched in."""
    attempts = 1
    while True:
        try:
            return run(open_store(at))
        except GenerationGone:
            if at.remote is None or attempts == ATTEMPTS:
                raise
            attempts += 1


def open_generation(
    generation: Path, remote: Remote | None, manifest: dict[str, Any] | None = None
) -> EmbeddedStore | RemoteStore:
    """A generation of a store's directory, opened: the embedded database in it, or, for a remote
    store's mirror, the server with that generation's manifest (`manifest`, if already read)."""
    if remote is None:
        return EmbeddedStore(generation, manifest)
    return RemoteStore(remote, manifest if manifest is not None else read_manifest(generation))


def publisher(at: StoreAt) -> Callable[[Path, dict[str, Any]], None] | None:
    """What a build of `at` gives its finished, valid generation to: for a remote store, the step that
    puts it in place in the server (`skategraph.store.switch`: staged, counted, then switched in as
    readers see whole); None for the embedded store, whose generation is where it serves from."""
    remote = at.remote
    if remote is None:
        return None

    def publish(generation: Path, manifest: dict[str, Any]) -> None:
        publish_generation(remote, generation, manifest)

    return publish


def publish_generation(remote: Remote, generation: Path, manifest: dict[str, Any]) -> None:
    """Put the embedded generation at `generation` (its database) in place in `remote`'s server."""
    dataset = ox.Store.read_only(str(generation / "oxigraph"))
    try:
        build_remote(remote, dataset, manifest)
    finally:
        del dataset
        gc.collect()  # the read-only handle goes now, before the generation is changed or removed


def current_build_id(at: StoreAt) -> str:
    """The id of the build in place, for anything that needs to notice a rebuild."""
    if at.remote is None:
        return generations.current_id(at.path)
    return str(open_store(at).manifest["build_id"])


def sync(at: StoreAt, *, wait: float = SWITCH_WAIT, timeout: float = SWITCH_WAIT) -> Path:
    """The mirror's generation for the server's build now in place, written first if it is new.

    Raises StoreNotFound if nothing was ever built into the server, StoreUnavailable if it cannot be
    reached within `timeout` seconds. Two processes syncing at once take turns on the mirror's writer
    lock; the second finds the generation written.
    """
    assert at.remote is not None, "only a remote store has a mirror"
    manifest = open_remote(at.remote, wait=wait, timeout=timeout).manifest
    build_id = str(manifest["build_id"])
    try:
        current = generations.current(at.path)
    except StoreNotFound:
        current = None
    if current is not None and current.name == build_id:
        return current
    try:
        with generations.writing(at.path, build_id, wait=wait) as target:
            write_manifest(target, manifest)
    except (FileExistsError, StoreLocked, BuildError):
        # another process wrote this build's generation meanwhile (or holds the lock writing it)
        current = generations.current(at.path)
        if current.name != build_id:
            raise
    return generations.current(at.path)
