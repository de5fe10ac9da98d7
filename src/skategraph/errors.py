"""Every exception skategraph raises for a condition a user can act on, in one tree.

    SkategraphError                 500  something asked for could not be done; the message says why
    ├── SourceError                 422  a season article is not in a layout we read (file, line)
    │   └── SourceErrors            422  several such problems, in one or more articles, all listed
    ├── LinkFileError               422  a link file is not the TSV it should be
    ├── BuildError                  500  a build could not complete; the store in place is untouched
    │   └── StoreLocked             503  another build or update holds the store; try again
    ├── StoreNotFound               503  no store (or one too old) at the path given
    │   └── GenerationGone          503  a job's generation was replaced and removed; retry on the new
    ├── StoreUnavailable            503  the remote store is down, refuses us or fails; names it, never its credentials
    ├── ResultCapped                502  the remote store cut an answer at its row cap; ask for fewer rows
    ├── ValidationFailed            422  the graph does not conform to the SHACL shapes
    ├── QueryFileError              500  saved query files are broken (every problem, file and line)
    ├── QueryError                  400  a query or update cannot be parsed or run (line, column)
    │   ├── BadParameter            400  a saved query's parameter value is wrong or missing
    │   ├── BadReconciliationQuery  400  a reconciliation batch is not the JSON the API defines
    │   └── OutboundRefused         400  the request would fetch a URL not on the allow-list
    ├── UnsupportedMediaType        415  a request body in a media type we do not read
    ├── NotAcceptable               406  no format the client accepts fits the result
    ├── NotFound                    404  nothing by that name
    │   ├── UnknownQuery            404  no saved query of that name
    │   ├── UnknownResource         404  no IRI of the dataset is the one asked for
    │   └── GraphNotFound           404  a Graph Store request names a graph the store lacks
    ├── Unauthorized                401  a write without a bearer token
    ├── Forbidden                   403  a write with the wrong token
    │   └── ReadOnly                403  no token is configured, so nothing is written
    ├── StoreChanged                409  someone else changed the store while a change was being made
    ├── QueryTimeout                503  stopped at its time limit
    ├── Busy                        503  every query worker stayed busy for the whole time limit
    ├── StreamAborted               503  a response had started and cannot be finished
    ├── ServerStopping              503  the server is shutting down and cut the request; try again
    ├── WorkerFailed                500  a query worker died; a new one has been started
    └── EndpointUnreachable         502  a remote SPARQL endpoint did not answer

One exception is not an error and stands outside the tree: `HandedOn`, raised where a request is
being answered somewhere that must not wait (the web process's event loop) when its answer would
take waiting, or longer than that place allows; the request then goes where it can wait, as if the
first place had never tried. It never reaches a user.

Every error carries a `status` (the HTTP status a web shell answers with), a `code` (a stable name
for the condition: the class name in snake case) and a message written for people; where the
condition has a place (a source line, a query's line and column), it is an attribute. Only the
shells (CLI, web) turn these into exit codes or responses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class SkategraphError(Exception):
    """Base class: something the user asked for could not be done, and the message says why."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "skategraph_error"
    headers: ClassVar[Mapping[str, str]] = {}  # extra response headers (WWW-Authenticate)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = _snake(cls.__name__)

    def details(self) -> dict[str, Any]:
        """What the error says beyond its message, for the JSON error body and the worker pipe."""
        return {}


class SourceError(SkategraphError):
    """A season article does not have the layout we expect, at a known file and line."""

    status = 422

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        super().__init__(f"{source}, line {line}: {message}")


class SourceErrors(SourceError):
    """Every problem found in one or more season articles, each with its file and line; the first
    is the error's own `source`, `line` and `message`."""

    def __init__(self, problems: Sequence[SourceError]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.source, p.line))
        first = self.problems[0]
        super().__init__(first.source, first.line, first.message)
        if len(self.problems) > 1:
            listed = "\n  ".join(str(SourceError(p.source, p.line, p.message)) for p in self.problems)
            self.args = (f"{len(self.problems)} problems in the season articles:\n  {listed}",)

    @staticmethod
    def of(problems: Sequence[SourceError]) -> SourceError:
        """One problem as itself, several as one `SourceErrors`."""
        flat = [
            p for problem in problems for p in (problem.problems if isinstance(problem, SourceErrors) else [problem])
        ]
        return flat[0] if len(flat) == 1 else SourceErrors(flat)


