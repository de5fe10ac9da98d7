"""Saved queries rewritten to grow linearly (issue 14), or bound by a VALUES block in their text rather
than pyoxigraph's `substitutions=` (issue 15), answer exactly as their old text did.

The old text of each is kept here as the reference. Both run through the same binding and evaluation
as `skategraph query` does, on real stores: the seed, the real seasons beside it, and the generated
corpus at a few sizes. For each combination of the parameters' values the store allows (every
category and every season, and each left unset), the rewritten query must give the same columns, the
same rows as a multiset, and the rows in the same order as far as its ORDER BY decides. On the larger
corpus, where the old text takes seconds a run, the combinations are one parameter at a time.

For issue 15 every saved query is compared: its text before (`tests/fixtures/substituted_queries`, with
`FILTER(COALESCE(?x = ?_p, true))`) evaluated by pyoxigraph with `substitutions=`, as skategraph did,
against its text now evaluated as skategraph does now (`FILTER(!BOUND(?_p) || ?x = ?_p)`, the values in a
VALUES block). The values tried are every combination of each parameter unset or set to one of its
values (those the store lists, a sample of its skaters, a few numbers), or a fixed sample of them
where there are more than COMBINATIONS.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from bench.corpus import write_corpus

from skategraph.engine.jobs import evaluate
from skategraph.graph.vocab import PREFIXES
from skategraph.saved.binding import bind
from skategraph.saved.catalogue import load_catalogue
from skategraph.saved.lookups import Lookups, read_lookups
from skategraph.saved.prepare import prepare
from skategraph.saved.query import SavedQuery
from skategraph.store.embedded import EmbeddedStore

from .conftest import ROOT, SEED, build
from .season_facts import SEASONS

CATALOGUE = load_catalogue()

# The text each query had before it was rewritten (the `#+` header is the saved query's own).
REFERENCES = {
    "wins_vs_standings": """
PREFIX sg: <https://w3id.org/skategraph/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

SELECT ?season ?category ?skater ?name ?wins ?overall_rank ?_category ?_season
WHERE {
  {
    SELECT ?season ?cat ?skater (COUNT(?race) AS ?wins)
    WHERE {
      {
        ?result sg:rank 1 ; sg:race ?race ; sg:competitor ?skater .
        ?race sg:season ?season ; sg:category ?cat .
      } UNION {
        ?standing sg:classification ?overall ; sg:competitor ?skater .
        ?overall sg:season ?season ; sg:category ?cat .
        FILTER NOT EXISTS { ?overall sg:distance ?distance }
      }
      ?skater a sg:Skater .
    }
    GROUP BY ?season ?cat ?skater
  }
  OPTIONAL {
    ?place sg:classification ?classification ; sg:competitor ?skater ; sg:rank ?overall_rank .
    ?classification sg:season ?season ; sg:category ?cat .
    FILTER NOT EXISTS { ?classification sg:distance ?any }
  }
  ?skater rdfs:label ?name .
  ?cat rdfs:label ?category .
  FILTER(COALESCE(?cat = ?_category, true))
  FILTER(COALESCE(?season = ?_season, true))
}
ORDER BY ?season ?category DESC(?wins) ?overall_rank ?name
""",
}

# Stores: what they are built from, and whether every combination of values is run on them.
STORES = {
    "seed": (lambda folder: [SEED], True),
    "real-seasons": (lambda folder: [SEED, *sorted(SEASONS.glob("*.txt"))], True),
    "corpus-1": (lambda folder: write_corpus(folder, 1, seed=1), True),
    "corpus-3": (lambda folder: write_corpus(folder, 3, seed=1), True),
    "corpus-10": (lambda folder: write_corpus(folder, 10, seed=1), False),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[EmbeddedStore, Lookups]]:
    """A store of STORES by name, with its lookups, built the first time a test asks for it."""

    @functools.cache
    def store(name: str) -> tuple[EmbeddedStore, Lookups]:
        folder = tmp_path_factory.mktemp(name)
        opened = build(folder / "store", *STORES[name][0](folder / "articles"))
        return opened, read_lookups(opened, CATALOGUE)

    return store


def combinations(saved: SavedQuery, lookups: Lookups, every: bool) -> list[list[tuple[str, str]]]:
    """Values for the query's parameters: each listed value the store has, or none, for each one;
    with `every`, all their combinations, else one parameter at a time."""
    choices = [[(p.name, value) for value in lookups.values_for(p)] for p in saved.params]
    assert all(choices), f"{saved.name} has a parameter whose values cannot be listed"
    if every:
        return [[given for given in combo if given] for combo in itertools.product(*([None, *c] for c in choices))]
    return [[], *([given] for c in choices for given in c)]


def answer(store: EmbeddedStore, lookups: Lookups, saved: SavedQuery, given: list[tuple[str, str]]):
    result = evaluate(store, prepare(saved, given, lambda: lookups, frozenset(), generation="test"))
    assert isinstance(result, ox.QuerySolutions)
    columns = [v.value for v in result.variables]
    return columns, [tuple(row) for row in result]


def order_columns(text: str) -> list[str]:
    """The variables the query's ORDER BY sorts on."""
    clause = re.search(r"\bORDER BY\b(.*)$", text, re.S)
    assert clause, "a rewritten query with no ORDER BY is compared as a multiset only"
    return re.findall(r"\?(\w+)", clause.group(1))


