"""The benchmark corpus (`bench/corpus.py`) stays what the parser reads: the same bytes from the same
seed, every layout parsed to the counts the generator reports, and a build of it valid against the
shapes, with a warning for each missing place and for nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.corpus import LAYOUTS, Facts, Season, generate, write_corpus

from skategraph.source.parse import parse_article
from skategraph.source.records import Article, Category
from skategraph.store.build import build_from_files
from skategraph.store.embedded import open_store

MISSING = ("no Third place is given", "no Second or Third place is given")


def counted(article: Article) -> Facts:
    """What the parser found, in the generator's terms."""
    races = article.races
    return Facts(
        stages=len(article.stages),
        races=len(races),
        relays=sum(race.relay for race in races),
        mixed_relays=sum(race.category is Category.MIXED for race in races),
        second_races=sum(race.number == 2 for race in races),
        missing_places=len(article.warnings),
        places=sum(len(race.podium) for race in races),
        members=sum(bool(p.entrant.members) and not p.entrant.unsplit for race in races for p in race.podium),
    )


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = write_corpus(tmp_path / "a", 3, seed=7)
    again = write_corpus(tmp_path / "b", 3, seed=7)
    other = write_corpus(tmp_path / "c", 3, seed=8)
    assert [p.name for p in first] == ["2030-31.txt", "2031-32.txt", "2032-33.txt"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert [p.read_bytes() for p in first] != [p.read_bytes() for p in other]


def test_a_smaller_corpus_is_a_prefix_of_a_larger() -> None:
    """So the sizes a benchmark compares differ only in how many seasons they hold."""
    assert [s.text for s in generate(3, seed=2)] == [s.text for s in list(generate(6, seed=2))[:3]]


def _first_of(layout: str) -> Season:
    return next(season for season in generate(12, seed=1) if season.layout == layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_parses_to_the_generated_counts(layout: str) -> None:
    season = _first_of(layout)
    article = parse_article(season.text, source=season.filename)
    assert article.season == season.key
    assert counted(article) == season.facts
    assert all(w.message.startswith(MISSING) for w in article.warnings), article.warnings


def test_three_seasons_build_and_validate(tmp_path: Path) -> None:
    seasons = list(generate(3, seed=1))
    facts = Facts()
    for season in seasons:
        facts.add(season.facts)
    # The shapes the corpus is for are all in these three seasons.
    assert facts.second_races and facts.relays and facts.mixed_relays and facts.missing_places and facts.members
    paths = write_corpus(tmp_path / "corpus", 3, seed=1)
    summary = build_from_files(paths, tmp_path / "store", validate=True)
    assert (summary.seasons, summary.races) == (3, facts.races)
    assert len(summary.warnings) == facts.missing_places
    assert all(w.message.startswith(MISSING) for w in summary.warnings)
    store = open_store(tmp_path / "store")

    def count(pattern: str) -> int:
        query = f"PREFIX sg: <https://w3id.org/skategraph/ontology#> SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}"
        return int(next(iter(store.query(query)))["n"].value)

    assert count("?s a sg:Stage") == facts.stages
    assert count("?r a sg:RelayRace") == facts.relays
    assert count("?r a sg:RelayRace ; sg:category sg:Mixed") == facts.mixed_relays
    assert count("?r sg:raceNumber 2") == facts.second_races
    assert count("?result sg:race ?r") == facts.places
    assert count("SELECT DISTINCT ?result WHERE { ?result sg:teamMember ?m }") == facts.members
