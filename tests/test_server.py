"""What needs the server process itself: time limits that kill workers while others are answered,
connections cut mid-stream, concurrent writers, a rebuild under load, and the first run and signals
of `skategraph serve` (gunicorn, on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from .conftest import SEED, build, shift_season
from .server import Server, rows, seed_server, start_server

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?r a sg:Race }"
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    with seed_server(tmp_path_factory.mktemp("web"), "--processes", "2", seed=seed_dir) as running:
        yield running
    assert any("stopped" in line for line in running.log)


def test_runaway_query_is_stopped_while_others_are_answered(server: Server) -> None:
    outcome: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        outcome["reply"] = server.query(EXPLOSIVE, timeout="2")
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    small = [server.query(COUNT) for _ in range(5)]
    thread.join()
    assert all(r.status == 200 and rows(r.body) == [{"n": "60"}] for r in small)
    reply = outcome["reply"]
    assert reply.status == 503
    assert json.loads(reply.body)["error"] == "query_timeout"
    assert 2.0 <= outcome["seconds"] < 3.0
    # The worker that ran it was killed: its CPU is free.
    pids = [int(m.group(1)) for line in server.log if (m := re.search(r"pid (\d+)\): time limit", line))]
    assert pids
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_timeout_mid_stream_drops_the_connection(server: Server) -> None:
    """A result that has started streaming is never ended as if it were complete."""
    import http.client
    from urllib.parse import urlencode

    # Every solution makes a new triple, so output starts at once and never ends.
    query = "CONSTRUCT { ?a ?b ?n } WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i BIND(STR(RAND()) AS ?n) }"
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        path = "/sparql?" + urlencode({"query": query, "timeout": "2"})
        connection.request("GET", path, headers={"Accept": "application/n-triples"})
        response = connection.getresponse()
        assert response.status == 200  # streaming had begun
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        connection.close()


def test_a_stream_cut_at_the_time_limit_is_one_warning_in_the_log(server: Server) -> None:
    """Cut mid-stream, the request is logged once, as cut at its time limit: not as a 200, and with
    no traceback from the WSGI server (which saw the body's iterator raise)."""
    import http.client
    from urllib.parse import urlencode

    query = "CONSTRUCT { ?a ?b ?n } WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i BIND(STR(RAND()) AS ?n) }"
    path = "/sparql?" + urlencode({"query": query, "timeout": "1"})
    seen = len(server.log)
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": "application/n-triples"})
        response = connection.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        connection.close()
    for _ in range(100):  # the log is read from the server's stderr by a thread
        if any("timeout=1" in line for line in server.log[seen:]):
            break
        time.sleep(0.05)
    time.sleep(0.5)  # anything the server writes after the line, such as a traceback
    lines = server.log[seen:]
    about = [line for line in lines if "timeout=1" in line]
    assert len(about) == 1, "".join(lines)
    assert " WARNING " in about[0] and "GET /sparql?query=CONSTRUCT" in about[0], about[0]
    assert "cut" in about[0] and "time limit of 1 s" in about[0], about[0]
    assert not [line for line in lines if "Traceback" in line or "Error handling request" in line], "".join(lines)


def test_large_results_stream(server: Server) -> None:
    reply = server.query("CONSTRUCT WHERE { ?s ?p ?o }", accept="application/n-triples")
    assert reply.header("Transfer-Encoding") == "chunked" and reply.header("Content-Length") is None
    assert reply.body.count(b"\n") == json.loads(server.get("/health").body)["triples"]


def test_updates_are_serialised(server: Server) -> None:
    server.update("INSERT DATA { GRAPH <http://ex/c> { <http://ex/counter> <http://ex/n> 0 } }")
    increment = ("DELETE { GRAPH <http://ex/c> { <http://ex/counter> <http://ex/n> ?n } } "
                 "INSERT { GRAPH <http://ex/c> { <http://ex/counter> <http://ex/n> ?m } } "
                 "WHERE { GRAPH <http://ex/c> { <http://ex/counter> <http://ex/n> ?n } BIND(?n + 1 AS ?m) }")  # fmt: skip
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(server.update(increment).status)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [204] * 8
    value = rows(server.query("SELECT ?n WHERE { GRAPH <http://ex/c> { <http://ex/counter> <http://ex/n> ?n } }").body)
    assert value == [{"n": "8"}]  # no increment lost


def test_rebuild_is_picked_up_without_failures(server: Server, tmp_path: Path, seed_text: str) -> None:
    later = tmp_path / "2003-04.txt"
    later.write_text(shift_season(seed_text, 1), encoding="utf-8")
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            statuses.append(server.query(COUNT).status)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        build(server.store, SEED, later)
        deadline = time.monotonic() + 10
        while rows(server.query(COUNT).body) != [{"n": "120"}]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert statuses and set(statuses) == {200}


def test_runaway_update_is_stopped_and_changes_nothing(server: Server) -> None:
    before = server.query(COUNT).header("X-Skategraph-Build")
    # An update's WHERE reads the store's own default graph (empty here), so the graphs are named.
    explosive = ("INSERT { GRAPH <http://ex/boom> { ?a <http://ex/p> ?n } } WHERE { "
                 "GRAPH ?g1 { ?a ?b ?c } GRAPH ?g2 { ?d ?e ?f } GRAPH ?g3 { ?g ?h ?i } BIND(RAND() AS ?n) }")  # fmt: skip
    started = time.monotonic()
    reply = server.update(explosive, timeout="2")
    assert reply.status == 503 and json.loads(reply.body)["error"] == "query_timeout"
    assert time.monotonic() - started < 3.5
    assert server.query(COUNT).header("X-Skategraph-Build") == before
    assert server.query("ASK { GRAPH <http://ex/boom> { ?s ?p ?o } }").body.endswith(b"false}")
    # The lock was released: the next update goes through.
    assert server.update("INSERT DATA { GRAPH <http://ex/after> { <http://ex/s> <http://ex/p> 1 } }").status == 204


def test_serve_builds_on_first_run_and_stops_on_sigint(tmp_path: Path) -> None:
    import signal

    fresh = start_server(tmp_path / "new-store")
    try:
        assert any("building it first" in line for line in fresh.log)
        assert rows(fresh.query(COUNT).body) == [{"n": "60"}]
        assert fresh.engine_threads() == []  # the first build ran in a process of its own
    finally:
        fresh.process.send_signal(signal.SIGINT)
        fresh.process.send_signal(signal.SIGTERM)  # a second signal during shutdown must not break it
        assert fresh.process.wait(timeout=20) == 0
        fresh.stop()
    assert any("Handling signal: int" in line for line in fresh.log)
    assert any("stopped" in line for line in fresh.log)


def _deaths(server: Server) -> int:
    return sum(1 for line in server.log if "stopping a query worker" in line and "it died" in line)


def test_an_engine_error_is_a_400_and_costs_no_worker(server: Server) -> None:
    before = _deaths(server)
    reply = server.query("SELECT (<urn:f>(1) AS ?x) {}")
    assert reply.status == 400, reply.text
    body = json.loads(reply.body)
    assert body["error"] == "query_error" and "custom function <urn:f> is not supported" in body["message"]
    assert server.query(COUNT).status == 200  # the same workers answer (an earlier test may have rebuilt)
    assert _deaths(server) == before


def test_nesting_that_would_crash_the_engine_is_refused_before_it(server: Server) -> None:
    before = _deaths(server)
    deep = "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }"  # 10 KB: killed a worker before
    reply = server.post("/sparql", deep, "application/sparql-query")
    assert reply.status == 400 and "more than 256 deep, the limit here" in json.loads(reply.body)["message"]
    braces = "SELECT * WHERE { " + "{ " * 3000 + "?s ?p ?o" + " }" * 3000 + " }"
    assert server.post("/sparql", braces, "application/sparql-query").status == 400
    assert server.query(COUNT).status == 200  # the same workers answer (an earlier test may have rebuilt)
    assert _deaths(server) == before


def _query_workers(root: int) -> list[int]:
    """The query-worker processes below the server process `root` (spawned: `spawn_main` in argv)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])

    def below(pid: int) -> bool:
        while pid in parents and pid != root:
            pid = parents[pid]
        return pid == root

    found = []
    for pid in parents:
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in argv and below(pid):
            found.append(pid)
    return found


def test_workers_that_die_while_idle_are_replaced_and_health_says_so(tmp_path: Path, seed_dir: Path) -> None:
    with seed_server(tmp_path, "--processes", "1", "--workers", "2", seed=seed_dir) as server:
        workers = _query_workers(server.process.pid)
        assert len(workers) == 2
        for pid in workers:  # the OOM killer, or an administrator
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        health = server.get("/health")
        assert health.status == 503 and json.loads(health.body)["workers"] == {"workers": 2, "alive": 0}
        deadline = time.monotonic() + 20
        while server.get("/health").status != 200:
            assert time.monotonic() < deadline, "no worker came back"
            time.sleep(0.1)
        assert json.loads(server.get("/health").body)["workers"]["alive"] >= 1
        # Every path takes a live worker: an update, a query, a Graph Store write.
        for pid in _query_workers(server.process.pid):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
        assert server.update("INSERT DATA { GRAPH <http://ex/after> { <http://ex/s> <http://ex/p> 1 } }").status == 204
        assert server.query("ASK { GRAPH <http://ex/after> { ?s ?p ?o } }").body.endswith(b"true}")
        put = server.request("PUT", "/store?graph=http://ex/g", "<http://ex/a> <http://ex/b> \"1\" .",
                             {"Content-Type": "application/n-triples", "Authorization": "Bearer secret"})  # fmt: skip
        assert put.status == 201
        assert server.get("/health").status == 200


def test_a_read_queued_behind_a_busy_worker_keeps_its_generation_through_two_writes(
    tmp_path: Path, seed_dir: Path
) -> None:
    """Issue 12: a read given generation G while it waits for the one worker; two quick writes by
    another server process make G neither current nor previous, so the old prune removed it and the
    read's worker died on a missing store (500). A held generation is kept until its answer is out."""
    with seed_server(tmp_path / "a", "--processes", "1", "--workers", "1", seed=seed_dir) as reader:
        writer = start_server(reader.store, "--processes", "1", env={"SKATEGRAPH_UPDATE_TOKEN": "secret"})
        try:
            busy = threading.Thread(target=lambda: reader.query(EXPLOSIVE, timeout="3"))
            busy.start()
            time.sleep(0.5)  # the one worker is now held by the runaway query
            queued: dict[str, object] = {}
            waiting = threading.Thread(target=lambda: queued.setdefault("reply", reader.query(COUNT)))
            waiting.start()
            time.sleep(0.5)  # the small query has its generation and waits for the worker
            for n in range(2):
                assert writer.update(f"INSERT DATA {{ <http://ex/s> <http://ex/p> {n} }}").status == 204
            busy.join()
            waiting.join()
        finally:
            assert writer.stop() == 0, "".join(writer.log)
        reply = queued["reply"]
        assert reply.status == 200, reply.body
        assert rows(reply.body) == [{"n": "60"}]
        # Once nothing holds it, the next change removes it.
        assert reader.update("INSERT DATA { <http://ex/s> <http://ex/p> 9 }").status == 204
        assert len(list((reader.store / "generations").iterdir())) == 2


def test_a_forged_host_never_reaches_another_client_through_the_cache(tmp_path: Path, seed_dir: Path) -> None:
    """Issue 12: answers embed the Host (the `Link` header and the JSON head of a cut result), so one
    request with `Host: evil.example` made the next normal client receive links to it from the cache."""
    with seed_server(tmp_path, "--processes", "1", "--row-limit", "5", seed=seed_dir) as server:
        races = {"query": "SELECT ?r WHERE { ?r a sg:Race }"}
        forged = server.get("/sparql", races, Host="evil.example", Accept="application/sparql-results+json")
        assert forged.status == 200 and "evil.example" in (forged.header("Link") or "")
        for _ in range(2):
            normal = server.get("/sparql", races, Accept="application/sparql-results+json")
            assert normal.status == 200
            assert "evil.example" not in (normal.header("Link") or "") and b"evil.example" not in normal.body
            assert f"{server.host}:{server.port}" in (normal.header("Link") or "")
        time.sleep(0.1)  # the log is read by a thread
        assert any("(cached)" in line for line in server.log)  # the normal one is still cached


def _lines_with(server: Server, marker: str, seen: int) -> list[str]:
    """The log lines after `seen` that contain `marker`, once at least one has arrived (the log is read
    from the server's stderr by a thread), and whatever followed it shortly."""
    for _ in range(100):
        if any(marker in line for line in server.log[seen:]):
            break
        time.sleep(0.05)
    time.sleep(0.3)  # a second line, or a traceback, would come right after
    return [line for line in server.log[seen:] if marker in line]


def test_the_plain_dump_is_the_whole_dataset(server: Server) -> None:
    """Issue 13: through gunicorn, the dump for a client that does not accept gzip (curl without
    --compressed, wget) was an empty 200: the decoding file handed to gunicorn's sendfile failed on
    its numeric `mode` (and would otherwise have sent the gzipped bytes it is a view of)."""
    seen = len(server.log)
    reply = server.request("GET", "/dump?probe=plain", headers={"Accept-Encoding": "identity"})
    assert reply.status == 200 and reply.header("Content-Encoding") is None
    quads = list(ox.parse(reply.body, ox.RdfFormat.N_QUADS))
    assert len(quads) == json.loads(server.get("/health").body)["triples"]
    assert not [line for line in server.log[seen:] if "Error handling request" in line], "".join(server.log[seen:])


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/dump", {"Accept-Encoding": "gzip"}),
        ("GET", "/dump", {}),
        ("HEAD", "/dump", {"Accept-Encoding": "gzip"}),
        ("GET", "/dump.nq.gz", {}),
        ("GET", "/assets/style.css", {}),
    ],
    ids=["dump-gzip", "dump-plain", "dump-head", "dump-download", "stylesheet"],
)
def test_a_file_sent_whole_is_logged_once(server: Server, method: str, path: str, headers: dict[str, str]) -> None:
    """Issue 13: a file sent whole (the dump, the stylesheet) reaches gunicorn as a file wrapper that is
    closed in place of the response, so no such request was ever logged."""
    marker = f"{path}?probe={method}-{len(headers)}"
    seen = len(server.log)
    reply = server.request(method, marker, headers=headers)
    assert reply.status == 200
    lines = _lines_with(server, marker, seen)
    assert len(lines) == 1, "".join(server.log[seen:])
    assert f'"{method} {marker}" 200' in lines[0], lines[0]