@pytest.mark.parametrize("store_name", list(STORES))
@pytest.mark.parametrize("name", list(REFERENCES))
def test_rewritten_query_answers_as_its_old_text(name: str, store_name: str, built) -> None:
    saved = CATALOGUE.get(name)
    old = dataclasses.replace(saved, text=REFERENCES[name])
    store, lookups = built(store_name)
    ordered = order_columns(saved.text)
    assert ordered == order_columns(old.text)
    combos = combinations(saved, lookups, every=STORES[store_name][1])
    nonempty = 0
    for given in combos:
        columns, rows = answer(store, lookups, saved, given)
        old_columns, old_rows = answer(store, lookups, old, given)
        assert columns == old_columns, given
        assert Counter(rows) == Counter(old_rows), (given, set(rows) ^ set(old_rows))
        at = [columns.index(column) for column in ordered]
        assert [[row[i] for i in at] for row in rows] == [[row[i] for i in at] for row in old_rows], given
        nonempty += bool(rows)
    assert nonempty > len(combos) / 2, "most combinations should have answers to compare"


# -- issue 15: VALUES in the text against substitutions= ---------------------------------------------

SUBSTITUTED = ROOT / "tests" / "fixtures" / "substituted_queries"
COMBINATIONS = 300
BOUND_STORES = ["seed", "real-seasons", "corpus-1", "corpus-3"]  # corpus-10 takes minutes here


def values_of(saved: SavedQuery, lookups: Lookups) -> list[list[str | None]]:
    """For each parameter, the values to try: None (unset) if it may be, then values of its type."""
    choices = []
    for param in saved.params:
        values: list[str] = lookups.values_for(param)
        if param.type == "skater":
            skaters = sorted(thing.key for thing in lookups.things.get("skater", {}).values())
            example = [param.example] if param.example in skaters else []
            values = sorted({*skaters[:: max(1, len(skaters) // 12)], *example})
        elif param.type == "integer":
            values = sorted({"1", "2", "3", "5", param.default or "1", param.example or "1"}, key=int)
        elif param.type == "iri":
            values = [param.default or ""]
        assert values, f"{saved.name}: no values to try for {param.name}"
        choices.append(([] if param.required else [None]) + values)
    return choices


def value_combinations(saved: SavedQuery, lookups: Lookups) -> list[list[tuple[str, str]]]:
    names = [p.name for p in saved.params]
    every = list(itertools.product(*values_of(saved, lookups)))
    if len(every) > COMBINATIONS:
        every = [every[0], *random.Random(15).sample(every[1:], COMBINATIONS - 1)]
    return [[(n, v) for n, v in zip(names, combo, strict=True) if v is not None] for combo in every]


@functools.cache
def _opened(generation: Path) -> ox.Store:
    return ox.Store.read_only(str(generation / "oxigraph"))


def substituted(store: EmbeddedStore, lookups: Lookups, saved: SavedQuery, given: list[tuple[str, str]]):
    """The answer as skategraph gave it before issue 15: the old text, the values as substitutions=."""
    binding = bind(saved, given, lambda: lookups)
    result = _opened(store.generation).query(
        saved.text,
        use_default_graph_as_union=True,
        substitutions={ox.Variable(name): term for name, term in binding.bound()} or None,
        prefixes=PREFIXES,
    )
    assert isinstance(result, ox.QuerySolutions)
    return [v.value for v in result.variables], [tuple(row) for row in result]


@pytest.mark.parametrize("store_name", BOUND_STORES)
@pytest.mark.parametrize("name", [q for q in sorted(CATALOGUE.queries) if q != "podium_birth_dates"])
def test_values_in_the_text_answer_as_substitutions_did(name: str, store_name: str, built) -> None:
    saved = CATALOGUE.get(name)
    old = dataclasses.replace(saved, text=(SUBSTITUTED / f"{name}.rq").read_text("utf-8"))
    assert "FILTER(COALESCE(" not in saved.text
    store, lookups = built(store_name)
    combos = value_combinations(saved, lookups)
    ordered = (
        [c for c in re.findall(r"\?(\w+)", saved.text.rsplit("ORDER BY", 1)[1])] if "ORDER BY" in saved.text else []
    )
    nonempty = 0
    for given in combos:
        columns, rows = answer(store, lookups, saved, given)
        old_columns, old_rows = substituted(store, lookups, old, given)
        assert columns == old_columns, given
        assert Counter(rows) == Counter(old_rows), (given, set(rows) ^ set(old_rows))
        at = [columns.index(column) for column in ordered if column in columns]
        assert [[row[i] for i in at] for row in rows] == [[row[i] for i in at] for row in old_rows], given
        nonempty += bool(rows)
    # The generated corpus spells every skater one way: it has no name variants.
    assert nonempty or (name, store_name[:6]) == ("name_variants", "corpus"), f"{name}: no answers to compare"
