"""Real SPARQL clients against a real server: SPARQLWrapper, rdflib's SPARQL stores, roqet, and
Oxigraph's own SERVICE client for federation through the allow-list."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, RDF, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from .server import Server, seed_app, seed_server

SG = "https://w3id.org/skategraph/ontology#"
PREFIXES = f"PREFIX sg: <{SG}> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
NATIONS = PREFIXES + "SELECT ?code WHERE { ?n a sg:Nation ; skos:notation ?code } ORDER BY ?code"
CODES = ["BUL", "CAN", "CHN", "FRA", "GER", "ITA", "JPN", "KOR", "NED", "RUS", "USA"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    with seed_server(tmp_path_factory.mktemp("clients"), seed=seed_dir) as running:
        yield running


def endpoint(server: Server) -> str:
    return server.url + "/sparql"


# -- SPARQLWrapper -----------------------------------------------------------------------------


def test_sparqlwrapper_select_json(server: Server) -> None:
    client = SPARQLWrapper(endpoint(server))
    client.setQuery(NATIONS)
    client.setReturnFormat(JSON)
    result = client.queryAndConvert()
    assert [b["code"]["value"] for b in result["results"]["bindings"]] == CODES


def test_sparqlwrapper_select_xml_by_post(server: Server) -> None:
    client = SPARQLWrapper(endpoint(server))
    client.setQuery(NATIONS)
    client.setMethod(POST)
    client.setReturnFormat(XML)
    document = client.queryAndConvert()
    ns = "http://www.w3.org/2005/sparql-results#"
    literals = [node.firstChild.data for node in document.getElementsByTagNameNS(ns, "literal")]
    assert literals == CODES


def test_sparqlwrapper_ask_and_construct(server: Server) -> None:
    client = SPARQLWrapper(endpoint(server))
    client.setQuery(PREFIXES + "ASK { ?s a sg:Skater }")
    client.setReturnFormat(JSON)
    assert client.queryAndConvert()["boolean"] is True
    client.setQuery(PREFIXES + "CONSTRUCT { ?n skos:notation ?c } WHERE { ?n skos:notation ?c }")
    client.setReturnFormat(TURTLE)
    graph = rdflib.Graph().parse(data=client.queryAndConvert(), format="turtle")
    assert sorted(str(o) for o in graph.objects()) == CODES


CONSTRUCT_CODES = PREFIXES + "CONSTRUCT { ?n skos:notation ?c } WHERE { ?n skos:notation ?c }"


def _codes_in(converted: object, form: str, return_format: str) -> list[str]:
    """The nation codes in what SPARQLWrapper's `convert()` made of an answer."""
    if isinstance(converted, rdflib.Graph):
        return sorted(str(o) for o in converted.objects())
    if isinstance(converted, dict):
        return [b["code"]["value"] for b in converted["results"]["bindings"]]
    if isinstance(converted, bytes):
        converted = converted.decode("utf-8")
    if isinstance(converted, str):
        if form == "construct":
            return sorted(str(o) for o in rdflib.Graph().parse(data=converted, format="turtle").objects())
        delimiter = "\t" if return_format == TSV else ","
        return [row[0].strip('"') for row in csv.reader(io.StringIO(converted), delimiter=delimiter)][1:]
    ns = "http://www.w3.org/2005/sparql-results#"  # a DOM of SPARQL XML results
    return [node.firstChild.data for node in converted.getElementsByTagNameNS(ns, "literal")]


SPARQLWRAPPER_FORMATS = [
    ("select", JSON), ("select", XML), ("select", CSV), ("select", TSV),
    ("construct", XML), ("construct", RDFXML), ("construct", RDF), ("construct", TURTLE), ("construct", N3),
    ("construct", JSONLD),
]  # fmt: skip


# SPARQLWrapper's own warnings: it parses RDF into rdflib's deprecated ConjunctiveGraph, and its `RDF`
# name has no Accept header of its own (it sends */*, and with only conneg we answer Turtle, which it
# then reads, warning that it asked for "RDF").
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Sending Accept header:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Format requested was RDF:RuntimeWarning")
@pytest.mark.parametrize("only_conneg", [False, True], ids=["with-format-parameters", "only-conneg"])
@pytest.mark.parametrize(("form", "return_format"), SPARQLWRAPPER_FORMATS)
def test_sparqlwrapper_every_return_format(server: Server, form: str, return_format: str, only_conneg: bool) -> None:
    """Issue 13: SPARQLWrapper's ordinary CONSTRUCT (XML, its default) got 406, and its `format=`,
    `output=` and `results=` names (`n3`, `rdf+xml`, `json-ld`) got 400 "unknown format"."""
    client = SPARQLWrapper(endpoint(server))
    client.setOnlyConneg(only_conneg)
    client.setQuery(NATIONS if form == "select" else CONSTRUCT_CODES)
    client.setReturnFormat(return_format)
    assert _codes_in(client.queryAndConvert(), form, return_format) == CODES


def test_sparqlwrapper_reports_a_bad_query(server: Server) -> None:
    client = SPARQLWrapper(endpoint(server))
    client.setQuery("SELECT ?x WHERE { ?x ")
    client.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed, match="does not parse"):
        client.queryAndConvert()


