"""SHACL shapes: the built graph conforms, and graphs broken in each way the shapes guard do not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD

from skategraph.store.embedded import EmbeddedStore
from skategraph.store.validate import check_graph, check_store, union_graph

from .conftest import ID

SG = Namespace("https://w3id.org/skategraph/ontology#")
RACE = URIRef(ID + "race/2002-03/chuncheon/men-1500m")
RELAY = URIRef(ID + "race/2002-03/chuncheon/men-5000m-relay")
RESULT_1 = URIRef(ID + "result/2002-03/chuncheon/men-1500m/1")
RESULT_2 = URIRef(ID + "result/2002-03/chuncheon/men-1500m/2")
RELAY_1 = URIRef(ID + "result/2002-03/chuncheon/men-5000m-relay/1")
AHN = URIRef(ID + "skater/ahn-hyun-soo")
CANADA_MEN = URIRef(ID + "relay-team/CAN-men")
GERMANY = URIRef(ID + "nation/GER")


def test_built_graph_conforms(seed_store: EmbeddedStore) -> None:
    assert check_store(seed_store) == []


@pytest.fixture(scope="module")
def good(seed_store: EmbeddedStore) -> Graph:
    return union_graph(seed_store)


def remove_rank(g: Graph) -> None:
    g.remove((RESULT_1, SG.rank, None))


def skater_in_relay(g: Graph) -> None:
    g.set((RELAY_1, SG.competitor, AHN))


def team_in_individual_race(g: Graph) -> None:
    g.set((RESULT_1, SG.competitor, CANADA_MEN))


def same_rank_twice(g: Graph) -> None:
    g.set((RESULT_2, SG.rank, Literal(1)))


def blank_node_skater(g: Graph) -> None:
    node = BNode()
    g.add((node, RDF.type, SG.Skater))
    g.add((node, RDFS.label, Literal("Nobody")))
    g.add((node, SG.nation, GERMANY))


def rank_as_string(g: Graph) -> None:
    g.set((RESULT_1, SG.rank, Literal("1")))


def rank_zero(g: Graph) -> None:
    g.set((RESULT_1, SG.rank, Literal(0)))


def no_label(g: Graph) -> None:
    g.remove((AHN, RDFS.label, None))


def two_labels(g: Graph) -> None:
    g.add((AHN, RDFS.label, Literal("Viktor Ahn")))


def unknown_category(g: Graph) -> None:
    g.set((RACE, SG.category, SG.Juniors))


def bad_notation(g: Graph) -> None:
    g.set((GERMANY, SKOS.notation, Literal("Germany")))


def two_dates(g: Graph) -> None:
    g.add((RACE, SG.date, Literal("2002-10-19", datatype=XSD.date)))


def date_as_string(g: Graph) -> None:
    g.set((RACE, SG.date, Literal("18 October 2002")))


def result_without_race(g: Graph) -> None:
    g.remove((RESULT_1, SG.race, None))


def skater_without_nation(g: Graph) -> None:
    g.remove((AHN, SG.nation, None))


BROKEN: list[tuple[Callable[[Graph], None], str, str]] = [
    # (mutation, focus node, fragment of the violation line)
    (remove_rank, RESULT_1, "#rank: Less than 1 values"),
    (skater_in_relay, RELAY, "A relay race's results must name relay teams"),
    (team_in_individual_race, RACE, "must have skaters, not relay teams"),
    (same_rank_twice, RACE, "Two results of one race have the same rank"),
    (blank_node_skater, "_:", "Value is not of Node Kind sh:IRI"),
    (rank_as_string, RESULT_1, "#rank: Value is not Literal with datatype xsd:integer"),
    (rank_zero, RESULT_1, "#rank: Value is not >= 1 (value: 0)"),
    (no_label, AHN, "rdf-schema#label: Less than 1 values"),
    (two_labels, AHN, "rdf-schema#label: More than 1 values"),
    (unknown_category, RACE, "#category: Value"),
    (bad_notation, GERMANY, "skos/core#notation: Value does not match pattern"),
    (two_dates, RACE, "#date: More than 1 values"),
    (date_as_string, RACE, "#date: Value is not Literal with datatype xsd:date"),
    (result_without_race, RESULT_1, "#race: Less than 1 values"),
    (skater_without_nation, AHN, "#nation: Less than 1 values"),
]


@pytest.mark.parametrize(("mutate", "focus", "fragment"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_broken_graph_fails(good: Graph, mutate: Callable[[Graph], None], focus: str, fragment: str) -> None:
    graph = Graph()
    for triple in good:
        graph.add(triple)
    mutate(graph)
    violations = check_graph(graph)
    assert violations, "the broken graph passed validation"
    lines = [v.line() for v in violations if v.focus.startswith(str(focus))]
    assert any(fragment in line for line in lines), "\n".join(v.line() for v in violations)
