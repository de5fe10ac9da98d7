"""Choosing a serialisation: `format=` if given, else the Accept header (q-values, via werkzeug).

The choice is made before the query form is known, so it is made twice: the best results format
(for SELECT/ASK) and the best RDF format (for CONSTRUCT/DESCRIBE). The worker uses whichever fits,
and a query whose form the client accepts no format for gets 406.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping

import pyoxigraph as ox
from flask import Response, request
from werkzeug.datastructures import MIMEAccept

from skategraph.errors import QueryError
from skategraph.sparql import formats

# In order of preference when the client accepts anything.
RESULTS_OFFERS = [
    ("application/sparql-results+json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
    ("application/json", "json"),
    ("application/xml", "xml"),
    ("text/xml", "xml"),
]
GRAPH_OFFERS = [
    ("text/turtle", "turtle"),
    ("application/n-triples", "ntriples"),
    ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdfxml"),
    ("application/n-quads", "nquads"),
    ("application/trig", "trig"),
    ("text/plain", "ntriples"),
    ("application/json", "jsonld"),
    ("application/xml", "rdfxml"),
]
# What a `format=` value means: (the results format for SELECT/ASK, the RDF format for
# CONSTRUCT/DESCRIBE). Our names, media types, and the names SPARQLWrapper, Fuseki and Virtuoso use:
# `xml` and `json` name a format for either form, as they do there (SPARQLWrapper's default, XML,
# asks for RDF/XML when the query is a CONSTRUCT).
NAMES: dict[str, tuple[str | None, str | None]] = {
    **{name: (name, None) for name in formats.RESULTS_FORMATS},
    **{name: (None, name) for name in formats.RDF_FORMATS},
    **{media: (name, None) for media, name in RESULTS_OFFERS},
    **{media: (None, name) for media, name in GRAPH_OFFERS},
    "xml": ("xml", "rdfxml"),
    "json": ("json", "jsonld"),
    "application/xml": ("xml", "rdfxml"),
    "text/xml": ("xml", "rdfxml"),
    "application/json": ("json", "jsonld"),
    "srj": ("json", None),
    "srx": ("xml", None),
    "ttl": (None, "turtle"),
    "n3": (None, "turtle"),  # Turtle is N3's RDF subset
    "text/n3": (None, "turtle"),
    "text/rdf+n3": (None, "turtle"),
    "application/turtle": (None, "turtle"),
    "nt": (None, "ntriples"),
    "n-triples": (None, "ntriples"),
    "nq": (None, "nquads"),
    "n-quads": (None, "nquads"),
    "rdf+xml": (None, "rdfxml"),
    "rdf": (None, "rdfxml"),
    "json-ld": (None, "jsonld"),
    "application/x-json+ld": (None, "jsonld"),
}
# The parameters that name a format: ours and Virtuoso's (`format`), Fuseki's and sparqler's
# (`output`), and `results`; SPARQLWrapper sends all three.
FORMAT_PARAMETERS = ("format", "output", "results")


def best(accept: MIMEAccept, offers: list[tuple[str, str]]) -> str | None:
    if not accept:  # no Accept header: anything goes
        return offers[0][1]
    return _best(tuple(accept), tuple(offers))


@functools.lru_cache(maxsize=256)
def _best(accept: tuple[tuple[str, float], ...], offers: tuple[tuple[str, str], ...]) -> str | None:
    """`best`, remembered: clients send the same few Accept headers, and matching one against our
    offers was a tenth of a small query's time in the web process."""
    match = ranges(MIMEAccept(accept)).best_match([media for media, _name in offers])
    return dict(offers)[match] if match else None


def ranges(accept: MIMEAccept) -> MIMEAccept:
    """The Accept header's media ranges without their parameters, q-values kept.

    werkzeug matches `text/turtle; charset=utf-8` to no offer without that parameter, so clients that
    add one (the W3C Graph Store tests, SPARQLWrapper, many HTTP libraries) got 406. Every answer is
    UTF-8, and our JSON-LD is expanded (a profile asking for it is met; one asking for compacted or
    flattened JSON-LD still gets a valid JSON-LD document), so no parameter can rule an offer out.
    """
    return MIMEAccept([(value.split(";", 1)[0].strip(), quality) for value, quality in accept])


def format_parameter(params: Mapping[str, str]) -> str | None:
    """The first of `format=`, `output=`, `results=` given."""
    return next((params[name] for name in FORMAT_PARAMETERS if params.get(name)), None)


def choose(format_param: str | None, accept: MIMEAccept) -> tuple[str | None, str | None]:
    """(results format, RDF format) names for a query response."""
    if format_param:
        names = NAMES.get(format_param.split(";", 1)[0].strip().lower())
        if names is None:
            known = ", ".join([*formats.RESULTS_FORMATS, *formats.RDF_FORMATS])
            raise QueryError(f"unknown format {format_param!r}: use one of {known}, or a media type")
        return names
    return best(accept, RESULTS_OFFERS), best(accept, GRAPH_OFFERS)


def choose_graph(format_param: str | None, accept: MIMEAccept) -> str | None:
    """The RDF format for a response that is always a graph (Graph Store GET, service description)."""
    return choose(format_param, accept)[1]


def graph_response(
    triples: Iterable[ox.Triple], name: str, prefixes: dict[str, str], etag: str, max_age: int
) -> Response:
    """A small graph, built in the web process (a description, not a query result), written as `name`:
    with Vary: Accept, an ETag (304 when the client has it) and Cache-Control."""
    rdf_format = formats.RDF_FORMATS[name]
    buffer = io.BytesIO()
    ox.serialize(triples, buffer, rdf_format, prefixes=formats.prefixes_for(rdf_format, prefixes))
    response = Response(buffer.getvalue(), mimetype=rdf_format.media_type)
    response.vary.add("Accept")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.make_conditional(request)
    return response
