"""Building a store: records to a new generation, checked, then swapped in.

`build_store` writes parsed articles; `build_from_files` is the whole pipeline both shells, the
tests and the benchmark run (season articles on disk -> parse -> links -> quads -> store ->
validation), so there is one way to build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from skategraph import __version__, resources
from skategraph.errors import BuildError, SkategraphError, SourceError, SourceErrors
from skategraph.graph import rdf
from skategraph.graph.ids import DEFAULT_BASE, Minter
from skategraph.graph.vocab import SG
from skategraph.source.articles import read_all
from skategraph.source.identities import (
    bundled_identities,
    bundled_identity_spellings,
    identity_spellings,
    read_identities,
)
from skategraph.source.linkfiles import Link, LinkFiles, bundled_link_files, read_links
from skategraph.source.nations import Nation, bundled_nations
from skategraph.source.records import Article, SourceWarning
from skategraph.store import generations
from skategraph.store.base import MANIFEST_FORMAT
from skategraph.store.embedded import EmbeddedStore, write_stats
from skategraph.store.stats import quad_stats
from skategraph.store.validate import require_valid

# A long step, as `with progress("Validating"):`; the CLI shows it on a terminal.
Progress = Callable[[str], AbstractContextManager[object]]


def _quiet(label: str) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class BuildSummary:
    path: Path
    generation: Path
    triples: int
    seasons: int
    races: int
    skaters: int
    seconds: float
    warnings: tuple[SourceWarning, ...] = ()  # what the sources lack, kept in each season's provenance
    skipped: tuple[SourceError, ...] = ()  # articles left out (`skip_invalid`), each with its problems
    where: str = ""  # where it was built, if not `path` (a remote store's server)

    def line(self) -> str:
        return (
            f"Built {self.triples:,} triples: {self.seasons:,} season{'s' * (self.seasons != 1)}, "
            f"{self.races:,} races, {self.skaters:,} skaters in {self.seconds:,.1f} s at {self.where or self.path}"
        )

    def report(self) -> list[str]:
        """The end-of-build summary: the warnings, and the articles that were skipped and why."""
        lines = []
        if self.warnings:
            lines.append(f"{len(self.warnings):,} warning{'s' * (len(self.warnings) != 1)}:")
            lines += [f"  {warning.text()}" for warning in self.warnings]
        for error in self.skipped:
            problems = getattr(error, "problems", [error])
            lines.append(f"Skipped {error.source}: {len(problems):,} problem{'s' * (len(problems) != 1)}:")
            lines += [f"  line {p.line}: {p.message}" for p in problems]
        return lines


def build_store(
    articles: Sequence[Article],
    nations: dict[str, Nation],
    path: Path,
    *,
    base: str,
    validate: Callable[[EmbeddedStore], None] | None = None,
    progress: Progress = _quiet,
    links: Sequence[Link] = (),
    identities: Mapping[str, str] | None = None,
    spellings: Mapping[str, Sequence[str]] | None = None,
    publish: Callable[[Path, dict[str, Any]], None] | None = None,
) -> BuildSummary:
    """Write `articles` to a new generation of the store at `path` and make it current.

    `validate` is called on the finished generation before the swap; if it raises, the new
    generation is discarded and the current one stays. `publish` (a remote store's) is then given
    the finished, valid generation to put in place in its server; if it raises, nothing is swapped,
    here or there. Once it has, the generation keeps only its manifest: the data is in the server.
    """
    started = time.monotonic()
    _check_unique_seasons(articles)
    minter = Minter(base, identities, spellings)
    build_id = generations.new_id()
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    with progress(f"Mapping {len(articles):,} season{'s' * (len(articles) != 1)} to RDF"), _collection_paused():
        quads = _ontology_quads()
        quads += rdf.dataset_quads(articles, nations, minter, rdf.BuildInfo(build_id, now), links)
        numbers = quad_stats(quads)
    with generations.writing(path, build_id) as generation:
        with progress(f"Loading {len(quads):,} quads"):
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
        write_stats(generation, manifest, numbers)
        if validate is not None:
            candidate = EmbeddedStore(generation, manifest)
            try:
                with progress("Validating against ontology/shapes.ttl"):
                    validate(candidate)
            finally:
                del candidate
                gc.collect()
        if publish is not None:
            with progress("Putting the new dataset in place in the store's server"):
                publish(generation, manifest)
            shutil.rmtree(generation / "oxigraph")
    skaters = dict(numbers.classes).get(SG + "Skater", 0)
    races = sum(len(a.races) for a in articles)
    warnings = tuple(warning for article in articles for warning in article.warnings)
    return BuildSummary(
        path,
        path / "generations" / build_id,
        numbers.triples,
        len(articles),
        races,
        skaters,
        time.monotonic() - started,
        warnings,
    )


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """No automatic garbage collection in the block. pyoxigraph's quads are objects the collector
    tracks, and mapping makes a million of them (and no cycles to collect): each automatic full
    collection walked every quad made so far, half the mapping's time at 400 seasons (issue 14)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_unique_seasons(articles: Sequence[Article]) -> None:
    seen: dict[str, str] = {}
    for article in articles:
        if article.season in seen:
            raise BuildError(f"the season {article.season} is given twice: {seen[article.season]} and {article.source}")
        seen[article.season] = article.source


def _load(directory: Path, quads: list[ox.Quad]) -> None:
    """Load `quads` into a new store at `directory`; `quads` is emptied once loaded."""
    store = ox.Store(str(directory))
    try:
        store.bulk_extend(quads)
        # pyoxigraph's quads are tracked by the garbage collector: with a million of them alive, every
        # automatic collection until the build returns would walk them all (issue 14).
        quads.clear()
        store.optimize()
        store.flush()
    except (OSError, SyntaxError, ValueError) as error:
        raise BuildError(f"loading the store failed: {error}") from error
    finally:
        # The database closes, and its lock is released, as the last reference goes: a Store is in no
        # reference cycle, so no collection is needed for it (one cost 0.03 s at 40 seasons, walking
        # every record of the articles; issue 14).
        del store


def _ontology_quads() -> list[ox.Quad]:
    """The bundled ontology, in its own graph. Loaded with the dataset's quads in one bulk load, not
    from its file before them: a second bulk load writes files over the key ranges of the first,
    which `optimize()` then compacted (a quarter of the bulk load's time at 40 seasons; after one
    load it has nothing to do, as for the baseline; issue 14)."""
    graph = Minter.ontology_graph()
    try:
        parsed = ox.parse(path=str(resources.bundled("ontology") / "skategraph.ttl"), format=ox.RdfFormat.TURTLE)
        return [ox.Quad(t.subject, t.predicate, t.object, graph) for t in parsed]
    except (OSError, SyntaxError) as error:
        raise BuildError(f"loading the ontology failed: {error}") from error


def build_from_files(
    paths: Sequence[Path],
    path: Path,
    *,
    base: str = DEFAULT_BASE,
    validate: bool = True,
    links: LinkFiles | None = None,
    progress: Progress = _quiet,
    track: Callable[[Sequence[Path]], Iterable[Path]] = iter,
    strict: bool = False,
    skip_invalid: bool = False,
    identities_file: Path | None = None,
    publish: Callable[[Path, dict[str, Any]], None] | None = None,
) -> BuildSummary:
    """What `skategraph build` does: season articles on disk (default: the bundled ones) and the links
    in `links` (default: the bundled `data/links/`), built into the store at `path`, validated
    against the shapes unless `validate` is false.

    Every article is read to its end and every problem reported at once. `strict` makes warnings fail
    the build; `skip_invalid` builds the articles that parse and reports the others as skipped.
    `identities_file` says which spellings are one skater (default: the bundled `data/identities.tsv`).
    `track` wraps the articles as they are parsed (the CLI shows a progress bar with it).
    """
    paths = list(paths) or resources.bundled_articles()
    if not paths:
        raise SkategraphError("no season articles given and none bundled")
    nations = bundled_nations()
    reading = read_all(list(track(paths)), nations)
    if reading.failed and not skip_invalid:
        raise SourceErrors.of(reading.failed)
    if not reading.articles:
        raise SourceErrors.of(reading.failed)
    if strict:
        warned = [SourceError(w.source, w.line, f"{w.message} (a warning: --strict makes it fail the build)")
                  for article in reading.articles for w in article.warnings]  # fmt: skip
        if warned:
            raise SourceErrors.of(warned)
    summary = build_store(
        reading.articles,
        nations,
        path,
        base=base,
        validate=require_valid if validate else None,
        progress=progress,
        links=read_links(links or bundled_link_files()),
        identities=read_identities(identities_file) if identities_file else bundled_identities(),
        spellings=identity_spellings(identities_file) if identities_file else bundled_identity_spellings(),
        publish=publish,
    )
    return dataclasses.replace(summary, skipped=tuple(reading.failed))
