"""Rendering errors: every error, ours or werkzeug's, leaves in one JSON shape, from one place.

    {"status": 400, "error": "query_error", "message": "...", "line": 1, "column": 8}

`line` and `column` come from the error itself (a syntax error knows its position); an unexpected
exception is logged and never echoed to the client.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from skategraph.errors import SkategraphError

log = logging.getLogger("skategraph.web")


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"status": status, "error": code, "message": message, **extra}
    response = jsonify(body)
    response.status_code = status
    return response


def error_bytes(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response carrying the same JSON error, for the server to write itself when
    a request is refused before the app can see it (too slow, too long); the connection then closes."""
    body = json.dumps({"status": status, "error": code, "message": message}).encode("utf-8")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n")  # fmt: skip
    return head.encode("ascii") + body


def body_too_large(limit: int) -> str:
    return f"the request body is larger than the {limit:,} bytes this server accepts (--max-body); nothing was done"


def render_error(error: Exception) -> Response:
    if isinstance(error, SkategraphError):
        response = error_response(error.status, error.code, str(error), **error.details())
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


def render_unexpected(error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "the server failed to answer; the error has been logged")
