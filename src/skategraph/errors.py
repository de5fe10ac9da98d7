"""The exceptions skategraph raises for conditions a user can act on.

Every error carries a `status` (the HTTP status a web shell would answer with) and a message written
for people. Only the shells (CLI, web) turn these into exit codes or responses.
"""

from __future__ import annotations


class SkategraphError(Exception):
    """Base class: something the user asked for could not be done, and the message says why."""

    status = 500

    @property
    def code(self) -> str:
        """A stable, machine-readable name for the condition: the class name in snake case."""
        name = type(self).__name__
        return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class SourceError(SkategraphError):
    """A season article does not have the layout we expect, at a known file and line."""

    status = 422

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        super().__init__(f"{source}, line {line}: {message}")


class BuildError(SkategraphError):
    """A build could not complete; the store that was in place is untouched."""

    status = 500


class StoreNotFound(SkategraphError):
    """No store has been built at the given path yet."""

    status = 503


class QueryError(SkategraphError):
    """A SPARQL query could not be parsed or run."""

    status = 400


class ValidationFailed(SkategraphError):
    """The graph does not conform to the SHACL shapes."""

    status = 422


class QueryTimeout(SkategraphError):
    """A query or update ran past its time limit and was stopped."""

    status = 503


class Busy(SkategraphError):
    """Every query worker stayed busy for the whole time limit."""

    status = 503


class NotAcceptable(SkategraphError):
    """The result cannot be given in any format the client accepts."""

    status = 406


class WorkerFailed(SkategraphError):
    """A query worker died while evaluating a request; a new one has been started."""

    status = 500


class StreamAborted(SkategraphError):
    """A response had started and could not be finished; the connection must be dropped, not ended."""

    status = 503


class GraphNotFound(SkategraphError):
    """A Graph Store request names a graph the store does not have."""

    status = 404
