"""A grammar-based fuzzer on /sparql, against a real `skategraph serve` process (issue 12).

Queries are built from a small SPARQL grammar (prologues with PREFIX and BASE, variables, IRIs with
\\u escapes, prefixed names with \\ escapes, literals with escapes, language tags and datatypes,
FILTER expressions, nested groups, OPTIONAL, UNION, MINUS, GRAPH, subqueries, aggregates, property
paths, VALUES, built-in functions and unknown ones), sometimes damaged with random noise, and each is
sent by GET, as a form and as a direct POST. Whatever comes back: no 5xx but the 503 of the time limit,
and every error in our JSON shape. A grammar that made only nonsense would test nothing but the parser,
so the same queries without noise are first run in pyoxigraph itself, where most must parse.

tests/test_outbound.py fuzzes what SERVICE may reach; this fuzzes everything else about a query.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skategraph.graph.vocab import PREFIXES as DECLARED

from .server import Reply, Server, seed_server
from .test_outbound import _escape

FUZZ = settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
ERROR_503 = {"query_timeout"}  # a query stopped at its time limit: the promise kept, not a failure

NAMES = st.sampled_from(["s", "p", "o", "x", "y", "n", "race", "_a", "x1", "é", "日本", "a_b"])
VARIABLES = st.builds(lambda mark, name: mark + name, st.sampled_from(["?", "$"]), NAMES)
PREFIXES = st.sampled_from(["sg", "rdfs", "skos", "xsd", "owl", "ex", "", "nope", "a.b"])
LOCALS = st.sampled_from(["Race", "label", "rank", "a", "x\\~y", "a\\#b", "1x", "a.b", "%41", "", "a-b", "date"])
STRINGS = st.sampled_from(["", "x", "Choi", "a'b", "é", "\\n\\t", '\\"', "\\\\", "\\u00E9", "\\U0001F600", "#", "}"])


@st.composite
def iris(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(["http://example.org/a", "https://w3id.org/skategraph/id/nation/CAN", "urn:x:1",
                                 "relative", "#frag", "", "http://ex/é", "mailto:a@b", "//host/p"]))  # fmt: skip
    return f"<{_escape(text, draw)}>" if draw(st.booleans()) else f"<{text}>"


@st.composite
def literals(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["string", "long", "lang", "typed", "number", "boolean"]))
    text = draw(STRINGS)
    if kind == "string":
        quote = draw(st.sampled_from(['"', "'"]))
        return quote + text.replace(quote, "\\" + quote) + quote
    if kind == "long":
        return '"""' + text.replace('"', '\\"') + '"""'
    if kind == "lang":
        return f'"{text}"@' + draw(st.sampled_from(["en", "ko", "zh-Hans", "en-GB-x-private", "x"]))
    if kind == "typed":
        datatype = draw(st.sampled_from(["xsd:integer", "xsd:dateTime", "xsd:date", "xsd:boolean", "xsd:double",
                                         "<urn:unknown:type>", "xsd:gYear", "rdf:langString"]))  # fmt: skip
        value = draw(st.sampled_from(["1", "-0", "2003-02-14", "2003-02-14T10:00:00Z", "true", "NaN", "x", ""]))
        return f'"{value}"^^{datatype}'
    if kind == "number":
        return draw(st.sampled_from(["0", "-1", "+7", "1.5", ".5", "1e308", "1e-400", "99999999999999999999999"]))
    return draw(st.sampled_from(["true", "false"]))


def constants() -> st.SearchStrategy[str]:
    return st.one_of(iris(), st.builds(lambda p, local: f"{p}:{local}", PREFIXES, LOCALS), literals())


def terms() -> st.SearchStrategy[str]:
    return st.one_of(VARIABLES, constants(), st.just("[]"))


FUNCTIONS = ["STR", "LANG", "DATATYPE", "STRLEN", "UCASE", "ISIRI", "ISLITERAL", "ABS", "YEAR", "ENCODE_FOR_URI",
             "xsd:integer", "xsd:dateTime", "xsd:double", "IRI", "BNODE", "MD5", "TZ", "ROUND", "LCASE"]  # fmt: skip
BINARY = ["CONCAT", "SUBSTR", "REGEX", "LANGMATCHES", "STRSTARTS", "CONTAINS", "STRBEFORE", "COALESCE", "SAMETERM",
          "STRDT", "STRLANG", "REPLACE"]  # fmt: skip
UNKNOWN = ["<urn:f>", "ex:nothing", "<http://example.org/fn#f>", "sg:f"]


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(terms(), st.sampled_from(["NOW()", "RAND()", "UUID()", '"[a-"', '"(?i)^ch"', "?s"]))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(
                lambda a, op, b: f"({a} {op} {b})",
                inner,
                st.sampled_from(["+", "-", "*", "/", "=", "!=", "<", ">=", "&&", "||"]),
                inner,
            ),
            st.builds(lambda op, a: f"{op}({a})", st.sampled_from(["!", "-", "+"]), inner),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(FUNCTIONS), inner),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(BINARY), inner, inner),
            st.builds(lambda f, args: f"{f}({', '.join(args)})", st.sampled_from(UNKNOWN), st.lists(inner, max_size=3)),
            st.builds(lambda a, b, c: f"IF({a}, {b}, {c})", inner, inner, inner),
            st.builds(lambda v: f"BOUND({v})", VARIABLES),
            st.builds(lambda a, items: f"({a} IN ({', '.join(items)}))", inner, st.lists(inner, max_size=3)),
            st.builds(lambda g: f"EXISTS {{ {g} }}", triples()),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def paths() -> st.SearchStrategy[str]:
    steps = st.sampled_from(["sg:race", "rdfs:label", "a", "sg:competitor", "<urn:p>", "sg:nation", "ex:q"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, op, b: f"({a}{op}{b})", inner, st.sampled_from(["/", "|"]), inner),
            st.builds(lambda a, op: f"({a}){op}", inner, st.sampled_from(["*", "+", "?"])),
            st.builds(lambda a: f"^{a}", inner),
            st.builds(lambda a, b: f"!({a}|^{b})", steps, steps),
        )

    return st.recursive(steps, extend, max_leaves=5)


def triples() -> st.SearchStrategy[str]:
    verb = st.one_of(VARIABLES, paths())
    return st.builds(lambda s, p, o: f"{s} {p} {o} .", st.one_of(VARIABLES, iris(), st.just("[]")), verb, terms())


def patterns() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, b: f"{a} {b}", inner, inner),
            st.builds(lambda a: f"{{ {a} }}", inner),
            st.builds(lambda a: f"OPTIONAL {{ {a} }}", inner),
            st.builds(lambda a, b: f"{{ {a} }} UNION {{ {b} }}", inner, inner),
            st.builds(lambda a, b: f"{a} MINUS {{ {b} }}", inner, inner),
            st.builds(lambda g, a: f"GRAPH {g} {{ {a} }}", st.one_of(VARIABLES, iris()), inner),
            st.builds(lambda e: f"FILTER({e})", expressions()),
            st.builds(lambda e, v: f"BIND({e} AS {v})", expressions(), VARIABLES),
            st.builds(
                lambda v, items: f"VALUES {v} {{ {' '.join(items)} }}",
                VARIABLES,
                st.lists(st.one_of(constants(), st.just("UNDEF")), max_size=3),
            ),
            st.builds(lambda v, a: f"{{ SELECT {v} WHERE {{ {a} }} LIMIT 3 }}", VARIABLES, inner),
        )

    return st.recursive(triples(), extend, max_leaves=6)


@st.composite
def queries(draw: st.DrawFn) -> str:
    prologue = []
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            prologue.append(f"BASE {draw(iris())}")
        else:
            prologue.append(f"PREFIX {draw(PREFIXES)}: {draw(iris())}")
    where = draw(patterns())
    form = draw(st.sampled_from(["select", "aggregate", "ask", "construct", "describe"]))
    if form == "select":
        projection = draw(st.one_of(st.just("*"), st.lists(VARIABLES, min_size=1, max_size=3).map(" ".join),
                                    st.builds(lambda e, v: f"({e} AS {v})", expressions(), VARIABLES)))  # fmt: skip
        head = f"SELECT {draw(st.sampled_from(['', 'DISTINCT ', 'REDUCED ']))}{projection}"
    elif form == "aggregate":
        aggregate = draw(st.sampled_from(["COUNT(*)", "COUNT(DISTINCT ?s)", "SUM(?n)", "AVG(?o)", "MIN(?x)",
                                          "MAX(?x)", 'GROUP_CONCAT(?o; SEPARATOR=", ")', "SAMPLE(?o)"]))  # fmt: skip
        group = draw(st.sampled_from(["", " GROUP BY ?s", " GROUP BY (STR(?o) AS ?k)"]))
        having = draw(st.sampled_from(["", " HAVING (COUNT(*) > 1)"])) if group else ""
        head = (
            f"SELECT (?s AS ?k0) ({aggregate} AS ?agg)" if group == " GROUP BY ?s" else f"SELECT ({aggregate} AS ?agg)"
        )
        return "\n".join([*prologue, f"{head} WHERE {{ {where} }}{group}{having} LIMIT 5"])
    elif form == "ask":
        return "\n".join([*prologue, f"ASK {{ {where} }}"])
    elif form == "construct":
        head = "CONSTRUCT" if draw(st.booleans()) else f"CONSTRUCT {{ {draw(triples())} }}"
        return "\n".join([*prologue, f"{head} WHERE {{ {where} }} LIMIT 5"])
    else:
        head = f"DESCRIBE {draw(st.one_of(VARIABLES, iris()))}"
    order = draw(st.sampled_from(["", " ORDER BY ?s", " ORDER BY DESC(?o) ?x", " ORDER BY (RAND())"]))
    return "\n".join([*prologue, f"{head} WHERE {{ {where} }}{order} LIMIT 5 OFFSET {draw(st.integers(0, 3))}"])


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A generated query, and now and then noise: random text or bytes put in, or the text cut."""
    text = draw(queries()).encode("utf-8")
    how = draw(st.sampled_from(["none", "none", "none", "text", "bytes", "cut"]))
    at = draw(st.integers(0, len(text)))
    if how == "text":
        return text[:at] + draw(st.text(max_size=8)).encode("utf-8") + text[at:]
    if how == "bytes":
        return text[:at] + draw(st.binary(min_size=1, max_size=8)) + text[at:]
    return text[:at] if how == "cut" else text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    with seed_server(tmp_path_factory.mktemp("fuzz-sparql"), "--timeout", "2", seed=seed_dir) as running:
        yield running


