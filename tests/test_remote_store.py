"""The remote store (issue 15) on two real servers, Oxigraph's and Virtuoso: the same answers as the
embedded store, the dataset named on every request, limits that say so, failures that name the
server, builds readers never see half done, and credentials nowhere in what we print."""

from __future__ import annotations

import collections
import contextlib
import copy
import io
import itertools
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from skategraph.errors import (
    BuildError,
    GenerationGone,
    QueryError,
    QueryTimeout,
    ResultCapped,
    SkategraphError,
    StoreNotFound,
    StoreUnavailable,
)
from skategraph.store import switch
from skategraph.store.address import answering, store_at, sync
from skategraph.store.connection import CONTROL, LOCK, PASSWORD_ENV, PASSWORD_FILE_ENV, USER_ENV, Client, read_control
from skategraph.store.embedded import EmbeddedStore
from skategraph.store.remote import Remote, RemoteStore, build_remote, open_remote, parse_remote
from skategraph.store.stats import dataset_stats
from skategraph.web import service

from . import remotes
from .conftest import ROOT
from .server import running_app

SERVERS = ["oxigraph_server", "virtuoso_server"]
ENTITIES = "https://w3id.org/skategraph/graph/entities"
LINKS = "https://w3id.org/skategraph/graph/links"


def remote_of(server: remotes.Server) -> Remote:
    environ = {USER_ENV: server.user, PASSWORD_ENV: server.password} if server.user else {}
    options = f"?max-rows={server.max_rows}" if server.max_rows else ""
    remote = parse_remote(server.address + options, environ)
    assert remote is not None
    return remote


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> remotes.Server:
    found: remotes.Server = request.getfixturevalue(request.param)
    return found


@pytest.fixture
def remote(server: remotes.Server) -> Remote:
    return remote_of(server)


@pytest.fixture(scope="session")
def seed_dataset(seed_store: EmbeddedStore) -> ox.Store:
    """The seed's quads in memory: what a build gives the remote store."""
    dataset = ox.Store()
    dataset.extend(ox.Store.read_only(str(seed_store.generation / "oxigraph")))
    return dataset


def manifest_of(dataset: ox.Store, build_id: str, **extra: Any) -> dict[str, Any]:
    graphs: dict[str, int] = collections.Counter(q.graph_name.value for q in dataset)
    return {"format": 1, "build_id": build_id, "stats": {"graphs": dict(graphs)}, **extra}


@pytest.fixture
def seeded(remote: Remote, seed_dataset: ox.Store, seed_store: EmbeddedStore) -> RemoteStore:
    """The remote store holding the seed, as the embedded seed store does."""
    try:
        store = open_remote(remote)
        if store.manifest["build_id"] == seed_store.manifest["build_id"]:
            return store
    except StoreNotFound:
        pass
    return build_remote(remote, seed_dataset, copy.deepcopy(seed_store.manifest))


def rows(result: Any) -> collections.Counter[tuple[str, ...]]:
    """A SELECT's rows as a multiset of N-Triples terms (blank nodes as one marker)."""
    assert isinstance(result, ox.QuerySolutions)
    return collections.Counter(
        tuple("_:" if isinstance(t, ox.BlankNode) else "" if t is None else str(t) for t in row) for row in result
    )


def triples(result: Any) -> set[str]:
    assert isinstance(result, ox.QueryTriples)
    return {str(t) for t in result if not any(isinstance(x, ox.BlankNode) for x in (t.subject, t.object))}


# --- the address -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "query_url", "update_url", "store_url", "max_rows"),
    [
        ("oxigraph+http://db.example:7878", "oxigraph", "http://db.example:7878/query",
         "http://db.example:7878/update", "http://db.example:7878/store", None),
        ("oxigraph+https://db.example/triples/", "oxigraph", "https://db.example/triples/query",
         "https://db.example/triples/update", "https://db.example/triples/store", None),
        ("virtuoso+http://127.0.0.1:8890", "virtuoso", "http://127.0.0.1:8890/sparql",
         "http://127.0.0.1:8890/sparql-auth", "http://127.0.0.1:8890/sparql-graph-crud-auth", 10_000),
        ("virtuoso+https://v.example:443?max-rows=500", "virtuoso", "https://v.example:443/sparql",
         "https://v.example:443/sparql-auth", "https://v.example:443/sparql-graph-crud-auth", 500),
    ],
)  # fmt: skip
def test_a_remote_address_names_its_endpoints(text, kind, query_url, update_url, store_url, max_rows) -> None:
    remote = parse_remote(text, {})
    assert remote is not None
    assert (remote.kind, remote.query_url, remote.update_url, remote.store_url, remote.max_rows) == (
        kind, query_url, update_url, store_url, max_rows,
    )  # fmt: skip


