"""The `skategraph link` command.

A thin shell over `skategraph.linking.discovery` and `skategraph.linking.remote` (the polite client).
"""

from __future__ import annotations

import click

from skategraph.cli import progress
from skategraph.cli.options import links_option, store_option
from skategraph.linking.discovery import DBPEDIA, WIKIDATA, run_dbpedia, run_linking
from skategraph.linking.remote import Endpoint
from skategraph.source.linkfiles import LinkFiles
from skategraph.store.address import StoreAt, open_store


@click.command("link")
@store_option
@links_option
@click.option(
    "--target",
    type=click.Choice(["wikidata", "dbpedia"]),
    default="wikidata",
    show_default=True,
    help="wikidata: entities for skaters and venues; dbpedia: DBpedia resources for those links.",
)
@click.option("--endpoint", help=f"The SPARQL endpoint to ask. Default: {WIKIDATA} (or {DBPEDIA} for dbpedia).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds to wait for one answer.",
)
@click.option(
    "--retries",
    type=click.IntRange(0),
    default=3,
    show_default=True,
    help="Retries after a timeout, a 429 or a 5xx, with exponential backoff.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between two requests (be polite to public endpoints).",
)
@click.option("--no-cache", is_flag=True, help="Ask again what was asked before (the cache is in LINKS/.cache).")
def link_command(
    store: StoreAt,
    links: LinkFiles,
    target: str,
    endpoint: str | None,
    timeout: float,
    retries: int,
    interval: float,
    no_cache: bool,
) -> None:  # fmt: skip
    """Link skaters and venues to Wikidata (and, through it, DBpedia).

    Candidates come from the endpoint by the query in LINKS/wikidata-skaters.rq; each is scored on
    name, sport, nation and years. Sure ones go to links.tsv, doubtful ones to review.tsv, where
    your accept/reject decisions are kept (decisions.tsv) for every later run. Rebuild to put the
    links in the graph. Nations are linked from the verified table LINKS/nations-wikidata.tsv.

    \b
    Examples:
      skategraph link
      skategraph link --target dbpedia
      skategraph link --endpoint http://127.0.0.1:7878/query && skategraph build
    """
    url = endpoint or (DBPEDIA if target == "dbpedia" else WIKIDATA)
    cache = None if no_cache else links.write(".cache")
    remote = Endpoint(url, cache=cache, timeout=timeout, retries=retries, interval=interval)
    if target == "dbpedia":
        found = run_dbpedia(remote, links)
        click.echo(f"Found DBpedia resources for {found} links; {remote.requests} requests")
        return
    track = lambda batches: progress.track(batches, f"Asking {url}")  # noqa: E731
    click.echo(run_linking(open_store(store), remote, links, track).line())
