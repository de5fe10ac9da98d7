"""What the web views ask for, in terms of the core: the current generation, queries, changes, auth.

A rebuild or an update swaps the store's `current` generation; every request looks it up afresh (a
`readlink`), so the swap is picked up by the next request with none failing. Workers reopen the new
generation on their next job.

Queries go to the killable workers, with two exceptions, which run in this process on the
generation opened read-only here and save the hop to a worker (issue 14): our own bounded SELECTs (a
page's, whose cost grows with the resource it shows and not with the store: `select_here`), and a
client's query that is one triple pattern read up to a known number of solutions
(`skategraph.sparql.bounded`), answered by the worker's own code. Any other client's text runs in a
worker: only a worker can be killed at its time limit.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pyoxigraph as ox
from flask import current_app

from skategraph.engine.jobs import Bound, ChangeJob, QueryJob, Reply, TaskJob, admit, evaluate
from skategraph.engine.pool import Pool, kept_body
from skategraph.engine.pool import reply as reply_of
from skategraph.engine.worker import answer_here
from skategraph.errors import Forbidden, GenerationGone, QueryError, ReadOnly, Unauthorized
from skategraph.linking.extend import extend_batch
from skategraph.linking.reconcile import ENTITIES, Index, Query, reconcile_batch
from skategraph.saved.catalogue import Catalogue, load_catalogue
from skategraph.saved.lookups import Lookups, lookup_queries, lookups_from
from skategraph.sparql import bounded
from skategraph.sparql.results import json_term
from skategraph.store import generations
from skategraph.store.address import ATTEMPTS as SWITCH_ATTEMPTS
from skategraph.store.address import StoreAt, open_generation, sync
from skategraph.store.base import read_manifest
from skategraph.store.embedded import EmbeddedStore
from skategraph.store.remote import RemoteStore
from skategraph.web.settings import Settings

T = TypeVar("T")
Row = dict[str, dict[str, str]]
# The shortest time limit a request may ask for: below it, every request would be a killed and
# respawned worker (a flood of timeout=1e-9 cut tiny-query throughput by 72%, issue 12).
MIN_TIMEOUT = 0.1
HEALTH_WAIT = 5.0  # seconds /health waits for a remote store's server
SYNC_EVERY = 1.0  # seconds: how stale a remote store's build may be when a request starts
# The most solutions a client's query may read to be answered in this process instead of a worker:
# one past the default row limit, so a lookup with no LIMIT of its own qualifies.
HERE_READS = 10_001
# The most solutions a query answered here may read when its caller cannot wait long (the event loop,
# `web.inloop`): past them it raises errors.HandedOn, and the caller hands the request on.
AT_ONCE: contextvars.ContextVar[int | None] = contextvars.ContextVar("at_once", default=None)


def get_service() -> Service:
    """The service of the app handling the current request."""
    found: Service = current_app.extensions["skategraph"]
    return found


class Service:
    def __init__(self, settings: Settings, pool: Pool | None = None) -> None:
        self.settings = settings
        self.catalogue: Catalogue = load_catalogue(settings.queries)  # before the pool: a broken file stops us
        # A remote store's workers ask its server, so they keep the network; the SERVICE and LOAD check
        # (`admit`) still reads every query before it is sent.
        offline = not settings.allow_service and settings.remote is None
        self.pool = pool or Pool(settings.workers, offline=offline, remote=settings.remote)
        self.pool.start()
        self._manifests: dict[str, dict[str, Any]] = {}
        self._derived: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()
        self._holds = generations.Holds(settings.store)
        # (pid, generation, store) of `select_here`
        self._opened: tuple[int, str, EmbeddedStore | RemoteStore] | None = None
        # a remote store's: when its mirror was last brought up to its server, and to what (None: never)
        self._synced: tuple[float, Path] | None = None

    def close(self) -> None:
        self.pool.close()
        self._holds.close()

    def stop_within(self, seconds: float) -> None:
        """The server is shutting down: a request still waiting for a worker `seconds` from now is cut
        (503 `server_stopping`), so none holds the shutdown longer."""
        self.pool.stop_by(time.monotonic() + seconds)

    # -- the store -------------------------------------------------------------------------

    def generation(self) -> Path:
        """The generation in place. For a remote store, its mirror's, brought up to the server's build
        at most once every SYNC_EVERY seconds: a rebuild elsewhere is served within that."""
        if self.settings.remote is None:
            return generations.current(self.settings.store)
        now = time.monotonic()
        if self._synced is not None and now - self._synced[0] < SYNC_EVERY:
            return self._synced[1]
        limit = self.settings.timeout
        generation = sync(StoreAt(self.settings.store, self.settings.remote), wait=limit, timeout=limit)
        self._synced = (now, generation)
        return generation

    def check_store(self) -> None:
        """Raise (StoreUnavailable, 503) if the store cannot answer now: a remote store's server is
        asked, briefly; the embedded store is on this machine."""
        if self.settings.remote is not None:
            RemoteStore(self.settings.remote).health(timeout=min(HEALTH_WAIT, self.settings.timeout))

    def manifest(self, generation: Path | None = None) -> dict[str, Any]:
        """The manifest of a generation (default: the current one), read once."""
        generation = generation or self.generation()
        with self._lock:
            if generation.name not in self._manifests:
                manifest = read_manifest(generation)
                self._manifests.clear()
                self._manifests[generation.name] = manifest
            return self._manifests[generation.name]

    def job(self, text: str, *, generation: Path | None = None, **fields: Any) -> QueryJob:
        """A query job on `generation` (default: the current one); `fields` set the rest."""
        return QueryJob(str(generation or self.generation()), text, **fields)

    def select(
        self, text: str, substitutions: Bound = (), generation: Path | None = None
    ) -> list[dict[str, dict[str, str]]]:
        """A SELECT's rows as SPARQL JSON bindings (name -> {type, value, ...}), run in a worker."""
        job = self.job(text, generation=generation, results_format="json", substitutions=substitutions)
        reply = self.query(job, self.settings.timeout)
        rows: list[dict[str, dict[str, str]]] = json.loads(b"".join(reply.body))["results"]["bindings"]
        return rows

    def select_here(self, text: str, substitutions: Bound = (), generation: Path | None = None) -> list[Row]:
        """The rows `select` would give, evaluated in this process: for our own bounded SELECTs only
        (a page's), never a client's text, since nothing here stops a query at the time limit. The
        generation is held until the rows are read, so a rebuild meanwhile cannot remove it."""
        generation, release = self.hold(generation or self.generation())
        try:
            job = self.job(text, generation=generation, substitutions=substitutions)
            result = evaluate(self._store_here(generation), job)
            assert isinstance(result, ox.QuerySolutions), "select_here is for SELECT queries"
            names = [variable.value for variable in result.variables]
            return [
                {
                    name: cast(dict[str, str], json_term(term))
                    for name, term in zip(names, solution, strict=True)
                    if term is not None
                }
                for solution in result
            ]
        finally:
            release()

    def _store_here(self, generation: Path) -> EmbeddedStore | RemoteStore:
        """`generation` opened read-only in this process: the current one is kept open for the next
        request; opened after the fork (a store is never shared with a parent process), and reopened
        when the store changes."""
        pid = os.getpid()
        with self._lock:
            opened = self._opened
            if opened is not None and opened[:2] == (pid, generation.name):
                return opened[2]
        store = open_generation(generation, self.settings.remote, self.manifest(generation))
        if generation == self.generation():
            with self._lock:
                self._opened = (pid, generation.name, store)
        return store

    def ask(self, text: str, substitutions: Bound = ()) -> bool:
        job = self.job(text, results_format="json", substitutions=substitutions)
        answer: bool = json.loads(b"".join(self.query(job, self.settings.timeout).body))["boolean"]
        return answer

    def derived(self, name: str, make: Callable[[Path], T]) -> T:
        """Something computed from the current generation (by queries, in the workers or here), kept until
        the store changes: `make` runs once per generation and name. It may be a table filled as it is
        asked (`sections.season_end`)."""
        generation = self.generation()
        with self._lock:
            if (name, generation.name) in self._derived:
                return cast(T, self._derived[(name, generation.name)])
        found = make(generation)
        with self._lock:
            self._derived = {k: v for k, v in self._derived.items() if k[1] == generation.name}
            self._derived[(name, generation.name)] = found
        return found

    def values(self, text: str, generation: Path) -> list[dict[str, str]]:
        """A SELECT's rows as plain values (name -> value)."""
        return [{name: term["value"] for name, term in row.items()} for row in self.select(text, generation=generation)]

    def lookups(self) -> Lookups:
        """What saved-query parameters resolve against."""
        return self.derived(
            "lookups",
            lambda generation: lookups_from(
                {text: self.values(text, generation) for text in lookup_queries(self.catalogue)}
            ),
        )

    def reconciliation_index(self) -> Index:
        """The entities reconciliation matches names against."""
        base = self.manifest()["base"]
        return self.derived("reconcile", lambda generation: Index.from_rows(self.values(ENTITIES, generation), base))

    # -- work ------------------------------------------------------------------------------

    def limit(self, requested: str | None) -> float:
        """The time limit of a request: the server's, or less if the request asks (`timeout=`)."""
        if requested is None or requested == "":
            return self.settings.timeout
        try:
            seconds = float(requested)
        except ValueError:
            raise QueryError(f"timeout must be a number of seconds, not {requested!r}") from None
        if not seconds >= MIN_TIMEOUT:  # also NaN
            raise QueryError(f"timeout must be at least {MIN_TIMEOUT:g} seconds (a shorter one would only cost a "
                             f"worker), not {requested!r}")  # fmt: skip
        return min(seconds, self.settings.timeout)

    def reconcile(self, queries: tuple[tuple[str, Query], ...], limit: float) -> dict[str, list[dict[str, Any]]]:
        """Each query's candidates by key, matched in a worker that is killed at `limit`."""
        generation, release = self.hold(self.generation())
        try:
            found: dict[str, list[dict[str, Any]]] = self.pool.run(
                TaskJob(str(generation), reconcile_batch, queries), limit
            )
        finally:
            release()
        return found

    def extend(self, ids: tuple[str, ...], properties: tuple[str, ...], limit: float) -> dict[str, Any]:
        """The values of `properties` for each of `ids` (data extension), found in a worker that is
        killed at `limit`."""
        generation, release = self.hold(self.generation())
        try:
            found: dict[str, Any] = self.pool.run(TaskJob(str(generation), extend_batch, (ids, properties)), limit)
        finally:
            release()
        return found

    def query(self, job: QueryJob, limit: float) -> Reply:
        """Run a query on its generation, which is held from now until its answer is written: a job
        queued behind busy workers keeps it through any number of writes (a generation removed before
        the hold was taken is swapped for the current one).

        On a remote store an answer that overlapped a switch of builds in the server is never served
        (`RemoteStore`): the query runs again on the build switched in, within the same time limit."""
        admit(job, self.settings.allow_service, remote=self.settings.remote is not None)
        deadline, attempts = time.monotonic() + limit, 1
        while True:
            try:
                return self._query(job, limit)
            except GenerationGone:
                limit = deadline - time.monotonic()
                if self.settings.remote is None or attempts == SWITCH_ATTEMPTS or limit < MIN_TIMEOUT:
                    raise
                attempts += 1
                self._synced = None  # bring the mirror up to the server's build now
                job = dataclasses.replace(job, generation=str(self.generation()))

    def _query(self, job: QueryJob, limit: float) -> Reply:
        generation, release = self.hold(_path(job.generation))
        if str(generation) != job.generation:
            job = dataclasses.replace(job, generation=str(generation))
        if self.answers_here(job):
            try:
                messages = answer_here(job, self._store_here(generation), most=AT_ONCE.get())
            finally:
                release()
            return reply_of(job, messages[0], lambda: kept_body(messages[1:]))
        if self.settings.remote is not None:
            job = dataclasses.replace(job, time_limit=limit)
        try:
            reply = self.pool.query(job, limit)
        except BaseException:
            release()
            raise
        return dataclasses.replace(reply, body=_releasing(reply.body, release))

    def answers_here(self, job: QueryJob) -> bool:
        """Whether `job` is answered in this process: an embedded store's, on its own dataset, with
        nothing bound in, whose text is one triple pattern that reads at most HERE_READS solutions
        (`skategraph.sparql.bounded`)."""
        if self.settings.remote is not None or job.substitutions or job.offset:
            return False
        if job.default_graphs is not None or job.named_graphs is not None:
            return False
        reads = bounded.needed(job.query, job.row_limit + 1 if job.row_limit else None)
        return reads is not None and reads <= HERE_READS

    def hold(self, generation: Path) -> tuple[Path, Callable[[], None]]:
        """`generation`, held against pruning until the function returned is called; if it was removed
        before it could be held, the current generation (the store changed meanwhile), held."""
        for _attempt in range(3):
            try:
                return generation, self._holds.take(generation)
            except GenerationGone:
                generation = self.generation()
        raise GenerationGone("the store changed three times while the request was being started; try again")

    def change(self, job: ChangeJob, limit: float) -> dict[str, Any]:
        """Apply a change to a copy of the current generation and swap it in, all within `limit`."""
        admit(job, self.settings.allow_service, remote=self.settings.remote is not None)
        # A remote store's mirror is brought up to its server before the mirror's writer lock is taken
        # (bringing it up takes that lock); the worker checks the server still has it when it writes.
        synced = self.generation() if self.settings.remote is not None else None
        with generations.writing(self.settings.store, generations.new_id(), wait=limit) as target:
            source = synced or self.generation()
            outcome = self.pool.change(dataclasses.replace(job, source=str(source), target=str(target)), limit)
        self._synced = None  # a remote store's: the mirror has moved on, and this process sees it now
        outcome["build_id"] = target.name
        return outcome

    def authorise(self, header: str | None) -> None:
        """Writes need the configured bearer token; with none configured, nothing is written."""
        token = self.settings.update_token
        if not token:
            raise ReadOnly("this endpoint is read-only: the server has no update token (SKATEGRAPH_UPDATE_TOKEN)")
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.casefold() != "bearer" or not credentials.strip():  # the scheme is case-insensitive (RFC 9110)
            raise Unauthorized("writes need an 'Authorization: Bearer <token>' header")
        if not hmac.compare_digest(credentials.strip().encode(), token.encode()):
            raise Forbidden("the bearer token is not the one this server accepts")


@functools.lru_cache(maxsize=16)
def _path(generation: str) -> Path:
    """A generation's directory from its name in a job, made once (every query asks)."""
    return Path(generation)


def _releasing(body: Iterator[bytes], release: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from body
    finally:
        release()
