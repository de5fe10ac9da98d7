"""The store boundary: what skategraph needs from a store, whatever keeps the data.

`GraphStore` is the protocol the rest of skategraph talks to; `skategraph.store.embedded` is the
pyoxigraph implementation, and a remote SPARQL backend can stand behind the same methods. A
generation's `manifest.json` (what was built, when, under which base, and its statistics) is read
here and nowhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Protocol

import pyoxigraph as ox

from skategraph.errors import StoreNotFound

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

MANIFEST_FORMAT = 1


class GraphStore(Protocol):
    """What skategraph needs from a store, whatever keeps the data."""

    manifest: dict[str, Any]

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        base_iri: str | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Evaluate `sparql`, whose values are bound in its text (`skategraph.sparql.values`): a
        remote server takes nothing else, so no store is given them apart (issue 15). `timeout`
        (seconds) bounds a store whose engine is elsewhere; an embedded store's query is bounded by
        killing the worker that runs it."""
        ...

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None: ...


def read_manifest(generation: Path) -> dict[str, Any]:
    """A generation's manifest; a store built by an older skategraph, whose manifest lacks what this
    one needs, is reported as a store to rebuild."""
    manifest: dict[str, Any] = json.loads((generation / "manifest.json").read_text("utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT or "stats" not in manifest:
        store = generation.parent.parent
        raise StoreNotFound(f"the store at {store} was built by an older skategraph: run 'skategraph build'")
    return manifest


def write_manifest(generation: Path, manifest: dict[str, Any]) -> None:
    (generation / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
