"""The embedded store: one generation of an on-disk Oxigraph database, opened read-only.

The only module that opens an Oxigraph database for reading; writing one is `skategraph.store.build`
(a new generation) and `skategraph.store.changes` (a changed copy). Where the data lives on disk,
and how a new version replaces the old, is `skategraph.store.generations`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from skategraph.errors import QueryError
from skategraph.graph.vocab import PREFIXES
from skategraph.sparql import formats
from skategraph.sparql.text import declares_dataset
from skategraph.store import generations
from skategraph.store.base import QueryResult, write_manifest
from skategraph.store.stats import Stats, dataset_stats


class EmbeddedStore:
    """One generation of an on-disk store, opened read-only."""

    def __init__(self, generation: Path, manifest: dict[str, Any] | None = None) -> None:
        self.generation = generation
        self.manifest: dict[str, Any] = (
            manifest if manifest is not None else json.loads((generation / "manifest.json").read_text("utf-8"))
        )
        self._store = ox.Store.read_only(str(generation / "oxigraph"))

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        base_iri: str | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Run a SPARQL query; the default graph is the union of all graphs unless one is named.
        `timeout` is not applied here: pyoxigraph has no cancellation, and a query is stopped by
        killing the worker that runs it.

        A dataset named by the request (`default_graph`, `named_graphs`) overrides the query's own
        `FROM`/`FROM NAMED`, as the SPARQL protocol says; the union applies only when neither names one
        (Oxigraph's union option would otherwise silently override `FROM`).
        """
        try:
            return self._store.query(
                sparql,
                use_default_graph_as_union=default_graph is None and not declares_dataset(sparql),
                default_graph=list(default_graph) if default_graph is not None else None,
                named_graphs=list(named_graphs) if named_graphs is not None else None,
                prefixes=PREFIXES,
                base_iri=base_iri,
            )
        except SyntaxError as error:
            raise QueryError.from_syntax("the query", error) from None

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        """Write the whole dataset; formats without named graphs get the union of all graphs."""
        if format.supports_datasets:
            self._store.dump(output, format, prefixes=formats.prefixes_for(format, PREFIXES))
            return
        triples = self._store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        assert isinstance(triples, ox.QueryTriples)
        ox.serialize(triples, output, format, prefixes=formats.prefixes_for(format, PREFIXES))

    def __len__(self) -> int:
        return len(self._store)


def open_store(path: Path) -> EmbeddedStore:
    """The generation of the store at `path` that is current now."""
    return EmbeddedStore(generations.current(path))


def current_build_id(path: Path) -> str:
    """The id of the generation in place, for anything that needs to notice a rebuild."""
    return generations.current_id(path)


def describe(generation: Path, manifest: dict[str, Any]) -> EmbeddedStore:
    """Write `manifest` with the generation's statistics into it, and open the generation."""
    store = EmbeddedStore(generation, manifest)
    write_stats(generation, manifest, dataset_stats(store))
    return store


def write_stats(generation: Path, manifest: dict[str, Any], numbers: Stats) -> None:
    """Write `manifest` with `numbers`, the generation's statistics, into it."""
    manifest["stats"] = {
        "triples": numbers.triples,
        "entities": numbers.entities,
        "properties": numbers.properties,
        "graphs": dict(numbers.graphs),
        "classes": dict(numbers.classes),
    }
    write_manifest(generation, manifest)
