"""The fast path (`web/fastpath.py`) answers `GET /sparql?query=` exactly as the Flask view does.

Each request goes twice through the same app, real store and real workers: once through the whole
WSGI stack (where the fast path takes it) and once straight into Flask beneath it. Status, headers
(as a multiset, in order where a name repeats) and body must be equal; a hook on the Flask app counts
which requests it saw, so that a request the fast path was meant to answer cannot pass by falling
through to Flask.
"""

from __future__ import annotations

import io
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


def call(wsgi: Callable[..., Any], method: str, params: list[tuple[str, str]], headers: dict[str, str]) -> tuple:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": "/sparql", "SCRIPT_NAME": "", "QUERY_STRING": urlencode(params),
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.input_terminated": True,
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }  # fmt: skip
    started: list[tuple[str, list[tuple[str, str]]]] = []
    body = wsgi(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        data = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    status, sent = started[0]
    return status, sorted(sent), data


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("name", "params", "headers", "fast"), CASES, ids=[case[0] for case in CASES])
def test_fast_path_answers_as_flask_does(
    app: App, method: str, name: str, params: list[tuple[str, str]], headers: dict[str, str], fast: bool
) -> None:
    stack = app.app.wsgi_app
    assert isinstance(stack, FastPath)  # the cache is off: nothing above it
    seen: list[str] = []

    def saw() -> None:
        seen.append(request.path)

    app.app.before_request_funcs.setdefault(None, []).insert(0, saw)
    try:
        through_fast = call(stack, method, params, headers)
        assert (seen == []) is fast, f"{name}: Flask saw it: {seen}" if fast else f"{name}: Flask never saw it"
        through_flask = call(stack.app, method, params, headers)
    finally:
        app.app.before_request_funcs[None].pop(0)
    assert through_fast == through_flask
    _status, sent, data = through_fast
    if name == "cut at the row limit":
        assert ("X-Skategraph-Truncated", "true") in sent
    if name == "streamed" and method == "GET":
        assert len(data) > 256 * 1024 and not any(header == "Content-Length" for header, _ in sent)
    if name == "tiny json" and method == "GET":
        assert b"Ahn Hyun-soo" in data


def test_fast_path_answers_not_modified(app: App) -> None:
    params = [("query", TINY)]
    _status, sent, _ = call(app.app.wsgi_app, "GET", params, {})
    etag = dict(sent)["ETag"]
    fast = call(app.app.wsgi_app, "GET", params, {"If-None-Match": etag})
    assert fast[0] == "304 NOT MODIFIED" and fast[2] == b""
    assert fast == call(app.app.wsgi_app.app, "GET", params, {"If-None-Match": etag})


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
