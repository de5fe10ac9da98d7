"""Plain protocol queries answered in the web process's event loop, without a request thread.

Measured on this project's 2-core machines (issue 14), gunicorn's part of a request was the largest
part of a small one: a cache hit costs the app 15 µs but was served at 0.26× Oxigraph's server, a
bare WSGI app evaluating in-process at 0.21×, because each request is handed from the event loop to
a thread and back, parsed by gunicorn's HTTP parser, given a full WSGI environ and written through
its response object. A query the app can answer at once, without waiting for anything (a cache hit,
or a query answered in this process: `skategraph.sparql.bounded`), does not need a thread: the event
loop, which already holds the whole request (`connections.py`), answers it itself.

What this module does, for `connections.Worker`:
- `read_head` reads a `GET`/`HEAD /sparql?...` request's head strictly, with gunicorn's own rules
  (header names upper-cased, HTTP_ keys, SERVER_* from the listening socket, REMOTE_* from the peer)
  and hands back None for anything it does not read so (a body, a proxy's or an upgrade's header, a
  repeated header, a byte outside printable ASCII, a line or a count over gunicorn's limits): such
  a request goes to a thread as before, where gunicorn parses it and refuses what it refuses.
- `answer` runs the whole app on it (response cache, fast path) with `IN_LOOP` set in the environ,
  and writes the response with gunicorn's own `Response` into memory, so the bytes (status line,
  Server, Date, Connection, chunking, HEAD) are what gunicorn would have sent.
- A layer that would have to wait (a query for a worker, an answer another request is making) or
  hand the request to Flask (an error to render, any other path) raises `HandedOn` before anything is
  written, and the request goes to a thread after all, as if it had never been tried.
"""

from __future__ import annotations

import email.utils
import functools
import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gunicorn.http.wsgi import Response, base_environ

from skategraph.web.service import AT_ONCE

IN_LOOP = "skategraph.in_loop"  # environ key: the request is being answered in the event loop
# The most solutions a query answered in the event loop may read (about 3 ms of it); a longer answer
# is made by a request thread instead, so that no answer holds the loop from the other connections.
LOOP_ROWS = 1000


# gunicorn's defaults (`limit_request_fields`, `limit_request_field_size`); a request over them is
# gunicorn's to refuse.
MAX_FIELDS = 100
MAX_FIELD = 8190
_LINE = re.compile(rb"(GET|HEAD) (/sparql\?[\x21\x22\x24-\x7e]*) HTTP/1\.([01])")  # no '#'
_FIELD = re.compile(rb"([A-Za-z0-9-]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*")
# Headers that change how gunicorn reads the request or builds its environ: a body, an upgrade, a
# proxy's view of the scheme or the client.
_THREADED = frozenset({"CONTENT-LENGTH", "CONTENT-TYPE", "TRANSFER-ENCODING", "EXPECT", "UPGRADE", "HTTP2-SETTINGS",
                       "FORWARDED", "FRONT-END-HTTPS", "PROXY-CONNECTION"})  # fmt: skip


@dataclass
class Head:
    """What gunicorn's `Response` asks of its request: method, version and the headers."""

    method: str
    uri: str
    version: tuple[int, int]
    headers: list[tuple[str, str]]

    def should_close(self) -> bool:
        """gunicorn's rule (`http.message.Message.should_close`): the first Connection header decides,
        else HTTP/1.0 closes."""
        for name, value in self.headers:
            if name == "CONNECTION":
                value = value.lower().strip(" \t")
                if value == "close":
                    return True
                if value == "keep-alive":
                    return False
                break
        return self.version <= (1, 0)


def read_head(data: bytes) -> Head | None:
    """The head of a request that is all of `data`, if it is a plain `GET`/`HEAD /sparql?` request
    read here; None for any other, which gunicorn is to read."""
    if not data.endswith(b"\r\n\r\n") or data.count(b"\r\n\r\n") != 1 or os.environ.get("SCRIPT_NAME"):
        return None
    lines = data[:-4].split(b"\r\n")
    line = _LINE.fullmatch(lines[0])
    if line is None or len(lines) - 1 > MAX_FIELDS:
        return None
    headers: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in lines[1:]:
        field = _field(raw)
        if field is None or field[0] in seen:
            return None
        seen.add(field[0])
        headers.append(field)
    method, uri, minor = line.group(1).decode(), line.group(2).decode(), int(line.group(3))
    return Head(method, uri, (1, minor), headers)


# Header lines read so far, and what each came to (a client sends the same few with every request:
# reading each again was a tenth of the loop's own time for a small query, issue 14). At most
# KEPT_LINES lines of at most KEPT_LENGTH bytes each are kept, the least recently used going first, so
# that no client can make the web process keep more than about a megabyte of them.
KEPT_LINES = 4096
KEPT_LENGTH = 256


def _field(raw: bytes) -> tuple[str, str] | None:
    """A header line's (upper-cased name, value), or None if it is not read here."""
    return _kept_field(raw) if len(raw) <= KEPT_LENGTH else _read_field(raw)


def _read_field(raw: bytes) -> tuple[str, str] | None:
    field = _FIELD.fullmatch(raw) if len(raw) <= MAX_FIELD else None
    if field is None:
        return None
    name = field.group(1).decode("ascii").upper()
    if name in _THREADED or name.startswith("X-FORWARDED-"):
        return None
    return name, field.group(2).decode("ascii")


