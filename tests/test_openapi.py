"""What /openapi.json promises, checked against what the app answers (the app in this process over a real
store and real workers): each saved query offers the formats of its form and no others, every status
the app answers on a declared operation is declared there, and every other method is a 405 with
`Allow` (issue 12). tests/test_fuzz_api.py runs schemathesis over the same document on a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest

from skategraph.sparql.formats import RDF_FORMATS, RESULTS_FORMATS, RESULTS_MEDIA_TYPES

from .server import Client, seed_app

NATIONS = """#+ title: Nations as a graph
#+ description: Every nation with its code, as RDF.

PREFIX sg: <https://w3id.org/skategraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
CONSTRUCT { ?n skos:notation ?code } WHERE { ?n a sg:Nation ; skos:notation ?code }
"""
ANY_WINS = """#+ title: Any wins
#+ description: Whether any skater won a race.

PREFIX sg: <https://w3id.org/skategraph/ontology#>
ASK { ?r sg:rank 1 }
"""
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
RDF_MEDIA = {rdf.media_type for rdf in RDF_FORMATS.values()}
RESULTS_MEDIA = set(RESULTS_MEDIA_TYPES.values())
METHODS = {"get", "post", "put", "delete"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Client]:
    folder = tmp_path_factory.mktemp("openapi")
    (folder / "mine").mkdir()
    (folder / "mine" / "nations_graph.rq").write_text(NATIONS, "utf-8")
    (folder / "mine" / "any_wins.rq").write_text(ANY_WINS, "utf-8")
    with seed_app(folder, seed=seed_dir, queries=(folder / "mine",), max_body=4096) as running:
        yield running


@pytest.fixture(scope="module")
def document(server: Client) -> dict[str, Any]:
    return json.loads(server.get("/openapi.json").body)


@pytest.mark.parametrize(
    ("name", "offered", "refused"),
    [
        ("race_podiums", RESULTS_MEDIA, RDF_MEDIA),
        ("any_wins", RESULTS_MEDIA, RDF_MEDIA),
        ("nations_graph", RDF_MEDIA, RESULTS_MEDIA),
    ],
)
def test_a_saved_query_offers_the_formats_of_its_form(
    server: Client, document: dict[str, Any], name: str, offered: set[str], refused: set[str]
) -> None:
    get = document["paths"][f"/queries/{name}"]["get"]
    assert set(get["responses"]["200"]["content"]) == offered
    names = next(p for p in get["parameters"] if p["name"] == "format")["schema"]["enum"]
    # For a graph, `json` and `xml` name JSON-LD and RDF/XML, as SPARQLWrapper, Fuseki and Virtuoso use them.
    assert set(names) == (set(RESULTS_FORMATS) if offered == RESULTS_MEDIA else {*RDF_FORMATS, "json", "xml"})
    for media in offered:
        reply = server.get(f"/queries/{name}", Accept=media)
        assert reply.status == 200 and (reply.header("Content-Type") or "").split(";")[0] == media, reply.text
    for media in refused:
        assert server.get(f"/queries/{name}", Accept=media).status == 406
    for other in (set(RDF_FORMATS) | set(RESULTS_FORMATS)) - set(names):
        assert server.get(f"/queries/{name}", {"format": other}).status == 406, other


def test_sparql_offers_both_families_and_every_rdf_format(server: Client, document: dict[str, Any]) -> None:
    content = document["paths"]["/sparql"]["get"]["responses"]["200"]["content"]
    assert set(content) == RESULTS_MEDIA | RDF_MEDIA
    for media in RDF_MEDIA:
        reply = server.query("CONSTRUCT { ?s a ?o } WHERE { ?s a ?o } LIMIT 1", accept=media)
        assert reply.status == 200 and (reply.header("Content-Type") or "").split(";")[0] == media


def _form(**fields: str) -> tuple[str, dict[str, str]]:
    return urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"}


def _requests(server: Client) -> list[tuple[str, str, str, str | bytes | None, dict[str, str], int]]:
    """(path, method, query string, body, headers, the status it gets): each status each operation answers."""
    query = urlencode({"query": "ASK {}"})
    etag = server.request("GET", f"/sparql?{query}").header("ETag") or ""
    saved_etag = server.get("/queries/race_podiums").header("ETag") or ""
    big = "x" * 5000
    return [
        ("/sparql", "get", query, None, {}, 200),
        ("/sparql", "get", "", None, {}, 200),  # the service description
        ("/sparql", "get", query, None, {"If-None-Match": etag}, 304),
        ("/sparql", "get", "query=ASK", None, {}, 400),
        ("/sparql", "get", query, None, {"Accept": "image/png"}, 406),
        ("/sparql", "get", urlencode({"query": EXPLOSIVE, "timeout": "0.2"}), None, {}, 503),
        ("/sparql", "post", "", "ASK {}", {"Content-Type": "application/sparql-query"}, 200),
        ("/sparql", "post", "", *_form(update="INSERT DATA { <urn:s> <urn:p> 1 }"), 401),
        (
            "/sparql",
            "post",
            "",
            "CLEAR SILENT GRAPH <urn:none>",
            {"Content-Type": "application/sparql-update", "Authorization": "Bearer wrong"},
            403,
        ),
        ("/sparql", "post", "", "ASK", {"Content-Type": "application/sparql-query"}, 400),
        ("/sparql", "post", "", "ASK {}", {"Content-Type": "application/sparql-query", "Accept": "image/png"}, 406),
        ("/sparql", "post", "", f"ASK {{ FILTER('{big}') }}", {"Content-Type": "application/sparql-query"}, 413),
        ("/sparql", "post", "", "ASK {}", {"Content-Type": "text/plain"}, 415),
        ("/sparql", "post", "", *_form(query=EXPLOSIVE, timeout="0.2"), 503),
        ("/queries", "get", "", None, {}, 200),
        ("/queries/race_podiums", "get", "", None, {}, 200),
        ("/queries/race_podiums", "get", "", None, {"If-None-Match": saved_etag}, 304),
        ("/queries/race_podiums", "get", "distance=7", None, {}, 400),
        ("/queries/race_podiums", "get", "", None, {"Accept": "text/turtle"}, 406),
        ("/queries/race_podiums", "post", "", *_form(distance="500"), 200),
        ("/queries/race_podiums", "post", "", *_form(distance="7"), 400),
        ("/queries/race_podiums", "post", "", *_form(format="turtle"), 406),
        ("/queries/race_podiums", "post", "", *_form(venue=big), 413),
        ("/queries/race_podiums", "post", "", "{}", {"Content-Type": "application/json"}, 415),
        ("/queries/nations_graph", "get", "format=csv", None, {}, 406),
        # last: an update makes a new store version, and the ETags above are of this one
        (
            "/sparql",
            "post",
            "",
            "CLEAR SILENT GRAPH <urn:none>",
            {"Content-Type": "application/sparql-update", "Authorization": "Bearer secret"},
            204,
        ),
    ]


def test_every_status_the_app_answers_is_declared(server: Client, document: dict[str, Any]) -> None:
    answered: dict[tuple[str, str], set[str]] = {}
    for path, method, query, body, headers, status in _requests(server):
        reply = server.request(method.upper(), path + (f"?{query}" if query else ""), body, headers)
        assert reply.status == status, (path, method, query, reply.status, reply.text)
        if status >= 400:
            assert json.loads(reply.body)["status"] == status
        answered.setdefault((path, method), set()).add(str(status))
    for (path, method), statuses in answered.items():
        declared = set(document["paths"][path][method]["responses"])
        assert statuses <= declared, (path, method, statuses - declared)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_every_other_method_is_a_405_that_says_what_is_allowed(
    server: Client, document: dict[str, Any], method: str
) -> None:
    for path, operations in document["paths"].items():
        if method.lower() in operations:
            continue  # /store takes PUT and DELETE
        reply = server.request(method, path, b"", {"Content-Type": "application/x-www-form-urlencoded"})
        assert reply.status == 405 and json.loads(reply.body)["error"] == "method_not_allowed", (path, reply.text)
        allowed = {m.strip().lower() for m in (reply.header("Allow") or "").split(",")}
        assert allowed - {"head", "options"} == set(operations) & METHODS, (path, allowed)
        assert "405" in operations["description"]


def test_the_nations_graph_is_rdf(server: Client) -> None:
    reply = server.get("/queries/nations_graph", Accept="application/n-triples")
    assert len(list(ox.parse(reply.body, ox.RdfFormat.N_TRIPLES))) >= 10
