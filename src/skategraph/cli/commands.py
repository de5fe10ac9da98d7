"""The commands over the store: build, sparql, validate, export, stats and serve."""

from __future__ import annotations

import dataclasses
import io
import json
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import click
import pyoxigraph as ox

from skategraph.cli import progress
from skategraph.cli.options import allow_service_option, base_option, links_option, serve_options, store_option
from skategraph.cli.output import cell, on_terminal, print_result, print_table
from skategraph.engine.jobs import QueryJob, admit, evaluate
from skategraph.errors import SkategraphError, StoreNotFound
from skategraph.saved.catalogue import load_catalogue
from skategraph.source.linkfiles import LinkFiles
from skategraph.sparql import formats
from skategraph.store.address import StoreAt, answering, current_build_id, open_store, publisher
from skategraph.store.build import BuildSummary, build_from_files
from skategraph.store.stats import dataset_stats
from skategraph.store.validate import check_file, check_store
from skategraph.web import server
from skategraph.web.settings import Settings


@click.command()
@click.argument("articles", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_option
@base_option("Base IRI the resources are minted under ($SKATEGRAPH_BASE).")
@click.option("--no-validate", is_flag=True, help="Skip the SHACL check before the new store is swapped in.")
@click.option("--strict", is_flag=True, help="Fail the build on warnings too (a missing place, an empty podium...).")
@click.option("--skip-invalid", is_flag=True,
              help="Build the articles that parse and report the others as skipped, instead of failing.")  # fmt: skip
@click.option("--identities", "identities_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Which spellings are one skater (default: the bundled data/identities.tsv).")  # fmt: skip
@links_option
def build(
    articles: tuple[Path, ...],
    store: StoreAt,
    base: str,
    no_validate: bool,
    strict: bool,
    skip_invalid: bool,
    identities_file: Path | None,
    links: LinkFiles,
) -> None:
    """Build the graph from season ARTICLES (default: the bundled seasons).

    The new store is written beside the old one and swapped in only when it is complete and valid;
    if anything fails, the store in place is untouched and keeps answering. Every article is read to
    its end and every problem is reported at once, each with its file and line; warnings (what a source
    lacks) are listed at the end and kept in the season's provenance.

    \b
    Examples:
      skategraph build
      skategraph build my-seasons/*.txt --store ./store
      skategraph build data/*.txt tests/fixtures/seasons/*.txt   # in a checkout: nine seasons
      skategraph build seasons/*.txt --skip-invalid
    """
    summary = _build(list(articles), store, base, validate=not no_validate, links=links,
                     strict=strict, skip_invalid=skip_invalid, identities_file=identities_file)  # fmt: skip
    click.echo(summary.line())
    for line in summary.report():
        click.echo(line, err=True)


def _build(
    paths: Sequence[Path],
    store: StoreAt,
    base: str,
    *,
    validate: bool,
    links: LinkFiles,
    strict: bool = False,
    skip_invalid: bool = False,
    identities_file: Path | None = None,
) -> BuildSummary:
    summary = build_from_files(
        paths,
        store.path,
        base=base,
        validate=validate,
        links=links,
        progress=progress.step,
        track=lambda paths: progress.track(paths, "Parsing articles"),
        strict=strict,
        skip_invalid=skip_invalid,
        identities_file=identities_file,
        publish=publisher(store),
    )
    return summary if store.remote is None else dataclasses.replace(summary, where=str(store))


@click.command()
@click.argument("query", required=False)
@click.option("--file", "-f", "query_file", type=click.File("r", encoding="utf-8"), help="Read the query from a file.")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["table", *formats.RESULTS_FORMATS, *formats.RDF_FORMATS]),
    help="Output format. Default: a table on a terminal, CSV otherwise; Turtle for CONSTRUCT/DESCRIBE.",
)
@store_option
@allow_service_option
def sparql(
    query: str | None,
    query_file: io.TextIOBase | None,
    format_name: str | None,
    store: StoreAt,
    allow_service: frozenset[str],
) -> None:
    """Run a SPARQL query (QUERY, --file F, or - for standard input) against the store.

    The default graph is the union of all graphs, and the prefixes sg:, rdfs:, skos:, xsd:, owl:,
    prov: and dcterms: are predeclared.

    \b
    Examples:
      skategraph sparql 'SELECT (COUNT(*) AS ?races) WHERE { ?r a sg:Race }'
      skategraph sparql --file my.rq --format json
      echo 'ASK { ?s a sg:Skater }' | skategraph sparql -
    """
    text = _query_text(query, query_file)
    job = QueryJob(str(store), text)
    admit(job, allow_service, remote=store.remote is not None)
    print_result(answering(store, lambda opened: evaluate(opened, job)), format_name)


