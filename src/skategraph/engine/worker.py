"""The worker side of the engine: a process that opens the store itself and answers jobs.

pyoxigraph has no timeout or cancellation, and it releases the GIL while it evaluates, so a thread
cannot be made to stop. Every query (and every change) therefore runs in a worker process, which the
pool (`skategraph.engine.pool`) kills at the deadline, but for one whose work is bounded before it
starts, which the caller may answer in its own process with the same code (`answer_here`). A worker
opens the store after it starts (a store opened before `fork()` lost writes; workers are spawned,
not forked). A query's evaluation and iteration stay on the worker's one thread. The Graph Store's
write rules (PUT replaces, POST adds, DELETE of a missing graph is 404) are applied here, to a copy
of the generation.
"""

from __future__ import annotations

import functools
import gzip
import json
import multiprocessing.connection
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import pyoxigraph as ox

from skategraph.engine.jobs import (
    CHUNK,
    SPOOL,
    ChangeJob,
    DumpJob,
    QueryJob,
    Spool,
    TaskJob,
    encode_error,
    evaluate,
    head,
)
from skategraph.engine.sandbox import forbid_network
from skategraph.errors import GraphNotFound, HandedOn, NotAcceptable, QueryError, SkategraphError
from skategraph.graph.vocab import PREFIXES
from skategraph.sparql import formats
from skategraph.sparql.results import SolutionsWriter, select_page, write_boolean
from skategraph.store.address import open_generation
from skategraph.store.base import GraphStore
from skategraph.store.changes import write_change, write_remote_change
from skategraph.store.embedded import EmbeddedStore
from skategraph.store.remote import Remote, RemoteStore

TRIPLE_VARIABLES = ("subject", "predicate", "object")


class Sender(Protocol):
    """Where a job's messages go: the worker's end of its pipe, or a list (`answer_here`)."""

    def send_bytes(self, buf: bytes) -> None: ...


class _Kept:
    """The messages a worker would have sent down its pipe, kept in order."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_bytes(self, buf: bytes) -> None:
        self.sent.append(buf)


class _AtMost:
    """A SELECT's solutions, of which reading more than `most` raises HandedOn."""

    def __init__(self, result: ox.QuerySolutions, most: int) -> None:
        self.variables = result.variables
        self.result = result
        self.most = most

    def __iter__(self) -> Iterator[ox.QuerySolution]:
        for count, solution in enumerate(self.result):
            if count == self.most:
                raise HandedOn(f"the answer has more than {self.most} solutions")
            yield solution


def answer_here(job: QueryJob, store: GraphStore, spool: Spool = SPOOL, most: int | None = None) -> list[bytes]:
    """The messages a worker sends for `job`, made in this process by the same code: for a query
    whose work is bounded before it starts (`skategraph.sparql.bounded`), which needs no process
    that can be killed at its time limit. With `most`, a SELECT that reads more solutions than that
    raises HandedOn instead (the caller has no time for a longer one)."""
    kept = _Kept()
    _answer(kept, job, store, spool, most)
    return kept.sent


@functools.lru_cache(maxsize=64)
def _encoded(form: str, format: str, truncated: bool) -> bytes:
    """A reply's head as JSON, made once for each kind of answer."""
    return json.dumps(head(form, format, truncated)).encode()


class _Channel:
    """A binary stream into the pipe that holds the head back until there is data to send."""

    def __init__(self, conn: Sender, head: dict[str, Any]) -> None:
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
            self.conn.send_bytes(b"H" + _encoded(**self.head))
            self.head_sent = True
        if self.buffer:
            self.conn.send_bytes(b"D" + bytes(self.buffer))
            self.buffer.clear()

    def finish(self) -> None:
        if not self.head_sent:
            encoded = _encoded(**self.head)
            self.conn.send_bytes(b"C" + len(encoded).to_bytes(4, "big") + encoded + bytes(self.buffer))
            self.head_sent = True
            self.buffer.clear()
            return
        self.flush()
        self.conn.send_bytes(b"E")

    def fail(self, error: SkategraphError) -> None:
        self.conn.send_bytes((b"A" if self.head_sent else b"X") + encode_error(error))


