"""`/sparql`: the SPARQL 1.1 Protocol (query and update operations, and the service description).

    GET  ?query=...                          a query
    GET  (no query)                          the service description
    POST application/x-www-form-urlencoded   query= or update= (multipart/form-data too)
    POST application/sparql-query            the query is the body
    POST application/sparql-update           the update is the body

`default-graph-uri` / `named-graph-uri` (queries) and `using-graph-uri` / `using-named-graph-uri`
(updates) name the dataset, and override the request's own FROM / USING. `format=` overrides Accept;
`timeout=` asks for a shorter time limit than the server's.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator

from flask import Blueprint, Response, request
from werkzeug.datastructures import MIMEAccept, MultiDict
from werkzeug.http import quote_etag
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Request as BaseRequest

from skategraph.engine.jobs import ChangeJob, QueryJob
from skategraph.errors import QueryError, QueryTimeout, StreamAborted, UnsupportedMediaType
from skategraph.graph.ids import absolute_iri
from skategraph.sparql.text import add_using
from skategraph.web import description, negotiate
from skategraph.web.cache import origin
from skategraph.web.service import Service, get_service

blueprint = Blueprint("protocol", __name__)

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
UTF8 = ("utf-8", "utf8")  # the charsets a query or update body may name


# environ key: the error `fastpath` met answering this request, for this view to raise, so that
# every error is rendered, logged and given its CORS headers in one place
FAILED = "skategraph.failed"


@blueprint.route("/sparql", methods=["GET", "HEAD", "POST"])
def sparql() -> Response:
    failed = request.environ.pop(FAILED, None)
    if failed is not None:
        raise failed
    if request.method in ("GET", "HEAD"):
        if "update" in request.args:
            raise QueryError("a SPARQL update must be sent with POST, never with GET")
        queries = request.args.getlist("query")
        if not queries:
            get_service().limit(request.args.get("timeout"))  # nothing to limit, but a wrong value is still wrong
            return description.respond()
        return run_query(_one(queries, "query"), request.args)
    if request.mimetype in FORMS:
        params = MultiDict([*request.args.items(multi=True), *request.form.items(multi=True)])
        queries, updates = params.getlist("query"), params.getlist("update")
        if queries and updates:
            raise QueryError("a request carries either a query or an update, not both")
        if queries:
            return run_query(_one(queries, "query"), params)
        if updates:
            return run_update(_one(updates, "update"), params)
        raise QueryError("the form has no 'query' or 'update' parameter")
    if request.mimetype == "application/sparql-query":
        return run_query(_body(), request.args)
    if request.mimetype == "application/sparql-update":
        return run_update(_body(), request.args)
    raise UnsupportedMediaType(
        f"POST a query as application/sparql-query, an update as application/sparql-update, or either as "
        f"a form (application/x-www-form-urlencoded); got {request.mimetype or 'no Content-Type'}"
    )


def _one(values: list[str], name: str) -> str:
    if len(values) > 1:
        raise QueryError(f"the request has {len(values)} '{name}' parameters; send exactly one")
    return values[0]


def _body() -> str:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in UTF8:
        raise UnsupportedMediaType(f"the body must be UTF-8, not {charset}")
    try:
        return request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError as error:
        raise QueryError(f"the body is not UTF-8 text: {error}") from None


def iris(values: list[str], name: str) -> tuple[str, ...]:
    for value in values:
        if absolute_iri(value) is None:
            raise QueryError(f"{name} must be an absolute IRI, not {value!r}")
    return tuple(values)


def run_query(text: str, params: MultiDict[str, str]) -> Response:
    base_iri, limits_url = urls(request)
    job, limit = query_job(get_service(), text, params, request.accept_mimetypes, base_iri, limits_url)
    return respond(job, limit)


def query_job(
    svc: Service, text: str, params: MultiDict[str, str], accept: MIMEAccept, base_iri: str, limits_url: str
) -> tuple[QueryJob, float]:
    """The job and time limit of a protocol query request: its text, parameters and Accept header."""
    results_format, graph_format = negotiate.choose(negotiate.format_parameter(params), accept)
    defaults = iris(params.getlist("default-graph-uri"), "default-graph-uri")
    named = iris(params.getlist("named-graph-uri"), "named-graph-uri")
    dataset_given = bool(defaults or named)
    limit = svc.limit(params.get("timeout"))
    job = svc.job(
        text,
        results_format=results_format,
        graph_format=graph_format,
        default_graphs=defaults if dataset_given else None,
        named_graphs=named if dataset_given else None,
        row_limit=svc.settings.row_limit,
        truncated_links=(limits_url,),
        base_iri=base_iri,
        graph_as_rows=True,
    )
    return job, limit


# What werkzeug works out of the environ for each request's base IRI and limits link, remembered by
# everything it works them out from (8% of a small query's time in the web process).
_URLS: dict[tuple[str, ...], tuple[str, str]] = {}


def urls(req: BaseRequest) -> tuple[str, str]:
    """The request's URL without its query string (a query's base IRI), and the /limits URL."""
    key = (*origin(req.environ), req.environ.get("PATH_INFO", ""))
    found = _URLS.get(key)
    if found is None:
        if len(_URLS) >= 256:
            _URLS.clear()
        found = _URLS[key] = (req.base_url, req.root_url + "limits")
    return found


@dataclasses.dataclass
class Answer:
    """A query's HTTP answer, before any framework sees it: what `respond` gives Flask and the fast
    path (`fastpath`) gives the WSGI server, so that both send the same bytes and headers."""

    status: int
    headers: list[tuple[str, str]]
    body: Iterable[bytes]  # bytes chunks, or a Stream


def respond(job: QueryJob, limit: float, rel: str = "describedby") -> Response:
    """Answer a query job: 304 if the client has it, else the result as it streams from the worker."""
    found = answer(get_service(), job, limit, request.method, request.if_none_match.contains, rel)
    return Response(found.body, status=found.status, headers=found.headers)


def answer(
    svc: Service, job: QueryJob, limit: float, method: str, client_has: Callable[[str], bool], rel: str = "describedby"
) -> Answer:
    """The answer to a query job: 304 if the client has it (`client_has` an ETag), else the result as
    it streams from the worker.

    A SELECT result cut at the job's row limit says so, and links to `job.truncated_links[0]` as `rel`:
    the limits (`describedby`) for /sparql, the next page (`next`) for a saved query.
    """
    cacheable = method in ("GET", "HEAD")
    etag = _etag(job)
    if cacheable and client_has(etag):
        return Answer(304, _cache_headers(svc, etag, cacheable), [])
    reply = svc.query(job, limit)
    if reply.generation != job.generation:  # it had been removed: the current one answered
        job = dataclasses.replace(job, generation=reply.generation)
        etag = _etag(job)
    headers = [("Content-Type", get_content_type(reply.media_type, "utf-8"))]
    complete, rest = _read_ahead(reply.body)
    body: Iterable[bytes]
    if complete is not None:
        headers.append(("Content-Length", str(len(complete))))
        body = [complete] if method != "HEAD" else []
    elif method == "HEAD":
        # Finish the work so the worker is free again, and say how long the answer would have been.
        headers.append(("Content-Length", str(sum(len(chunk) for chunk in rest))))
        body = []
    else:
        body = Stream(rest)
    headers += _cache_headers(svc, etag, cacheable)
    headers.append(("X-Skategraph-Build", os.path.basename(job.generation)))
    if reply.form == "select" and job.row_limit:
        headers.append(("X-Skategraph-Row-Limit", str(job.row_limit)))
        if reply.truncated:
            headers.append(("X-Skategraph-Truncated", "true"))
            headers.append(("Link", f'<{job.truncated_links[0]}>; rel="{rel}"'))
    return Answer(200, headers, body)


class Stream:
    """A streamed answer's body, which may be cut (its time limit, its worker's failure) after the
    status line has gone. Such an answer must end as a dropped connection, never as if complete; and
    both WSGI servers we run under (gunicorn, and werkzeug in tests) drop a connection quietly when
    writing to it fails with EPIPE, where any other exception gets a traceback in the log. So that is
    what a cut raises, having kept why in `cut` for the request's one log line (`app`)."""

    def __init__(self, body: Iterator[bytes]) -> None:
        self.body = body
        self.cut: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body
        except StreamAborted as error:
            self.cut = str(error)
            raise BrokenPipeError(errno.EPIPE, f"the answer was cut: {error}") from None


