"""Reconciliation: matching other people's names against our skaters, nations, venues and races.

An index of entities (built from one SPARQL query's rows) and scoring, both pure; the HTTP side (the
W3C Entity Reconciliation Service API, as OpenRefine speaks it) is `skategraph.web.reconcile`. Names
are compared as the linker compares them (`skategraph.linking.names`): case, accents, hyphens and word
order do not matter; otherwise a similarity ratio. Property constraints (nation, category) raise or
lower a candidate's score; a candidate is a `match` only when it is near-certain and clearly ahead.

Scoring is Python over every entity for every name, so a batch runs where it can be stopped: in a
query worker (`reconcile_batch`, a task the engine kills at the request's time limit), never in the
web process. Each name costs time in proportion to its length and to the number of entities, hence
the bounds on a query (`MAX_QUERY_CHARS`, `MAX_VALUES`); the web shell bounds the batch.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from skategraph.linking.names import dbpedia_name, folded, name_key
from skategraph.store.base import GraphStore

# The types a client can reconcile against, and what each is.
TYPES = {
    "skater": "Skater",
    "nation": "Nation",
    "venue": "Venue",
    "race": "Race",
}
PROPERTIES = {
    "nation": "Nation (IOC code or name)",
    "category": "Category (men, women or mixed)",
}
MATCH = 95.0  # at or above, and clearly ahead of the next, a candidate is a match
# A name longer than this is not a name (a cell of text): scoring it costs time in its length.
MAX_QUERY_CHARS = 200
MAX_VALUES = 20  # property values in one query (OpenRefine sends one a property column)

# A skater's names: the label, the spellings the sources use (altLabel), the identity file's names
# (hiddenLabel), and the names of what the links make the same: a Wikidata entity's label and aliases,
# as the linker found them, and a DBpedia resource's name (`Viktor Ahn`).
ENTITIES = """SELECT DISTINCT ?kind ?e ?name ?alt ?linked ?linkedName ?code ?category WHERE {
  { ?e a sg:Skater ; rdfs:label ?name . BIND("skater" AS ?kind) OPTIONAL { ?e skos:altLabel|skos:hiddenLabel ?alt }
    OPTIONAL { ?e owl:sameAs ?linked OPTIONAL { ?linked rdfs:label|skos:altLabel ?linkedName } }
    OPTIONAL { ?e sg:nation/skos:notation ?code }
    OPTIONAL { ?r sg:competitor ?e ; sg:race/sg:category/rdfs:label ?category } }
  UNION { ?e a sg:Nation ; rdfs:label ?name ; skos:notation ?code . BIND("nation" AS ?kind) }
  UNION { ?e a sg:Venue ; rdfs:label ?name . BIND("venue" AS ?kind) OPTIONAL { ?e sg:nation/skos:notation ?code } }
  UNION { ?e a sg:Race ; rdfs:label ?name ; sg:category/rdfs:label ?category ; sg:venue/sg:nation/skos:notation ?code .
          BIND("race" AS ?kind) }
}"""


@dataclass
class Entity:
    id: str  # the IRI's path under the base: skater/ahn-hyun-soo
    kind: str
    name: str
    names: set[str] = field(default_factory=set)
    nations: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)

    def description(self) -> str:
        parts = [TYPES[self.kind]]
        if self.nations and self.kind != "nation":
            parts.append(", ".join(sorted(self.nations)))
        if self.categories:
            parts.append(", ".join(sorted(self.categories)))
        return " · ".join(parts)


@dataclass
class Index:
    entities: dict[str, Entity] = field(default_factory=dict)
    nation_names: dict[str, str] = field(default_factory=dict)  # folded name or code -> IOC code

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]], base: str) -> Index:
        index = cls()
        for row in rows:
            key = row["e"][len(base + "id/") :] if row["e"].startswith(base + "id/") else row["e"]
            entity = index.entities.setdefault(key, Entity(key, row["kind"], row["name"], {row["name"]}))
            if row.get("alt"):
                entity.names.add(row["alt"])
            if dbpedia_name(row.get("linked", "")):
                entity.names.add(dbpedia_name(row["linked"]))
            if row.get("linkedName"):
                entity.names.add(row["linkedName"])
            if row.get("code"):
                entity.nations.add(row["code"])
            if row.get("category"):
                entity.categories.add(row["category"])
            if row["kind"] == "nation":
                index.nation_names[folded(row["name"])] = row["code"]
                index.nation_names[folded(row["code"])] = row["code"]
        return index

    def nation_code(self, value: str) -> str:
        return self.nation_names.get(folded(value), value.upper())

    def search(
        self, query: str, kinds: list[str] | None = None, constraints: dict[str, list[str]] | None = None,
        limit: int = 5,
    ) -> list[tuple[Entity, float, bool]]:  # fmt: skip
        """Candidates for `query` (best first): (entity, score 0-100, match)."""
        wanted_key, wanted = name_key(query), folded(query)
        scored = []
        for entity in self.entities.values():
            if kinds and entity.kind not in kinds:
                continue
            exact = any(name_key(name) == wanted_key for name in entity.names)
            score = 100.0 if exact else max(_similarity(wanted, name) for name in entity.names)
            score = (score if query.strip() else 50.0) + self._constraints(entity, constraints or {})
            if score >= 40:
                scored.append((entity, round(min(score, 100.0), 1), exact))
        scored.sort(key=lambda found: (-found[1], found[0].name))
        exact_ones = sum(1 for _e, score, exact in scored if exact and score >= MATCH)
        best = scored[:limit]
        out = []
        for i, (entity, score, exact) in enumerate(best):
            runner_up = best[i + 1][1] if i + 1 < len(best) else 0.0
            # A match: the only exact name (constraints agreeing), or near-certain and clearly ahead.
            sure = (exact and exact_ones == 1 and score >= MATCH) or (score >= MATCH and score - runner_up >= 10)
            out.append((entity, score, i == 0 and sure))
        return out

    def _constraints(self, entity: Entity, constraints: dict[str, list[str]]) -> float:
        bonus = 0.0
        for pid, values in constraints.items():
            if pid == "nation":
                codes = {self.nation_code(v) for v in values}
                bonus += 5.0 if codes & entity.nations else -30.0
            elif pid == "category":
                wanted = {folded(v) for v in values}
                bonus += 5.0 if wanted & {folded(c) for c in entity.categories} else -30.0
        return bonus

    def suggest(self, prefix: str, kinds: list[str] | None = None, limit: int = 10) -> list[Entity]:
        """Entities whose name (or any word of it) starts with `prefix`, for autocomplete."""
        start = folded(prefix)
        found = []
        for entity in self.entities.values():
            if kinds and entity.kind not in kinds:
                continue
            names = [folded(n) for n in entity.names]
            if any(n.startswith(start) or any(w.startswith(start) for w in n.split()) for n in names):
                found.append(entity)
        found.sort(key=lambda e: (not folded(e.name).startswith(start), e.name))
        return found[:limit]


def _similarity(wanted: str, name: str) -> float:
    return 100.0 * difflib.SequenceMatcher(None, wanted, folded(name)).ratio()


@dataclass(frozen=True)
class Query:
    """One query of a batch, as the web shell checked it."""

    text: str
    kinds: tuple[str, ...] | None  # None: any type; (): only types we do not have, so no candidates
    constraints: tuple[tuple[str, tuple[str, ...]], ...] = ()  # property id, values
    limit: int = 5


def reconcile_batch(
    store: GraphStore, memo: dict[str, Any], queries: tuple[tuple[str, Query], ...]
) -> dict[str, list[dict[str, Any]]]:
    """Each query's candidates (the API's result objects, best first), by key: what a query worker
    runs for a batch. The index is built from the store once per generation and kept in `memo`."""
    index = memo.get("reconcile")
    if not isinstance(index, Index):
        solutions = store.query(ENTITIES)
        assert isinstance(solutions, ox.QuerySolutions)
        rows = [{v.value: term.value for v in solutions.variables if (term := row[v]) is not None} for row in solutions]
        index = memo["reconcile"] = Index.from_rows(rows, store.manifest["base"])
    answers = {}
    for key, query in queries:
        kinds = list(query.kinds) if query.kinds else None
        constraints = {pid: list(values) for pid, values in query.constraints}
        found = [] if query.kinds == () else index.search(query.text, kinds, constraints, query.limit)
        answers[key] = [result(entity, score, match) for entity, score, match in found]
    return answers


def result(entity: Entity, score: float, match: bool) -> dict[str, Any]:
    """A candidate as the API's result object."""
    return {
        "id": entity.id,
        "name": entity.name,
        "description": entity.description(),
        "score": score,
        "match": match,
        "type": [{"id": entity.kind, "name": TYPES[entity.kind]}],
    }
