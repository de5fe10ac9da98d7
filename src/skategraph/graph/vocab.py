"""The vocabularies skategraph writes and reads, each namespace written out once.

`PREFIXES` are the prefixes every query may use without declaring them (the CLI, the endpoint, saved
queries) and the ones RDF output is written with. Other modules name terms through these constants,
never by spelling an IRI again.
"""

from __future__ import annotations

import functools

from pyoxigraph import NamedNode

SG = "https://w3id.org/skategraph/ontology#"
ONTOLOGY_IRI = "https://w3id.org/skategraph/ontology"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
CC = "http://creativecommons.org/ns#"
VOID = "http://rdfs.org/ns/void#"
FOAF = "http://xmlns.com/foaf/0.1/"
SD = "http://www.w3.org/ns/sparql-service-description#"
SH = "http://www.w3.org/ns/shacl#"
FORMATS = "http://www.w3.org/ns/formats/"

RDF_TYPE = NamedNode(RDF + "type")
RDFS_LABEL = NamedNode(RDFS + "label")
CC_BY_SA = NamedNode("https://creativecommons.org/licenses/by-sa/4.0/")

PREFIXES = {
    "sg": SG,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "skos": SKOS,
    "prov": PROV,
    "dcterms": DCT,
    "cc": CC,
}


@functools.lru_cache(maxsize=1024)
def sg(term: str) -> NamedNode:
    """A term of the skategraph ontology: `sg("Skater")` (one node per term: a build makes a million
    quads from a few dozen terms)."""
    return NamedNode(SG + term)


@functools.lru_cache(maxsize=64)
def xsd(datatype: str) -> NamedNode:
    """An XML Schema datatype: `xsd("integer")`."""
    return NamedNode(XSD + datatype)


def sparql_prologue(*names: str) -> str:
    """`PREFIX` lines for the named prefixes, for query text that must stand alone."""
    return "".join(f"PREFIX {name}: <{PREFIXES[name]}> " for name in names)
