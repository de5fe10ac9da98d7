"""The VoID description of the dataset: at `/.well-known/void`, and inside the service description.

Built from the current generation's manifest (its statistics were counted when it was written), so it
touches no store. One place says what the dataset is: its licence and attribution, size, classes,
example resources, where to query it and where to download it, and the vocabularies it uses.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from flask import Response, request, url_for

from skategraph.errors import NotAcceptable
from skategraph.graph.vocab import CC, CC_BY_SA, DCT, FORMATS, PREFIXES, RDF_TYPE, VOID, xsd
from skategraph.web import negotiate
from skategraph.web.service import get_service

XSD_INTEGER = xsd("integer")
# Vocabularies the data uses (the ontology aligns to schema.org, DBpedia and Wikidata as well).
VOCABULARIES = ["sg", "rdf", "rdfs", "owl", "xsd", "skos", "prov", "dcterms", "cc"]
# One example of each kind of resource, by its path under the base.
EXAMPLES = ["id/season/2002-03", "id/skater/ahn-hyun-soo", "id/race/2002-03/chuncheon/men-1500m", "id/nation/CAN"]


def void(term: str) -> ox.NamedNode:
    return ox.NamedNode(VOID + term)


def count(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=XSD_INTEGER)


def dataset_triples(dataset: ox.NamedNode, manifest: dict[str, Any]) -> list[ox.Triple]:
    """What VoID says of the dataset, on the node `dataset` (the service description reuses it)."""
    stats = manifest["stats"]
    base = manifest["base"]
    sparql = ox.NamedNode(url_for("protocol.sparql", _external=True))
    out = [
        ox.Triple(dataset, RDF_TYPE, void("Dataset")),
        ox.Triple(dataset, ox.NamedNode(DCT + "title"), ox.Literal("skategraph: ISU Short Track World Cup results")),
        ox.Triple(dataset, ox.NamedNode(DCT + "description"), ox.Literal(
            "ISU Short Track Speed Skating World Cup races, podiums and standings, as linked data.")),
        ox.Triple(dataset, ox.NamedNode(DCT + "license"), CC_BY_SA),
        ox.Triple(dataset, ox.NamedNode(CC + "attributionName"), ox.Literal("Wikipedia contributors")),
        ox.Triple(dataset, ox.NamedNode(DCT + "source"), ox.NamedNode("https://en.wikipedia.org/")),
        ox.Triple(dataset, ox.NamedNode(DCT + "modified"), ox.Literal(
            manifest.get("changed_at", manifest["built_at"]), datatype=xsd("dateTime"))),
        ox.Triple(dataset, void("sparqlEndpoint"), sparql),
        ox.Triple(dataset, void("dataDump"), ox.NamedNode(url_for("linkeddata.dump", _external=True))),
        ox.Triple(dataset, void("uriSpace"), ox.Literal(base + "id/")),
        ox.Triple(dataset, void("triples"), count(stats["triples"])),
        ox.Triple(dataset, void("entities"), count(stats["entities"])),
        ox.Triple(dataset, void("classes"), count(len(stats["classes"]))),
        ox.Triple(dataset, void("properties"), count(stats["properties"])),
        ox.Triple(dataset, void("feature"), ox.NamedNode(FORMATS + "N-Quads")),
    ]  # fmt: skip
    out += [ox.Triple(dataset, void("vocabulary"), ox.NamedNode(PREFIXES[p].rstrip("#"))) for p in VOCABULARIES]
    out += [ox.Triple(dataset, void("exampleResource"), ox.NamedNode(base + path)) for path in EXAMPLES]
    for i, (name, instances) in enumerate(stats["classes"].items(), start=1):
        partition = ox.NamedNode(f"{dataset.value}-class-{i}")
        out += [
            ox.Triple(dataset, void("classPartition"), partition),
            ox.Triple(partition, void("class"), ox.NamedNode(name)),
            ox.Triple(partition, void("entities"), count(instances)),
        ]
    return out


def dataset_iri() -> ox.NamedNode:
    return ox.NamedNode(url_for("linkeddata.void_description", _external=True) + "#dataset")


def respond() -> Response:
    name = negotiate.choose_graph(request.args.get("format"), request.accept_mimetypes)
    if name is None:
        raise NotAcceptable("the VoID description is RDF: accept text/turtle, application/ld+json, "
                            "application/rdf+xml or application/n-triples")  # fmt: skip
    svc = get_service()
    etag = f"void-{svc.generation().name}-{name}"
    triples = dataset_triples(dataset_iri(), svc.manifest())
    return negotiate.graph_response(triples, name, {"void": VOID, **PREFIXES}, etag, svc.settings.cache_max_age)
