"""Binding values as a VALUES block at the start of a query's WHERE group, and where that block reaches."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skategraph.errors import QueryError
from skategraph.sparql.values import bind_values, unreached

EX = "http://example.org/"
A, B = ox.NamedNode(EX + "a"), ox.NamedNode(EX + "b")
BLOCK = f" VALUES (?_p) {{ (<{EX}a>) }} "


def data() -> ox.Store:
    """Two subjects, a and b, each with a label, in a named graph."""
    store = ox.Store()
    graph = ox.NamedNode(EX + "g")
    for node in (A, B):
        store.add(ox.Quad(node, ox.NamedNode(EX + "label"), ox.Literal(node.value[-1]), graph))
    return store


@pytest.mark.parametrize(
    ("query", "at"),
    [
        ("SELECT ?o WHERE { ?_p ?p ?o }", "WHERE {"),
        ("select ?o { ?_p ?p ?o }", "?o {"),
        ("ASK { ?_p ?p 'a' }", "ASK {"),
        ("ASK FROM <http://example.org/g> WHERE { ?_p ?p 'a' }", "WHERE {"),
        ("CONSTRUCT { ?_p ?p ?o } WHERE { ?_p ?p ?o }", "WHERE {"),
        ("DESCRIBE ?_p WHERE { ?_p ?p ?o }", "WHERE {"),
        ("DESCRIBE ?_p { ?_p ?p ?o }", "?_p {"),
        # Strings, IRIs, comments and prefixed names that look like the group or its keyword.
        (
            "# SELECT * WHERE { a comment\nPREFIX where: <http://example.org/where> BASE <http://example.org/>\n"
            "SELECT ?o ('{' AS ?brace) FROM <http://example.org/g> FROM NAMED <g> WHERE { ?_p where:x ?o }",
            "<g> WHERE {",
        ),
        ("SELECT ?o (EXISTS { ?s ?p ?o } AS ?e) WHERE { ?_p ?p ?o }", "WHERE {"),
        # A sub-SELECT: the outer group, not the inner.
        ("SELECT ?o WHERE { { SELECT ?s ?o WHERE { ?s ?p ?o } } ?_p ?p ?o }", "SELECT ?o WHERE {"),
        ("SELECT ?o WHERE { ?_p ?p ?o } VALUES ?o { 'a' 'b' }", "WHERE {"),
    ],
)
def test_the_block_opens_the_where_group(query: str, at: str) -> None:
    bound = bind_values(query, [("_p", A)])
    assert query.count(at) == 1
    index = query.index(at) + len(at)
    assert bound == query[:index] + BLOCK + query[index:]


def test_answers_are_the_bound_ones_in_every_form() -> None:
    store = data()
    select = store.query(bind_values("SELECT ?o WHERE { GRAPH ?g { ?_p ?p ?o } }", [("_p", A)]))
    assert [row["o"] for row in select] == [ox.Literal("a")]
    assert not bool(store.query(bind_values("ASK { GRAPH ?g { ?_p ?p 'b' } }", [("_p", A)])))
    assert bool(store.query(bind_values("ASK { GRAPH ?g { ?_p ?p 'a' } }", [("_p", A)])))
    construct = store.query(bind_values("CONSTRUCT { ?_p ?p ?o } WHERE { GRAPH ?g { ?_p ?p ?o } }", [("_p", B)]))
    assert [t.subject for t in construct] == [B]


def test_the_short_construct_form_is_written_out() -> None:
    query = "CONSTRUCT FROM <http://example.org/g> WHERE { ?_p ?p ?o # the label\n }"
    bound = bind_values(query, [("_p", A)])
    assert bound == (
        "CONSTRUCT { ?_p ?p ?o   } FROM <http://example.org/g> WHERE {" + BLOCK + " ?_p ?p ?o # the label\n }"
    )
    assert [t.subject for t in data().query(bound)] == [A]


def test_several_values_in_one_row_and_line_numbers_kept() -> None:
    query = "SELECT ?o\nWHERE {\n  ?_p ?p ?o .\n  FILTER(?o = ?_o)\n}"
    bound = bind_values(query, [("_p", A), ("_o", ox.Literal("a"))])
    assert bound.splitlines()[1] == f'WHERE {{ VALUES (?_p ?_o) {{ (<{EX}a> "a") }} '
    assert bound.count("\n") == query.count("\n")
    assert [row["o"] for row in data().query(bound, use_default_graph_as_union=True)] == [ox.Literal("a")]


def test_a_bound_service_name_is_written_in() -> None:
    query = "SELECT * WHERE { ?s ?p ?o SERVICE ?_p { ?s ?q ?r } SERVICE SILENT $_p { } SERVICE ?other { } }"
    assert bind_values(query, [("_p", A)]) == (
        "SELECT * WHERE {" + BLOCK + " ?s ?p ?o SERVICE <http://example.org/a> { ?s ?q ?r } "
        "SERVICE SILENT <http://example.org/a> { } SERVICE ?other { } }"
    )
    with pytest.raises(QueryError, match="not an IRI"):
        bind_values(query, [("_p", ox.Literal("a"))])


def test_nothing_bound_is_the_text_itself() -> None:
    text = "DESCRIBE <http://example.org/a>"
    assert bind_values(text, []) is text


@pytest.mark.parametrize(
    "query", ["DESCRIBE <http://example.org/a>", "DESCRIBE ?x VALUES ?x { <http://example.org/a> }", "CLEAR ALL", ""]
)
def test_a_query_with_no_group_is_an_error(query: str) -> None:
    with pytest.raises(QueryError, match="no WHERE group"):
        bind_values(query, [("_p", A)])


def test_a_blank_node_cannot_be_bound() -> None:
    with pytest.raises(QueryError, match="VALUES takes IRIs and literals only"):
        bind_values("SELECT * { }", [("_p", ox.BlankNode())])  # type: ignore[list-item]


# Text with what N-Triples escapes and SPARQL pre-processes (quotes, backslashes, line breaks, \u).
PIECES = ['"', "'", "\\", "\\u0041", "\\U0001F600", "\n", "\r", "\t", "\x00", "{", "}", "#", "<", ">", "?x"]
TRICKY = st.lists(st.one_of(st.sampled_from(PIECES), st.characters(codec="utf-8")), max_size=20).map("".join)
LANGUAGES = st.sampled_from(["en", "EN-gb", "ko-KR", "de-CH-1996", "zh-Hant-TW", "sr-Latn", "fr-x-skating"])
XSD = "http://www.w3.org/2001/XMLSchema#"
# Typed literals as saved.binding writes them: in their datatype's canonical form (Oxigraph reads one in
# query text as its value, so "00"^^xsd:integer would come back as "0"), or of a datatype it does not know.
TYPED = st.one_of(
    st.integers(-(10**18), 10**18).map(lambda n: ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))),
    st.dates().map(lambda day: ox.Literal(day.isoformat(), datatype=ox.NamedNode(XSD + "date"))),
    st.booleans().map(lambda b: ox.Literal(str(b).lower(), datatype=ox.NamedNode(XSD + "boolean"))),
    TRICKY.map(lambda text: ox.Literal(text, datatype=ox.NamedNode(EX + "custom"))),
)


def _iri(path: str) -> ox.NamedNode | None:
    try:
        return ox.NamedNode(EX + path)
    except ValueError:
        return None


IRIS = st.text(max_size=20).map(_iri).filter(lambda node: node is not None)
TERMS = st.one_of(
    IRIS,
    TRICKY.map(ox.Literal),
    st.tuples(TRICKY, LANGUAGES).map(lambda pair: ox.Literal(pair[0], language=pair[1])),
    TYPED,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TERMS, min_size=1, max_size=3))
def test_every_term_comes_back_as_itself(terms: list[ox.NamedNode | ox.Literal]) -> None:
    bound = [(f"_v{i}", term) for i, term in enumerate(terms)]
    text = bind_values("SELECT * WHERE { }", bound)
    rows = list(ox.Store().query(text))
    assert len(rows) == 1
    assert [rows[0][name] for name, _ in bound] == terms


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("SELECT * WHERE { ?s ?p ?o FILTER(?o = ?_p) }", None),
        ("SELECT * WHERE { ?s ?p ?o BIND(?_p AS ?x) }", None),
        ("SELECT * WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?r FILTER(?r = ?_p) } }", None),
        ("SELECT * WHERE { { ?_p ?p ?o } UNION { ?s ?p ?_p } GRAPH ?_p { } SERVICE ?_p { ?a ?b ?c } }", None),
        ("SELECT * WHERE { ?s ?p ?o FILTER NOT EXISTS { ?o ?q ?_p FILTER(?o != ?_p) } }", None),
        ("SELECT * WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?r FILTER NOT EXISTS { ?r ?q ?_p } } }", None),
        ("SELECT ?_p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?_p HAVING (COUNT(*) > ?_p) ORDER BY ?_p", None),
        ("CONSTRUCT { ?s ?p ?_p } WHERE { ?s ?p ?o }", None),
        ("SELECT * WHERE { ?s ?p ?o FILTER(?o = '?_p' && ?o != <http://example.org/?_p>) } # ?_p", None),
        ("SELECT * WHERE { { ?s ?p ?o FILTER(?o = ?_p) } UNION { ?s ?p ?o } }", "in a FILTER inside a UNION branch"),
        ("SELECT * WHERE { ?s ?p ?o { ?s ?q ?r FILTER(?r = ?_p) } }", "in a FILTER inside a UNION branch"),
        ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o FILTER(?o = ?_p) } }", "in a FILTER inside a UNION branch"),
        ("SELECT * WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?r BIND(?_p AS ?x) } }", "in a BIND inside an OPTIONAL group"),
        (
            "SELECT * WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?r OPTIONAL { ?r ?q ?t FILTER(?t = ?_p) } } }",
            "in a FILTER inside an OPTIONAL group",
        ),
        ("SELECT * WHERE { ?s ?p ?o MINUS { ?s ?p ?_p } }", "inside MINUS"),
        ("SELECT * WHERE { ?s ?p ?o MINUS { ?s ?p ?x FILTER(?x = ?_p) } }", "inside MINUS"),
        ("SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?_p } } }", "inside a sub-SELECT"),
        ("SELECT * WHERE { { SELECT ?s (?_p AS ?x) WHERE { ?s ?p ?o } } ?s ?p ?o }", "inside a sub-SELECT"),
        (
            "SELECT * WHERE { { ?s ?p ?o FILTER NOT EXISTS { ?o ?q ?_p } } UNION { ?s ?p ?o } }",
            "inside a FILTER (NOT) EXISTS",
        ),
        (
            "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { ?o ?q ?r { ?r ?q ?t FILTER(?t = ?_p) } } }",
            "in a FILTER inside a UNION branch",
        ),
    ],
)
def test_where_the_block_reaches(query: str, why: str | None) -> None:
    found = unreached(query, ["_p"])
    if why is None:
        assert found == []
    else:
        assert [u.variable for u in found][:1] == ["?_p"]
        assert found[0].why.startswith(why), found


def test_an_unreached_use_names_its_line() -> None:
    query = "SELECT *\nWHERE {\n  ?s ?p ?o\n  { ?s ?q ?r\n    FILTER($_p = ?r) }\n}"
    assert [(u.variable, u.line) for u in unreached(query, ["_p", "_q"])] == [("$_p", 5)]
