"""Plain protocol queries answered in the event loop (`web/inloop.py`), without a request thread.

What is read there must be read as gunicorn reads it (the environ is compared with gunicorn's own, from
its own parser), anything else must be left to gunicorn, the bytes sent must be those gunicorn's
thread would have sent (a real server, each request once as it comes and once with a header that
keeps it from the loop), and a query the loop can answer must be answered while every request thread
is taken.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser
from gunicorn.http.wsgi import create
from werkzeug.test import EnvironBuilder

from skategraph.errors import HandedOn
from skategraph.web import inloop
from skategraph.web import server as server_module

from .server import Server, seed_app, seed_server, start_server

SKATER = "<https://w3id.org/skategraph/id/skater/ahn-hyun-soo>"
TINY = f"SELECT ?label WHERE {{ {SKATER} <http://www.w3.org/2000/01/rdf-schema#label> ?label }}"
MANY = "SELECT * WHERE { ?s ?p ?o }"  # bounded by the row limit, and cut at it
SORTED = "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 3"  # for a worker
# Streams until its time limit: its thread stays busy as long as its client does not read.
ENDLESS = "CONSTRUCT { ?a ?b ?c } WHERE { ?a ?b ?c . ?d ?e ?f }"


def _get(query: str, *headers: str, method: str = "GET", version: str = "1.1") -> bytes:
    lines = [f"{method} /sparql?query={quote(query)} HTTP/{version}", "Host: 127.0.0.1:8000", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


HEADS = [
    _get(TINY),
    _get(TINY, "Accept: application/sparql-results+xml", "Origin: https://example.org", "User-Agent: t/1"),
    _get(TINY, "accept:   text/csv  ", "Connection: close"),
    _get(TINY, method="HEAD", version="1.0"),
    _get(MANY, 'If-None-Match: "x"', "Accept-Encoding: gzip, deflate"),
    _get(TINY).replace(b"Host: 127.0.0.1:8000\r\n", b""),  # no Host at all
]


@pytest.mark.parametrize("data", HEADS)
def test_the_environ_is_gunicorns(data: bytes) -> None:
    cfg = Config()
    client, server = ("127.0.0.1", 40000), ("127.0.0.1", 8000)
    request = next(RequestParser(cfg, iter([data]), client))
    _response, theirs = create(request, None, client, server, cfg)
    head = inloop.read_head(data)
    assert head is not None
    ours = inloop.environ_of(head, cfg, None, client, server)
    objects = ("wsgi.input", "wsgi.errors", "wsgi.early_hints", "gunicorn.socket", "wsgi.file_wrapper")
    theirs["wsgi.multithread"] = True  # gthread's
    assert {k: v for k, v in ours.items() if k not in objects and k != inloop.IN_LOOP} == {
        k: v for k, v in theirs.items() if k not in objects
    }
    assert head.should_close() == request.should_close()


@pytest.mark.parametrize(
    "data",
    [
        _get(TINY).replace(b"GET", b"POST", 1),
        _get(TINY).replace(b"/sparql?", b"/sparql/?", 1),
        _get(TINY).replace(b"/sparql?", b"/id/x?", 1),
        _get(TINY).replace(b"HTTP/1.1", b"HTTP/2.0", 1),
        _get(TINY).replace(b"?query=", b"?query=#", 1),  # a fragment: gunicorn's to split off
        _get(TINY, "X_Odd: 1"),  # gunicorn drops names with an underscore
        _get(TINY, "Accept: a/b", "Accept: c/d"),  # repeated: gunicorn joins them
        _get(TINY, "X-Forwarded-For: 10.0.0.1"),
        _get(TINY, "X-Forwarded-Proto: https"),
        _get(TINY, "Forwarded: for=10.0.0.1"),
        _get(TINY, "Content-Length: 0"),
        _get(TINY, "Transfer-Encoding: chunked"),
        _get(TINY, "Expect: 100-continue"),
        _get(TINY, "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"),
        _get(TINY, "Accept : a/b"),  # a space before the colon
        _get(TINY, "Accept: a/b", " folded"),
        _get(TINY, "User-Agent: caf\xe9"),  # not ASCII
        _get(TINY, "X-Long: " + "x" * 9000),
        _get(TINY, *(f"X-H{n}: {n}" for n in range(101))),
        _get(TINY) + _get(TINY),  # two requests at once: a thread reads them in turn
        _get(TINY)[:-2],  # not all there
    ],
)
def test_anything_else_is_gunicorns_to_read(data: bytes) -> None:
    assert inloop.read_head(data) is None


@pytest.mark.parametrize("data", HEADS)
def test_a_head_read_again_is_read_the_same(data: bytes) -> None:
    """Header lines are kept once read: a head read again (its lines kept) is the head read first."""
    inloop._kept_field.cache_clear()
    first = inloop.read_head(data)
    kept = inloop._kept_field.cache_info().currsize
    assert first is not None and kept == len(first.headers)  # each of its lines was kept
    assert inloop.read_head(data) == first


def test_what_is_kept_of_header_lines_is_bounded() -> None:
    """However many different header lines clients send, the loop keeps at most KEPT_LINES short ones;
    a long line is read as well, each time, and not kept."""
    inloop._kept_field.cache_clear()
    long_value = "x" * (inloop.KEPT_LENGTH + 100)
    head = inloop.read_head(_get(TINY, f"User-Agent: {long_value}"))
    assert head is not None and ("USER-AGENT", long_value) in head.headers
    assert inloop._kept_field.cache_info().currsize == 1  # the Host line only: the long one is not kept
    for n in range(inloop.KEPT_LINES + 10):
        assert inloop.read_head(_get(TINY, f"X-Client-{n}: {n}")) is not None
        assert inloop._kept_field.cache_info().currsize <= inloop.KEPT_LINES


@pytest.fixture(scope="module")
def server(seed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(seed_dir, "--processes", "1", "--workers", "8", "--row-limit", "50", "--timeout", "20")
    yield running
    running.stop()


def _exchange(
    server: Server, data: bytes, conn: socket.socket | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Send `data` and read one response: its status line, headers but Date, and body."""
    sock = conn or socket.create_connection((server.host, server.port), timeout=10)
    try:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock, method="HEAD" if data.startswith(b"HEAD") else "GET")
        response.begin()
        body = response.read()
        status = f"HTTP/{response.version // 10}.{response.version % 10} {response.status} {response.reason}"
        return status, [(k, v) for k, v in response.getheaders() if k != "Date"], body
    finally:
        if conn is None:
            sock.close()