class LinkFileError(SkategraphError):
    """A link file cannot be read as the TSV it should be."""

    status = 422


class BuildError(SkategraphError):
    """A build could not complete; the store that was in place is untouched."""

    status = 500


class StoreLocked(BuildError):
    """Another build or update is writing the store; nothing was changed, and a retry may pass."""

    status = 503


class StoreNotFound(SkategraphError):
    """No store has been built at the given path yet."""

    status = 503


class GenerationGone(StoreNotFound):
    """The generation a job was given has since been replaced and removed; the current one answers."""


class StoreUnavailable(SkategraphError):
    """The remote store (a SPARQL server) did not answer, refused us, or failed; the message names the
    server by its address without credentials."""

    status = 503


class ResultCapped(SkategraphError):
    """The remote store cut an answer at its row cap (Virtuoso's ResultSetMaxRows): what came back is
    not the whole answer, so none of it is served."""

    status = 502

    def __init__(self, message: str, *, rows: int) -> None:
        super().__init__(message)
        self.rows = rows

    def details(self) -> dict[str, Any]:
        return {"rows": self.rows}


class ValidationFailed(SkategraphError):
    """The graph does not conform to the SHACL shapes."""

    status = 422


class QueryFileError(SkategraphError):
    """One or more saved query files are broken; the message lists each problem with its file and line."""

    status = 500

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = f"{len(problems)} problem{'s' * (len(problems) != 1)}"
        super().__init__(f"the saved queries have {count}:\n  " + "\n  ".join(problems))


_POSITION = re.compile(r"error at (\d+):(\d+)")


class QueryError(SkategraphError):
    """A SPARQL query or update could not be parsed or run; a syntax error knows its line and column."""

    status = 400

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column

    @classmethod
    def from_syntax(cls, what: str, error: SyntaxError) -> QueryError:
        """`the query does not parse: ...` from pyoxigraph's SyntaxError, with the position it names
        (pyoxigraph gives it only in the message: `error at 1:8: ...`)."""
        found = _POSITION.search(str(error))
        line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        return cls(f"{what} does not parse: {error}", line=line, column=column)

    def details(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column} if self.line is not None else {}


class BadParameter(QueryError):
    """A saved query was given a parameter value it cannot use, or not given one it needs."""


class BadReconciliationQuery(QueryError):
    """A reconciliation batch that is not the JSON the API defines."""


class OutboundRefused(QueryError):
    """The request would make the server fetch a URL that is not on the allow-list."""


class UnsupportedMediaType(SkategraphError):
    """A request body is in a media type (or charset) that is not read here."""

    status = 415


class NotAcceptable(SkategraphError):
    """The result cannot be given in any format the client accepts."""

    status = 406


class NotFound(SkategraphError):
    """Nothing is known by the name asked for."""

    status = 404


class UnknownQuery(NotFound):
    """No saved query has the name asked for."""


class UnknownResource(NotFound):
    """No IRI of the dataset is the one asked for."""


class GraphNotFound(NotFound):
    """A Graph Store request names a graph the store does not have."""


class Unauthorized(SkategraphError):
    """A write came without the bearer token it needs."""

    status = 401
    headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": 'Bearer realm="skategraph"'}


class Forbidden(SkategraphError):
    """A write came with a token this server does not accept."""

    status = 403


class ReadOnly(Forbidden):
    """No update token is configured, so nothing may be written."""


class StoreChanged(SkategraphError):
    """The store was rebuilt or changed by someone else while a change to it was being made."""

    status = 409


class QueryTimeout(SkategraphError):
    """A query or update ran past its time limit and was stopped."""

    status = 503


class Busy(SkategraphError):
    """Every query worker stayed busy for the whole time limit."""

    status = 503


class StreamAborted(SkategraphError):
    """A response had started and could not be finished; the connection must be dropped, not ended."""

    status = 503


class ServerStopping(SkategraphError):
    """The server is shutting down, and cut a request that would have outlasted its grace period."""

    status = 503


class WorkerFailed(SkategraphError):
    """A query worker died while evaluating a request; a new one has been started."""

    status = 500


class EndpointUnreachable(SkategraphError):
    """A remote SPARQL endpoint did not answer, after every retry."""

    status = 502


class HandedOn(Exception):
    """This request cannot be answered here without waiting, or not within what this place allows; its
    caller hands it to a place that can wait (a request thread) instead."""
