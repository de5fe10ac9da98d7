"""SHACL validation against `ontology/shapes.ttl`, of a store or of an RDF file, with rudof.

rudof (pyrudof) is a SHACL engine in Rust that runs SHACL-SPARQL constraints as well as SHACL Core.
It took the place of pyshacl, which ran each SPARQL constraint once per focus node and made
validation nearly all of a build's time, growing faster than the data (issue 14; `bench/validate.py`
measures both). The union of a store's graphs is handed to it as N-Triples straight from the store,
with no rdflib graph in between. A file is read as the dataset it holds, and the union of its graphs
is validated.

rudof words its own messages for SHACL Core constraints ("MinCount(1) not satisfied") and does not
use a shape's `sh:message`; the shapes that have one are named, so the message is found here by the
shape rudof reports.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pyrudof
from rdflib import Dataset, Graph, Namespace, URIRef

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
    """The union of the store's graphs as an rdflib graph (for tests that damage a copy)."""
    graph = Graph()
    graph.parse(data=_union_ntriples(store), format="nt")
    return graph


def _union_ntriples(store: GraphStore) -> bytes:
    triples = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
    assert isinstance(triples, ox.QueryTriples)
    buffer = io.BytesIO()
    triples.serialize(buffer, ox.RdfFormat.N_TRIPLES)
    return buffer.getvalue()


def _shapes_path() -> Path:
    return Path(resources.bundled("ontology")) / "shapes.ttl"


@functools.cache
def _shape_messages() -> dict[str, str]:
    """The `sh:message` of each named shape."""
    shapes = Graph().parse(_shapes_path(), format="turtle")
    return {
        str(shape): str(message) for shape, message in shapes.subject_objects(SH.message) if isinstance(shape, URIRef)
    }


def _unquoted(text: str) -> str:
    """rudof writes a message that came from a literal as that literal, in quotes."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def check_ntriples(data: bytes) -> list[Violation]:
    """Every SHACL violation in the N-Triples `data`, sorted for stable output."""
    if not data.strip():
        return []  # every shape targets a class: nothing to check
    rudof = pyrudof.Rudof(pyrudof.RudofConfig())
    rudof.read_shacl(str(_shapes_path()), reader_mode=pyrudof.ReaderMode.Strict)
    # Strict: rudof's default (lax) reader would skip a triple it cannot read and validate the rest.
    rudof.read_data(data.decode("utf-8"), pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict)
    report = rudof.validate_shacl()
    if report.conforms:
        return []
    messages = _shape_messages()
    violations = {
        Violation(
            focus=entry.focus_node,
            path=entry.path,
            message=messages.get(entry.source_shape or "") or _unquoted(entry.message or "does not conform"),
            value=entry.value,
        )
        for entry in report.violations
        if entry.severity == "Violation"
    }
    # A set: a SPARQL constraint matched by two results (a, b) and (b, a) is one violation.
    return sorted(violations, key=lambda v: (v.focus, v.path or "", v.message, v.value or ""))


def check_graph(data: Graph) -> list[Violation]:
    """Every SHACL violation in `data`, sorted for stable output."""
    return check_ntriples(data.serialize(format="nt", encoding="utf-8"))


def check_store(store: GraphStore) -> list[Violation]:
    return check_ntriples(_union_ntriples(store))


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
