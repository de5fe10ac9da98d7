"""Whether a reader sees one multi-MOVE request whole, on Oxigraph's server and on Virtuoso (issue 15).

    python bench/switch.py [--graphs 4] [--triples 20000] [--switches 4] [--readers 2] [--servers oxigraph,virtuoso]

Each server (started as the tests start it, tests/remotes.py) gets `--graphs` graphs of `--triples`
triples, each graph holding a marker of its version, and a build id in a control graph. Then, while
`--readers` threads poll every graph's count and version and the build id in one query, each switch
uploads the other version to staging graphs and runs ONE update request: a MOVE a graph, then the
control graph's DELETE/INSERT. A reader's answer is whole when every graph has the same version, the
build id says that version, and every count is the full one. The figures: answers seen, and those
that were not whole, by kind (versions mixed, a count off, the build id not the graphs' version).
This is the measurement `skategraph.store.switch` is designed on: not whole on Virtuoso, whole on
Oxigraph's server.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import remotes

from skategraph.errors import QueryTimeout
from skategraph.store.connection import Client, parse_remote

CONTROL = "urn:x-bench:control"


def measure(server: remotes.Server, graphs: int, triples: int, switches: int, readers: int) -> collections.Counter:
    environ = {"SKATEGRAPH_REMOTE_USER": server.user, "SKATEGRAPH_REMOTE_PASSWORD": server.password}
    remote = parse_remote(server.address, environ if server.user else {})
    assert remote is not None
    client = Client(remote)
    names = [f"urn:x-bench:live:{i}" for i in range(graphs)]

    def put(graph: str, version: str) -> None:
        lines = [f'<urn:x-bench:s{i}> <urn:x-bench:p> "{version}{i}" .' for i in range(triples)]
        body = ("\n".join(lines) + f'\n<urn:x-bench:marker> <urn:x-bench:version> "{version}" .\n').encode()
        headers = {"Content-Type": "application/n-triples", "Accept": "*/*"}
        response, answer = client.request("PUT", remote.store_url, params={"graph": graph}, data=body, headers=headers)
        client.check(response, answer, "a PUT")

    client.request("GET", remote.store_url, params={"graph": CONTROL}, headers={"Accept": "*/*"})
    for name in names:
        put(name, "A")
    client.update(f'INSERT DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <urn:x-bench:build> "A" }} }}')
    query = (
        "SELECT ?g ?v ?b (COUNT(*) AS ?n) WHERE { "
        "{ GRAPH ?g { ?s ?p ?o . <urn:x-bench:marker> <urn:x-bench:version> ?v } }"
        f" UNION {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <urn:x-bench:build> ?b }} }} }} GROUP BY ?g ?v ?b"
    )
    seen: collections.Counter[str] = collections.Counter()
    done = threading.Event()

    def read() -> None:
        reader = Client(remote)
        while not done.is_set():
            _, body = reader.request(
                "POST", remote.query_url, data={"query": query, "named-graph-uri": [*names, CONTROL]},
                headers={"Accept": "application/sparql-results+json"},
            )  # fmt: skip
            rows = json.loads(body)["results"]["bindings"]
            versions = {row["g"]["value"]: (row["v"]["value"], int(row["n"]["value"])) for row in rows if "g" in row}
            build = [row["b"]["value"] for row in rows if "b" in row]
            seen["answers"] += 1
            kinds = {v for v, _ in versions.values()}
            if len(kinds) > 1 or len(versions) != graphs:
                seen["versions mixed (or a graph missing)"] += 1
            elif any(n != triples + 1 for _, n in versions.values()):
                seen["a count off"] += 1
            elif build != list(kinds):
                seen["build id not the graphs' version"] += 1

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    try:
        version = "A"
        for _ in range(switches):
            version = "B" if version == "A" else "A"
            for i in range(graphs):
                put(f"urn:x-bench:staging:{i}", version)
            time.sleep(0.3)
            operations = [f"MOVE SILENT GRAPH <urn:x-bench:staging:{i}> TO GRAPH <{g}>" for i, g in enumerate(names)]
            operations.append(
                f"DELETE {{ GRAPH <{CONTROL}> {{ <{CONTROL}> ?p ?o }} }} "
                f'INSERT {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <urn:x-bench:build> "{version}" }} }} '
                f"WHERE {{ OPTIONAL {{ GRAPH <{CONTROL}> {{ <{CONTROL}> ?p ?o }} }} }}"
            )
            started = time.monotonic()
            try:
                client.update(" ;\n".join(operations))
            except QueryTimeout:  # Virtuoso's SR171 while readers hold the graphs: part of it may be applied
                seen["switches timed out"] += 1
            seen["switch ms (total)"] += int((time.monotonic() - started) * 1000)
            time.sleep(0.5)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", type=int, default=4)
    parser.add_argument("--triples", type=int, default=20_000)
    parser.add_argument("--switches", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--servers", default="oxigraph,virtuoso")
    args = parser.parse_args()
    for start in (getattr(remotes, name) for name in args.servers.split(",")):
        with tempfile.TemporaryDirectory() as directory:
            server = start(Path(directory))
            try:
                seen = measure(server, args.graphs, args.triples, args.switches, args.readers)
            finally:
                server.stop()
        print(f"{server.kind}: " + ", ".join(f"{key} {value:,}" for key, value in sorted(seen.items())))


if __name__ == "__main__":
    main()