@pytest.mark.parametrize("text", ["store", "/var/lib/skategraph", "./oxigraph+http", "C:store"])
def test_a_directory_is_not_a_remote_address(text: str) -> None:
    assert parse_remote(text, {}) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("virtuoso+http://dba:sekrit@127.0.0.1:8890", "in the environment"),
        ("oxigraph+http://me@127.0.0.1:7878", "in the environment"),
        ("http://127.0.0.1:7878/query", "not a store address"),
        ("fuseki+http://127.0.0.1:3030", "not a store address"),
        ("virtuoso+http://127.0.0.1:8890?rows=5", "option"),
    ],
)
def test_a_wrong_remote_address_is_refused_and_never_echoes_a_password(text: str, says: str) -> None:
    with pytest.raises(SkategraphError, match=says) as caught:
        parse_remote(text, {})
    assert "sekrit" not in str(caught.value)


def test_credentials_come_from_the_environment_or_a_file_and_never_show(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n", "utf-8")
    remote = parse_remote("virtuoso+http://127.0.0.1:1", {USER_ENV: "u", PASSWORD_FILE_ENV: str(secret)})
    assert remote is not None and (remote.user, remote.password) == ("u", "from-a-file")
    remote = parse_remote("virtuoso+http://127.0.0.1:1", {USER_ENV: "u", PASSWORD_ENV: "from-the-env"})
    assert remote is not None and remote.password == "from-the-env"
    for shown in (str(remote), repr(remote), remote.name, f"{remote}"):
        assert "from-the-env" not in shown and "u@" not in shown
    with pytest.raises(SkategraphError, match=USER_ENV):
        parse_remote("virtuoso+http://127.0.0.1:1", {PASSWORD_ENV: "p"})


# --- same answers ----------------------------------------------------------------------------------

SELECTS = [
    "SELECT ?name WHERE { ?s a sg:Skater ; sg:name ?name }",
    "SELECT ?class (COUNT(*) AS ?n) WHERE { ?s a ?class } GROUP BY ?class",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT ?s ?o WHERE { ?s skos:notation ?o } ORDER BY ?o",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }",
    "SELECT ?date WHERE { ?race sg:date ?date } ORDER BY ?date LIMIT 5",
]


def test_select_ask_and_construct_answer_as_the_embedded_store(seeded: RemoteStore, seed_store: EmbeddedStore) -> None:
    for query in SELECTS:
        assert rows(seeded.query(query)) == rows(seed_store.query(query)), query
    for query in ("ASK { ?s a sg:Skater }", "ASK { ?s a sg:NoSuchClass }", "ASK { GRAPH ?g { ?s a sg:Race } }"):
        remote, embedded = seeded.query(query), seed_store.query(query)
        assert isinstance(remote, ox.QueryBoolean) and bool(remote) == bool(embedded), query
    for query in ("CONSTRUCT WHERE { ?s a sg:Skater ; sg:name ?n }", 'DESCRIBE ?s WHERE { ?s skos:notation "KOR" }'):
        assert triples(seeded.query(query)) == triples(seed_store.query(query)), query
    assert dataset_stats(seeded) == dataset_stats(seed_store)
    assert len(seeded) == len(seed_store)
    assert seeded.current_id() == seed_store.manifest["build_id"]
    assert seeded.health() == {"store": seeded.remote.name, "build_id": seeded.current_id(), "current": True}


def test_the_dataset_is_named_on_every_request(seeded: RemoteStore, seed_store: EmbeddedStore) -> None:
    graphs = rows(seeded.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"))
    assert graphs == rows(seed_store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"))  # no system graph
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert rows(seeded.query(count)) == rows(seed_store.query(count))  # Virtuoso's 5,000 system triples left out
    own = f"SELECT (COUNT(*) AS ?n) FROM <{LINKS}> WHERE {{ ?s ?p ?o }}"
    assert (
        rows(seeded.query(own))
        == rows(seed_store.query(own))
        == collections.Counter({('"88"^^<http://www.w3.org/2001/XMLSchema#integer>',): 1})
    )
    entities = [ox.NamedNode(ENTITIES)]
    assert rows(seeded.query(own, default_graph=entities)) == rows(seed_store.query(own, default_graph=entities))
    named = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    links = [ox.NamedNode(LINKS)]
    assert rows(seeded.query(named, named_graphs=links)) == rows(seed_store.query(named, named_graphs=links))
    empty = [ox.DefaultGraph()]
    assert rows(seeded.query(count, default_graph=empty)) == rows(seed_store.query(count, default_graph=empty))


def test_a_syntax_error_is_ours_at_the_clients_line_and_column(seeded: RemoteStore, seed_store: EmbeddedStore) -> None:
    text = "SELECT ?x\nWHERE { ?x sg:name }"
    with pytest.raises(QueryError) as remote:
        seeded.query(text)
    with pytest.raises(QueryError) as embedded:
        seed_store.query(text)
    assert (remote.value.line, remote.value.column) == (embedded.value.line, embedded.value.column) == (2, 20)
    assert remote.value.status == 400


def test_a_base_iri_resolves_relative_iris(seeded: RemoteStore, seed_store: EmbeddedStore) -> None:
    query = "SELECT ?name WHERE { <id/nation/KOR> ?p ?name }"
    base = "https://w3id.org/skategraph/"
    assert rows(seeded.query(query, base_iri=base)) == rows(seed_store.query(query, base_iri=base))


# --- limits -----------------------------------------------------------------------------------------

# A join of a 25,000-triple graph with itself on a computed value: minutes of work, and rows all along
# (Oxigraph's server checks its time limit as it makes rows: a count of a cross product ran a minute
# past its limit of 3 s, measured).
SLOW = "SELECT ?s ?t WHERE { ?s ?p ?o . ?t ?q ?u FILTER(STR(?o) = STR(?u)) }"
SLOW_GRAPH = "CONSTRUCT { ?s <https://example.org/same> ?t } WHERE { ?s ?p ?o . ?t ?q ?u FILTER(STR(?o) = STR(?u)) }"


def big(remote: Remote, name: str) -> RemoteStore:
    dataset = ox.Store()
    graph = ox.NamedNode("https://example.org/big")
    dataset.extend(ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), ox.NamedNode("https://example.org/p"),
                           ox.Literal(f"v{i}"), graph) for i in range(25_000))  # fmt: skip
    return build_remote(remote, dataset, manifest_of(dataset, name))


@pytest.mark.parametrize("query", [SLOW, SLOW_GRAPH])
@pytest.mark.parametrize("kind", ["oxigraph", "virtuoso"])
def test_our_time_limit_bounds_the_remote_call(tmp_path: Path, kind: str, query: str) -> None:
    # A server of the test's own: the query runs on there after we stop waiting, to the server's own
    # limit, and holds what it reads (a build the next test made on a shared Virtuoso timed out so)
    server = (remotes.oxigraph if kind == "oxigraph" else remotes.virtuoso)(tmp_path / kind)
    try:
        store = big(remote_of(server), f"slow-{kind}")
        with pytest.raises(QueryTimeout, match="time limit of 1 s") as caught:
            store.query(query, timeout=1)
        assert caught.value.status == 503
    finally:
        server.stop()


@pytest.mark.parametrize("query", [SLOW, SLOW_GRAPH])
def test_the_servers_own_time_limit_is_a_timeout_never_a_truncated_answer(oxigraph_server, query: str) -> None:
    # Oxigraph's server answers 200 and writes "The SPARQL operation has been cancelled" into the body
    store = big(remote_of(oxigraph_server), "limit-test")
    with pytest.raises(QueryTimeout):
        store.query(query)


CUBE = "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i FILTER(STR(?c) = STR(?i)) }"  # 2,516 cubed: hours


@pytest.mark.parametrize(
    "query", [f"SELECT (COUNT(*) AS ?n) WHERE {CUBE}", f"CONSTRUCT {{ ?a <x:p> ?i }} WHERE {CUBE}"]
)
def test_virtuosos_own_time_limit_is_a_timeout(tmp_path: Path, seed_dataset, query: str) -> None:
    # Virtuoso's MaxQueryExecutionTime (4 s here; it bounds a build's MOVEs too) ends a query with a
    # 500 saying SR171
    server = remotes.virtuoso(tmp_path / "virtuoso", timeout_s=4)
    try:
        store = build_remote(remote_of(server), seed_dataset, manifest_of(seed_dataset, "virtuoso-limit"))
        with pytest.raises(QueryTimeout):
            store.query(query)
    finally:
        server.stop()


def test_an_answer_the_server_cut_at_its_row_cap_is_never_served(virtuoso_server, seeded_virtuoso) -> None:
    store = seeded_virtuoso
    cap = virtuoso_server.max_rows
    assert cap is not None and len(store) > cap
    for query in ("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", "CONSTRUCT WHERE { ?s ?p ?o }"):
        with pytest.raises(ResultCapped, match=f"{cap:,} rows") as caught:
            store.query(query)
        assert caught.value.status == 502
    assert sum(rows(store.query(f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {cap - 1}")).values()) == cap - 1


@pytest.fixture
def seeded_virtuoso(virtuoso_server, seed_dataset, seed_store) -> RemoteStore:
    return build_remote(remote_of(virtuoso_server), seed_dataset, copy.deepcopy(seed_store.manifest))


def test_a_dump_is_whole_however_the_server_caps_its_answers(remote: Remote, server: remotes.Server) -> None:
    dataset = ox.Store()
    big, small = ox.NamedNode("https://example.org/big"), ox.NamedNode("https://example.org/small")
    size = 12_017  # past Virtuoso's 10,000 sorted rows, and six of its pages
    dataset.extend(ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), ox.NamedNode("https://example.org/p"),
                           ox.Literal(f"v{i}"), big) for i in range(size))  # fmt: skip
    node = ox.BlankNode()
    dataset.extend([ox.Quad(ox.NamedNode("https://example.org/a"), ox.NamedNode("https://example.org/b"), node, small),
                    ox.Quad(node, ox.NamedNode("https://example.org/c"), ox.Literal("x", language="en"), small)])  # fmt: skip
    store = build_remote(remote, dataset, manifest_of(dataset, f"dump-{server.kind}"))
    for format in (ox.RdfFormat.N_QUADS, ox.RdfFormat.N_TRIPLES):
        output = io.BytesIO()
        store.dump(output, format)
        got = ox.Dataset(ox.parse(output.getvalue(), format))
        want = ox.Dataset(q if format.supports_datasets else ox.Quad(q.subject, q.predicate, q.object) for q in dataset)
        got.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
        want.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
        assert got == want, format


# --- failures ---------------------------------------------------------------------------------------


def test_the_remote_down_is_store_unavailable_naming_it(server: remotes.Server, seed_dataset) -> None:
    closed = remotes.free_port()
    remote = parse_remote(f"{server.kind}+http://127.0.0.1:{closed}", {USER_ENV: "u", PASSWORD_ENV: remotes.PASSWORD})
    assert remote is not None
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{closed}") as caught:
        open_remote(remote)
    assert caught.value.status == 503 and remotes.PASSWORD not in str(caught.value)
    store = RemoteStore(remote, manifest_of(seed_dataset, "x"))
    with pytest.raises(StoreUnavailable):
        store.query("ASK {}", timeout=2)


def test_a_server_that_accepts_and_never_answers_is_bounded_by_our_limit(seed_dataset) -> None:
    with socket.socket() as listener:  # a listening socket nobody accepts from: connects, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        remote = parse_remote(f"oxigraph+http://127.0.0.1:{listener.getsockname()[1]}", {})
        assert remote is not None
        store = RemoteStore(remote, manifest_of(seed_dataset, "x"))
        with pytest.raises(QueryTimeout):
            store.query("ASK {}", timeout=1)


def test_a_server_that_trickles_its_answer_is_cut_at_our_limit(seed_dataset) -> None:
    """A whole answer, a byte every 0.1 s: every read gets data, so no read timeout ever fires; our
    limit still ends the call (before, it took the 30 s the server took and answered)."""
    body = b'{"head":{},"boolean":true}'.ljust(300)

    def trickle(listener: socket.socket) -> None:
        connection, _ = listener.accept()
        with connection, contextlib.suppress(OSError):
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(body))  # fmt: skip
            for byte in body:
                connection.sendall(bytes([byte]))
                time.sleep(0.1)

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = threading.Thread(target=trickle, args=(listener,), daemon=True)
        server.start()
        remote = parse_remote(f"oxigraph+http://127.0.0.1:{listener.getsockname()[1]}", {})
        assert remote is not None
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="time limit of 1 s"):
            RemoteStore(remote, manifest_of(seed_dataset, "x")).query("ASK {}", timeout=1)
        assert time.monotonic() - started < 10, "the call ran past our limit while the server trickled"
        server.join()


