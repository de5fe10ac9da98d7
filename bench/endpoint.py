"""HTTP throughput and latency of `skategraph serve`, against two baselines measured in the same run.

    python bench/endpoint.py [--seasons 10] [--duration 5] [--clients 1 4 16] [--queries tiny heavy]
                             [--row-limit N] [--before TREE]

Baselines: the same queries in-process with pyoxigraph (threads, which release the GIL), Oxigraph's
own Rust server (`oxigraph serve-read-only`, PyPI's `oxigraph`) on the same data, and the ceiling of
the Python web tier (`bench/ceiling.py`: a bare WSGI app evaluating in-process, on gunicorn with the
settings `skategraph serve` uses). Load
comes from wrk (Debian's package) with keep-alive connections, one per client. Two queries: a tiny
lookup and a heavy aggregation over every result. skategraph runs twice: with its response cache (the
default: wrk repeats one request, so after the first every answer is a cache hit) and without it
(`--cache-mb 0`: every request is evaluated by a worker). The same uncached app also runs on granian
(`bench/granian_app.py`), a Rust HTTP server for WSGI apps, to show what a faster HTTP server than
gunicorn would give. With `--before TREE` (e.g. `git worktree add /tmp/before <commit>`) one more
uncached server runs that tree's code (`PYTHONPATH=TREE/src`) on the same store, so that a change is
measured before and after in one run. Servers run with the default row limit unless `--row-limit`
says otherwise. Each figure is requests per second and p50/p99 latency; the ratios are what to
compare, since these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import SEED, shift_season

from bench import load
from bench.load import free_port, threaded, wait_for
from skategraph.graph.ids import DEFAULT_BASE
from skategraph.store import generations
from skategraph.store.build import build_from_files
from skategraph.store.embedded import open_store
from skategraph.web.settings import Settings

PREFIXES = "PREFIX sg: <https://w3id.org/skategraph/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
QUERIES = {
    "tiny": PREFIXES + "SELECT ?label WHERE { <https://w3id.org/skategraph/id/skater/ahn-hyun-soo> rdfs:label ?label }",
    "heavy": PREFIXES + "SELECT ?skater (COUNT(*) AS ?podiums) (SUM(IF(?rank = 1, 1, 0)) AS ?wins) "
    "WHERE { ?r sg:race ?race ; sg:competitor ?skater ; sg:rank ?rank } "
    "GROUP BY ?skater ORDER BY DESC(?wins) DESC(?podiums)",
}


def in_process(store: ox.Store, query: str, clients: int, duration: int) -> tuple[float, float, float]:
    def work() -> None:
        store.query(query, use_default_graph_as_union=True).serialize(io.BytesIO(), ox.QueryResultsFormat.JSON)

    return threaded(work, clients, duration)


def wrk(url: str, clients: int, duration: int) -> tuple[float, float, float]:
    return load.wrk(url, clients, duration, warm=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seasons", type=int, default=10)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--queries", nargs="+", choices=sorted(QUERIES), default=list(QUERIES))
    parser.add_argument("--row-limit", type=int, default=Settings.row_limit, help="the servers' (0: none)")
    parser.add_argument("--before", type=Path, help="also serve, uncached, the code in this tree (a git worktree)")
    args = parser.parse_args()
    oxigraph = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(oxigraph).exists():
        raise SystemExit("Oxigraph's server is needed: pip install oxigraph")

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        text = SEED.read_text(encoding="utf-8")
        paths = []
        for k in range(args.seasons):
            path = work / f"season-{k}.txt"
            path.write_text(shift_season(text, k), encoding="utf-8")
            paths.append(path)
        store_path = work / "store"
        build_from_files(paths, store_path, base=DEFAULT_BASE, validate=False)
        triples = len(open_store(store_path))
        # The same data for Oxigraph's server, in its own directory.
        dump = work / "dump.nq"
        with open(dump, "wb") as handle:
            open_store(store_path).dump(handle, ox.RdfFormat.N_QUADS)
        subprocess.run([oxigraph, "load", "--location", str(work / "oxigraph"), "--file", str(dump)],
                       check=True, capture_output=True)  # fmt: skip

        ports = [free_port() for _ in range(6)]
        ours_port, uncached_port, theirs_port, ceiling_port, granian_port, before_port = ports
        env = {**os.environ, "SKATEGRAPH_STORE": str(store_path), "SKATEGRAPH_ROW_LIMIT": str(args.row_limit)}
        serve = [sys.executable, "-m", "skategraph", "serve", "--row-limit", str(args.row_limit)]
        ours = subprocess.Popen([*serve, "--port", str(ours_port)], env=env, stderr=subprocess.DEVNULL)
        uncached = subprocess.Popen([*serve, "--port", str(uncached_port), "--cache-mb", "0"], env=env,
                                    stderr=subprocess.DEVNULL)  # fmt: skip
        servers = [ours, uncached]
        if args.before:
            servers.append(subprocess.Popen(
                [*serve, "--port", str(before_port), "--cache-mb", "0"], cwd=args.before, stderr=subprocess.DEVNULL,
                env={**env, "PYTHONPATH": str(args.before.resolve() / "src")},
            ))  # fmt: skip
        theirs = subprocess.Popen([oxigraph, "serve-read-only", "--location", str(work / "oxigraph"),
                                   "--bind", f"127.0.0.1:{theirs_port}", "--union-default-graph"],
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        ceiling = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", str(os.cpu_count() or 2),
             "-b", f"127.0.0.1:{ceiling_port}", "--log-level", "warning", "bench.ceiling:app"],
            cwd=ROOT, env={**env, "SKATEGRAPH_GENERATION": str(generations.current(store_path))},
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        granian = subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(os.cpu_count() or 2),
             "--blocking-threads", "8", "--host", "127.0.0.1", "--port", str(granian_port), "--log-level", "warning",
             "--factory", "bench.granian_app:factory"],
            cwd=ROOT, env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(f"http://127.0.0.1:{granian_port}/health")
            wait_for(f"http://127.0.0.1:{ceiling_port}/?query=ASK%7B%7D")
            wait_for(f"http://127.0.0.1:{ours_port}/health")
            wait_for(f"http://127.0.0.1:{uncached_port}/health")
            if args.before:
                wait_for(f"http://127.0.0.1:{before_port}/health")
            wait_for(f"http://127.0.0.1:{theirs_port}/query?query=ASK%7B%7D")
            local = ox.Store.read_only(str(generations.current(store_path) / "oxigraph"))
            print(f"{args.seasons} seasons, {triples:,} triples; {args.duration} s per cell; {os.cpu_count()} cores\n")
            header = (
                f"{'query':6} {'clients':>7} | {'cached rps':>10} {'p99':>8} | {'uncached rps':>12} {'p50':>8} "
                f"{'p99':>8} | {'oxigraph rps':>12} {'p99':>8} | {'ceiling rps':>11} {'p99':>8} | "
                f"{'in-proc rps':>11} {'p50':>8} | {'granian rps':>11} {'p99':>8} | {'cached/oxi':>10} "
                f"{'uncached/oxi':>12} {'ceiling/oxi':>11} {'uncached/ceiling':>16} {'uncached/in-proc':>16} "
                f"{'granian/oxi':>11}"
                + (f" | {'before rps':>10} {'p99':>8} {'before/oxi':>10} {'after/before':>12}" if args.before else "")
            )
            print(header)
            print("-" * len(header))
            for name in args.queries:
                query = QUERIES[name]
                for clients in args.clients:
                    request = f"?query={quote(query)}"
                    c_rps, _c50, c99 = wrk(f"http://127.0.0.1:{ours_port}/sparql{request}", clients, args.duration)
                    u_rps, u50, u99 = wrk(f"http://127.0.0.1:{uncached_port}/sparql{request}", clients, args.duration)
                    o_rps, _o50, o99 = wrk(f"http://127.0.0.1:{theirs_port}/query{request}", clients, args.duration)
                    x_rps, _x50, x99 = wrk(f"http://127.0.0.1:{ceiling_port}/{request}", clients, args.duration)
                    i_rps, i50, _i99 = in_process(local, query, clients, args.duration)
                    g_rps, _g50, g99 = wrk(f"http://127.0.0.1:{granian_port}/sparql{request}", clients, args.duration)
                    before = ""
                    if args.before:
                        b_url = f"http://127.0.0.1:{before_port}/sparql{request}"
                        b_rps, _b50, b99 = wrk(b_url, clients, args.duration)
                        before = f" | {b_rps:>10,.0f} {b99:>6.2f}ms {b_rps / o_rps:>9.2f}x {u_rps / b_rps:>11.2f}x"
                    print(
                        f"{name:6} {clients:>7} | {c_rps:>10,.0f} {c99:>6.2f}ms | {u_rps:>12,.0f} {u50:>6.2f}ms "
                        f"{u99:>6.2f}ms | {o_rps:>12,.0f} {o99:>6.2f}ms | {x_rps:>11,.0f} {x99:>6.2f}ms | "
                        f"{i_rps:>11,.0f} {i50:>6.2f}ms | {g_rps:>11,.0f} {g99:>6.2f}ms | {c_rps / o_rps:>9.2f}x "
                        f"{u_rps / o_rps:>11.2f}x {x_rps / o_rps:>10.2f}x {u_rps / x_rps:>15.2f}x "
                        f"{u_rps / i_rps:>15.2f}x {g_rps / o_rps:>10.2f}x{before}",
                        flush=True,
                    )
        finally:
            for process in (*servers, theirs, ceiling, granian):
                process.terminate()
                process.wait(timeout=20)


if __name__ == "__main__":
    main()
