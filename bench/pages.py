"""Pages under load: a skater's and a season's page from a real `skategraph serve`, against the same
pages' queries evaluated in-process, measured in the same run.

    python bench/pages.py [--seasons 400] [--seed 1] [--duration 5] [--clients 1 4] [--work DIR] [--before TREE]

The corpus is `bench/corpus.py` (seed 1), built without validation (into `--work` if given, and
reused from there on the next run). Three pages, found by SPARQL counts on the built store and
printed: the skater whose podium places (race results) are closest to 300, the skater with the most,
and the first season with ten stages. Each page is loaded with wrk (keep-alive, one connection a
client) as a browser asks for it (its Accept header), and the first skater's Turtle too, from
`skategraph serve --cache-mb 0` (every request evaluated) and, for comparison, from the default
server, whose response cache keeps pages (wrk repeats one request: after the first, every answer is
a cache hit).
With `--before TREE` (e.g. `git worktree add /tmp/before <commit>`) a third server runs that tree's
code (`PYTHONPATH=TREE/src`) on the same store, so a change is measured before and after in one run,
against the same baseline. After each load the script waits until the server is idle (its process
tree uses no CPU): requests wrk left in flight would otherwise take the CPU from the next cell.

The baseline is the page's own SPARQL queries (what the page asks the store, as this commit's code
asks it, the resource bound in the text as a VALUES block), evaluated in this process with pyoxigraph
on the same store and serialised as SPARQL JSON, one thread a client (pyoxigraph releases the GIL while it evaluates):
what a page would cost with no web tier, no rendering and no worker hop. Ratios are what to compare:
the machines are shared and noisy. A ratio below 1 for rps (above 1 for latency) is the web tier's
cost.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load
from bench.corpus import write_corpus
from bench.load import free_port, threaded, wait_for
from skategraph.graph.ids import DEFAULT_BASE
from skategraph.sparql.values import bind_values
from skategraph.store.build import build_from_files
from skategraph.store.embedded import EmbeddedStore, open_store
from skategraph.web import linkeddata, pages, sections

SG = "https://w3id.org/skategraph/ontology#"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
# Podium places are race results (a standing names its competitor too, and is not one).
PODIUMS = f"""SELECT ?skater (COUNT(*) AS ?n) WHERE {{ ?result <{SG}competitor> ?skater ; <{SG}race> ?race .
  ?skater a <{SG}Skater> }} GROUP BY ?skater ORDER BY ?skater"""
STAGES = f"""SELECT ?season (COUNT(*) AS ?n) WHERE {{ ?stage a <{SG}Stage> ; <{SG}season> ?season }}
  GROUP BY ?season ORDER BY ?season"""


def wrk(url: str, accept: str, clients: int, duration: int) -> tuple[float, float, float]:
    return load.wrk(url, clients, duration, accept=accept, timeout=60)


def cpu_seconds(root: int) -> float:
    """The CPU time used so far by process `root` and every process under it (from /proc)."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return sum(used.get(pid, 0.0) for pid in tree)