def test_the_grammar_makes_real_queries() -> None:
    """Without noise, most generated queries parse and run in pyoxigraph itself (an empty store)."""
    store = ox.Store()
    outcomes: list[bool] = []
    failures: list[str] = []

    @FUZZ
    @given(query=queries())
    def run(query: str) -> None:
        try:
            result = store.query(query, prefixes=DECLARED, base_iri="http://127.0.0.1/sparql")
            list(result) if not isinstance(result, ox.QueryBoolean) else bool(result)
            outcomes.append(True)
        except SyntaxError as error:
            outcomes.append(False)
            failures.append(f"{error}: {query}")
        except (OSError, ValueError, TypeError, RuntimeError):
            outcomes.append(True)  # parsed; the engine refused to evaluate it (an unknown function)

    run()
    assert sum(outcomes) >= 0.6 * len(outcomes), f"{sum(outcomes)} of {len(outcomes)} parse:\n" + "\n".join(failures)


def _check(route: str, query: bytes, reply: Reply) -> None:
    where = (route, query, reply.status, reply.body[:300])
    if reply.status < 400:
        assert reply.status == 200, where
        return
    assert reply.header("Content-Type") == "application/json", where
    body = json.loads(reply.body)
    assert body["status"] == reply.status and isinstance(body["error"], str), where
    assert isinstance(body["message"], str) and body["message"], where
    assert reply.status < 500 or (reply.status == 503 and body["error"] in ERROR_503), where


def test_generated_queries_never_give_a_server_error(server: Server) -> None:
    @FUZZ
    @given(query=damaged())
    def run(query: bytes) -> None:
        encoded = urllib.parse.quote_from_bytes(query)
        timeout = "timeout=1"
        _check("GET", query, server.request("GET", f"/sparql?{timeout}&query={encoded}"))
        form = f"{timeout}&query={encoded}"
        _check("form", query, server.post("/sparql", form, "application/x-www-form-urlencoded"))
        _check("body", query, server.post(f"/sparql?{timeout}", query, "application/sparql-query"))

    run()
    assert server.get("/health").status == 200
