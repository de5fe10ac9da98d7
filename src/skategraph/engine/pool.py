"""The pool of query workers, on the web process's side: a job takes a worker for its duration.

At the deadline the worker is killed (SIGKILL: its CPU is freed at once) and a new one is started in
the background. The messages a worker sends are described in `skategraph.engine.jobs`.

When the server shuts down it gives the pool a stop time (`stop_by`), before the end of its grace
period: a job still running then is killed and its request answered `ServerStopping`, so no request
holds the shutdown past the grace, after which gunicorn would kill the web process mid-answer (a
long reconciliation batch did, issue 12). Waits look at the stop time every `STOP_POLL` seconds; an
answer that comes ends a wait at once.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import multiprocessing.connection
import queue
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from skategraph.engine.jobs import SPOOL, ChangeJob, DumpJob, QueryJob, Reply, Spool, TaskJob, decode_error
from skategraph.engine.worker import worker_main
from skategraph.errors import Busy, QueryTimeout, ServerStopping, SkategraphError, StreamAborted, WorkerFailed
from skategraph.sparql import formats
from skategraph.store.remote import Remote

log = logging.getLogger("skategraph.workers")
READY_WAIT = 60.0  # seconds a new worker may take to start
STOP_POLL = 0.5


@dataclass(eq=False)  # identity, not value: workers go in sets
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    # Waits on the pipe, set up once: Connection.poll builds and drops a selector on every call, which
    # was a tenth of the pool's time per small query.
    poller: select.poll = field(default_factory=select.poll)

    def __post_init__(self) -> None:
        self.poller.register(self.conn.fileno(), select.POLLIN)

    def readable(self, seconds: float) -> bool:
        """Whether the worker has sent something (or gone) within `seconds`."""
        return bool(self.poller.poll(seconds * 1000))


class Pool:
    """A fixed number of worker processes; a job takes one for its duration, or fails at its deadline."""

    def __init__(self, size: int, offline: bool = False, spool: Spool = SPOOL, remote: Remote | None = None) -> None:
        """`offline`: the workers can open no network socket (`skategraph.engine.sandbox`); `spool`:
        how much of a SELECT answer a worker holds in memory before its head is sent; `remote`: the
        server that keeps the data, for a remote store (its workers ask it instead of opening a
        database)."""
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        self.size = size
        self.offline = offline
        self.spool = spool
        self.remote = remote
        self._context = multiprocessing.get_context("spawn")
        # The worker done last takes the next job: its caches (the CPU's, the store's blocks) are warm.
        # Taken in turn, a heavy query answered one at a time cost 16.8-24 ms against 16.2 ms so, 15 ms
        # in-process (issue 14).
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._closed = False
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._stop_at: float | None = None  # time.monotonic() at which every job is cut

    def start(self) -> None:
        """Start every worker (side by side) and return once they are ready for jobs."""
        for worker in [self._launch() for _ in range(self.size)]:
            if self._ready(worker):
                self._idle.put(worker)
            else:
                self._respawn_later()

    def _launch(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=worker_main,
            args=(child, self.offline, self.spool, self.remote),
            daemon=True,
            name="skategraph-worker",
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._all.add(worker)
        return worker

    def _ready(self, worker: _Worker) -> bool:
        """Wait for a new worker to say it is ready: only then is it given jobs. A worker still starting
        (interpreter, imports, sandbox: a few hundred ms) would otherwise be given a job with a short
        time limit, be killed before it began, and its replacement the same, over and over."""
        try:
            if worker.conn.poll(READY_WAIT) and worker.conn.recv_bytes() == b"R":
                return True
        except (EOFError, OSError):
            pass
        log.error("a query worker (pid %s) did not start; starting another", worker.process.pid)
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        with self._lock:
            self._all.discard(worker)
        return False

    def _respawn(self) -> None:
        while not self._closed and not self._stopped():
            worker = self._launch()
            if self._ready(worker):
                self._idle.put(worker)
                return
            time.sleep(1)

    def _respawn_later(self) -> None:
        threading.Thread(target=self._respawn, daemon=True).start()

    def _replace(self, worker: _Worker, why: str) -> None:
        """Kill `worker` now and start a new one in the background."""
        log.warning("stopping a query worker (pid %s): %s", worker.process.pid, why)
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        with self._lock:
            self._all.discard(worker)
        if not self._closed and not self._stopped():
            self._respawn_later()

    def stop_by(self, when: float) -> None:
        """The server is shutting down: no job runs past `when` (a `time.monotonic()`)."""
        self._stop_at = when

    def _stopped(self) -> bool:
        return self._stop_at is not None and time.monotonic() >= self._stop_at

    def _wait(self, deadline: float) -> float:
        """How long a wait for a job due at `deadline` may block before it looks again: 0 when the
        deadline or the stop time has passed."""
        end = deadline if self._stop_at is None else min(deadline, self._stop_at)
        return max(0.0, min(end - time.monotonic(), STOP_POLL))

    def _take(self, deadline: float) -> _Worker:
        """An idle worker that is alive: one that died while idle (the OOM killer, an administrator) is
        replaced, and the next one taken."""
        while True:
            if self._stopped():
                raise ServerStopping("the server is stopping; try again once it is back")
            try:
                worker = self._idle.get(timeout=self._wait(deadline))
            except queue.Empty:
                if time.monotonic() >= deadline and not self._stopped():
                    raise Busy("every query worker stayed busy for the whole time limit; try again later") from None
                continue
            if worker.process.is_alive():
                return worker
            self._replace(worker, "it had died while idle")

    def _send(
        self, worker: _Worker, job: QueryJob | ChangeJob | DumpJob | TaskJob, deadline: float, limit: float
    ) -> None:
        """Give `job` to `worker`, unless its time ran out while it waited for one: a job that never
        started costs no worker (killing and respawning one takes far longer than the job would)."""
        if deadline - time.monotonic() <= 0:
            self._idle.put(worker)
            raise QueryTimeout(f"the request was stopped at its time limit of {limit:g} s before it started")
        try:
            worker.conn.send(job)
        except (BrokenPipeError, OSError):
            self._replace(worker, "it died")
            raise WorkerFailed("the query worker stopped unexpectedly; the request was not completed") from None

    def state(self) -> dict[str, int]:
        """How many workers the pool has and how many are alive; dead idle ones are replaced now."""
        with self._lock:
            workers = list(self._all)
        alive = sum(1 for worker in workers if worker.process.is_alive())
        if alive < len(workers):
            self._heal()
        return {"workers": self.size, "alive": alive}

    def _heal(self) -> None:
        kept = []
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker.process.is_alive():
                kept.append(worker)
            else:
                self._replace(worker, "it had died while idle")
        for worker in kept:
            self._idle.put(worker)

    def _receive(self, worker: _Worker, deadline: float, limit: float) -> bytes:
        while not worker.readable(wait := self._wait(deadline)):
            if wait > 0:
                continue
            if self._stopped():
                self._replace(worker, "the server is stopping")
                raise ServerStopping("the server is stopping and cut the request short; try again once it is back")
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
        self._send(worker, job, deadline, limit)
        message = self._receive(worker, deadline, limit)
        tag = message[:1]
        if tag in (b"X", b"C"):
            self._idle.put(worker)
        elif tag != b"H":
            self._replace(worker, f"unexpected message {tag!r}")
            raise WorkerFailed("the query worker answered out of turn")
        return reply(job, message, lambda: self._body(worker, deadline, limit))

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
                    raise StreamAborted(str(decode_error(payload)))
        finally:
            if not finished:
                # The client went away mid-answer: the worker may still be writing into the pipe.
                self._replace(worker, "its client disconnected")

    def change(self, job: ChangeJob | DumpJob, limit: float) -> dict[str, Any]:
        """Run a change (update or Graph Store write) or a dump to completion, or kill it at the deadline."""
        result: dict[str, Any] = self._complete(job, limit) or {}
        return result

    def run(self, job: TaskJob, limit: float) -> Any:
        """Run a task to completion, or kill it at the deadline; its result."""
        return self._complete(job, limit)

    def _complete(self, job: ChangeJob | DumpJob | TaskJob, limit: float) -> Any:
        """The result that rides on a job's end message (None if none), once it has run to completion."""
        deadline = time.monotonic() + limit
        worker = self._take(deadline)
        self._send(worker, job, deadline, limit)
        message = self._receive(worker, deadline, limit)
        self._idle.put(worker)
        if message[:1] == b"X":
            raise decode_error(message[1:])
        return json.loads(message[1:]) if len(message) > 1 else None

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


