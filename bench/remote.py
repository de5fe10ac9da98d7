"""A remote store against the embedded one: builds, saved queries and a page on Oxigraph's server and
on Virtuoso, each as a ratio to the same operation on the embedded store, in one run (issue 15).

    python bench/remote.py [--sizes 1 10 40] [--repeat 3] [--seed 1]

The corpus is `bench/corpus.py`'s (each smaller size a prefix of the largest). Both servers run here
on 127.0.0.1, started as the tests start them (`tests/remotes.py`), Virtuoso with its result cap
raised above any answer measured. For each size:
  build   `skategraph build` without validation: the embedded store's is the baseline; a remote
          store's is the same build plus putting the dataset in place in the server (staging graphs,
          then the switch)
  saved   every saved query (values the corpus has), evaluated as the CLI and the workers do
          (`evaluate`), best of `--repeat`: the median over the queries of remote / embedded, and the
          slowest query's ratio; a query a server refuses (Virtuoso's cost estimate, past Debian's
          MaxQueryCostEstimationTime of 400 s) is listed at the end and left out of that server's ratios
  direct  the same bound query texts sent straight to the server's endpoint by HTTP, with the dataset
          named as skategraph names it: what our layer costs on top of the server (ours / direct)
  page    the page of the skater with the most podium places, through the app in this process
          (response cache off), best of `--repeat`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests
from tests import remotes
from tests.server import running_app

from bench.build import TOP_SKATER, _corpus_values, best
from bench.corpus import write_corpus
from skategraph.engine.jobs import QueryJob, evaluate
from skategraph.errors import SkategraphError
from skategraph.graph.vocab import PREFIXES
from skategraph.saved.catalogue import load_catalogue
from skategraph.saved.lookups import read_lookups
from skategraph.saved.prepare import prepare
from skategraph.sparql.values import bind_values
from skategraph.store import generations
from skategraph.store.address import StoreAt, publisher, store_at, sync
from skategraph.store.base import GraphStore
from skategraph.store.build import build_from_files
from skategraph.store.embedded import EmbeddedStore
from skategraph.store.remote import RemoteStore


def timed(repeat: int, store: GraphStore, job: QueryJob) -> float:
    return best(repeat, lambda: list(evaluate(store, job)))


def saved_jobs(store: Any, season: str) -> dict[str, Any]:
    catalogue = load_catalogue()
    values, _skater, _podiums = _corpus_values(store, season)
    jobs = {}
    for saved in catalogue:
        if "SERVICE" in saved.text:
            continue  # the federated one asks Wikidata
        given = [(p.name, values.get(p.type, p.example)) for p in saved.params if p.example]
        jobs[saved.name] = prepare(
            saved, given, lambda: read_lookups(store, catalogue), frozenset(), generation="bench"
        )
    return jobs


def direct(server: remotes.Server, store: RemoteStore, job: Any) -> Callable[[], object]:
    """The job's bound text sent straight to the server, the dataset named as RemoteStore names it."""
    text = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items()) + bind_values(job.query, job.substitutions)
    graphs = list(store.manifest["stats"]["graphs"])
    session = requests.Session()
    endpoint = server.url + ("/query" if server.kind == "oxigraph" else "/sparql")
    form = {"query": text, "default-graph-uri": graphs, "named-graph-uri": graphs}

    def ask() -> object:
        reply = session.post(endpoint, data=form, headers={"Accept": "application/sparql-results+json"})
        reply.raise_for_status()
        return reply.content

    return ask


def page_time(at: StoreAt, skater: str, repeat: int) -> float:
    with running_app(at.path, remote=at.remote, cache_mb=0) as app:
        client = app.app.test_client()

        def page() -> None:
            response = client.get(f"/id/skater/{skater}", headers={"Accept": "text/html"})
            assert response.status_code == 200, response.status_code
            response.close()

        page()
        return best(repeat, page)


