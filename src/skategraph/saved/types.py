"""Parameter types of saved queries: what each accepts, and what can be checked without a store.

A value from a URL or a command line is text; `skategraph.saved.binding` turns it into the RDF term
its variable is bound with. The domain types name things in the store (a skater by IRI, slug or any
spelling) and are resolved against `skategraph.saved.lookups`.
"""

from __future__ import annotations

import pyoxigraph as ox

from skategraph.errors import SkategraphError
from skategraph.graph.ids import absolute_iri, slug
from skategraph.graph.vocab import xsd
from skategraph.saved.query import Param

Term = ox.NamedNode | ox.Literal

# Every parameter type, and what it accepts, in the words error messages and the catalogue use.
TYPES: dict[str, str] = {
    "string": "any text",
    "integer": "a whole number",
    "date": "a date as YYYY-MM-DD",
    "boolean": "true or false",
    "iri": "an absolute IRI",
    "skater": "a skater: an IRI, a slug such as ahn-hyun-soo, or any spelling of the name (case and accents do "
    "not matter)",
    "nation": "a nation: an IOC code such as CAN, its English name, or its IRI",
    "venue": "a venue: its name, a slug such as salt-lake-city, or its IRI",
    "season": "a season such as 2002-03, or its IRI",
    "category": "men, women or mixed",
    "distance": "a distance in metres (500, 1000, 1500, 3000) or relay",
}
# Domain types name things in the store: they are resolved to IRIs (distance to its key).
DOMAIN = ("skater", "nation", "venue", "season", "category", "distance")
# The domain types whose allowed values are few enough to list (a catalogue, a dropdown).
LISTED = ("nation", "venue", "season", "category", "distance")


def describe(param: Param) -> str:
    """What a parameter accepts, in words."""
    if param.values:
        return "one of " + ", ".join(param.values)
    accepts = TYPES[param.type]
    if param.min is not None or param.max is not None:
        low = "" if param.min is None else f" from {param.min}"
        high = "" if param.max is None else f" up to {param.max}"
        accepts += low + high
    return accepts


def dummy_term(param: Param) -> Term:
    """A value of the parameter's type, for checking a query before any store is at hand."""
    if param.type in ("string", "distance"):
        return ox.Literal("x")
    if param.type in ("integer", "date", "boolean"):
        text = {"integer": "1", "date": "2000-01-01", "boolean": "true"}[param.type]
        return ox.Literal(text, datatype=xsd(param.type))
    return ox.NamedNode("urn:skategraph:parameter")


def folded(text: str) -> str:
    """The key two spellings share if they differ only in case, accents, spaces or hyphens."""
    if absolute_iri(text) is not None:
        return text  # an IRI is compared exactly
    try:
        return slug(text)
    except SkategraphError:  # text with no letters or digits at all
        return text