TIMED_OUT = b"Virtuoso 40001 Error SR171: Transaction timed out"  # Virtuoso's answer to a write it timed out


@pytest.fixture
def timing_out() -> Iterator[tuple[Remote, list[str]]]:
    """A server answering its first two requests as Virtuoso answers a write it timed out (500,
    SR171), and the rest 200; the list holds each request's method and path."""
    answers = itertools.count(1)

    def answer(method: str, path: str) -> tuple[int, bytes]:
        return (500, TIMED_OUT) if next(answers) <= 2 else (200, b"")

    with remotes.scripted(answer) as (url, seen):
        remote = parse_remote(f"virtuoso+{url}", {})
        assert remote is not None
        yield remote, seen


def test_a_write_the_server_timed_out_is_tried_again(timing_out) -> None:
    """Virtuoso times out a build's write while a reader holds what it writes (a build right after the
    suite's runaway queries failed so, measured): each write but a MOVE is tried again."""
    remote, seen = timing_out
    Client(remote).update("INSERT DATA { GRAPH <urn:g> { <urn:s> <urn:p> <urn:o> } }")
    assert seen == ["POST /sparql-auth"] * 3


def test_a_move_the_server_timed_out_is_not_tried_blind(timing_out) -> None:
    remote, seen = timing_out
    with pytest.raises(QueryTimeout):
        Client(remote).update("MOVE SILENT GRAPH <urn:a> TO GRAPH <urn:b>", again=False)
    assert seen == ["POST /sparql-auth"]


