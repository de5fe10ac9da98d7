"""A remote store serves the real seasons as the embedded store does: the eight real season articles
(`tests/fixtures/seasons/`) and the seed built into one embedded store, that generation put in an
Oxigraph server and a Virtuoso of this module's own (the session's servers hold the seed for the other
modules), and the same app over each compared with the app over the embedded store (issue 15).

The seed alone (`test_remote_answers.py`) has one nation per skater, no relay team members and no
season without races; these have skaters who changed nation (Ahn Hyun-soo for Russia as Viktor Ahn,
John-Henry Krueger for Hungary), relay teams named by their skaters, a cancelled season and races that
share a distance at a stage. Every saved query is run bare, with its example and with values from these
seasons; the pages of skaters, nations, relay teams, venues, seasons, stages and races, their RDF and
charts, lookups and reconciliation are compared whole: rows as multisets, pages byte for byte, RDF as
graphs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from skategraph.saved.catalogue import load_catalogue
from skategraph.saved.query import SavedQuery

from . import remotes
from .answers import Pair, answer, both, paired, rows, same_chart, same_graph, same_page, same_rows
from .conftest import ID, SEED, build
from .season_facts import SEASONS

REAL = sorted(SEASONS.glob("*.txt"))
CATALOGUE = load_catalogue(())
SAVED = sorted(q.name for q in CATALOGUE if "SERVICE" not in q.text)  # not the one asking Wikidata
SERVERS: dict[str, Callable[[Path], remotes.Server]] = {
    "oxigraph": remotes.oxigraph,
    "virtuoso": remotes.virtuoso,  # every answer here stays under its row cap (an answer at it would be a 502)
}


@pytest.fixture(scope="module")
def seasons_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed and the eight real seasons, built once into one embedded store."""
    path = tmp_path_factory.mktemp("seasons") / "store"
    build(path, SEED, *REAL, validate=True)
    return path


@pytest.fixture(scope="module", params=list(SERVERS))
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, seasons_store: Path
) -> Iterator[Pair]:
    """The app over the embedded store, and over a server of this module's own holding its generation;
    the server is stopped and its directory removed afterwards."""
    directory = tmp_path_factory.mktemp(f"{request.param}-seasons")
    server = SERVERS[request.param](directory)
    try:
        with paired(request.param, server, seasons_store, tmp_path_factory) as apps:
            yield apps
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def select(pair: Pair, sparql: str) -> list[str]:
    """The first column of a SELECT on the embedded store, as values."""
    found = answer(pair.embedded.query(sparql))["results"]["bindings"]
    return [next(iter(row.values()))["value"] for row in found]


# Values from the real seasons, for each parameter type: the seasons by their files, skaters who
# changed nation or are spelled several ways, nations with relay teams, and the real seasons' venues.
VALUES: dict[str, list[str]] = {
    "season": ["2002-03", *(path.stem for path in REAL)],
    "category": ["men", "women"],
    "nation": ["RUS", "HUN", "KOR", "USA", "CAN", "NED", "Hungary"],
    "skater": [
        "Viktor Ahn",
        "john-henry-krueger",
        "Semion Elistratov",
        "Sandor Liu Shaolin",
        "Apolo Ohno",
        "charles-hamelin",
        f"{ID}skater/wu-dajing",
    ],
    "distance": ["500", "1500", "relay"],
    "venue": ["Montreal", "Salt Lake City", "Debrecen", "Dresden", "Seoul"],
    "integer": ["1", "3"],
}
PAIRS = [("kim-dong-sung", "li-jiajun"), ("Ahn Hyun-soo", "lee-seung-jae"), ("Viktor Ahn", "Sjinkie Knegt")]


def calls(query: SavedQuery) -> list[dict[str, str]]:
    """The parameter values a saved query is run with: none (if it may be), its example, and each value
    of VALUES for one parameter at a time (the others unset or, if required, their example)."""
    required = {p.name: p.example or "" for p in query.params if p.required}
    found: list[dict[str, str]] = [] if required else [{}]
    found.append(query.example())
    if query.name == "head_to_head":
        return found + [{"skater_a": a, "skater_b": b} for a, b in PAIRS]
    for param in query.params:
        for value in VALUES.get(param.type, []):
            found.append({**required, param.name: value})
    return found


