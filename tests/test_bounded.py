"""Queries answered in the web process: one triple pattern, whose reads are bounded before it starts.

`skategraph.sparql.bounded` reads a client's text; what it accepts is answered by `Service` in its
own process, with the worker's own answering code (`worker.answer_here`), instead of a worker that
can be killed at the time limit. So three things are tested: that what it accepts is what it claims
(checked against rdflib's SPARQL parser, an independent one, over mutated texts), that an accepted
query is answered while every worker is taken, and that its answer is the worker's, byte for byte.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from skategraph.engine.jobs import QueryJob, Reply
from skategraph.errors import Busy, QueryError, QueryTimeout
from skategraph.sparql.bounded import needed
from skategraph.store import generations
from skategraph.web.service import HERE_READS, Service
from skategraph.web.settings import Settings

SKATER = "<https://w3id.org/skategraph/id/skater/ahn-hyun-soo>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
TINY = f"SELECT ?label WHERE {{ {SKATER} {LABEL} ?label }}"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.mark.parametrize(
    ("text", "cap", "reads"),
    [
        (TINY, 10_001, 10_001),
        (TINY, None, None),  # no LIMIT and no row limit: as many as there are
        ("SELECT * WHERE { ?sub ?pred ?obj . } LIMIT 10", 10_001, 10),  # YASGUI's first query
        ("select * { ?s ?p ?o } offset 5 limit 10", None, 15),
        ("SELECT * { ?s ?p ?o } OFFSET 5", 100, 105),
        ("PREFIX sg: <https://w3id.org/skategraph/ontology#> SELECT ?r { ?r sg:rank 1 }", 50, 50),
        ("BASE <http://e/> PREFIX e: <x#> SELECT ?s ?o { ?s e:p 'v'@en-GB }", 7, 7),
        ('SELECT ?s { ?s ?p "1"^^<http://www.w3.org/2001/XMLSchema#integer> } LIMIT 3', None, 3),
        ("SELECT ?s { ?s a sg:Skater } # a comment\n LIMIT 2", None, 2),
        (f"ASK {{ {SKATER} ?p ?o }}", None, 1),
        (f"ASK WHERE {{ ?s ?p {SKATER} . }}", 5, 1),
    ],
)
def test_one_pattern_reads_are_counted(text: str, cap: int | None, reads: int | None) -> None:
    assert needed(text, cap) == reads


@pytest.mark.parametrize(
    "text",
    [
        "SELECT DISTINCT ?p { ?s ?p ?o } LIMIT 5",  # may read any number of duplicates
        "SELECT REDUCED ?p { ?s ?p ?o } LIMIT 5",
        "SELECT ?s { ?s ?p ?o . ?o ?q ?r } LIMIT 5",  # a join
        "SELECT ?s { ?s ?p ?s } LIMIT 5",  # a repeated variable: a filtered scan
        "SELECT ?s { ?s ?p ?o FILTER(?o = 1) } LIMIT 5",
        "SELECT ?s { ?s ?p ?o } ORDER BY ?s LIMIT 5",
        "SELECT ?s { ?s sg:a/sg:b ?o } LIMIT 5",
        "SELECT ?s { ?s sg:a* ?o } LIMIT 5",
        "SELECT ?s { ?s ?p ?o ; ?q ?r } LIMIT 5",
        "SELECT ?s { ?s ?p ?o , ?r } LIMIT 5",
        "SELECT ?s { OPTIONAL { ?s ?p ?o } } LIMIT 5",
        "SELECT ?s { GRAPH ?g { ?s ?p ?o } } LIMIT 5",
        "SELECT ?s FROM <http://e/g> { ?s ?p ?o } LIMIT 5",
        "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
        "SELECT ?s { { SELECT ?s { ?s ?p ?o } } } LIMIT 5",
        "SELECT ?s { ?s ?p _:b } LIMIT 5",
        "SELECT ?s { ?s ?p [] } LIMIT 5",
        'SELECT ?s { ?s ?p "a\\u0022" } LIMIT 5',  # an escape: none is decoded here
        "SELECT ?s { ?s ?p ?o # x\r ?a ?b ?c \n } LIMIT 5",  # SPARQL ends a comment at CR
        "SELECT ?s { ?s ?p ?o } LIMIT 5.0",
        "SELECT ?s { ?s ?p ?o } LIMIT 5 LIMIT 6",
        "SELECT ?s { ?s ?p ?o } VALUES ?s { 1 }",
        "SELECT { ?s ?p ?o }",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5",
        "DESCRIBE <http://e/a>",
        "SELECT ?s { ?s A ?o } LIMIT 5",  # only `a` is rdf:type
        "SELECT ?s { ?s ?p ?o }",  # without a cap: unbounded (below, cap None)
        "",
    ],
)
def test_anything_else_is_not_bounded(text: str) -> None:
    assert needed(text, None if "LIMIT" not in text else 100) is None


# Pieces of SPARQL to mutate valid one-pattern queries with: the tokens the reader knows and the
# near misses it must not be fooled by.
PIECES = [
    "SELECT", "ASK", "WHERE", "{", "}", ".", "*", "?s", "?p", "?o", "$x", "<http://e/a>", "e:a", "e:a:b",
    "e:a.b", "e:a%20", "sg:rank", "a", "A", "'v'", '"w"', "@en", "^^", "e:t", "1", "10", "1.5", "-2", "true",
    "LIMIT", "OFFSET", "DISTINCT", "FILTER", "(", ")", "OPTIONAL", "UNION", "ORDER BY", ",", ";", "|", "/",
    "+", "#c\n", "#c\r", "\r", "\n", "\\u0022", '"\\"', "_:b", "[", "]", "PREFIX", "e:", "<http://e/>",
    "BASE", "GRAPH", "VALUES", "FROM", "<", ">", "?", "'", '"', "#", "^", "@",
]  # fmt: skip
TERMS = ["?s", "?p", "?o", "<http://e/a>", "e:a", "a", "'v'", "'v'@en", '"1"^^e:t', "2", "true"]


def _one_pattern() -> Iterator[str]:
    rng = random.Random(14)
    while True:
        subject, predicate, obj = rng.choice(TERMS[:5]), rng.choice(TERMS[:6]), rng.choice(TERMS)
        form = rng.choice(["SELECT *", "SELECT ?s ?o", "ASK"])
        tail = rng.choice(["", " LIMIT 5", " OFFSET 2 LIMIT 3", " LIMIT 1 OFFSET 9"]) if form != "ASK" else ""
        text = f"PREFIX e: <http://e/> {form} WHERE {{ {subject} {predicate} {obj} . }}{tail}"
        words = text.split(" ")
        for _ in range(rng.randrange(4)):
            at = rng.randrange(len(words) + 1)
            change = rng.randrange(3)
            if change == 0:
                words.insert(at, rng.choice(PIECES))
            elif change == 1 and at < len(words):
                del words[at]
            elif at < len(words):
                words[at] = rng.choice(PIECES)
        yield rng.choice([" ", "", "\n"]).join(words) if rng.random() < 0.1 else " ".join(words)


def _shape(node: object, found: list[str]) -> list[str]:
    """The names of the operators in rdflib's algebra, with each BGP's number of triples."""
    if isinstance(node, CompValue):
        found.append(f"BGP{len(node.get('triples') or [])}" if node.name == "BGP" else node.name)
        for value in node.values():
            _shape(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _shape(value, found)
    return found


def test_what_is_read_as_one_pattern_parses_as_one_pattern() -> None:
    """Every mutated text the reader accepts, if Oxigraph parses it at all, is one triple pattern with
    at most a LIMIT and OFFSET to rdflib's parser too, and reads what the reader says."""
    engine = ox.Store()
    texts = _one_pattern()
    accepted = parsed = refused = 0
    for _ in range(3000):
        text = next(texts)
        reads = needed(text, 100)
        if reads is None:
            refused += 1
            continue
        accepted += 1
        try:
            engine.query(text)
        except SyntaxError:
            continue  # answered as the engine's 400, whoever runs it
        parsed += 1
        query = prepareQuery(text)
        shape = _shape(query.algebra, [])
        assert shape[0] in ("SelectQuery", "AskQuery"), text
        assert set(shape[1:]) <= {"Slice", "Project", "BGP1"} and "BGP1" in shape, (text, shape)
        if query.algebra.name == "SelectQuery" and query.algebra.p.name == "Slice":
            piece = query.algebra.p
            assert reads == (piece.start or 0) + min(piece.length if piece.length is not None else 100, 100), text
        elif query.algebra.name == "SelectQuery":
            assert reads == 100, text
    assert parsed > 500 and refused > 500 and accepted > parsed  # all three kinds were met


