"""Names of the serialisations skategraph writes, shared by the CLI and the web shell.

SELECT and ASK results go out as SPARQL results formats; CONSTRUCT, DESCRIBE and dataset exports as
RDF formats. One name per format everywhere (`--format turtle`, `?format=turtle`).
"""

from __future__ import annotations

from typing import IO

import pyoxigraph as ox

from skategraph.errors import QueryError

RESULTS_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}

RESULTS_MEDIA_TYPES: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}

RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


# The RDF syntaxes whose output uses prefix declarations; the others ignore them.
_PREFIXED = (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML)


def prefixes_for(rdf_format: ox.RdfFormat, prefixes: dict[str, str] | None) -> dict[str, str] | None:
    """The prefixes to hand pyoxigraph when writing `rdf_format`: one rule for every writer."""
    return prefixes if rdf_format in _PREFIXED else None


def write_result(
    result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples,
    output: IO[bytes],
    name: str,
    prefixes: dict[str, str] | None = None,
) -> None:
    """Serialise a query result as the format `name`, streaming; refuse a format that does not fit."""
    if isinstance(result, ox.QueryTriples):
        if name not in RDF_FORMATS:
            raise QueryError(
                f"{name} is for SELECT and ASK results; a CONSTRUCT or DESCRIBE query can be written as "
                + ", ".join(RDF_FORMATS)
            )
        rdf_format = RDF_FORMATS[name]
        ox.serialize(result, output, rdf_format, prefixes=prefixes_for(rdf_format, prefixes))
        return
    if name not in RESULTS_FORMATS:
        raise QueryError(
            f"{name} is for CONSTRUCT and DESCRIBE results; a SELECT or ASK query can be written as "
            + ", ".join(RESULTS_FORMATS)
        )
    result.serialize(output, RESULTS_FORMATS[name])