def settle(server: subprocess.Popen[bytes], limit: float = 60) -> None:
    """Wait until `server` is idle: when wrk stops, the requests it had in flight are still being
    answered (a slow page's for seconds), and would take the CPU from the next cell."""
    deadline = time.monotonic() + limit
    before = cpu_seconds(server.pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(server.pid)
        if now - before < 0.05:  # under a tenth of a core
            return
        before = now


def queries_of(kind: str, representation: str) -> list[str]:
    """The SPARQL a page (`html`) or a resource's RDF (`turtle`) asks the store, in order."""
    if representation == "turtle":
        return [linkeddata.FOUND, linkeddata.OWN, linkeddata.POINTING.format(limit=linkeddata.INCOMING_LIMIT)]
    # A section's query, or the queries whose rows the page joins or counts (`sections.Joined`,
    # `sections.Derived`, since issue 14), each asked once a page.
    shown = [text for _title, query, _columns in sections.SECTIONS.get(kind, [])
             for text in ([query] if isinstance(query, str) else query.queries())]  # fmt: skip
    # The nation: one query, or found from the sections' rows and then named (since issue 14; a season's
    # last day, SEASON_END, is asked once a generation and season, so not here).
    named = getattr(pages, "NATION_OF", None) or getattr(sections, "NATION_NAME", None)
    nation = [named] if named and kind in ("Skater", "RelayTeam") else []
    # What points here: one query, or three joined (`pages.incoming`, since issue 14), or two and a
    # property's labels (PROPERTY_LABEL, asked of each property pointing here: here of the resource).
    names = ("INCOMING", "INCOMING_PROPERTIES", "PROPERTY_LABEL", "INCOMING_LINKS")
    incoming = [getattr(pages, name) for name in names if hasattr(pages, name)]
    return list(dict.fromkeys([linkeddata.FOUND, pages.OUTGOING, *incoming, *shown, *nation]))


def in_process(
    store: EmbeddedStore, queries: list[str], iri: str, clients: int, duration: int
) -> tuple[float, float, float]:
    """Pages per second and p50/p99 (ms) of evaluating `queries` about `iri`, one page at a time a thread."""
    bound = [bind_values(query, [("_this", ox.NamedNode(iri))]) for query in queries]

    def page() -> None:
        for query in bound:
            result = store.query(query)
            assert isinstance(result, ox.QuerySolutions)
            result.serialize(io.BytesIO(), ox.QueryResultsFormat.JSON)

    return threaded(page, clients, duration)


def built(work: Path, seasons: int, seed: int) -> Path:
    """The store of the corpus at `work` (built there, unless an earlier run did)."""
    store = work / f"store-{seasons}-{seed}"
    if not (store / "current").exists():
        paths = write_corpus(work / f"corpus-{seasons}-{seed}", seasons, seed)
        started = time.perf_counter()
        summary = build_from_files(paths, store, base=DEFAULT_BASE, validate=False)
        print(f"built {summary.triples:,} triples from {seasons} seasons in {time.perf_counter() - started:.0f} s")
    return store


def chosen(store: EmbeddedStore) -> list[tuple[str, str, str]]:
    """(what, kind, IRI) of the pages to load, printed with why."""
    podiums = [(row["skater"].value, int(row["n"].value)) for row in store.query(PODIUMS)]
    near = min(podiums, key=lambda found: abs(found[1] - 300))
    busiest = max(podiums, key=lambda found: found[1])
    stages = [(row["season"].value, int(row["n"].value)) for row in store.query(STAGES)]
    season = next((found for found in stages if found[1] == 10), max(stages, key=lambda found: found[1]))
    print(f"skater near 300 podium places: {near[0]} ({near[1]}); busiest: {busiest[0]} ({busiest[1]}); "
          f"season: {season[0]} ({season[1]} stages)")  # fmt: skip
    return [("skater ~300", "Skater", near[0]), ("busiest skater", "Skater", busiest[0]),
            ("10-stage season", "Season", season[0])]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seasons", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=int, default=5, help="seconds a cell")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--work", type=Path, help="keep the corpus and its store here, for the next run")
    parser.add_argument("--before", type=Path, help="also serve the pages from the code in this tree (a git worktree)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = args.work or Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        store_path = built(work, args.seasons, args.seed)
        local = open_store(store_path)
        print(f"{args.seasons} seasons, {len(local):,} triples; {args.duration} s a cell; {os.cpu_count()} cores")
        targets = chosen(local)
        cells = [(what, kind, iri, "html", BROWSER) for what, kind, iri in targets]
        cells.insert(1, (targets[0][0], "Skater", targets[0][2], "turtle", "text/turtle"))
        serve = [sys.executable, "-m", "skategraph", "serve", "--store", str(store_path)]
        servers = {"evaluated": ["--cache-mb", "0"], "cached": []}
        if args.before:
            servers["before"] = ["--cache-mb", "0"]
        ports = {name: free_port() for name in servers}
        running = {
            name: subprocess.Popen([*serve, "--port", str(ports[name]), *options], stderr=subprocess.DEVNULL,
                                   env={**os.environ, "PYTHONPATH": str(args.before / "src")} if name == "before"
                                   else None)
            for name, options in servers.items()
        }  # fmt: skip
        try:
            for port in ports.values():
                wait_for(f"http://127.0.0.1:{port}/health", 120)
            header = (f"{'page':<16} {'as':<6} {'clients':>7} | {'evaluated rps':>13} {'p50':>8} {'p99':>8} | "
                      f"{'in-process rps':>14} {'p50':>8} {'p99':>8} | {'rps ratio':>9} {'p99 ratio':>9} | "
                      f"{'cached rps':>10} {'p99':>8}"
                      + (f" | {'before rps':>10} {'p50':>8} {'p99':>8} {'rps ratio':>9} {'p99 ratio':>9}"
                         if args.before else ""))  # fmt: skip
            print(header)
            print("-" * len(header))
            for what, kind, iri, representation, accept in cells:
                path = "/" + iri[len(DEFAULT_BASE) :] + (".ttl" if representation == "turtle" else "")
                queries = queries_of(kind, representation)
                urls = {name: f"http://127.0.0.1:{port}{path}" for name, port in ports.items()}
                for name, url in urls.items():
                    wrk(url, accept, 1, 1)  # warm: the workers open the store, the cache fills
                    settle(running[name])
                for clients in args.clients:
                    u_rps, u50, u99 = wrk(urls["evaluated"], accept, clients, args.duration)
                    settle(running["evaluated"])
                    i_rps, i50, i99 = in_process(local, queries, iri, clients, args.duration)
                    c_rps, _c50, c99 = wrk(urls["cached"], accept, clients, args.duration)
                    settle(running["cached"])
                    line = (f"{what:<16} {representation:<6} {clients:>7} | {u_rps:>13,.1f} {u50:>6.1f}ms "
                            f"{u99:>6.1f}ms | {i_rps:>14,.1f} {i50:>6.1f}ms {i99:>6.1f}ms | {u_rps / i_rps:>8.2f}x "
                            f"{u99 / i99:>8.2f}x | {c_rps:>10,.1f} {c99:>6.1f}ms")  # fmt: skip
                    if args.before:
                        b_rps, b50, b99 = wrk(urls["before"], accept, clients, args.duration)
                        settle(running["before"])
                        shown = f"{b99:>6.1f}ms" if b_rps else "  none"  # none finished within the cell
                        line += (f" | {b_rps:>10,.1f} {b50:>6.1f}ms {shown} {b_rps / i_rps:>8.2f}x "
                                 f"{(b99 / i99 if b_rps else float('inf')):>8.2f}x")  # fmt: skip
                    print(line, flush=True)
        finally:
            for process in running.values():
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