@pytest.fixture(scope="module")
def service(seed_dir: Path) -> Iterator[Service]:
    running = Service(Settings(store=seed_dir, workers=1, row_limit=20))
    yield running
    running.close()


def _job(svc: Service, text: str, **fields: object) -> QueryJob:
    fields = {"results_format": "json", "row_limit": 20, "truncated_links": ("http://127.0.0.1/limits",), **fields}
    return svc.job(text, **fields)


def test_a_bounded_query_is_answered_while_every_worker_is_taken(service: Service) -> None:
    """One worker, running away: a one-pattern query is answered meanwhile, any other waits for a
    worker and gives up at its limit; the runaway is still stopped at its own."""
    stopped: list[BaseException] = []

    def run_away() -> None:
        try:
            b"".join(service.query(_job(service, RUNAWAY), 4).body)
        except BaseException as error:  # kept for the assertion below
            stopped.append(error)

    runaway = threading.Thread(target=run_away)
    runaway.start()
    try:
        while service.pool._idle.qsize():  # until the runaway has the worker
            threading.Event().wait(0.01)
        answer = service.query(_job(service, TINY), 1)
        assert b"Ahn Hyun-soo" in b"".join(answer.body)
        with pytest.raises(Busy):
            service.query(_job(service, TINY + " ORDER BY ?label"), 0.5)
    finally:
        runaway.join()
    assert len(stopped) == 1 and isinstance(stopped[0], QueryTimeout)


