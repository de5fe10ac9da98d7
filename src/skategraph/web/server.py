"""Serving the app with gunicorn, a production WSGI server, until SIGINT or SIGTERM.

gunicorn, not waitress, because of measurements on this project's 2-core machines: waitress (one
process) fell to about a quarter of its throughput at 2 to 8 concurrent clients, even for a trivial
WSGI app, while gunicorn's threaded workers held steady, and several gunicorn processes put the
Python web tier on every core. Each web process starts its own query-worker pool and response cache
after the fork (stores are never opened before one); writers across processes are serialised by the
store's lock file.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from skategraph.web.app import create_app
from skategraph.web.connections import worker_class
from skategraph.web.settings import Settings

log = logging.getLogger("skategraph.server")
# gunicorn waits this long for a web process's requests after SIGTERM, then kills the process; the
# pool cuts what still runs STOP_MARGIN before that, so its clients get a 503 and the process exits.
GRACE = 10
STOP_MARGIN = 3


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn's documented way to embed it: options in, an app factory called in each worker."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def serve(settings: Settings, host: str, port: int, processes: int | None = None, threads: int = 8) -> None:
    """Serve until SIGINT or SIGTERM; gunicorn then stops its workers, which close their pools."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Lines("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # What no line shows (ours, or gunicorn's, which shows the process id) is not worked out for each
    # record: the calling frame, the thread, the multiprocessing name (logging's documented
    # optimisation; a fifth of a request's log line, issue 14).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False

    # A remote store is named by its address (never its credentials), not by its mirror's directory.
    store = settings.remote if settings.remote is not None else settings.store

    def when_ready(server: Any) -> None:
        bound_host, bound_port = server.LISTENERS[0].sock.getsockname()[:2]
        log.info("serving http://%s:%s/sparql (store %s, %d web processes, %d query workers each)",
                 bound_host, bound_port, store, server.num_workers, settings.workers)  # fmt: skip

    def post_worker_init(worker: Any) -> None:
        service = worker.wsgi.extensions["skategraph"]
        stop = worker.handle_exit  # gunicorn's: stop accepting, then wait for the requests in flight

        def handle_exit(signum: int, frame: Any) -> None:
            stop(signum, frame)
            service.stop_within(GRACE - STOP_MARGIN)

        signal.signal(signal.SIGTERM, handle_exit)

    def worker_exit(server: Any, worker: Any) -> None:
        app = getattr(worker, "wsgi", None)
        if app is not None:
            app.extensions["skategraph"].close()

    def on_exit(server: Any) -> None:
        log.info("stopped")

    options = {
        "bind": f"{host}:{port}",
        "workers": processes or os.cpu_count() or 2,
        # gthread, with each request read whole by the event loop before a thread is given to it, so
        # that slow clients hold no thread (see connections.py)
        "worker_class": worker_class(settings.max_body),
        "threads": threads,
        # A request thread waits for its query up to the time limit; gunicorn's own watchdog must not
        # fire first. The time limit itself is enforced by skategraph's worker pool.
        "timeout": int(settings.timeout) + 30,
        "graceful_timeout": GRACE,
        "keepalive": 5,
        # Long queries come by GET too, over the 8,190 bytes gunicorn allows at most: the worker's event
        # loop refuses request lines over connections.MAX_REQUEST_LINE itself, with our 414.
        "limit_request_line": 0,
        "accesslog": None,  # skategraph logs one line per request itself
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "skategraph",
        "when_ready": when_ready,
        "post_worker_init": post_worker_init,
        "worker_exit": worker_exit,
        "on_exit": on_exit,
    }
    _Gunicorn(lambda: create_app(settings), options).run()


class _Lines(logging.Formatter):
    """logging's default line, its time written once a second (`formatTime` was a tenth of a request's
    log line, one log line a request, issue 14); the same text."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # logging's name
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, time.strftime(self.default_time_format, self.converter(record.created)))
        return f"{self._second[1]},{int(record.msecs):03d}"  # logging's default_msec_format
