"""Query evaluation in worker processes that can be killed.

pyoxigraph has no timeout or cancellation, and it releases the GIL while it evaluates, so a thread
cannot be made to stop. Every query (and every change) therefore runs in a worker process, which opens
the store itself after it starts (a store opened before `fork()` lost writes; workers are spawned, not
forked). The web process sends a job down a pipe and reads the answer back in chunks:

    H + JSON   the head: status, form (select/ask/graph), truncated; sent with the first data, so a
               query that produces nothing before its deadline still gets a clean 503
    D + bytes  a chunk of the serialised body (backpressure: the pipe blocks a worker whose client
               reads slowly, so memory stays bounded)
    E [+ JSON] the end (a change's result rides on it)
    C + len + JSON + bytes   head, whole body and end in one message, for an answer that fits in one
               chunk: most answers, and one pipe round trip instead of three
    X + JSON   an error before the head: status, code, message
    A + JSON   an error after the head: the response must be dropped, not completed

At the deadline the worker is killed (SIGKILL: its CPU is freed at once) and a new one is started in
the background. A query's evaluation and iteration stay on the worker's one thread.
"""

from __future__ import annotations

import gzip
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from skategraph import formats, rdf
from skategraph.errors import (
    Busy,
    GraphNotFound,
    NotAcceptable,
    QueryError,
    QueryTimeout,
    SkategraphError,
    StreamAborted,
    WorkerFailed,
)
from skategraph.results import SolutionsWriter, select_page, write_boolean
from skategraph.store import EmbeddedStore, write_change

log = logging.getLogger("skategraph.workers")
CHUNK = 64 * 1024


@dataclass(frozen=True)
class QueryJob:
    generation: str
    query: str
    results_format: str | None  # for SELECT and ASK; None if the client accepts none
    graph_format: str | None  # for CONSTRUCT and DESCRIBE
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    row_limit: int = 0  # 0: no limit
    truncated_links: tuple[str, ...] = ()
    substitutions: tuple[tuple[str, str], ...] = ()  # variable name, term in N-Triples syntax
    base_iri: str | None = None
    offset: int = 0  # SELECT rows to skip (a saved query's pages)
    hidden: tuple[str, ...] = ()  # SELECT columns to leave out (a saved query's parameter variables)


@dataclass(frozen=True)
class ChangeJob:
    source: str  # generation to copy
    target: str  # empty directory for the new generation
    kind: str  # update, put, post, delete
    text: str = ""  # the SPARQL update
    graph: str | None = None  # Graph Store target; None for the default graph
    parts: tuple[tuple[bytes, str], ...] = ()  # RDF documents and their media types
    base_iri: str | None = None


@dataclass(frozen=True)
class DumpJob:
    """Write the whole dataset of `generation` as gzipped N-Quads to `target` (atomically)."""

    generation: str
    target: str


@dataclass(frozen=True)
class Reply:
    """The head of a query's answer, and its body as it arrives."""

    form: str  # select, ask, graph
    media_type: str
    truncated: bool
    body: Iterator[bytes]


ERRORS: dict[str, type[SkategraphError]] = {
    cls.__name__: cls for cls in (QueryError, NotAcceptable, WorkerFailed, GraphNotFound, SkategraphError)
}


# -- the worker side ---------------------------------------------------------------------------


class _Channel:
    """A binary stream into the pipe that holds the head back until there is data to send."""

    def __init__(self, conn: multiprocessing.connection.Connection, head: dict[str, Any]) -> None:
        self.conn = conn
        self.head = head
        self.buffer = bytearray()
        self.head_sent = False

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self.head_sent:
            self.conn.send_bytes(b"H" + json.dumps(self.head).encode())
            self.head_sent = True
        if self.buffer:
            self.conn.send_bytes(b"D" + bytes(self.buffer))
            self.buffer.clear()

    def finish(self) -> None:
        if not self.head_sent:
            head = json.dumps(self.head).encode()
            self.conn.send_bytes(b"C" + len(head).to_bytes(4, "big") + head + bytes(self.buffer))
            self.head_sent = True
            self.buffer.clear()
            return
        self.flush()
        self.conn.send_bytes(b"E")

    def fail(self, error: SkategraphError) -> None:
        message = {"error": type(error).__name__, "message": str(error)}
        self.conn.send_bytes((b"A" if self.head_sent else b"X") + json.dumps(message).encode())


