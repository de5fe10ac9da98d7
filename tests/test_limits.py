"""What the web process bounds for every client, on a real `skategraph serve` (gunicorn) process:
request bodies whatever their transfer encoding, request lines, and clients that send slowly."""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from .server import Server, rows, seed_server

MAX_BODY = 100_000
AUTH = {"Authorization": "Bearer secret"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    with seed_server(folder, "--processes", "2", "--max-body", str(MAX_BODY), seed=seed_dir) as running:
        yield running


def chunked(server: Server, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """`body` sent with Transfer-Encoding: chunked (no Content-Length), in pieces of 10,000 bytes."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        pieces = (body[i : i + 10_000] for i in range(0, len(body), 10_000))
        connection.request(method, path, body=pieces, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def triples(count: int, graph: str = "big") -> bytes:
    """`count` N-Triples lines of exactly 50 bytes each, so that a body cut at the limit is still
    whole lines (as the issue's PUT was, which stored 262,144 of 300,000 triples)."""
    lines = [f'<http://ex/{graph}/s{i:07d}> <http://ex/p> "' for i in range(count)]
    return b"".join((line + "x" * (50 - len(line) - 4) + '" .\n').encode() for line in lines)


def count(server: Server, graph: str) -> int:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    return int(rows(server.query(query).body)[0]["n"])


def test_a_chunked_body_within_the_limit_is_read_whole(server: Server) -> None:
    body = triples(1_000, "small")
    assert len(body) == 50_000
    status, _ = chunked(
        server, "PUT", "/store?graph=http://ex/small", body, {**AUTH, "Content-Type": "application/n-triples"}
    )
    assert status == 201
    assert count(server, "http://ex/small") == 1_000


BIG = triples(6_000)  # 300,000 bytes: three times the limit


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body"),
    [
        ("PUT", "/store?graph=http://ex/big", "application/n-triples", BIG),
        ("POST", "/store?graph=http://ex/big", "application/n-triples", BIG),
        ("POST", "/sparql", "application/sparql-update", b"INSERT DATA { GRAPH <http://ex/big> { " + BIG + b" } }"),
        ("POST", "/sparql", "application/x-www-form-urlencoded",
         b"update=" + quote(b"INSERT DATA { GRAPH <http://ex/big> { " + BIG + b" } }").encode()),
        ("POST", "/sparql", "application/sparql-query", b"ASK {} #" + b"x" * 300_000),
        ("POST", "/sparql", "application/x-www-form-urlencoded", b"query=ASK+%7B%7D+%23" + b"x" * 300_000),
        ("POST", "/reconcile", "application/x-www-form-urlencoded",
         b"queries=" + quote(json.dumps({f"q{i}": {"query": "Ahn Hyun-soo"} for i in range(10_000)})).encode()),
    ],
    ids=["store-put", "store-post", "update", "update-form", "query", "query-form", "reconcile-form"],
)  # fmt: skip
def test_a_chunked_body_over_the_limit_is_refused_and_changes_nothing(
    server: Server, method: str, path: str, content_type: str, body: bytes
) -> None:
    assert len(body) > MAX_BODY
    before = server.query("ASK {}").header("X-Skategraph-Build")
    status, answer = chunked(server, method, path, body, {**AUTH, "Content-Type": content_type})
    assert status == 413
    error = json.loads(answer)
    assert error["status"] == 413 and error["error"] == "request_entity_too_large"
    assert "100,000 bytes" in error["message"]
    assert count(server, "http://ex/big") == 0
    assert server.query("ASK {}").header("X-Skategraph-Build") == before  # no write happened at all
    # The connection's framing held: the server answers the next request as usual.
    assert server.query("ASK {}").status == 200


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(server: Server) -> None:
    """A Content-Length over the limit is refused whatever follows it (here, a body far shorter)."""
    import socket

    with socket.create_connection((server.host, server.port), timeout=30) as raw:
        raw.sendall(b"PUT /store?graph=http://ex/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
                    b"Content-Type: application/n-triples\r\nContent-Length: 300000\r\n\r\n" + triples(10))  # fmt: skip
        head = raw.recv(65536)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(head.split(b"\r\n\r\n", 1)[1])["error"] == "request_entity_too_large"
    assert count(server, "http://ex/big") == 0


def test_a_client_is_answered_while_200_slow_clients_hold_connections(server: Server) -> None:
    """Slowloris: 100 connections that send a request line a byte at a time, never ending it, and 100
    that send a head at once and then their body a byte at a time. gthread gave each connection a
    request thread as soon as it had a byte, so 16 of them held every thread (2 processes of 8) and
    nobody else was answered until they stopped."""
    import socket
    import threading

    line = b"GET /sparql?query=" + b"x" * 60_000  # never finished: no CRLF
    head = (
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: 60000\r\n\r\n"
    )
    slow_heads = [socket.create_connection((server.host, server.port), timeout=5) for _ in range(100)]
    slow_bodies = [socket.create_connection((server.host, server.port), timeout=5) for _ in range(100)]
    for connection in slow_bodies:
        connection.sendall(head)
    sent = threading.Event()
    stop = threading.Event()

    def trickle() -> None:
        for byte in range(len(line)):
            for connection in slow_heads:
                with contextlib.suppress(OSError):
                    connection.send(line[byte : byte + 1])
            for connection in slow_bodies:
                with contextlib.suppress(OSError):
                    connection.send(b"#")
            if byte == 2:
                sent.set()
            if stop.wait(0.3):
                return

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        assert sent.wait(30)
        answer = http.client.HTTPConnection(server.host, server.port, timeout=20)
        try:
            answer.request(
                "GET", "/sparql?query=" + quote("ASK {}"), headers={"Accept": "application/sparql-results+json"}
            )
            response = answer.getresponse()
            assert response.status == 200 and json.loads(response.read())["boolean"] is True
        finally:
            answer.close()
    finally:
        stop.set()
        thread.join()
        for connection in slow_heads + slow_bodies:
            connection.close()


def test_a_long_get_query_is_answered(server: Server) -> None:
    """Long queries come by GET too: a 40 KB request line (far over gunicorn's 8,190 bytes) is served."""
    values = " ".join(f"<http://ex/{i}>" for i in range(2_500))
    path = "/sparql?query=" + quote(f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?x {{ {values} }} }}")
    assert 40_000 < len(path) < 64 * 1024
    reply = server.request("GET", path, headers={"Accept": "application/sparql-results+json"})
    assert reply.status == 200 and rows(reply.body) == [{"n": "2500"}]


def test_a_request_line_over_the_limit_is_a_414_saying_to_post(server: Server) -> None:
    """An 8 MB URL cost gunicorn's parser 5 s of CPU; it is refused at 64 KiB, and the client, still
    sending, reads the answer rather than a reset connection."""
    import socket
    import threading

    with socket.create_connection((server.host, server.port), timeout=30) as raw:
        request = b"GET /sparql?query=ASK%7B%7D%23" + b"x" * 8_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"

        def send() -> None:
            with contextlib.suppress(OSError):  # the server may close before it has read it all
                raw.sendall(request)

        sender = threading.Thread(target=send)
        sender.start()
        answer = b""
        while piece := raw.recv(65536):
            answer += piece
        sender.join()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ")
    error = json.loads(body)
    assert error["status"] == 414 and error["error"] == "request_uri_too_large"
    assert "65,536 bytes" in error["message"] and "POST" in error["message"]
    assert any('"GET /sparql?query=ASK%7B%7D%23xxx' in line and "414" in line for line in server.log)


def test_what_gunicorn_refuses_is_answered_in_our_error_shape(server: Server) -> None:
    import socket

    with socket.create_connection((server.host, server.port), timeout=30) as raw:
        raw.sendall(b"GET /sparql HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        answer = b""
        while piece := raw.recv(65536):
            answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    error = json.loads(body)
    assert error["status"] == 400 and error["error"] == "bad_request" and error["message"]
