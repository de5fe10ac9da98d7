"""The server's settings, declared once: name, default, environment variable and help.

The CLI builds its `serve` options from this table and passes a `Settings` to `create_app`; nothing
else reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skategraph.store.remote import Remote


@dataclass(frozen=True)
class Settings:
    store: Path  # the store's directory (a remote store's mirror: see skategraph.store.address)
    remote: Remote | None = None  # the server keeping the data, for a remote store
    timeout: float = 30.0
    row_limit: int = 10_000
    max_body: int = 8 * 1024 * 1024
    workers: int = 2  # per web process: one can run away while the other answers
    update_token: str | None = None
    allow_service: frozenset[str] = frozenset()
    cache_max_age: int = 60
    cache_mb: int = 64
    reconcile_batch: int = 100  # queries in one /reconcile batch; OpenRefine sends 10 at a time
    queries: tuple[Path, ...] = ()  # the user's own saved-query directories, beside the bundled ones


# (field, environment variable, help) for everything `skategraph serve` can be told.
SERVE_OPTIONS = [
    ("timeout", "SKATEGRAPH_TIMEOUT",
     "Longest a query or update may run, in seconds; a request may ask for less with timeout=."),
    ("row_limit", "SKATEGRAPH_ROW_LIMIT", "Most rows a SELECT returns (0: no limit); a cut result says so."),
    ("max_body", "SKATEGRAPH_MAX_BODY", "Largest request body in bytes; larger ones get 413."),
    ("workers", "SKATEGRAPH_WORKERS",
     "Query worker processes per web process (default 2: one may run away while the other answers)."),
    ("update_token", "SKATEGRAPH_UPDATE_TOKEN",
     "Bearer token that allows SPARQL Update and Graph Store writes; without one the endpoint is read-only."),
    ("allow_service", "SKATEGRAPH_ALLOW_SERVICE",
     "An endpoint SERVICE and LOAD may fetch (repeatable; space-separated in the variable). None by default."),
    ("cache_max_age", "SKATEGRAPH_CACHE_MAX_AGE", "Seconds a proxy may cache a GET result (Cache-Control max-age)."),
    ("cache_mb", "SKATEGRAPH_CACHE_MB",
     "Memory for repeated GET query answers, in MiB (0: none); entries belong to one store version."),
    ("reconcile_batch", "SKATEGRAPH_RECONCILE_BATCH",
     "Most queries in one /reconcile batch (OpenRefine sends 10); a larger batch gets 400."),
    ("queries", "SKATEGRAPH_QUERIES",
     "A directory of your own saved queries, beside the bundled ones (repeatable; ':'-separated in the variable)."),
]  # fmt: skip
