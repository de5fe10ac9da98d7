"""A query worker's peak memory for a 1M-row answer, against the same worker before it.

    python bench/memory.py [--rows 1000000] [--no-server]

The seed store (`skategraph build`), and queries that multiply its triples by a VALUES list to give
just over `--rows` solutions, run through the real worker pool (`skategraph.engine.pool.Pool`) with
the row limit at `--rows`, so the SELECT is cut at the limit and must say so. For each query a fresh
one-worker pool answers a tiny query first (the baseline: a worker with the store open), then the big
one, read to the end by this process as the web process would. Figures are the worker's peak RSS
(VmHWM in /proc/<pid>/status) and its RSS afterwards, as MB and as a ratio to the baseline measured in
the same run, and the time to the first byte. Then (unless `--no-server`) the same SELECT through
`skategraph serve` over HTTP, with the peak RSS of the gunicorn process and its query worker.

The CONSTRUCT rows show what is the engine's, not ours: Oxigraph keeps every distinct triple a
CONSTRUCT has produced (to leave out duplicates), whatever is done with the output.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import free_port, wait_for
from skategraph.engine.jobs import QueryJob
from skategraph.engine.pool import Pool
from skategraph.store import generations
from skategraph.store.embedded import open_store

TINY = "SELECT (COUNT(*) AS ?n) WHERE { ?r a <https://w3id.org/skategraph/ontology#Race> }"


def status(pid: int, field: str) -> float:
    """A /proc/<pid>/status field in kB, as MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def queries(multiplier: int) -> dict[str, tuple[str, str | None, str | None]]:
    values = " ".join(str(i) for i in range(multiplier))
    where = f"WHERE {{ ?s ?p ?o . VALUES ?n {{ {values} }} }}"
    return {
        "SELECT, JSON": (f"SELECT ?s ?p ?o ?n {where}", "json", None),
        "SELECT, CSV": (f"SELECT ?s ?p ?o ?n {where}", "csv", None),
        "CONSTRUCT, N-Triples": (f"CONSTRUCT {{ ?s ?p ?n }} {where}", None, "ntriples"),
        "CONSTRUCT, Turtle": (f"CONSTRUCT {{ ?s ?p ?n }} {where}", None, "turtle"),
    }


def through_pool(generation: Path, text: str, results: str | None, graph: str | None, rows: int) -> dict[str, float]:
    pool = Pool(1)
    pool.start()
    try:
        tiny = QueryJob(str(generation), TINY, results_format="json")
        b"".join(pool.query(tiny, 60).body)
        (worker,) = multiprocessing.active_children()
        assert worker.pid is not None
        baseline = status(worker.pid, "VmHWM")
        job = QueryJob(str(generation), text, results_format=results, graph_format=graph, row_limit=rows,
                       truncated_links=("http://127.0.0.1/limits",))  # fmt: skip
        started = time.perf_counter()
        reply = pool.query(job, 3600)
        first = time.perf_counter() - started
        size = sum(len(chunk) for chunk in reply.body)
        total = time.perf_counter() - started
        if results is not None:
            assert reply.truncated, "the answer should be cut at the row limit"
        return {"baseline": baseline, "peak": status(worker.pid, "VmHWM"), "after": status(worker.pid, "VmRSS"),
                "first": first, "total": total, "mb": size / 1e6}  # fmt: skip
    finally:
        pool.close()


def through_server(store: Path, text: str, rows: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "skategraph", "serve", "--store", str(store), "--port", str(port),
         "--processes", "1", "--workers", "1", "--row-limit", str(rows), "--timeout", "3600"],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/health")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)

        def get(query: str) -> tuple[http.client.HTTPResponse, float, int]:
            started = time.perf_counter()
            connection.request("GET", "/sparql?" + urlencode({"query": query}), headers={"Accept": "text/csv"})
            response = connection.getresponse()
            first = time.perf_counter() - started
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
            return response, first, size

        get(TINY)
        web = _descendants(server.pid, "gunicorn")
        workers = _descendants(server.pid, "worker")
        baseline = {pid: status(pid, "VmHWM") for pid in web + workers}
        response, first, size = get(text)
        assert response.getheader("X-Skategraph-Truncated") == "true", response.getheaders()
        return {
            "web baseline": max(baseline[pid] for pid in web),
            "web peak": max(status(pid, "VmHWM") for pid in web),
            "worker baseline": max(baseline[pid] for pid in workers),
            "worker peak": max(status(pid, "VmHWM") for pid in workers),
            "first": first,
            "mb": size / 1e6,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def _descendants(pid: int, kind: str) -> list[int]:
    """The gunicorn worker processes (`gunicorn`) or the query workers (`worker`) under `pid`."""
    found = []
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            parent = int((child / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (child / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if parent != pid:
            continue
        if "multiprocessing" in command:
            found += [int(child.name)] if kind == "worker" else []
        else:
            found += [int(child.name)] if kind == "gunicorn" else []
            found += _descendants(int(child.name), kind)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-server", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store_path = Path(folder) / "store"
        subprocess.run([sys.executable, "-m", "skategraph", "build", "--store", str(store_path), "--no-validate"],
                       check=True, capture_output=True)  # fmt: skip
        triples = len(open_store(store_path))
        multiplier = args.rows // triples + 1  # just over --rows solutions: the SELECT is cut
        generation = generations.current(store_path)
        print(f"{triples:,} triples x {multiplier} = {triples * multiplier:,} solutions; row limit {args.rows:,}")
        print(f"{'answer':<22}{'MB out':>8}{'first byte':>12}{'all':>8}{'baseline':>10}{'peak':>9}"
              f"{'peak/base':>11}{'after':>8}")  # fmt: skip
        for name, (text, results, graph) in queries(multiplier).items():
            got = through_pool(generation, text, results, graph, args.rows)
            print(f"{name:<22}{got['mb']:>8.0f}{got['first']:>11.1f}s{got['total']:>7.1f}s{got['baseline']:>8.0f}MB"
                  f"{got['peak']:>7.0f}MB{got['peak'] / got['baseline']:>10.2f}x{got['after']:>6.0f}MB")  # fmt: skip
        if not args.no_server:
            text = queries(multiplier)["SELECT, CSV"][0]
            got = through_server(store_path, text, args.rows)
            print(f"\nthrough skategraph serve (CSV, {got['mb']:.0f} MB, first byte {got['first']:.1f} s):")
            for side in ("web", "worker"):
                base, peak = got[f"{side} baseline"], got[f"{side} peak"]
                print(f"  {side:<7} baseline {base:>5.0f} MB, peak {peak:>5.0f} MB ({peak / base:.2f}x)")


if __name__ == "__main__":
    main()
