"""Linked data you can follow: every IRI skategraph mints answers here, to people and to machines.

    GET /id/<path>                 a resource: HTML for browsers, RDF by Accept (Vary: Accept); the
                                   same for every other IRI under the base (graph/..., build/...)
    GET /id/<path>.ttl|.nt|.rdf|.jsonld   the same RDF by suffix, for links and scripts
    GET /id/<path>/podiums.svg     a skater's or nation's podium places per season, as a picture
    GET /id/<path>/medals.svg      a season's medal table by nation, as a picture
    GET /ontology                  the ontology: a page documenting every term, or RDF
    GET /.well-known/void          the VoID description of the dataset
    GET /dump                      the whole dataset as N-Quads (gzip-encoded when the client accepts it)
    GET /dump.nq.gz                the same, a gzipped file to download

An IRI under the configured base (the store's manifest says which) is answered at the same path on
this host: `https://w3id.org/skategraph/id/skater/ahn-hyun-soo` at `/id/skater/ahn-hyun-soo`. The RDF
describes the resource (its own triples and, bounded, the ones pointing at it) and says where to query
the rest. The queries of pages and descriptions are ours and bounded by the resource, and run in the
web process (`Service.select_here`); the ontology's RDF and the dump run in the worker pool.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request, send_file, url_for

from skategraph.engine.jobs import DumpJob
from skategraph.errors import NotAcceptable, UnknownResource
from skategraph.graph.vocab import FOAF, ONTOLOGY_IRI, PREFIXES, VOID
from skategraph.sparql import formats
from skategraph.web import negotiate, pages, protocol, void
from skategraph.web.errors import error_response
from skategraph.web.service import Service, get_service

blueprint = Blueprint(
    "linkeddata", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)

SUFFIXES = {".ttl": "turtle", ".nt": "ntriples", ".rdf": "rdfxml", ".jsonld": "jsonld"}
PAGE_OFFERS = [("text/html", "html"), ("application/xhtml+xml", "html"), *negotiate.GRAPH_OFFERS[:4]]
INCOMING_LIMIT = 2000  # a much-cited resource (a nation, a category) lists at most this many triples

OWN = "SELECT ?p ?o ?_this WHERE { ?_this ?p ?o }"
# In order, so that past the limit every store (and every run) lists the same ones.
POINTING = "SELECT ?s ?p ?_this WHERE {{ ?s ?p ?_this }} ORDER BY ?s ?p LIMIT {limit}"
# One row if the IRI is in the dataset; ?target bound if it is only `owl:sameAs` another resource of
# ours (a spelling merged into a skater, data/identities.tsv). One worker round trip for both.
FOUND = """SELECT ?target ?_this WHERE { { ?_this ?p ?o } UNION { ?s ?q ?_this }
  OPTIONAL { ?_this owl:sameAs ?target . ?target a ?kind FILTER NOT EXISTS { ?_this a ?t } } } LIMIT 1"""


@blueprint.route("/<path:rest>", methods=["GET", "HEAD"])
def resource(rest: str) -> Response:
    """Any IRI under the base: `id/...` resources, `graph/...` named graphs, `build/...` builds.

    The rule is the catch-all (werkzeug tries every more specific rule first), so an unknown path is
    an unknown resource, with the 404 page that says where to go.
    """
    svc = get_service()
    suffix = next((s for s in SUFFIXES if rest.endswith(s)), "")
    path = rest[: len(rest) - len(suffix)]
    iri = svc.manifest()["base"] + quote(path, safe="/-")
    this = (("_this", ox.NamedNode(iri)),)
    found = svc.select_here(FOUND, this)
    if not found:
        raise UnknownResource(f"there is no resource {iri} in this dataset")
    base = svc.manifest()["base"]
    merged = [found[0]["target"]["value"]] if "target" in found[0] else []
    if merged and merged[0].startswith(base):
        # A skater's IRI from before a merge (data/identities.tsv): the skater it is, for good.
        location = url_for("linkeddata.resource", rest=unquote(merged[0][len(base) :]) + suffix, _external=True)
        moved = Response(status=301)
        moved.headers["Location"] = location
        return moved
    name = SUFFIXES[suffix] if suffix else _choose(request.accept_mimetypes)
    if name == "html":
        response = pages.resource_page(iri)
    else:
        document = url_for("linkeddata.resource", rest=path + _suffix_of(name), _external=True)
        response = describe(iri, name, document)
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
    """The resource's RDF: all its own triples, the ones pointing at it (at most INCOMING_LIMIT), and
    where to ask for the rest. Two SELECTs of ours, evaluated here; the few triples are written here."""
    svc = get_service()
    generation = svc.generation()
    this = ox.NamedNode(iri)
    bound = (("_this", this),)
    own = svc.select_here(OWN, bound, generation)
    triples = [ox.Triple(this, ox.NamedNode(r["p"]["value"]), term(r["o"])) for r in own]
    pointing = svc.select_here(POINTING.format(limit=INCOMING_LIMIT), bound, generation)
    triples += [ox.Triple(subject(r["s"]), ox.NamedNode(r["p"]["value"]), this) for r in pointing]
    doc, dataset = ox.NamedNode(document), void.dataset_iri()
    triples += [
        ox.Triple(doc, ox.NamedNode(FOAF + "primaryTopic"), this),
        ox.Triple(doc, void.void("inDataset"), dataset),
        ox.Triple(dataset, void.void("sparqlEndpoint"), ox.NamedNode(url_for("protocol.sparql", _external=True))),
    ]
    prefixes = {"void": VOID, "foaf": FOAF, **PREFIXES}
    etag = f"{generation.name}-{hashlib.sha256(document.encode()).hexdigest()[:16]}"
    response = negotiate.graph_response(triples, name, prefixes, etag, svc.settings.cache_max_age)
    response.headers["Content-Location"] = document
    return response


def subject(binding: dict[str, str]) -> ox.NamedNode | ox.BlankNode:
    """A subject from its SPARQL JSON form."""
    return ox.BlankNode(binding["value"]) if binding["type"] == "bnode" else ox.NamedNode(binding["value"])


def term(binding: dict[str, str]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An object from its SPARQL JSON form."""
    if binding["type"] == "uri":
        return ox.NamedNode(binding["value"])
    if binding["type"] == "bnode":
        return ox.BlankNode(binding["value"])
    if "xml:lang" in binding:
        return ox.Literal(binding["value"], language=binding["xml:lang"])
    if "datatype" in binding:
        return ox.Literal(binding["value"], datatype=ox.NamedNode(binding["datatype"]))
    return ox.Literal(binding["value"])


