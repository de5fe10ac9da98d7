"""The exceptions skategraph raises for conditions a user can act on.

Every error carries a `status` (the HTTP status a web shell would answer with) and a message written
for people. Only the shells (CLI, web) turn these into exit codes or responses.
"""

from __future__ import annotations


class SkategraphError(Exception):
    """Base class: something the user asked for could not be done, and the message says why."""

    status = 500


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
