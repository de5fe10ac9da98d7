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

    def __init__(self, signal_name: str) -> None:
        super().__init__(0)
        self.signal_name = signal_name


class _Stopper:
    """The SIGINT/SIGTERM handler: the first signal stops the server; later ones, which may arrive
    while it is closing its workers, are ignored rather than interrupting the shutdown."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
            raise _Stop(self.signal_name)


def serve(settings: Settings, host: str, port: int, threads: int | None = None) -> None:
    """Serve until a signal asks us to stop; then close the listening socket and the workers."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # waitress.queue's "Task queue depth" warnings stay on: they tell an operator the server is saturated.
    # Silencing them made this server about 3x slower at 16 clients in repeated measurements here; the
    # cause looked like thread scheduling and was not pinned down.
    app = create_app(settings)
    # Enough threads that requests waiting for a query worker do not hold up /health and the rest.
    server = create_server(app, host=host, port=port, threads=threads or max(8, settings.workers * 4),
                                    channel_timeout=int(settings.timeout) + 30, ident="skategraph")  # fmt: skip
    stopper = _Stopper()
    previous = {sig: signal.signal(sig, stopper) for sig in (signal.SIGINT, signal.SIGTERM)}
    assert isinstance(server, BaseWSGIServer)  # one host and port: one socket
    assert server.socket is not None
    bound_host, bound_port = server.socket.getsockname()[:2]
    endpoint = f"http://{bound_host}:{bound_port}/sparql"
    log.info("serving %s (store %s, %d workers)", endpoint, settings.store, settings.workers)
    try:
        server.run()  # returns when a signal raises _Stop: waitress catches it and stops its threads
    except _Stop:
        pass  # raised before or after waitress's own loop
    finally:
        log.info("stopping on %s", stopper.signal_name or "request")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        app.extensions["skategraph"].close()
        log.info("stopped")
