"""No anonymous request makes the server fetch a URL that is not on the allow-list (issue 12).

A listener on 127.0.0.1 records every connection. The attacks that got through a text check that read
the query differently from Oxigraph (a `\\u` escape inside the IRI, an escaped `\\#` in a prefixed name
hiding the rest of the line) are sent by every route a query can take; the workers of a server with no
allow-list cannot open a socket at all (`skategraph.engine.sandbox`), and a server with an allow-list
relies on the text check, which is fuzzed with generated queries (escapes, comments, prefixes, BASE,
nested SERVICE, SERVICE on a variable). A generator that produced only harmless text would prove
nothing, so the same queries are first run unchecked in pyoxigraph, where most must reach the listener.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skategraph.engine.jobs import QueryJob
from skategraph.engine.pool import Pool
from skategraph.errors import QueryError
from skategraph.store import generations

from .server import Server, seed_server

EMPTY = b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'


class Listener:
    """An HTTP server on 127.0.0.1 that answers every request with one empty SPARQL solution and
    remembers the paths it was asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                listener.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(EMPTY)))
                self.end_headers()
                self.wfile.write(EMPTY)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def listening() -> Iterator[Listener]:
    listener = Listener()
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture(scope="module")
def forbidden() -> Iterator[Listener]:
    with listening() as listener:
        yield listener


@pytest.fixture(scope="module")
def allowed() -> Iterator[Listener]:
    with listening() as listener:
        yield listener


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    """The default: nothing is allowed out."""
    with seed_server(tmp_path_factory.mktemp("closed"), seed=seed_dir) as server:
        yield server


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path, allowed: Listener) -> Iterator[Server]:
    """One endpoint allowed out: the workers have the network, and the text check alone decides."""
    with seed_server(
        tmp_path_factory.mktemp("open"), "--allow-service", allowed.url + "sparql", seed=seed_dir
    ) as server:
        yield server


