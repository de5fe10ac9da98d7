"""Writes through the endpoint on a remote store (issue 15): with our token only, whatever the server
allows; a SPARQL update or a Graph Store write is applied to a copy of the dataset and put in place
as a build is, so readers never see it half done and a failed one changes nothing. Both servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import remotes
from .remotes import served_remotely
from .server import App, running_app

SERVERS = ["oxigraph_server", "virtuoso_server"]
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture(params=SERVERS)
def app(
    request: pytest.FixtureRequest, seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    server: remotes.Server = request.getfixturevalue(request.param)
    at = served_remotely(server, seed_dir, monkeypatch, tmp_path / "cache")
    with running_app(at.path, remote=at.remote, cache_mb=0, update_token="secret") as running:
        yield running


def count(app: App) -> int:
    reply = app.query(COUNT)
    assert reply.status == 200, reply.text
    return int(json.loads(reply.body)["results"]["bindings"][0]["n"]["value"])


def test_an_update_is_applied_and_a_new_build_answers(app: App) -> None:
    before, build = count(app), app.query(COUNT).header("X-Skategraph-Build")
    reply = app.update('INSERT DATA { GRAPH <http://ex/u> { <http://ex/s> <http://ex/p> "é\\"1" } }')
    assert reply.status == 204, reply.text
    assert app.query('ASK { GRAPH <http://ex/u> { <http://ex/s> <http://ex/p> "é\\"1" } }').body.endswith(b"true}")
    assert count(app) == before + 1
    assert app.query(COUNT).header("X-Skategraph-Build") != build
    health = json.loads(app.get("/health").body)
    assert health["triples"] == before + 1


def test_a_graph_store_put_replaces_a_graph(app: App) -> None:
    headers = {"Authorization": "Bearer secret", "Content-Type": "text/turtle"}
    assert app.request("PUT", "/store?graph=http://ex/g", "<http://ex/a> <http://ex/b> 1, 2 .", headers).status in (
        200, 201, 204,
    )  # fmt: skip
    got = app.request("GET", "/store?graph=http://ex/g", None, {"Accept": "application/n-triples"})
    assert got.status == 200
    assert len(got.text.strip().splitlines()) == 2


def test_a_failed_or_refused_write_changes_nothing(app: App) -> None:
    before, build = count(app), app.query(COUNT).header("X-Skategraph-Build")
    bad = app.update("INSERT DATA { GRAPH <http://ex/u> { <http://ex/s> <http://ex/p> }")
    assert bad.status == 400
    default = app.update("INSERT DATA { <http://ex/s> <http://ex/p> 1 }")
    assert default.status == 400, default.text
    assert "named graphs only" in json.loads(default.body)["message"]
    assert app.update("CLEAR ALL", token=None).status == 401
    assert app.update("CLEAR ALL", token="wrong").status == 403
    assert count(app) == before
    assert app.query(COUNT).header("X-Skategraph-Build") == build


def test_without_a_token_a_remote_store_is_read_only(
    virtuoso_server: remotes.Server, seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's user may update; ours still writes nothing without our token configured."""
    at = served_remotely(virtuoso_server, seed_dir, monkeypatch, tmp_path / "cache")
    with running_app(at.path, remote=at.remote, cache_mb=0) as app:
        before = count(app)
        reply = app.update("CLEAR ALL", token="anything")
        assert reply.status == 403
        assert json.loads(reply.body)["error"] == "read_only"
        assert count(app) == before