class _Spool:
    """A SELECT answer's rows held until its head can be sent: in memory up to `spool.size` bytes,
    then in a temporary file that has no name (the kernel frees it when the worker closes it or is
    killed). Writes are gathered in memory, so a row costs no call into the file."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.buffer = bytearray()
        self.file: IO[bytes] | None = None

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= self.spool.size:
            self._spill()
        return len(data)

    def _spill(self) -> None:
        try:
            if self.file is None:
                self.file = tempfile.TemporaryFile(dir=self.spool.folder)  # noqa: SIM115 (closed by close)
            self.file.write(self.buffer)
        except OSError as error:  # a full disk is the server's failure, not the query's
            raise SkategraphError(f"the answer could not be held until its head was sent: {error}") from None
        self.buffer.clear()

    def send(self, channel: _Channel) -> None:
        """Everything written, into `channel`, CHUNK bytes at a time."""
        if self.file is None:
            for start in range(0, len(self.buffer), CHUNK):
                channel.write(bytes(self.buffer[start : start + CHUNK]))
            return
        self._spill()
        self.file.seek(0)
        while chunk := self.file.read(CHUNK):
            channel.write(chunk)

    def close(self) -> None:
        self.buffer.clear()
        if self.file is not None:
            self.file.close()


def _fail(conn: Sender, error: SkategraphError) -> None:
    conn.send_bytes(b"X" + encode_error(error))


def worker_main(
    conn: multiprocessing.connection.Connection,
    offline: bool = False,
    spool: Spool = SPOOL,
    remote: Remote | None = None,
) -> None:
    """A worker's whole life: answer jobs until the pipe closes. An `offline` worker first gives up
    the network for good, so no SERVICE or LOAD it evaluates can reach anything. `spool` bounds what
    a SELECT answer held back for its head may take of memory (`_answer_select`). With `remote`, the
    jobs' generations are a remote store's mirror, and their queries go to that server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    if offline:
        forbid_network()
    opened: dict[str, EmbeddedStore | RemoteStore] = {}
    memos: dict[str, dict[str, Any]] = {}
    try:
        conn.send_bytes(b"R")  # ready: the pool gives a worker no job before this
    except OSError:
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if isinstance(job, QueryJob):
                _answer(conn, job, _open(opened, job.generation, remote), spool)
            elif isinstance(job, DumpJob):
                _dump(conn, job, _open(opened, job.generation, remote))
            elif isinstance(job, TaskJob):
                store = _open(opened, job.generation, remote)
                if job.generation not in memos:
                    memos.clear()
                _run(conn, job, store, memos.setdefault(job.generation, {}))
            else:
                _change(conn, job, remote)
        except (BrokenPipeError, ConnectionResetError):
            return


def _open(
    opened: dict[str, EmbeddedStore | RemoteStore], generation: str, remote: Remote | None
) -> EmbeddedStore | RemoteStore:
    if generation not in opened:
        opened.clear()  # a rebuild or update replaced the generation: drop the old handle
        opened[generation] = open_generation(Path(generation), remote)
    return opened[generation]


def _answer(conn: Sender, job: QueryJob, store: GraphStore, spool: Spool, most: int | None = None) -> None:
    try:
        result = evaluate(store, job)
    except SkategraphError as error:  # the query's, or a remote store's (out of reach, its limit, its cap)
        _fail(conn, error)
        return
    if most is not None and isinstance(result, ox.QuerySolutions):
        result = _AtMost(result, most)  # type: ignore[assignment]
    if isinstance(result, ox.QueryTriples):
        _answer_graph(conn, job, result)
    elif isinstance(result, ox.QueryBoolean):
        if job.results_format is None:
            _fail(conn, _not_acceptable("an ASK result"))
            return
        channel = _Channel(conn, head("ask", job.results_format, False))
        write_boolean(channel, job.results_format, bool(result))  # type: ignore[arg-type]
        channel.finish()
    else:
        _answer_select(conn, job, result, spool)


def _answer_graph(conn: Sender, job: QueryJob, result: ox.QueryTriples) -> None:
    if job.graph_format is None:
        if job.results_format is None or not job.graph_as_rows:
            _fail(conn, _not_acceptable("a CONSTRUCT or DESCRIBE result (an RDF graph)"))
        else:
            _answer_triples(conn, job.results_format, result)
        return
    channel = _Channel(conn, head("graph", job.graph_format, False))
    rdf_format = formats.RDF_FORMATS[job.graph_format]
    try:
        ox.serialize(result, channel, rdf_format, prefixes=formats.prefixes_for(rdf_format, PREFIXES))  # type: ignore[arg-type]
    except (OSError, SyntaxError, ValueError, RuntimeError) as error:
        channel.fail(QueryError(f"the query failed while its result was being written: {error}"))
        return
    channel.finish()