@pytest.mark.parametrize("name", SAVED)
def test_every_saved_query_answers_alike(pair: Pair, name: str) -> None:
    """Every call compared as a multiset of rows; the first call (bare, or the example where a parameter
    is required) and at least one value of each parameter have rows to compare."""
    query = CATALOGUE.get(name)
    answered: list[tuple[dict[str, str], bool]] = []
    for params in calls(query):
        path = f"/queries/{name}?{urlencode(params)}" if params else f"/queries/{name}"
        mine, theirs = both(pair, path, Accept="application/sparql-results+json")
        expected = rows(mine)
        assert theirs.status == 200, f"{name} {params} on {pair.name}: {theirs.status} {theirs.text[:500]}"
        found = rows(theirs)
        assert found == expected, (
            f"{name} {params} on {pair.name}: missing {sorted((expected - found).elements())[:3]}, "
            f"extra {sorted((found - expected).elements())[:3]}"
        )
        answered.append((params, bool(expected)))
    assert answered[0][1], f"{name} {answered[0][0]} answers nothing on the embedded store: nothing is compared"
    for param in query.params:
        assert any(ok for given, ok in answered if param.name in given), f"{name}: no value of {param.name} answers"


SKATERS = ["ahn-hyun-soo", "john-henry-krueger", "semion-elistratov", "sandor-liu-shaolin", "apolo-anton-ohno",
           "wu-dajing", "vladimir-grigorev", "charles-hamelin"]  # fmt: skip


def test_skaters_who_changed_nation_are_here(pair: Pair) -> None:
    """The skaters the pages below must cover: two nations each, and relay team members."""
    two = select(pair, "SELECT ?s WHERE { ?s a sg:Skater ; sg:nation ?a , ?b FILTER(STR(?a) < STR(?b)) }")
    assert {f"{ID}skater/ahn-hyun-soo", f"{ID}skater/john-henry-krueger"} <= set(two)
    members = select(pair, "SELECT DISTINCT ?s WHERE { ?r sg:teamMember ?s }")
    assert {f"{ID}skater/{s}" for s in ("ahn-hyun-soo", "semion-elistratov", "wu-dajing")} <= set(members)


def test_skater_pages_are_the_same(pair: Pair) -> None:
    for key in SKATERS:
        same_page(pair, f"/id/skater/{key}")
        same_graph(pair, f"/id/skater/{key}")
        same_chart(pair, f"/id/skater/{key}/podiums.svg")


def test_nation_pages_are_the_same(pair: Pair) -> None:
    """Every nation's page and RDF, those with relay teams among them."""
    nations = select(pair, "SELECT ?n WHERE { ?n a sg:Nation } ORDER BY ?n")
    with_teams = select(pair, "SELECT DISTINCT ?n WHERE { ?t a sg:RelayTeam ; sg:nation ?n }")
    assert len(with_teams) > 5 and set(with_teams) <= set(nations)
    for iri in nations:
        same_page(pair, iri.removeprefix("https://w3id.org/skategraph"))
        same_graph(pair, iri.removeprefix("https://w3id.org/skategraph"))
    for nation in with_teams:
        same_chart(pair, nation.removeprefix("https://w3id.org/skategraph") + "/podiums.svg")


def test_relay_team_pages_are_the_same(pair: Pair) -> None:
    teams = select(pair, "SELECT ?t WHERE { ?t a sg:RelayTeam } ORDER BY ?t")
    assert len(teams) > 10
    for iri in teams:
        same_page(pair, iri.removeprefix("https://w3id.org/skategraph"))
        same_graph(pair, iri.removeprefix("https://w3id.org/skategraph"))