@pytest.mark.parametrize(
    ("text", "results_format", "graph_format"),
    [
        (TINY, "json", None),
        (TINY, "xml", None),
        (TINY, "csv", None),
        (TINY, "tsv", None),
        ("SELECT * { ?s ?p ?o }", "json", None),  # cut at the row limit: the head says so
        ("SELECT * { ?s ?p ?o } LIMIT 20", "xml", None),  # exactly the limit: not cut
        ("SELECT ?o ?s { ?s <https://w3id.org/skategraph/ontology#rank> ?o } OFFSET 3 LIMIT 4", "tsv", None),
        (f"ASK {{ {SKATER} ?p ?o }}", "json", None),
        (f"ASK {{ ?s ?p {SKATER} }}", "xml", None),
        (TINY, None, "turtle"),  # a SELECT for a client that takes only RDF: 406
    ],
)
def test_an_answer_made_here_is_the_workers(
    service: Service, text: str, results_format: str | None, graph_format: str | None
) -> None:
    job = dataclasses.replace(_job(service, text), results_format=results_format, graph_format=graph_format)
    assert service.answers_here(job)
    here, there = _outcome(lambda: service.query(job, 5)), _outcome(lambda: service.pool.query(job, 5))
    assert here == there


def test_an_engine_error_made_here_is_the_workers(service: Service) -> None:
    job = _job(service, "SELECT ?s { ?s nowhere:p ?o } LIMIT 1")  # an undeclared prefix
    with pytest.raises(QueryError) as here:
        service.query(job, 5)
    with pytest.raises(QueryError) as there:
        service.pool.query(job, 5)
    assert str(here.value) == str(there.value) and "Prefix not found" in str(here.value)
    assert here.value.details() == there.value.details() == {"line": 1, "column": 25}


def test_what_is_answered_here(service: Service) -> None:
    assert service.answers_here(_job(service, TINY))  # reads at most the row limit and one
    assert not service.answers_here(_job(service, TINY + " ORDER BY ?label"))
    assert not service.answers_here(_job(service, "SELECT * { ?s ?p ?o }", row_limit=0))  # reads everything
    assert service.answers_here(_job(service, f"SELECT * {{ ?s ?p ?o }} LIMIT {HERE_READS}", row_limit=0))
    assert not service.answers_here(_job(service, f"SELECT * {{ ?s ?p ?o }} LIMIT {HERE_READS + 1}", row_limit=0))
    assert not service.answers_here(_job(service, TINY, offset=5))  # a saved query's page skips rows
    assert not service.answers_here(_job(service, TINY, default_graphs=("https://w3id.org/skategraph/graph/x",)))


def test_a_bounded_query_holds_its_generation(service: Service, seed_dir: Path) -> None:
    """The answer comes from the generation the job names, held while it is read."""
    job = _job(service, TINY)
    reply = service.query(job, 5)
    assert reply.generation == str(generations.current(seed_dir))


def _outcome(ask: Callable[[], Reply]) -> tuple[object, ...]:
    try:
        reply = ask()
    except Exception as error:  # compared: the same error, the same message
        return (type(error).__name__, str(error))
    return (reply.form, reply.media_type, reply.truncated, b"".join(reply.body))
