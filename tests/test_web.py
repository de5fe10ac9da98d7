"""The SPARQL endpoint, driven request by request: the app in this process over a real on-disk store
and real query workers (tests/test_server.py has what needs the server process itself)."""

from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import re
import shutil
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import rdflib

from .conftest import ID
from .server import Client, rows, seed_app

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?r a sg:Race }"
CONSTRUCT = "CONSTRUCT { ?s a sg:Nation } WHERE { ?s a sg:Nation }"
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Client]:
    with seed_app(tmp_path_factory.mktemp("web"), seed=seed_dir) as running:
        yield running


def test_health(server: Client) -> None:
    reply = server.get("/health")
    assert reply.status == 200
    data = json.loads(reply.body)
    assert data["status"] == "ok" and data["triples"] > 2000


# -- the three ways to send a query ------------------------------------------------------------


def test_get(server: Client) -> None:
    reply = server.query(COUNT)
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/sparql-results+json"
    assert rows(reply.body) == [{"n": "60"}]


def test_post_form(server: Client) -> None:
    reply = server.post("/sparql", f"query={COUNT}", "application/x-www-form-urlencoded")
    assert reply.status == 200 and rows(reply.body) == [{"n": "60"}]


def test_post_multipart_form(server: Client) -> None:
    body = f'--b\r\nContent-Disposition: form-data; name="query"\r\n\r\n{COUNT}\r\n--b--\r\n'
    reply = server.post("/sparql", body, "multipart/form-data; boundary=b")
    assert reply.status == 200 and rows(reply.body) == [{"n": "60"}]


def test_post_direct(server: Client) -> None:
    reply = server.post("/sparql", COUNT, "application/sparql-query")
    assert reply.status == 200 and rows(reply.body) == [{"n": "60"}]


def test_protocol_dataset_overrides_and_union_is_default(server: Client) -> None:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Skater }"
    assert rows(server.query(q).body) == [{"n": "35"}]
    season = "https://w3id.org/skategraph/graph/season/2002-03"
    assert rows(server.query(q, **{"default-graph-uri": season}).body) == [{"n": "0"}]
    named = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s a sg:Race } }"
    entities = "https://w3id.org/skategraph/graph/entities"
    assert rows(server.query(named, **{"named-graph-uri": entities}).body) == [{"n": "0"}]
    assert rows(server.query(named, **{"named-graph-uri": season}).body) == [{"n": "60"}]


# -- content negotiation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml; charset=utf-8"),
        ("text/csv", "text/csv; charset=utf-8"),
        ("text/tab-separated-values", "text/tab-separated-values; charset=utf-8"),
        ("*/*", "application/sparql-results+json"),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml; charset=utf-8"),
        ("application/json", "application/sparql-results+json"),
    ],
)
def test_select_by_accept(server: Client, accept: str, media_type: str) -> None:
    reply = server.query(COUNT, accept=accept)
    assert reply.status == 200
    assert reply.header("Content-Type") == media_type
    if "json" in media_type:
        assert rows(reply.body) == [{"n": "60"}]
    elif "xml" in media_type:
        ns = {"s": "http://www.w3.org/2005/sparql-results#"}
        assert ET.fromstring(reply.body).find(".//s:literal", ns).text == "60"
    elif "csv" in media_type:
        assert list(csv.reader(io.StringIO(reply.text))) == [["n"], ["60"]]
    else:
        assert reply.text.splitlines() == ["?n", "60"]