def _fail(conn: multiprocessing.connection.Connection, error: SkategraphError) -> None:
    conn.send_bytes(b"X" + json.dumps({"error": type(error).__name__, "message": str(error)}).encode())


def worker_main(conn: multiprocessing.connection.Connection) -> None:
    """A worker's whole life: answer jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    opened: dict[str, EmbeddedStore] = {}
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if isinstance(job, QueryJob):
                _answer(conn, job, _open(opened, job.generation))
            elif isinstance(job, DumpJob):
                _dump(conn, job, _open(opened, job.generation))
            else:
                _change(conn, job)
        except (BrokenPipeError, ConnectionResetError):
            return


def _open(opened: dict[str, EmbeddedStore], generation: str) -> EmbeddedStore:
    if generation not in opened:
        opened.clear()  # a rebuild or update replaced the generation: drop the old handle
        opened[generation] = EmbeddedStore(Path(generation))
    return opened[generation]


def _answer(conn: multiprocessing.connection.Connection, job: QueryJob, store: EmbeddedStore) -> None:
    try:
        result = store.query(
            job.query,
            default_graph=[_graph(g) for g in job.default_graphs] if job.default_graphs is not None else None,
            named_graphs=[ox.NamedNode(g) for g in job.named_graphs] if job.named_graphs is not None else None,
            substitutions={ox.Variable(name): _term(value) for name, value in job.substitutions} or None,
            base_iri=job.base_iri,
        )
    except QueryError as error:
        _fail(conn, error)
        return
    except (OSError, ValueError) as error:
        _fail(conn, QueryError(f"the query could not be evaluated: {error}"))
        return
    if isinstance(result, ox.QueryTriples):
        _answer_graph(conn, job, result)
    elif isinstance(result, ox.QueryBoolean):
        if job.results_format is None:
            _fail(conn, _not_acceptable("an ASK result"))
            return
        channel = _Channel(conn, _head("ask", job.results_format, False))
        write_boolean(channel, job.results_format, bool(result))  # type: ignore[arg-type]
        channel.finish()
    else:
        _answer_select(conn, job, result)


def _answer_graph(conn: multiprocessing.connection.Connection, job: QueryJob, result: ox.QueryTriples) -> None:
    if job.graph_format is None:
        _fail(conn, _not_acceptable("a CONSTRUCT or DESCRIBE result (an RDF graph)"))
        return
    channel = _Channel(conn, _head("graph", job.graph_format, False))
    rdf_format = formats.RDF_FORMATS[job.graph_format]
    try:
        ox.serialize(result, channel, rdf_format, prefixes=formats.prefixes_for(rdf_format, rdf.PREFIXES))  # type: ignore[arg-type]
    except (OSError, SyntaxError, ValueError) as error:
        channel.fail(QueryError(f"the query failed while its result was being written: {error}"))
        return
    channel.finish()


def _answer_select(conn: multiprocessing.connection.Connection, job: QueryJob, result: ox.QuerySolutions) -> None:
    if job.results_format is None:
        _fail(conn, _not_acceptable("a SELECT result"))
        return
    try:
        page = select_page(result, offset=job.offset, limit=job.row_limit, hidden=job.hidden)
        channel = _Channel(conn, _head("select", job.results_format, page.more))
        links = job.truncated_links if page.more else ()
        writer = SolutionsWriter(channel, job.results_format, page.variables, links)  # type: ignore[arg-type]
        for row in page.rows:
            writer.row(row)
        writer.close()
    except (OSError, ValueError) as error:
        failure = QueryError(f"the query failed during evaluation: {error}")
        if "channel" in locals():
            channel.fail(failure)
        else:
            _fail(conn, failure)
        return
    channel.finish()


def _head(form: str, format_name: str, truncated: bool) -> dict[str, Any]:
    return {"form": form, "format": format_name, "truncated": truncated}


def _not_acceptable(what: str) -> NotAcceptable:
    return NotAcceptable(f"the client accepts no format in which {what} can be written")


def _graph(name: str) -> ox.NamedNode | ox.DefaultGraph:
    """A graph named in a job: an IRI, or "" for the store's own default graph."""
    return ox.NamedNode(name) if name else ox.DefaultGraph()