READ_AHEAD = 256 * 1024


def _read_ahead(body: Iterator[bytes]) -> tuple[bytes | None, Iterator[bytes]]:
    """Read a result up to READ_AHEAD bytes: a result that fits is sent whole, with a Content-Length
    (a small answer needs no chunked encoding, and waitress, our first server, closed the connection
    after every chunked response); a longer one streams.
    A time limit reached while reading ahead is still a clean 503, since nothing has been sent."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in body:
            chunks.append(chunk)
            size += len(chunk)
            if size > READ_AHEAD:
                return None, itertools.chain(chunks, body)
    except StreamAborted as error:
        raise QueryTimeout(str(error)) from None
    return b"".join(chunks), iter(())


@functools.lru_cache(maxsize=1024)  # a job is frozen: the same request sent again has the same one
def _etag(job: QueryJob) -> str:
    """Same store generation, same request, same representation: same ETag."""
    key = repr((job.query, job.results_format, job.graph_format, job.default_graphs, job.named_graphs,
                job.row_limit, job.substitutions, job.base_iri, job.offset, job.hidden, job.graph_as_rows))  # fmt: skip
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return f"{os.path.basename(job.generation)}-{digest}"


def _cache_headers(svc: Service, etag: str, cacheable: bool) -> list[tuple[str, str]]:
    headers = [("Vary", "Accept")]
    if cacheable:
        headers.append(("ETag", quote_etag(etag)))
        headers.append(("Cache-Control", f"public, max-age={svc.settings.cache_max_age}"))
    else:
        headers.append(("Cache-Control", "no-store"))
    return headers


def run_update(text: str, params: MultiDict[str, str]) -> Response:
    svc = get_service()
    svc.authorise(request.headers.get("Authorization"))
    using = iris(params.getlist("using-graph-uri"), "using-graph-uri")
    using_named = iris(params.getlist("using-named-graph-uri"), "using-named-graph-uri")
    if using or using_named:
        text = add_using(text, using, using_named)
    outcome = svc.change(
        ChangeJob("", "", "update", text=text, base_iri=request.base_url), svc.limit(params.get("timeout"))
    )
    response = Response(status=204)
    response.headers["X-Skategraph-Build"] = outcome.get("build_id", "")
    return response
