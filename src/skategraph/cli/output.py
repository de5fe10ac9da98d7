"""Printing for people and pipes, one rule for every command: a table on a terminal, CSV when piped
(one header line, then rows), or the format a command's option names (`--format`, `--json`).

`print_result` prints query results (`skategraph sparql`, `skategraph query`) and knows nothing of
where they came from; `print_table` prints every other listing (`queries`, `stats`, `identities`).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence

import click
import pyoxigraph as ox
from tabulate import tabulate

from skategraph.errors import SkategraphError
from skategraph.graph.vocab import PREFIXES
from skategraph.sparql import formats
from skategraph.sparql.results import SolutionsWriter, select_page
from skategraph.store.base import QueryResult


def print_result(
    result: QueryResult, format_name: str | None, *, offset: int = 0, limit: int = 0, hidden: tuple[str, ...] = ()
) -> None:
    """Print a result: a table on a terminal, CSV when piped, or `format_name`; Turtle for graphs."""
    out = sys.stdout.buffer
    if isinstance(result, ox.QueryTriples):
        formats.write_result(result, out, format_name or "turtle", PREFIXES)
        return
    as_table = format_name == "table" or (format_name is None and on_terminal())
    if isinstance(result, ox.QueryBoolean):
        if as_table:
            click.echo("true" if bool(result) else "false")
        else:
            formats.write_result(result, out, format_name or "csv")
        return
    page = select_page(result, offset=offset, limit=limit, hidden=hidden)
    if as_table:
        rows = [[cell(term) for term in row] for row in page.rows]
        click.echo(tabulate(rows, headers=page.variables, tablefmt="simple") if rows else "(no results)")
    else:
        name = format_name or "csv"
        if name not in formats.RESULTS_FORMATS:
            raise SkategraphError(f"{name} is for CONSTRUCT and DESCRIBE results; a SELECT query can be written as "
                                  + ", ".join(formats.RESULTS_FORMATS))  # fmt: skip
        writer = SolutionsWriter(out, name, page.variables)
        for row in page.rows:
            writer.row(row)
        writer.close()
        out.flush()
    if page.more:
        click.echo(f"(more rows follow: --offset {offset + limit} for the next {limit})", err=True)


def on_terminal() -> bool:
    return sys.stdout.isatty()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], empty: str = "(none)") -> None:
    """A listing: aligned columns on a terminal (numbers with thousands separators), CSV when piped."""
    if on_terminal():
        click.echo(tabulate(rows, headers=list(headers), tablefmt="simple", intfmt=",") if rows else empty)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    click.echo(buffer.getvalue(), nl=False)


def cell(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for prefix, namespace in PREFIXES.items():
            if term.value.startswith(namespace):
                return f"{prefix}:{term.value[len(namespace) :]}"
        return term.value
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)