def _term(text: str) -> ox.NamedNode | ox.Literal:
    """A substitution value, from the N-Triples form the web process sent."""
    parsed = list(ox.parse(f"<urn:s> <urn:p> {text} .", ox.RdfFormat.N_TRIPLES))
    value = parsed[0].object
    assert isinstance(value, ox.NamedNode | ox.Literal)
    return value


def _dump(conn: multiprocessing.connection.Connection, job: DumpJob, store: EmbeddedStore) -> None:
    target = Path(job.target)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        with gzip.open(partial, "wb") as handle:
            store.dump(handle, ox.RdfFormat.N_QUADS)  # type: ignore[arg-type]
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        _fail(conn, SkategraphError(f"the dump could not be written: {error}"))
        return
    conn.send_bytes(b"E")


def _change(conn: multiprocessing.connection.Connection, job: ChangeJob) -> None:
    outcome: dict[str, Any] = {}

    def apply(store: ox.Store) -> None:
        graph: ox.NamedNode | ox.DefaultGraph = ox.NamedNode(job.graph) if job.graph else ox.DefaultGraph()
        if job.kind == "update":
            store.update(job.text, prefixes=rdf.PREFIXES, base_iri=job.base_iri)
            return
        existed = _graph_exists(store, graph)
        outcome["existed"] = existed
        if job.kind == "delete":
            if not existed and isinstance(graph, ox.NamedNode):
                raise GraphNotFound(f"there is no graph {graph.value} in the store")
            store.remove_graph(graph) if isinstance(graph, ox.NamedNode) else store.clear_graph(graph)
            return
        if job.kind == "put" and existed:
            store.remove_graph(graph) if isinstance(graph, ox.NamedNode) else store.clear_graph(graph)
        for data, media_type in job.parts:
            rdf_format = ox.RdfFormat.from_media_type(media_type)
            if rdf_format is None:
                raise ValueError(f"unsupported media type {media_type}")
            store.load(data, rdf_format, base_iri=job.base_iri, to_graph=graph)
        if isinstance(graph, ox.NamedNode):
            store.add_graph(graph)

    try:
        write_change(Path(job.source), Path(job.target), apply, job.kind)
    except GraphNotFound as error:
        _fail(conn, error)
        return
    except SyntaxError as error:
        what = "update" if job.kind == "update" else "data"
        _fail(conn, QueryError(f"the {what} does not parse: {error}"))
        return
    except (OSError, ValueError) as error:
        _fail(conn, QueryError(f"the {job.kind} could not be applied: {error}"))
        return
    conn.send_bytes(b"E" + json.dumps(outcome).encode())


def _graph_exists(store: ox.Store, graph: ox.NamedNode | ox.DefaultGraph) -> bool:
    if isinstance(graph, ox.NamedNode):
        return store.contains_named_graph(graph)
    return any(True for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))


# -- the server side ---------------------------------------------------------------------------


@dataclass(eq=False)  # identity, not value: workers go in sets
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection


class Pool:
    """A fixed number of worker processes; a job takes one for its duration, or fails at its deadline."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        self.size = size
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        for _ in range(self.size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=worker_main, args=(child,), daemon=True, name="skategraph-worker")
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, worker: _Worker, why: str) -> None:
        """Kill `worker` now and start a new one in the background."""
        log.warning("stopping a query worker (pid %s): %s", worker.process.pid, why)
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        with self._lock:
            self._all.discard(worker)
        if not self._closed:
            threading.Thread(target=lambda: self._idle.put(self._spawn()), daemon=True).start()

    def _take(self, deadline: float) -> _Worker:
        try:
            return self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise Busy("every query worker stayed busy for the whole time limit; try again later") from None

    def _receive(self, worker: _Worker, deadline: float, limit: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not worker.conn.poll(remaining):
            self._replace(worker, "time limit")
            raise QueryTimeout(f"the request was stopped at its time limit of {limit:g} s")
        try:
            return worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._replace(worker, "it died")
            raise WorkerFailed("the query worker stopped unexpectedly; the request was not completed") from None

    def query(self, job: QueryJob, limit: float) -> Reply:
        """Start `job`; return its head once its first data is ready, and the rest as it comes."""
        deadline = time.monotonic() + limit
        worker = self._take(deadline)
        try:
            worker.conn.send(job)
        except (BrokenPipeError, OSError):
            self._replace(worker, "it died")
            raise WorkerFailed("the query worker stopped unexpectedly; the request was not completed") from None
        message = self._receive(worker, deadline, limit)
        tag, payload = message[:1], message[1:]
        if tag == b"X":
            self._idle.put(worker)
            raise _error(payload)
        if tag == b"C":
            self._idle.put(worker)
            length = int.from_bytes(payload[:4], "big")
            head = json.loads(payload[4 : 4 + length])
            body: Iterator[bytes] = iter([payload[4 + length :]])
        elif tag == b"H":
            head = json.loads(payload)
            body = self._body(worker, deadline, limit)
        else:
            self._replace(worker, f"unexpected message {tag!r}")
            raise WorkerFailed("the query worker answered out of turn")
        return Reply(head["form"], _media_type(head["form"], head["format"]), head["truncated"], body)

    def _body(self, worker: _Worker, deadline: float, limit: float) -> Iterator[bytes]:
        finished = False
        try:
            while True:
                try:
                    message = self._receive(worker, deadline, limit)
                except SkategraphError as error:
                    finished = True  # _receive already replaced the worker
                    raise StreamAborted(str(error)) from None
                tag, payload = message[:1], message[1:]
                if tag == b"D":
                    yield payload
                elif tag == b"E":
                    finished = True
                    self._idle.put(worker)
                    return
                else:
                    finished = True
                    if tag == b"A":  # the worker reported its own failure and is ready again
                        self._idle.put(worker)
                    else:
                        self._replace(worker, f"unexpected message {tag!r}")
                    raise StreamAborted(str(_error(payload)))
        finally:
            if not finished:
                # The client went away mid-answer: the worker may still be writing into the pipe.
                self._replace(worker, "its client disconnected")

    def change(self, job: ChangeJob | DumpJob, limit: float) -> dict[str, Any]:
        """Run a change (update or Graph Store write) or a dump to completion, or kill it at the deadline."""
        deadline = time.monotonic() + limit
        worker = self._take(deadline)
        worker.conn.send(job)
        message = self._receive(worker, deadline, limit)
        self._idle.put(worker)
        if message[:1] == b"X":
            raise _error(message[1:])
        result: dict[str, Any] = json.loads(message[1:]) if len(message) > 1 else {}
        return result

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            worker.conn.close()
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)


def _error(payload: bytes) -> SkategraphError:
    data = json.loads(payload)
    return ERRORS.get(data["error"], SkategraphError)(data["message"])


def _media_type(form: str, name: str) -> str:
    if form == "graph":
        return formats.RDF_FORMATS[name].media_type
    return formats.RESULTS_MEDIA_TYPES[name]
