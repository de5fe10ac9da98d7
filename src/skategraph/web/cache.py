"""A response cache in front of the app, for repeated GET queries and linked-data pages.

The key is the store generation plus everything in the request that can change the answer: path and
query string, Accept, Origin (CORS headers depend on it), and the scheme, Host and script root the
answer's own links are built from (a forged `Host` must never reach another client). A rebuild or an update makes a new
generation, so an entry can never be stale; old generations' entries just age out. Only complete
200 answers that carry a Content-Length are kept (streamed results are never held in memory), within
a byte budget, least recently used first out. A hit skips Flask and the worker pool entirely, which
is most of a small query's cost. Requests with If-None-Match go through the app, which answers 304.
Pages (a resource's HTML, Turtle, JSON-LD...) are answers of one generation as much as query results
are, and the busiest of them cost the most to make (issue 14: hundreds of ms on a 400-season store).
A miss is made once: requests for an answer being made meanwhile wait for it (up to `wait` seconds,
the server's time limit) rather than each making it again (four clients' first requests for one page
cost four evaluations side by side); should it not be kept (not a 200, streamed), each goes on alone.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from skategraph.errors import HandedOn, SkategraphError
from skategraph.web.inloop import IN_LOOP

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("skategraph.web")
QUERY_PATHS = ("/sparql", "/queries/")  # prefixes: kept when the request names a query (a query string)
PAGE_PATHS = ("/id/", "/graph/", "/ontology", "/.well-known/void")  # prefixes: the linked data, always
Entry = tuple[str, list[tuple[str, str]], bytes]


class ResponseCache:
    def __init__(self, app: WSGIApplication, current: Callable[[], str], max_bytes: int, wait: float = 30.0) -> None:
        """`current` names the store's generation in place (it raises StoreNotFound if there is none)."""
        self.app = app
        self.current = current
        self.max_bytes = max_bytes
        self.wait = wait
        self.making: dict[tuple[str, ...], threading.Event] = {}  # answers being made, set when done
        self.entries: collections.OrderedDict[tuple[str, ...], Entry] = collections.OrderedDict()
        self.size = 0
        self.hits = 0
        self.lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        kept = path.startswith(PAGE_PATHS) or (path.startswith(QUERY_PATHS) and environ.get("QUERY_STRING"))
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_IF_NONE_MATCH" in environ or not kept:
            return self.app(environ, start_response)
        try:
            generation = self.current()
        except SkategraphError:  # no store, or a remote one out of reach: the app says so
            return self.app(environ, start_response)
        key = (generation, environ["PATH_INFO"], environ.get("QUERY_STRING", ""),
               environ.get("HTTP_ACCEPT", ""), environ.get("HTTP_ORIGIN", ""), *origin(environ))  # fmt: skip
        hit, making, leads = self._look(key)
        if making is not None and not leads:  # another request is making it: wait, then look again
            if IN_LOOP in environ:
                raise HandedOn("another request is making this answer")  # the event loop never waits
            making.wait(self.wait)
            hit, making, leads = self._look(key, follow=False)
        if hit is not None:
            status, headers, body = hit
            start_response(status, headers)
            query = environ.get("QUERY_STRING", "")
            shown = f"{path}?{_short(query)}" if query else path
            log.info('%s "GET %s" %s (cached)', environ.get("REMOTE_ADDR"), shown, status.split()[0])
            return [body]
        try:
            return self._fill(key, environ, start_response)
        finally:
            if leads and making is not None:
                with self.lock:
                    if self.making.get(key) is making:
                        del self.making[key]
                making.set()

    def _look(self, key: tuple[str, ...], follow: bool = True) -> tuple[Entry | None, threading.Event | None, bool]:
        """The entry for `key` if kept; else the event set when its answer is made, and whether this
        request is the one to make it (it is, unless another is making it and `follow` is on)."""
        with self.lock:
            making = self.making.get(key)
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
                self.hits += 1
                return hit, None, False
            if follow and making is not None:
                return None, making, False
            mine = threading.Event()
            self.making.setdefault(key, mine)
            return None, mine, True

    def _fill(self, key: tuple[str, ...], environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        headers = dict((name.lower(), value) for name, value in seen.get("headers", []))
        length = headers.get("content-length")
        if not seen.get("status", "").startswith("200") or length is None or int(length) > self.max_bytes // 8:
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self._store(key, (seen["status"], list(seen["headers"]), body))
        return [body]

    def _store(self, key: tuple[str, ...], entry: Entry) -> None:
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = entry
            self.size += len(entry[2])
            while self.size > self.max_bytes and self.entries:
                _key, (_s, _h, old) = self.entries.popitem(last=False)
                self.size -= len(old)


def origin(environ: WSGIEnvironment) -> tuple[str, ...]:
    """What the app's own URLs (`url_for(_external=True)`, request.base_url) are built from."""
    return (environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""), environ.get("SERVER_NAME", ""),
            environ.get("SERVER_PORT", ""), environ.get("SCRIPT_NAME", ""))  # fmt: skip


def _short(text: str) -> str:
    return text if len(text) <= 190 else text[:187] + "..."
