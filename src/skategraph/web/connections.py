"""gunicorn's threaded worker, changed so that a slow client never holds a request thread.

gthread hands a connection to one of its request threads as soon as the connection has a byte to
read, and the thread then blocks until the whole request is in: 16 clients sending a byte at a time
held every thread of two web processes, and nobody else was answered (slowloris, issue 12). Here the
worker's event loop, which already waits on every open connection, reads each request without
blocking, its head and then its body (of a Content-Length, or chunked, counted through the chunk
framing). A thread is given only a request that has wholly arrived; gunicorn parses it from memory
and the app serves it at once. A plain protocol query that the app can answer without waiting (a
cache hit, a one-pattern query) is not given a thread at all: the event loop answers it itself
(`inloop.py`, issue 14). A client holds a file descriptor, never a thread, and only so long:

- a head must arrive within `HEAD_TIMEOUT` of its first byte (or of the connection), a body within
  `BODY_TIMEOUT` of its head, or the request is answered 408 and the connection closed;
- a request line is at most `MAX_REQUEST_LINE` bytes (414, saying to send a long query by POST):
  long SPARQL queries come by GET too, far over the 8,190 bytes gunicorn can be told to allow, while
  without a limit an 8 MB URL cost gunicorn's parser 5 s of CPU (issue 12); read here, a line costs
  one scan of its bytes;
- a head is at most `MAX_HEAD` bytes (431); a body over `--max-body` is answered 413 here;
- a closed connection lingers in the event loop to take the client's last bytes (up to
  `LINGER_BYTES`, for `LINGER_SECONDS`), so that a client still sending reads our answer rather than
  a reset; gunicorn lingered in the event loop's own thread, stalling every other client.

Every answer written here is our JSON error body, and has its one log line like any other request;
so are the errors gunicorn's parser answers itself (a malformed request line or header).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import selectors
import socket
import time
from functools import partial
from typing import Any, ClassVar

from gunicorn.workers.gthread import TConn, ThreadWorker

from skategraph.errors import HandedOn
from skategraph.web import inloop
from skategraph.web.errors import body_too_large, error_bytes

log = logging.getLogger("skategraph.web")

HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 60.0
MAX_REQUEST_LINE = 64 * 1024
MAX_HEAD = 1024 * 1024
LINGER_SECONDS = 10.0
LINGER_BYTES = 64 * 1024 * 1024
TICK = 0.1  # seconds between the event loop's rounds of housekeeping (timeouts, the arbiter)
_READ = 256 * 1024
_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}(?:[ \t]*;.*)?")
_EXPECT = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)


def worker_class(max_body: int) -> type[ThreadWorker]:
    """The worker for `skategraph serve`, refusing bodies over `max_body` itself."""
    return type("SkategraphWorker", (Worker,), {"max_body": max_body})


class _Chunks:
    """Where a chunked body has got to, scanned as its bytes arrive: how much data it has carried,
    and whether its last chunk and trailer are in. `bad` framing is left for gunicorn to refuse."""

    def __init__(self, start: int) -> None:
        self.pos = start
        self.left = 0  # bytes of the current chunk (and its CRLF) still to come
        self.size = 0
        self.trailer = False
        self.done = False
        self.bad = False

    def scan(self, buf: bytearray) -> None:
        while not (self.done or self.bad):
            if self.left:
                step = min(self.left, len(buf) - self.pos)
                self.pos += step
                self.left -= step
                if self.left:
                    return
                continue
            end = buf.find(b"\r\n", self.pos)
            if end < 0:
                self.bad = len(buf) - self.pos > 8192  # a size or trailer line longer than gunicorn reads
                return
            line = bytes(buf[self.pos : end])
            self.pos = end + 2
            if self.trailer:
                self.done = not line
            elif not _SIZE_LINE.fullmatch(line):
                self.bad = True
            elif (size := int(line.split(b";")[0].strip(), 16)) == 0:
                self.trailer = True
            else:
                self.size += size
                self.left = size + 2


class _Arrival:
    """A request arriving on a connection: its bytes so far, and how far reading it has got."""

    def __init__(self, conn: TConn, data: bytes) -> None:
        self.conn = conn
        self.buf = bytearray(data)
        self.started = time.monotonic()
        self.deadline = self.started + HEAD_TIMEOUT
        self.scanned = 0
        self.line_end: int | None = None
        self.head_end: int | None = None
        self.need = 0  # all the bytes a Content-Length request takes
        self.chunks: _Chunks | None = None
        self.continued = False  # we answered its Expect: 100-continue
        self.registered = False
        self.idle = False  # a kept-alive connection waiting for its next request's first byte

    def request_line(self) -> tuple[str, str]:
        line = bytes(self.buf[:1024]).lstrip(b"\r\n").split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        path = rest.rsplit(" HTTP/", 1)[0] if " HTTP/" in rest else rest
        return method or "-", (path[:197] + "...") if len(path) > 200 else (path or "-")


def _framing(head: bytes) -> tuple[int | None, bool, bool, bool]:
    """(Content-Length, chunked, Expect: 100-continue, sane) from a request head; a head gunicorn
    will refuse anyway (two lengths, both a length and chunked, a bad number) is not `sane`."""
    lengths, encodings, expect = [], [], False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            encodings.append(value.lower())
        elif name == b"expect" and value.lower() == b"100-continue":
            expect = head.split(b"\r\n", 1)[0].endswith(b"HTTP/1.1")
    if encodings:
        chunked = b",".join(encodings).split(b",")[-1].strip() == b"chunked"
        return None, chunked, expect, chunked and not lengths
    if not lengths:
        return None, False, False, True
    if len(lengths) > 1 or not lengths[0].isdigit():
        return None, False, False, False
    return int(lengths[0]), False, expect, True


class _Status:
    """Takes the place of a socket for gunicorn's error page, keeping only its status line."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.line: str | None = None

    def gettimeout(self) -> float | None:
        return self.sock.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self.sock.setblocking(flag)

    def sendall(self, data: bytes) -> None:
        self.line = data.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")[2]