@pytest.mark.parametrize(
    ("accept", "media_type", "rdflib_format"),
    [
        ("text/turtle", "text/turtle", "turtle"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/n-quads", "application/n-quads", "nquads"),
        ("application/trig", "application/trig", "trig"),
        ("*/*", "text/turtle", "turtle"),
    ],
)
def test_construct_by_accept(server: Client, accept: str, media_type: str, rdflib_format: str) -> None:
    reply = server.query(CONSTRUCT, accept=accept)
    assert reply.status == 200
    assert (
        reply.header(
            "Content-Type",
        ).split(";")[0]
        == media_type
    )
    if rdflib_format in ("nquads", "trig"):
        dataset = rdflib.Dataset().parse(data=reply.body, format=rdflib_format)
        assert sum(1 for _ in dataset.quads()) == 11
    else:
        assert len(rdflib.Graph().parse(data=reply.body, format=rdflib_format)) == 11


@pytest.mark.parametrize(("syntax", "accept"), [("turtle", "text/turtle"), ("ntriples", "application/n-triples"),
                                                ("rdfxml", "application/rdf+xml"), ("nquads", "application/n-quads"),
                                                ("trig", "application/trig")])  # fmt: skip
def test_construct_parses_in_rapper(server: Client, tmp_path: Path, syntax: str, accept: str) -> None:
    rapper = shutil.which("rapper")
    assert rapper, "rapper (raptor2-utils) is needed: .ci/run installs it"
    reply = server.query("CONSTRUCT WHERE { ?s ?p ?o }", accept=accept)
    path = tmp_path / "out"
    path.write_bytes(reply.body)
    done = subprocess.run([rapper, "-i", syntax, "-c", str(path), "http://base/"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    triples = json.loads(server.get("/health").body)["triples"]
    assert int(re.search(r"returned (\d+) triples", done.stderr).group(1)) == triples


WITH_PARAMETERS = [
    ("/sparql?query=" + quote(COUNT), "application/sparql-results+json; charset=utf-8", "application/sparql-results+json"),
    ("/sparql?query=" + quote(CONSTRUCT), "text/turtle; charset=utf-8", "text/turtle"),
    ("/sparql?query=" + quote(CONSTRUCT), "application/n-triples; charset=utf-8", "application/n-triples"),
    ("/sparql?query=" + quote(CONSTRUCT), 'application/ld+json; profile="http://www.w3.org/ns/json-ld#expanded"',
     "application/ld+json"),
    ("/sparql?query=" + quote(CONSTRUCT), "application/rdf+xml;q=0.9; charset=UTF-8", "application/rdf+xml"),
    ("/store?default", "text/turtle; charset=utf-8", "text/turtle"),
    ("/store?default", "application/n-triples; charset=utf-8", "application/n-triples"),
    ("/id/skater/oh-se-jong", "text/turtle; charset=utf-8", "text/turtle"),
    ("/id/skater/oh-se-jong", 'application/ld+json; profile="http://www.w3.org/ns/json-ld#expanded"',
     "application/ld+json"),
    ("/id/skater/oh-se-jong", "text/html; level=1", "text/html"),
    ("/ontology", "text/turtle; charset=utf-8", "text/turtle"),
    ("/queries/medal_table", "text/csv; charset=utf-8; header=present", "text/csv"),
    ("/queries/medal_table", "application/sparql-results+json; charset=utf-8", "application/sparql-results+json"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "accept", "media_type"), WITH_PARAMETERS)
def test_media_type_parameters_do_not_block_a_match(server: Client, path: str, accept: str, media_type: str) -> None:
    """Issue 13: werkzeug matched `text/turtle; charset=utf-8` to no offer without the parameter, so
    every client that adds one got 406. Only q counts."""
    reply = server.get(path, Accept=accept)
    if reply.status in (301, 302, 303, 307):  # /id/... sends a document's URL
        reply = server.get(reply.header("Location").removeprefix(server.url), Accept=accept)
    assert reply.status == 200, reply.body[:300]
    assert reply.header("Content-Type").split(";")[0] == media_type
    if media_type == "application/ld+json":
        assert isinstance(json.loads(reply.body), list)  # expanded: node objects, no @context


def test_format_parameter_overrides_accept(server: Client) -> None:
    reply = server.query(COUNT, accept="application/sparql-results+xml", format="csv")
    assert reply.header("Content-Type") == "text/csv; charset=utf-8"
    reply = server.query(CONSTRUCT, accept="text/turtle", format="application/n-triples")
    assert reply.header("Content-Type") == "application/n-triples"


def test_not_acceptable(server: Client) -> None:
    reply = server.query(COUNT, accept="image/png")
    assert reply.status == 406
    assert json.loads(reply.body)["error"] == "not_acceptable"
    assert server.query(CONSTRUCT, accept="image/png").status == 406


def test_a_graph_for_a_client_that_reads_only_results_is_rows(server: Client) -> None:
    reply = server.query(CONSTRUCT, format="csv")
    assert reply.status == 200 and reply.header("Content-Type") == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(reply.text)))
    assert table[0] == ["subject", "predicate", "object"] and len(table) == 12
    assert server.query(CONSTRUCT, accept="application/sparql-results+xml").status == 200


# -- errors: 4xx with a JSON body that says what was wrong, never a 500 -------------------------

ERRORS = [
    ("syntax", "GET", "/sparql?query=SELEC%20x", None, None, 400, "query_error", "the query does not parse"),
    ("two-queries", "GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D", None, None, 400, "query_error", "2 'query' parameters"),
    ("post-nothing", "POST", "/sparql", "format=json", "application/x-www-form-urlencoded", 400, "query_error", "no 'query' or 'update'"),
    ("query-and-update", "POST", "/sparql", "query=ASK{}&update=CLEAR%20ALL", "application/x-www-form-urlencoded", 400, "query_error", "not both"),
    ("update-by-get", "GET", "/sparql?update=CLEAR%20ALL", None, None, 400, "query_error", "must be sent with POST"),
    ("put", "PUT", "/sparql?query=ASK%7B%7D", "", "application/x-www-form-urlencoded", 405, "method_not_allowed", "not allowed"),
    ("text-plain", "POST", "/sparql", "ASK {}", "text/plain", 415, "unsupported_media_type", "got text/plain"),
    ("no-content-type", "POST", "/sparql", "query=ASK%20%7B%7D", None, 415, "unsupported_media_type", "no Content-Type"),
    ("utf16", "POST", "/sparql", "ASK {}".encode("utf-16"), "application/sparql-query; charset=UTF-16", 415, "unsupported_media_type", "must be UTF-8"),
    ("not-utf8", "POST", "/sparql", b"ASK { \xff }", "application/sparql-query", 400, "query_error", "not UTF-8"),
    ("bad-format", "GET", "/sparql?query=ASK%7B%7D&format=pdf", None, None, 400, "query_error", "unknown format 'pdf'"),
    ("relative-graph", "GET", "/sparql?query=ASK%7B%7D&default-graph-uri=g1", None, None, 400, "query_error", "must be an absolute IRI"),
    ("bad-timeout", "GET", "/sparql?query=ASK%7B%7D&timeout=soon", None, None, 400, "query_error", "timeout must be a number"),
    ("description-bad-timeout", "GET", "/sparql?timeout=0", None, None, 400, "query_error", "timeout must be at least 0.1"),
    ("service", "GET", "/sparql?query=SELECT%20*%20%7B%20SERVICE%20%3Chttp%3A%2F%2F127.0.0.1%3A9%2F%3E%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20%7D", None, None, 400, "outbound_refused", "not on the allow-list"),
    ("unknown-path", "GET", "/nothing-here", None, None, 404, "not_found", "not found"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status", "code", "message"),
    [e[1:] for e in ERRORS],
    ids=[e[0] for e in ERRORS],
)
def test_errors(
    server: Client,
    method: str,
    path: str,
    body: str | bytes | None,
    content_type: str | None,
    status: int,
    code: str,
    message: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = server.request(method, path, body, headers)
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/json"
    data = json.loads(reply.body)
    assert data["status"] == status and data["error"] == code
    assert message.lower() in data["message"].lower(), data["message"]


def test_syntax_error_has_position(server: Client) -> None:
    query = "SELECT ?x WHERE { ?x ?y }"
    data = json.loads(server.query(query).body)
    assert data["line"] == 1 and query.index("?y") < data["column"] <= len(query) + 1


def test_405_says_what_is_allowed(server: Client) -> None:
    reply = server.request("DELETE", "/sparql")
    assert reply.status == 405
    assert set((reply.header("Allow") or "").replace(" ", "").split(",")) >= {"GET", "POST"}


# -- the service description -------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "syntax"), [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                                                ("application/rdf+xml", "xml"), (None, "turtle")])  # fmt: skip
def test_service_description(server: Client, accept: str | None, syntax: str) -> None:
    reply = server.get("/sparql", **({"Accept": accept} if accept else {}))
    assert reply.status == 200
    graph = rdflib.Graph().parse(data=reply.body, format=syntax)
    endpoint = rdflib.URIRef(server.url + "/sparql")
    assert (endpoint, SD.endpoint, endpoint) in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Update) in graph  # this server has a token
    dataset = graph.value(endpoint, SD.defaultDataset)
    stats = json.loads(server.get("/health").body)
    assert int(graph.value(dataset, VOID.triples)) == stats["triples"]
    assert int(graph.value(dataset, VOID.classes)) == 13
    names = {str(graph.value(g, SD.name)) for g in graph.objects(dataset, SD.namedGraph)}
    assert "https://w3id.org/skategraph/graph/season/2002-03" in names
    assert all(graph.value(g, SD.name) for g in graph.subjects(rdflib.RDF.type, SD.NamedGraph))


# -- caching and CORS --------------------------------------------------------------------------


def test_etag_and_304(server: Client) -> None:
    first = server.query(COUNT)
    etag = first.header("ETag")
    assert etag and first.header("Cache-Control") == "public, max-age=60"
    assert "Accept" in (first.header("Vary") or "")
    again = server.get("/sparql", {"query": COUNT}, Accept="application/sparql-results+json", If_None_Match=etag)
    assert again.status == 304 and again.body == b""
    other = server.get("/sparql", {"query": COUNT}, Accept="text/csv", If_None_Match=etag)
    assert other.status == 200  # another representation, another ETag


def test_cors_for_reads(server: Client) -> None:
    reply = server.get("/sparql", {"query": COUNT}, Origin="https://yasgui.example")
    assert reply.header("Access-Control-Allow-Origin") == "*"
    assert "X-Skategraph-Truncated" in (reply.header("Access-Control-Expose-Headers") or "")
    preflight = server.request("OPTIONS", "/sparql", headers={
        "Origin": "https://yasgui.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})  # fmt: skip
    assert preflight.status == 200 and preflight.header("Access-Control-Allow-Origin") == "*"
    assert "POST" in (preflight.header("Access-Control-Allow-Methods") or "")
    # A cross-origin script may not send the token: writes stay same-origin.
    writes = server.request("OPTIONS", "/sparql", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})  # fmt: skip
    assert "authorization" not in (writes.header("Access-Control-Allow-Headers") or "").lower()


# -- heavy and hostile queries -----------------------------------------------------------------


def test_head_says_what_get_would_send(server: Client) -> None:
    from urllib.parse import urlencode

    for query in (COUNT, "CONSTRUCT WHERE { ?s ?p ?o }"):  # one answer read whole, one streamed
        path = "/sparql?" + urlencode({"query": query})
        got = server.request("GET", path, headers={"Accept": "application/n-triples, application/sparql-results+json"})
        head = server.request(
            "HEAD", path, headers={"Accept": "application/n-triples, application/sparql-results+json"}
        )
        assert head.status == 200 and head.body == b""
        assert head.header("Content-Type") == got.header("Content-Type")
        assert int(head.header("Content-Length") or -1) == len(got.body)


def test_row_limit_is_signalled(tmp_path: Path, seed_dir: Path) -> None:
    with seed_app(tmp_path, seed=seed_dir, row_limit=100, max_body=2000) as limited:
        reply = limited.query("SELECT * WHERE { ?s ?p ?o }")
        assert reply.header("X-Skategraph-Truncated") == "true"
        assert reply.header("X-Skategraph-Row-Limit") == "100"
        data = json.loads(reply.body)
        assert len(data["results"]["bindings"]) == 100
        assert data["head"]["link"] == [limited.url + "/limits"]
        assert json.loads(limited.get("/limits").body)["row_limit"] == 100
        xml = limited.query("SELECT * WHERE { ?s ?p ?o }", accept="application/sparql-results+xml")
        assert b'<link href="' + limited.url.encode() + b'/limits"/>' in xml.body
        whole = limited.query("SELECT * WHERE { ?s ?p ?o } LIMIT 100")
        assert whole.header("X-Skategraph-Truncated") is None
        assert "link" not in json.loads(whole.body)["head"]
        big = limited.post("/sparql", "ASK {} #" + "x" * 3000, "application/sparql-query")
        assert big.status == 413 and json.loads(big.body)["error"] == "request_entity_too_large"


# -- writes ------------------------------------------------------------------------------------


def test_writes_need_the_token(server: Client) -> None:
    update = "INSERT DATA { GRAPH <http://ex/t> { <http://ex/s> <http://ex/p> 1 } }"
    missing = server.update(update, token=None)
    assert missing.status == 401 and missing.header("WWW-Authenticate") == 'Bearer realm="skategraph"'
    assert server.update(update, token="wrong").status == 403
    assert server.query("ASK { GRAPH <http://ex/t> { ?s ?p ?o } }").body.endswith(b"false}")


def test_read_only_without_token(tmp_path: Path, seed_dir: Path) -> None:
    with seed_app(tmp_path, token=None, seed=seed_dir) as readonly:
        reply = readonly.update("CLEAR ALL", token="anything")
        assert reply.status == 403
        assert "read-only" in json.loads(reply.body)["message"]
        assert readonly.request("PUT", "/store?default", "", {"Content-Type": "text/turtle"}).status == 403
        assert rows(readonly.query(COUNT).body) == [{"n": "60"}]


def test_update_and_failed_update(server: Client) -> None:
    before = server.query(COUNT).header("X-Skategraph-Build")
    reply = server.update("INSERT DATA { GRAPH <http://ex/u> { <http://ex/s> <http://ex/p> 1 } }")
    assert reply.status == 204
    assert server.query("ASK { GRAPH <http://ex/u> { <http://ex/s> <http://ex/p> 1 } }").body.endswith(b"true}")
    after = server.query(COUNT).header("X-Skategraph-Build")
    assert after != before
    bad = server.update("INSERT DATA { GRAPH <http://ex/u> { <http://ex/s> <http://ex/p> }")
    assert bad.status == 400 and "does not parse" in json.loads(bad.body)["message"]
    assert server.query(COUNT).header("X-Skategraph-Build") == after  # nothing changed
    load = server.update("LOAD <http://127.0.0.1:9/data.ttl>")
    assert load.status == 400 and json.loads(load.body)["error"] == "outbound_refused"


def test_using_graph_uri(server: Client) -> None:
    server.update("INSERT DATA { GRAPH <http://ex/src> { <http://ex/doc> a <http://ex/Doc> } }")
    reply = server.update("INSERT { GRAPH <http://ex/dst> { ?s a <http://ex/Copied> } } WHERE { ?s a <http://ex/Doc> }",
                          **{"using-graph-uri": "http://ex/src"})  # fmt: skip
    assert reply.status == 204
    assert server.query("ASK { GRAPH <http://ex/dst> { <http://ex/doc> a <http://ex/Copied> } }").body.endswith(
        b"true}"
    )
    conflict = server.update(
        "WITH <http://ex/src> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", **{"using-graph-uri": "http://ex/src"}
    )
    assert conflict.status == 400


def cached_lines(server: Client, fragment: str) -> int:
    time.sleep(0.1)  # the log is read by a thread
    return sum(1 for line in server.log if "(cached)" in line and fragment in line)


def test_repeated_get_is_answered_from_the_cache(server: Client) -> None:
    query = "SELECT ?l WHERE { <https://w3id.org/skategraph/id/skater/oh-se-jong> rdfs:label ?l }"
    # Each web process keeps its own cache (a server may run several), so of four identical requests
    # at most two miss.
    replies = [server.query(query) for _ in range(4)]
    assert {r.status for r in replies} == {200} and rows(replies[0].body) == [{"l": "Oh Se-jong"}]
    assert len({(r.body, r.header("ETag"), r.header("Content-Type")) for r in replies}) == 1
    hits = cached_lines(server, "oh-se-jong")
    assert hits >= 2
    as_csv = server.query(query, accept="text/csv")  # another representation: not the JSON entry
    assert as_csv.text.splitlines() == ["l", "Oh Se-jong"]
    server.post("/sparql", query, "application/sparql-query")  # POST never comes from the cache
    assert cached_lines(server, "oh-se-jong") == hits


def test_a_page_is_answered_from_the_cache_until_the_store_changes(server: Client) -> None:
    page = "/id/skater/oh-se-jong"
    for accept in ("text/html", "text/turtle"):
        first, second = (server.get(page, Accept=accept) for _ in range(2))
        assert first.status == second.status == 200 and first.body == second.body
    replies = [server.get(page, Accept="text/html") for _ in range(3)]
    assert {r.status for r in replies} == {200} and b"Oh Se-jong" in replies[0].body
    assert cached_lines(server, f'"GET {page}" 200') >= 2  # per web process, the first of each misses
    assert server.get("/id/skater/no-such-skater").status == 404  # not an answer to keep
    assert cached_lines(server, "no-such-skater") == 0
    label = '"Oh Se-jong, cached"'
    insert = f"INSERT DATA {{ GRAPH <http://ex/cache-page> {{ <{ID}skater/oh-se-jong> rdfs:label {label}@fr }} }}"
    assert server.update(insert).status == 204
    assert b"Oh Se-jong, cached" in server.get(page, Accept="text/turtle").body  # a new store: a new entry
    assert server.update("DROP GRAPH <http://ex/cache-page>").status == 204


def test_concurrent_misses_make_an_answer_once(tmp_path: Path, seed_dir: Path) -> None:
    """Requests for an answer that is being made wait for it rather than each making it again."""
    page = "/id/season/2002-03"
    with seed_app(tmp_path, token=None, seed=seed_dir) as fresh:
        start = threading.Barrier(6)

        def fetch() -> bytes:
            start.wait()
            return fresh.get(page, Accept="text/html").body

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            bodies = list(pool.map(lambda _: fetch(), range(6)))
        assert len(set(bodies)) == 1 and b"2002" in bodies[0]
        time.sleep(0.1)
        made = [line for line in fresh.log if f'"GET {page}" 200' in line]
        assert len(made) == 6 and sum("(cached)" not in line for line in made) == 1, made


def test_the_cache_never_answers_for_an_older_store(server: Client) -> None:
    ask_query = "ASK { GRAPH <http://ex/cache-check> { ?s ?p ?o } }"
    assert server.query(ask_query).body.endswith(b"false}")
    assert server.query(ask_query).body.endswith(b"false}")  # now cached
    assert (
        server.update("INSERT DATA { GRAPH <http://ex/cache-check> { <http://ex/s> <http://ex/p> 1 } }").status == 204
    )
    assert server.query(ask_query).body.endswith(b"true}")


def test_cache_can_be_turned_off(tmp_path: Path, seed_dir: Path) -> None:
    with seed_app(tmp_path, cache_mb=0, token=None, seed=seed_dir) as uncached:
        for _ in range(3):
            assert rows(uncached.query(COUNT).body) == [{"n": "60"}]
        time.sleep(0.1)
        assert not any("(cached)" in line for line in uncached.log)


def test_a_time_limit_has_a_floor(server: Client) -> None:
    for tiny in ("1e-9", "0.01", "nan"):
        reply = server.query(COUNT, timeout=tiny)
        assert reply.status == 400, tiny
        assert "timeout must be at least 0.1 seconds" in json.loads(reply.body)["message"]
    assert server.query(COUNT, timeout="0.1").status == 200


def test_an_update_while_the_store_is_locked_is_a_503_that_says_why(server: Client) -> None:
    import fcntl

    with open(server.store / "build.lock", "w") as lock:  # what a running build holds
        fcntl.flock(lock, fcntl.LOCK_EX)
        reply = server.update("INSERT DATA { GRAPH <http://ex/l> { <http://ex/s> <http://ex/p> 1 } }", timeout="0.3")
        fcntl.flock(lock, fcntl.LOCK_UN)
    body = json.loads(reply.body)
    assert reply.status == 503 and body["error"] == "store_locked"
    assert "another build or update is running" in body["message"] and "nothing was changed" in body["message"]
    assert server.update("INSERT DATA { GRAPH <http://ex/l> { <http://ex/s> <http://ex/p> 1 } }").status == 204


@pytest.mark.parametrize("character", list('`{}"<>^|\\'))
def test_a_graph_url_that_is_no_iri_is_a_400(server: Client, character: str) -> None:
    reply = server.get(f"/store/a{quote(character)}b", Accept="text/turtle")
    assert reply.status == 400, reply.text
    assert "is not an IRI a graph can have" in json.loads(reply.body)["message"]


@pytest.mark.parametrize("body", ["-3.4e-41", '"text"', "true", "null", "[1, {"])
def test_a_json_ld_body_that_is_not_an_object_or_array_is_refused_and_changes_nothing(
    server: Client, body: str
) -> None:
    """Found by schemathesis: pyoxigraph reads a bare JSON number (or string, or true) as a JSON-LD
    document with no triples, so such a PUT emptied a graph and answered 204."""
    graph = "http://ex/jsonld-check"
    headers = {"Authorization": "Bearer secret"}
    assert server.request("PUT", f"/store?graph={graph}", '<http://ex/s> <http://ex/p> "1" .',
                          {**headers, "Content-Type": "application/n-triples"}).status in (201, 204)  # fmt: skip
    reply = server.request("PUT", f"/store?graph={graph}", body, {**headers, "Content-Type": "application/ld+json"})
    assert reply.status == 400 and json.loads(reply.body)["error"] == "query_error", reply.text
    assert server.query(f"ASK {{ GRAPH <{graph}> {{ <http://ex/s> ?p '1' }} }}").body.endswith(b"true}")
