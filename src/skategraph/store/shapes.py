"""The SHACL shapes of `ontology/shapes.ttl` as SPARQL queries, each over the whole graph at once.

Each shape with a target becomes a few SELECTs (its counts, its values' constraints, the node's own,
each SPARQL constraint) that return every focus node violating one of them, with the constraint and
the offending value, so validating is a few dozen queries that Oxigraph answers over the whole graph,
in time linear in the data. SHACL engines instead check focus node by focus node: pyshacl ran the
SPARQL constraints once per focus node, and took most of a build's time (issue 14).

Only the part of SHACL the shapes use is compiled: targets by class, property shapes with a predicate
or inverse path, `sh:minCount`/`sh:maxCount`, `sh:datatype`, `sh:class`, `sh:nodeKind`, `sh:in`,
`sh:pattern`, `sh:min/maxInclusive/Exclusive`, `sh:node`, `sh:or`, `sh:and`, `sh:message` and
SELECT-based `sh:sparql` constraints. Anything else in a shape is an error here, never a constraint
silently skipped. `tests/test_validate.py` checks every kind of violation on damaged graphs, and
`bench/validate.py` checks that pyshacl and rudof agree with these queries.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from skategraph import resources
from skategraph.errors import SkategraphError
from skategraph.graph import vocab

SH = Namespace(vocab.SH)
NODE_KINDS = {
    SH.IRI: "isIRI({x})",
    SH.BlankNode: "isBlank({x})",
    SH.Literal: "isLiteral({x})",
    SH.BlankNodeOrIRI: "(isBlank({x}) || isIRI({x}))",
    SH.BlankNodeOrLiteral: "(isBlank({x}) || isLiteral({x}))",
    SH.IRIOrLiteral: "(isIRI({x}) || isLiteral({x}))",
}
COMPARISONS = {SH.minInclusive: ">=", SH.minExclusive: ">", SH.maxInclusive: "<=", SH.maxExclusive: "<"}
# What each kind of shape may say; anything else is refused (see the module docstring).
VALUE_KEYS = {SH.datatype, SH["class"], SH.nodeKind, SH["in"], SH.pattern, SH.flags, SH.node, SH["or"], SH["and"],
              *COMPARISONS}  # fmt: skip
NODE_SHAPE_KEYS = {RDF.type, RDFS.label, RDFS.comment, SH.targetClass, SH.property, SH.sparql, SH.message, *VALUE_KEYS}
PROPERTY_KEYS = {
    RDF.type,
    RDFS.label,
    RDFS.comment,
    SH.path,
    SH.minCount,
    SH.maxCount,
    SH.message,
    SH.name,
    *VALUE_KEYS,
}
SHORT = {vocab.SH: "sh:", vocab.XSD: "xsd:", vocab.SG: "sg:"}
# The XSD datatypes whose cast function tells a well-formed literal.
CASTABLE = {vocab.XSD + name for name in ("string", "boolean", "integer", "decimal", "float", "double", "date",
                                          "time", "dateTime")}  # fmt: skip
# A SPARQL constraint runs once over the whole graph and is joined with the targets, which is what
# binding $this before running it gives only for a plain pattern with filters: nothing that sees $this
# unbound differently (a negation, an optional part, a group, a subquery) is compiled.
NOT_PLAIN = re.compile(r"\b(OPTIONAL|MINUS|EXISTS|GROUP|HAVING|VALUES|SERVICE|BIND|UNION)\b|\bSELECT\b.*\bSELECT\b",
                       re.IGNORECASE | re.DOTALL)  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One query selecting `?this` (and `?value` where a value is at fault) for each row in fault. With
    several messages, one constraint each, the query also selects `?f0`, `?f1`, ...: true for each
    constraint the row violates (one scan checks them all)."""

    query: str
    path: str | None
    messages: tuple[str, ...]


def _merged(pattern: str, failing: list[tuple[str, str]], path: str | None, own: Node | None) -> Iterator[Check]:
    """The check whose rows are the matches of `pattern` that fail one of `failing` (SPARQL expressions
    true for a violation, each with its message); the shape's own message replaces every one."""
    if not failing:
        return
    flags = "".join(f" BIND ({test} AS ?f{n})" for n, (test, _message) in enumerate(failing))
    selected = " ".join(f"?f{n}" for n in range(len(failing)))
    fault = " || ".join(f"?f{n}" for n in range(len(failing)))
    query = f"SELECT DISTINCT ?this ?value {selected} WHERE {{ {pattern}{flags} FILTER ({fault}) }}"
    yield Check(query, path, tuple(str(own) if own else message for _test, message in failing))


def shapes_path() -> Path:
    return resources.bundled("ontology") / "shapes.ttl"


@functools.cache
def checks(classes: frozenset[tuple[str, frozenset[str]]]) -> tuple[Check, ...]:
    """The checks of the bundled shapes, given each class the shapes name with its subclasses in the data
    (`sh:targetClass` and `sh:class` take in the instances of subclasses)."""
    return tuple(compile_shapes(Graph().parse(shapes_path(), format="turtle"), dict(classes)))


