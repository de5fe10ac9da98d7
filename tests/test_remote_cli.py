"""Every command on a remote store (issue 15): build, sparql, query, validate, export, stats, link and
serve with `--store oxigraph+http://...` or `virtuoso+http://...`, against real servers on 127.0.0.1,
giving what the same commands give on an embedded store built from the same article; and each of them
a clear `Error:` when the server is down. The password (of Virtuoso's SQL user) is in no output."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skategraph.cli import cli

from . import remotes
from .conftest import SEED, replace_line
from .remotes import PASSWORD, Server, credentials
from .server import rows, start_server

SERVERS = ["oxigraph_server", "virtuoso_server"]
ID = "https://w3id.org/skategraph/id/"
WD = "http://www.wikidata.org/entity/"
LINKED_SKATERS = """SELECT ?skater ?target WHERE {
  GRAPH <https://w3id.org/skategraph/graph/links> { ?skater owl:sameAs ?target } ?skater a sg:Skater }"""
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Skater }"


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert PASSWORD not in result.output
    return result


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


def test_links_made_on_a_remote_store_go_into_it(
    remote: str, embedded: str, wikidata: str, links_dir: Path, tmp_path: Path
) -> None:
    """`link` reads the skaters from the server and writes the same link files as on the embedded store;
    a person's decision in review.tsv is kept; a build puts the links into the server, where a query
    shows them. (Against the Wikidata-shaped endpoint on 127.0.0.1; the seed is restored at the end.)"""
    mine = shutil.copytree(links_dir, tmp_path / "embedded-links")
    endpoint = ["--endpoint", wikidata, "--interval", "0"]
    made = run("link", "--store", remote, "--links", str(links_dir), *endpoint)
    assert made.exit_code == 0, made.output
    assert "Linked 4 of 35 skaters and 3 venues; 3 candidates to review in review.tsv" in made.stdout
    assert run("link", "--store", embedded, "--links", str(mine), *endpoint).stdout == made.stdout
    for name in ("links.tsv", "review.tsv"):
        assert (links_dir / name).read_text("utf-8") == (mine / name).read_text("utf-8"), name

    review = (links_dir / "review.tsv").read_text("utf-8").splitlines()
    decided = [line + "accept" if line.startswith("skater/yang-yang-a") and "Q9000005" in line else line
               for line in review]  # fmt: skip
    (links_dir / "review.tsv").write_text("\n".join(decided) + "\n", "utf-8")
    again = run("link", "--store", remote, "--links", str(links_dir), *endpoint)
    assert again.exit_code == 0, again.output
    assert "Linked 5 of 35 skaters" in again.stdout

    try:
        rebuilt = run("build", str(SEED), "--store", remote, "--links", str(links_dir))
        assert rebuilt.exit_code == 0, rebuilt.output
        shown = run("sparql", LINKED_SKATERS, "--store", remote, "--format", "csv")
        assert shown.exit_code == 0, shown.output
        linked = set(shown.stdout.splitlines()[1:])
        assert {
            f"{ID}skater/ahn-hyun-soo,{WD}Q9000001",
            f"{ID}skater/ahn-hyun-soo,http://dbpedia.org/resource/Viktor_Ahn",
            f"{ID}skater/cheng-xiao-lei,{WD}Q9000002",
            f"{ID}skater/yang-yang-a,{WD}Q9000005",  # the person's decision
        } <= linked
        assert f"{ID}skater/yang-yang-a,{WD}Q9000006" not in linked  # the namesake not accepted
        assert (
            f"{ID}skater/ahn-hyun-soo,{WD}Q9000001"
            not in run("sparql", LINKED_SKATERS, "--store", embedded, "--format", "csv").stdout
        )  # the embedded store was never rebuilt with these links: the remote one holds them
        saved = run("query", "skater_links", "--store", remote, "--format", "csv")
        assert f"{ID}skater/yang-yang-a,Yang Yang (A),{WD}Q9000005," in saved.stdout
    finally:
        assert run("build", str(SEED), "--store", remote).exit_code == 0  # the seed as the fixture made it


def test_serve_a_remote_store(remote: str) -> None:
    """The real server process (gunicorn, as `serve` runs it) on the remote store: /health names the
    build, a query and a page are answered, and SIGTERM stops it as on the embedded store (status 0)."""
    build_id = json.loads(run("stats", "--json", "--store", remote).stdout)["build_id"]
    server = start_server(remote, "--processes", "1", "--workers", "1")
    try:
        health = server.get("/health")
        assert health.status == 200, health.text
        assert json.loads(health.body)["build_id"] == build_id
        answer = server.query(COUNT)
        assert answer.status == 200, answer.text
        assert rows(answer.body) == [{"n": "35"}]
        page = server.get("/id/skater/ahn-hyun-soo", Accept="text/html")
        assert page.status == 200, page.text
        assert "<h1>Ahn Hyun-soo</h1>" in page.text
    finally:
        code = server.stop()
    log = "".join(server.log)
    assert code == 0, log
    assert f"(store {remote}," in log  # named by its address, not by its mirror's directory
    assert PASSWORD not in log
    assert "Traceback" not in log


