"""The SPARQL 1.1 Service Description of `/sparql`, with VoID statistics of the dataset.

Built from the current generation's manifest (its statistics were counted when it was written), so
answering it touches no store.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Response, request, url_for

from skategraph.errors import NotAcceptable
from skategraph.graph.vocab import DCT, FORMATS, RDF_TYPE, RDFS, SD, VOID
from skategraph.web import negotiate
from skategraph.web.service import get_service
from skategraph.web.void import count, dataset_triples, void

RESULT_FORMATS = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                  "Turtle", "N-Triples", "N-Quads", "TriG", "JSON-LD", "RDF_XML"]  # fmt: skip
PREFIXES = {"sd": SD, "void": VOID, "formats": FORMATS, "dcterms": DCT}


def triples(endpoint: str) -> list[ox.Triple]:
    svc = get_service()
    manifest = svc.manifest()
    stats = manifest["stats"]
    me = ox.NamedNode(endpoint)
    dataset = ox.NamedNode(endpoint + "#dataset")
    default = ox.NamedNode(endpoint + "#default-graph")

    def sd(term: str) -> ox.NamedNode:
        return ox.NamedNode(SD + term)

    out = [
        ox.Triple(me, RDF_TYPE, sd("Service")),
        ox.Triple(me, sd("endpoint"), me),
        ox.Triple(me, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(me, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(me, sd("defaultEntailmentRegime"), ox.NamedNode("http://www.w3.org/ns/entailment/Simple")),
        ox.Triple(me, sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, ox.NamedNode(RDFS + "seeAlso"), void_document()),
        ox.Triple(dataset, sd("defaultGraph"), default),
        ox.Triple(default, RDF_TYPE, sd("Graph")),
        ox.Triple(default, void("triples"), count(stats["triples"])),
    ]
    if svc.settings.update_token:
        out.append(ox.Triple(me, sd("supportedLanguage"), sd("SPARQL11Update")))
    if svc.settings.allow_service:
        out.append(ox.Triple(me, sd("feature"), sd("BasicFederatedQuery")))
    out += [ox.Triple(me, sd("resultFormat"), ox.NamedNode(FORMATS + name)) for name in RESULT_FORMATS]
    for i, (name, triple_count) in enumerate(stats["graphs"].items(), start=1):
        named = ox.NamedNode(f"{endpoint}#graph-{i}")
        graph = ox.NamedNode(f"{endpoint}#graph-{i}-contents")
        out += [
            ox.Triple(dataset, sd("namedGraph"), named),
            ox.Triple(named, RDF_TYPE, sd("NamedGraph")),
            ox.Triple(named, sd("name"), ox.NamedNode(name)),
            ox.Triple(named, sd("graph"), graph),
            ox.Triple(graph, RDF_TYPE, sd("Graph")),
            ox.Triple(graph, void("triples"), count(triple_count)),
        ]
    out += dataset_triples(dataset, manifest)
    return out


def void_document() -> ox.NamedNode:
    return ox.NamedNode(url_for("linkeddata.void_description", _external=True))


def respond() -> Response:
    name = negotiate.choose_graph(request.args.get("format"), request.accept_mimetypes)
    if name is None:
        raise NotAcceptable(
            "the service description is RDF: accept text/turtle, application/ld+json, "
            "application/rdf+xml or application/n-triples"
        )
    svc = get_service()
    endpoint = url_for("protocol.sparql", _external=True)
    etag = f"sd-{svc.generation().name}-{name}"
    return negotiate.graph_response(triples(endpoint), name, PREFIXES, etag, svc.settings.cache_max_age)
