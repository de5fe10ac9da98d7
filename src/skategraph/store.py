"""The only module that opens or writes an Oxigraph store.

`GraphStore` is the boundary the rest of skategraph talks to; `EmbeddedStore` is the pyoxigraph
implementation, and a remote SPARQL backend can stand behind the same methods. Where the data lives on
disk, and how a new version replaces the old, is `skategraph.generations`.
"""

from __future__ import annotations

import datetime
import gc
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import pyoxigraph as ox

from skategraph import __version__, formats, generations, rdf, resources
from skategraph.errors import BuildError, QueryError
from skategraph.ids import Minter
from skategraph.links import Link
from skategraph.nations import Nation
from skategraph.records import Article
from skategraph.sparqltext import declares_dataset
from skategraph.stats import dataset_stats

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
Progress = Callable[[str], None]

MANIFEST_FORMAT = 1


class GraphStore(Protocol):
    """What skategraph needs from a store, whatever keeps the data."""

    manifest: dict[str, Any]

    def query(
        self,
        sparql: str,
        *,
        substitutions: dict[ox.Variable, ox.NamedNode | ox.Literal] | None = None,
        default_graph: list[ox.NamedNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult: ...

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None: ...


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
        substitutions: dict[ox.Variable, ox.NamedNode | ox.Literal] | None = None,
        default_graph: list[ox.NamedNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Run a SPARQL query; the default graph is the union of all graphs unless one is named.

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
                substitutions=dict(substitutions) if substitutions else None,
                prefixes=rdf.PREFIXES,
                base_iri=base_iri,
            )
        except SyntaxError as error:
            raise QueryError(f"the query does not parse: {error}") from None

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        """Write the whole dataset; formats without named graphs get the union of all graphs."""
        if format.supports_datasets:
            self._store.dump(output, format, prefixes=formats.prefixes_for(format, rdf.PREFIXES))
            return
        triples = self._store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        assert isinstance(triples, ox.QueryTriples)
        ox.serialize(triples, output, format, prefixes=formats.prefixes_for(format, rdf.PREFIXES))

    def __len__(self) -> int:
        return len(self._store)


def open_store(path: Path) -> EmbeddedStore:
    """The generation of the store at `path` that is current now."""
    return EmbeddedStore(generations.current(path))


def current_build_id(path: Path) -> str:
    """The id of the generation in place, for anything that needs to notice a rebuild."""
    return generations.current_id(path)


# -- building ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildSummary:
    path: Path
    generation: Path
    triples: int
    seasons: int
    races: int
    skaters: int
    seconds: float

    def line(self) -> str:
        return (
            f"Built {self.triples:,} triples: {self.seasons} season{'s' * (self.seasons != 1)}, "
            f"{self.races} races, {self.skaters} skaters in {self.seconds:.1f} s at {self.path}"
        )


def build_store(
    articles: Sequence[Article],
    nations: dict[str, Nation],
    path: Path,
    *,
    base: str,
    validate: Callable[[EmbeddedStore], None] | None = None,
    progress: Progress = lambda message: None,
    links: Sequence[Link] = (),
) -> BuildSummary:
    """Write `articles` to a new generation of the store at `path` and make it current.

    `validate` is called on the finished generation before the swap; if it raises, the new
    generation is discarded and the current one stays.
    """
    started = time.monotonic()
    _check_unique_seasons(articles)
    minter = Minter(base)
    build_id = generations.new_id()
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    quads = list(rdf.dataset_quads(articles, nations, minter, rdf.BuildInfo(build_id, now), links))
    with generations.writing(path, build_id) as generation:
        progress(f"Loading {len(quads):,} quads into {generation}")
        _load(generation / "oxigraph", quads)
        manifest = {
            "format": MANIFEST_FORMAT,
            "build_id": build_id,
            "built_at": now.isoformat(),
            "skategraph_version": __version__,
            "base": base,
            "articles": [
                {"source": a.source, "season": a.season, "title": a.title, "sha256": a.sha256} for a in articles
            ],
        }
        candidate = _describe(generation, manifest)
        try:
            if validate is not None:
                progress("Validating against ontology/shapes.ttl")
                validate(candidate)
            skaters = int(candidate.manifest["stats"]["classes"].get(rdf.PREFIXES["sg"] + "Skater", 0))
            triples = int(candidate.manifest["stats"]["triples"])
        finally:
            del candidate
            gc.collect()
    races = sum(len(a.races) for a in articles)
    return BuildSummary(
        path, path / "generations" / build_id, triples, len(articles), races, skaters, time.monotonic() - started
    )


def _describe(generation: Path, manifest: dict[str, Any]) -> EmbeddedStore:
    """Write `manifest` with the generation's statistics into it, and open the generation."""
    store = EmbeddedStore(generation, manifest)
    numbers = dataset_stats(store)
    manifest["stats"] = {
        "triples": numbers.triples,
        "entities": numbers.entities,
        "properties": numbers.properties,
        "graphs": dict(numbers.graphs),
        "classes": dict(numbers.classes),
    }
    (generation / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return store


def write_change(source: Path, target: Path, change: Callable[[ox.Store], None], note: str) -> dict[str, Any]:
    """Copy generation `source` into the empty directory `target` and apply `change` to the copy.

    Used for SPARQL updates and Graph Store writes: the copy becomes current only if this returns
    (see `generations.writing`), so a failed change alters nothing. Copying is an Oxigraph backup,
    which hard-links the immutable files and takes milliseconds.
    """
    ox.Store.read_only(str(source / "oxigraph")).backup(str(target / "oxigraph"))
    writable = ox.Store(str(target / "oxigraph"))
    try:
        change(writable)
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
    described = _describe(target, manifest)
    result = described.manifest
    del described
    gc.collect()
    return result


def _check_unique_seasons(articles: Sequence[Article]) -> None:
    seen: dict[str, str] = {}
    for article in articles:
        if article.season in seen:
            raise BuildError(f"the season {article.season} is given twice: {seen[article.season]} and {article.source}")
        seen[article.season] = article.source


def _load(directory: Path, quads: list[ox.Quad]) -> None:
    store = ox.Store(str(directory))
    try:
        ontology = resources.bundled("ontology") / "skategraph.ttl"
        store.bulk_load(path=str(ontology), format=ox.RdfFormat.TURTLE, to_graph=Minter.ontology_graph())
        store.bulk_extend(quads)
        store.optimize()
        store.flush()
    except (OSError, SyntaxError, ValueError) as error:
        raise BuildError(f"loading the store failed: {error}") from error
    finally:
        del store
        gc.collect()  # pyoxigraph releases the database lock when the Store is dropped
