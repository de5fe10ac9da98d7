"""SHACL validation with pyshacl, against `ontology/shapes.ttl`: of a store, or of an RDF file.

Works on any `GraphStore`: the union of its graphs is fetched with one CONSTRUCT query. A file is
read as the dataset it holds, and the union of its graphs is validated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pyshacl
from rdflib import Dataset, Graph, Namespace, URIRef
from rdflib.term import Node

from skategraph import resources
from skategraph.errors import SkategraphError, ValidationFailed
from skategraph.graph import vocab
from skategraph.store.base import GraphStore

SH = Namespace(vocab.SH)
# File suffixes and the rdflib parser of each.
FILE_FORMATS = {"ttl": "turtle", "nt": "nt", "nq": "nquads", "trig": "trig", "jsonld": "json-ld", "rdf": "xml"}


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str | None
    message: str
    value: str | None

    def line(self) -> str:
        where = f" {self.path}" if self.path else ""
        value = f" (value: {self.value})" if self.value else ""
        return f"{self.focus}{where}: {self.message}{value}"


def union_graph(store: GraphStore) -> Graph:
    triples = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
    assert isinstance(triples, ox.QueryTriples)
    buffer = io.BytesIO()
    triples.serialize(buffer, ox.RdfFormat.N_TRIPLES)
    graph = Graph()
    graph.parse(data=buffer.getvalue(), format="nt")
    return graph


def shapes_graph() -> Graph:
    return Graph().parse(resources.bundled("ontology") / "shapes.ttl", format="turtle")


def check_graph(data: Graph) -> list[Violation]:
    """Every SHACL violation in `data`, sorted for stable output."""
    conforms, results, _text = pyshacl.validate(data, shacl_graph=shapes_graph(), inference="none")
    if conforms:
        return []
    assert isinstance(results, Graph)

    def text(node: Node | None) -> str | None:
        return None if node is None else str(node)

    violations = [
        Violation(
            focus=str(results.value(result, SH.focusNode)),
            path=text(results.value(result, SH.resultPath)),
            message=str(results.value(result, SH.resultMessage) or "does not conform"),
            value=text(results.value(result, SH.value)),
        )
        for result in results.subjects(SH.resultSeverity, URIRef(SH.Violation))
    ]
    return sorted(violations, key=lambda v: (v.focus, v.path or "", v.message))


def check_store(store: GraphStore) -> list[Violation]:
    return check_graph(union_graph(store))


def check_file(path: Path) -> list[Violation]:
    """Every violation in the RDF file at `path`, its syntax told by its suffix."""
    return check_graph(_file_graph(path))


def _file_graph(path: Path) -> Graph:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FILE_FORMATS:
        raise SkategraphError(f"cannot tell the RDF format of {path.name}: use one of .{', .'.join(FILE_FORMATS)}")
    dataset = Dataset()
    try:
        dataset.parse(data=path.read_bytes(), format=FILE_FORMATS[suffix])
    except Exception as error:  # rdflib raises many parser-specific types
        raise SkategraphError(f"{path} does not parse as {FILE_FORMATS[suffix]}: {error}") from None
    graph = Graph()
    for s, p, o, _g in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph


def require_valid(store: GraphStore) -> None:
    """Raise `ValidationFailed` listing the first violations, for a build that must not swap in."""
    violations = check_store(store)
    if violations:
        shown = "\n  ".join(v.line() for v in violations[:10])
        more = f"\n  ... and {len(violations) - 10} more" if len(violations) > 10 else ""
        raise ValidationFailed(
            f"the graph does not conform to the shapes ({len(violations)} violations):\n  {shown}{more}"
        )
