"""A real `skategraph serve` process on 127.0.0.1 for the HTTP tests, and a small HTTP helper.

The server picks a free port (`--port 0`) and its log line says which; its stderr is drained in a
thread so a chatty server never blocks on a full pipe.
"""

from __future__ import annotations

import contextlib
import http.client
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
from urllib.parse import urlencode


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


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    store: Path
    log: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.url.split("//")[1].split(":")[0]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Reply:
        """One request on a fresh connection; no header is added that the test did not ask for."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            payload = body.encode("utf-8") if isinstance(body, str) else body
            connection.request(method, path, body=payload, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

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

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        if self.drain is not None:
            self.drain.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


def start_server(store: Path, *args: str, env: dict[str, str] | None = None) -> Server:
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
def seed_server(folder: Path, *args: str, token: str | None = "secret") -> Iterator[Server]:
    """The seed built into `folder` and served; stopped cleanly (exit status 0) at the end."""
    from .conftest import build

    build(folder / "store")
    running = start_server(folder / "store", *args, env={"SKATEGRAPH_UPDATE_TOKEN": token} if token else None)
    try:
        yield running
    finally:
        assert running.stop() == 0, "".join(running.log)