def test_a_write_that_keeps_timing_out_is_the_error(timing_out, monkeypatch: pytest.MonkeyPatch) -> None:
    from skategraph.store import connection

    remote, seen = timing_out
    monkeypatch.setattr(connection, "WRITE_PATIENCE", 0.2)
    with pytest.raises(QueryTimeout, match="an update ran past the time limit"):
        Client(remote).update("INSERT DATA { GRAPH <urn:g> { <urn:s> <urn:p> <urn:o> } }")
    assert seen == ["POST /sparql-auth"]


def test_a_query_virtuoso_refuses_on_its_estimate_says_so(seed_dataset) -> None:
    """Virtuoso refuses a query it estimates past MaxQueryCostEstimationTime before running it (race_podiums
    at 40 generated seasons, measured; the answer below is its own text): a time limit that says which."""
    refusal = (b"Virtuoso 42000 Error The estimated execution time 404700 (sec) exceeds the limit of 400 (sec).\n\n"
               b"SPARQL query:\nSELECT ...")  # fmt: skip
    with remotes.scripted(lambda method, path: (500, refusal)) as (url, _):
        remote = parse_remote(f"virtuoso+{url}", {})
        assert remote is not None
        with pytest.raises(QueryTimeout, match=r"estimated 404700 s, past its limit of 400 s .*MaxQueryCostEstimation"):
            RemoteStore(remote, manifest_of(seed_dataset, "x")).query("ASK {}", timeout=5)


