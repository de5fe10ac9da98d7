"""Real SPARQL servers for the remote-store tests: Oxigraph's server and Virtuoso, on 127.0.0.1.

Each runs in a directory of its own, on free ports, as issue 15's "How the test servers start" says:
Oxigraph's server from PyPI's `oxigraph` (a test dependency), Virtuoso from Debian's
`virtuoso-opensource` (`virtuoso-t`, `isql-vt`; `.ci/run` installs it). A missing server fails the
tests that need it: nothing is skipped.
"""

from __future__ import annotations

import contextlib
import http.server
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from skategraph.store import generations
from skategraph.store.address import StoreAt, publish_generation, store_at, sync
from skategraph.store.base import read_manifest

USER = "skategraph"
PASSWORD = "test-secret-5f3a"  # the tests look for it in every message and log line


@contextlib.contextmanager
def scripted(answer: Callable[[str, str], tuple[int, bytes]]) -> Iterator[tuple[str, list[str]]]:
    """A small HTTP server on 127.0.0.1 that answers each request with `answer(method, path)`, a status
    and a body (a 200 as SPARQL JSON results): a server's answers as measured, or the outside a
    server must not be made to fetch. Yields its URL and each request's method and path."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(f"{self.command} {self.path}")
            status, body = answer(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/sparql-results+json" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process, its address for `--store` and what the tests need to know about it."""

    kind: str  # oxigraph, virtuoso
    address: str  # e.g. oxigraph+http://127.0.0.1:PORT
    url: str  # http://127.0.0.1:PORT
    ready: str  # a URL that answers once the server is up
    directory: Path
    command: list[str]
    max_rows: int | None = None  # the cap the server puts on every result (Virtuoso's ResultSetMaxRows)
    timeout_s: float | None = None  # the server's own time limit on a query
    user: str | None = None
    password: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 (the process writes to it until it stops)
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory)
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.kind} exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.ready, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"{self.kind} did not answer {self.ready} within 90 s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM, and wait for it to exit (Virtuoso checkpoints first); SIGKILL after 30 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text("utf-8", "replace")[-4000:] if path.exists() else ""


def _binary(name: str, package: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is needed for the remote-store tests: {package}"
    return found


def oxigraph(directory: Path, *, timeout_s: float = 3) -> Server:
    """Oxigraph's server with its database in `directory` and a time limit of `timeout_s` a query."""
    binary = _binary("oxigraph", "pip install '.[test]' installs it (PyPI's oxigraph)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [binary, "serve", "--location", str(directory / "db"), "--bind", f"127.0.0.1:{port}"]
    command += ["--timeout-s", str(int(timeout_s))]
    server = Server("oxigraph", f"oxigraph+{url}", url, f"{url}/query?query=ASK%7B%7D", directory, command,
                    timeout_s=timeout_s)  # fmt: skip
    server.start()
    return server


def wikidata_like(directory: Path, data: Path) -> Server:
    """Oxigraph's server, read-only, holding `data` (the Wikidata-shaped test data): the endpoint
    `skategraph link` asks in the tests, in place of Wikidata and DBpedia (its `/query`)."""
    binary = _binary("oxigraph", "pip install '.[test]' installs it (PyPI's oxigraph)")
    location = directory / "db"
    subprocess.run([binary, "load", "--location", str(location), "--file", str(data)], check=True,
                   capture_output=True)  # fmt: skip
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [binary, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}"]
    server = Server("oxigraph", f"oxigraph+{url}", url, f"{url}/query?query=ASK%7B%7D", directory, command)
    server.start()
    return server


VIRTUOSO_INI = """\
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = 127.0.0.1:{sql_port}
DisableUnixSocket    = 1
DisableTcpSocket     = 0
MaxClientConnections = 20
CheckpointInterval   = 60
CaseMode             = 2
DirsAllowed          = {dir}
NumberOfBuffers      = 10000
MaxDirtyBuffers      = 6000
ThreadsPerQuery      = 2
AsyncQueueMaxThreads = 4

[HTTPServer]
ServerPort           = 127.0.0.1:{http_port}
ServerRoot           = {dir}/vsp
MaxClientConnections = 20
ServerThreads        = 20
MaxKeepAlives        = 20
KeepAliveTimeout     = 10
Charset              = UTF-8
EnabledGzipContent   = 0

[SPARQL]
ResultSetMaxRows           = {max_rows}
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime      = {timeout_s}
"""


def virtuoso(directory: Path, *, max_rows: int = 2000, timeout_s: int = 20) -> Server:
    """Virtuoso 7 with every file in `directory`, HTTP and SQL on free 127.0.0.1 ports, results capped
    at `max_rows` (`[SPARQL] ResultSetMaxRows`), and a SQL user with SPARQL_UPDATE for the writes."""
    binary = _binary("virtuoso-t", "apt-get install virtuoso-opensource")
    isql = _binary("isql-vt", "apt-get install virtuoso-opensource")
    http_port, sql_port = free_port(), free_port()
    (directory / "vsp").mkdir(parents=True, exist_ok=True)
    ini = directory / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(dir=directory, sql_port=sql_port, http_port=http_port, max_rows=max_rows,
                                       timeout_s=timeout_s), "utf-8")  # fmt: skip
    url = f"http://127.0.0.1:{http_port}"
    server = Server("virtuoso", f"virtuoso+{url}", url, f"{url}/sparql?query=ASK%7B%7D", directory,
                    [binary, "+foreground", "+configfile", str(ini)], max_rows=max_rows, timeout_s=timeout_s,
                    user=USER, password=PASSWORD)  # fmt: skip
    server.start()
    grant = (f"DB.DBA.USER_CREATE('{USER}','{PASSWORD}'); GRANT SPARQL_SELECT TO \"{USER}\"; "
             f"GRANT SPARQL_UPDATE TO \"{USER}\"; DB.DBA.RDF_DEFAULT_USER_PERMS_SET('{USER}', 15);")  # fmt: skip
    done = subprocess.run([isql, f"127.0.0.1:{sql_port}", "dba", "dba", f"exec={grant}"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    if done.returncode != 0 or "Error" in done.stdout + done.stderr:
        server.stop()
        raise AssertionError(f"creating Virtuoso's SQL user failed:\n{done.stdout}\n{done.stderr}")
    return server


def credentials(server: Server) -> dict[str, str]:
    """The environment a command needs to write to `server` (Virtuoso's SQL user), as a user sets it."""
    if server.user is None:
        return {}
    return {"SKATEGRAPH_REMOTE_USER": server.user, "SKATEGRAPH_REMOTE_PASSWORD": server.password or ""}


def served_remotely(server: Server, store: Path, monkeypatch: pytest.MonkeyPatch, cache: Path) -> StoreAt:
    """The current generation of the embedded store at `store` (the seed's, or another build) put in
    place in `server`, and this machine's mirror brought up to it."""
    for name, value in credentials(server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    at = store_at(server.address)
    assert at.remote is not None
    generation = generations.current(store)
    publish_generation(at.remote, generation, read_manifest(generation))
    sync(at)
    return at