def measure(
    size: int, paths: list[Path], servers: dict[str, remotes.Server], work: Path, repeat: int
) -> dict[str, Any]:
    row: dict[str, Any] = {"size": size}
    embedded = StoreAt(work / f"embedded-{size}")
    started = time.perf_counter()
    summary = build_from_files(paths, embedded.path, validate=False)
    row["triples"] = summary.triples
    row["build"] = {"embedded": time.perf_counter() - started}
    local = EmbeddedStore(generations.current(embedded.path))
    season = local.manifest["articles"][0]["season"]
    jobs = saved_jobs(local, season)
    row["saved"] = {"embedded": {name: timed(repeat, local, job) for name, job in jobs.items()}}
    skater = next(iter(local.query(TOP_SKATER)))["skater"].value.rsplit("/", 1)[1]
    row["page"] = {"embedded": page_time(embedded, skater, repeat)}
    row["direct"], row["refused"] = {}, {}
    for kind, server in servers.items():
        at = store_at(server.address)
        started = time.perf_counter()
        build_from_files(paths, at.path, validate=False, publish=publisher(at))
        row["build"][kind] = time.perf_counter() - started
        sync(at)
        assert at.remote is not None
        remote = RemoteStore(at.remote)
        row["saved"][kind], row["refused"][kind] = {}, {}
        for name, job in jobs.items():
            try:
                row["saved"][kind][name] = timed(repeat, remote, job)
            except SkategraphError as error:  # e.g. Virtuoso's cost estimate: reported, left out of the ratios
                row["refused"][kind][name] = str(error)
        row["direct"][kind] = {name: best(repeat, direct(server, remote, jobs[name])) for name in row["saved"][kind]}
        row["page"][kind] = page_time(at, skater, repeat)
    return row


def report(rows: list[dict[str, Any]], kinds: list[str]) -> None:
    print(f"{'seasons':>7} {'triples':>9} | " + " | ".join(f"{k:^44}" for k in kinds))
    print(f"{'':>7} {'':>9} | " + " | ".join(f"{'build':>8} {'saved med':>9} {'slowest':>8} {'ours/dir':>8} {'page':>6}"
                                          for _ in kinds))  # fmt: skip
    for row in rows:
        cells = []
        for kind in kinds:
            build = row["build"][kind] / row["build"]["embedded"]
            ratios = {n: row["saved"][kind][n] / row["saved"]["embedded"][n] for n in row["saved"][kind]}
            slowest = max(ratios, key=lambda n: ratios[n])
            ours = statistics.median(row["saved"][kind][n] / row["direct"][kind][n] for n in ratios)
            page = row["page"][kind] / row["page"]["embedded"]
            cells.append(f"{build:>7.2f}x {statistics.median(ratios.values()):>8.2f}x {ratios[slowest]:>7.1f}x "
                         f"{ours:>7.2f}x {page:>5.2f}x")  # fmt: skip
        print(f"{row['size']:>7} {row['triples']:>9,} | " + " | ".join(cells))
    print("\nslowest saved query on each (remote / embedded):")
    for row in rows:
        for kind in kinds:
            ratios = {n: row["saved"][kind][n] / row["saved"]["embedded"][n] for n in row["saved"][kind]}
            name = max(ratios, key=lambda n: ratios[n])
            print(f"  {row['size']:>3} seasons, {kind}: {name} {row['saved'][kind][name] * 1000:.1f} ms "
                  f"against {row['saved']['embedded'][name] * 1000:.1f} ms")  # fmt: skip


def report_refused(rows: list[dict[str, Any]], kinds: list[str]) -> None:
    refused = [(row["size"], kind, name, why) for row in rows for kind in kinds
               for name, why in sorted(row["refused"][kind].items())]  # fmt: skip
    print(f"\nsaved queries a server refused (left out of its ratios): {len(refused) or 'none'}")
    for size, kind, name, why in refused:
        print(f"  {size:>3} seasons, {kind}: {name}: {why[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="skategraph-remote-bench-") as folder:
        work = Path(folder)
        import os

        os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # the remote stores' mirrors
        articles = write_corpus(work / "corpus", max(args.sizes), args.seed)
        servers = {
            "oxigraph": remotes.oxigraph(work / "oxigraph", timeout_s=600),
            "virtuoso": remotes.virtuoso(work / "virtuoso", max_rows=10_000_000, timeout_s=600),
        }
        try:
            for server in servers.values():
                for name, value in remotes.credentials(server).items():
                    os.environ[name] = value
            rows = [measure(size, articles[:size], servers, work, args.repeat) for size in sorted(args.sizes)]
        finally:
            for server in servers.values():
                server.stop()
    report(rows, list(servers))
    report_refused(rows, list(servers))


if __name__ == "__main__":
    main()
