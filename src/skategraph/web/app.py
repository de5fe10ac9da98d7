"""The app factory: the Flask app with every area's blueprint, CORS, error rendering and logging.

`create_app(settings)` starts the app's worker pool; `app.extensions["skategraph"].close()` stops it.
Queries and changes run in the worker pool, never in the web process.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from skategraph.errors import SkategraphError
from skategraph.linking.reconcile import MAX_QUERY_CHARS, MAX_VALUES
from skategraph.web import front, graphstore, linkeddata, protocol, reconcile, saved
from skategraph.web.body import TOO_LARGE, BoundedBody
from skategraph.web.cache import ResponseCache
from skategraph.web.errors import body_too_large, render_error, render_unexpected
from skategraph.web.fastpath import EXPOSED, FastPath, log_request
from skategraph.web.service import Service, get_service
from skategraph.web.settings import Settings

log = logging.getLogger("skategraph.web")


def create_app(settings: Settings, *, service: Service | None = None) -> Flask:
    """The WSGI app. It starts its worker pool now; `app.extensions["skategraph"].close()` stops it."""
    app = Flask("skategraph")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["skategraph"] = service or Service(settings)
    # Reads are open to scripts on any origin; writes need an Authorization header, which a
    # cross-origin browser request may not send (it is not in allow_headers).
    CORS(
        app,
        resources={
            r"/sparql": {},
            r"/store.*": {},
            r"/queries.*": {},
            r"/openapi.json": {},
            r"/reconcile.*": {},
            r"/health": {},
            r"/limits": {},
            # The linked data, for Comunica and other clients in a browser that dereference our IRIs
            # or read the dump as a source (every IRI under the base: linkeddata.resource).
            r"/id/.*": {},
            r"/graph/.*": {},
            r"/build/.*": {},
            r"/ontology.*": {},
            r"/dump.*": {},
            r"/\.well-known/void": {},
        },
        origins="*",
        send_wildcard=True,  # "*", not the caller's origin: one cacheable answer for everyone
        methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Accept", "If-None-Match"],
        expose_headers=EXPOSED,
        max_age=86400,
    )
    app.register_blueprint(protocol.blueprint)
    app.register_blueprint(graphstore.blueprint)
    app.register_blueprint(saved.blueprint)
    app.register_blueprint(reconcile.blueprint)
    app.register_blueprint(linkeddata.blueprint)
    app.register_blueprint(front.blueprint)
    app.add_url_rule("/health", "health", _health)
    app.add_url_rule("/limits", "limits", _limits)
    app.register_error_handler(SkategraphError, render_error)
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(Exception, render_unexpected)
    app.before_request(_start_clock)
    app.before_request(_refuse_large_body)
    app.after_request(_security_headers)
    app.after_request(_log_when_done)
    app.wsgi_app = FastPath(app.wsgi_app, app.extensions["skategraph"])  # type: ignore[method-assign]
    app.wsgi_app = BoundedBody(app.wsgi_app, settings.max_body)  # type: ignore[method-assign]
    if settings.cache_mb > 0:
        service_now = app.extensions["skategraph"]
        app.wsgi_app = ResponseCache(  # type: ignore[method-assign]
            app.wsgi_app, lambda: service_now.generation().name, settings.cache_mb * 1024 * 1024, settings.timeout
        )
    return app


def _health() -> Response:
    """200 when the store is open and query workers are alive to answer; 503 otherwise."""
    svc = get_service()
    svc.check_store()
    manifest = svc.manifest()
    pool = svc.pool.state()
    if pool["alive"] == 0:
        response = jsonify(status="unavailable", build_id=manifest["build_id"], workers=pool,
                           message="no query worker is alive; new ones are being started")  # fmt: skip
        response.status_code = 503
        return response
    return jsonify(status="ok", build_id=manifest["build_id"], triples=manifest["stats"]["triples"], workers=pool)


def _limits() -> Response:
    settings = get_service().settings
    return jsonify(
        timeout_seconds=settings.timeout,
        row_limit=settings.row_limit,
        max_body_bytes=settings.max_body,
        updates_enabled=settings.update_token is not None,
        allowed_services=sorted(settings.allow_service),
        reconcile_batch=settings.reconcile_batch,
        reconcile_query_chars=MAX_QUERY_CHARS,
        reconcile_property_values=MAX_VALUES,
        row_limit_note=(
            "A SELECT result longer than row_limit is cut to row_limit rows. A cut result has the header "
            "X-Skategraph-Truncated: true, and its JSON or XML head links here."
        ),
    )


# Pages need nothing but our own files: nothing comes from elsewhere, forms go to this server, and no
# other site may frame them. The only scripts are the query page's editor (YASQE, vendored, and our
# query.js), from this server: no inline script runs (the JSON-LD and editor blocks are data) and
# nothing is evaluated. YASQE's syntax-error tooltip writes one inline style attribute,
# `text-decoration:underline`; its hash (and 'unsafe-hashes', which a hash of an attribute needs)
# allows that one and no other.
UNDERLINE = "'sha256-EntWS0hFrz2vH7susM+dPUxvHlL6sBswmM8K80E5oUk='"
PAGE_POLICY = (f"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-hashes' {UNDERLINE}; "
               "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")  # fmt: skip


# The reconciliation preview is made to be framed: OpenRefine, on whatever host it runs, shows it in
# an iframe. It has no form and no action to trick anyone into, so any site may frame it.
PREVIEW_POLICY = PAGE_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")


def _security_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.status_code == 304:  # no body, so no page: Flask's default type is not the answer's
        return response
    if response.mimetype == "text/html" and request.endpoint == "reconcile.preview":
        response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    elif response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        response.headers["X-Frame-Options"] = "DENY"
    return response


def _start_clock() -> None:
    g.started = time.monotonic()


def _refuse_large_body() -> None:
    """A body of no declared length that `BoundedBody` found over the limit: refused, nothing read."""
    if TOO_LARGE in request.environ:
        raise RequestEntityTooLarge(body_too_large(get_service().settings.max_body))


def _log_when_done(response: Response) -> Response:
    """One line per request, written when the (possibly streamed) body has been sent."""
    started = g.get("started", time.monotonic())
    method, path, remote = request.method, request.full_path.rstrip("?"), request.remote_addr

    def done() -> None:
        cut = response.response.cut if isinstance(response.response, protocol.Stream) else None
        log_request(remote, method, path, response.status_code, started, cut)

    body = response.response
    if response.direct_passthrough and not isinstance(body, protocol.Stream) and hasattr(body, "close"):
        # A file (send_file: the dump, the assets) goes to the server as its file wrapper, which is
        # closed in place of the response, so the response's own close callbacks never ran and such
        # requests were never logged: the wrapper's close logs.
        closes = body.close

        def close_then_log() -> None:
            try:
                closes()
            finally:
                done()

        body.close = close_then_log
    else:
        response.call_on_close(done)
    return response
