"""What a saved query costs over the same SPARQL sent to /sparql, and over pyoxigraph in-process.

    python bench/saved.py [--seconds 5]

One client, keep-alive, response cache off (`--cache-mb 0`), so every request is evaluated. Three
ways to ask the seed store for one skater's podium places:
  saved      GET /queries/skater_results?skater=Ahn Hyun-soo   (the name is resolved, then bound)
  sparql     GET /sparql with the same query text and the skater's IRI bound by us in the text
  in-process pyoxigraph Store.query of the text bound as skategraph binds it (a VALUES block), the baseline
Figures are requests per second and the ratio to the in-process baseline and to /sparql, measured in
the same run (these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import free_port, wait_for
from skategraph.saved.catalogue import load_catalogue
from skategraph.sparql.values import bind_values
from skategraph.store.embedded import open_store

SKATER = "https://w3id.org/skategraph/id/skater/ahn-hyun-soo"


def rate(call: object, seconds: float) -> float:
    assert callable(call)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        done += 1
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    text = load_catalogue().get("skater_results").text
    with tempfile.TemporaryDirectory() as folder:
        store_path = Path(folder) / "store"
        subprocess.run([sys.executable, "-m", "skategraph", "build", "--store", str(store_path), "--no-validate"],
                       check=True, capture_output=True)  # fmt: skip
        store = open_store(store_path)
        with_values = bind_values(text, [("_skater", ox.NamedNode(SKATER))])

        def in_process() -> None:
            list(store.query(with_values))

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "skategraph", "serve", "--store", str(store_path), "--port", str(port),
             "--cache-mb", "0", "--processes", "1"],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(f"http://127.0.0.1:{port}/health")
            connection = http.client.HTTPConnection("127.0.0.1", port)
            saved_path = "/queries/skater_results?" + urlencode({"skater": "Ahn Hyun-soo"})
            bound = text.replace("?rank ?_skater", "?rank").replace("?_skater", f"<{SKATER}>")  # for comparison only
            sparql_path = "/sparql?" + urlencode({"query": bound})

            def get(path: str) -> None:
                connection.request("GET", path, headers={"Accept": "application/sparql-results+json"})
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status

            for path in (saved_path, sparql_path):
                get(path)  # warm: lookups read once per store version
            figures = {
                "in-process": rate(in_process, args.seconds),
                "sparql": rate(lambda: get(sparql_path), args.seconds),
                "saved": rate(lambda: get(saved_path), args.seconds),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    base = figures["in-process"]
    print(f"{'way':<12}{'requests/s':>12}{'vs in-process':>16}{'vs /sparql':>12}")
    for name, value in figures.items():
        print(f"{name:<12}{value:>12,.0f}{value / base:>15.3f}x{value / figures['sparql']:>11.2f}x")


if __name__ == "__main__":
    main()