def test_a_server_that_fails_is_store_unavailable(seed_dataset) -> None:
    """A 5xx answer (here from a server that says 503 to everything) is the remote failing."""
    with remotes.scripted(lambda method, path: (503, b"overloaded")) as (url, _):
        remote = parse_remote(f"oxigraph+{url}", {})
        assert remote is not None
        with pytest.raises(StoreUnavailable, match="503"):
            RemoteStore(remote, manifest_of(seed_dataset, "x")).query("ASK {}", timeout=5)


def test_wrong_credentials_are_refused_without_showing_them(virtuoso_server, seed_dataset, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    remote = parse_remote(
        virtuoso_server.address, {USER_ENV: remotes.USER, PASSWORD_ENV: "not-the-" + remotes.PASSWORD}
    )
    assert remote is not None
    with pytest.raises(StoreUnavailable, match=USER_ENV) as caught:
        build_remote(remote, seed_dataset, manifest_of(seed_dataset, "refused"))
    assert remotes.PASSWORD not in str(caught.value) and remotes.PASSWORD not in caplog.text


def test_credentials_reach_no_log_and_no_repr(virtuoso_server, seeded_virtuoso, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    store = open_remote(remote_of(virtuoso_server))
    store.query("SELECT ?s WHERE { ?s a sg:Skater } LIMIT 3")
    store.health()
    assert caplog.records, "urllib3 logs each request at DEBUG"
    for shown in (caplog.text, str(store.remote), repr(store.remote), repr(store)):
        assert remotes.PASSWORD not in shown


# --- builds -----------------------------------------------------------------------------------------


def versioned(version: str, graphs: int = 4, size: int = 1000) -> ox.Store:
    """`graphs` graphs of `size + i` triples each (so each build's counts are its own), all saying `version`."""
    dataset = ox.Store()
    extra = 100 if version == "B" else 0
    for g in range(graphs):
        graph = ox.NamedNode(f"https://example.org/graph/{g}")
        dataset.extend(ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), ox.NamedNode("https://example.org/v"),
                               ox.Literal(f"{version}{i}"), graph) for i in range(size + extra + g))  # fmt: skip
    return dataset


COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def counts_of(result: Any) -> dict[str, int]:
    return {row[0].value: int(row[1].value) for row in result}


def test_readers_during_builds_see_one_whole_build_or_are_told_to_retry(remote: Remote, server: remotes.Server) -> None:
    datasets = {v: versioned(v) for v in "AB"}
    manifests = {v: manifest_of(d, f"readers-{server.kind}-{v}") for v, d in datasets.items()}
    expected = {manifests[v]["build_id"]: manifests[v]["stats"]["graphs"] for v in "AB"}
    build_remote(remote, datasets["A"], copy.deepcopy(manifests["A"]))
    seen: collections.Counter[str] = collections.Counter()
    wrong: list[Any] = []
    done = threading.Event()

    def read() -> None:
        store = open_remote(remote, wait=60)
        while not done.is_set():
            try:
                found = counts_of(store.query(COUNTS))
            except GenerationGone:
                seen["retry"] += 1
                store = open_remote(remote, wait=60)
                continue
            build = store.manifest["build_id"]
            seen[build] += 1
            if found != expected[build]:
                wrong.append((build, found))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for version in "BABA":
            build_remote(remote, datasets[version], copy.deepcopy(manifests[version]))
            time.sleep(0.2)  # let the readers answer from this build, too
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert not wrong, wrong[:3]
    assert all(seen[m["build_id"]] for m in manifests.values()), seen


def test_a_build_whose_manifest_is_not_its_dataset_changes_nothing(
    remote: Remote, server: remotes.Server, seed_dataset
) -> None:
    old = build_remote(remote, seed_dataset, manifest_of(seed_dataset, f"old-{server.kind}"))
    before = counts_of(old.query(COUNTS))
    broken = versioned("A")
    manifest = manifest_of(broken, "never")
    manifest["stats"]["graphs"]["https://example.org/graph/0"] += 1  # a graph the upload cannot match
    with pytest.raises(BuildError):
        build_remote(remote, broken, manifest)
    assert counts_of(open_remote(remote).query(COUNTS)) == before
    assert counts_of(old.query(COUNTS)) == before


KILLED_BUILD = """
import sys
import pyoxigraph as ox
from skategraph.store.remote import build_remote, parse_remote
remote = parse_remote(sys.argv[1], {{"SKATEGRAPH_REMOTE_USER": {user!r}, "SKATEGRAPH_REMOTE_PASSWORD": {password!r}}})
dataset = ox.Store()
for g in range(40):
    graph = ox.NamedNode(f"https://example.org/killed/{{g}}")
    dataset.extend(ox.Quad(ox.NamedNode(f"https://example.org/s{{i}}"), ox.NamedNode("https://example.org/p"),
                           ox.Literal(f"v{{i}}"), graph) for i in range(20000))
graphs = {{f"https://example.org/killed/{{g}}": 20000 for g in range(40)}}
build_remote(remote, dataset, {{"format": 1, "build_id": "killed", "stats": {{"graphs": graphs}}}})
"""


def test_a_killed_build_leaves_the_old_dataset_answering(remote: Remote, server: remotes.Server, seed_dataset) -> None:
    old = build_remote(remote, seed_dataset, manifest_of(seed_dataset, f"before-kill-{server.kind}"))
    before = counts_of(old.query(COUNTS))
    script = KILLED_BUILD.format(user=server.user, password=server.password)
    builder = subprocess.Popen([sys.executable, "-c", script, server.address], cwd=ROOT)
    client = Client(remote)
    try:
        while not read_control(client).staged:  # the build has started uploading
            assert builder.poll() is None, "the build ended before it could be killed"
            time.sleep(0.01)
    finally:
        builder.kill()
        builder.wait()
    assert open_remote(remote).manifest["build_id"] == f"before-kill-{server.kind}"
    assert counts_of(old.query(COUNTS)) == before
    left = read_control(client).staged
    assert left  # the next build removes them
    build_remote(remote, seed_dataset, manifest_of(seed_dataset, f"after-kill-{server.kind}"))
    assert not read_control(client).staged
    assert counts_of(open_remote(remote).query(COUNTS)) == before


