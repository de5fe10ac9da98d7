"""Choosing a serialisation: `format=` if given, else the Accept header (q-values, via werkzeug).

The choice is made before the query form is known, so it is made twice: the best results format
(for SELECT/ASK) and the best RDF format (for CONSTRUCT/DESCRIBE). The worker uses whichever fits,
and a query whose form the client accepts no format for gets 406.
"""

from __future__ import annotations

from werkzeug.datastructures import MIMEAccept

from skategraph import formats
from skategraph.errors import QueryError

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
NAMES = {**{m: n for m, n in RESULTS_OFFERS + GRAPH_OFFERS}, **{n: n for n in formats.RESULTS_FORMATS}}
NAMES.update({n: n for n in formats.RDF_FORMATS})


def best(accept: MIMEAccept, offers: list[tuple[str, str]]) -> str | None:
    if not accept:  # no Accept header: anything goes
        return offers[0][1]
    match = accept.best_match([media for media, _name in offers])
    return dict(offers)[match] if match else None


def choose(format_param: str | None, accept: MIMEAccept) -> tuple[str | None, str | None]:
    """(results format, RDF format) names for a query response."""
    if format_param:
        name = NAMES.get(format_param.strip().lower())
        if name is None:
            known = ", ".join([*formats.RESULTS_FORMATS, *formats.RDF_FORMATS])
            raise QueryError(f"unknown format {format_param!r}: use one of {known}, or a media type")
        return (name if name in formats.RESULTS_FORMATS else None, name if name in formats.RDF_FORMATS else None)
    return best(accept, RESULTS_OFFERS), best(accept, GRAPH_OFFERS)


def choose_graph(format_param: str | None, accept: MIMEAccept) -> str | None:
    """The RDF format for a response that is always a graph (Graph Store GET, service description)."""
    return choose(format_param, accept)[1]
