"""The worker pool and its workers, driven directly: what a job costs its worker; a SELECT cut at the row limit is spooled (memory,
then an unnamed temporary file) until the worker knows it was cut, and still says so exactly."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from skategraph.engine.jobs import QueryJob, Spool
from skategraph.engine.pool import Pool
from skategraph.errors import QueryTimeout
from skategraph.store import generations
from skategraph.store.embedded import open_store

LINK = "http://127.0.0.1/limits"
# Every triple of the seed ten times over: about 6 MB of JSON, far more than the spool's memory and
# more than the pipe holds, so the worker is still sending from its spool when the head arrives.
QUERY = "SELECT ?s ?p ?o ?n WHERE { ?s ?p ?o . VALUES ?n { 0 1 2 3 4 5 6 7 8 9 } } ORDER BY ?s ?p ?o ?n"


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def pool(spool: Path) -> Iterator[Pool]:
    running = Pool(1, spool=Spool(size=4096, folder=str(spool)))
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def solutions(seed_dir: Path) -> int:
    return len(open_store(seed_dir)) * 10


def _spool_files(pid: int, spool: Path) -> list[str]:
    """The files in `spool` that the worker has open (an unnamed one shows as `#inode (deleted)`)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(spool)):
            found.append(target)
    return found


def _expected(seed_dir: Path, query: str) -> dict[str, object]:
    """pyoxigraph's own SPARQL JSON for `query`, in this process."""
    out = io.BytesIO()
    result = open_store(seed_dir).query(query)
    assert isinstance(result, ox.QuerySolutions)
    result.serialize(out, ox.QueryResultsFormat.JSON)
    data: dict[str, object] = json.loads(out.getvalue())
    return data


def test_a_select_over_the_row_limit_is_spilled_and_says_it_was_cut(
    pool: Pool, spool: Path, seed_dir: Path, solutions: int
) -> None:
    limit = solutions - 1  # one row short: cut, by exactly one
    job = QueryJob(str(generations.current(seed_dir)), QUERY, results_format="json", row_limit=limit,
                   truncated_links=(LINK,), offset=0, hidden=())  # fmt: skip
    reply = pool.query(job, 120)
    (worker,) = multiprocessing.active_children()
    assert worker.pid is not None
    # The head has come and the worker is sending the rest from its spool, which spilled to a file
    # that has no name: nothing is left behind in the folder even if the worker is killed now.
    try:
        spilled = _spool_files(worker.pid, spool)
        named = list(spool.iterdir())
    finally:
        data = json.loads(b"".join(reply.body))
    assert [target for target in spilled if target.endswith("(deleted)")], spilled
    assert named == []
    assert reply.truncated
    assert data["head"] == {"vars": ["s", "p", "o", "n"], "link": [LINK]}
    expected = _expected(seed_dir, f"{QUERY} LIMIT {limit}")
    assert data["results"] == expected["results"]
    assert _spool_files(worker.pid, spool) == []  # closed once the answer was sent


def test_a_select_at_the_row_limit_is_not_cut(pool: Pool, spool: Path, seed_dir: Path, solutions: int) -> None:
    job = QueryJob(str(generations.current(seed_dir)), QUERY, results_format="xml", row_limit=solutions,
                   truncated_links=(LINK,))  # fmt: skip
    reply = pool.query(job, 120)
    body = b"".join(reply.body)
    assert not reply.truncated and b"<link" not in body
    assert body.count(b"<result>") == solutions


def test_offset_and_hidden_columns_through_the_spool(pool: Pool, seed_dir: Path, solutions: int) -> None:
    """A saved query's later page: rows from an offset, its parameter variable left out, and cut."""
    offset, limit = 1000, solutions - 1001
    job = QueryJob(str(generations.current(seed_dir)), QUERY, results_format="json", row_limit=limit,
                   truncated_links=(LINK,), offset=offset, hidden=("o",))  # fmt: skip
    reply = pool.query(job, 120)
    data = json.loads(b"".join(reply.body))
    assert reply.truncated and data["head"] == {"vars": ["s", "p", "n"], "link": [LINK]}
    expected = _expected(
        seed_dir, QUERY.replace("SELECT ?s ?p ?o ?n", "SELECT ?s ?p ?n") + f" OFFSET {offset} LIMIT {limit}"
    )
    assert data["results"] == expected["results"]


def test_a_job_whose_time_ran_out_before_it_started_costs_no_worker(seed_dir: Path) -> None:
    """Issue 12: a job that got its worker only at its deadline was sent anyway, then killed with its
    worker, which was respawned: the cost of a timed-out request that never ran was a new process."""
    pool = Pool(1)
    pool.start()
    try:
        job = QueryJob(str(generations.current(seed_dir)), "ASK {}", results_format="json")
        assert b"".join(pool.query(job, 10).body).endswith(b"true}")
        (before,) = pool._all
        with pytest.raises(QueryTimeout):
            pool.query(job, 0.0)
        assert pool._all == {before} and before.process.is_alive()
        assert b"".join(pool.query(job, 10).body).endswith(b"true}")  # the same worker answers
        assert pool._all == {before}
    finally:
        pool.close()


def test_a_worker_is_given_no_job_before_it_is_ready(seed_dir: Path) -> None:
    """A worker still starting (a new interpreter, its imports) was given a job at once: with a short
    time limit the job was killed with its worker before it began, and so was the next worker."""
    pool = Pool(1)
    pool.start()
    try:
        (worker,) = pool._all
        job = QueryJob(str(generations.current(seed_dir)), "ASK {}", results_format="json")
        assert b"".join(pool.query(job, 0.1).body).endswith(b"true}")  # its store opened, it answered
        assert pool._all == {worker}
    finally:
        pool.close()
