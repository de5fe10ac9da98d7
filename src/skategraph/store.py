"""The only module that opens or writes a store.

A skategraph store is a directory:

    <store>/current              symlink to the generation that answers queries
    <store>/previous             symlink to the one before, kept for readers that still have it open
    <store>/generations/<id>/    one build: `oxigraph/` (the Oxigraph database) and `manifest.json`
    <store>/build.lock           held while a build runs

A build writes a new generation beside the current one and, only when it is complete and valid,
replaces the `current` symlink in one atomic rename. A failed or killed build (even `kill -9`) leaves
a stray generation that the next build removes; the store in place never sees it. Every generation
but `current` and `previous` is removed, by name, never by guessing which is newer. Generations are
never written after they are swapped in, so any number of readers can open them read-only.

`GraphStore` is the boundary the rest of skategraph talks to; `EmbeddedStore` is the pyoxigraph
implementation, and a remote SPARQL backend can stand behind the same methods.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import gc
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import pyoxigraph as ox

from skategraph import __version__, rdf, resources
from skategraph.errors import BuildError, QueryError, SkategraphError, StoreNotFound
from skategraph.ids import Minter
from skategraph.nations import Nation
from skategraph.records import Article
from skategraph.sparqltext import declares_dataset

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
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
    ) -> QueryResult: ...

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None: ...


class EmbeddedStore:
    """The current generation of an on-disk store, opened read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = _current_generation(path)
        self.manifest: dict[str, Any] = json.loads((self.generation / "manifest.json").read_text("utf-8"))
        self._store = ox.Store.read_only(str(self.generation / "oxigraph"))

    def query(
        self,
        sparql: str,
        *,
        substitutions: dict[ox.Variable, ox.NamedNode | ox.Literal] | None = None,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
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
            )
        except SyntaxError as error:
            raise QueryError(f"the query does not parse: {error}") from None

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        """Write the whole dataset; formats without named graphs get the union of all graphs."""
        if format.supports_datasets:
            self._store.dump(output, format, prefixes=rdf.PREFIXES if format is not ox.RdfFormat.N_QUADS else None)
            return
        triples = self._store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        assert isinstance(triples, ox.QueryTriples)
        ox.serialize(triples, output, format, prefixes=rdf.PREFIXES)

    def __len__(self) -> int:
        return len(self._store)


def open_store(path: Path) -> EmbeddedStore:
    return EmbeddedStore(path)


def _current_generation(path: Path) -> Path:
    current = path / "current"
    if not current.exists():
        if path.exists() and any(path.iterdir()) and not (path / "generations").is_dir():
            raise StoreNotFound(f"{path} is not a skategraph store")
        raise StoreNotFound(f"no store at {path}: run 'skategraph build' first")
    return current.resolve()


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
) -> BuildSummary:
    """Write `articles` to a new generation of the store at `path` and make it current.

    `validate` is called on the finished generation before the swap; if it raises, the new
    generation is discarded and the current one stays.
    """
    started = time.monotonic()
    _check_unique_seasons(articles)
    minter = Minter(base)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    build_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    info = rdf.BuildInfo(build_id, now)
    quads = list(rdf.dataset_quads(articles, nations, minter, info))  # identity errors surface here

    _prepare(path)
    with _build_lock(path):
        _prune_generations(path)
        generation = path / "generations" / build_id
        generation.mkdir(parents=True)
        try:
            progress(f"Loading {len(quads):,} quads into {generation}")
            triples = _load(generation / "oxigraph", quads)
            manifest = {
                "format": MANIFEST_FORMAT,
                "build_id": build_id,
                "built_at": now.isoformat(),
                "skategraph_version": __version__,
                "base": base,
                "triples": triples,
                "articles": [
                    {"source": a.source, "season": a.season, "title": a.title, "sha256": a.sha256} for a in articles
                ],
            }
            (generation / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
            if validate is not None:
                progress("Validating against ontology/shapes.ttl")
                candidate = EmbeddedStore.__new__(EmbeddedStore)
                candidate.path, candidate.generation, candidate.manifest = path, generation, manifest
                candidate._store = ox.Store.read_only(str(generation / "oxigraph"))
                try:
                    validate(candidate)
                finally:
                    del candidate
                    gc.collect()
            _sync_tree(generation)
            _swap_current(path, generation)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        _prune_generations(path)
    races = sum(len(a.races) for a in articles)
    skaters = _count(path, "SELECT (COUNT(?s) AS ?n) WHERE { ?s a sg:Skater }")
    return BuildSummary(path, generation, triples, len(articles), races, skaters, time.monotonic() - started)


def _count(path: Path, sparql: str) -> int:
    result = open_store(path).query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    return int(next(iter(result))[0].value)


def _check_unique_seasons(articles: Sequence[Article]) -> None:
    seen: dict[str, str] = {}
    for article in articles:
        if article.season in seen:
            raise BuildError(f"the season {article.season} is given twice: {seen[article.season]} and {article.source}")
        seen[article.season] = article.source


def _prepare(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise BuildError(f"{path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not (path / "generations").is_dir():
        raise BuildError(f"{path} exists and is not a skategraph store; choose another --store path")
    path.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    with open(path / "build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build is running on {path}") from None
        yield


def _load(directory: Path, quads: list[ox.Quad]) -> int:
    store = ox.Store(str(directory))
    try:
        ontology = resources.bundled("ontology") / "skategraph.ttl"
        store.bulk_load(path=str(ontology), format=ox.RdfFormat.TURTLE, to_graph=Minter.ontology_graph())
        store.bulk_extend(quads)
        store.optimize()
        store.flush()
        return len(store)
    except (OSError, SyntaxError, ValueError) as error:
        raise BuildError(f"loading the store failed: {error}") from error
    finally:
        del store
        gc.collect()  # pyoxigraph releases the database lock when the Store is dropped


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


def _swap_current(path: Path, generation: Path) -> None:
    old = _link_target(path, "current")
    _point(path, "current", generation.name)  # atomic: readers see the old or the new generation
    if old is not None:
        _point(path, "previous", old)


def _point(path: Path, name: str, generation: str) -> None:
    link = path / f".{name}-{generation}"
    link.symlink_to(Path("generations") / generation)
    os.replace(link, path / name)
    _sync_dir(path)


def _link_target(path: Path, name: str) -> str | None:
    link = path / name
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _prune_generations(path: Path) -> None:
    """Remove every generation but `current` and `previous`: older ones, and those of failed builds."""
    for leftover in path.glob(".current-*"):
        leftover.unlink()
    for leftover in path.glob(".previous-*"):
        leftover.unlink()
    keep = {_link_target(path, "current"), _link_target(path, "previous")}
    generations = path / "generations"
    if generations.is_dir():
        for generation in generations.iterdir():
            if generation.name not in keep:
                shutil.rmtree(generation, ignore_errors=True)


def current_build_id(path: Path) -> str:
    """The id of the generation in place, for anything that needs to notice a rebuild."""
    name = _link_target(path, "current")
    if name is None:
        raise StoreNotFound(f"no store at {path}: run 'skategraph build' first")
    return name


__all__ = [
    "BuildSummary",
    "EmbeddedStore",
    "GraphStore",
    "QueryResult",
    "SkategraphError",
    "build_store",
    "current_build_id",
    "open_store",
]
