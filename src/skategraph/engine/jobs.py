"""The jobs the engine evaluates, and the messages between the web process and a worker.

A job is plain, picklable data: it crosses a pipe to a worker process. Bound values travel as
pyoxigraph terms (they pickle), never as text to be parsed back; `evaluate` writes them into the query
as a VALUES block (`skategraph.sparql.values`), as a remote store must be sent them (issue 15).
`evaluate` runs a query job on a store in this process: the worker calls it, and so does the CLI, so
both evaluate alike. A `TaskJob` is work of a layer above that is Python rather than SPARQL
(reconciliation's scoring) and must stop at its time limit all the same; the engine runs it without
knowing what it is.

The wire, worker to web process, one message each:

    R          once, when a new worker is ready for jobs (before it, it is given none)
    H + JSON   the head: status, form (select/ask/graph), truncated; sent with the first data, so a
               query that produces nothing before its deadline still gets a clean 503
    D + bytes  a chunk of the serialised body (backpressure: the pipe blocks a worker whose client
               reads slowly, so memory stays bounded)
    E [+ JSON] the end (a change's or a task's result rides on it)
    C + len + JSON + bytes   head, whole body and end in one message, for an answer that fits in one
               chunk: most answers, and one pipe round trip instead of three
    X + JSON   an error before the head: its class, message and details
    A + JSON   an error after the head: the response must be dropped, not completed
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from skategraph.errors import (
    BadParameter,
    BuildError,
    GenerationGone,
    GraphNotFound,
    NotAcceptable,
    OutboundRefused,
    QueryError,
    QueryTimeout,
    ResultCapped,
    SkategraphError,
    StoreChanged,
    StoreNotFound,
    StoreUnavailable,
    WorkerFailed,
)
from skategraph.graph.vocab import PREFIXES
from skategraph.sparql.text import REMEMBERED_TEXT, check_nesting, check_outbound, check_standard_functions, read
from skategraph.sparql.values import bind_values
from skategraph.store.base import GraphStore, QueryResult

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Spool:
    """Where a worker holds a SELECT answer until it knows whether the row limit cut it: `size` bytes
    in memory, the rest in an unnamed temporary file in `folder` (None: the system's, `TMPDIR`), which
    the kernel removes when it is closed or its worker is killed."""

    size: int = 4 * 1024 * 1024
    folder: str | None = None


SPOOL = Spool()
Bound = tuple[tuple[str, ox.NamedNode | ox.Literal], ...]  # variable name without '?', value


@dataclass(frozen=True)
class QueryJob:
    generation: str
    query: str
    results_format: str | None = None  # for SELECT and ASK; None if the client accepts none
    graph_format: str | None = None  # for CONSTRUCT and DESCRIBE
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    row_limit: int = 0  # 0: no limit
    truncated_links: tuple[str, ...] = ()
    substitutions: Bound = ()
    base_iri: str | None = None
    offset: int = 0  # SELECT rows to skip (a saved query's pages)
    hidden: tuple[str, ...] = ()  # SELECT columns to leave out (a saved query's parameter variables)
    # A graph for a client that accepts only SPARQL results, as ?subject ?predicate ?object rows
    # (/sparql, for roqet); elsewhere such a client gets 406.
    graph_as_rows: bool = False
    # Seconds the answer may take, for a store whose engine is elsewhere (a remote store's server is
    # told it, and our call to it gives up at it); an embedded store's worker is killed at it instead.
    time_limit: float | None = None

    def bound_iris(self) -> dict[str, str]:
        """The variables bound to IRIs, by name: what a `SERVICE ?variable` would fetch."""
        return {name: term.value for name, term in self.substitutions if isinstance(term, ox.NamedNode)}


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


# A task's function: (the generation's store, the worker's memo for that generation, the argument)
# -> a JSON value. The memo keeps what a task derives from a generation once (an index) for the
# next task on it; it is dropped with the generation.
Task = Callable[[GraphStore, dict[str, Any], Any], Any]


@dataclass(frozen=True)
class TaskJob:
    """Run `task` on `generation` in a worker, which the pool kills at the deadline as it kills a query.

    `task` must be a module-level function: it crosses the pipe by reference (its module and name),
    so the engine names no layer above it. `argument` is plain, picklable data.
    """

    generation: str
    task: Task
    argument: Any = None


@dataclass(frozen=True)
class Reply:
    """The head of a query's answer, and its body as it arrives."""

    form: str  # select, ask, graph
    media_type: str
    truncated: bool
    body: Iterator[bytes]
    generation: str = ""  # the one it was answered from


def admit(job: QueryJob | ChangeJob, allowed: frozenset[str], *, remote: bool = False) -> None:
    """Refuse a job that would fetch a URL not on the allow-list, or nests deeper than the engine's
    parser can take, before it reaches a worker; for a `remote` store, also one that calls a function
    of the server's own (`check_standard_functions`)."""
    if isinstance(job, QueryJob):
        if not job.substitutions and len(job.query) <= REMEMBERED_TEXT:
            _admit_query(job.query, allowed, job.base_iri, remote)  # the same text admitted before
            return
        _check_query(job.query, allowed, job.bound_iris(), job.base_iri, remote)
    elif job.kind == "update":
        found = read(job.text)
        check_nesting(found)
        check_outbound(found, allowed, PREFIXES, base=job.base_iri)


def _check_query(query: str, allowed: frozenset[str], bound: dict[str, str], base: str | None, remote: bool) -> None:
    found = read(query)
    check_nesting(found)
    check_outbound(found, allowed, PREFIXES, bound, base)
    if remote:
        check_standard_functions(found, PREFIXES, base)


@functools.lru_cache(maxsize=512)
def _admit_query(query: str, allowed: frozenset[str], base: str | None, remote: bool) -> None:
    """`_check_query` of a text with nothing bound in, remembered when it passes (a refusal raises,
    and is never remembered): the same lookup sent again is admitted without reading it again."""
    _check_query(query, allowed, {}, base, remote)


def evaluate(store: GraphStore, job: QueryJob) -> QueryResult:
    """Evaluate a query job on a store (embedded, or a remote one behind the same protocol) from this
    process: its dataset, bound values and base.

    The bound values are written into the text as a VALUES block at the start of its WHERE group
    (`skategraph.sparql.values`), as a remote store must be sent them, rather than given to pyoxigraph's
    `substitutions=`: one binding that answers the same on every store (issue 15).
    """
    try:
        return store.query(
            bind_values(job.query, job.substitutions),
            default_graph=[_graph(g) for g in job.default_graphs] if job.default_graphs is not None else None,
            named_graphs=[ox.NamedNode(g) for g in job.named_graphs] if job.named_graphs is not None else None,
            base_iri=job.base_iri,
            timeout=job.time_limit,
        )
    except (OSError, ValueError, RuntimeError) as error:  # RuntimeError: e.g. an unknown custom function
        raise QueryError(f"the query could not be evaluated: {error}") from None


def _graph(name: str) -> ox.NamedNode | ox.DefaultGraph:
    """A graph named in a job: an IRI, or "" for the store's own default graph."""
    return ox.NamedNode(name) if name else ox.DefaultGraph()


# Errors a worker reports by class name; any other is rebuilt as the base class.
_SENT = (QueryError, BadParameter, OutboundRefused, NotAcceptable, WorkerFailed, GraphNotFound, StoreChanged,
         QueryTimeout, StoreUnavailable, GenerationGone, StoreNotFound, BuildError, ResultCapped)  # fmt: skip
ERRORS: dict[str, type[SkategraphError]] = {cls.__name__: cls for cls in (*_SENT, SkategraphError)}


def encode_error(error: SkategraphError) -> bytes:
    return json.dumps({"error": type(error).__name__, "message": str(error), **error.details()}).encode()


def decode_error(payload: bytes) -> SkategraphError:
    data: Mapping[str, Any] = json.loads(payload)
    cls = ERRORS.get(data["error"], SkategraphError)
    if issubclass(cls, QueryError):
        return cls(data["message"], line=data.get("line"), column=data.get("column"))
    if cls is ResultCapped:
        return ResultCapped(data["message"], rows=int(data.get("rows", 0)))
    return cls(data["message"])


def head(form: str, format_name: str, truncated: bool) -> dict[str, Any]:
    return {"form": form, "format": format_name, "truncated": truncated}