def test_serve_says_when_the_remote_store_is_down_and_recovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` on a server with no dataset yet builds it first, as on an empty embedded store; then the
    server stops under it: /health and queries are 503 store_unavailable, and both answer again when it
    returns, with no restart of ours."""
    own = remotes.oxigraph(tmp_path / "oxigraph")  # this test's own: it stops and starts it
    try:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        server = start_server(own.address, "--processes", "1", "--workers", "1", "--timeout", "5")
        try:
            assert f"No store at {own.address} yet: building it first." in "".join(server.log)
            assert server.get("/health").status == 200
            assert server.engine_threads() == []  # the first build ran in a process of its own
            own.stop()
            for reply in (server.get("/health"), server.query(COUNT)):
                assert reply.status == 503, reply.text
                assert json.loads(reply.body)["error"] == "store_unavailable"
                assert own.url.split("//")[1] in json.loads(reply.body)["message"]
            own.start()
            deadline = time.monotonic() + 30
            while server.get("/health").status != 200:
                assert time.monotonic() < deadline, "serve did not recover when the store's server came back"
                time.sleep(0.2)
            assert rows(server.query(COUNT).body) == [{"n": "35"}]
        finally:
            code = server.stop()
        log = "".join(server.log)
        assert code == 0, log
        assert "Traceback" not in log
    finally:
        own.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on: bound here, never listened on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield int(probe.getsockname()[1])


DOWN_COMMANDS = {
    "build": ["build", str(SEED)],
    "sparql": ["sparql", "ASK {}"],
    "query": ["query", "calendar"],
    "validate": ["validate"],
    "export": ["export"],
    "stats": ["stats"],
    "link": ["link", "--endpoint", "http://127.0.0.1:9/query", "--retries", "0", "--interval", "0"],
    "serve": ["serve", "--port", "0", "--processes", "1", "--workers", "1"],
    "identities": ["identities"],
}


@pytest.mark.parametrize("kind", ["oxigraph", "virtuoso"])
@pytest.mark.parametrize("command", list(DOWN_COMMANDS))
def test_a_server_that_is_not_there_is_an_error(
    command: str, kind: str, closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command on a server that refuses connections: one `Error:` line naming it, status 1."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SKATEGRAPH_REMOTE_USER", remotes.USER)
    monkeypatch.setenv("SKATEGRAPH_REMOTE_PASSWORD", PASSWORD)
    address = f"{kind}+http://127.0.0.1:{closed_port}"
    args = [*DOWN_COMMANDS[command], "--store", address, *(["--links", str(tmp_path / "links")] * (command == "link"))]
    if command == "serve":  # a real process: had it started serving, the timeout would fail the test
        done = subprocess.run([sys.executable, "-m", "skategraph", *args], capture_output=True, text=True, timeout=60)
        code, output = done.returncode, done.stdout + done.stderr
    else:
        failed = CliRunner().invoke(cli, args)
        code, output = failed.exit_code, failed.output
    assert code == 1, output
    assert output.startswith(f"Error: the remote store {address} cannot be reached"), output
    assert "Traceback" not in output
    assert PASSWORD not in output


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (into its backlog) and never answers: a server gone silent."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("command", ["stats", "build"])
def test_a_server_that_never_answers_is_an_error(command: str, silent_port: int, tmp_path: Path) -> None:
    """Said as the server not answering (no query of the user's ran out of time), and for a build at
    its first request, not after the uploads' ten-minute timeout: the subprocess's timeout would fail
    the test."""
    address = f"oxigraph+http://127.0.0.1:{silent_port}"
    args = [sys.executable, "-m", "skategraph", *DOWN_COMMANDS[command], "--store", address]
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"Error: the remote store {address} did not answer within 10 s"), done.stderr
    assert "Traceback" not in done.stderr


def test_link_on_a_server_that_caps_every_answer_below_the_results(
    tmp_path: Path, wikidata: str, links_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Virtuoso cuts every answer at its ResultSetMaxRows (10,000 in Debian's config: forty seasons'
    podium places). `link` (and `identities`) read one row per skater, spelling and nation, not one
    per result, so a cap below the seed's 180 podium places stops neither."""
    server = remotes.virtuoso(tmp_path / "virtuoso", max_rows=100)  # this test's own, with a cap that low
    try:
        for name, value in credentials(server).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        address = f"{server.address}?max-rows=100"
        built = run("build", str(SEED), "--store", address)
        assert built.exit_code == 0, built.output
        made = run("link", "--store", address, "--links", str(links_dir), "--endpoint", wikidata, "--interval", "0")
        assert made.exit_code == 0, made.output
        assert "Linked 4 of 35 skaters and 3 venues; 3 candidates to review in review.tsv" in made.stdout
        pairs = run("identities", "--store", address)  # reads the skaters the same way
        assert pairs.exit_code == 0, pairs.output
    finally:
        server.stop()
