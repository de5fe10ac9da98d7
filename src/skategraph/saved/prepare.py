"""Preparing a saved query to run: its values bound, its outbound targets checked, the job made.

The one way both shells run a saved query: the CLI evaluates the job in-process
(`skategraph.engine.jobs.evaluate`), the web sends it to a worker. So a wrong value, or a `SERVICE`
the allow-list refuses, gets the same error from either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from skategraph.engine.jobs import QueryJob, admit
from skategraph.saved.binding import bind
from skategraph.saved.lookups import Lookups
from skategraph.saved.query import SavedQuery


def prepare(
    saved: SavedQuery,
    given: Iterable[tuple[str, str]],
    lookups: Callable[[], Lookups],
    allowed: frozenset[str],
    *,
    generation: str,
    **job: Any,
) -> QueryJob:
    """The job that runs `saved` with the values `given` (name, text) on `generation`.

    `lookups` is called only if a value needs the store to be understood; `job` sets the rest of the
    job (formats, row limit, paging). Raises BadParameter or OutboundRefused.
    """
    binding = bind(saved, given, lookups)
    prepared = QueryJob(generation, saved.text, substitutions=binding.bound(), hidden=binding.hidden, **job)
    admit(prepared, allowed)
    return prepared
