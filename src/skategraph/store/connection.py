"""How skategraph reaches a remote store (issue 15): its address, HTTP to it, and the control graph.

Address: `oxigraph+http://HOST:PORT[/prefix]` (query `/query`, update `/update`, Graph Store `/store`)
or `virtuoso+http://HOST:PORT[/prefix]` (query `/sparql`, update `/sparql-auth`, Graph Store
`/sparql-graph-crud-auth`, both with HTTP digest auth); `+https` too; `?max-rows=N` says the cap the
server puts on every result (Virtuoso's `ResultSetMaxRows`; 10,000 by default, Debian's). Credentials
come only from the environment (`SKATEGRAPH_REMOTE_USER`, `SKATEGRAPH_REMOTE_PASSWORD` or
`SKATEGRAPH_REMOTE_PASSWORD_FILE`) and never appear in a message, a log line or a repr.

The control graph (`CONTROL`, ours, never part of the dataset) holds the build id and manifest of the
dataset in place, the staging graphs a build is filling, and the journal of a switch under way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyoxigraph as ox
import requests
from requests.auth import HTTPDigestAuth

from skategraph.errors import QueryError, QueryTimeout, SkategraphError, StoreUnavailable

T = TypeVar("T")

USER_ENV = "SKATEGRAPH_REMOTE_USER"
PASSWORD_ENV = "SKATEGRAPH_REMOTE_PASSWORD"
PASSWORD_FILE_ENV = "SKATEGRAPH_REMOTE_PASSWORD_FILE"

# Our own graphs on the server, never part of the dataset.
OURS = "urn:x-skategraph:"
CONTROL = OURS + "control"
EMPTY = OURS + "empty"  # a graph that is never written: the dataset's (empty) default graph
BUILD = OURS + "build"
MANIFEST = OURS + "manifest"
SWITCHING = OURS + "switching"
STAGED = OURS + "staged"
STAGING = OURS + "staging:"
LOCK = OURS + "lock"  # the build putting a dataset in place now, and until when its lease holds

# Debian's Virtuoso caps every result at 10,000 rows; Oxigraph's server has no cap.
VIRTUOSO_MAX_ROWS = 10_000
CONNECT_TIMEOUT = 5.0  # seconds to connect, at most (less when the query's own limit is nearer)
WRITE_PATIENCE = 60.0  # seconds a build's write is tried again while the server times it out (Client.write)
WRITE_TIMEOUT = 600.0  # a build's uploads and updates: no query limit applies, but a dead server must not hang it
CANCELLED = b"The SPARQL operation has been cancelled"  # Oxigraph's server, inside a 200 body, at its time limit

_KINDS = {
    "oxigraph": ("/query", "/update", "/store"),
    "virtuoso": ("/sparql", "/sparql-auth", "/sparql-graph-crud-auth"),
}
# Virtuoso refusing a query before it runs, on its own estimate of the time it would take
_ESTIMATE = re.compile(r"estimated execution time (\d+) \(sec\) exceeds the limit of (\d+) \(sec\)")
_SCHEME = re.compile(r"^(?P<kind>[a-z][a-z0-9]*)\+(?P<scheme>https?)://", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class Remote:
    """Where a remote store is and how to reach it; `name` (its str and repr) never holds credentials."""

    kind: str  # oxigraph, virtuoso
    base: str  # scheme://host:port/prefix, no trailing slash
    max_rows: int | None  # the cap the server puts on every result, if any
    user: str | None = field(default=None, repr=False, compare=False)
    password: str | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.kind}+{self.base}"

    @property
    def query_url(self) -> str:
        return self.base + _KINDS[self.kind][0]

    @property
    def update_url(self) -> str:
        return self.base + _KINDS[self.kind][1]

    @property
    def store_url(self) -> str:
        return self.base + _KINDS[self.kind][2]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Remote({self.name!r})"


def parse_remote(text: str, environ: Mapping[str, str] | None = None) -> Remote | None:
    """The remote store `text` names, or None when it is not a remote address (a directory path).

    A URL of a scheme we do not know, or one with credentials in it, is refused: credentials go in
    the environment, never on a command line (where `ps` and shell history show them) or in logs.
    """
    environ = os.environ if environ is None else environ
    found = _SCHEME.match(text)
    if found is None or found.group("kind").lower() not in _KINDS:
        if _URL.match(text):
            raise SkategraphError(
                f"{_without_credentials(text)} is not a store address: give a directory, or "
                "oxigraph+http://HOST:PORT or virtuoso+http://HOST:PORT (also +https)"
            )
        return None
    kind, scheme = found.group("kind").lower(), found.group("scheme").lower()
    url = urllib.parse.urlsplit(scheme + text[found.end("scheme") :])
    if url.username is not None or url.password is not None or "@" in url.netloc:
        raise SkategraphError(
            f"the store address {_without_credentials(text)} has credentials in it: give them in the "
            f"environment instead ({USER_ENV}, and {PASSWORD_ENV} or {PASSWORD_FILE_ENV})"
        )
    if not url.hostname:
        raise SkategraphError(f"the store address {text} names no host")
    try:
        port = url.port
    except ValueError:
        raise SkategraphError(f"the store address {text} has a port that is not a number") from None
    max_rows: int | None = VIRTUOSO_MAX_ROWS if kind == "virtuoso" else None
    for key, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
        if key == "max-rows" and value.isdigit() and int(value) > 0:
            max_rows = int(value)
        else:
            raise SkategraphError(f"the store address {text} has an option it does not take: {key}={value}")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    base = f"{scheme}://{host}{f':{port}' if port else ''}{url.path.rstrip('/')}"
    user, password = _credentials(environ)
    return Remote(kind, base, max_rows, user, password)


def _without_credentials(text: str) -> str:
    return re.sub(r"(://)[^/@]*@", r"\1", text)


def _credentials(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    user = environ.get(USER_ENV) or None
    password = environ.get(PASSWORD_ENV) or None
    path = environ.get(PASSWORD_FILE_ENV)
    if password is None and path:
        try:
            with open(path, encoding="utf-8") as file:
                password = file.read().rstrip("\r\n")
        except OSError as error:
            raise SkategraphError(f"{PASSWORD_FILE_ENV} names a file that cannot be read: {error.strerror}") from None
    if password is not None and user is None:
        raise SkategraphError(f"a password for the remote store is given but no user: set {USER_ENV}")
    return user, password


class Client:
    """HTTP to one remote store: a `requests.Session` a thread (sessions are not thread-safe), digest
    auth where credentials are given, and every failure as one of our errors naming the server."""

    def __init__(self, remote: Remote) -> None:
        self.remote = remote
        self._local = threading.local()

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            if self.remote.user is not None:
                session.auth = HTTPDigestAuth(self.remote.user, self.remote.password or "")
            session.headers["User-Agent"] = "skategraph (remote store)"
            self._local.session = session
        return session

    def request(
        self,
        method: str,
        url: str,
        *,
        deadline: float | None = None,
        limit: float | None = None,
        **kwargs: Any,
    ) -> tuple[requests.Response, bytes]:
        """The response and its whole body, read by `deadline` (time.monotonic(); None: the write
        timeout). Reaching it is a QueryTimeout naming `limit`, a query's time limit; with no `limit`
        (a read of ours, such as the control graph's) it is the server not answering, a
        StoreUnavailable, as is the server unreachable."""
        start = time.monotonic()
        end = deadline if deadline is not None else start + WRITE_TIMEOUT
        remaining = end - start
        if remaining <= 0:
            raise self._late(limit, end - start)
        cut = threading.Event()
        try:
            response = self.session().request(
                method, url, timeout=(min(CONNECT_TIMEOUT, remaining), remaining), stream=True, **kwargs
            )
            # The body by `end` however the server sends it: a read waits for a whole chunk, so a
            # server trickling bytes would hold it past any per-read timeout (measured: 20 s for a
            # limit of 1 s); at `end` the connection is shut, which ends the read.
            timer = threading.Timer(max(0.0, end - time.monotonic()), _shut, (response, cut))
            timer.start()
            try:
                with response:
                    chunks = []
                    for chunk in response.iter_content(64 * 1024):
                        chunks.append(chunk)
                        if time.monotonic() > end:
                            raise self._late(limit, end - start)
                    if cut.is_set():
                        raise self._late(limit, end - start)
                    return response, b"".join(chunks)
            finally:
                timer.cancel()
        except requests.ConnectTimeout:
            raise StoreUnavailable(f"the remote store {self.remote} did not accept a connection in time") from None
        except requests.RequestException as error:
            if cut.is_set() or isinstance(error, requests.Timeout):  # our deadline, or a read timeout within it
                raise self._late(limit, end - start) from None
            reason = type(error).__name__ if isinstance(error, requests.ConnectionError) else str(error)
            raise StoreUnavailable(f"the remote store {self.remote} cannot be reached ({reason})") from None

    def _late(self, limit: float | None, waited: float) -> SkategraphError:
        """The error for an answer not had in time: a query's (`limit`) is a QueryTimeout; a read of
        ours, or a write, the server not answering."""
        if limit is not None:
            return self.timeout(limit)
        return StoreUnavailable(f"the remote store {self.remote} did not answer within {waited:.0f} s")

    def timeout(self, limit: float | None) -> QueryTimeout:
        after = f" of {limit:g} s" if limit is not None else ""
        return QueryTimeout(f"the query ran past its time limit{after} on the remote store {self.remote}: stopped")

    def update(self, text: str, *, again: bool = True) -> None:
        """Run a SPARQL update (a build's; never a client's: those are not for a remote store yet);
        `again`: tried again while the server times it out (`write`)."""
        self.write("an update", "POST", self.remote.update_url, again=again, data={"update": text},
                   headers={"Accept": "*/*"})  # fmt: skip

    def write(self, what: str, method: str, url: str, *, again: bool = True, **kwargs: Any) -> None:
        """A build's write (an update, a Graph Store upload), tried again while the server times it out.

        Virtuoso times a write out (SR171) while a reader's query holds what it writes, and goes on
        running a query we have stopped waiting for until its own limit: measured, a build right after
        a client's runaway query failed. Each of a build's writes is one operation, applied whole or
        not at all, and means the same done twice (INSERT DATA, a conditional DELETE/INSERT, DROP, a
        PUT), so it is tried again for WRITE_PATIENCE seconds before the timeout is the build's error.
        Not a MOVE (`again=False`): a MOVE of a graph already moved empties its target, so a switch
        counts its graphs before it moves again (`skategraph.store.switch.roll_forward`).
        """

        def attempt() -> None:
            response, body = self.request(method, url, **kwargs)
            self.check(response, body, what)

        if again:
            patiently(attempt)
        else:
            attempt()

    def check(self, response: requests.Response, body: bytes, what: str) -> None:
        """Raise the error a non-2xx answer means."""
        if response.status_code < 300:
            return
        message = body[:500].decode("utf-8", "replace").strip()
        estimate = _ESTIMATE.search(message)
        if estimate is not None:
            raise QueryTimeout(
                f"the remote store {self.remote} did not run {what}: it estimated {estimate[1]} s, past its limit of "
                f"{estimate[2]} s (Virtuoso's [SPARQL] MaxQueryCostEstimationTime: raise it, or ask for less)"
            )
        if CANCELLED in body or "S1T00" in message or "SR171" in message:
            raise QueryTimeout(f"{what} ran past the time limit of the remote store {self.remote} and was stopped")
        if response.status_code in (401, 403):
            raise StoreUnavailable(
                f"the remote store {self.remote} refused {what} ({response.status_code}): check {USER_ENV} and "
                f"{PASSWORD_ENV} (or {PASSWORD_FILE_ENV}), and that the user may update"
            )
        if response.status_code == 400 or re.match(r"Virtuoso \w+ Error SP\d+", message):
            raise QueryError(f"the remote store {self.remote} refused {what}: {message}")
        raise StoreUnavailable(f"the remote store {self.remote} failed {what} ({response.status_code}): {message}")


def patiently(attempt: Callable[[], T], errors: tuple[type[Exception], ...] = (QueryTimeout,)) -> T:
    """`attempt()`, tried again after a growing pause while it raises one of `errors`, for
    WRITE_PATIENCE seconds; then its error."""
    give_up, pause = time.monotonic() + WRITE_PATIENCE, 0.5
    while True:
        try:
            return attempt()
        except errors:
            if time.monotonic() + pause > give_up:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 8.0)


def _shut(response: requests.Response, cut: threading.Event) -> None:
    """Shut the connection `response` is read from (from another thread: a blocked read then ends)."""
    cut.set()
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class Control:
    """What the control graph says: the build in place, its manifest, a switch journaled, staging
    graphs, and the locks of builds under way (`skategraph.store.switch`)."""

    build_id: str | None
    manifest: dict[str, Any] | None
    switching: dict[str, Any] | None
    staged: tuple[str, ...]
    locks: tuple[str, ...] = ()


def read_control(client: Client, deadline: float | None = None) -> Control:
    response, body = client.request(
        "POST", client.remote.query_url,
        data={"query": f"SELECT ?p ?o WHERE {{ GRAPH <{CONTROL}> {{ <{CONTROL}> ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+xml"}, deadline=deadline,
    )  # fmt: skip
    client.check(response, body, "a read of the control graph")
    values: dict[str, list[str]] = {}
    for row in solutions(body, client.remote):
        p, o = row[0], row[1]
        if p is not None and o is not None:
            values.setdefault(p.value, []).append(o.value)

    def one(key: str) -> str | None:
        return values[key][0] if key in values else None

    manifest, switching = one(MANIFEST), one(SWITCHING)
    return Control(
        one(BUILD),
        json.loads(manifest) if manifest else None,
        json.loads(switching) if switching else None,
        tuple(sorted(values.get(STAGED, []))),
        tuple(sorted(values.get(LOCK, []))),
    )


def solutions(body: bytes, remote: Remote) -> ox.QuerySolutions:
    """SPARQL XML results, Virtuoso's blank nodes (`nodeID://b123`, which no parser takes) renamed."""
    if remote.kind == "virtuoso":
        body = re.sub(rb"<bnode>nodeID://", b"<bnode>", body)
    results = ox.parse_query_results(body, ox.QueryResultsFormat.XML)
    assert isinstance(results, ox.QuerySolutions)
    return results
