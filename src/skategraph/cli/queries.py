"""The `skategraph queries` and `skategraph query` commands: saved queries from the shell.

A thin shell: the catalogue, the parameter checks, the binding and the outbound check are the core's
(`skategraph.saved.prepare`), the same code `/queries/<name>` goes through, so a wrong value gets the
same message here as over HTTP.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

from skategraph.cli.options import allow_service_option, queries_option, store_option
from skategraph.cli.output import print_result, print_table
from skategraph.engine.jobs import QueryJob, evaluate
from skategraph.errors import SkategraphError
from skategraph.saved.catalogue import Catalogue, load_catalogue, metadata
from skategraph.saved.lookups import read_lookups
from skategraph.saved.prepare import prepare
from skategraph.saved.query import Param, SavedQuery
from skategraph.saved.types import describe
from skategraph.sparql import formats
from skategraph.store.address import StoreAt, answering, open_store
from skategraph.store.embedded import EmbeddedStore
from skategraph.store.remote import RemoteStore


@click.command("queries")
@queries_option
@click.option("--json", "as_json", is_flag=True, help="The catalogue as JSON, as GET /queries gives it.")
@click.option("--markdown", is_flag=True, help="A Markdown table of the queries (the README's list is made so).")
def queries_command(query_dirs: tuple[Path, ...], as_json: bool, markdown: bool) -> None:
    """List the saved queries: name, title and parameters.

    \b
    Examples:
      skategraph queries
      skategraph query skater_results --help
    """
    catalogue = load_catalogue(query_dirs)
    if as_json:
        click.echo(json.dumps([metadata(q) for q in catalogue], indent=2, ensure_ascii=False))
    elif markdown:
        click.echo(markdown_table(catalogue))
    else:
        rows = [(q.name, q.title, " ".join(_signature(p) for p in q.params)) for q in catalogue]
        print_table(["name", "title", "parameters"], rows)


def _signature(param: Param) -> str:
    if param.required:
        return f"{param.name}=<{param.type}>"
    default = f"={param.default}" if param.default is not None else ""
    return f"[{param.name}{default}]"


def markdown_table(catalogue: Catalogue) -> str:
    """The saved queries as a Markdown table: name, what it answers, parameters."""
    lines = ["| query | what it answers | parameters |", "|---|---|---|"]
    for q in catalogue:
        params = ", ".join(
            f"`{p.name}` ({p.type}{', required' if p.required else ''}"
            f"{f', default {p.default}' if p.default is not None else ''})"
            for p in q.params
        )
        lines.append(f"| `{q.name}` | {q.description} | {params or '—'} |")
    return "\n".join(lines)


def query_help(query: SavedQuery) -> str:
    """`skategraph query NAME --help`: the query's description, parameters and an example."""
    out = [f"{query.title} ({query.name})", "", query.description, ""]
    if query.params:
        out.append("Parameters (-p name=value):")
        for p in query.params:
            flags = "required" if p.required else (f"default {p.default}" if p.default is not None else "optional")
            out.append(f"  {p.name:<14} {p.type}, {flags}. {p.description}".rstrip())
            out.append(f"  {'':<14} accepts {describe(p)}")
    else:
        out.append("No parameters.")
    example = " ".join(f"-p {k}={_quoted(v)}" for k, v in query.example().items())
    out += ["", "Example:", f"  skategraph query {query.name} {example}".rstrip()]
    out += ["", f"Over HTTP: GET /queries/{query.name}"]
    return "\n".join(out)


def _quoted(value: str) -> str:
    return f"'{value}'" if " " in value else value


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise SkategraphError(f"-p takes name=value, not {text!r}")
    return name.strip(), value


def _catalogue_for(ctx: click.Context) -> Catalogue | None:
    """The catalogue the command line being completed names (None if it cannot be read)."""
    try:
        return load_catalogue(ctx.params.get("query_dirs") or ())
    except SkategraphError:
        return None


def _complete_name(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    catalogue = _catalogue_for(ctx)
    names = [q for q in catalogue if q.name.startswith(incomplete)] if catalogue else []
    return [CompletionItem(q.name, help=q.title) for q in names]


def _complete_pair(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`-p` values: the query's parameter names (`name=`), then a listed parameter's values."""
    catalogue = _catalogue_for(ctx)
    # While an option waits for its value, click leaves the arguments unparsed, in ctx.args.
    name = ctx.params.get("name") or next(iter(ctx.args), None)
    if catalogue is None or not name or name not in {q.name for q in catalogue}:
        return []
    params = catalogue.get(name).params
    key, sep, value = incomplete.partition("=")
    if not sep:
        return [CompletionItem(f"{p.name}=", help=p.description or p.type) for p in params
                if p.name.startswith(key)]  # fmt: skip
    chosen = next((p for p in params if p.name == key), None)
    if chosen is None:
        return []
    values: Sequence[str] = chosen.values
    if not values:  # the store's: nations, seasons, venues, skaters, categories, distances
        try:
            values = read_lookups(open_store(ctx.params["store"]), catalogue).values_for(chosen)
        except (SkategraphError, KeyError, OSError):
            values = ()
    return [CompletionItem(f"{key}={v}") for v in values if v.startswith(value)]


@click.command("query", add_help_option=False)
@click.argument("name", required=False, shell_complete=_complete_name)
@click.option("-p", "--param", "pairs", multiple=True, metavar="NAME=VALUE", shell_complete=_complete_pair,
              help="A parameter value (repeatable).")  # fmt: skip
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["table", *formats.RESULTS_FORMATS, *formats.RDF_FORMATS]),
    help="Output format. Default: a table on a terminal, CSV otherwise.",
)
@click.option(
    "--limit", type=click.IntRange(0), default=0, help="At most this many rows (0: all); says if more follow."
)
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many rows first.")
@queries_option
@store_option
@allow_service_option
@click.option("-h", "--help", "show_help", is_flag=True, help="Show this message, or with NAME that query's help.")
@click.pass_context
def query_command(
    ctx: click.Context,
    name: str | None,
    pairs: tuple[str, ...],
    format_name: str | None,
    limit: int,
    offset: int,
    query_dirs: tuple[Path, ...],
    store: StoreAt,
    allow_service: frozenset[str],
    show_help: bool,
) -> None:
    """Run the saved query NAME with parameters given as -p name=value.

    \b
    Examples:
      skategraph query skater_results -p skater=ahn-hyun-soo
      skategraph query race_podiums -p category=women -p distance=500 --format json
      skategraph query skater_results --help
    """
    if show_help and name is None:
        click.echo(ctx.get_help())
        return
    if name is None:
        raise SkategraphError("name a saved query: 'skategraph queries' lists them")
    catalogue = load_catalogue(query_dirs)
    query = catalogue.get(name)
    if show_help:
        click.echo(query_help(query))
        return
    given = [_pair(p) for p in pairs]

    def run(opened: EmbeddedStore | RemoteStore) -> tuple[QueryJob, Any]:
        lookups = functools.cache(lambda: read_lookups(opened, catalogue))
        job = prepare(query, given, lookups, allow_service, generation=str(store))
        return job, evaluate(opened, job)

    job, result = answering(store, run)
    print_result(result, format_name, offset=offset, limit=limit, hidden=job.hidden)
