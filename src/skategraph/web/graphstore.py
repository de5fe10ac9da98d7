"""`/store`: the SPARQL 1.1 Graph Store HTTP Protocol.

    /store?graph=IRI     a named graph (indirect identification; the IRI must be absolute)
    /store?default       the store's default graph (queries see the union of all graphs; this is the
                         graph that writes without a name go to)
    /store/<path>        the graph whose IRI is this URL (direct identification)
    POST /store          a new graph with an IRI the server makes; 201 and Location

GET and HEAD are open to all; PUT, POST and DELETE need the update token, like SPARQL Update.
"""

from __future__ import annotations

import json
import uuid

import pyoxigraph as ox
from flask import Blueprint, Response, request

from skategraph.engine.jobs import Bound, ChangeJob
from skategraph.errors import NotAcceptable, NotFound, QueryError, UnsupportedMediaType
from skategraph.graph.ids import absolute_iri
from skategraph.web import negotiate
from skategraph.web.protocol import iris, respond
from skategraph.web.service import get_service

blueprint = Blueprint("graphstore", __name__)
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]


@blueprint.route("/store", methods=METHODS)
@blueprint.route("/store/<path:path>", methods=METHODS)
def graph_store(path: str | None = None) -> Response:
    named, graph = _target(path)
    if request.method in ("GET", "HEAD"):
        if not named:
            raise QueryError("name a graph: ?graph=IRI, ?default, or a URL under /store/")
        return _get(graph)
    get_service().authorise(request.headers.get("Authorization"))
    if not named:
        if request.method != "POST":
            raise QueryError("name a graph: ?graph=IRI, ?default, or a URL under /store/")
        return _create()
    return _write(graph)


def _target(path: str | None) -> tuple[bool, str | None]:
    """Whether the request names a graph, and which: an IRI, or None for the default graph."""
    named = request.args.getlist("graph")
    default = "default" in request.args
    if path is not None:
        if named or default:
            raise QueryError("a graph URL under /store/ names its graph; do not add ?graph or ?default")
        if absolute_iri(request.base_url) is None:
            raise QueryError(f"{request.base_url!r} is not an IRI a graph can have: characters such as "
                             "` { } \" < > ^ | \\ must be percent-encoded")  # fmt: skip
        return True, request.base_url
    if named and default:
        raise QueryError("give ?graph=IRI or ?default, not both")
    if len(named) > 1:
        raise QueryError("give one ?graph=IRI")
    if named:
        return True, iris(named, "?graph=")[0]
    return default, None


def _get(graph: str | None) -> Response:
    svc = get_service()
    name = negotiate.choose_graph(request.args.get("format"), request.accept_mimetypes)
    if name is None:
        raise NotAcceptable(
            "a graph is RDF: accept text/turtle, application/n-triples, application/ld+json or application/rdf+xml"
        )
    generation = svc.generation()
    limit = svc.limit(request.args.get("timeout"))
    substitutions: Bound = ()
    if graph is None:
        query, defaults = "CONSTRUCT WHERE { ?s ?p ?o }", ("",)
    else:
        substitutions = (("g", ox.NamedNode(graph)),)
        # The graph written as the term pyoxigraph serialises, as a VALUES block would write it: Virtuoso
        # answers `VALUES ?g { <g> } GRAPH ?g { }` false whenever the dataset names several graphs (measured)
        exists = svc.job(f"ASK {{ GRAPH {ox.NamedNode(graph)} {{ }} }}", generation=generation, results_format="json")
        if b"true" not in b"".join(svc.query(exists, limit).body):
            raise NotFound(f"there is no graph {graph} in the store")
        query, defaults = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", None
    job = svc.job(query, generation=generation, graph_format=name, default_graphs=defaults, substitutions=substitutions)
    return respond(job, limit)


def _parts() -> tuple[tuple[bytes, str], ...]:
    """The RDF documents a write carries: the body, or each file of a multipart form."""
    if request.mimetype == "multipart/form-data":
        parts = tuple((f.read(), f.mimetype) for f in request.files.values())
        if not parts:
            raise QueryError("the multipart form has no RDF documents in it")
    else:
        parts = ((request.get_data(cache=False), request.mimetype),)
    for data, media_type in parts:
        rdf_format = ox.RdfFormat.from_media_type(media_type)
        if rdf_format is None:
            raise UnsupportedMediaType(
                f"{media_type or 'no Content-Type'} is not an RDF format: send text/turtle, application/n-triples, "
                "application/rdf+xml, application/ld+json, application/n-quads or application/trig"
            )
        if rdf_format == ox.RdfFormat.JSON_LD:
            _check_json_ld(data)
    return parts


def _check_json_ld(data: bytes) -> None:
    """A JSON-LD document is a JSON object or array. pyoxigraph reads a bare number, string or `true` as
    a document with no triples, which would make a PUT empty a graph without a word."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise QueryError("the JSON-LD document is nested too deeply") from None
    except ValueError as error:
        raise QueryError(f"the JSON-LD document is not JSON: {error}") from None
    if not isinstance(document, dict | list):
        raise QueryError(f"a JSON-LD document is a JSON object or array, not {type(document).__name__}")


def _write(graph: str | None) -> Response:
    svc = get_service()
    kind = request.method.lower()
    parts = () if kind == "delete" else _parts()
    job = ChangeJob("", "", kind, graph=graph, parts=parts, base_iri=graph or request.base_url)
    outcome = svc.change(job, svc.limit(request.args.get("timeout")))
    existed = outcome.get("existed", False)
    if kind == "delete":
        status = 200
    elif kind == "put":
        status = 204 if existed else 201
    else:
        status = 200 if existed else 201
    response = Response(status=status)
    response.headers["X-Skategraph-Build"] = outcome["build_id"]
    return response


def _create() -> Response:
    """POST to the store itself: a new graph, under /store/, named by the server."""
    svc = get_service()
    iri = f"{request.host_url}store/{uuid.uuid4().hex}"
    job = ChangeJob("", "", "post", graph=iri, parts=_parts(), base_iri=iri)
    outcome = svc.change(job, svc.limit(request.args.get("timeout")))
    response = Response(status=201)
    response.headers["Location"] = iri
    response.headers["X-Skategraph-Build"] = outcome["build_id"]
    return response
