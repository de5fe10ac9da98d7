"""Serving the app with waitress, a production WSGI server, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from waitress.server import BaseWSGIServer, create_server

from skategraph.settings import Settings
from skategraph.web import create_app

log = logging.getLogger("skategraph.server")


class _Stop(SystemExit):
    """Raised by the signal handler. A SystemExit, because waitress's event loop re-raises only
    SystemExit, KeyboardInterrupt and its own ExitNow; anything else raised inside a connection's
    handler is logged and swallowed, and the server would keep running."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def serve(settings: Settings, host: str, port: int, threads: int | None = None) -> None:
    """Serve until a signal asks us to stop; then close the listening socket and the workers."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # waitress.queue's "Task queue depth" warnings stay on: they tell an operator the server is saturated,
    # and silencing them made this server 3x slower at 16 clients (measured; a GIL scheduling effect).
    app = create_app(settings)
    # Enough threads that requests waiting for a query worker do not hold up /health and the rest.
    server = create_server(app, host=host, port=port, threads=threads or max(8, settings.workers * 4),
                                    channel_timeout=int(settings.timeout) + 30, ident="skategraph")  # fmt: skip
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    assert isinstance(server, BaseWSGIServer)  # one host and port: one socket
    assert server.socket is not None
    bound_host, bound_port = server.socket.getsockname()[:2]
    endpoint = f"http://{bound_host}:{bound_port}/sparql"
    log.info("serving %s (store %s, %d workers)", endpoint, settings.store, settings.workers)
    try:
        server.run()
    except _Stop as why:
        log.info("stopping on %s", why)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        app.extensions["skategraph"].close()
        log.info("stopped")