@pytest.mark.parametrize(
    "data",
    [
        _get(TINY),
        _get(TINY, "Accept: text/tab-separated-values", "Origin: https://example.org"),
        _get(TINY, method="HEAD"),
        _get(TINY, version="1.0"),
        _get(TINY, "Connection: close"),
        _get(TINY, "If-None-Match: *"),  # 304
        _get(TINY, "If-None-Match: *", method="HEAD", version="1.0"),
        _get(MANY, "Accept: application/sparql-results+xml"),  # cut at the row limit
        _get(f"ASK {{ {SKATER} ?p ?o }}"),
        _get(SORTED),  # a worker's: the loop hands it on
        _get("SELEC nothing"),  # an error, Flask's to render: handed on too
    ],
)
def test_the_bytes_are_what_the_thread_sends(server: Server, data: bytes) -> None:
    """The same request as it comes (answered in the loop when it can be) and with a header that keeps
    it from the loop (answered by a thread): the same status, headers and body. Twice: the second
    answer of each is the response cache's."""
    threaded = data.replace(b"\r\n\r\n", b"\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n")
    assert inloop.read_head(data) is not None and inloop.read_head(threaded) is None
    for _ in range(2):
        assert _exchange(server, data) == _exchange(server, threaded)


def test_a_connection_is_kept_between_answers_made_in_the_loop(server: Server) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        for query in (TINY, MANY, SORTED, TINY):
            status, headers, body = _exchange(server, _get(query), sock)
            assert status == "HTTP/1.1 200 OK" and ("Connection", "keep-alive") in headers and body


def test_a_bounded_query_is_answered_while_every_request_thread_is_taken(server: Server) -> None:
    """Eight streaming answers whose clients do not read hold the web process's eight request threads;
    a one-pattern query is still answered (by the loop), where on a thread it would wait for one."""
    held = []
    try:
        for _ in range(8):
            sock = socket.create_connection((server.host, server.port), timeout=10)
            sock.sendall(_get(ENDLESS, "Accept: application/n-triples"))
            assert sock.recv(12) == b"HTTP/1.1 200"  # a thread is writing this answer, and will go on
            held.append(sock)
        status, _headers, body = _exchange(server, _get(TINY))
        assert status == "HTTP/1.1 200 OK" and b"Ahn Hyun-soo" in body
    finally:
        for sock in held:
            with contextlib.suppress(OSError):
                sock.close()


