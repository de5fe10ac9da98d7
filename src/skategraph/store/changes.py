"""Changing a store: a SPARQL update or a Graph Store write, applied to a copy of a generation.

The copy becomes current only when the change is complete (`generations.writing`), so a failed
change alters nothing. A remote store is changed the same way: its dataset is copied here, changed,
and put in place in its server as a build is (`RemoteStore.replace`, atomic for readers), since
neither server applies a multi-operation update atomically for its readers (Virtuoso keeps the
first operations of a failed one).
"""

from __future__ import annotations

import datetime
import gc
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from skategraph.errors import QueryError, StoreChanged
from skategraph.store.address import publish_generation
from skategraph.store.base import read_manifest
from skategraph.store.embedded import describe
from skategraph.store.remote import Remote, RemoteStore


def write_change(source: Path, target: Path, change: Callable[[ox.Store], None], note: str) -> dict[str, Any]:
    """Copy generation `source` into the empty directory `target` and apply `change` to the copy.

    Used for SPARQL updates and Graph Store writes: the copy becomes current only if this returns
    (see `generations.writing`), so a failed change alters nothing. Copying is an Oxigraph backup,
    which hard-links the immutable files and takes milliseconds.
    """
    ox.Store.read_only(str(source / "oxigraph")).backup(str(target / "oxigraph"))
    return _changed(source, target, change, note)


def write_remote_change(
    remote: Remote, source: Path, target: Path, change: Callable[[ox.Store], None], note: str
) -> dict[str, Any]:
    """Change a remote store: copy its dataset (mirror generation `source`) into `target`, apply
    `change`, and put the result in place in the server. Refused if the server's dataset is no longer
    the one copied (another writer's change would be lost)."""
    server = RemoteStore(remote, read_manifest(source))
    dump = io.BytesIO()
    server.dump(dump, ox.RdfFormat.N_QUADS)
    loading = ox.Store(str(target / "oxigraph"))
    loading.bulk_load(dump.getvalue(), ox.RdfFormat.N_QUADS)
    loading.flush()
    del loading, dump
    gc.collect()
    manifest = _changed(source, target, change, note, named_only=True)
    if server.current_id() != source.name:
        raise StoreChanged(f"{remote} was rebuilt or changed while this change was being made; make it again")
    publish_generation(remote, target, manifest)
    shutil.rmtree(target / "oxigraph")  # the data is in the server now
    return manifest


def _changed(
    source: Path, target: Path, change: Callable[[ox.Store], None], note: str, *, named_only: bool = False
) -> dict[str, Any]:
    """Apply `change` to the database in `target` (a copy of `source`'s) and write its manifest;
    `named_only`: refuse a change that leaves triples in the default graph."""
    writable = ox.Store(str(target / "oxigraph"))
    try:
        change(writable)
        if named_only and next(writable.quads_for_pattern(None, None, None, ox.DefaultGraph()), None) is not None:
            raise QueryError(
                "the change puts triples in the default graph, and a remote store keeps named graphs only: "
                "write them in a named graph (INSERT DATA { GRAPH <...> { ... } }, or ?graph= in the Graph Store)"
            )
        writable.flush()
    finally:
        del writable
        gc.collect()
    manifest = json.loads((source / "manifest.json").read_text("utf-8"))
    manifest.update(
        build_id=target.name,
        parent=source.name,
        changed_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        change=note,
    )
    described = describe(target, manifest)
    result = described.manifest
    del described
    gc.collect()
    return result
