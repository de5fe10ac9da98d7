"""Our row-by-row SPARQL results writer against pyoxigraph's own serialiser, byte for byte."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest

from skategraph.sparql.results import SolutionsWriter, write_boolean

EX = "http://example.org/"
VALUES = [
    ox.NamedNode(EX + "a&b?c=1"),
    ox.Literal("plain"),
    ox.Literal('comma, "quote"'),
    ox.Literal("line\nbreak\ttab\rreturn \\ backslash \x01 control"),
    ox.Literal("hé 漢字 😀", language="zh-Hant"),
    ox.Literal("42", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ox.Literal("-3.25", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
    ox.Literal("1.5E3", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#double")),
    ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")),
    ox.Literal("2002-10-18", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")),
    ox.Literal("<b>&</b>", datatype=ox.NamedNode(EX + "type?x=1&y=2")),
    ox.BlankNode("b1"),
]


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    for i, value in enumerate(VALUES):
        subject = ox.NamedNode(f"{EX}s{i}")
        store.add(ox.Quad(subject, ox.NamedNode(EX + "v"), value))
        if i % 3 == 0:
            store.add(ox.Quad(subject, ox.NamedNode(EX + "w"), ox.Literal(f"w{i}")))
    return store


QUERIES = [
    f"SELECT ?s ?v ?w WHERE {{ ?s <{EX}v> ?v OPTIONAL {{ ?s <{EX}w> ?w }} }} ORDER BY ?s",
    f"SELECT ?v WHERE {{ ?s <{EX}v> ?v FILTER(false) }}",
    "SELECT * WHERE { }",
    'SELECT ?odd_name WHERE { BIND("x" AS ?odd_name) }',
]


@pytest.mark.parametrize("name", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("query", QUERIES)
def test_same_bytes_as_pyoxigraph(store: ox.Store, name: str, query: str) -> None:
    expected = io.BytesIO()
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    result.serialize(expected, getattr(ox.QueryResultsFormat, name.upper()))
    ours = io.BytesIO()
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    writer = SolutionsWriter(ours, name, [v.value for v in result.variables])
    for row in result:
        writer.row(list(row))
    writer.close()
    assert ours.getvalue() == expected.getvalue()


def test_links_in_the_head() -> None:
    out = io.BytesIO()
    writer = SolutionsWriter(out, "json", ["x"], links=["http://localhost/truncated?limit=10"])
    writer.row([ox.Literal("1")])
    writer.close()
    data = json.loads(out.getvalue())
    assert data["head"] == {"vars": ["x"], "link": ["http://localhost/truncated?limit=10"]}
    assert data["results"]["bindings"] == [{"x": {"type": "literal", "value": "1"}}]
    out = io.BytesIO()
    writer = SolutionsWriter(out, "xml", ["x"], links=["http://localhost/t?a=1&b=2"])
    writer.close()
    link = ET.fromstring(out.getvalue()).find(".//{http://www.w3.org/2005/sparql-results#}link")
    assert link is not None and link.get("href") == "http://localhost/t?a=1&b=2"


@pytest.mark.parametrize("name", ["json", "xml"])
@pytest.mark.parametrize("value", [True, False])
def test_boolean_same_as_pyoxigraph(name: str, value: bool) -> None:
    expected = io.BytesIO()
    result = ox.Store().query("ASK { }" if value else "ASK { FILTER(false) }")
    assert isinstance(result, ox.QueryBoolean)
    result.serialize(expected, getattr(ox.QueryResultsFormat, name.upper()))
    ours = io.BytesIO()
    write_boolean(ours, name, value)
    assert ours.getvalue() == expected.getvalue()