@blueprint.route("/id/<path:rest>/<any(podiums, medals):name>.svg", methods=["GET", "HEAD"])
def chart(rest: str, name: str) -> Response:
    """A picture on a resource's page (pages.CHARTS): a skater's or nation's podiums, a season's medals."""
    return pages.chart_response(get_service().manifest()["base"] + "id/" + quote(rest, safe="/-"), name)


@blueprint.route("/ontology", methods=["GET", "HEAD"])
@blueprint.route("/ontology<any('.ttl', '.nt', '.rdf', '.jsonld'):suffix>", methods=["GET", "HEAD"])
def ontology(suffix: str = "") -> Response:
    svc = get_service()
    name = SUFFIXES[suffix] if suffix else _choose(request.accept_mimetypes)
    if name == "html":
        response = pages.ontology_page()
    else:
        job = svc.job(
            "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?_graph { ?s ?p ?o } }",
            graph_format=name,
            substitutions=(("_graph", ox.NamedNode(ONTOLOGY_IRI)),),
        )
        response = protocol.respond(job, svc.settings.timeout)
    response.vary.add("Accept")
    return response


@blueprint.route("/.well-known/void", methods=["GET", "HEAD"])
def void_description() -> Response:
    return void.respond()


@blueprint.route("/dump", methods=["GET", "HEAD"])
def dump() -> Response:
    """The whole dataset as N-Quads: sent gzip-encoded (`Content-Encoding`) to a client that accepts
    it, as Comunica and browsers do, and decoded on the way out for one that does not."""
    svc = get_service()
    encoded = bool(request.accept_encodings["gzip"])
    generation, file = _dump_file(svc, decoded=not encoded)
    etag = f"dump-{'gz' if encoded else 'nq'}-{generation.name}"
    response = send_file(file, mimetype="application/n-quads", etag=etag, conditional=True,
                         max_age=svc.settings.cache_max_age)  # fmt: skip
    if encoded:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


@blueprint.route("/dump.nq.gz", methods=["GET", "HEAD"])
def dump_download() -> Response:
    """The same, as a gzipped file to download."""
    svc = get_service()
    generation, file = _dump_file(svc)
    return send_file(
        file,
        mimetype="application/gzip",
        as_attachment=True,
        download_name=f"skategraph-{generation.name}.nq.gz",
        etag=f"dump-{generation.name}",
        conditional=True,
        max_age=svc.settings.cache_max_age,
    )


def _dump_file(svc: Service, decoded: bool = False) -> tuple[Path, BinaryIO]:
    """The current generation's gzipped dump (written once by a worker), opened as it is or `decoded`,
    while the generation is held: a write may prune it, and the open file keeps working."""
    generation, release = svc.hold(svc.generation())
    try:
        target = generation / "dump.nq.gz"
        if not target.exists():
            svc.pool.change(DumpJob(str(generation), str(target)), svc.settings.timeout)
        return generation, io.BufferedReader(_Decoded(gzip.open(target, "rb"))) if decoded else target.open("rb")
    finally:
        release()


class _Decoded(io.RawIOBase):
    """A gzipped file read decoded, with no file number of its own. A `gzip.GzipFile` answers
    `fileno()` with the gzipped file's, so gunicorn would `sendfile()` the compressed bytes under an
    uncompressed answer (it failed instead, on the file's numeric `mode`, and sent an empty 200)."""

    def __init__(self, inner: gzip.GzipFile) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._inner.readinto(buffer)

    def close(self) -> None:
        self._inner.close()
        super().close()


@blueprint.app_errorhandler(UnknownResource)
def not_found(error: UnknownResource) -> Response:
    """A 404 a person can use (what was asked, where to go instead); JSON for everyone else."""
    # A page only for clients that ask for HTML (browsers do); an Accept-less client gets the JSON error.
    wants_html = (
        negotiate.best(request.accept_mimetypes, [("application/json", "json"), ("text/html", "html")]) == "html"
    )
    if wants_html and not _suffixed():
        body = render_template("notfound.html", message=str(error), path=request.path)
        return Response(body, status=404, mimetype="text/html")
    return error_response(404, "not_found", f"not found: {error}")


def _suffixed() -> bool:
    return request.path.endswith(tuple(SUFFIXES))