@pytest.mark.parametrize("season", [path.stem for path in REAL])
def test_season_stage_and_race_pages_are_the_same(pair: Pair, season: str) -> None:
    """The season's page and RDF, and the page of each of its stages and races."""
    same_page(pair, f"/id/season/{season}")
    same_graph(pair, f"/id/season/{season}")
    same_chart(pair, f"/id/season/{season}/medals.svg", 404 if season == "2020-21" else 200)  # cancelled: no podiums
    parts = select(pair, f"SELECT ?s WHERE {{ ?s sg:season <{ID}season/{season}> ; a ?k "
                         "FILTER(?k IN (sg:Stage, sg:Race)) } ORDER BY ?s")  # fmt: skip
    assert parts, f"{season} has no stages"
    for iri in parts:
        same_page(pair, iri.removeprefix("https://w3id.org/skategraph"))


def test_venue_pages_are_the_same(pair: Pair) -> None:
    for venue in ("montreal", "salt-lake-city", "debrecen", "dresden", "vancouver"):
        same_page(pair, f"/id/venue/{venue}")


def test_merged_spellings_lead_to_the_same_skater(pair: Pair) -> None:
    """A spelling merged into another skater (`Viktor Ahn`) answers with the same redirect on both."""
    for path in ("/id/skater/viktor-ahn", "/id/skater/semen-elistratov"):
        mine, theirs = both(pair, path, Accept="text/html")
        assert mine.status == 301, (path, mine.status)
        assert (theirs.status, theirs.header("Location")) == (mine.status, mine.header("Location")), path


@pytest.mark.parametrize("spelling", ["Viktor Ahn", "viktor ahn", "Semen Elistratov", "Sándor Liu Shaolin",
                                      "Apolo Ohno", "John Henry Krueger"])  # fmt: skip
def test_lookups_resolve_alike(pair: Pair, spelling: str) -> None:
    """A skater given as people write the name is resolved by the store's lookups, then bound."""
    same_rows(pair, "/queries/skater_results?" + urlencode({"skater": spelling}), f"skater_results {spelling!r}")


def test_reconciliation_answers_alike(pair: Pair) -> None:
    queries = {
        "q0": {"query": "Viktor Ahn", "type": "skater"},
        "q1": {"query": "John-Henry Krueger", "type": "skater", "properties": [{"pid": "nation", "v": "HUN"}]},
        "q2": {"query": "Elistratov"},
        "q3": {"query": "Hungary", "type": "nation"},
        "q4": {"query": "Montreal", "type": "venue"},
        "q5": {"query": "Shaolin Sandor Liu", "properties": [{"pid": "category", "v": "men"}]},
        "q6": {"query": "Men's 5000m relay, Salt Lake City", "type": "race"},
    }
    body = urlencode({"queries": json.dumps(queries)})
    mine = answer(pair.embedded.post("/reconcile", body, "application/x-www-form-urlencoded"))
    theirs = answer(pair.remote.post("/reconcile", body, "application/x-www-form-urlencoded"))
    assert all(mine[q]["result"] for q in queries), "nothing to compare"
    assert theirs == mine


def test_reconciliation_suggest_preview_and_extend_answer_alike(pair: Pair) -> None:
    for path, params in (
        ("/reconcile/suggest/entity", {"prefix": "elis", "type": "skater"}),
        ("/reconcile/suggest/entity", {"prefix": "hun"}),
        ("/reconcile/preview", {"id": "skater/john-henry-krueger"}),
    ):
        mine, theirs = both(pair, f"{path}?{urlencode(params)}")
        assert mine.status == 200 and len(mine.body) > 20, (path, params)
        assert (theirs.status, theirs.body) == (mine.status, mine.body), (path, params)
    ids = ["skater/ahn-hyun-soo", "skater/john-henry-krueger", "skater/semion-elistratov", "nation/RUS", "nation/HUN"]
    extend = {"ids": ids, "properties": [{"id": "nation"}, {"id": "podiums"}, {"id": "wikidata"}]}
    body = urlencode({"extend": json.dumps(extend)})
    mine = answer(pair.embedded.post("/reconcile", body, "application/x-www-form-urlencoded"))
    theirs = answer(pair.remote.post("/reconcile", body, "application/x-www-form-urlencoded"))
    assert mine["rows"]["skater/john-henry-krueger"]["podiums"], "nothing to compare"
    assert theirs == mine
