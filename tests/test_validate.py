"""SHACL shapes: the built graph conforms, and graphs broken in each way the shapes guard do not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD

from skategraph.errors import SkategraphError
from skategraph.store.embedded import EmbeddedStore
from skategraph.store.shapes import compile_shapes, shapes_path
from skategraph.store.validate import check_graph, check_store, union_graph

from .conftest import ID

SG = Namespace("https://w3id.org/skategraph/ontology#")
SH = Namespace("http://www.w3.org/ns/shacl#")
RACE = URIRef(ID + "race/2002-03/chuncheon/men-1500m")
RELAY = URIRef(ID + "race/2002-03/chuncheon/men-5000m-relay")
RESULT_1 = URIRef(ID + "result/2002-03/chuncheon/men-1500m/1")
RESULT_2 = URIRef(ID + "result/2002-03/chuncheon/men-1500m/2")
RELAY_1 = URIRef(ID + "result/2002-03/chuncheon/men-5000m-relay/1")
AHN = URIRef(ID + "skater/ahn-hyun-soo")
CANADA_MEN = URIRef(ID + "relay-team/CAN-men")
GERMANY = URIRef(ID + "nation/GER")
CLASSIFICATION = URIRef(ID + "classification/2002-03/men-1000m")
STANDING_2 = URIRef(ID + "standing/2002-03/men-1000m/2")
RELAY_STANDING_1 = URIRef(ID + "standing/2002-03/men-5000m-relay/1")


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


def stage_not_a_stage(g: Graph) -> None:
    g.set((RACE, SG.stage, GERMANY))


def competitor_twice(g: Graph) -> None:
    competitor = g.value(RESULT_1, SG.competitor)
    assert competitor is not None
    g.set((RESULT_2, SG.competitor, competitor))


def same_standing_rank(g: Graph) -> None:
    g.set((STANDING_2, SG.rank, Literal(1)))


def skater_in_relay_classification(g: Graph) -> None:
    g.set((RELAY_STANDING_1, SG.competitor, AHN))


def race_without_a_day(g: Graph) -> None:
    g.remove((RACE, SG.date, None))


def rank_not_a_number(g: Graph) -> None:
    g.set((RESULT_1, SG.rank, Literal("first", datatype=XSD.integer)))


def relay_race_only_by_its_subclass(g: Graph) -> None:
    """A relay race typed only as sg:RelayRace is still a sg:Race (the ontology's subclass) to the shapes."""
    g.remove((RELAY, RDF.type, SG.Race))
    g.remove((RELAY, SG.distance, None))


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
    (stage_not_a_stage, RACE, "#stage: Value does not have class sg:Stage"),
    (competitor_twice, RACE, "One competitor has two results in one race"),
    (same_standing_rank, CLASSIFICATION, "Two standings of one classification have the same rank (value: 1)"),
    (
        skater_in_relay_classification,
        RELAY_STANDING_1.replace("standing", "classification")[:-2],
        "A relay classification must rank relay teams",
    ),
    (race_without_a_day, RACE, "Value does not conform to any shape in sh:or"),
    (relay_race_only_by_its_subclass, RELAY, "#distance: Less than 1 values"),
    (rank_not_a_number, RESULT_1, "#rank: Value is not Literal with datatype xsd:integer (value: first)"),
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


def pyshacl_foci(graph: Graph) -> set[str]:
    """The focus nodes of the violations pyshacl, a SHACL engine of its own, reports (blank nodes as `_:`)."""
    import pyshacl

    shapes = Graph().parse(shapes_path(), format="turtle")
    _conforms, report, _text = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
    assert isinstance(report, Graph)
    foci = (report.value(result, SH.focusNode) for result in report.objects(None, SH.result))
    return {"_:" if isinstance(focus, BNode) else str(focus) for focus in foci}


@pytest.mark.parametrize(("mutate", "focus", "fragment"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_the_same_focus_nodes_as_pyshacl(
    good: Graph, mutate: Callable[[Graph], None], focus: str, fragment: str
) -> None:
    """The shapes compiled to queries find what a SHACL engine finds, on each damaged graph."""
    graph = Graph()
    for triple in good:
        graph.add(triple)
    mutate(graph)
    ours = {"_:" if v.focus.startswith("_:") else v.focus for v in check_graph(graph)}
    assert ours == pyshacl_foci(graph)


@pytest.mark.parametrize(
    "extra",
    [
        "sgsh:Nation sh:closed true .",  # a constraint the queries do not compile
        "sgsh:Nation sh:property [ sh:path ( sg:nation sg:venue ) ; sh:minCount 1 ] .",  # a sequence path
        "sgsh:Nation sh:node [ sh:property [ sh:path sg:nation ; sh:minCount 2 ] ] .",  # a nested count over 1
        "sgsh:Nation sh:severity sh:Warning .",
        "sgsh:Named a sh:NodeShape ; sh:targetNode sg:Men ; sh:nodeKind sh:Literal .",  # another target
        'sgsh:Nation sh:sparql [ sh:select "SELECT $this WHERE { FILTER NOT EXISTS { $this sg:nation ?n } }" ] .',
    ],
)
def test_a_shape_the_queries_cannot_check_is_refused(extra: str) -> None:
    """Nothing in a shape is skipped silently: what is not compiled to a query is an error."""
    shapes = Graph().parse(shapes_path(), format="turtle")
    shapes.parse(data=PREFIXES + extra, format="turtle")
    with pytest.raises(SkategraphError, match=r"not compile|is compiled|not compiled"):
        compile_shapes(shapes, {})


PREFIXES = """@prefix sg: <https://w3id.org/skategraph/ontology#> .
@prefix sgsh: <https://w3id.org/skategraph/shapes#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
"""
