"""A remote store's server down, slow or back (issue 15): a clear 503 within the time limit, /health
says so, and the endpoint recovers by itself when the server returns; credentials never reach a
client or a log. Real servers on 127.0.0.1; the slow one is a listener that never answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skategraph.store.address import store_at

from . import remotes
from .remotes import served_remotely
from .server import Reply, running_app

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Skater }"


@pytest.fixture(params=["oxigraph", "virtuoso"])
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[remotes.Server]:
    """A server of this test's own, which it may stop and start again (same port, same data)."""
    start = remotes.oxigraph if request.param == "oxigraph" else remotes.virtuoso
    server = start(tmp_path / request.param)
    try:
        yield server
    finally:
        server.stop()


def error_of(reply: Reply) -> str:
    body = json.loads(reply.body)
    assert set(body) >= {"error", "message"}, body
    return str(body["error"])


def test_the_server_down_is_a_503_health_says_so_and_it_recovers(
    own_server: remotes.Server, seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = served_remotely(own_server, seed_dir, monkeypatch, tmp_path / "cache")
    with running_app(at.path, remote=at.remote, cache_mb=0, timeout=5) as app:
        assert app.query(COUNT).status == 200
        assert app.get("/health").status == 200
        own_server.stop()
        started = time.monotonic()
        down = app.query(COUNT)
        assert time.monotonic() - started < 5 + 2, "not answered within the time limit"
        assert down.status == 503, down.text
        assert error_of(down) == "store_unavailable"
        assert own_server.url.split("//")[1] in json.loads(down.body)["message"]  # names the server
        health = app.get("/health")
        assert health.status == 503
        assert error_of(health) == "store_unavailable"
        own_server.start()
        deadline = time.monotonic() + 30
        while app.query(COUNT).status != 200:  # it comes back by itself: no restart of ours
            assert time.monotonic() < deadline, "the endpoint did not recover when the server came back"
            time.sleep(0.2)
        assert app.get("/health").status == 200


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers: a server too slow to be waited for."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_server_that_does_not_answer_is_cut_at_the_time_limit(
    own_server: remotes.Server, seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent_server: int
) -> None:
    """The mirror knows the build; then the server goes silent: the request's own limit cuts it."""
    at = served_remotely(own_server, seed_dir, monkeypatch, tmp_path / "cache")
    silent = store_at(f"{own_server.kind}+http://127.0.0.1:{silent_server}")
    silent.path.parent.mkdir(parents=True, exist_ok=True)
    with running_app(at.path, remote=silent.remote, cache_mb=0, timeout=3) as app:
        started = time.monotonic()
        reply = app.query(COUNT, timeout="1")
        took = time.monotonic() - started
        assert reply.status == 503, reply.text
        assert error_of(reply) in ("query_timeout", "store_unavailable")
        assert took < 3 + 2, f"answered after {took:.1f} s, past the server's own limit of 3 s"


def test_credentials_never_reach_a_client_or_the_log(
    virtuoso_server: remotes.Server, seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = served_remotely(virtuoso_server, seed_dir, monkeypatch, tmp_path / "cache")
    with running_app(at.path, remote=at.remote, cache_mb=0, update_token="secret") as app:
        replies = [
            app.query(COUNT),
            app.query("SELECT * WHERE { ?s ?p }"),  # a syntax error
            app.get("/health"),
            app.get("/limits"),
            app.get("/sparql", Accept="text/turtle"),  # the service description
            app.update("INSERT DATA { <urn:a> <urn:b> <urn:c> }", token="wrong"),
        ]
        assert replies[0].status == 200
        assert replies[1].status == 400
        for reply in replies:
            assert remotes.PASSWORD not in reply.text
            assert remotes.PASSWORD not in str(reply.headers)
        assert app.log, "nothing was logged: nothing is checked"
        assert not [line for line in app.log if remotes.PASSWORD in line]