class _Conn(TConn):  # type: ignore[misc]
    """gthread's connection, closed gracefully by the event loop, not inside it."""

    worker: Worker

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self.sock)
        else:
            super().close()


class Worker(ThreadWorker):  # type: ignore[misc]
    max_body: ClassVar[int]

    alive: bool  # gunicorn's: False once the worker is stopping

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arriving: set[_Arrival] = set()
        self.notified = self.swept = 0.0  # when the arbiter was last told, and arrivals last looked at
        self.lingering: dict[socket.socket, tuple[float, list[int]]] = {}

    # -- gthread's hooks ------------------------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _Conn(self.cfg, client, address, listener.getsockname())
        conn.worker = self
        self.arrive(conn, b"")

    def enqueue_req(self, conn: TConn) -> None:
        """A kept-alive connection with a new request starting (or read ahead): read it first."""
        self.arrive(conn, conn.parser.unreader.take_buffered() if conn.parser is not None else b"")

    def notify(self) -> None:
        """Tell the arbiter we are alive: gthread does on every turn of its loop (a file's time set,
        a system call a request when every request is answered in the loop); at most every
        `TICK` seconds is well within gunicorn's timeout."""
        now = time.monotonic()
        if now - self.notified >= TICK:
            self.notified = now
            super().notify()

    def murder_pending(self) -> None:
        """Requests that took too long to arrive, and lingering closes done, at most every `TICK`."""
        now = time.monotonic()
        if now - self.swept < TICK and self.alive:
            return
        self.swept = now
        super().murder_pending()
        if not self.alive:  # stopping: what is still arriving has a moment more, not its full time
            for arrival in self.arriving:
                arrival.deadline = min(arrival.deadline, arrival.started + 2.0, now + 2.0)
        for arrival in [a for a in self.arriving if a.deadline <= now]:
            if arrival.buf.strip(b"\r\n") and not self.alive:
                self.refuse(arrival, 503, "Service Unavailable", "service_unavailable",
                            "the server is stopping; send the request again")  # fmt: skip
            elif arrival.buf.strip(b"\r\n"):
                took = HEAD_TIMEOUT if arrival.head_end is None else BODY_TIMEOUT
                self.refuse(arrival, 408, "Request Timeout", "request_timeout",
                            f"the request did not arrive within {took:g} s; send it at once")  # fmt: skip
            else:
                self.forget(arrival)
                self.nr_conns -= 1
                arrival.conn.close()
        for sock in [s for s, (deadline, _) in self.lingering.items() if deadline <= now or not self.alive]:
            self.end_linger(sock)

    # -- reading requests in the event loop -----------------------------------------------------

    def arrive(self, conn: TConn, data: bytes, idle_for: float | None = None, after: _Arrival | None = None) -> None:
        """Read the request starting on `conn` (`data`: its bytes already read) in the event loop. With
        `idle_for`, a kept-alive connection waits that long for its first byte, its head then
        HEAD_TIMEOUT from it. `after`: the request answered before on `conn`, whose registration with
        the poller this one takes over (only the callback changes: no system call)."""
        arrival = _Arrival(conn, data)
        if idle_for is not None:
            arrival.idle = True
            arrival.deadline = arrival.started + idle_for
        if conn.sock.getblocking():  # a thread had it (getblocking asks nothing of the kernel)
            conn.sock.setblocking(False)
        self.arriving.add(arrival)
        if after is not None:
            after.registered, arrival.registered = False, True
            self.poller.modify(conn.sock, selectors.EVENT_READ, partial(self.readable, arrival))
        elif not self.progress(arrival):
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.readable, arrival))
            arrival.registered = True

    def readable(self, arrival: _Arrival, sock: socket.socket) -> None:
        data = _recv(sock)
        if data is None:
            return
        if not data:  # the client went away
            self.forget(arrival)
            self.nr_conns -= 1
            arrival.conn.close()
            return
        if arrival.idle:  # the next request has begun: its head has HEAD_TIMEOUT from now
            arrival.idle = False
            arrival.started = time.monotonic()
            arrival.deadline = arrival.started + HEAD_TIMEOUT
        arrival.buf += data
        self.progress(arrival)

    def progress(self, arrival: _Arrival) -> bool:
        """Take the request as far as its bytes go; True once it is dispatched or answered."""
        buf = arrival.buf
        if arrival.line_end is None:
            start = 2 if buf.startswith(b"\r\n") else 0  # one empty line may come first (RFC 9112 2.2)
            end = buf.find(b"\r\n", max(start, arrival.scanned - 1))
            if (end if end >= 0 else len(buf)) - start > MAX_REQUEST_LINE:
                return self.refuse(arrival, 414, "URI Too Long", "request_uri_too_large",
                                   f"the request line is over {MAX_REQUEST_LINE:,} bytes; send a long query "
                                   "by POST, as a form or as application/sparql-query")  # fmt: skip
            if buf.find(b"\n", max(start, arrival.scanned - 1), end if end >= 0 else len(buf)) >= 0:
                return self.dispatch(arrival)  # a bare LF: gunicorn refuses it at once
            if end < 0:
                arrival.scanned = len(buf)
                return False
            arrival.line_end = arrival.scanned = end
        if arrival.head_end is None:
            end = buf.find(b"\r\n\r\n", max(2 if buf.startswith(b"\r\n") else 0, arrival.scanned - 3))
            if end < 0:
                arrival.scanned = len(buf)
                if len(buf) > MAX_HEAD:
                    self.refuse(arrival, 431, "Request Header Fields Too Large", "request_header_fields_too_large",
                                f"the request's head is over {MAX_HEAD:,} bytes")  # fmt: skip
                    return True
                return False
            arrival.head_end = end + 4
            arrival.deadline = time.monotonic() + BODY_TIMEOUT
            length, chunked, expect, sane = _framing(bytes(buf[:end]))
            if not sane or (length is None and not chunked):
                return self.dispatch(arrival)
            if length is not None and length > self.max_body:
                return self.refuse(arrival, 413, "Content Too Large", "request_entity_too_large",
                                   body_too_large(self.max_body))  # fmt: skip
            if expect:
                arrival.continued = True
                with contextlib.suppress(OSError):
                    arrival.conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            if chunked:
                arrival.chunks = _Chunks(arrival.head_end)
            else:
                arrival.need = arrival.head_end + (length or 0)
        if arrival.chunks is not None:
            arrival.chunks.scan(buf)
            if arrival.chunks.size > self.max_body:
                return self.refuse(arrival, 413, "Content Too Large", "request_entity_too_large",
                                   body_too_large(self.max_body))  # fmt: skip
            return (arrival.chunks.done or arrival.chunks.bad) and self.dispatch(arrival)
        return len(buf) >= arrival.need and self.dispatch(arrival)

    def dispatch(self, arrival: _Arrival) -> bool:
        """The request is in: answered here if it can be at once (`inloop`), else to a thread, which
        parses it from memory. A connection stays registered with the poller while the loop tries
        to answer it, and after, if it is answered here and kept (`after_loop`)."""
        self.arriving.discard(arrival)
        conn, data = arrival.conn, bytes(arrival.buf)
        if not arrival.continued and self.answer_in_loop(arrival, data):
            return True
        self.forget(arrival)
        if arrival.continued:  # answered already; gunicorn must not send a second 100 Continue
            head_end = arrival.head_end or 0
            data = _EXPECT.sub(b"", data[:head_end], count=1) + data[head_end:]
        conn.init()
        conn.parser.unreader.unread(data)
        conn.data_ready = True
        ThreadWorker.enqueue_req(self, conn)
        return True

    def answer_in_loop(self, arrival: _Arrival, data: bytes) -> bool:
        """Answer the request `data` here, in the event loop, if it is a plain protocol query the app
        can answer without waiting (`inloop`); False, with nothing done, if it is not."""
        conn = arrival.conn
        head = inloop.read_head(data)
        if head is None:
            return False
        environ = inloop.environ_of(head, self.cfg, conn.sock, conn.client, conn.server)
        # gthread's reasons to close a connection after its response (`handle_request`)
        last = self.nr + 1 >= self.max_requests
        close = last or not self.alive or not self.cfg.keepalive
        close = close or len(self.keepalived_conns) + len(self.arriving) >= self.max_keepalived
        try:
            sent, keep = inloop.answer(self.wsgi, head, environ, self.cfg, close)
        except HandedOn:  # the app cannot answer it without waiting
            return False
        except Exception:  # a failure of ours: the thread answers it as gunicorn answers failures
            log.exception("answering in the event loop failed; handing the request to a thread")
            return False
        self.nr += 1
        if last and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        try:
            done = conn.sock.send(sent)
        except (BlockingIOError, InterruptedError):
            done = 0
        except OSError:  # the client has gone
            self.forget(arrival)
            self.nr_conns -= 1
            conn.close()
            return True
        if done < len(sent):  # the client reads slowly: a thread sends the rest, as gunicorn would
            self.forget(arrival)
            rest = self.tpool.submit(self.send_rest, conn, sent[done:], keep)
            rest.add_done_callback(lambda sending: self.method_queue.defer(self.after_loop, conn, sending.result()))
        else:
            self.after_loop(conn, keep, arrival)
        return True

    def send_rest(self, conn: TConn, data: bytes, keep: bool) -> bool:
        """In a request thread: the rest of an answer made in the event loop; whether to keep the
        connection."""
        try:
            conn.sock.setblocking(True)
            conn.sock.sendall(data)
        except OSError:
            return False
        return keep

    def after_loop(self, conn: TConn, keep: bool, answered: _Arrival | None = None) -> None:
        """An answer made in the event loop has gone: the connection waits for its next request, for
        gthread's keep-alive time (`--keepalive`; a moment only if the worker is stopping, as
        `murder_pending` sees to), or is closed. It waits as an arrival, read in the event loop as
        soon as its bytes come, rather than on gthread's keep-alive list, whose wake-up would hand it
        to `arrive` only to wait for the same bytes again (a second wake-up and two more poller
        changes a request). `answered`: the request just answered, if its connection is still
        registered with the poller: it stays so, for the next request (no system call)."""
        if not keep:
            if answered is not None:
                self.forget(answered)
            self.nr_conns -= 1
            conn.close(graceful=True)
            return
        registered = answered if answered is not None and answered.registered else None
        self.arrive(conn, b"", idle_for=self.cfg.keepalive, after=registered)

    def refuse(self, arrival: _Arrival, status: int, reason: str, code: str, message: str) -> bool:
        """Answer a request that will not be served with our JSON error, and close its connection."""
        self.forget(arrival)
        with contextlib.suppress(OSError):
            arrival.conn.sock.send(error_bytes(status, reason, code, message))
        method, path = arrival.request_line()
        elapsed = (time.monotonic() - arrival.started) * 1000
        log.info('%s "%s %s" %s %.1fms', arrival.conn.client[0], method, path, status, elapsed)
        self.nr_conns -= 1
        self.linger(arrival.conn.sock)
        return True

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """gunicorn's own answers to what its parser refuses, in our JSON error shape."""
        status = _Status(client)
        super().handle_error(req, status, addr, exc)
        if status.line is None:
            return
        code, _, reason = status.line.partition(" ")
        message = str(exc) if int(code) < 500 else "the server failed to answer; the error has been logged"
        error = reason.lower().replace(" ", "_")
        with contextlib.suppress(OSError):
            client.sendall(error_bytes(int(code), reason, error, message or reason))

    def forget(self, arrival: _Arrival) -> None:
        self.arriving.discard(arrival)
        if arrival.registered:
            arrival.registered = False
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(arrival.conn.sock)

    # -- closing ----------------------------------------------------------------------------------

    def linger(self, sock: socket.socket) -> None:
        """Close after our last byte, taking what the client still sends, in the event loop."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
            self.poller.register(sock, selectors.EVENT_READ, self.drain)
        except (OSError, ValueError, KeyError):
            with contextlib.suppress(OSError):
                sock.close()
            return
        self.lingering[sock] = (time.monotonic() + LINGER_SECONDS, [0])

    def drain(self, sock: socket.socket) -> None:
        data = _recv(sock)
        if data is None:
            return
        drained = self.lingering[sock][1]
        drained[0] += len(data)
        if not data or drained[0] > LINGER_BYTES:
            self.end_linger(sock)

    def end_linger(self, sock: socket.socket) -> None:
        self.lingering.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(sock)
        with contextlib.suppress(OSError):
            sock.close()


def _recv(sock: socket.socket) -> bytes | None:
    """What a readable socket has: None if it had nothing after all, b"" if the peer is gone."""
    try:
        return sock.recv(_READ)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""
