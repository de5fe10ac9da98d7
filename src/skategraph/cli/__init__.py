"""The `skategraph` command line: a thin shell over the core packages.

Knows about exit codes and terminals, nothing about RDF. Every `SkategraphError` becomes
`Error: <message>` on stderr and exit status 1, in one place (`_Group.invoke`).
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from skategraph import __version__
from skategraph.cli import commands
from skategraph.cli.identities import identities_command
from skategraph.cli.link import link_command
from skategraph.cli.queries import queries_command, query_command
from skategraph.errors import SkategraphError


class _Group(click.Group):
    """Turns every error into `Error: ...` and exit status 1, for the command and for CliRunner alike."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except SkategraphError as error:
            raise click.ClickException(str(error)) from None
        except BrokenPipeError:
            sys.stderr.close()  # `skategraph export | head`: the reader went away, nothing to report
            raise click.exceptions.Exit(1) from None
        except Exception as error:
            if ctx.params.get("debug"):
                traceback.print_exc()
            raise click.ClickException(
                f"unexpected {type(error).__name__}: {error} (set SKATEGRAPH_DEBUG=1 for a traceback)"
            ) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skategraph")
@click.option("--debug", is_flag=True, envvar="SKATEGRAPH_DEBUG", help="Print a traceback for an unexpected error.")
def cli(debug: bool) -> None:
    """ISU Short Track Speed Skating World Cup results as a knowledge graph.

    \b
    Build the graph from the bundled season, then ask it something:
      skategraph build
      skategraph sparql 'SELECT ?name WHERE { ?s a sg:Skater ; rdfs:label ?name }'
    """


for command in (*commands.COMMANDS, link_command, identities_command, queries_command, query_command):
    cli.add_command(command)


def main() -> None:
    """Entry point of the `skategraph` command."""
    cli(prog_name="skategraph")
