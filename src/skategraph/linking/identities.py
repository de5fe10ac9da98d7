"""Probable same-person pairs among a graph's skaters, with the evidence, for a person to confirm.

A pair is proposed only on evidence a person can check, and never on a name alone:
- the same nation and the same category of races, and names equal once case, accents, hyphens and
  word order are folded (`Sándor Liu Shaolin`, `Shaolin Sándor Liu`) or given names are joined
  (`Cheng Xiao Lei`, `Cheng Xiaolei`), or one name is the other with a middle name (`Apolo Ohno`,
  `Apolo Anton Ohno`);
- or both linked to one Wikidata entity.
Names that carry different disambiguators (`Yang Yang (A)`, `Yang Yang (S)`) are never a pair. A
confirmed pair goes into `data/identities.tsv`, which the next build reads.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pyoxigraph as ox

from skategraph.linking.names import folded, name_key, squashed
from skategraph.store.base import GraphStore

# DISTINCT: a row per result instead would pass a remote store's row cap (issue 15).
SKATERS = """SELECT DISTINCT ?skater ?name ?code ?category ?same WHERE {
  ?skater a sg:Skater ; sg:nation/skos:notation ?code .
  { ?skater rdfs:label ?name } UNION { ?skater skos:altLabel ?name }
  OPTIONAL { ?r sg:competitor ?skater ; sg:race/sg:category/rdfs:label ?category }
  OPTIONAL { ?skater owl:sameAs ?same FILTER(STRSTARTS(STR(?same), "http://www.wikidata.org/entity/")) }
}"""
_DISAMBIGUATOR = re.compile(r"\(([^)]*)\)\s*$")


@dataclass
class _Skater:
    iri: str
    names: set[str]
    nations: set[str]
    categories: set[str]
    wikidata: set[str]


@dataclass(frozen=True)
class Pair:
    first: str  # skater IRI
    second: str
    first_name: str
    second_name: str
    evidence: str


def _skaters(store: GraphStore) -> list[_Skater]:
    result = store.query(SKATERS)
    assert isinstance(result, ox.QuerySolutions)
    found: dict[str, _Skater] = {}
    for row in result:
        iri = row["skater"].value
        skater = found.setdefault(iri, _Skater(iri, set(), set(), set(), set()))
        skater.names.add(row["name"].value)
        skater.nations.add(row["code"].value)
        if row["category"] is not None:
            skater.categories.add(row["category"].value)
        if row["same"] is not None:
            skater.wikidata.add(row["same"].value)
    return sorted(found.values(), key=lambda s: s.iri)


def _disambiguator(name: str) -> str:
    found = _DISAMBIGUATOR.search(name)
    return found.group(1) if found else ""


def _names_meet(a: str, b: str) -> str | None:
    """What makes two spellings look like one name, or None."""
    if _disambiguator(a) != _disambiguator(b):
        return None
    if name_key(a) == name_key(b):
        return "the same name once case, accents, hyphens and word order are folded"
    if squashed(a) & squashed(b):
        return "the same name with the given names joined"
    words_a, words_b = set(folded(a).split()), set(folded(b).split())
    shorter, longer = sorted((words_a, words_b), key=len)
    if len(shorter) >= 2 and shorter < longer:
        return "one name is the other with a middle name"
    return None


def find_pairs(store: GraphStore) -> list[Pair]:
    pairs = []
    for a, b in itertools.combinations(_skaters(store), 2):
        shared = a.wikidata & b.wikidata
        if shared:
            pairs.append(Pair(a.iri, b.iri, min(a.names), min(b.names), f"both linked to {min(shared)}"))
            continue
        if not a.nations & b.nations or (a.categories and b.categories and not a.categories & b.categories):
            continue
        for name_a, name_b in itertools.product(sorted(a.names), sorted(b.names)):
            why = _names_meet(name_a, name_b)
            if why:
                nation = ", ".join(sorted(a.nations & b.nations))
                pairs.append(Pair(a.iri, b.iri, name_a, name_b, f"{nation}; {why}"))
                break
    return pairs
