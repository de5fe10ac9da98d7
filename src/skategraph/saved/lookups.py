"""What the domain parameter types resolve against: the names of the store's skaters, nations,
venues, seasons, categories and distances, read by one SPARQL query per store version.

The web shell runs the queries in its worker pool, the CLI in-process (`read_lookups`); both resolve
through the same code here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox

from skategraph.errors import BadParameter
from skategraph.graph.ids import slug
from skategraph.saved.query import Param, SavedQuery
from skategraph.saved.types import LISTED, TYPES, folded
from skategraph.store.base import GraphStore

# One query reads everything the domain types resolve against.
# One query reads everything the domain types resolve against.
LOOKUP_QUERY = """
SELECT ?kind ?iri ?key ?name ?alt WHERE {
  { ?iri a sg:Skater . { ?iri rdfs:label ?name } UNION { ?iri skos:altLabel ?name BIND(true AS ?alt) }
    BIND("skater" AS ?kind) }
  UNION { ?iri a sg:Venue . { ?iri rdfs:label ?name } UNION { ?iri skos:altLabel ?name BIND(true AS ?alt) }
    BIND("venue" AS ?kind) }
  UNION { ?iri a sg:Nation ; skos:notation ?key ; rdfs:label ?name . BIND("nation" AS ?kind) }
  UNION { ?iri a sg:Season ; rdfs:label ?name . BIND("season" AS ?kind) }
  UNION { ?iri a sg:Category ; rdfs:label ?name . FILTER EXISTS { ?race sg:category ?iri } BIND("category" AS ?kind) }
  UNION { SELECT DISTINCT ?key ?kind WHERE {
    ?race a sg:Race ; sg:distance ?d . FILTER NOT EXISTS { ?race a sg:RelayRace }
    BIND(STR(?d) AS ?key) BIND("distance" AS ?kind) } }
}
"""


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
            index.setdefault(folded(spelling), set()).add(iri)

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
        found = self.index.get(param.type, {}).get(folded(value), set())
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


def lookup_queries(queries: Iterable[SavedQuery]) -> list[str]:
    """The SPARQL queries whose answers make the Lookups: LOOKUP_QUERY, then each values_from query."""
    found = [LOOKUP_QUERY]
    for query in queries:
        found.extend(p.values_from for p in query.params if p.values_from and p.values_from not in found)
    return found


def lookups_from(answers: Mapping[str, list[dict[str, str]]]) -> Lookups:
    """Lookups from the answers to `lookup_queries`: query text -> rows of variable name -> value."""
    computed = {text: tuple(row["value"] for row in rows if "value" in row) for text, rows in answers.items()}
    return Lookups.from_rows(answers.get(LOOKUP_QUERY, []), computed)


def read_lookups(store: GraphStore, queries: Iterable[SavedQuery]) -> Lookups:
    """Lookups read from a store in this process (the CLI; the web shell reads them through its workers)."""
    answers = {}
    for text in lookup_queries(queries):
        result = store.query(text)
        assert isinstance(result, ox.QuerySolutions), "lookup queries are SELECTs"
        names = [v.value for v in result.variables]
        answers[text] = [{n: t.value for n, t in zip(names, row, strict=True) if t is not None} for row in result]
    return lookups_from(answers)
