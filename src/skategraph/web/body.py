"""Request bodies of no declared length, counted as they are read: over `--max-body` is a 413.

Werkzeug enforces `MAX_CONTENT_LENGTH` against a `Content-Length`, but a chunked body (or any whose
length the server leaves to the stream) is only *cut* at the limit: reading it ends at the limit as
if the body ended there, and the first part was processed as the whole (issue 12: a 300,000-triple
chunked PUT answered 201 and stored 262,144 triples). This middleware reads such a body itself, one
byte past the limit, before the app sees the request. A body within the limit is handed on with its
length now known; one over it is marked, and the app refuses the request with 413 before reading
anything. Either way every reader in the app (form, JSON, RDF, a query) sees a body of known length.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

TOO_LARGE = "skategraph.body_too_large"  # environ key: set when the body was over the limit
# After the limit is passed the rest is read and dropped, up to this much, so that a client that
# sends its whole body before reading (most do) gets the 413 rather than a reset connection.
DRAIN = 64 * 1024 * 1024
_PIECE = 64 * 1024
_BODILESS = ("GET", "HEAD", "OPTIONS")


class BoundedBody:
    def __init__(self, app: WSGIApplication, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        unsized = not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated")
        # A GET of no declared length has no body (RFC 9112 6.3): nothing to read, on every query.
        if chunked or (unsized and environ.get("REQUEST_METHOD") not in _BODILESS):
            self._read(environ)
        return self.app(environ, start_response)

    def _read(self, environ: WSGIEnvironment) -> None:
        stream = environ["wsgi.input"]
        body = bytearray()
        while len(body) <= self.max_body:
            piece = stream.read(min(_PIECE, self.max_body + 1 - len(body)))
            if not piece:
                break
            body += piece
        if len(body) > self.max_body:
            drained = 0
            while drained < DRAIN and (piece := stream.read(_PIECE)):
                drained += len(piece)
            environ[TOO_LARGE] = True
            body = bytearray()
        # The body is now of known length: werkzeug reads exactly that much, and nothing is cut.
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(bytes(body))
