"""Reading SPARQL text by tokens: dataset clauses and the URLs a request would make us fetch."""

from __future__ import annotations

import pytest

from skategraph.errors import OutboundRefused
from skategraph.sparql.text import (
    called_functions,
    check_outbound,
    check_standard_functions,
    declares_dataset,
    outbound_targets,
)
from skategraph.store.embedded import EmbeddedStore

from .conftest import BASE, select


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM <http://g> WHERE { ?s ?p ?o }", True),
        ("select * from named <http://g> where { graph ?g { ?s ?p ?o } }", True),
        ("SELECT * WHERE { ?s ?p 'FROM <x>' }", False),
        ("SELECT * WHERE { ?s ?p ?o } # FROM <http://g>", False),
        ("SELECT * WHERE { ?s <http://example.org/FROM> ?o }", False),
        ("PREFIX ex: <http://ex/> SELECT * WHERE { ?s ex:from ?o }", False),
        ("SELECT ?from WHERE { ?from ?p ?o }", False),
        ('SELECT * WHERE { ?s ?p """a\nFROM <x>""" }', False),
    ],
)
def test_declares_dataset(query: str, expected: bool) -> None:
    assert declares_dataset(query) is expected


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        ("SELECT * WHERE { SERVICE <http://a.example/sparql> { ?s ?p ?o } }", ["http://a.example/sparql"]),
        ("select * where { service silent <http://a.example/sparql> { ?s ?p ?o } }", ["http://a.example/sparql"]),
        (
            "PREFIX wd: <http://wd.example/> SELECT * WHERE { SERVICE wd:sparql { ?s ?p ?o } }",
            ["http://wd.example/sparql"],
        ),
        ("BASE <http://b.example/> SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }", ["http://b.example/sparql"]),
        ("SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }", ["?endpoint"]),
        ("LOAD <http://c.example/data.ttl>", ["http://c.example/data.ttl"]),
        ("LOAD SILENT <http://c.example/data.ttl> INTO GRAPH <http://g>", ["http://c.example/data.ttl"]),
        ("SELECT * WHERE { ?s <http://x/SERVICE> 'SERVICE <http://no>' } # SERVICE <http://no>", []),
        ("PREFIX ex: <http://ex/> SELECT * WHERE { ?s ex:service ?o ; ex:load ?l }", []),
        ("SELECT * WHERE { ?s ?p ?o FILTER(?o < 3 && ?o > 1) }", []),
    ],
)
def test_outbound_targets(text: str, targets: list[str]) -> None:
    assert outbound_targets(text) == targets


def test_check_outbound_refuses_unless_allowed() -> None:
    query = "SELECT * WHERE { SERVICE <http://a.example/sparql> { ?s ?p ?o } }"
    with pytest.raises(OutboundRefused, match="not on the allow-list"):
        check_outbound(query, frozenset())
    check_outbound(query, frozenset({"http://a.example/sparql"}))
    with pytest.raises(OutboundRefused, match="variable service endpoint"):
        check_outbound("SELECT * WHERE { SERVICE ?e { ?s ?p ?o } }", frozenset({"http://a.example/sparql"}))


def test_from_is_honoured_and_union_is_the_default(seed_store: EmbeddedStore) -> None:
    everything = "SELECT (COUNT(*) AS ?n) {from} WHERE {{ ?s a sg:Skater }}"
    entities = f"FROM <{BASE}graph/entities>"
    season = f"FROM <{BASE}graph/season/2002-03>"
    assert select(seed_store, everything.format(**{"from": ""})) == [("35",)]
    assert select(seed_store, everything.format(**{"from": entities})) == [("35",)]
    assert select(seed_store, everything.format(**{"from": season})) == [("0",)]


def test_nesting_is_counted_outside_strings_and_iris() -> None:
    from skategraph.errors import QueryError
    from skategraph.sparql.text import MAX_NESTING, check_nesting

    check_nesting("SELECT * WHERE { FILTER(" + "(" * (MAX_NESTING - 3) + "1" + ")" * (MAX_NESTING - 3) + ") }")
    check_nesting('SELECT * WHERE { ?s ?p "' + "(" * 1000 + '" }  # ' + "{" * 1000)
    with pytest.raises(QueryError, match=f"more than {MAX_NESTING} deep"):
        check_nesting("SELECT * WHERE { FILTER(" + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING + ") }")


XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.mark.parametrize(
    ("text", "called"),
    [
        ("SELECT (xsd:integer(?x) AS ?n) WHERE { ?s ?p ?x }", [XSD + "integer"]),
        ("SELECT * WHERE { ?s ?p ?o FILTER(STRLEN(?o) > 2 && REGEX(?o, 'a')) }", []),
        ("PREFIX bif: <bif:> SELECT (bif:http_get('http://x/') AS ?x) {}", ["bif:http_get"]),
        ("SELECT (<bif:http_get>('http://x/') AS ?x) {}", ["bif:http_get"]),
        ("SELECT (sql:system('ls') AS ?x) {}", ["sql:system"]),  # undeclared prefix: as written
        ("BASE <http://e/> SELECT * { FILTER(<f>(1)) }", ["http://e/f"]),
        ("PREFIX f: <http://e/>\nSELECT * { ?s ?p ?o } ORDER BY f:g(?o)", ["http://e/g"]),
        ("SELECT * { ?s <p> ?o . FILTER('<f>(1)' != ?o) } # <g>(2)", []),  # in a string, in a comment
        ("SELECT * WHERE { ?s ?p (1 2) }", []),
    ],
)
def test_called_functions(text: str, called: list[str]) -> None:
    assert called_functions(text, {"xsd": XSD}) == called


def test_a_remote_store_is_sent_standard_functions_only() -> None:
    check_standard_functions("SELECT (xsd:date(?d) AS ?day) (STR(?d) AS ?s) { ?x sg:date ?d }", {"xsd": XSD})
    for text in ("PREFIX bif: <bif:> SELECT * { FILTER(bif:http_get('http://127.0.0.1/')) }",
                 "SELECT * { ?s ?p ?o FILTER(<http://www.openlinksw.com/schemas/bif#sys_stat>('x')) }",
                 "SELECT * { ?s <urn:p> (1 2) }"):  # fmt: skip
        with pytest.raises(OutboundRefused, match="not a standard SPARQL function"):
            check_standard_functions(text, {"xsd": XSD})
