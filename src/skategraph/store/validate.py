"""SHACL validation against `ontology/shapes.ttl`, of a store or of an RDF file.

The shapes are checked as SPARQL queries over the whole graph, one per constraint (`store.shapes`),
which Oxigraph answers in time that grows with the data (issue 14). pyshacl, which checked them focus
node by focus node, had made validation nearly all of a build's time; `bench/validate.py` measures it
and rudof against these queries. A file is read as the dataset it holds, and the union of its graphs
is validated.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, Namespace

from skategraph.errors import SkategraphError, ValidationFailed
from skategraph.graph import vocab
from skategraph.store import shapes
from skategraph.store.base import GraphStore

SH = Namespace(vocab.SH)
QueryFunction = Callable[[str], ox.QuerySolutions]
TRUE = ox.Literal(True)
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


def _text(term: object) -> str:
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return str(getattr(term, "value", term))


def check_query(query: QueryFunction) -> list[Violation]:
    """Every SHACL violation in the graph that `query` evaluates SELECT queries on, sorted."""
    subclasses = {}
    for name in sorted(shapes.named_classes()):
        rows = query(f"SELECT DISTINCT ?sub WHERE {{ ?sub <{vocab.RDFS}subClassOf>+ <{name}> }}")
        subclasses[name] = frozenset(str(row["sub"].value) for row in rows)
    violations = set()
    for check in shapes.checks(frozenset(subclasses.items())):
        for row in query(check.query):
            focus, value = _text(row["this"]), row["value"]  # no value where a count is at fault
            shown = None if value is None else _text(value)
            for n, message in enumerate(check.messages):
                if len(check.messages) == 1 or row[f"f{n}"] == TRUE:
                    violations.add(Violation(focus, check.path, message, shown))
    return sorted(violations, key=lambda v: (v.focus, v.path or "", v.message, v.value or ""))


def check_rdf(data: bytes, format: ox.RdfFormat) -> list[Violation]:
    """Every SHACL violation in the union of the graphs in `data`, sorted for stable output."""
    dataset = ox.Store()
    dataset.bulk_load(data, format)

    def query(sparql: str) -> ox.QuerySolutions:
        rows = dataset.query(sparql, use_default_graph_as_union=True)
        assert isinstance(rows, ox.QuerySolutions)
        return rows

    return check_query(query)


def check_graph(data: Graph) -> list[Violation]:
    """Every SHACL violation in `data`, sorted for stable output."""
    return check_rdf(data.serialize(format="nt", encoding="utf-8"), ox.RdfFormat.N_TRIPLES)


def check_store(store: GraphStore) -> list[Violation]:
    """Every violation in the union of the store's graphs.

    The store's quads are copied into an in-memory Oxigraph store to be checked: the queries run there
    in half the time they take on the store on disk (`bench/validate.py`), and a remote store is asked
    once. A dump of the quads costs a quarter of what a CONSTRUCT of the union would (which keeps
    every distinct triple to leave out duplicates).
    """
    quads = io.BytesIO()
    store.dump(quads, ox.RdfFormat.N_QUADS)
    return check_rdf(quads.getvalue(), ox.RdfFormat.N_QUADS)


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
