"""Dereferencing as a linked-data client does it: fetch an IRI with each Accept, parse the RDF, follow a
link found in it; plus the pages, the ontology, VoID, the dump, the front page and the query page."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyoxigraph as ox
import pytest
import rdflib

from skategraph.store import generations
from skategraph.web import pages, sections
from skategraph.web.service import Service

from .conftest import BASE, SEED, build
from .season_facts import SEASONS
from .server import App, Client, running_app, seed_app
from .source_facts import RACES

SG = rdflib.Namespace("https://w3id.org/skategraph/ontology#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
AHN = BASE + "id/skater/ahn-hyun-soo"
RDF_ACCEPTS = [
    ("text/turtle", "turtle", ".ttl"),
    ("application/n-triples", "nt", ".nt"),
    ("application/ld+json", "json-ld", ".jsonld"),
    ("application/rdf+xml", "xml", ".rdf"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Client]:
    with seed_app(tmp_path_factory.mktemp("linked"), seed=seed_dir) as running:
        yield running


def path_of(iri: str) -> str:
    """Where the server answers one of our IRIs: the same path, on its own host."""
    assert iri.startswith(BASE), iri
    return "/" + iri[len(BASE) :]


def graph_of(body: bytes, syntax: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=body, format=syntax)


@pytest.mark.parametrize(("accept", "syntax", "suffix"), RDF_ACCEPTS)
def test_an_iri_answers_rdf_and_its_links_can_be_followed(
    server: Client, accept: str, syntax: str, suffix: str
) -> None:
    reply = server.get(path_of(AHN), Accept=accept)
    assert reply.status == 200 and (reply.header("Content-Type") or "").startswith(accept)
    assert "Accept" in (reply.header("Vary") or "")
    assert reply.header("Content-Location") == f"{server.url}/id/skater/ahn-hyun-soo{suffix}"
    graph = graph_of(reply.body, syntax)
    me = rdflib.URIRef(AHN)
    assert (me, rdflib.RDF.type, SG.Skater) in graph
    assert str(graph.value(me, rdflib.RDFS.label)) == "Ahn Hyun-soo"
    # Incoming links: every podium place of his, as results pointing at him.
    results = set(graph.subjects(SG.competitor, me))
    places = sum(name == "Ahn Hyun-soo" for r in RACES for _code, name in r.podium)
    assert len([r for r in results if "/result/" in str(r)]) == places
    # Where to ask for more.
    document = rdflib.URIRef(reply.header("Content-Location"))
    dataset = graph.value(document, VOID.inDataset)
    assert graph.value(dataset, VOID.sparqlEndpoint) == rdflib.URIRef(f"{server.url}/sparql")
    # Follow a link: his nation, which answers in turn.
    nation = graph.value(me, SG.nation)
    followed = graph_of(server.get(path_of(str(nation)), Accept=accept).body, syntax)
    assert str(followed.value(nation, rdflib.RDFS.label)) == "South Korea"
    # The suffix gives the same graph as the Accept header.
    by_suffix = server.get(path_of(AHN) + suffix)
    assert by_suffix.status == 200
    assert len(graph_of(by_suffix.body, syntax)) == len(graph)


def test_turtle_parses_in_rapper(server: Client, tmp_path: Path) -> None:
    rapper = shutil.which("rapper")
    assert rapper, "rapper (Debian's raptor2-utils) is needed: .ci/run installs it"
    path = tmp_path / "race.ttl"
    path.write_bytes(server.get("/id/race/2002-03/chuncheon/men-1500m.ttl").body)
    done = subprocess.run([rapper, "-i", "turtle", "-c", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(re.search(r"returned (\d+) triples", done.stderr).group(1)) > 10


def test_html_for_browsers_with_json_ld(server: Client) -> None:
    reply = server.get(path_of(AHN), Accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert reply.status == 200 and reply.header("Content-Type") == "text/html; charset=utf-8"
    html = reply.text
    assert "<h1>Ahn Hyun-soo</h1>" in html
    embedded = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert embedded
    data = json.loads(embedded.group(1))
    assert (data["@type"], data["name"], data["@id"]) == ("Person", "Ahn Hyun-soo", AHN)
    # His podium places link to the races, and a race's page links back to him.
    race = "/id/race/2002-03/chuncheon/men-1500m"
    assert f'href="{race}"' in html
    back = server.get(race, Accept="text/html").text
    assert 'href="/id/skater/ahn-hyun-soo"' in back
    assert '"@type": "SportsEvent"' in back


@pytest.mark.parametrize(
    ("path", "facts"),
    [
        ("/id/season/2002-03", ["Calendar", "Podiums", "Standings", "Saguenay", "Fu Tianyu"]),
        ("/id/nation/BUL", ["Skaters", "Evgenia Radanova", "Medal table"]),
        ("/id/venue/bormio", ["Races", "Apolo Anton Ohno"]),
        ("/id/stage/2002-03/chuncheon", ["Races", "Choi Eun-kyung"]),
        ("/id/relay-team/CAN-men", ["Podium places", "Men&#39;s 5000m relay, Chuncheon"]),
        ("/id/skater/lee-seung-jae", ["Lee Seung-Jae", "By season", "Standings"]),
    ],
)
def test_pages_for_every_kind_of_resource(server: Client, path: str, facts: list[str]) -> None:
    reply = server.get(path, Accept="text/html")
    assert reply.status == 200
    for fact in facts:
        assert fact in reply.text, fact


def test_race_page_shows_the_podium_from_the_source(server: Client) -> None:
    race = next(r for r in RACES if r.venue == "Salt Lake City" and r.category == "Women" and r.event == "1000m")
    html = server.get("/id/race/2002-03/salt-lake-city/women-1000m", Accept="text/html").text
    positions = [html.index(name) for _code, name in race.podium]
    assert positions == sorted(positions)


def test_unknown_iris_get_a_helpful_404(server: Client) -> None:
    page = server.get("/id/skater/nobody-at-all", Accept="text/html")
    assert page.status == 404 and page.header("Content-Type") == "text/html; charset=utf-8"
    assert "there is no resource https://w3id.org/skategraph/id/skater/nobody-at-all" in page.text
    assert "/id/skater/ahn-hyun-soo" in page.text  # an example of what does exist
    machine = server.get("/id/skater/nobody-at-all", Accept="text/turtle")
    assert machine.status == 404 and json.loads(machine.body)["error"] == "not_found"
    assert server.get("/id/skater/nobody-at-all.ttl").status == 404


def test_ontology_page_and_rdf(server: Client) -> None:
    page = server.get("/ontology", Accept="text/html")
    assert page.status == 200
    for term in ("Skater", "Race", "competitor", "rank", "Men"):
        assert f'id="{term}"' in page.text, term
    turtle = graph_of(server.get("/ontology", Accept="text/turtle").body, "turtle")
    assert (SG.Skater, rdflib.RDF.type, rdflib.OWL.Class) in turtle
    # A skater's page links its class to the right place on the ontology page.
    assert 'href="/ontology#Skater"' in server.get(path_of(AHN), Accept="text/html").text


def test_void_describes_the_dataset(server: Client) -> None:
    reply = server.get("/.well-known/void", Accept="text/turtle")
    assert reply.status == 200
    graph = graph_of(reply.body, "turtle")
    dataset = rdflib.URIRef(f"{server.url}/.well-known/void#dataset")
    health = json.loads(server.get("/health").body)
    assert int(graph.value(dataset, VOID.triples)) == health["triples"]
    assert graph.value(dataset, VOID.sparqlEndpoint) == rdflib.URIRef(f"{server.url}/sparql")
    assert graph.value(dataset, VOID.dataDump) == rdflib.URIRef(f"{server.url}/dump")
    assert graph.value(dataset, rdflib.DCTERMS.license) == rdflib.URIRef(
        "https://creativecommons.org/licenses/by-sa/4.0/"
    )
    assert rdflib.URIRef("https://w3id.org/skategraph/ontology") in set(graph.objects(dataset, VOID.vocabulary))
    for example in graph.objects(dataset, VOID.exampleResource):
        assert server.get(path_of(str(example)), Accept="text/turtle").status == 200, example
    described = graph_of(server.get("/sparql", Accept="text/turtle").body, "turtle")
    assert (None, rdflib.RDFS.seeAlso, rdflib.URIRef(f"{server.url}/.well-known/void")) in described


def test_dump_downloads_the_whole_dataset(server: Client) -> None:
    reply = server.get("/dump.nq.gz")
    assert reply.status == 200 and reply.header("Content-Type") == "application/gzip"
    assert ".nq.gz" in (reply.header("Content-Disposition") or "")
    quads = list(ox.parse(gzip.decompress(reply.body), ox.RdfFormat.N_QUADS))
    assert len(quads) == json.loads(server.get("/health").body)["triples"]
    assert server.get("/dump.nq.gz", If_None_Match=reply.header("ETag") or "").status == 304


@pytest.mark.parametrize("encoded", [True, False], ids=["gzip-encoded", "plain"])
def test_dump_is_n_quads_in_either_encoding(server: Client, encoded: bool) -> None:
    """Issue 13: Comunica refused the dump as a source (`Unrecognized media type: application/gzip`):
    it is N-Quads, gzip being only its Content-Encoding, for a client that accepts gzip."""
    headers = {"Accept_Encoding": "gzip, deflate"} if encoded else {}
    reply = server.get("/dump", **headers)
    assert reply.status == 200 and reply.header("Content-Type") == "application/n-quads"
    assert reply.header("Content-Encoding") == ("gzip" if encoded else None)
    assert "Accept-Encoding" in (reply.header("Vary") or "")
    body = gzip.decompress(reply.body) if encoded else reply.body
    quads = list(ox.parse(body, ox.RdfFormat.N_QUADS))
    assert len(quads) == json.loads(server.get("/health").body)["triples"]
    assert server.get("/dump", If_None_Match=reply.header("ETag") or "", **headers).status == 304


def test_front_page(server: Client) -> None:
    page = server.get("/", Accept="text/html")
    assert page.status == 200
    assert re.search(r"<div>60<span>races</span></div>", page.text)
    assert 'href="/id/season/2002-03"' in page.text and 'href="/id/nation/CAN"' in page.text
    assert 'href="/query/skater_results"' in page.text


def test_query_page_runs_a_query_and_shows_errors(server: Client) -> None:
    query = "SELECT ?name WHERE { ?s a sg:Skater ; rdfs:label ?name } ORDER BY ?name LIMIT 3"
    page = server.get("/query?query=" + quote(query)).text
    assert "<td>Ahn Hyun-soo</td>" in page and "<td>Alanna Kraus</td>" in page
    assert "curl -s" in page and "format=csv" in page
    broken = server.get("/query?query=" + quote("SELECT ?x WHERE { ?x ?y }")).text
    assert 'class="error"' in broken and "(line 1, column" in broken
    saved = server.get("/query/skater_results?skater=Ahn+Hyun-soo").text
    assert "/id/race/2002-03/chuncheon/men-1500m" in saved
    wrong = server.get("/query/skater_results?skater=nobody").text
    assert "parameter skater: no skater is known as" in wrong
    form = server.get("/query/race_podiums").text
    assert '<select name="distance">' in form and '<option value="relay">' in form
    assert urlsplit(server.url).hostname == "127.0.0.1"


def test_a_failed_query_offers_no_download_of_itself(server: Client) -> None:
    broken = server.get("/query?query=" + quote("SELECT ?x WHERE { ?x ?y }")).text
    assert "format=csv" not in broken and "format=json" not in broken and 'id="curl"' not in broken
    assert 'id="error"' in broken and 'data-line="1" data-column="26"' in broken  # for the editor to mark
    stopped = server.get("/query?timeout=0.01&query=" + quote("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }")).text
    assert 'id="error"' in stopped and "format=csv" not in stopped


def test_query_page_carries_the_editor_from_this_server(server: Client) -> None:
    """YASQE and its licences are served from the package itself; the page names no other host."""
    page = server.get("/query").text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == ["/assets/vendor/yasqe/yasqe.min.js", "/assets/query.js"]
    assert '<link rel="stylesheet" href="/assets/vendor/yasqe/yasqe.min.css">' in page
    for path in [*scripts, "/assets/vendor/yasqe/yasqe.min.css", "/assets/vendor/yasqe/LICENSE",
                 "/assets/vendor/yasqe/THIRD-PARTY-LICENSES"]:  # fmt: skip
        assert server.get(path).status == 200, path
    assert "Yasqe" in server.get("/assets/vendor/yasqe/yasqe.min.js").text
    assert "MIT" in server.get("/assets/vendor/yasqe/LICENSE").text
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)  # nothing from a CDN
    block = page.split('<script type="application/json" id="editor-config">', 1)[1].split("</script>", 1)[0]
    config = json.loads(block)
    assert config["endpoint"].endswith("/sparql") and config["prefixes"]["sg"] == str(SG)
    assert {str(SG.Skater), str(SG.Nation), str(SG.RelayRace)} <= set(config["classes"])
    assert {str(SG.competitor), str(SG.rank), "http://www.w3.org/2000/01/rdf-schema#label"} <= set(config["properties"])
    saved = server.get("/query/race_podiums").text  # a saved query's form has no editor
    assert "yasqe" not in saved


def test_query_page_says_when_a_result_is_cut_or_stopped(server: Client) -> None:
    everything = server.get("/query?query=" + quote("SELECT * WHERE { ?s ?p ?o }")).text
    assert 'id="truncated"' in everything and "Only the first 1000 rows are shown" in everything
    explosive = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    stopped = server.get("/query?timeout=1&query=" + quote(explosive)).text
    assert "the request was stopped at its time limit of 1 s" in stopped


def test_query_page_shows_the_beginning_of_a_large_graph(server: Client) -> None:
    """A graph is not read whole into the web process for a page: the page shows its beginning."""
    values = " ".join(str(i) for i in range(400))
    query = f"CONSTRUCT {{ ?s ?p ?n }} WHERE {{ ?s ?p ?o VALUES ?n {{ {values} }} }}"
    page = server.get("/query?query=" + quote(query)).text
    assert 'id="truncated"' in page and "Only the beginning of the graph is shown" in page
    shown = page[page.index("<pre>") + 5 : page.index("</pre>")]
    assert 0 < len(shown.encode()) <= 256 * 1024 * 1.2  # escaped as HTML, a little longer
    assert shown.endswith("\n")
    small = server.get("/query?query=" + quote("CONSTRUCT WHERE { ?s a sg:Nation }")).text
    assert "sg:Nation" in small and 'id="truncated"' not in small


def test_variant_spellings_and_season_podiums_on_pages(server: Client) -> None:
    lee = server.get("/id/skater/lee-seung-jae", Accept="text/html").text
    assert "Also spelled: Lee Seung-Jae" in lee
    season = server.get("/id/season/2002-03", Accept="text/html").text
    race = RACES[0]
    row = season[season.index(f"{race.event}, {race.venue}") :]
    positions = [row.index(name) for _code, name in race.podium]
    assert positions == sorted(positions)


def test_every_iri_under_the_base_answers(server: Client) -> None:
    graph_iri = BASE + "graph/season/2002-03"
    provenance = graph_of(server.get(path_of(graph_iri), Accept="text/turtle").body, "turtle")
    subject = rdflib.URIRef(graph_iri)
    assert (subject, rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/prov#Entity")) in provenance
    build = provenance.value(subject, rdflib.URIRef("http://www.w3.org/ns/prov#wasGeneratedBy"))
    assert build is not None and server.get(path_of(str(build)), Accept="text/html").status == 200
    result = server.get("/id/result/2002-03/chuncheon/men-1500m/1", Accept="text/html")
    assert result.status == 200 and "Ahn Hyun-soo" in result.text
    assert server.get("/no/such/thing", Accept="text/html").status == 404


def test_a_hostile_label_and_a_javascript_iri_stay_inert(server: Client) -> None:
    """A label that would end the JSON-LD block, and an IRI in a scheme a browser would run."""
    hostile = f"<{BASE}id/skater/hostile-test>"
    update = (f'INSERT DATA {{ GRAPH <http://ex/hostile> {{ {hostile} a sg:Skater ; rdfs:label "<!--<script>x & y</script>" ; '
              f"rdfs:seeAlso <javascript:alert(1)> , <urn:isbn:0451450523> , <https://example.org/ok> }} }}")  # fmt: skip
    assert server.update(update).status == 204
    page = server.get("/id/skater/hostile-test", Accept="text/html").text
    block = page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block)["name"] == "<!--<script>x & y</script>"
    assert 'href="javascript:' not in page and 'href="urn:' not in page
    assert 'href="https://example.org/ok"' in page
    assert "/query?query=DESCRIBE" in page  # the other IRIs are described on our query page


def test_the_bearer_scheme_is_case_insensitive(server: Client) -> None:
    update = "INSERT DATA { GRAPH <http://ex/case> { <http://ex/s> <http://ex/p> 1 } }"
    for scheme in ("bearer", "BEARER", "Bearer"):
        assert (
            server.post("/sparql", update, "application/sparql-update", Authorization=f"{scheme} secret").status == 204
        )
    assert server.post("/sparql", update, "application/sparql-update", Authorization="Basic secret").status == 401


@pytest.mark.parametrize("path", ["/", "/query", "/id/skater/ahn-hyun-soo", "/ontology", "/id/no-such-thing"])
def test_pages_send_a_content_security_policy(server: Client, path: str) -> None:
    reply = server.get(path, Accept="text/html")
    assert reply.header(
        "Content-Type",
    ).startswith("text/html")
    assert "default-src 'none'" in (reply.header("Content-Security-Policy") or "")
    assert "frame-ancestors 'none'" in (reply.header("Content-Security-Policy") or "")
    assert reply.header("X-Frame-Options") == "DENY" and reply.header("X-Content-Type-Options") == "nosniff"
    assert server.query("ASK {}").header("X-Content-Type-Options") == "nosniff"
    policy = reply.header("Content-Security-Policy") or ""
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy


def _service(server: Client) -> Service:
    assert isinstance(server, App)
    found: Service = server.app.extensions["skategraph"]
    return found


def _page_queries() -> list[str]:
    shown = [
        text
        for kind in sections.SECTIONS.values()
        for _title, query, _columns in kind
        for text in ([query] if isinstance(query, str) else query.queries())
    ]
    return [pages.OUTGOING, pages.INCOMING, pages.PROPERTY_LABEL, pages.INCOMING_LINKS, sections.SEASON_END,
            sections.NATION_NAME, pages.TYPES, *shown]  # fmt: skip


def test_page_queries_evaluated_in_the_web_process_answer_as_a_worker_does(server: Client) -> None:
    """`select_here` (the pages' queries, in the web process) gives the rows a worker's SPARQL JSON
    gives, for every kind of term: IRIs, blank nodes, plain, typed and language-tagged literals."""
    terms = f"<{BASE}id/skater/terms-test>"
    update = (f'INSERT DATA {{ GRAPH <http://ex/terms> {{ {terms} a sg:Skater ; rdfs:label "Terms"@en-GB ; '
              f'sg:nation <{BASE}id/nation/BUL> ; sg:height 1.5 ; sg:born "2001-02-03"^^xsd:date ; '
              f'sg:note [ rdfs:label "a blank node" ] . }} }}')  # fmt: skip
    assert server.update(update).status == 204
    svc = _service(server)
    things = [terms[1:-1], AHN, BASE + "id/season/2002-03", BASE + "id/nation/BUL", BASE + "id/venue/bormio",
              BASE + "id/stage/2002-03/chuncheon", BASE + "id/race/2002-03/chuncheon/men-1500m",
              BASE + "id/relay-team/CAN-men"]  # fmt: skip
    kinds: set[tuple[str, bool, bool]] = set()
    for iri in things:
        this = (("_this", ox.NamedNode(iri)),)
        for query in _page_queries():
            here, there = svc.select_here(query, this), svc.select(query, this)
            assert here == there, (iri, query)
            kinds |= {(term["type"], "xml:lang" in term, "datatype" in term) for row in here for term in row.values()}
    assert {("uri", False, False), ("bnode", False, False), ("literal", False, False), ("literal", True, False),
            ("literal", False, True)} <= kinds  # fmt: skip


def test_pages_in_the_web_process_follow_the_store_through_writes(server: Client) -> None:
    """The web process keeps the generation it opened only while it is current: after two writes (the
    first generation pruned) a page shows what was written, and a generation a request holds still
    answers meanwhile."""
    svc = _service(server)
    skater = BASE + "id/skater/written-later"
    this = (("_this", ox.NamedNode(skater)),)
    assert svc.select_here(pages.OUTGOING, this) == []  # opens the generation now current
    before = svc.generation()
    held = generations.hold(before)
    try:
        for n in (1, 2):
            written = f'INSERT DATA {{ GRAPH <http://ex/later> {{ <{skater}> rdfs:label "Written {n}" }} }}'
            assert server.update(written).status == 204
        assert svc.generation() != before
        assert svc.select_here(pages.OUTGOING, this, before) == []  # held, so not pruned
    finally:
        held.release()
    labels = {row["o"]["value"] for row in svc.select_here(pages.OUTGOING, this)}
    assert labels == {"Written 1", "Written 2"}
    page = server.get("/id/skater/written-later", Accept="text/html")
    assert page.status == 200 and "Written 2" in page.text


# The pages' queries before issue 14, in their plain form: the page queries now written to start from
# the resource (pages.py) must give exactly their rows, in their order.
PLAIN_RACES = """SELECT ?race ?label ?date ?winner ?name ?_this WHERE {{
  ?race {link} ?_this ; a sg:Race ; rdfs:label ?label ; (sg:date|sg:startDate) ?date .
  OPTIONAL {{ ?r sg:race ?race ; sg:rank 1 ; sg:competitor ?winner . ?winner rdfs:label ?name }} }}
  ORDER BY ?date ?label"""
PLAIN_PODIUM_PLACES = """SELECT ?race ?label ?date ?stage ?venue ?distance ?rank ?_this WHERE {
  ?r sg:competitor ?_this ; sg:rank ?rank ; sg:race ?race .
  ?race rdfs:label ?label ; (sg:date|sg:startDate) ?date ; sg:distance ?distance ; sg:stage ?stage ;
    sg:venue/rdfs:label ?venue }
  ORDER BY ?date ?label"""
PLAIN = {
    ("Skater", "By season"): """SELECT ?season ?year (SUM(IF(?rank = 1, 1, 0)) AS ?wins)
      (SUM(IF(?rank = 2, 1, 0)) AS ?seconds) (SUM(IF(?rank = 3, 1, 0)) AS ?thirds) (COUNT(?r) AS ?podiums) ?_this
      WHERE { ?r sg:competitor ?_this ; sg:rank ?rank ; sg:race/sg:season ?season .
      ?season rdfs:label ?title BIND(IF(CONTAINS(?title, " "), STRBEFORE(?title, " "), ?title) AS ?year) }
      GROUP BY ?season ?year ?_this ORDER BY ?season""",
    ("Skater", "Podium places"): PLAIN_PODIUM_PLACES,
    ("Skater", "Standings"): """SELECT ?classification ?label ?rank ?_this WHERE {
      ?st sg:competitor ?_this ; sg:classification ?classification ; sg:rank ?rank .
      ?classification rdfs:label ?label } ORDER BY ?label""",
    ("RelayTeam", "Podium places"): PLAIN_PODIUM_PLACES,
    ("Stage", "Races"): PLAIN_RACES.format(link="sg:stage"),
    ("Venue", "Races"): PLAIN_RACES.format(link="sg:venue"),
    ("Season", "Medal table"): sections.MEDALS[len(sections.P) :]
    + """ ?nation ?code (CONCAT(?label, " (", ?code, ")") AS ?name) ?_this WHERE {
      ?r sg:race/sg:season ?_this ; sg:rank ?rank ; sg:nation ?nation . ?nation skos:notation ?code ; rdfs:label ?label }
      GROUP BY ?nation ?code ?label ?_this ORDER BY DESC(?gold) DESC(?silver) DESC(?bronze) ?code""",
    ("Season", "Calendar"): """SELECT ?stage ?number ?venue ?start ?end ?_this WHERE {
      ?stage sg:season ?_this ; a sg:Stage ; sg:stageNumber ?number ; sg:startDate ?start ; sg:endDate ?end ;
      sg:venue/rdfs:label ?venue } ORDER BY ?number""",
    ("Season", "Podiums"): """SELECT ?race ?label ?date ?first ?n1 ?second ?n2 ?third ?n3 ?_this WHERE {
      ?race sg:season ?_this ; a sg:Race ; rdfs:label ?label ; (sg:date|sg:startDate) ?date .
      OPTIONAL { ?r1 sg:race ?race ; sg:rank 1 ; sg:competitor ?first . ?first rdfs:label ?n1 }
      OPTIONAL { ?r2 sg:race ?race ; sg:rank 2 ; sg:competitor ?second . ?second rdfs:label ?n2 }
      OPTIONAL { ?r3 sg:race ?race ; sg:rank 3 ; sg:competitor ?third . ?third rdfs:label ?n3 } }
      ORDER BY ?date ?label""",
}
# The nation a skater or team skates for, as one query gave it before issue 14 (`sections.nation_of`).
PLAIN_NATION = """SELECT ?nation ?name ?code ?_this WHERE {
  { ?r sg:competitor ?_this ; sg:nation ?nation ; sg:race ?race . ?race (sg:date|sg:startDate) ?date }
  UNION { ?r sg:competitor ?_this ; sg:nation ?nation ; sg:classification ?c . ?c sg:season ?season .
          ?stage sg:season ?season ; sg:endDate ?date }
  OPTIONAL { ?nation rdfs:label ?name } OPTIONAL { ?nation skos:notation ?code } }
  ORDER BY DESC(?date) ?nation LIMIT 1"""
PLAIN_INCOMING = """SELECT ?s ?slabel ?p ?plabel ?linked ?linkedlabel ?via ?_this WHERE {
  ?s ?p ?_this OPTIONAL { ?s rdfs:label ?slabel } OPTIONAL { ?p rdfs:label ?plabel }
  OPTIONAL { FILTER(?p = rdf:subject) ?s rdf:predicate ?via ; rdf:object ?linked
             OPTIONAL { ?linked rdfs:label ?linkedlabel } } } ORDER BY ?p ?s LIMIT 200"""


@pytest.fixture(scope="module")
def seasons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """Every test season and the seed (missing places, relays, a cancelled season), served in-process."""
    store = tmp_path_factory.mktemp("seasons") / "store"
    build(store, SEED, *sorted(SEASONS.glob("*.txt")))
    with running_app(store) as running:
        yield running


def _of_kind(svc: Service, kind: str) -> list[str]:
    return [row["s"]["value"] for row in svc.select(f"SELECT ?s WHERE {{ ?s a sg:{kind} }} ORDER BY ?s")]


@pytest.mark.parametrize(("kind", "title"), list(PLAIN))
def test_page_sections_give_the_rows_of_their_plain_queries(seasons: App, kind: str, title: str) -> None:
    svc = _service(seasons)
    query = next(query for name, query, _columns in sections.SECTIONS[kind] if name == title)
    resources = _of_kind(svc, kind)
    assert resources
    with seasons.app.test_request_context():
        for iri in resources:
            this = (("_this", ox.NamedNode(iri)),)
            assert sections.rows_of(query, this) == svc.select(PLAIN[(kind, title)], this), iri


def test_a_competitors_nation_is_what_the_plain_query_gives(seasons: App) -> None:
    """Found in Python from the rows the page asks anyway (`sections.nation_of`), as one query gave it, for
    every skater and relay team, those who changed nation among them."""
    svc = _service(seasons)
    competitors = _of_kind(svc, "Skater") + _of_kind(svc, "RelayTeam")
    changed = 0
    with seasons.app.test_request_context():
        for iri in competitors:
            this = (("_this", ox.NamedNode(iri)),)
            plain = svc.select(PLAIN_NATION, this)
            assert sections.nation_of(sections.asked_once(this)) == (plain[0] if plain else None), iri
            changed += len(svc.select("SELECT ?nation ?_this WHERE { ?_this sg:nation ?nation }", this)) > 1
    assert changed  # Ahn Hyun-soo, John-Henry Krueger


def test_of_two_nations_won_for_on_one_day_the_first_by_iri_is_shown(server: Client) -> None:
    """Two places on the latest day, for two nations: the page names the first by IRI, as the plain
    query's `ORDER BY DESC(?date) ?nation` did (`sections.nation_of`)."""
    skater, race, nation = f"<{BASE}id/skater/tie-test>", f"{BASE}id/race/tie-test/", f"{BASE}id/nation/"
    places = " ".join(
        f'<{race}{n}> rdfs:label "Tie race {n}" ; sg:date "2099-01-01"^^xsd:date ; sg:distance 500 ; '
        f"sg:stage <{race}stage> ; sg:venue <{race}venue> ; sg:season <{race}season> . "
        f"<{race}{n}/result> sg:competitor {skater} ; sg:rank {n} ; sg:race <{race}{n}> ; sg:nation <{nation}{code}> ."
        for n, code in ((1, "KOR"), (2, "CAN"))
    )
    update = (f"INSERT DATA {{ GRAPH <http://ex/ties> {{ {skater} a sg:Skater ; rdfs:label \"Tie Test\" . {places} "
              f"<{race}venue> rdfs:label \"Tie venue\" . <{race}season> rdfs:label \"2099–00 Tie\" . }} }}")  # fmt: skip
    assert server.update(update).status == 204
    svc = _service(server)
    this = (("_this", ox.NamedNode(skater[1:-1])),)
    plain = svc.select(PLAIN_NATION, this)
    assert plain[0]["nation"]["value"] == nation + "CAN"
    with server.app.test_request_context():
        assert sections.nation_of(sections.asked_once(this)) == plain[0]
    page = server.get("/id/skater/tie-test", Accept="text/html").text
    assert 'Skates for\n  <a href="/id/nation/CAN">Canada</a> (CAN)</p>' in page


def test_sections_of_places_written_without_some_facts_are_what_the_plain_queries_give(server: Client) -> None:
    """Places an update wrote without some of what the shapes ask (a race with no distance or stage, a
    place with no nation, or two, a competitor with no name, a standing with no rank): each section made from
    the merged queries (`sections.RESULTS`, `STANDINGS`, `SEASON_RESULTS`) still has the rows its own
    query had, and the nation is the plain query's."""
    i = f"{BASE}id/"
    update = f"""INSERT DATA {{ GRAPH <http://ex/partial> {{
      <{i}skater/partial> a sg:Skater ; rdfs:label "Partial" . <{i}skater/partial-2> a sg:Skater .
      <{i}season/partial> a sg:Season ; rdfs:label "2098–99 Partial" .
      <{i}venue/partial> rdfs:label "Partial venue" .
      <{i}stage/partial> a sg:Stage ; sg:season <{i}season/partial> ; sg:endDate "2098-12-02"^^xsd:date .
      <{i}race/partial/1> a sg:Race ; rdfs:label "Partial 1" ; sg:season <{i}season/partial> ;
        sg:date "2098-11-01"^^xsd:date .
      <{i}race/partial/2> a sg:Race ; rdfs:label "Partial 2" ; sg:season <{i}season/partial> ;
        sg:date "2098-12-01"^^xsd:date ; sg:distance 500 ; sg:stage <{i}stage/partial> ; sg:venue <{i}venue/partial> .
      <{i}result/partial/1> sg:competitor <{i}skater/partial> ; sg:rank 1 ; sg:race <{i}race/partial/1> ;
        sg:nation <{i}nation/KOR>, <{i}nation/JPN> .
      <{i}result/partial/2> sg:competitor <{i}skater/partial> ; sg:rank 2 ; sg:race <{i}race/partial/2> .
      <{i}result/partial/3> sg:competitor <{i}skater/partial-2> ; sg:rank 3 ; sg:race <{i}race/partial/2> ;
        sg:nation <{i}nation/CAN> .
      <{i}classification/partial> rdfs:label "Partial standings" ; sg:season <{i}season/partial> .
      <{i}standing/partial/1> sg:competitor <{i}skater/partial> ; sg:classification <{i}classification/partial> ;
        sg:nation <{i}nation/USA> . }} }}"""
    assert server.update(update).status == 204
    svc = _service(server)
    checked = 0
    with server.app.test_request_context():
        for (kind, title), plain in PLAIN.items():
            iri = {"Skater": i + "skater/partial", "Season": i + "season/partial"}.get(kind)
            if iri is None:
                continue
            this = (("_this", ox.NamedNode(iri)),)
            query = next(query for name, query, _columns in sections.SECTIONS[kind] if name == title)
            rows = sections.rows_of(query, this)
            assert rows == svc.select(plain, this), (kind, title)
            checked += bool(rows)
        this = (("_this", ox.NamedNode(i + "skater/partial")),)
        nation = sections.nation_of(sections.asked_once(this))
        assert nation == svc.select(PLAIN_NATION, this)[0]
    assert nation["nation"]["value"] == i + "nation/USA"  # the standing, dated by the stage's last day
    assert checked == 4  # by season, podium places, medal table, podiums (standings: none has a rank)


def test_what_points_here_is_what_the_plain_query_gives(seasons: App) -> None:
    """Joined and ordered in Python (`pages.incoming`), as one ORDER BY ... LIMIT 200 query gave it."""
    svc = _service(seasons)
    resources = [row["s"]["value"] for row in svc.select("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }")]
    linked = cut = 0
    with seasons.app.test_request_context():
        for iri in resources:
            this = (("_this", ox.NamedNode(iri)),)
            found = pages.incoming(this)
            assert found == svc.select(PLAIN_INCOMING, this), iri
            linked += any("via" in row for row in found)
            cut += len(found) == pages.INCOMING_SHOWN
    assert linked and cut  # link statements pointing here, and resources with more than are shown


@pytest.mark.parametrize(
    ("skater", "nation", "name"),
    [
        ("ahn-hyun-soo", "RUS", "Russia"),  # KOR in 2002-03, RUS as Viktor Ahn in 2014-15
        ("john-henry-krueger", "HUN", "Hungary"),  # USA in 2014-15, HUN in 2021-22
        ("apolo-anton-ohno", "USA", "United States"),
    ],
)
def test_a_skater_skates_for_the_nation_of_their_latest_result(
    seasons: App, skater: str, nation: str, name: str
) -> None:
    """The page names one nation, the latest a skater won a place for, in its text and its schema.org
    data alike, whatever order the store keeps a skater's nations in (issue 15)."""
    page = seasons.get(f"/id/skater/{skater}", Accept="text/html").text
    assert f'Skates for\n  <a href="/id/nation/{nation}">{name}</a> ({nation})</p>' in page
    block = page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(block)["nationality"] == {"@id": f"{BASE}id/nation/{nation}"}
