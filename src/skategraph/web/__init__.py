"""The web shell: a Flask app that speaks the SPARQL 1.1 Protocol and Graph Store Protocol.

Knows about HTTP and nothing about RDF modelling. Every error, ours or werkzeug's, leaves in one JSON
shape (`{"status", "error", "message"}`, plus `line`/`column` for a syntax error), rendered in one
place (`_render_error`). Queries and changes run in the worker pool, never in the web process.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from skategraph.errors import SkategraphError
from skategraph.settings import Settings
from skategraph.web.cache import ResponseCache
from skategraph.web.service import Service

log = logging.getLogger("skategraph.web")
POSITION = re.compile(r"error at (\d+):(\d+)")

# Headers a script on another origin may read from our answers.
EXPOSED = ["ETag", "Link", "X-Skategraph-Truncated", "X-Skategraph-Row-Limit", "X-Skategraph-Build"]


def create_app(settings: Settings, *, service: Service | None = None) -> Flask:
    """The WSGI app. It starts its worker pool now; `app.extensions["skategraph"].close()` stops it."""
    from skategraph.web import front, graphstore, linkeddata, protocol, reconcile, saved

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
    app.register_error_handler(SkategraphError, _render_error)
    app.register_error_handler(HTTPException, _render_error)
    app.register_error_handler(Exception, _render_unexpected)
    app.before_request(_start_clock)
    app.after_request(_log_when_done)
    if settings.cache_mb > 0:
        app.wsgi_app = ResponseCache(app.wsgi_app, settings.store, settings.cache_mb * 1024 * 1024)  # type: ignore[method-assign]
    return app


def get_service() -> Service:
    from flask import current_app

    found: Service = current_app.extensions["skategraph"]
    return found


def _health() -> Response:
    manifest = get_service().manifest()
    return jsonify(status="ok", build_id=manifest["build_id"], triples=manifest["stats"]["triples"])


def _limits() -> Response:
    settings = get_service().settings
    return jsonify(
        timeout_seconds=settings.timeout,
        row_limit=settings.row_limit,
        max_body_bytes=settings.max_body,
        updates_enabled=settings.update_token is not None,
        allowed_services=sorted(settings.allow_service),
        row_limit_note=(
            "A SELECT result longer than row_limit is cut to row_limit rows. A cut result has the header "
            "X-Skategraph-Truncated: true, and its JSON or XML head links here."
        ),
    )


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"status": status, "error": code, "message": message, **extra}
    response = jsonify(body)
    response.status_code = status
    return response


def _render_error(error: Exception) -> Response:
    if isinstance(error, SkategraphError):
        extra: dict[str, Any] = {}
        found = POSITION.search(str(error))
        if found:
            extra = {"line": int(found.group(1)), "column": int(found.group(2))}
        response = error_response(error.status, error.code, str(error), **extra)
    else:
        assert isinstance(error, HTTPException)
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        response = error_response(status, code, error.description or error.name)
        for name, value in error.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
    for name, value in getattr(error, "headers", {}).items():
        response.headers[name] = value
    return response


def _render_unexpected(error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "the server failed to answer; the error has been logged")


def _start_clock() -> None:
    g.started = time.monotonic()


def _log_when_done(response: Response) -> Response:
    """One line per request, written when the (possibly streamed) body has been sent."""
    started = g.get("started", time.monotonic())
    method, path, remote = request.method, request.full_path.rstrip("?"), request.remote_addr
    if len(path) > 200:
        path = path[:197] + "..."

    def done() -> None:
        elapsed = (time.monotonic() - started) * 1000
        log.info('%s "%s %s" %s %.1fms', remote, method, path, response.status_code, elapsed)

    response.call_on_close(done)
    return response