def test_a_long_answer_is_made_by_a_thread(tmp_path: Path, seed_dir: Path) -> None:
    """The event loop reads at most LOOP_ROWS solutions of a query before handing it to a thread, so
    that no answer holds the loop long from the other connections; a thread answers it whole."""
    with seed_app(tmp_path, seed=seed_dir, cache_mb=0, row_limit=5000) as running:

        def ask(query: str, in_loop: bool) -> tuple[str, bytes]:
            if in_loop:  # as the event loop asks it
                cfg, data = Config(), _get(query)
                head = inloop.read_head(data)
                assert head is not None
                environ = inloop.environ_of(head, cfg, None, ("127.0.0.1", 40000), ("127.0.0.1", 8000))
                sent, _keep = inloop.answer(running.app.wsgi_app, head, environ, cfg, False)
                status_line, _, rest = sent.partition(b"\r\n")
                return status_line.decode().split(" ", 1)[1], rest.partition(b"\r\n\r\n")[2]
            environ = EnvironBuilder(path="/sparql", query_string={"query": query}).get_environ()
            seen: list[str] = []
            body = running.app.wsgi_app(environ, lambda status, headers, exc_info=None: seen.append(status))
            data = b"".join(body)
            getattr(body, "close", lambda: None)()
            return seen[0], data

        with pytest.raises(HandedOn):
            ask(MANY, in_loop=True)  # the seed has more triples than LOOP_ROWS
        status, data = ask(MANY, in_loop=False)
        assert status == "200 OK" and data.count(b'"s":') > inloop.LOOP_ROWS
        status, data = ask(f"{MANY} LIMIT {inloop.LOOP_ROWS}", in_loop=True)
        assert status == "200 OK" and data.count(b'"s":') == inloop.LOOP_ROWS


def test_an_idle_connection_after_an_answer_made_in_the_loop_is_closed(server: Server) -> None:
    """It waits for its next request as long as gunicorn's keep-alive, then the server closes it,
    and a request begun meanwhile is still answered on it."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        assert _exchange(server, _get(TINY), sock)[0] == "HTTP/1.1 200 OK"
        assert _exchange(server, _get(TINY), sock)[0] == "HTTP/1.1 200 OK"  # a second on the same one
        assert sock.recv(1) == b""  # closed by the server, not by our timeout (which would raise)


def test_an_answer_larger_than_the_sockets_buffers_is_sent_by_a_thread(tmp_path: Path, seed_dir: Path) -> None:
    """An answer made in the loop that the socket does not take at once (a client that reads slowly)
    is sent on by a request thread, whole; the connection is kept and its next request answered."""
    big = "x" * 12_000_000  # more than the kernel buffers on both ends of a loopback connection
    with seed_server(tmp_path, "--max-body", "40000000", seed=seed_dir) as running:
        assert running.update(f'INSERT DATA {{ <urn:big> <urn:is> "{big}" }}').status == 204
        ask = _get("SELECT ?o WHERE { <urn:big> <urn:is> ?o }", "Accept: text/tab-separated-values")
        assert inloop.read_head(ask) is not None
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(30)
            sock.connect((running.host, running.port))
            for _ in range(2):
                sock.sendall(ask)
                time.sleep(0.5)  # not reading: the loop's send takes part of the answer only
                status, headers, body = _exchange(running, ask[:0], sock)
                assert status == "HTTP/1.1 200 OK" and ("Connection", "keep-alive") in headers
                assert body == f'?o\n"{big}"\n'.encode()


def test_the_log_lines_are_as_before(server: Server) -> None:
    """A request's line is logging's default; gunicorn's own lines still name their process (logging
    leaves out only what no line shows)."""
    marker = "SELECT ?label WHERE { <urn:logged> <urn:p> ?label }"
    assert _exchange(server, _get(marker))[0] == "HTTP/1.1 200 OK"
    deadline = time.monotonic() + 10
    while not any("urn%3Alogged" in line for line in server.log) and time.monotonic() < deadline:
        time.sleep(0.05)
    ours = next(line for line in server.log if "urn%3Alogged" in line)
    assert re.fullmatch(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO skategraph\.web: 127\.0\.0\.1 '
                        r'"GET /sparql\?query=SELECT%20%3Flabel\S*" 200 \d+\.\dms\n', ours), ours  # fmt: skip
    booting = next(line for line in server.log if "Booting worker with pid" in line)
    found = re.search(r"\[(\d+)\] \[INFO\] Booting worker with pid: (\d+)", booting)
    assert found and found.group(1) == found.group(2), booting


def test_the_log_lines_time_is_loggings_own() -> None:
    """The server's formatter writes a line's time once a second; the line is logging's default."""
    ours, theirs = server_module._Lines(LINE), logging.Formatter(LINE)
    for created in (1.0, 1.25, 1.999, 2.0, 86_400.5, 1_796_000_000.123):
        record = logging.LogRecord("skategraph.web", logging.INFO, __file__, 1, "a %s line", ("logged",), None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert ours.format(record) == theirs.format(record)


LINE = "%(asctime)s %(levelname)s %(name)s: %(message)s"