def _query_text(query: str | None, query_file: io.TextIOBase | None) -> str:
    if query is not None and query_file is not None:
        raise SkategraphError("give the query as an argument or with --file, not both")
    if query_file is not None:
        return str(query_file.read())
    if query == "-":
        return sys.stdin.read()
    if not query:
        raise SkategraphError("no query: give one as an argument, with --file F, or - to read standard input")
    return query


@click.command()
@store_option
@click.option(
    "--file",
    "data_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Validate this RDF file (Turtle, N-Triples, N-Quads, TriG, JSON-LD, RDF/XML) instead of the store.",
)
def validate(store: StoreAt, data_file: Path | None) -> None:
    """Check the graph against the SHACL shapes (ontology/shapes.ttl).

    Exits with status 1 and lists every violation if the graph does not conform.
    """
    violations = check_file(data_file) if data_file else check_store(open_store(store))
    if violations:
        for violation in violations:
            click.echo(violation.line())
        raise SkategraphError(f"{len(violations)} SHACL violation{'s' * (len(violations) != 1)}")
    click.echo(f"Valid: {data_file or store} conforms to the skategraph shapes.")


@click.command()
@store_option
@click.option(
    "--format",
    "format_name",
    type=click.Choice(list(formats.RDF_FORMATS)),
    help="nquads, trig and jsonld keep the named graphs; the others hold the union of all graphs. "
    "Default: from the --output file's extension (.nq, .trig, .ttl, .nt, .jsonld, .rdf), else nquads.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file, not stdout.")
def export(store: StoreAt, format_name: str | None, output: Path | None) -> None:
    """Write the whole dataset, ontology and provenance included.

    \b
    Examples:
      skategraph export > skategraph.nq
      skategraph export --output skategraph.ttl
    """
    if format_name is None:
        format_name = "nquads" if output is None else _format_of(output)
    opened = open_store(store)
    rdf_format = formats.RDF_FORMATS[format_name]
    if output is None:
        opened.dump(sys.stdout.buffer, rdf_format)
        return
    # Write beside the target and rename, so a failed export never leaves half a file behind.
    fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as handle:
            opened.dump(handle, rdf_format)
        os.chmod(partial, 0o666 & ~_umask())  # mkstemp makes it 0600: give it the mode open() would
        os.replace(partial, output)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    click.echo(f"Wrote {output} ({format_name}, {output.stat().st_size:,} bytes)", err=True)