def test_one_build_at_a_time_and_a_killed_builds_lock_lapses(
    remote: Remote, server: remotes.Server, seed_dataset
) -> None:
    """A build under way holds the store's lock: a second build is refused, naming the first, and
    changes nothing; once the first is killed its lock is taken as lapsed (its process is gone)."""
    build_remote(remote, seed_dataset, manifest_of(seed_dataset, f"before-lock-{server.kind}"))
    script = KILLED_BUILD.format(user=server.user, password=server.password)
    builder = subprocess.Popen([sys.executable, "-c", script, server.address], cwd=ROOT)
    client = Client(remote)
    try:
        while not read_control(client).staged:
            assert builder.poll() is None, "the first build ended before a second could meet it"
            time.sleep(0.01)
        assert len(read_control(client).locks) == 1
        second = versioned("A")
        with pytest.raises(BuildError, match=rf"another build \(build killed, process {builder.pid} on "):
            build_remote(remote, second, manifest_of(second, "second"))
        assert builder.poll() is None, "the first build must still be under way for this test to mean anything"
        assert "killed" in read_control(client).locks[0]  # the second build left the first's lock alone
    finally:
        builder.kill()
        builder.wait()
    assert open_remote(remote).manifest["build_id"] == f"before-lock-{server.kind}"
    build_remote(remote, seed_dataset, manifest_of(seed_dataset, f"after-lock-{server.kind}"))
    assert read_control(client).locks == ()
    assert open_remote(remote).manifest["build_id"] == f"after-lock-{server.kind}"


def lock_of(build_id: str, *, host: str, until: float) -> str:
    return json.dumps({"build_id": build_id, "host": host, "pid": 1, "started": time.time(), "until": until})


def test_a_lock_held_elsewhere_is_respected_until_its_lease_ends(remote: Remote, server: remotes.Server, seed_dataset):
    build_remote(remote, seed_dataset, manifest_of(seed_dataset, f"before-lease-{server.kind}"))
    client = Client(remote)
    held = lock_of("elsewhere", host="another-machine.example", until=time.time() + 600)
    client.update(f"INSERT DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{LOCK}> {switch._literal(held)} }} }}")
    new = versioned("B")
    try:
        with pytest.raises(BuildError, match=r"build elsewhere, process 1 on another-machine\.example.*lapses at 20"):
            build_remote(remote, new, manifest_of(new, "refused"))
        assert open_remote(remote).manifest["build_id"] == f"before-lease-{server.kind}"
        assert read_control(client).locks == (held,)
    finally:
        client.update(f"DELETE DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{LOCK}> {switch._literal(held)} }} }}")
    lapsed = lock_of("gone", host="another-machine.example", until=time.time() - 1)
    client.update(f"INSERT DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{LOCK}> {switch._literal(lapsed)} }} }}")
    build_remote(remote, new, manifest_of(new, f"after-lease-{server.kind}"))
    assert open_remote(remote).manifest["build_id"] == f"after-lease-{server.kind}"
    assert read_control(client).locks == ()


