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

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from skategraph.errors import BuildError, StoreLocked, StoreNotFound
from skategraph.store import generations
from skategraph.store.base import read_manifest, write_manifest
from skategraph.store.embedded import EmbeddedStore

if TYPE_CHECKING:
    from skategraph.store.remote import Remote, RemoteStore


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
    from skategraph.store.remote import parse_remote

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


def open_store(at: StoreAt) -> EmbeddedStore | RemoteStore:
    """The store `at` names, as its current build: the embedded generation in place, or the server."""
    if at.remote is None:
        return EmbeddedStore(generations.current(at.path))
    from skategraph.store.remote import RemoteStore

    return RemoteStore(at.remote)


def open_generation(generation: Path, remote: Remote | None) -> EmbeddedStore | RemoteStore:
    """A generation of a store's directory, opened: the embedded database in it, or, for a remote
    store's mirror, the server with that generation's manifest."""
    if remote is None:
        return EmbeddedStore(generation)
    from skategraph.store.remote import RemoteStore

    return RemoteStore(remote, read_manifest(generation))


def publisher(at: StoreAt) -> Callable[[EmbeddedStore], None] | None:
    """What a build of `at` gives its finished, valid generation to: for a remote store, the step that
    puts it in place in the server (`RemoteStore.replace`, atomic for readers); None for the embedded
    store, whose generation is already where it serves from."""
    if at.remote is None:
        return None
    from skategraph.store.remote import RemoteStore

    server = RemoteStore(at.remote)

    def publish(candidate: EmbeddedStore) -> None:
        server.replace(candidate, candidate.manifest)

    return publish


def current_build_id(at: StoreAt) -> str:
    """The id of the build in place, for anything that needs to notice a rebuild."""
    if at.remote is None:
        return generations.current_id(at.path)
    return open_store(at).current_id()  # type: ignore[union-attr]


def sync(at: StoreAt, *, wait: float = 10.0) -> Path:
    """The mirror's generation for the server's build now in place, written first if it is new.

    Raises StoreNotFound if nothing was ever built into the server. Two processes syncing at once
    take turns on the mirror's writer lock; the second finds the generation written.
    """
    assert at.remote is not None, "only a remote store has a mirror"
    from skategraph.store.remote import RemoteStore

    store = RemoteStore(at.remote)
    manifest = store.manifest
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