def _answer_triples(conn: Sender, results_format: str, result: ox.QueryTriples) -> None:
    """A graph for a client that reads only SPARQL results (roqet reads every protocol answer so, and
    Virtuoso answers it the same way): one row per triple, as ?subject ?predicate ?object."""
    channel = _Channel(conn, head("select", results_format, False))
    try:
        writer = SolutionsWriter(channel, results_format, TRIPLE_VARIABLES)  # type: ignore[arg-type]
        for triple in result:
            writer.row((triple.subject, triple.predicate, triple.object))
        writer.close()
    except (OSError, SyntaxError, ValueError, RuntimeError) as error:
        channel.fail(QueryError(f"the query failed while its result was being written: {error}"))
        return
    channel.finish()


def _answer_select(conn: Sender, job: QueryJob, result: ox.QuerySolutions, spool: Spool) -> None:
    if job.results_format is None:
        _fail(conn, _not_acceptable("a SELECT result"))
        return
    page = select_page(result, offset=job.offset, limit=job.row_limit, hidden=job.hidden)
    if not job.row_limit:  # nothing can be cut short: the rows go straight through
        channel = _Channel(conn, head("select", job.results_format, False))
        writer = SolutionsWriter(channel, job.results_format, page.variables)  # type: ignore[arg-type]
        try:
            for row in page.rows:
                writer.row(row)
            writer.close()
        except (OSError, ValueError, RuntimeError) as error:
            channel.fail(QueryError(f"the query failed during evaluation: {error}"))
            return
        channel.finish()
        return
    # The head says whether the rows were cut at the limit, and it goes first; so the rows are written
    # to a spool (memory up to its size, then an unnamed temporary file) until one past the limit has
    # been read, and only then is the head sent, followed by the spool.
    rows = _Spool(spool)
    try:
        writer = SolutionsWriter(rows, job.results_format, page.variables, head=False)  # type: ignore[arg-type]
        try:
            for row in page.rows:
                writer.row(row)
        except (OSError, ValueError, RuntimeError) as error:
            _fail(conn, QueryError(f"the query failed during evaluation: {error}"))
            return
        except SkategraphError as error:
            _fail(conn, error)
            return
        channel = _Channel(conn, head("select", job.results_format, page.more))
        writer.out = channel  # type: ignore[assignment]
        writer.write_head(job.truncated_links if page.more else ())
        rows.send(channel)
        writer.close()
    finally:
        rows.close()
    channel.finish()


def _not_acceptable(what: str) -> NotAcceptable:
    return NotAcceptable(f"the client accepts no format in which {what} can be written")


def _run(conn: multiprocessing.connection.Connection, job: TaskJob, store: GraphStore, memo: dict[str, Any]) -> None:
    try:
        result = job.task(store, memo, job.argument)
    except SkategraphError as error:
        _fail(conn, error)
        return
    conn.send_bytes(b"E" + json.dumps(result).encode())


def _dump(conn: multiprocessing.connection.Connection, job: DumpJob, store: GraphStore) -> None:
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
    except SkategraphError as error:  # a remote store's server out of reach, or its answer short
        partial.unlink(missing_ok=True)
        _fail(conn, error)
        return
    conn.send_bytes(b"E")


def _change(conn: multiprocessing.connection.Connection, job: ChangeJob, remote: Remote | None) -> None:
    outcome: dict[str, Any] = {}

    def apply(store: ox.Store) -> None:
        graph: ox.NamedNode | ox.DefaultGraph = ox.NamedNode(job.graph) if job.graph else ox.DefaultGraph()
        if job.kind == "update":
            store.update(job.text, prefixes=PREFIXES, base_iri=job.base_iri)
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
        if remote is None:
            write_change(Path(job.source), Path(job.target), apply, job.kind)
        else:
            write_remote_change(remote, Path(job.source), Path(job.target), apply, job.kind)
    except SyntaxError as error:
        _fail(conn, QueryError.from_syntax("the update" if job.kind == "update" else "the data", error))
        return
    except (OSError, ValueError, RuntimeError) as error:
        _fail(conn, QueryError(f"the {job.kind} could not be applied: {error}"))
        return
    except SkategraphError as error:  # a graph that is not there; a remote store's server out of reach or moved on
        _fail(conn, error)
        return
    conn.send_bytes(b"E" + json.dumps(outcome).encode())


def _graph_exists(store: ox.Store, graph: ox.NamedNode | ox.DefaultGraph) -> bool:
    if isinstance(graph, ox.NamedNode):
        return store.contains_named_graph(graph)
    return any(True for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
