"""The `skategraph identities` command: probable same-person pairs, for a person to confirm."""

from __future__ import annotations

import click

from skategraph.cli.options import store_option
from skategraph.cli.output import print_table
from skategraph.linking.identities import find_pairs
from skategraph.store.address import StoreAt, open_store


@click.command("identities")
@store_option
@click.option("--tsv", "as_tsv", is_flag=True, help="Print the pairs as lines for data/identities.tsv.")
def identities_command(store: StoreAt, as_tsv: bool) -> None:
    """List skaters who are probably one person, with the evidence.

    Nothing is merged here: a person checks each pair and adds the ones that are one person to
    data/identities.tsv (spelling, the key of the skater it is, evidence); the next build merges
    them, and the IRI the spelling had keeps answering as the same skater.

    \b
    Examples:
      skategraph identities
      skategraph identities --tsv >> my-identities.tsv
    """
    pairs = find_pairs(open_store(store))
    if as_tsv:
        for pair in pairs:
            click.echo(f"{pair.second_name}\t{pair.first.rsplit('/', 1)[-1]}\t{pair.evidence}")
        return
    rows = [(p.first_name, p.second_name, p.evidence) for p in pairs]
    print_table(["skater", "probably the same as", "evidence"], rows, empty="No probable same-person pairs.")
