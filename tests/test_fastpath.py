"""The fast path (`web/fastpath.py`) answers protocol queries exactly as the Flask view does.

Each request goes twice through the same app, real store and real workers: once through the whole
WSGI stack (where the fast path takes it) and once straight into Flask beneath it. Status, headers
(as a multiset, in order where a name repeats) and body must be equal; a hook on the Flask app counts
which requests it saw, so that a request the fast path was meant to answer cannot pass by falling
through to Flask.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import request

from skategraph.web.fastpath import FastPath

from .server import App, seed_app

SKATER = "<https://w3id.org/skategraph/id/skater/ahn-hyun-soo>"
TINY = f"SELECT ?label WHERE {{ {SKATER} <http://www.w3.org/2000/01/rdf-schema#label> ?label }}"
RESULTS = "PREFIX sg: <https://w3id.org/skategraph/ontology#> SELECT ?r ?rank WHERE { ?r sg:rank ?rank } ORDER BY ?r"
CONSTRUCT = f"CONSTRUCT {{ {SKATER} ?p ?o }} WHERE {{ {SKATER} ?p ?o }}"
EVERYTHING = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"  # streamed: over the read-ahead

# (name, query parameters, headers, whether the fast path answers it itself)
CASES: list[tuple[str, list[tuple[str, str]], dict[str, str], bool]] = [
    ("tiny json", [("query", TINY)], {"Accept": "application/sparql-results+json"}, True),
    ("no accept", [("query", TINY)], {}, True),
    ("xml", [("query", TINY)], {"Accept": "application/sparql-results+xml"}, True),
    ("csv with charset", [("query", RESULTS)], {"Accept": "text/csv; charset=utf-8"}, True),
    ("tsv by format", [("query", RESULTS), ("format", "tsv")], {}, True),
    ("output= json", [("query", TINY), ("output", "json")], {"Accept": "text/html"}, True),
    ("browser accept", [("query", TINY)], {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, True),
    ("construct turtle", [("query", CONSTRUCT)], {"Accept": "text/turtle"}, True),
    ("construct as rows", [("query", CONSTRUCT)], {"Accept": "application/sparql-results+xml"}, True),
    ("ask", [("query", f"ASK {{ {SKATER} ?p ?o }}")], {"Accept": "application/sparql-results+json"}, True),
    ("dataset named", [("query", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"),
                       ("default-graph-uri", "https://w3id.org/skategraph/graph/season/2002-03")], {}, True),
    ("relative IRI", [("query", "SELECT ?x { BIND(<here> AS ?x) }")], {}, True),
    ("shorter timeout", [("query", TINY), ("timeout", "5")], {}, True),
    ("cut at the row limit", [("query", RESULTS)], {"Accept": "application/sparql-results+json"}, True),
    ("streamed", [("query", EVERYTHING)], {"Accept": "application/n-triples"}, True),
    ("origin", [("query", TINY)], {"Origin": "https://example.org"}, True),
    # Errors are the view's to render: the fast path hands them over, having met them.
    ("syntax error", [("query", "SELEC ?x")], {}, False),
    ("unknown format", [("query", TINY), ("format", "yaml")], {}, False),
    ("not acceptable", [("query", TINY)], {"Accept": "image/png"}, False),
    ("bad timeout", [("query", TINY), ("timeout", "soon")], {}, False),
    ("relative dataset", [("query", TINY), ("default-graph-uri", "g")], {}, False),
    ("service refused", [("query", "SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")], {}, False),
    # Not a plain protocol query: Flask's from the start.
    ("two queries", [("query", TINY), ("query", TINY)], {}, False),
    ("an update", [("update", "CLEAR ALL")], {}, False),
    ("unknown parameter", [("query", TINY), ("callback", "f")], {}, False),
    ("service description", [], {"Accept": "text/turtle"}, False),
]  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[App]:
    with seed_app(tmp_path_factory.mktemp("fast"), seed=seed_dir, cache_mb=0, row_limit=20) as running:
        yield running


def call(
    wsgi: Callable[..., Any],
    method: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes = b"",
) -> tuple[str, list[tuple[str, str]], bytes]:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": "/sparql", "SCRIPT_NAME": "", "QUERY_STRING": urlencode(params),
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.input_terminated": True,
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }  # fmt: skip
    if body or method == "POST":
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE", "")
    started: list[tuple[str, list[tuple[str, str]]]] = []
    answer = wsgi(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        data = b"".join(answer)
    finally:
        getattr(answer, "close", lambda: None)()
    status, sent = started[0]
    return status, sorted(sent), data


def paths(app: App) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The whole WSGI stack (the fast path in it) and Flask beneath the fast path."""
    stack = app.app.wsgi_app
    fast = getattr(stack, "app", None)
    assert isinstance(fast, FastPath)  # the cache is off: the body bound, then the fast path
    return stack, fast.app


def through_both(app: App, *request: Any) -> tuple[list[str], tuple[Any, ...], tuple[Any, ...]]:
    """What Flask saw of the request through the stack, and both answers."""
    stack, flask = paths(app)
    seen: list[str] = []

    def saw() -> None:
        seen.append(request_path())

    app.app.before_request_funcs.setdefault(None, []).insert(0, saw)
    try:
        fast = call(stack, *request)
        flask_saw = list(seen)
        slow = call(flask, *request)
    finally:
        app.app.before_request_funcs[None].pop(0)
    assert seen == [*flask_saw, "/sparql"]  # the hook does see what Flask answers
    return flask_saw, fast, slow


