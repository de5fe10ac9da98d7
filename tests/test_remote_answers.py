"""A remote store serves what the embedded store serves: the seed's dataset put in Oxigraph's server
and in Virtuoso (real servers on 127.0.0.1), and the endpoint, saved queries, pages, lookups and
reconciliation over each compared with the same app over the embedded store (issue 15).

The remote stores hold the very generation the embedded store serves (the same quads, manifest and
build id), so every answer can be compared whole: rows as multisets (ORDER BY may break ties either
way), pages and documents byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from skategraph.saved.catalogue import load_catalogue
from skategraph.web import linkeddata

from .answers import Pair, both, paired, rows
from .conftest import ID, copy_store

SERVERS = ["oxigraph_server", "virtuoso_server"]


@pytest.fixture(scope="module", params=SERVERS)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Pair]:
    """The seed's generation on the session's server (the one other modules use too), beside a copy of
    the seed's embedded store."""
    store = copy_store(seed_dir, tmp_path_factory.mktemp("embedded") / "store")
    with paired(request.param, request.getfixturevalue(request.param), store, tmp_path_factory) as both_apps:
        yield both_apps


SAVED = sorted(query.name for query in load_catalogue(()) if "SERVICE" not in query.text)  # not the one asking Wikidata


@pytest.mark.parametrize("name", SAVED)
def test_every_saved_query_answers_alike(pair: Pair, name: str) -> None:
    query = load_catalogue(()).get(name)
    for params in ({}, query.example()):
        if any(p.required for p in query.params) and not params:
            continue
        path = f"/queries/{name}?{urlencode(params)}" if params else f"/queries/{name}"
        mine, theirs = both(pair, path, Accept="application/sparql-results+json")
        assert rows(mine), f"{name} {params} answers nothing on the embedded store: nothing is compared"
        assert rows(theirs) == rows(mine), f"{name} {params} on {pair.name}"


QUERIES = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT ?s WHERE { ?s a sg:Skater }",
    "SELECT ?name FROM <https://w3id.org/skategraph/graph/entities> WHERE { ?s a sg:Skater ; rdfs:label ?name }",
    "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/skategraph/graph/ontology> WHERE { ?s ?p ?o }",
    "SELECT ?s ?o WHERE { ?s owl:sameAs ?o }",
    "SELECT ?date WHERE { ?race a sg:Race ; sg:date ?date } ORDER BY ?date LIMIT 5",
    "SELECT ?rank WHERE { ?r sg:rank ?rank FILTER(?rank > 2) }",
    "SELECT ?label (LANG(?label) AS ?lang) WHERE { ?c a owl:Class ; rdfs:label ?label }",
]


@pytest.mark.parametrize("sparql", QUERIES)
def test_sparql_answers_alike(pair: Pair, sparql: str) -> None:
    mine, theirs = pair.embedded.query(sparql), pair.remote.query(sparql)
    assert rows(mine), f"nothing to compare: {sparql}"
    assert rows(theirs) == rows(mine)


def test_ask_and_construct_answer_alike(pair: Pair) -> None:
    for sparql in ("ASK { ?s a sg:Skater }", "ASK { ?s a sg:Nothing }"):
        mine, theirs = pair.embedded.query(sparql), pair.remote.query(sparql)
        assert json.loads(theirs.body)["boolean"] == json.loads(mine.body)["boolean"], sparql
    construct = f"CONSTRUCT {{ ?r ?p ?o }} WHERE {{ ?r sg:competitor <{ID}skater/ahn-hyun-soo> ; ?p ?o }}"
    mine = pair.embedded.query(construct, accept="application/n-triples")
    theirs = pair.remote.query(construct, accept="application/n-triples")
    assert mine.status == theirs.status == 200
    assert sorted(theirs.text.splitlines()) == sorted(mine.text.splitlines())
    assert len(mine.text.splitlines()) > 10


PAGES = [
    "/id/skater/ahn-hyun-soo",
    "/id/skater/lee-seung-jae",
    "/id/nation/KOR",
    "/graph/entities",
    "/ontology",
    "/.well-known/void",
]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("accept", ["text/html", "text/turtle"])
def test_pages_are_the_same_bytes(pair: Pair, path: str, accept: str) -> None:
    mine, theirs = both(pair, path, Accept=accept)
    assert mine.status == (406 if path == "/.well-known/void" and accept == "text/html" else 200), mine.text[:300]
    assert theirs.status == mine.status, (path, theirs.text[:300])
    if accept == "text/turtle":
        # The same graph: its triples come in the engine's order, and blank nodes (the ontology's
        # lists) have the labels each store gave them
        assert isomorphic(
            Graph().parse(data=theirs.text, format="turtle"), Graph().parse(data=mine.text, format="turtle")
        )
        assert len(Graph().parse(data=mine.text, format="turtle")) > 3
    else:
        assert theirs.body == mine.body, path


def test_season_and_race_pages_are_the_same_bytes(pair: Pair) -> None:
    found = pair.embedded.query("SELECT ?s WHERE { { ?s a sg:Season } UNION { ?s a sg:Race } } ORDER BY ?s LIMIT 8")
    paths = [json.loads(found.body)["results"]["bindings"][i]["s"]["value"] for i in range(8)]
    for iri in paths:
        path = iri.removeprefix("https://w3id.org/skategraph")
        mine, theirs = both(pair, path, Accept="text/html")
        assert mine.status == 200, path
        assert theirs.body == mine.body, path


def test_lookups_resolve_alike(pair: Pair) -> None:
    """A skater given by name is resolved against the store's lookups, then bound."""
    path = "/queries/skater_results?" + urlencode({"skater": "Ahn Hyun-soo"})
    mine, theirs = both(pair, path, Accept="application/sparql-results+json")
    assert rows(mine)
    assert rows(theirs) == rows(mine)


def test_reconciliation_answers_alike(pair: Pair) -> None:
    queries = {
        "q0": {"query": "Ahn Hyun-soo", "type": "skater"},
        "q1": {"query": "Viktor An"},
        "q2": {"query": "Korea"},
    }
    body = urlencode({"queries": json.dumps(queries)})
    mine = pair.embedded.post("/reconcile", body, "application/x-www-form-urlencoded")
    theirs = pair.remote.post("/reconcile", body, "application/x-www-form-urlencoded")
    assert mine.status == theirs.status == 200
    assert json.loads(theirs.body) == json.loads(mine.body)
    assert json.loads(mine.body)["q0"]["result"], "nothing to compare"


def test_health_names_the_same_build(pair: Pair) -> None:
    mine, theirs = both(pair, "/health")
    assert mine.status == theirs.status == 200
    assert json.loads(theirs.body)["build_id"] == json.loads(mine.body)["build_id"]
    assert json.loads(theirs.body)["triples"] == json.loads(mine.body)["triples"]


def test_a_much_cited_resource_lists_the_same_triples_pointing_at_it(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past INCOMING_LIMIT a resource's RDF lists only some of the triples pointing at it: the same
    ones on every store (here the limit is lowered, so a nation of the seed is past it)."""
    monkeypatch.setattr(linkeddata, "INCOMING_LIMIT", 5)
    mine, theirs = both(pair, "/id/nation/KOR", Accept="application/n-triples")
    assert mine.status == theirs.status == 200
    pointing = [line for line in mine.text.splitlines()
                if line.startswith("<https://w3id.org/") and line.endswith("/nation/KOR> .")]  # fmt: skip
    assert len(pointing) == 5, mine.text
    assert sorted(theirs.text.splitlines()) == sorted(mine.text.splitlines())
