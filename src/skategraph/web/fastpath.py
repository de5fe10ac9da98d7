"""Protocol queries by GET, answered without Flask: the endpoint's hot path.

A `GET /sparql?query=...` is how most SPARQL clients send a short query. Measured on one, about three
quarters of the web process's time per request went to Flask's machinery around the view (request
context, dispatch, hooks, CORS, response object), not to the query (issue 14). This WSGI layer answers
such a request itself, with the very functions the Flask view uses (`protocol.query_job`,
`protocol.answer`), adds what the app's hooks add (CORS headers, nosniff, the request's one log line),
and hands everything else to Flask as it came: other paths and methods, a parameter it does not know,
and every error, which the view raises again from the environ (`protocol.FAILED`) so that it is
rendered, logged and given its headers in one place. `tests/test_fastpath.py` keeps the two paths'
answers identical.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from skategraph.web import negotiate, protocol
from skategraph.web.service import Service

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("skategraph.web")

# Headers a script on another origin may read from our answers.
EXPOSED = ["ETag", "Link", "X-Skategraph-Truncated", "X-Skategraph-Row-Limit", "X-Skategraph-Build"]
# What the app's hooks add to a query answer: CORS (reads are open to any origin) and nosniff.
ADDED = [
    ("X-Content-Type-Options", "nosniff"),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", ", ".join(sorted(EXPOSED))),
]
# The parameters of a protocol query; a request with any other goes to Flask.
PARAMETERS = frozenset({"query", "default-graph-uri", "named-graph-uri", "timeout", *negotiate.FORMAT_PARAMETERS})


class FastPath:
    def __init__(self, app: WSGIApplication, service: Service) -> None:
        self.app = app
        self.service = service

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/sparql" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        started = time.monotonic()
        req = Request(environ, populate_request=False)
        params = req.args
        if len(params.getlist("query")) != 1 or not PARAMETERS.issuperset(params.keys()):
            return self.app(environ, start_response)
        try:
            base_iri, limits_url = protocol.urls(req)
            job, limit = protocol.query_job(
                self.service, params["query"], params, req.accept_mimetypes, base_iri, limits_url
            )
            found = protocol.answer(self.service, job, limit, req.method, req.if_none_match.contains)
        except Exception as error:  # ours (a 4xx, a 503) or not (a 500): Flask renders and logs it
            environ[protocol.FAILED] = error
            return self.app(environ, start_response)
        start_response(f"{found.status} {HTTP_STATUS_CODES[found.status].upper()}", [*found.headers, *ADDED])
        return _Logged(found.body, req, found.status, started)


class _Logged:
    """A WSGI body that writes the request's log line once the server has sent it (and closed it)."""

    def __init__(self, body: Iterable[bytes], req: Request, status: int, started: float) -> None:
        self.body = body
        self.line = (req.remote_addr, req.method, req.full_path.rstrip("?"), status, started)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        remote, method, path, status, started = self.line
        cut = self.body.cut if isinstance(self.body, protocol.Stream) else None
        log_request(remote, method, path, status, started, cut)


def log_request(remote: str | None, method: str, path: str, status: int, started: float, cut: str | None) -> None:
    """A request's one log line; a streamed answer cut after its status line went is a warning."""
    if len(path) > 200:
        path = path[:197] + "..."
    elapsed = (time.monotonic() - started) * 1000
    if cut is not None:  # the status line said 200, but the answer ended as a dropped connection
        log.warning('%s "%s %s" cut after %.1fms, incomplete: %s', remote, method, path, elapsed, cut)
    else:
        log.info('%s "%s %s" %s %.1fms', remote, method, path, status, elapsed)