def reply(job: QueryJob, first: bytes, rest: Callable[[], Iterator[bytes]]) -> Reply:
    """The reply whose first message from the worker is `first` (X, C or H); `rest` reads the body's
    messages after an H."""
    tag, payload = first[:1], first[1:]
    if tag == b"X":
        raise decode_error(payload)
    if tag == b"C":
        length = int.from_bytes(payload[:4], "big")
        form, media_type, truncated = _head(payload[4 : 4 + length])
        body: Iterator[bytes] = iter([payload[4 + length :]])
    else:
        form, media_type, truncated = _head(payload)
        body = rest()
    return Reply(form, media_type, truncated, body, job.generation)


@functools.lru_cache(maxsize=64)
def _head(encoded: bytes) -> tuple[str, str, bool]:
    """(form, media type, truncated) of a reply's head, read once for each kind of answer."""
    head = json.loads(encoded)
    return head["form"], _media_type(head["form"], head["format"]), head["truncated"]


def kept_body(messages: list[bytes]) -> Iterator[bytes]:
    """The body of an answer made in this process (`worker.answer_here`), from its messages after the
    head, as `Pool._body` reads them from a worker."""
    for message in messages:
        tag, payload = message[:1], message[1:]
        if tag == b"D":
            yield payload
        elif tag == b"A":
            raise StreamAborted(str(decode_error(payload)))


def _media_type(form: str, name: str) -> str:
    if form == "graph":
        return formats.RDF_FORMATS[name].media_type
    return formats.RESULTS_MEDIA_TYPES[name]
