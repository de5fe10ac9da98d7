"""Data extension: the values of a few properties for entities a client has reconciled (issue 13).

The Reconciliation API's `extend` (version 0.2, as OpenRefine's "Add columns from reconciled values"
asks it): for each id, each asked property's values. What each type offers is `EXTENSIONS`; values
are the API's value objects: an entity of ours (`{"id": "nation/KOR", "name": "South Korea"}`, which
a client can treat as reconciled), a count (`{"int": 9}`) or an IRI elsewhere (`{"str": ...}`).

The facts come from two queries over the store, made once per generation and kept in the worker's
memo; a batch runs as a task in a query worker (`extend_batch`), killed at the request's time limit
like a reconciliation batch. The web shell checks and bounds the batch.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from skategraph.store.base import GraphStore

# Property id -> (name, the type of entity its values are, or "" for literal values).
PROPERTIES: dict[str, tuple[str, str]] = {
    "nation": ("Nation", "nation"),
    "podiums": ("Podium places", ""),
    "wikidata": ("Wikidata IRI", ""),
    "dbpedia": ("DBpedia IRI", ""),
}
# What each type offers, in the order a client lists them.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "skater": ("nation", "podiums", "wikidata", "dbpedia"),
    "nation": ("podiums", "wikidata"),
    "venue": ("nation", "wikidata", "dbpedia"),
}
DESCRIPTIONS = {
    "podiums": "individual podium places of a skater; a nation's podium places, relays included",
}

FACTS = """SELECT ?e ?prop ?value ?label WHERE {
  { ?e a ?class ; sg:nation ?value . ?value rdfs:label ?label . BIND("nation" AS ?prop)
    VALUES ?class { sg:Skater sg:Venue } }
  UNION { ?e a ?class ; owl:sameAs ?value . BIND("wikidata" AS ?prop)
          VALUES ?class { sg:Skater sg:Venue sg:Nation }
          FILTER(STRSTARTS(STR(?value), "http://www.wikidata.org/entity/")) }
  UNION { ?e a ?class ; owl:sameAs ?value . BIND("dbpedia" AS ?prop) VALUES ?class { sg:Skater sg:Venue }
          FILTER(STRSTARTS(STR(?value), "http://dbpedia.org/resource/")) }
}"""
PODIUMS = """SELECT ?e (COUNT(DISTINCT ?r) AS ?n) WHERE {
  { ?e a sg:Skater . OPTIONAL { ?r a sg:Result ; sg:competitor ?e } }
  UNION { ?e a sg:Nation . OPTIONAL { ?r a sg:Result ; sg:nation ?e } }
} GROUP BY ?e"""

Values = dict[str, dict[str, list[dict[str, Any]]]]  # id -> property -> value objects


def meta(properties: tuple[str, ...]) -> list[dict[str, Any]]:
    """The answer's `meta`: each asked property's id, name, and the type of its entity values."""
    out = []
    for pid in properties:
        name, kind = PROPERTIES[pid]
        entry: dict[str, Any] = {"id": pid, "name": name}
        if kind:
            entry["type"] = {"id": kind, "name": kind.capitalize()}
        out.append(entry)
    return out


def _facts(store: GraphStore) -> Values:
    base = store.manifest["base"] + "id/"

    def local(iri: str) -> str:
        return iri[len(base) :] if iri.startswith(base) else iri

    found: Values = {}
    solutions = store.query(FACTS)
    assert isinstance(solutions, ox.QuerySolutions)
    for row in solutions:
        entity, prop, value = local(row["e"].value), row["prop"].value, row["value"].value
        item = {"id": local(value), "name": row["label"].value} if prop == "nation" else {"str": value}
        found.setdefault(entity, {}).setdefault(prop, []).append(item)
    counts = store.query(PODIUMS)
    assert isinstance(counts, ox.QuerySolutions)
    for row in counts:
        found.setdefault(local(row["e"].value), {})["podiums"] = [{"int": int(row["n"].value)}]
    for values in found.values():
        for items in values.values():
            items.sort(key=lambda item: str(item.get("id", item.get("str", ""))))
    return found


def extend_batch(store: GraphStore, memo: dict[str, Any], argument: tuple[tuple[str, ...], tuple[str, ...]]) -> Any:
    """The answer to one extend query (ids, property ids, as the web shell checked them): what a
    query worker runs. An id the graph does not hold gets a row with no values."""
    ids, properties = argument
    facts = memo.get("extend")
    if not isinstance(facts, dict):
        facts = memo["extend"] = _facts(store)
    rows = {entity: {pid: facts.get(entity, {}).get(pid, []) for pid in properties} for entity in ids}
    return {"meta": meta(properties), "rows": rows}
