"""A remote store's server is sent nothing that would make it fetch a URL (issue 15): SERVICE and
LOAD are checked against the allow-list before a query leaves us, and no function but the standard
ones reaches the server (Virtuoso's `bif:http_get` fetches any URL it is given). A recording HTTP
server on 127.0.0.1 stands for the outside; the same request sent straight to each server shows it
would have been fetched, so each refusal is one that matters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import requests.auth

from . import remotes
from .remotes import served_remotely
from .server import App, running_app

SERVERS = ["oxigraph_server", "virtuoso_server"]


EMPTY = b'{"head":{"vars":[]},"results":{"bindings":[]}}'


@dataclass
class Recorder:
    url: str
    paths: list[str]


@pytest.fixture
def outside() -> Iterator[Recorder]:
    """An HTTP server answering every request with empty SPARQL results, keeping each request's path."""
    with remotes.scripted(lambda method, path: (200, EMPTY)) as (url, seen):
        yield Recorder(url, seen)


@pytest.fixture(scope="module", params=SERVERS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, seed_dir: Path
) -> Iterator[tuple[remotes.Server, App]]:
    server: remotes.Server = request.getfixturevalue(request.param)
    with pytest.MonkeyPatch.context() as monkeypatch:
        at = served_remotely(server, seed_dir, monkeypatch, tmp_path_factory.mktemp("cache"))
        with running_app(at.path, remote=at.remote, cache_mb=0, update_token="secret") as app:
            yield server, app


def fetching_queries(server: remotes.Server, url: str) -> list[str]:
    """Queries that make `server` fetch `url` when it is sent them as they are."""
    found = [f"SELECT * WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}"]
    if server.kind == "virtuoso":
        found += [
            f"PREFIX bif: <bif:> SELECT (bif:http_get('{url}/bif') AS ?x) WHERE {{}}",
            f"SELECT (<bif:http_get>('{url}/bif-iri') AS ?x) WHERE {{}}",
        ]
    return found


def test_each_query_would_fetch_if_sent_as_it_is(served: tuple[remotes.Server, App], outside: Recorder) -> None:
    """The control: straight to the server, each query makes it fetch (so the refusals below matter).
    Virtuoso federates SERVICE for its SQL user (its anonymous endpoint refuses it); `bif:http_get` it
    runs for anyone (measured)."""
    server, _ = served
    if server.kind == "oxigraph":
        url, auth = server.url + "/query", None
    else:
        url, auth = server.url + "/sparql-auth", requests.auth.HTTPDigestAuth(server.user or "", server.password or "")
    for query in fetching_queries(server, outside.url):
        before = len(outside.paths)
        requests.post(url, data={"query": query}, auth=auth, headers={"Accept": "application/sparql-results+xml"},
                      timeout=30)  # fmt: skip
        assert len(outside.paths) > before, f"{server.kind} did not fetch for {query}: this test shows nothing"


def test_nothing_that_would_fetch_leaves_us(served: tuple[remotes.Server, App], outside: Recorder) -> None:
    server, app = served
    for query in fetching_queries(server, outside.url):
        reply = app.query(query)
        assert reply.status == 400, (query, reply.text)
        assert json.loads(reply.body)["error"] == "outbound_refused", reply.text
    load = app.update(f"LOAD <{outside.url}/load> INTO GRAPH <https://example.org/loaded>")
    assert load.status == 400, load.text
    assert json.loads(load.body)["error"] == "outbound_refused"
    assert outside.paths == []