def compile_shapes(shapes: Graph, subclasses: Mapping[str, frozenset[str]]) -> list[Check]:
    """The checks of the shapes graph `shapes`; a part of SHACL not compiled here is an error."""
    return list(_Compiler(shapes, subclasses).top_level())


@functools.cache
def named_classes() -> frozenset[str]:
    """Every class the shapes target or require, to find its subclasses in the data."""
    shapes = Graph().parse(shapes_path(), format="turtle")
    return frozenset(str(c) for p in (SH.targetClass, SH["class"]) for c in shapes.objects(None, p))


def _short(node: Node) -> str:
    text = str(node)
    for namespace, prefix in SHORT.items():
        if text.startswith(namespace):
            return prefix + text[len(namespace) :]
    return text


class _Compiler:
    def __init__(self, shapes: Graph, subclasses: Mapping[str, frozenset[str]]) -> None:
        self.shapes = shapes
        self.subclasses = subclasses
        self.names = (f"?v{n}" for n in itertools.count())

    def one(self, node: Node, key: URIRef) -> Node | None:
        values = list(self.shapes.objects(node, key))
        if len(values) > 1:
            raise SkategraphError(f"{node} has {len(values)} values of {key}: one is compiled")
        return values[0] if values else None

    def refuse_unknown(self, shape: Node, allowed: set[URIRef]) -> None:
        for key in set(self.shapes.predicates(shape)):
            if key not in allowed:
                raise SkategraphError(f"{shape} uses {key}, which skategraph's SHACL queries do not compile")

    def classes(self, node: Node) -> str:
        """The class `node` and its subclasses, as a VALUES block's terms."""
        return " ".join(f"<{c}>" for c in sorted(self.subclasses.get(str(node), frozenset()) | {str(node)}))

    def path(self, shape: Node) -> tuple[str, str]:
        """The SPARQL path of a property shape, and how a violation names it."""
        path = self.one(shape, SH.path)
        if isinstance(path, URIRef):
            return f"<{path}>", str(path)
        inverse = self.one(path, SH.inversePath) if isinstance(path, BNode) else None
        if isinstance(inverse, URIRef) and set(self.shapes.predicates(path)) == {SH.inversePath}:
            return f"^<{inverse}>", f"^{inverse}"
        raise SkategraphError(f"{shape}: only a predicate or an inverse predicate is compiled as sh:path")

    def top_level(self) -> Iterator[Check]:
        for kind in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target):
            for shape in self.shapes.subjects(kind, None):
                raise SkategraphError(f"{shape}: only sh:targetClass is compiled as a target, not {kind}")
        prefixes = "".join(
            f"PREFIX {self.one(d, SH.prefix)}: <{self.one(d, SH.namespace)}> "
            for d in self.shapes.objects(None, SH.declare)
        )
        for shape in sorted(set(self.shapes.subjects(SH.targetClass, None)), key=str):
            self.refuse_unknown(shape, NODE_SHAPE_KEYS)
            targets = " ".join(self.classes(c) for c in self.shapes.objects(shape, SH.targetClass))
            target = f"VALUES ?class {{ {targets} }} ?this a ?class ."
            own = self.one(shape, SH.message)
            failing = [(f"!({test})", message) for _key, test, message in self.value_tests(shape, "?this")]
            yield from _merged(f"{target} BIND (?this AS ?value)", failing, None, own)
            for constraint in self.shapes.objects(shape, SH.sparql):
                select = self.one(constraint, SH.select)
                self.refuse_unknown(constraint, {SH.message, SH.prefixes, SH.select})
                if NOT_PLAIN.search(str(select)):
                    raise SkategraphError(f"{shape}: a SPARQL constraint beyond a pattern with filters is not compiled")
                body = str(select).replace("$this", "?this")
                query = f"{prefixes}SELECT DISTINCT ?this ?value WHERE {{ {target} {{ {body} }} }}"
                yield Check(query, None, (str(self.one(constraint, SH.message) or own or "SPARQL constraint"),))
            for prop in self.shapes.objects(shape, SH.property):
                yield from self.property_checks(prop, target)

    def property_checks(self, prop: Node, target: str) -> Iterator[Check]:
        self.refuse_unknown(prop, PROPERTY_KEYS)
        path, shown = self.path(prop)
        own = self.one(prop, SH.message)
        counts = []
        for key, operator, word in ((SH.minCount, "<", "Less"), (SH.maxCount, ">", "More")):
            bound = self.one(prop, key)
            if bound is not None:
                n = int(bound)  # type: ignore[call-overload]
                counts.append((f"?count {operator} {n}", f"{word} than {n} values"))
        counted = (
            f"{{ SELECT ?this (COUNT(DISTINCT ?v) AS ?count) WHERE {{ {target} OPTIONAL {{ ?this {path} ?v }} }}"
            " GROUP BY ?this }"
        )
        yield from _merged(counted, counts, shown, own)
        failing = [(f"!({test})", message) for _key, test, message in self.value_tests(prop, "?value")]
        yield from _merged(f"{target} ?this {path} ?value .", failing, shown, own)

    def value_tests(self, shape: Node, x: str) -> Iterator[tuple[URIRef, str, str]]:
        """(constraint, SPARQL expression true when `x` conforms, message) for each value constraint."""
        datatype = self.one(shape, SH.datatype)
        if datatype is not None:
            # An ill-formed literal ("one"^^xsd:integer) has the datatype but is not in it: the cast fails.
            formed = f" && isLiteral(<{datatype}>({x}))" if str(datatype) in CASTABLE else ""
            test = f"COALESCE(isLiteral({x}) && datatype({x}) = <{datatype}>{formed}, false)"
            yield SH.datatype, test, f"Value is not Literal with datatype {_short(datatype)}"
        for cls in self.shapes.objects(shape, SH["class"]):
            var = next(self.names)
            yield (
                SH["class"],
                f"EXISTS {{ VALUES {var} {{ {self.classes(cls)} }} {x} a {var} }}",
                (f"Value does not have class {_short(cls)}"),
            )
        kind = self.one(shape, SH.nodeKind)
        if kind is not None:
            if not isinstance(kind, URIRef) or kind not in NODE_KINDS:
                raise SkategraphError(f"{shape}: unknown sh:nodeKind {kind}")
            yield SH.nodeKind, NODE_KINDS[kind].format(x=x), f"Value is not of Node Kind {_short(kind)}"
        members = self.one(shape, SH["in"])
        if members is not None:
            terms = list(Collection(self.shapes, members))
            test = " || ".join(f"sameTerm({x}, {term.n3()})" for term in terms)
            shown = ", ".join(_short(term) for term in terms)
            yield SH["in"], f"({test or 'false'})", f"Value not in list [{shown}]"
        pattern = self.one(shape, SH.pattern)
        if pattern is not None:
            flags = self.one(shape, SH.flags)
            regex = f"REGEX(STR({x}), {Literal(str(pattern)).n3()}, {Literal(str(flags or '')).n3()})"
            yield SH.pattern, f"COALESCE(!isBlank({x}) && {regex}, false)", f"Value does not match pattern '{pattern}'"
        for key, operator in COMPARISONS.items():
            bound = self.one(shape, key)
            if bound is not None:
                assert isinstance(bound, Literal)
                yield key, f"COALESCE({x} {operator} {bound.n3()}, false)", f"Value is not {operator} {bound}"
        node = self.one(shape, SH.node)
        if node is not None:
            yield SH.node, self.conforms(node, x), f"Value does not conform to Shape {_short(node)}"
        for key, joiner, word in ((SH["or"], " || ", "any"), (SH["and"], " && ", "every")):
            members = self.one(shape, key)
            if members is not None:
                tests = [self.conforms(member, x) for member in Collection(self.shapes, members)]
                yield (
                    key,
                    f"({joiner.join(tests) or 'true'})",
                    f"Value does not conform to {word} shape in {_short(key)}",
                )

    def conforms(self, shape: Node, x: str) -> str:
        """A SPARQL expression true when `x` conforms to `shape` (a node or property shape), nested."""
        if (shape, SH.path, None) in self.shapes:
            return self.property_conforms(shape, x)
        self.refuse_unknown(shape, NODE_SHAPE_KEYS - {SH.targetClass, SH.sparql})
        tests = [test for _key, test, _message in self.value_tests(shape, x)]
        tests += [self.property_conforms(prop, x) for prop in self.shapes.objects(shape, SH.property)]
        return f"({' && '.join(tests) or 'true'})"

    def property_conforms(self, prop: Node, x: str) -> str:
        self.refuse_unknown(prop, PROPERTY_KEYS)
        path, _shown = self.path(prop)
        tests = []
        low, high = self.one(prop, SH.minCount), self.one(prop, SH.maxCount)
        if low is not None and int(low) > 0:  # type: ignore[call-overload]
            if int(low) != 1:  # type: ignore[call-overload]
                raise SkategraphError(f"{prop}: a nested sh:minCount other than 1 is not compiled")
            tests.append(f"EXISTS {{ {x} {path} {next(self.names)} }}")
        if high is not None:
            if int(high) != 1:  # type: ignore[call-overload]
                raise SkategraphError(f"{prop}: a nested sh:maxCount other than 1 is not compiled")
            a, b = next(self.names), next(self.names)
            tests.append(f"NOT EXISTS {{ {x} {path} {a}, {b} . FILTER (!sameTerm({a}, {b})) }}")
        value = next(self.names)
        each = [test for _key, test, _message in self.value_tests(prop, value)]
        if each:
            tests.append(f"NOT EXISTS {{ {x} {path} {value} . FILTER (!({' && '.join(each)})) }}")
        return f"({' && '.join(tests) or 'true'})"
