"""Comunica, the JavaScript SPARQL engine, as a real client of a real server: the endpoint as a
`sparql@` source and found by its service description, a federated query over the endpoint and a
dereferenced `/id/...` document, the `/dump` as a source, and link traversal over a store built with
the test server's own URL as its base.

The clients are npm packages in `tests/clients/` (`npm ci` there: .ci/run does it); a test fails, never
skips, when they are missing.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from skategraph.store.build import build_from_files

from .conftest import ROOT, SEED
from .server import Server, seed_server, start_server
from .source_facts import RACES

CLIENTS = ROOT / "tests" / "clients"
SG = "https://w3id.org/skategraph/ontology#"
PREFIXES = (
    f"PREFIX sg: <{SG}> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
)
NATIONS = PREFIXES + "SELECT ?code WHERE { ?n a sg:Nation ; skos:notation ?code } ORDER BY ?code"
CODES = ["BUL", "CAN", "CHN", "FRA", "GER", "ITA", "JPN", "KOR", "NED", "RUS", "USA"]
RESULTS_JSON = "application/sparql-results+json"


def comunica(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One run of a Comunica command-line client from tests/clients, exit status checked."""
    assert shutil.which("node"), "Node.js is needed for the Comunica tests: .ci/run installs it"
    binary = CLIENTS / "node_modules" / ".bin" / command
    assert binary.exists(), f"{command} is missing: run `npm ci` in {CLIENTS} (.ci/run does)"
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{command} {' '.join(args)}\nexit {done.returncode}\n{done.stderr}"
    return done


def select(*args: str) -> list[dict[str, str]]:
    """A SELECT through `comunica-sparql`, its rows as plain values."""
    data = json.loads(comunica("comunica-sparql", *args, "-t", RESULTS_JSON).stdout)
    return [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]]


def logged(server: Server, text: str, seen: int = 0) -> bool:
    """Whether a log line after `seen` has `text`, waiting a little for it: the server's log is read
    from its stderr by a thread, and may lag behind the answer."""
    for _ in range(100):
        if any(text in line for line in server.log[seen:]):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    with seed_server(tmp_path_factory.mktemp("comunica"), seed=seed_dir) as running:
        yield running


# -- the endpoint as a source --------------------------------------------------------------------


def test_select(server: Server) -> None:
    assert [row["code"] for row in select(f"sparql@{server.url}/sparql", NATIONS)] == CODES


def test_construct(server: Server) -> None:
    query = PREFIXES + "CONSTRUCT { ?n skos:notation ?c } WHERE { ?n a sg:Nation ; skos:notation ?c }"
    done = comunica("comunica-sparql", f"sparql@{server.url}/sparql", query, "-t", "application/n-triples")
    triples = list(ox.parse(done.stdout.encode("utf-8"), ox.RdfFormat.N_TRIPLES))
    assert sorted(t.object.value for t in triples) == CODES
    assert {t.predicate.value for t in triples} == {"http://www.w3.org/2004/02/skos/core#notation"}


@pytest.mark.parametrize(("pattern", "expected"), [("?s a sg:Skater", True), ("?s a sg:Nothing", False)])
def test_ask(server: Server, pattern: str, expected: bool) -> None:
    done = comunica("comunica-sparql", f"sparql@{server.url}/sparql", PREFIXES + f"ASK {{ {pattern} }}",
                    "-t", RESULTS_JSON)  # fmt: skip
    assert json.loads(done.stdout)["boolean"] is expected


def test_the_endpoint_found_by_its_service_description(server: Server) -> None:
    """Given the bare URL, with no `sparql@`, Comunica reads what `/sparql` answers and finds a
    SPARQL endpoint there (the service description's `sd:endpoint`), then sends it the query."""
    assert [row["code"] for row in select(f"{server.url}/sparql", NATIONS)] == CODES
    assert logged(server, '"GET /sparql?query='), server.log


def test_a_long_query_goes_by_post(server: Server) -> None:
    """Comunica sends a query too long for a URL as a form by POST."""
    padding = " ".join(f'"X{i:05d}"' for i in range(1500))
    query = PREFIXES + f'SELECT ?code WHERE {{ VALUES ?code {{ "KOR" {padding} }} ?n skos:notation ?code }}'
    seen = len(server.log)
    assert select(f"sparql@{server.url}/sparql", query) == [{"code": "KOR"}]
    assert logged(server, '"POST /sparql" 200', seen), server.log[seen:]


# -- federation: the endpoint and a dereferenced document --------------------------------------