def test_a_switch_killed_half_done_is_rolled_forward_by_the_next_build(virtuoso_server, seed_dataset) -> None:
    """Virtuoso's switch is journaled: a build stopped after its first MOVE leaves a journal; readers
    are told to wait, and the next build completes the switch before its own."""
    remote = remote_of(virtuoso_server)
    old = build_remote(remote, seed_dataset, manifest_of(seed_dataset, "before-half"))
    new = versioned("B")
    manifest = manifest_of(new, "half")
    client = Client(remote)
    staged = {g: f"{switch.STAGING}half:{i}" for i, g in enumerate(sorted(manifest["stats"]["graphs"]))}
    for graph, target in staged.items():
        switch._upload(client, new, graph, target)
    moves = [(staged[g], g, n) for g, n in sorted(manifest["stats"]["graphs"].items())]
    journal = {
        "build_id": "half",
        "moves": moves,
        "drops": sorted(seed_dataset_graphs(seed_dataset)),
        "manifest": manifest,
    }
    client.update(
        f"INSERT DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{switch.SWITCHING}> {switch._literal(journal)} }} }}"
    )
    client.update(" ;\n".join(switch._moves(moves[:1])))  # ... and the build dies here
    with pytest.raises(GenerationGone):
        old.query(COUNTS)
    with pytest.raises(StoreUnavailable, match="switching"):
        open_remote(remote)
    following = versioned("A")
    build_remote(remote, following, manifest_of(following, "after-half"))
    store = open_remote(remote)
    assert store.manifest["build_id"] == "after-half"
    assert read_control(client).locks == ()  # the roll-forward's control update kept the lock; the build let it go
    assert counts_of(store.query(COUNTS)) == manifest_of(following, "x")["stats"]["graphs"]


def half_switch(client: Client, old: ox.Store, new: ox.Store, build_id: str) -> dict[str, Any]:
    """A journaled switch to `new` (staged, journaled, its first graph moved) as a build stopped there
    leaves it: the journal, for `switch.complete`."""
    manifest = manifest_of(new, build_id)
    staged = {g: f"{switch.STAGING}{build_id}:{i}" for i, g in enumerate(sorted(manifest["stats"]["graphs"]))}
    for graph, target in staged.items():
        switch._upload(client, new, graph, target)
    moves = [(staged[g], g, n) for g, n in sorted(manifest["stats"]["graphs"].items())]
    journal = {"build_id": build_id, "moves": moves, "drops": sorted(seed_dataset_graphs(old) - seed_dataset_graphs(new)),
               "manifest": manifest}  # fmt: skip
    client.update(
        f"INSERT DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{switch.SWITCHING}> {switch._literal(journal)} }} }}"
    )
    client.update(" ;\n".join(switch._moves(moves[:1])))
    return journal


def test_a_query_that_meets_a_switch_answers_from_the_new_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a 503: the answer that overlapped the switch is dropped, the switch waited for, and the
    query run again on the build switched in, within its time limit."""
    server = remotes.virtuoso(tmp_path / "virtuoso")
    try:
        for name, value in remotes.credentials(server).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        at = store_at(server.address)
        assert at.remote is not None
        old, new = versioned("A"), versioned("B")
        build_remote(at.remote, old, manifest_of(old, "before-switch"))
        # The mirror is brought up only when an answer says it must be, so the query below is sent for
        # the old build, meets the journal, and must be run again.
        monkeypatch.setattr(service, "SYNC_EVERY", 3600.0)
        sync(at)
        with running_app(at.path, remote=at.remote, cache_mb=0, timeout=20) as app:
            assert app.query(COUNTS).status == 200
            client = Client(at.remote)
            journal = half_switch(client, old, new, "after-switch")
            finisher = threading.Timer(1.0, switch.complete, (client, journal))
            finisher.start()
            try:
                reply = app.query(COUNTS)
            finally:
                finisher.join()
            assert reply.status == 200, reply.text
            assert reply.headers["X-Skategraph-Build"] == "after-switch"
            found = {b["g"]["value"]: int(b["n"]["value"]) for b in json.loads(reply.body)["results"]["bindings"]}
            assert found == manifest_of(new, "x")["stats"]["graphs"]
        # The commands' way (`answering`): the same, with a switch begun while the query runs
        client = Client(at.remote)
        tries: list[str] = []

        def run(store: Any) -> dict[str, int]:
            tries.append(store.manifest["build_id"])
            if len(tries) == 1:
                journal = half_switch(client, new, old, "switched-again")
                threading.Timer(1.0, switch.complete, (client, journal)).start()
            return counts_of(store.query(COUNTS))

        assert answering(at, run) == manifest_of(old, "x")["stats"]["graphs"]
        assert tries == ["after-switch", "switched-again"]
    finally:
        server.stop()


def seed_dataset_graphs(dataset: ox.Store) -> set[str]:
    return {q.graph_name.value for q in dataset}


def test_a_remote_without_a_dataset_says_to_build(oxigraph_server, tmp_path) -> None:
    fresh = remotes.oxigraph(tmp_path / "fresh")
    try:
        remote = remote_of(fresh)
        with pytest.raises(StoreNotFound, match="skategraph build"):
            open_remote(remote)
    finally:
        fresh.stop()
