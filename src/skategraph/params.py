"""Parameter types of saved queries, and turning what people type into the terms a query is bound with.

A value from a URL or a command line is text. `bind` turns each into the RDF term its `?_name`
variable is substituted with (pyoxigraph's `substitutions=`; nothing is pasted into query text), or
raises `BadParameter` naming the parameter and what it accepts. The domain types accept what people
actually type (a skater by IRI, slug or any spelling, folded for case and accents) and are resolved
against `Lookups`, which are read from the store with `LOOKUP_QUERY`: the web shell runs that in its
worker pool, the CLI in-process, and both resolve through the same code here.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox

from skategraph.errors import QueryError, SkategraphError
from skategraph.ids import absolute_iri, slug

if TYPE_CHECKING:
    from skategraph.catalogue import Catalogue, Param, SavedQuery
    from skategraph.store import GraphStore

XSD = "http://www.w3.org/2001/XMLSchema#"
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
    "category": "men or women",
    "distance": "a distance in metres (500, 1000, 1500, 3000) or relay",
}
# Domain types name things in the store: they are resolved to IRIs (distance to its key).
DOMAIN = ("skater", "nation", "venue", "season", "category", "distance")
# The domain types whose allowed values are few enough to list (a catalogue, a dropdown).
LISTED = ("nation", "venue", "season", "category", "distance")

# One query reads everything the domain types resolve against.
LOOKUP_QUERY = """
SELECT ?kind ?iri ?key ?name ?alt WHERE {
  { ?iri a sg:Skater . { ?iri rdfs:label ?name } UNION { ?iri skos:altLabel ?name BIND(true AS ?alt) }
    BIND("skater" AS ?kind) }
  UNION { ?iri a sg:Venue . { ?iri rdfs:label ?name } UNION { ?iri skos:altLabel ?name BIND(true AS ?alt) }
    BIND("venue" AS ?kind) }
  UNION { ?iri a sg:Nation ; skos:notation ?key ; rdfs:label ?name . BIND("nation" AS ?kind) }
  UNION { ?iri a sg:Season ; rdfs:label ?name . BIND("season" AS ?kind) }
  UNION { ?iri a sg:Category ; rdfs:label ?name . BIND("category" AS ?kind) }
  UNION { SELECT DISTINCT ?key ?kind WHERE {
    ?race a sg:Race ; sg:distance ?d . FILTER NOT EXISTS { ?race a sg:RelayRace }
    BIND(STR(?d) AS ?key) BIND("distance" AS ?kind) } }
}
"""


class BadParameter(QueryError):
    """A saved query was given a parameter value it cannot use, or not given one it needs."""

    status = 400


@dataclass
class _Thing:
    iri: str
    label: str
    key: str  # an IOC code, a season key, a category or distance, a slug


@dataclass
class Lookups:
    """The names the domain types resolve against, for one version of the store."""

    things: dict[str, dict[str, _Thing]] = field(default_factory=dict)  # kind -> IRI -> thing
    index: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # kind -> folded name -> IRIs
    computed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # values_from query -> its ?value values

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]], computed: Mapping[str, tuple[str, ...]] = {}) -> Lookups:
        """From LOOKUP_QUERY's solutions, each a mapping of variable name to the term's value."""
        lookups = cls(computed=dict(computed))
        for row in rows:
            kind = row["kind"]
            if kind == "distance":
                lookups._add("distance", row["key"], row["key"], row["key"], [row["key"]])
                continue
            iri, name = row["iri"], row["name"]
            last = iri.rstrip("/").rsplit("/", 1)[-1]
            key = {"nation": row.get("key", last), "category": slug(name)}.get(kind, last)
            spellings = [name, last, *([row["key"]] if row.get("key") else [])]
            lookups._add(kind, iri, "" if row.get("alt") else name, key, spellings)
        if "distance" in lookups.things:
            lookups._add("distance", "relay", "relay", "relay", ["relay"])
        return lookups

    def _add(self, kind: str, iri: str, label: str, key: str, spellings: list[str]) -> None:
        things = self.things.setdefault(kind, {})
        thing = things.setdefault(iri, _Thing(iri, label, key))
        if label and not thing.label:
            thing.label = label
        index = self.index.setdefault(kind, {})
        for spelling in (iri, *spellings):
            index.setdefault(_folded(spelling), set()).add(iri)

    def allowed(self, kind: str) -> list[str]:
        """The values to offer for a listed domain type, in a sensible order."""
        # Venues are offered by name (Salt Lake City), the rest by key (CAN, 2002-03, men, 500).
        keys = [thing.label if kind == "venue" else thing.key for thing in self.things.get(kind, {}).values()]
        if kind == "distance":
            return sorted((k for k in keys if k != "relay"), key=int) + (["relay"] if "relay" in keys else [])
        return sorted(keys)

    def values_for(self, param: Param) -> list[str]:
        """The values the store knows for a parameter: its values_from answers, or a listed type's values."""
        if param.values_from is not None:
            return list(self.computed.get(param.values_from, ()))
        return self.allowed(param.type) if param.type in LISTED else []

    def resolve(self, param: Param, value: str) -> str:
        """The IRI (or distance key) `value` names, or BadParameter with the nearest names."""
        found = self.index.get(param.type, {}).get(_folded(value), set())
        if len(found) == 1:
            return next(iter(found))
        things = self.things.get(param.type, {})
        if len(found) > 1:
            names = " or ".join(sorted(things[iri].label or iri for iri in found))
            raise BadParameter(f"parameter {param.name}: {value!r} could be {names}; give the IRI or a slug")
        labels = {thing.label or thing.key: thing for thing in things.values()}
        close = difflib.get_close_matches(value, list(labels), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise BadParameter(
            f"parameter {param.name}: no {param.type} is known as {value!r}{hint} (accepts {TYPES[param.type]})"
        )


def _folded(text: str) -> str:
    """The key two spellings share if they differ only in case, accents, spaces or hyphens."""
    if absolute_iri(text) is not None:
        return text  # an IRI is compared exactly
    try:
        return slug(text)
    except SkategraphError:  # text with no letters or digits at all
        return text


@dataclass(frozen=True)
class Binding:
    """What a saved query runs with: its variables' values, and the parameter columns to leave out."""

    substitutions: dict[str, Term]  # variable name without '?' -> value
    hidden: tuple[str, ...]  # parameter variables: pyoxigraph needs them projected, users do not

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The substitutions as (name, N-Triples term): picklable, for a worker process."""
        return tuple((name, str(term)) for name, term in self.substitutions.items())

    def terms(self) -> dict[ox.Variable, ox.NamedNode | ox.Literal]:
        return {ox.Variable(name): term for name, term in self.substitutions.items()}


def lookup_queries(catalogue: Catalogue) -> list[str]:
    """The SPARQL queries whose answers make the Lookups: LOOKUP_QUERY, then each values_from query."""
    found = [LOOKUP_QUERY]
    for query in catalogue:
        found.extend(p.values_from for p in query.params if p.values_from and p.values_from not in found)
    return found


def lookups_from(answers: Mapping[str, list[dict[str, str]]]) -> Lookups:
    """Lookups from the answers to `lookup_queries`: query text -> rows of variable name -> value."""
    computed = {text: tuple(row["value"] for row in rows if "value" in row) for text, rows in answers.items()}
    return Lookups.from_rows(answers.get(LOOKUP_QUERY, []), computed)


def read_lookups(store: GraphStore, catalogue: Catalogue) -> Lookups:
    """Lookups read from a store in this process (the CLI; the web shell reads them through its workers)."""
    answers = {}
    for text in lookup_queries(catalogue):
        result = store.query(text)
        assert isinstance(result, ox.QuerySolutions), "lookup queries are SELECTs"
        names = [v.value for v in result.variables]
        answers[text] = [{n: t.value for n, t in zip(names, row, strict=True) if t is not None} for row in result]
    return lookups_from(answers)


def bind(query: SavedQuery, given: Iterable[tuple[str, str]], lookups: Callable[[], Lookups]) -> Binding:
    """Check and convert the values `given` for `query`; raise BadParameter on the first wrong one.

    `lookups` is called only when a value needs the store to be understood (a skater's name, say).
    """
    values: dict[str, str] = {}
    for name, text in given:
        param = query.param(name)
        if param is None:
            takes = ", ".join(p.name for p in query.params) or "no parameters"
            raise BadParameter(f"{query.name} has no parameter {name!r}; it takes {takes}")
        if name in values:
            raise BadParameter(f"parameter {name} is given twice; give it once")
        values[name] = text
    substitutions: dict[str, Term] = {}
    for param in query.params:
        value = values.get(param.name)
        if value is not None and not value.strip() and param.type != "string":
            value = None  # an empty form field: as if not given
        if value is None:
            value = param.default
        if value is None:
            if param.required:
                raise BadParameter(f"parameter {param.name} is required: {describe(param)}")
            continue
        needs_store = param.type in DOMAIN or param.values_from is not None
        substitutions[param.variable] = convert(param, value, lookups() if needs_store else None)
    return Binding(substitutions, tuple(p.variable for p in query.params))


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


def convert(param: Param, value: str, lookups: Lookups | None) -> Term:
    """The term for `value`; with no lookups (at load time), domain values are checked for form only."""
    value = value.strip()
    if param.values and value not in param.values:
        raise BadParameter(f"parameter {param.name}: {value!r} is not allowed; use {describe(param)}")
    term = _term(param, value, lookups)
    if param.values_from is not None and lookups is not None:
        allowed = lookups.computed.get(param.values_from, ())
        if term.value not in allowed:
            close = difflib.get_close_matches(value, list(allowed), n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise BadParameter(f"parameter {param.name}: {value!r} is not one of the known values{hint}")
    return term


def _term(param: Param, value: str, lookups: Lookups | None) -> Term:
    kind = param.type
    if kind == "string":
        return ox.Literal(value)
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d{1,18}", value):
            raise BadParameter(f"parameter {param.name}: {value!r} is not {describe(param)}")
        number = int(value)
        if (param.min is not None and number < param.min) or (param.max is not None and number > param.max):
            raise BadParameter(f"parameter {param.name}: {number} is out of range; use {describe(param)}")
        return ox.Literal(str(number), datatype=ox.NamedNode(XSD + "integer"))
    if kind == "date":
        try:
            day = datetime.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            day = None
        if day is None:
            raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['date']}")
        return ox.Literal(day.isoformat(), datatype=ox.NamedNode(XSD + "date"))
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['boolean']}")
        return ox.Literal(value.lower(), datatype=ox.NamedNode(XSD + "boolean"))
    if kind == "iri":
        return _iri(param, value)
    if kind == "category" and _folded(value) not in ("men", "women") and not value.startswith("http"):
        raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['category']}")
    if kind == "distance" and not re.fullmatch(r"\d+|relay", value.lower()):
        raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['distance']}")
    if not value:
        raise BadParameter(f"parameter {param.name}: an empty value is not {TYPES[kind]}")
    if lookups is None:
        return dummy_term(param)
    resolved = lookups.resolve(param, value.lower() if kind == "distance" else value)
    return ox.Literal(resolved) if kind == "distance" else ox.NamedNode(resolved)


def _iri(param: Param, value: str) -> ox.NamedNode:
    node = absolute_iri(value)
    if node is None:
        raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['iri']}")
    return node


def check_default(param: Param, value: str) -> None:
    """Check a default, example or allowed value in a query file, as far as it can be without a store."""
    convert(param, value, None)


def dummy_term(param: Param) -> Term:
    """A value of the parameter's type, for checking a query before any store is at hand."""
    if param.type in ("string", "distance"):
        return ox.Literal("x")
    if param.type in ("integer", "date", "boolean"):
        text = {"integer": "1", "date": "2000-01-01", "boolean": "true"}[param.type]
        return ox.Literal(text, datatype=ox.NamedNode(XSD + param.type))
    return ox.NamedNode("urn:skategraph:parameter")