def request_path() -> str:
    return request.path


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("name", "params", "headers", "fast"), CASES, ids=[case[0] for case in CASES])
def test_fast_path_answers_as_flask_does(
    app: App, method: str, name: str, params: list[tuple[str, str]], headers: dict[str, str], fast: bool
) -> None:
    seen, through_fast, through_flask = through_both(app, method, params, headers)
    assert (seen == []) is fast, f"{name}: Flask saw it: {seen}" if fast else f"{name}: Flask never saw it"
    assert through_fast == through_flask
    _status, sent, data = through_fast
    if name == "cut at the row limit":
        assert ("X-Skategraph-Truncated", "true") in sent
    if name == "streamed" and method == "GET":
        assert len(data) > 256 * 1024 and not any(header == "Content-Length" for header, _ in sent)
    if name == "tiny json" and method == "GET":
        assert b"Ahn Hyun-soo" in data


FORM = "application/x-www-form-urlencoded"
# (name, query string parameters, Content-Type, body, whether the fast path answers it itself)
POSTED: list[tuple[str, list[tuple[str, str]], str, bytes, bool]] = [
    ("form", [], FORM, urlencode({"query": TINY}).encode(), True),
    ("form with its charset", [], FORM + "; charset=UTF-8", urlencode({"query": TINY}).encode(), True),
    ("form and query string", [("format", "csv")], FORM, urlencode({"query": RESULTS}).encode(), True),
    ("form with a dataset", [], FORM, urlencode([("query", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"),
        ("named-graph-uri", "https://w3id.org/skategraph/graph/season/2002-03")]).encode(), True),
    ("body", [], "application/sparql-query", TINY.encode(), True),
    ("body, its charset", [("timeout", "5")], "application/sparql-query; charset=utf-8", TINY.encode(), True),
    ("body, mixed case type", [], "Application/SPARQL-Query", TINY.encode(), True),
    ("body, unicode", [], "application/sparql-query", 'SELECT ("Ahn Hyun-soo ✓" AS ?x) {}'.encode(), True),
    ("body, syntax error", [], "application/sparql-query", b"SELEC", False),
    ("body, latin-1", [], "application/sparql-query; charset=latin-1", TINY.encode(), False),
    ("body, not UTF-8", [], "application/sparql-query", b"SELECT ?x { BIND('\xff' AS ?x) }", False),
    ("body and a query parameter", [("query", TINY)], "application/sparql-query", TINY.encode(), False),
    ("form, two queries", [("query", TINY)], FORM, urlencode({"query": TINY}).encode(), False),
    ("form, an update", [], FORM, urlencode({"update": "CLEAR ALL"}).encode(), False),
    ("form, nothing", [], FORM, b"", False),
    ("form of 600,000 bytes", [], FORM, urlencode({"query": TINY + " #" + "x" * 600_000}).encode(), True),
    ("multipart", [], "multipart/form-data; boundary=b",
     b'--b\r\nContent-Disposition: form-data; name="query"\r\n\r\n' + TINY.encode() + b"\r\n--b--\r\n", False),
    ("no type", [], "", TINY.encode(), False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "params", "kind", "body", "fast"), POSTED, ids=[case[0] for case in POSTED])
def test_fast_path_answers_posted_queries_as_flask_does(
    app: App, name: str, params: list[tuple[str, str]], kind: str, body: bytes, fast: bool
) -> None:
    headers = {"Content-Type": kind, "Accept": "application/sparql-results+json"}
    seen, through_fast, through_flask = through_both(app, "POST", params, headers, body)
    assert (seen == []) is fast, f"{name}: Flask saw it: {seen}" if fast else f"{name}: Flask never saw it"
    assert through_fast == through_flask
    assert through_fast[0].startswith("200" if name in ("form", "body", "body, unicode") else "")


def test_fast_path_answers_not_modified(app: App) -> None:
    params = [("query", TINY)]
    stack, flask = paths(app)
    _status, sent, _ = call(stack, "GET", params, {})
    etag = dict(sent)["ETag"]
    fast = call(stack, "GET", params, {"If-None-Match": etag})
    assert fast[0] == "304 NOT MODIFIED" and fast[2] == b""
    assert fast == call(flask, "GET", params, {"If-None-Match": etag})


def test_fast_path_logs_one_line_a_request(app: App) -> None:
    before = len(app.log)
    reply = app.query(TINY)
    assert reply.status == 200
    lines = app.log[before:]
    assert (
        len(lines) == 1
        and lines[0].startswith('INFO skategraph.web: 127.0.0.1 "GET /sparql?query=SELECT')
        and " 200 " in lines[0]
    )


def test_a_remembered_request_runs_on_the_store_in_place(tmp_path: Path, seed_dir: Path) -> None:
    """A GET query is remembered by what it is made of (`fastpath._Plan`), never by the generation it
    ran on: after an update the same request answers from the new one, as a first request would."""
    with seed_app(tmp_path, seed=seed_dir, cache_mb=0) as running:
        ask = f"ASK {{ {SKATER} <http://example.org/p> 1 }}"
        first = running.query(ask)
        assert json.loads(first.body)["boolean"] is False
        assert running.query(ask).header("X-Skategraph-Build") == first.header("X-Skategraph-Build")
        done = running.update(f"INSERT DATA {{ GRAPH <http://example.org/g> {{ {SKATER} <http://example.org/p> 1 }} }}")
        assert done.status == 204
        after = running.query(ask)
        assert json.loads(after.body)["boolean"] is True
        assert (
            after.header("X-Skategraph-Build")
            == done.header("X-Skategraph-Build")
            != first.header("X-Skategraph-Build")
        )
