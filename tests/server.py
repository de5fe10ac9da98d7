"""The web app for the HTTP tests, two ways, behind one small client:

- `App`: the app in this process, through Flask's test client, over a real on-disk store and real
  query-worker processes. Most HTTP tests use it: nothing about them depends on the web process.
- `Server`: a real `skategraph serve` process (gunicorn) on 127.0.0.1, for what does depend on it:
  signals, killed workers, first-run builds, concurrent clients, real client programs, the browser.
  It picks a free port (`--port 0`) and its log line says which; its stderr is drained in a thread
  so a chatty server never blocks on a full pipe.

Both answer `request`, `get`, `query`, `post` and `update` alike, and keep the log lines the app
writes in `log`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask

from skategraph.web.app import create_app
from skategraph.web.settings import Settings


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Client:
    """What the tests call, over `request`."""

    url: str
    log: list[str]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Reply:
        """One request; no header is added that the test did not ask for."""
        payload = body.encode("utf-8") if isinstance(body, str) else body
        return self.exchange(method, path, payload, headers or {}, timeout)

    def exchange(self, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float) -> Reply:
        raise NotImplementedError

    def get(self, path: str, params: dict[str, str] | list[tuple[str, str]] | None = None, **headers: str) -> Reply:
        query = f"?{urlencode(params)}" if params else ""
        return self.request("GET", path + query, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def query(self, sparql: str, accept: str = "application/sparql-results+json", **params: str) -> Reply:
        return self.get("/sparql", {"query": sparql, **params}, Accept=accept)

    def post(self, path: str, body: bytes | str, content_type: str | None, **headers: str) -> Reply:
        all_headers = {k.replace("_", "-"): v for k, v in headers.items()}
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        return self.request("POST", path, body, all_headers)

    def update(self, sparql: str, token: str | None = "secret", **params: str | list[str]) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        path = "/sparql" + (f"?{urlencode(params, doseq=True)}" if params else "")
        return self.post(path, sparql, "application/sparql-update", **headers)


@dataclass
class Server(Client):
    url: str
    process: subprocess.Popen[bytes]
    store: Path | str  # a directory, or a remote store's address
    log: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.url.split("//")[1].split(":")[0]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def exchange(self, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float) -> Reply:
        """On a fresh connection."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def engine_threads(self) -> list[str]:
        """The store engine's (RocksDB's) threads in the server's own process, gunicorn's master: there
        must be none, since a web process forked from a process holding them hangs at exit (in
        RocksDB's exit handler) until gunicorn kills it at the end of its grace period."""
        names = (task.read_text().strip() for task in Path(f"/proc/{self.process.pid}/task").glob("*/comm"))
        return [name for name in names if name.startswith("rocksdb")]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        if self.drain is not None:
            self.drain.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


def start_server(store: Path | str, *args: str, env: dict[str, str] | None = None) -> Server:
    """`skategraph serve --store STORE` (a directory, or a remote store's address) on a free port."""
    environment = {**os.environ, **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "skategraph", "serve", "--store", str(store), "--port", "0", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
    )
    assert process.stderr is not None
    log: list[str] = []
    deadline = time.monotonic() + 60
    url = None
    while url is None:
        line = process.stderr.readline().decode("utf-8", "replace")
        if not line:
            raise AssertionError(f"the server exited before serving:\n{''.join(log)}")
        log.append(line)
        found = re.search(r"serving (http://[\d.]+:\d+)/sparql", line)
        if found:
            url = found.group(1)
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the server did not start:\n{''.join(log)}")
    stream = process.stderr

    def drain() -> None:
        for raw in stream:
            log.append(raw.decode("utf-8", "replace"))

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    server = Server(url, process, store, log, thread)
    for _ in range(100):  # the workers are spawned; wait until one answers
        if server.get("/health").status == 200:
            break
        time.sleep(0.05)
    return server


@contextlib.contextmanager
def seed_server(folder: Path, *args: str, token: str | None = "secret", seed: Path | None = None) -> Iterator[Server]:
    """The seed served from `folder` (a copy of the built `seed`, or built there); stopped cleanly
    (exit status 0) at the end."""
    _seed_into(folder / "store", seed)
    running = start_server(folder / "store", *args, env={"SKATEGRAPH_UPDATE_TOKEN": token} if token else None)
    try:
        yield running
    finally:
        assert running.stop() == 0, "".join(running.log)


def rows(reply_body: bytes) -> list[dict[str, str]]:
    """A SPARQL JSON result's rows as plain values."""
    data = json.loads(reply_body)
    return [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]]


def _seed_into(store: Path, seed: Path | None) -> None:
    from .conftest import build, copy_store

    if seed is None:
        build(store)
    else:
        copy_store(seed, store)


class _Lines(logging.Handler):
    """Keeps each record the app logs as a line, as the server's stderr would show it."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.INFO)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + "\n")


@dataclass
class App(Client):
    """The app in this process: Flask's test client, a real on-disk store, real worker processes."""

    app: Flask
    store: Path
    url: str = "http://127.0.0.1"
    log: list[str] = field(default_factory=list)

    def exchange(self, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float) -> Reply:
        response = self.app.test_client().open(path, method=method, data=body, headers=headers, base_url=self.url)
        try:
            message = http.client.HTTPMessage()
            for name, value in response.headers.items():
                message[name] = value
            return Reply(response.status_code, message, response.get_data())
        finally:
            response.close()


@contextlib.contextmanager
def seed_app(folder: Path, *, token: str | None = "secret", seed: Path | None = None, **settings: Any) -> Iterator[App]:
    """The seed (a copy of the built `seed`, or built in `folder`) served by the app in this process,
    with `settings` as `skategraph serve` would pass them; its workers are stopped at the end."""
    _seed_into(folder / "store", seed)
    with running_app(folder / "store", update_token=token, **settings) as running:
        yield running


@contextlib.contextmanager
def running_app(store: Path, **settings: Any) -> Iterator[App]:
    """The app in this process over the store at `store`, with `settings` as `skategraph serve` would
    pass them; its workers are stopped at the end."""
    app = create_app(Settings(store=store, **settings))
    running = App(app, store)
    handler = _Lines(running.log)
    logger = logging.getLogger("skategraph")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield running
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        app.extensions["skategraph"].close()
