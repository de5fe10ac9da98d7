"""Protocol queries answered without Flask: the endpoint's hot path.

`GET /sparql?query=...` is how most SPARQL clients send a short query, and a form or a
`application/sparql-query` body by POST how the rest do (YASGUI, Comunica for long ones). Measured on
the smallest, about half of the web process's time per request went to Flask's machinery around the
view (request context, dispatch, hooks, CORS, the response object), not to the query (issue 14). This
WSGI layer answers such a request itself, with the very functions the Flask view uses
(`protocol.query_job`, `protocol.answer`), adds what the app's hooks add (CORS headers, nosniff, the
request's one log line), and hands everything else to Flask as it came: other paths and methods,
multipart forms, updates, a parameter it does not know, a body too large or not UTF-8, and every
error, which the view raises again from the environ (`protocol.FAILED`) so that it is rendered,
logged and given its headers in one place. `tests/test_fastpath.py` keeps both paths' answers equal.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header
from werkzeug.wrappers import Request

from skategraph.engine.jobs import QueryJob
from skategraph.errors import HandedOn
from skategraph.web import negotiate, protocol
from skategraph.web.body import TOO_LARGE
from skategraph.web.cache import origin
from skategraph.web.inloop import IN_LOOP
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


FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"


class FastPath:
    """Below `BoundedBody` (a body it sees has a known length, or was marked too large) and above Flask."""

    def __init__(self, app: WSGIApplication, service: Service) -> None:
        self.app = app
        self.service = service
        self.max_body = service.settings.max_body
        self._plans: dict[tuple[str, ...], _Plan] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        in_loop = IN_LOOP in environ  # answer only what needs no wait and no Flask (`inloop`)
        if environ.get("PATH_INFO") != "/sparql":
            return self._flask(environ, start_response, in_loop)
        started = time.monotonic()
        method = environ.get("REQUEST_METHOD", "")
        key = _plan_key(environ) if method in ("GET", "HEAD") else None
        plan = self._plans.get(key) if key is not None else None
        req: Request | None = None  # werkzeug's view of the request: made only when it is read
        try:
            if plan is None:
                req = Request(environ, populate_request=False)
                if method in ("GET", "HEAD"):
                    found = self._query(req.args)
                elif method == "POST" and TOO_LARGE not in environ:
                    found = self._posted(req)
                else:
                    found = None
                if found is None:
                    return self._flask(environ, start_response, in_loop)
                text, params = found
                base_iri, limits_url = protocol.urls(req)
                job, limit = protocol.query_job(self.service, text, params, req.accept_mimetypes, base_iri, limits_url)
                shown = req.full_path.rstrip("?")
                if key is not None:
                    self._remember(key, _Plan(dataclasses.replace(job, generation=""), limit, shown))
            else:
                job = plan.on(str(self.service.generation()))
                limit, shown = plan.limit, plan.shown
            if in_loop and not self.service.answers_here(job):
                raise HandedOn("the query is for a worker")
            client_has = _nothing
            if "HTTP_IF_NONE_MATCH" in environ:
                client_has = (req or Request(environ, populate_request=False)).if_none_match.contains
            answer = protocol.answer(self.service, job, limit, method, client_has)
        except HandedOn:
            raise
        except Exception as error:  # ours (a 4xx, a 503) or not (a 500): Flask renders and logs it
            environ[protocol.FAILED] = error
            return self._flask(environ, start_response, in_loop)
        start_response(f"{answer.status} {HTTP_STATUS_CODES[answer.status].upper()}", [*answer.headers, *ADDED])
        return _Logged(answer.body, (environ.get("REMOTE_ADDR"), method, shown), answer.status, started)

    def _remember(self, key: tuple[str, ...], plan: _Plan) -> None:
        if len(self._plans) >= PLANS:
            self._plans.clear()
        self._plans[key] = plan

    def _flask(self, environ: WSGIEnvironment, start_response: StartResponse, in_loop: bool) -> Iterable[bytes]:
        if in_loop:
            raise HandedOn("Flask answers this request")
        return self.app(environ, start_response)

    @staticmethod
    def _query(params: MultiDict[str, str]) -> tuple[str, MultiDict[str, str]] | None:
        """The query text and parameters of a plain protocol query; None for anything else."""
        if len(params.getlist("query")) != 1 or not PARAMETERS.issuperset(params.keys()):
            return None
        return params["query"], params

    def _posted(self, req: Request) -> tuple[str, MultiDict[str, str]] | None:
        """A query POSTed as a form or as the body. The body is read here and put back, so that Flask
        reads it again whenever Flask is to answer instead."""
        environ = req.environ
        kind, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        kind = kind.lower()
        length = req.content_length
        if kind not in (FORM, QUERY) or length is None or length > self.max_body:
            return None  # Flask's: another kind of body, or one too large (413)
        data = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(data)
        if kind == QUERY:
            if options.get("charset", "utf-8").lower() not in protocol.UTF8 or "query" in req.args:
                return None
            try:
                return self._query(MultiDict([("query", data.decode("utf-8")), *req.args.items(multi=True)]))
            except UnicodeDecodeError:
                return None
        try:
            form = req.form  # with the limits werkzeug and Flask share by default
        except HTTPException:  # over them: Flask says so, the same way
            return None
        finally:
            environ["wsgi.input"] = io.BytesIO(data)
        if "update" in form:
            return None
        return self._query(MultiDict([*req.args.items(multi=True), *form.items(multi=True)]))


class _Plan:
    """What a GET query request comes to, but for the generation it runs on: its job, its time limit
    and the path its log line shows."""

    __slots__ = ("_made", "job", "limit", "shown")

    def __init__(self, job: QueryJob, limit: float, shown: str) -> None:
        self.job, self.limit, self.shown = job, limit, shown
        self._made = ("", job)

    def on(self, generation: str) -> QueryJob:
        """The job on `generation`, made once a generation (a dataclass's `replace` was a twentieth
        of a small query's time in the web process)."""
        made = self._made
        if made[0] != generation:
            made = self._made = (generation, dataclasses.replace(self.job, generation=generation))
        return made[1]


# GET query requests remembered by what they are made of (issue 14: reading the parameters and the
# Accept header and making the job was a third of the web process's time for a small query).
PLANS = 256


def _plan_key(environ: WSGIEnvironment) -> tuple[str, ...]:
    """Everything in a GET request that its job and log line are made from."""
    return (environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT", ""), *origin(environ))


def _nothing(etag: str) -> bool:
    return False


class _Logged:
    """A WSGI body that writes the request's log line once the server has sent it (and closed it)."""

    def __init__(self, body: Iterable[bytes], request: tuple[str | None, str, str], status: int, started: float):
        """`request`: the client's address, the method and the path shown."""
        self.body = body
        self.line = (*request, status, started)

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
