"""The ontology is the public contract: every term documented and aligned, every term we write declared."""

from __future__ import annotations

import pytest
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Namespace, URIRef

from skategraph import resources
from skategraph.store.embedded import EmbeddedStore

from .conftest import select

SG = Namespace("https://w3id.org/skategraph/ontology#")
SCHEMA = "https://schema.org/"
DBO = "http://dbpedia.org/ontology/"
WIKIDATA = "http://www.wikidata.org/"

# The names issue 2 fixes as the public vocabulary.
CONTRACT_CLASSES = [
    "Season",
    "Stage",
    "Race",
    "RelayRace",
    "Result",
    "Standing",
    "Skater",
    "RelayTeam",
    "Nation",
    "Venue",
]
CONTRACT_PROPERTIES = [
    "season",
    "stage",
    "venue",
    "date",
    "distance",
    "category",
    "race",
    "competitor",
    "rank",
    "nation",
]


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(resources.bundled("ontology") / "skategraph.ttl", format="turtle")


def terms(ontology: Graph) -> list[URIRef]:
    kinds = [OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.NamedIndividual]
    return sorted({s for kind in kinds for s in ontology.subjects(RDF.type, kind) if isinstance(s, URIRef)})


def test_contract_terms_exist(ontology: Graph) -> None:
    for name in CONTRACT_CLASSES:
        assert (SG[name], RDF.type, OWL.Class) in ontology, name
    for name in CONTRACT_PROPERTIES:
        assert any(ontology.triples((SG[name], RDF.type, None))), name
    assert (SG.Men, RDF.type, SG.Category) in ontology and (SG.Women, RDF.type, SG.Category) in ontology


def test_every_term_has_a_label_and_a_comment(ontology: Graph) -> None:
    found = terms(ontology)
    assert len(found) > 30
    for term in found:
        assert ontology.value(term, RDFS.label), f"{term} has no label"
        assert ontology.value(term, RDFS.comment), f"{term} has no comment"


@pytest.mark.parametrize("prefix", [SCHEMA, DBO, WIKIDATA])
def test_aligned_to(ontology: Graph, prefix: str) -> None:
    links = [SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.relatedMatch, RDFS.subClassOf, RDFS.subPropertyOf]
    aligned = {s for link in links for s, o in ontology.subject_objects(link) if str(o).startswith(prefix)}
    assert len(aligned) >= 5, aligned


def test_every_term_the_data_uses_is_declared(seed_store: EmbeddedStore, ontology: Graph) -> None:
    used = select(
        seed_store,
        """SELECT DISTINCT ?term WHERE {
             { GRAPH ?g { ?s ?term ?o } } UNION { GRAPH ?g { ?s a ?term } }
             FILTER(?g != <https://w3id.org/skategraph/ontology> && STRSTARTS(STR(?term), STR(sg:)))
           }""",
    )
    declared = {str(t) for t in terms(ontology)}
    assert used and {row[0] for row in used} <= declared


def test_category_values_are_the_declared_individuals(seed_store: EmbeddedStore) -> None:
    rows = select(seed_store, "SELECT DISTINCT ?c WHERE { ?x sg:category ?c } ORDER BY ?c")
    assert rows == [(str(SG.Men),), (str(SG.Women),)]
