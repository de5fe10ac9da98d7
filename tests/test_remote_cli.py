"""Every command on a remote store (issue 15): build, sparql, query, validate, export, stats and link
with `--store oxigraph+http://...` or `virtuoso+http://...`, against real servers on 127.0.0.1, giving
what the same commands give on an embedded store built from the same article."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skategraph.cli import cli

from .conftest import SEED, replace_line
from .remotes import Server, credentials

SERVERS = ["oxigraph_server", "virtuoso_server"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = str(tmp_path_factory.mktemp("cli-embedded") / "store")
    assert run("build", str(SEED), "--store", store).exit_code == 0
    return store


@pytest.fixture(scope="module", params=SERVERS)
def remote(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The seed built into the server with `skategraph build --store ADDRESS`; the address."""
    server: Server = request.getfixturevalue(request.param)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in credentials(server).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        built = run("build", str(SEED), "--store", server.address)
        assert built.exit_code == 0, built.output
        assert f"at {server.address}" in built.stdout
        yield server.address


def test_stats_are_the_same(remote: str, embedded: str) -> None:
    mine = json.loads(run("stats", "--json", "--store", embedded).stdout)
    theirs = json.loads(run("stats", "--json", "--store", remote).stdout)
    assert theirs["store"] == remote
    assert theirs["triples"] == mine["triples"] > 1000
    assert theirs["classes"] == mine["classes"]
    # The graphs, but for the build's provenance (its IRI names the build)
    assert sorted(theirs["graphs"]) == sorted(mine["graphs"])


def test_sparql_and_saved_queries_print_the_same(remote: str, embedded: str) -> None:
    for args in (
        ("sparql", "SELECT ?name WHERE { ?s a sg:Skater ; rdfs:label ?name } ORDER BY ?name", "--format", "csv"),
        ("sparql", "ASK { ?s a sg:Race }", "--format", "json"),
        ("query", "calendar", "--format", "csv"),
        ("query", "skater_results", "-p", "skater=Ahn Hyun-soo", "--format", "csv"),
        ("query", "medal_table", "-p", "category=women", "--format", "csv"),
    ):
        mine, theirs = run(*args, "--store", embedded), run(*args, "--store", remote)
        assert mine.exit_code == 0, mine.output
        assert theirs.exit_code == 0, theirs.output
        assert sorted(theirs.stdout.splitlines()) == sorted(mine.stdout.splitlines()), args
        assert len(mine.stdout.splitlines()) > 1 or "true" in mine.stdout


def test_export_holds_every_quad(remote: str, tmp_path: Path) -> None:
    output = tmp_path / "dump.nq"
    exported = run("export", "--store", remote, "--output", str(output))
    assert exported.exit_code == 0, exported.output
    stats = json.loads(run("stats", "--json", "--store", remote).stdout)
    quads = [line for line in output.read_text("utf-8").splitlines() if line.strip()]
    assert len(set(quads)) == stats["triples"]


def test_validate_a_remote_store(remote: str) -> None:
    checked = run("validate", "--store", remote)
    assert checked.exit_code == 0, checked.output
    assert f"Valid: {remote} conforms" in checked.stdout


def test_a_failed_build_leaves_the_dataset_in_place(remote: str, tmp_path: Path, seed_text: str) -> None:
    before = json.loads(run("stats", "--json", "--store", remote).stdout)
    broken = tmp_path / "broken.txt"
    broken.write_text(replace_line(seed_text, 1, "this is not a season article"), "utf-8")
    failed = CliRunner().invoke(cli, ["build", str(broken), "--store", remote])
    assert failed.exit_code != 0
    assert "Traceback" not in failed.output
    after = json.loads(run("stats", "--json", "--store", remote).stdout)
    assert after == before


def test_credentials_in_the_address_are_refused(tmp_path: Path) -> None:
    refused = CliRunner().invoke(cli, ["stats", "--store", "virtuoso+http://dba:dba@127.0.0.1:1"])
    assert refused.exit_code != 0
    assert refused.output.startswith("Error: ")
    assert "dba:dba" not in refused.output


def test_a_server_that_is_not_there_is_an_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound here, never listened on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        failed = CliRunner().invoke(cli, ["sparql", "ASK {}", "--store", f"oxigraph+http://127.0.0.1:{port}"])
    assert failed.exit_code != 0
    assert failed.output.startswith("Error: ")
    assert "Traceback" not in failed.output
