"""The worker pool on its own (skategraph.engine.pool): what a job costs its worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from skategraph.engine.jobs import QueryJob
from skategraph.engine.pool import Pool
from skategraph.errors import QueryTimeout
from skategraph.store import generations


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