_kept_field = functools.lru_cache(maxsize=KEPT_LINES)(_read_field)


def environ_of(head: Head, cfg: Any, sock: Any, client: Any, server: Any) -> dict[str, Any]:
    """The WSGI environ gunicorn would build for `head` (`gunicorn.http.wsgi.create`)."""
    path, _, query = head.uri.partition("?")
    environ = dict(_base_environ(cfg))
    environ.update(
        {
            "wsgi.input": io.BytesIO(b""),
            "gunicorn.socket": sock,
            "REQUEST_METHOD": head.method,
            "QUERY_STRING": query,
            "RAW_URI": head.uri,
            "SERVER_PROTOCOL": f"HTTP/{head.version[0]}.{head.version[1]}",
        }
    )
    for name, value in head.headers:
        environ["HTTP_" + name.replace("-", "_")] = value
    environ["wsgi.url_scheme"] = "http"
    environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], str(server[1])
    environ["PATH_INFO"] = path  # read here only when it is /sparql: nothing to unquote
    environ["SCRIPT_NAME"] = ""
    environ["wsgi.multithread"] = True
    environ[IN_LOOP] = True
    return environ


# gunicorn's `base_environ(cfg)`, made once for the worker's configuration (and copied for each request).
_base_environ = functools.lru_cache(maxsize=1)(base_environ)


class _Bytes:
    """Takes the place of a socket for gunicorn's `Response`: keeps what it would send."""

    def __init__(self) -> None:
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data


def answer(app: Callable[..., Any], head: Head, environ: dict[str, Any], cfg: Any, close: bool) -> tuple[bytes, bool]:
    """The bytes of the app's response to the request, as gunicorn writes it, and whether the
    connection stays open after it; raises `HandedOn` if the app cannot answer in the loop. `close`:
    the worker wants this connection closed after the response (it is stopping, say)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return _no_write

    budget = AT_ONCE.set(LOOP_ROWS)
    try:
        body = app(environ, start_response)
        try:
            chunks = list(body)
        finally:
            closing = getattr(body, "close", None)
            if closing is not None:
                closing()
    finally:
        AT_ONCE.reset(budget)
    status, headers = started
    keep = not (close or head.should_close())
    plain = _plain(status, headers, keep, head, chunks)
    if plain is not None:
        return plain, keep
    out = _Bytes()  # anything else is written by gunicorn's own Response
    response = Response(head, out, cfg)
    if close:
        response.force_close()
    response.start_response(status, headers)
    for chunk in chunks:
        response.write(chunk)
    response.close()
    return bytes(out.data), not response.should_close()


def _no_write(data: bytes) -> None:
    raise AssertionError("the app writes its body by iterating it, never through write()")


# Headers gunicorn leaves out of a response, or writes itself (`gunicorn.util.hop_headers`).
_HOPPISH = frozenset({"connection", "date", "proxy-authenticate", "proxy-authorization", "keep-alive",
                      "transfer-encoding", "upgrade", "server", "te", "trailers"})  # fmt: skip
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\x20-\x7e\t]*")
_date: list[Any] = [0, ""]


def _plain(status: str, headers: list[tuple[str, str]], keep: bool, head: Head, body: list[bytes]) -> bytes | None:
    """What gunicorn's Response writes for the answers the loop makes: a 200 with its Content-Length,
    or a 304, with headers every one of which gunicorn writes as it is. None for anything else."""
    code = status[:3]
    if code not in ("200", "304") or len(status) < 5 or status[3] != " ":
        return None
    lines = [f"HTTP/{head.version[0]}.{head.version[1]} {status}\r\nServer: gunicorn\r\nDate: {_http_date()}\r\n"
             f"Connection: {'keep-alive' if keep else 'close'}\r\n"]  # fmt: skip
    length = None
    for name, value in headers:
        line = _header_line(name, value)
        if line is None:
            return None
        if line[1]:
            length = int(value)
        lines.append(line[0])
    lines.append("\r\n")
    data = b"".join(body)
    if code == "304" or head.method == "HEAD":
        data = b""
    elif length is None or len(data) != length:
        return None
    return "".join(lines).encode("latin-1") + data


# The headers written so far, each as its line and whether it is the Content-Length; None for a
# header gunicorn would not write as it is. An answer's headers are mostly those of the last one.
# Kept as the lines read are: at most KEPT_LINES, each at most KEPT_LENGTH long.
def _header_line(name: str, value: str) -> tuple[str, bool] | None:
    if len(name) + len(value) <= KEPT_LENGTH:
        return _kept_header_line(name, value)
    return _write_header_line(name, value)


def _write_header_line(name: str, value: str) -> tuple[str, bool] | None:
    stripped = value.strip(" \t")
    lowered = name.lower()
    if lowered in _HOPPISH or not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(stripped):
        return None
    return f"{name}: {stripped}\r\n", lowered == "content-length"


_kept_header_line = functools.lru_cache(maxsize=KEPT_LINES)(_write_header_line)


def _http_date() -> str:
    """gunicorn's Date (`util.http_date`), made once a second."""
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, email.utils.formatdate(now, localtime=False, usegmt=True)]
    return str(_date[1])
