"""Linked data you can follow: every IRI skategraph mints answers here, to people and to machines.

    GET /id/<path>                 a resource: HTML for browsers, RDF by Accept (Vary: Accept)
    GET /id/<path>.ttl|.nt|.rdf|.jsonld   the same RDF by suffix, for links and scripts
    GET /ontology                  the ontology: a page documenting every term, or RDF
    GET /.well-known/void          the VoID description of the dataset
    GET /dump                      the whole dataset, gzipped N-Quads

An IRI under the configured base (the store's manifest says which) is answered at the same path on
this host: `https://w3id.org/skategraph/id/skater/ahn-hyun-soo` at `/id/skater/ahn-hyun-soo`. The RDF
describes the resource (its own triples and, bounded, the ones pointing at it) and says where to query
the rest. Everything runs in the worker pool, like any query.
"""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request, send_file, url_for
from werkzeug.exceptions import NotAcceptable, NotFound

from skategraph import formats
from skategraph.ids import ONTOLOGY_IRI
from skategraph.web import get_service, negotiate, protocol, void
from skategraph.workers import DumpJob, QueryJob

blueprint = Blueprint(
    "linkeddata", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)

SUFFIXES = {".ttl": "turtle", ".nt": "ntriples", ".rdf": "rdfxml", ".jsonld": "jsonld"}
PAGE_OFFERS = [("text/html", "html"), ("application/xhtml+xml", "html"), *negotiate.GRAPH_OFFERS[:4]]
INCOMING_LIMIT = 2000  # a much-cited resource (a nation, a category) lists at most this many triples

DESCRIBE = """
PREFIX void: <http://rdfs.org/ns/void#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
CONSTRUCT {
  ?_this ?p ?o . ?s ?q ?_this .
  ?_document foaf:primaryTopic ?_this ; void:inDataset ?_dataset .
  ?_dataset void:sparqlEndpoint ?_sparql .
}
WHERE { { ?_this ?p ?o } UNION { ?s ?q ?_this } }
LIMIT """ + str(INCOMING_LIMIT)
EXISTS = "ASK { { ?_this ?p ?o } UNION { ?s ?q ?_this } }"


class UnknownResource(NotFound):
    """No IRI of the dataset is the one asked for."""


@blueprint.route("/id/<path:rest>", methods=["GET", "HEAD"])
def resource(rest: str) -> Response:
    svc = get_service()
    suffix = next((s for s in SUFFIXES if rest.endswith(s)), "")
    path = rest[: len(rest) - len(suffix)]
    iri = svc.manifest()["base"] + "id/" + quote(path, safe="/-")
    this = (("_this", str(ox.NamedNode(iri))),)
    if not svc.ask(EXISTS, this):
        raise UnknownResource(f"there is no resource {iri} in this dataset")
    name = SUFFIXES[suffix] if suffix else _choose(request.accept_mimetypes)
    if name == "html":
        from skategraph.web import pages

        response = pages.resource_page(iri)
    else:
        response = describe(iri, name, url_for("linkeddata.resource", rest=path + _suffix_of(name), _external=True))
    response.vary.add("Accept")
    response.headers["Link"] = ", ".join(
        f'<{url_for("linkeddata.resource", rest=path + s, _external=True)}>; rel="alternate"; '
        f'type="{formats.RDF_FORMATS[n].media_type}"'
        for s, n in SUFFIXES.items()
    )
    return response


def _choose(accept: object) -> str:
    name = negotiate.best(accept, PAGE_OFFERS)  # type: ignore[arg-type]
    if name is None:
        raise NotAcceptable("a resource is given as HTML, Turtle, N-Triples, JSON-LD or RDF/XML")
    return name


def _suffix_of(name: str) -> str:
    return next(s for s, n in SUFFIXES.items() if n == name)


def describe(iri: str, name: str, document: str) -> Response:
    """The resource's RDF: its triples, those pointing at it (bounded), and where the rest is."""
    svc = get_service()
    bound = {
        "_this": iri,
        "_document": document,
        "_dataset": void.dataset_iri().value,
        "_sparql": url_for("protocol.sparql", _external=True),
    }
    job = QueryJob(
        generation=str(svc.generation()),
        query=DESCRIBE,
        results_format=None,
        graph_format=name,
        substitutions=tuple((k, str(ox.NamedNode(v))) for k, v in bound.items()),
    )
    response = protocol.respond(job, svc.settings.timeout)
    response.headers["Content-Location"] = document
    return response


@blueprint.route("/ontology", methods=["GET", "HEAD"])
@blueprint.route("/ontology<any('.ttl', '.nt', '.rdf', '.jsonld'):suffix>", methods=["GET", "HEAD"])
def ontology(suffix: str = "") -> Response:
    svc = get_service()
    name = SUFFIXES[suffix] if suffix else _choose(request.accept_mimetypes)
    if name == "html":
        from skategraph.web import pages

        response = pages.ontology_page()
    else:
        job = QueryJob(
            generation=str(svc.generation()),
            query="CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?_graph { ?s ?p ?o } }",
            results_format=None,
            graph_format=name,
            substitutions=(("_graph", str(ox.NamedNode(ONTOLOGY_IRI))),),
        )
        response = protocol.respond(job, svc.settings.timeout)
    response.vary.add("Accept")
    return response


@blueprint.route("/.well-known/void", methods=["GET", "HEAD"])
def void_description() -> Response:
    return void.respond()


@blueprint.route("/dump", methods=["GET", "HEAD"])
def dump() -> Response:
    """The whole dataset as gzipped N-Quads, written once per store version by a worker."""
    svc = get_service()
    generation = svc.generation()
    target = generation / "dump.nq.gz"
    if not target.exists():
        svc.pool.change(DumpJob(str(generation), str(target)), svc.settings.timeout)
    return send_file(
        target,
        mimetype="application/gzip",
        as_attachment=True,
        download_name=f"skategraph-{generation.name}.nq.gz",
        etag=f"dump-{generation.name}",
        conditional=True,
        max_age=svc.settings.cache_max_age,
    )


@blueprint.app_errorhandler(UnknownResource)
def not_found(error: UnknownResource) -> Response:
    """A 404 a person can use (what was asked, where to go instead); JSON for everyone else."""
    from skategraph.web import error_response

    if negotiate.best(request.accept_mimetypes, PAGE_OFFERS) == "html" and not _suffixed():
        body = render_template("notfound.html", message=error.description, path=request.path)
        return Response(body, status=404, mimetype="text/html")
    return error_response(404, "unknown_resource", error.description or "not found")


def _suffixed() -> bool:
    return request.path.endswith(tuple(SUFFIXES))
