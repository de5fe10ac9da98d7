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


def schemathesis(server: Server, tmp_path: Path, *options: str) -> str:
    """Run schemathesis on the server's document with our seed, every phase and check (but the two
    below), and our hooks: its output, once it has passed."""
    done = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json", *options,
         "--seed", SEED, "--mode", "all", "--phases", "examples,coverage,fuzzing", "--checks", "all",
         "--exclude-checks", "not_a_server_error,positive_data_acceptance",
         "--continue-on-failure", "--no-color", "--report", "ndjson", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("fuzz_hooks.py"))},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_declared_operation_keeps_its_document(server: Server, tmp_path: Path) -> None:
    shown = schemathesis(server, tmp_path, "--max-examples", CASES_PER_OPERATION, "--workers", "2")
    assert " passed" in shown and "Operations:       " in shown, shown


def test_graph_store_writes_with_the_token_keep_their_document(server: Server, tmp_path: Path) -> None:
    """The same, for /store's writes made with the bearer token: real changes, each a new store version."""
    shown = schemathesis(server, tmp_path, "--include-path", "/store", "--header", "Authorization: Bearer secret",
                         "--max-examples", "20", "--workers", "1")  # fmt: skip
    assert "Operations:       4 selected" in shown, shown
