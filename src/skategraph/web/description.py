"""The SPARQL 1.1 Service Description of `/sparql`, with VoID statistics of the dataset.

Built from the current generation's manifest (its statistics were counted when it was written), so
answering it touches no store.
"""

from __future__ import annotations

import io

import pyoxigraph as ox
from flask import Response, request, url_for
from werkzeug.exceptions import NotAcceptable

from skategraph import formats
from skategraph.web import get_service, negotiate

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
FORMATS = "http://www.w3.org/ns/formats/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DCT = "http://purl.org/dc/terms/"

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

    def void(term: str) -> ox.NamedNode:
        return ox.NamedNode(VOID + term)

    def count(n: int) -> ox.Literal:
        return ox.Literal(str(n), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))

    out = [
        ox.Triple(me, RDF_TYPE, sd("Service")),
        ox.Triple(me, sd("endpoint"), me),
        ox.Triple(me, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(me, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(me, sd("defaultEntailmentRegime"), ox.NamedNode("http://www.w3.org/ns/entailment/Simple")),
        ox.Triple(me, sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, RDF_TYPE, void("Dataset")),
        ox.Triple(dataset, ox.NamedNode(DCT + "title"), ox.Literal("skategraph: ISU Short Track World Cup results")),
        ox.Triple(
            dataset, ox.NamedNode(DCT + "license"), ox.NamedNode("https://creativecommons.org/licenses/by-sa/4.0/")
        ),
        ox.Triple(dataset, void("sparqlEndpoint"), me),
        ox.Triple(dataset, void("triples"), count(stats["triples"])),
        ox.Triple(dataset, void("entities"), count(stats["entities"])),
        ox.Triple(dataset, void("classes"), count(len(stats["classes"]))),
        ox.Triple(dataset, void("properties"), count(stats["properties"])),
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
    for i, (name, instances) in enumerate(stats["classes"].items(), start=1):
        partition = ox.NamedNode(f"{endpoint}#class-{i}")
        out += [
            ox.Triple(dataset, void("classPartition"), partition),
            ox.Triple(partition, void("class"), ox.NamedNode(name)),
            ox.Triple(partition, void("entities"), count(instances)),
        ]
    return out


def respond() -> Response:
    name = negotiate.choose_graph(request.args.get("format"), request.accept_mimetypes)
    if name is None:
        raise NotAcceptable(
            "the service description is RDF: accept text/turtle, application/ld+json, "
            "application/rdf+xml or application/n-triples"
        )
    rdf_format = formats.RDF_FORMATS[name]
    buffer = io.BytesIO()
    endpoint = url_for("protocol.sparql", _external=True)
    ox.serialize(triples(endpoint), buffer, rdf_format, prefixes=formats.prefixes_for(rdf_format, PREFIXES))
    response = Response(buffer.getvalue(), mimetype=rdf_format.media_type)
    response.vary.add("Accept")
    response.set_etag(f"sd-{get_service().generation().name}-{name}")
    response.headers["Cache-Control"] = f"public, max-age={get_service().settings.cache_max_age}"
    response.make_conditional(request)
    return response
