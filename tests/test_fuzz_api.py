"""Schemathesis against our own /openapi.json, on a real `skategraph serve` process: every operation
the document declares, fed what it declares and what it does not (positive and negative cases, the
coverage phase's edge values, methods it does not list), with a fixed seed and a bounded number of
cases per operation.

Required of every answer: no 5xx (`no_server_error` in tests/fuzz_hooks.py: a 503 at the time limit is
the one allowed), its status declared for the operation, its content type declared, its body valid
against the declared schema, its headers as declared; invalid input rejected with a 4xx; an
undeclared method a 405 with `Allow`. Left out: `positive_data_acceptance`, which expects every
schema-valid request to succeed, and a SPARQL query cannot be described by a JSON schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import Server, seed_server

SEED = "12"
CASES_PER_OPERATION = "40"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    with seed_server(tmp_path_factory.mktemp("fuzz-api"), seed=seed_dir) as running:
        yield running


def test_every_declared_operation_keeps_its_document(server: Server, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
         "--seed", SEED, "--max-examples", CASES_PER_OPERATION, "--mode", "all",
         "--phases", "examples,coverage,fuzzing", "--checks", "all",
         "--exclude-checks", "not_a_server_error,positive_data_acceptance",
         "--workers", "2", "--continue-on-failure", "--no-color", "--report", "ndjson", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("fuzz_hooks.py"))},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "Operations:       " in done.stdout, done.stdout


def test_graph_store_writes_with_the_token_keep_their_document(server: Server, tmp_path: Path) -> None:
    """The same, for /store's writes made with the bearer token: real changes, each a new store version."""
    done = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json", "--include-path", "/store",
         "--header", "Authorization: Bearer secret",
         "--seed", SEED, "--max-examples", "20", "--mode", "all",
         "--phases", "examples,coverage,fuzzing", "--checks", "all",
         "--exclude-checks", "not_a_server_error,positive_data_acceptance",
         "--workers", "1", "--continue-on-failure", "--no-color", "--report", "ndjson", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("fuzz_hooks.py"))},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Operations:       4 selected" in done.stdout, done.stdout