def test_federated_over_the_endpoint_and_a_document(server: Server) -> None:
    """A join across two sources: the document's `foaf:primaryTopic` is only in the document the
    server makes for `/id/skater/oh-se-jong`; the nation's name is only in the endpoint."""
    document = f"{server.url}/id/skater/oh-se-jong"
    query = PREFIXES + (
        "SELECT DISTINCT ?doc ?name ?nation WHERE { ?doc foaf:primaryTopic ?s . "
        "?s rdfs:label ?name ; sg:nation ?n . ?n rdfs:label ?nation }"
    )
    found = select(f"sparql@{server.url}/sparql", document, query)
    assert len(found) == 1, found
    assert found[0]["name"] == "Oh Se-jong" and found[0]["nation"] == "South Korea"
    # The document names itself as the server made it: the variant Comunica's Accept chose.
    assert found[0]["doc"].startswith(document + "."), found
    assert logged(server, '"GET /id/skater/oh-se-jong"'), server.log


# -- the dump as a source ------------------------------------------------------------------------


def test_the_dump_as_a_source(server: Server) -> None:
    """Comunica asks for the dump with `Accept-Encoding: gzip` and reads the gzip-encoded N-Quads.
    Every triple of ours is in a named graph: a query sees them with GRAPH, or with
    `--unionDefaultGraph` as the default graph (as our endpoint's default graph is)."""
    triples = json.loads(server.get("/health").body)["triples"]
    counted = select(f"{server.url}/dump", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert counted == [{"n": str(triples)}]
    union = select(f"{server.url}/dump", NATIONS, "--unionDefaultGraph")
    assert [row["code"] for row in union] == CODES
    assert logged(server, '"GET /dump" 200'), server.log


# -- link traversal over IRIs that resolve to this server ---------------------------------------


OHNO_SEASON = ROOT / "tests" / "fixtures" / "seasons" / "2008-09.txt"


def free_port() -> int:
    """A port free now, for a store whose IRIs must name the server's address before it starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def own_base_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The seed and the 2008-09 season (where Apolo Anton Ohno is `Apolo Ohno`, a spelling merged into
    him) built with `--base http://127.0.0.1:PORT/`, served on PORT: every IRI dereferences here."""
    port = free_port()
    store = tmp_path_factory.mktemp("traversal") / "store"
    build_from_files([SEED, OHNO_SEASON], store, base=f"http://127.0.0.1:{port}/", validate=False)
    running = start_server(store, "--port", str(port))
    try:
        assert running.url == f"http://127.0.0.1:{port}", running.url
        yield running
    finally:
        assert running.stop() == 0, "".join(running.log)


def test_link_traversal_from_a_skater_to_the_races(own_base_server: Server) -> None:
    """Comunica's link-traversal engine, given no source, dereferences the skater's IRI in the query,
    follows the results pointing at it to their races, and reads each race's date there."""
    skater = f"{own_base_server.url}/id/skater/oh-se-jong"
    query = PREFIXES + f"SELECT DISTINCT ?race ?date WHERE {{ <{skater}> ^sg:competitor ?r . ?r sg:race ?race . ?race sg:date ?date }}"  # fmt: skip
    data = json.loads(comunica("comunica-sparql-link-traversal", query, "-t", RESULTS_JSON).stdout)
    dates = sorted(b["date"]["value"] for b in data["results"]["bindings"])
    # Oh Se-jong skated only in the seed's season of the two.
    expected = sorted(race.date for race in RACES if "Oh Se-jong" in {name for _code, name in race.podium})
    assert dates == expected and expected, data
    # Found by following links: the skater, its results and their races were fetched, no query sent.
    assert logged(own_base_server, '"GET /id/skater/oh-se-jong"'), own_base_server.log
    assert logged(own_base_server, '"GET /id/race/'), own_base_server.log
    assert not [line for line in own_base_server.log if " /sparql" in line], own_base_server.log


def test_link_traversal_follows_a_merged_spelling_to_the_skater(own_base_server: Server) -> None:
    """An IRI from before a merge (`/id/skater/apolo-ohno`) answers 301 to the skater; Comunica
    follows it and finds the `owl:sameAs` that the skater's document holds."""
    old = f"{own_base_server.url}/id/skater/apolo-ohno"
    query = PREFIXES + f"SELECT DISTINCT ?s ?name WHERE {{ <{old}> <http://www.w3.org/2002/07/owl#sameAs> ?s . ?s rdfs:label ?name }}"  # fmt: skip
    data = json.loads(comunica("comunica-sparql-link-traversal", query, "-t", RESULTS_JSON).stdout)
    found = [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]]
    assert found == [{"s": f"{own_base_server.url}/id/skater/apolo-anton-ohno", "name": "Apolo Anton Ohno"}]
    assert logged(own_base_server, '"GET /id/skater/apolo-ohno" 301'), own_base_server.log