def _attacks(port: int) -> list[str]:
    return [
        f"SELECT * WHERE {{ SERVICE <http://127.0.0.1\\u003a{port}/x> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <http://127.0.0.1\\U0000003a{port}/x> {{ ?s ?p ?o }} }}",
        "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        f"SELECT * WHERE {{ BIND(dcterms:a\\#b AS ?z) SERVICE <http://127.0.0.1:{port}/y> {{ ?s ?p ?o }} }}",
        f"PREFIX x: <http://127.0.0.1:{port}/>\nSELECT * WHERE {{ SERVICE x:a\\~b {{ ?s ?p ?o }} }}",
        f"BASE <http://127.0.0.1:{port}/>\nSELECT * WHERE {{ SERVICE <z> {{ ?s ?p ?o }} }}",
    ]


def _routes(server: Server, query: str) -> list[tuple[str, int]]:
    """The query sent as GET, as a form, as a body, and to the query page; each route's status (the
    page shows a refusal on the page itself, which counts as a 400 here)."""
    form = urllib.parse.urlencode({"query": query})
    answers = [
        ("GET", server.get("/sparql", {"query": query}).status),
        ("form", server.post("/sparql", form, "application/x-www-form-urlencoded").status),
        ("body", server.post("/sparql", query, "application/sparql-query").status),
    ]
    page = server.get("/query", {"query": query})
    answers.append(("page", 400 if page.status == 200 and b'id="error"' in page.body else page.status))
    return answers


@pytest.mark.parametrize("which", ["closed", "open"])
def test_the_known_bypasses_reach_nothing(which: str, request: pytest.FixtureRequest, forbidden: Listener) -> None:
    server: Server = request.getfixturevalue(f"{which}_server")
    forbidden.paths.clear()
    for attack in _attacks(forbidden.port):
        for route, status in _routes(server, attack):
            assert 400 <= status < 500, (route, attack, status)
    assert forbidden.paths == []


@pytest.mark.parametrize("which", ["closed", "open"])
def test_load_with_the_token_reaches_nothing(which: str, request: pytest.FixtureRequest, forbidden: Listener) -> None:
    server: Server = request.getfixturevalue(f"{which}_server")
    forbidden.paths.clear()
    for update in (
        f"LOAD <http://127.0.0.1\\u003a{forbidden.port}/data.nt>",
        f"PREFIX e: <http://e/> INSERT DATA {{ e:a e:b e:c\\#d }} ; LOAD <{forbidden.url}data.nt>",
        f"BASE <{forbidden.url}> LOAD SILENT <data.nt>",
    ):
        reply = server.update(update)
        assert 400 <= reply.status < 500, (update, reply.status, reply.text)
    assert forbidden.paths == []


def test_an_allowed_endpoint_is_still_reached(open_server: Server, allowed: Listener) -> None:
    """The control: the listener and the server can meet, so an empty log above means refused."""
    allowed.paths.clear()
    reply = open_server.query(f"SELECT * WHERE {{ SERVICE <{allowed.url}sparql> {{ ?s ?p ?o }} }}")
    assert reply.status == 200, reply.text
    assert allowed.paths


def test_an_offline_worker_cannot_connect_whatever_the_engine_parsed(seed_dir: Path, forbidden: Listener) -> None:
    """Past every check (the job goes to the pool directly): the sandboxed worker cannot open a
    socket, while an ordinary worker reaches the listener with the same job."""
    query = f"SELECT * WHERE {{ SERVICE <{forbidden.url}direct> {{ ?s ?p ?o }} }}"
    job = QueryJob(str(generations.current(seed_dir)), query, results_format="json")
    for offline in (True, False):
        forbidden.paths.clear()
        pool = Pool(1, offline=offline)
        pool.start()
        try:
            if offline:
                with pytest.raises(QueryError, match="Permission denied"):
                    b"".join(pool.query(job, 10).body)
                assert forbidden.paths == []
                assert pool.state()["alive"] == 1  # refused, not crashed
            else:
                b"".join(pool.query(job, 10).body)
                assert forbidden.paths == ["/direct"]
        finally:
            pool.close()


# -- the fuzzer ---------------------------------------------------------------------------------


def _escape(text: str, draw: st.DrawFn) -> str:
    """Some characters of an IRI written as \\u or \\U escapes."""
    out = []
    for char in text:
        how = draw(st.sampled_from(["", "", "u", "U"]))
        out.append(char if not how else (f"\\u{ord(char):04X}" if how == "u" else f"\\U{ord(char):08X}"))
    return "".join(out)


@st.composite
def hidden_service(draw: st.DrawFn, port: int, allowed_url: str) -> str:
    """A query that asks for a SERVICE (or several) at 127.0.0.1:port, written some devious way."""
    host = f"http://127.0.0.1:{port}/"
    path = draw(st.sampled_from(["f", "sparql", "a-b", "x/y"]))
    prologue: list[str] = ["PREFIX ex: <http://example.org/>"]
    form = draw(st.sampled_from(["iri", "escaped", "pname", "base", "schemeless", "variable", "bind"]))
    if form == "iri":
        target = f"<{host}{path}>"
    elif form == "escaped":
        target = f"<{_escape(host + path, draw)}>"
    elif form == "pname":
        prologue.append(f"PREFIX t: <{_escape(host, draw)}>")
        local = path.replace("-", "\\-").replace("/", "\\/")
        target = f"t:{local}"
    elif form == "base":
        prologue.insert(0, f"BASE <{_escape(host, draw)}>")
        target = f"<{path}>"
    elif form == "schemeless":
        prologue.insert(0, "BASE <http://example.org/base/>")
        target = f"<//127.0.0.1:{port}/{path}>"
    else:
        target = "?endpoint"
    silent = draw(st.sampled_from(["", "SILENT ", "silent "]))
    keyword = draw(st.sampled_from(["SERVICE", "service", "Service"]))
    service = f"{keyword} {silent}{target} {{ ?s ?p ?o }}"
    if form == "variable":
        service = f"VALUES ?endpoint {{ <{host}{path}> }} {service}"
    elif form == "bind":
        service = f"BIND(<{host}{path}> AS ?endpoint) {service}"
    decoy = draw(
        st.sampled_from(
            [
                "",
                "BIND(ex:a\\#b AS ?z) ",
                'BIND("# not a comment" AS ?c) ',
                'BIND("quote \\" # still a string" AS ?c) ',
                "BIND('''long \" ' # string''' AS ?c) ",
                "# a comment with SERVICE <http://example.org/> in it\n",
                "BIND(ex:a\\.b\\~c AS ?z) ",
            ]
        )
    )
    wrap = draw(st.sampled_from(["plain", "optional", "union", "nested", "subquery"]))
    if wrap == "optional":
        service = f"OPTIONAL {{ {service} }}"
    elif wrap == "union":
        service = f"{{ ?s ?p ?o }} UNION {{ {service} }}"
    elif wrap == "nested":
        service = f"SERVICE <{allowed_url}> {{ ?a ?b ?c }} {service}"
    elif wrap == "subquery":
        service = f"{{ SELECT * WHERE {{ {service} }} }}"
    separator = draw(st.sampled_from([" ", "\n", "\t", " #\n "]))
    return "\n".join(prologue) + f"{separator}SELECT * WHERE {{ {decoy}{service} }} LIMIT 1"


FUZZ = settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


def test_the_generator_makes_real_attacks(forbidden: Listener, allowed: Listener) -> None:
    """Unchecked, in pyoxigraph itself, the generated queries do reach the listener."""
    store = ox.Store()
    reached: list[bool] = []

    @FUZZ
    @given(query=hidden_service(forbidden.port, allowed.url + "sparql"))
    def run(query: str) -> None:
        forbidden.paths.clear()
        with contextlib.suppress(SyntaxError, OSError, ValueError, RuntimeError):
            list(store.query(query))
        reached.append(bool(forbidden.paths))

    run()
    assert sum(reached) >= len(reached) * 0.8, f"{sum(reached)} of {len(reached)}"


@pytest.mark.parametrize("which", ["closed", "open"])
def test_generated_attacks_reach_nothing(
    which: str, request: pytest.FixtureRequest, forbidden: Listener, allowed: Listener
) -> None:
    server: Server = request.getfixturevalue(f"{which}_server")

    @FUZZ
    @given(query=hidden_service(forbidden.port, allowed.url + "sparql"))
    def run(query: str) -> None:
        forbidden.paths.clear()
        for route, status in _routes(server, query):
            assert status < 500, (route, query, status)
        assert forbidden.paths == [], query

    run()
    assert server.get("/health").status == 200