def _format_of(output: Path) -> str:
    """The RDF format an export file's extension names."""
    found = ox.RdfFormat.from_extension(output.suffix.lstrip(".")) if output.suffix else None
    for name, rdf_format in formats.RDF_FORMATS.items():
        if rdf_format == found:
            return name
    raise SkategraphError(
        f"cannot tell an RDF format from the name {output.name}: give --format "
        f"({', '.join(formats.RDF_FORMATS)}) or an extension such as .nq, .ttl or .jsonld"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@click.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def stats(store: StoreAt, as_json: bool) -> None:
    """Triples per named graph and resources per class."""
    opened = open_store(store)
    manifest = opened.manifest
    numbers = dataset_stats(opened)
    if as_json:
        payload = {
            "store": str(store),
            "build_id": manifest["build_id"],
            "built_at": manifest["built_at"],
            "base": manifest["base"],
            "triples": numbers.triples,
            "graphs": dict(numbers.graphs),
            "classes": dict(numbers.classes),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    class_rows = [(cell(ox.NamedNode(c)), n) for c, n in numbers.classes]
    if not on_terminal():  # one table for a pipe: what is counted, its name, how many
        print_table(["counted", "name", "number"], [*(("triples", g, n) for g, n in numbers.graphs),
                                                   *(("resources", c, n) for c, n in class_rows)])  # fmt: skip
        return
    click.echo(f"Store {store}: build {manifest['build_id']}, base {manifest['base']}\n")
    print_table(["named graph", "triples"], [*numbers.graphs, ("total", numbers.triples)])
    click.echo()
    print_table(["class", "resources"], class_rows)


@click.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free port).")
@base_option("Base IRI for a first build, if there is no store yet ($SKATEGRAPH_BASE).")
@click.option("--processes", type=click.IntRange(1), envvar="SKATEGRAPH_PROCESSES",
              help="Web server processes, each with its own query workers (default: one per core).")  # fmt: skip
@links_option
@serve_options
def serve(
    store: StoreAt, host: str, port: int, base: str, processes: int | None, links: LinkFiles, **options: Any
) -> None:
    """Serve the graph at /sparql (SPARQL 1.1 Protocol) and /store (Graph Store Protocol).

    Builds the graph from the bundled seasons first if there is no store yet. Runs gunicorn, logs one
    line per request, and stops cleanly on Ctrl-C or SIGTERM. A rebuild while it runs is picked up
    without a restart.

    \b
    Examples:
      skategraph serve
      SKATEGRAPH_UPDATE_TOKEN=secret skategraph serve --port 8080 --timeout 10
    """
    query_dirs = options["query_dirs"]
    load_catalogue(query_dirs)  # a broken saved query stops the server here, before a build or any worker
    try:
        current_build_id(store)
    except StoreNotFound:
        click.echo(f"No store at {store} yet: building it first.", err=True)
        click.echo(_first_build(store, base, links), err=True)
    settings = Settings(
        store=store.path,
        remote=store.remote,
        timeout=options["timeout"],
        row_limit=options["row_limit"],
        max_body=options["max_body"],
        workers=options["workers"] or Settings(store.path).workers,  # per web process
        update_token=options["update_token"] or None,
        allow_service=options["allow_service"],
        cache_max_age=options["cache_max_age"],
        cache_mb=options["cache_mb"],
        reconcile_batch=options["reconcile_batch"],
        queries=query_dirs,
    )
    server.serve(settings, host, port, processes)


def _first_build(store: StoreAt, base: str, links: LinkFiles) -> str:
    """The first build of `serve`, in a process of its own; its summary line.

    The engine (RocksDB) starts background threads in a process that opens a store on disk, as a
    build does, and never stops them. A gunicorn web process forked from a process holding them hangs
    at exit, in RocksDB's exit handler on the threads' state it inherited, until gunicorn kills it at
    the end of its grace period: a SIGTERM took 10 s, not 1. So the serving process opens no store
    before it forks (a remote store is read over HTTP only), and a first build runs elsewhere.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    builder = context.Process(target=_build_elsewhere, args=(sender, store, base, links), name="skategraph-build")
    builder.start()
    sender.close()
    try:
        outcome, text = receiver.recv()
    except EOFError:
        outcome, text = "unexpected", f"the build process ended with status {builder.exitcode}"
    finally:
        builder.join()
        receiver.close()
    if outcome == "error":
        raise SkategraphError(text)
    if outcome == "unexpected":
        raise SkategraphError(f"the first build failed unexpectedly: {text}")
    return str(text)


def _build_elsewhere(sender: Connection, store: StoreAt, base: str, links: LinkFiles) -> None:
    """In the build process: the build, and what came of it sent back as (outcome, text)."""
    try:
        sender.send(("built", _build([], store, base, validate=True, links=links).line()))
    except SkategraphError as error:  # sent as its message: our errors do not all survive pickling
        sender.send(("error", str(error)))
    except Exception as error:
        sender.send(("unexpected", f"{type(error).__name__}: {error}"))
    finally:
        sender.close()


COMMANDS = [build, sparql, validate, export, stats, serve]