def test_sparqlwrapper_update_with_token(server: Server) -> None:
    client = SPARQLWrapper(endpoint(server), updateEndpoint=endpoint(server))
    client.setMethod(POST)
    client.addCustomHttpHeader("Authorization", "Bearer secret")
    client.setQuery("INSERT DATA { GRAPH <http://ex/wrapper> { <http://ex/s> <http://ex/p> 'from SPARQLWrapper' } }")
    assert client.query().response.status == 204
    check = SPARQLWrapper(endpoint(server))
    check.setQuery("ASK { GRAPH <http://ex/wrapper> { ?s ?p 'from SPARQLWrapper' } }")
    check.setReturnFormat(JSON)
    assert check.queryAndConvert()["boolean"] is True


# -- rdflib's SPARQLStore and SPARQLUpdateStore ------------------------------------------------


def test_rdflib_sparqlstore_query(server: Server) -> None:
    store = SPARQLStore(endpoint(server))
    result = store.query(NATIONS)
    assert [str(row[0]) for row in result] == CODES


def test_rdflib_sparqlstore_triples(server: Server) -> None:
    """rdflib turns a pattern lookup into its own SELECT: another client-made query shape."""
    store = SPARQLStore(endpoint(server))
    germany = rdflib.URIRef("https://w3id.org/skategraph/id/nation/GER")
    found = {(p, o) for (_s, p, o), _ctx in store.triples((germany, None, None))}
    assert (rdflib.SKOS.notation, rdflib.Literal("GER")) in found
    assert (rdflib.RDFS.label, rdflib.Literal("Germany")) in found


def test_rdflib_update_store(server: Server) -> None:
    store = SPARQLUpdateStore(endpoint(server), endpoint(server), headers={"Authorization": "Bearer secret"})
    store.update("INSERT DATA { GRAPH <http://ex/rdflib> { <http://ex/s> <http://ex/p> 'from rdflib' } }")
    rows = list(store.query("SELECT ?o WHERE { GRAPH <http://ex/rdflib> { ?s ?p ?o } }"))
    assert [str(row[0]) for row in rows] == ["from rdflib"]


# -- roqet (Debian's rasqal-utils, a SPARQL client in C) ---------------------------------------


def roqet(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("roqet")
    assert binary, "roqet (rasqal-utils) is needed: .ci/run installs it"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def test_roqet_select(server: Server) -> None:
    done = roqet("-p", endpoint(server), "-e", NATIONS, "-r", "csv")
    assert done.returncode == 0, done.stderr
    assert [row[0] for row in csv.reader(io.StringIO(done.stdout))] == ["code", *CODES]


def test_roqet_select_with_filter_and_order(server: Server) -> None:
    # roqet (rasqal 0.9.33) reads every protocol answer as a SELECT result: an XML boolean (the SPARQL
    # spec's own example included) comes back as "0 bindings" and an RDF graph as unknown elements,
    # from any server. So it is tested with SELECTs, which is what it can read.
    query = PREFIXES + 'SELECT ?name WHERE { ?s a sg:Skater ; rdfs:label ?name FILTER(CONTAINS(?name, "Lee")) }'
    done = roqet(
        "-p",
        endpoint(server),
        "-e",
        query.replace("PREFIX sg:", "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX sg:"),
        "-r",
        "csv",
    )
    assert done.returncode == 0, done.stderr
    assert list(csv.reader(io.StringIO(done.stdout))) == [["name"], ["Lee Seung-jae"]]


def test_roqet_construct_reads_the_triples_as_rows(server: Server) -> None:
    """Issue 13: roqet asks for SPARQL XML results for every query form, so a CONSTRUCT got 406. A
    client that accepts only SPARQL results gets a graph as ?subject ?predicate ?object rows, as
    Virtuoso answers it: what roqet can read."""
    done = roqet("-p", endpoint(server), "-e", CONSTRUCT_CODES, "-r", "csv")
    assert done.returncode == 0, done.stderr
    table = list(csv.reader(io.StringIO(done.stdout)))
    assert table[0] == ["subject", "predicate", "object"]
    assert sorted(row[2] for row in table[1:]) == CODES
    assert {row[1] for row in table[1:]} == {"http://www.w3.org/2004/02/skos/core#notation"}


# -- federation: SERVICE to an endpoint on the allow-list ---------------------------------------


def test_service_to_an_allowed_endpoint(server: Server, tmp_path: Path, seed_dir: Path) -> None:
    allowed = endpoint(server)
    # The federating endpoint runs in this process; its worker fetches from the real server above.
    with seed_app(tmp_path, token=None, seed=seed_dir, allow_service=frozenset({allowed})) as federating:
        query = (
            PREFIXES
            + f"SELECT ?code WHERE {{ SERVICE <{allowed}> {{ ?n a sg:Nation ; skos:notation ?code }} }} ORDER BY ?code"
        )
        reply = federating.query(query)
        assert reply.status == 200, reply.text
        assert [b["code"]["value"] for b in json.loads(reply.body)["results"]["bindings"]] == CODES
        other = federating.query(PREFIXES + "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
        assert other.status == 400 and json.loads(other.body)["error"] == "outbound_refused"
        description = rdflib.Graph().parse(data=federating.get("/sparql").body, format="turtle")
        feature = rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#BasicFederatedQuery")
        assert (None, None, feature) in description
