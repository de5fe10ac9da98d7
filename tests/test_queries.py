"""Saved queries: every bundled query's answers against facts read from the source article, the CLI,
parameter types, and the strict loading of query files."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result

from skategraph.cli import cli
from skategraph.cli.queries import markdown_table
from skategraph.errors import BadParameter, QueryFileError
from skategraph.saved.binding import convert
from skategraph.saved.catalogue import load_catalogue
from skategraph.saved.query import Param
from skategraph.saved.queryfile import read_query
from skategraph.sparql.values import unreached

from .conftest import ROOT
from .source_facts import RACES, STANDINGS

CATALOGUE = load_catalogue()
ID = "https://w3id.org/skategraph/id/"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("saved") / "store")
    assert run("build", "--store", path).exit_code == 0
    return path


@pytest.fixture
def query(store: str):
    """Run a saved query from the CLI and return its rows as dicts of text."""

    def rows(name: str, *extra: str, **params: str) -> list[dict[str, str]]:
        args = ["query", name, "--store", store, "--format", "csv", *extra]
        for key, value in params.items():
            args += ["-p", f"{key}={value}"]
        result = run(*args)
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(io.StringIO(result.stdout)))

    return rows


def key(name: str) -> str:
    """The source spells one skater two ways (Lee Seung-Jae, Lee Seung-jae); compare names folded."""
    return name.lower()


def plain(name: str) -> str:
    """A relay team's label as the source names it: "Italy women's relay team" -> "Italy"."""
    return name.replace(" men's relay team", "").replace(" women's relay team", "")


def individual() -> list:
    return [r for r in RACES if not r.relay]


# -- each bundled query, against the source ----------------------------------------------------


def test_calendar(query) -> None:
    venues: dict[str, list[str]] = {}
    for race in RACES:
        venues.setdefault(race.venue, []).append(race.date)
    expected = [(v, min(d), max(d)) for v, d in venues.items()]
    rows = query("calendar", season="2002–03")
    assert [(r["venue"], r["start"], r["end"]) for r in rows] == expected
    assert [r["number"] for r in rows] == [str(n) for n in range(1, len(expected) + 1)]
    assert list(rows[0]) == ["season", "number", "stage", "venue", "nation", "start", "end"]


def test_race_podiums_filters(query) -> None:
    assert len(query("race_podiums")) == len(RACES) == 60
    women_500 = query("race_podiums", category="women", distance="500")
    expected = [r.podium[0][1] for r in RACES if r.category == "Women" and r.event == "500m"]
    assert [r["first"] for r in women_500] == expected and len(expected) == 6
    relays = query("race_podiums", distance="relay")
    assert len(relays) == sum(r.relay for r in RACES) == 12
    at_bormio = query("race_podiums", venue="bormio", season="2002-03")
    assert {plain(r["third"]) for r in at_bormio} == {r.podium[2][1] for r in RACES if r.venue == "Bormio"}


def test_skater_results(query) -> None:
    expected = sorted(
        (r.date, r.distance, str(rank))
        for r in RACES
        for rank, (_code, name) in enumerate(r.podium, start=1)
        if name == "Ahn Hyun-soo"
    )
    for spelling in ("ahn-hyun-soo", "AHN HYUN-SOO", "Ahn Hyun soo", ID + "skater/ahn-hyun-soo"):
        rows = query("skater_results", skater=spelling)
        assert sorted((r["date"], r["distance"], r["rank"]) for r in rows) == expected
    assert list(rows[0]) == ["race", "date", "venue", "distance", "category", "rank"]
    # Accents and a variant spelling find the same skater.
    assert len(query("skater_results", skater="amelie goulet-nadon")) == 11
    assert len(query("skater_results", skater="Lee Seung-Jae")) == 8


def test_skater_leaderboard(query) -> None:
    counts: dict[str, Counter[int]] = {}
    for race in individual():
        if race.category == "Women":
            for rank, (_code, name) in enumerate(race.podium, start=1):
                counts.setdefault(name, Counter())[rank] += 1
    rows = query("skater_leaderboard", category="women")
    got = {r["name"]: (int(r["wins"]), int(r["seconds"]), int(r["thirds"]), int(r["podiums"])) for r in rows}
    assert got == {n: (c[1], c[2], c[3], c.total()) for n, c in counts.items()}
    order = [(-int(r["wins"]), -int(r["podiums"])) for r in rows]
    assert order == sorted(order)
    assert rows[0]["name"] == "Choi Eun-kyung"


def test_medal_table(query) -> None:
    medals: dict[str, Counter[int]] = {}
    for race in RACES:
        if race.category == "Men":
            for rank, (code, _name) in enumerate(race.podium, start=1):
                medals.setdefault(code, Counter())[rank] += 1
    rows = query("medal_table", category="men")
    got = {r["nation"]: (int(r["gold"]), int(r["silver"]), int(r["bronze"]), int(r["total"])) for r in rows}
    assert got == {code: (c[1], c[2], c[3], c.total()) for code, c in medals.items()}
    assert sum(int(r["total"]) for r in query("medal_table")) == 180


def test_relay_results(query) -> None:
    expected = sorted(
        (r.date, str(rank)) for r in RACES if r.relay for rank, (code, _) in enumerate(r.podium, 1) if code == "CAN"
    )
    rows = query("relay_results", nation="can")
    assert sorted((r["date"], r["rank"]) for r in rows) == expected
    assert {r["nation"] for r in rows} == {"CAN"}
    assert query("relay_results", nation="Canada") == rows


def test_head_to_head(query) -> None:
    expected = []
    for race in RACES:
        names = [name for _code, name in race.podium]
        if "Ahn Hyun-soo" in names and "Apolo Anton Ohno" in names:
            ahead = min(("Ahn Hyun-soo", "Apolo Anton Ohno"), key=names.index)
            expected.append((race.date, race.distance, ahead))
    rows = query("head_to_head", skater_a="ahn-hyun-soo", skater_b="Apolo Anton Ohno")
    assert sorted((r["date"], r["distance"], r["ahead"]) for r in rows) == sorted(expected)
    assert len(expected) == 4


def test_overall_standings(query) -> None:
    rows = query("overall_standings", category="women")
    expected = {(s.event, str(rank), name) for s in STANDINGS if s.category == "Women"
                for rank, (_code, name) in enumerate(s.places, start=1) if "relay" not in s.event}  # fmt: skip
    got = {(r["classification"].rsplit("women-", 1)[1], r["rank"], r["name"]) for r in rows}
    assert {(e.replace("Overall", "overall"), rank, n) for e, rank, n in expected} <= got
    assert len(rows) == 15
    assert list(rows[0]) == ["season", "category", "classification", "rank", "competitor", "name"]


def test_wins_vs_standings(query) -> None:
    wins = Counter(r.podium[0][1] for r in individual() if r.category == "Women")
    overall = next(s for s in STANDINGS if s.category == "Women" and s.event == "Overall")
    winner = overall.places[0][1]
    most = wins.most_common(1)[0][0]
    assert wins[winner] < wins[most]  # the fact the query exists to show
    rows = {r["name"]: r for r in query("wins_vs_standings", category="women")}
    assert rows[winner]["overall_rank"] == "1" and rows[winner]["wins"] == str(wins[winner])
    assert rows[most]["wins"] == str(wins[most]) and rows[most]["overall_rank"] == ""
    assert {n: int(r["wins"]) for n, r in rows.items() if int(r["wins"])} == dict(wins)


def test_venue_winners(query) -> None:
    expected = Counter(r.podium[0][1] for r in RACES if r.venue == "Saguenay")
    rows = query("venue_winners", venue="SAGUENAY")
    got = Counter(plain(r["name"]) for r in rows)
    assert got == expected


def test_nation_skaters(query) -> None:
    podiums = Counter(key(name) for r in individual() for code, name in r.podium if code == "KOR")
    rows = query("nation_skaters", nation="KOR")
    assert {key(r["name"]): int(r["podiums"]) for r in rows} == dict(podiums)


def test_distance_specialists(query) -> None:
    counts = Counter((key(name), r.distance) for r in individual() for _code, name in r.podium)
    expected = {k for k, n in counts.items() if n >= 4}
    rows = query("distance_specialists", min_podiums="4")
    assert {(key(r["name"]), r["distance"]) for r in rows} == expected
    default = query("distance_specialists")  # min_podiums defaults to 3
    assert len(default) == sum(n >= 3 for n in counts.values())


def test_multi_venue_winners(query) -> None:
    venues: dict[str, set[str]] = {}
    for race in individual():
        venues.setdefault(race.podium[0][1], set()).add(race.venue)
    for least in (2, 3):
        rows = query("multi_venue_winners", min_venues=str(least))
        assert {r["name"]: int(r["venues"]) for r in rows} == {n: len(v) for n, v in venues.items() if len(v) >= least}
    assert query("multi_venue_winners") == query("multi_venue_winners", min_venues="2")


def test_name_variants(query) -> None:
    spellings: dict[str, set[str]] = {}
    for race in individual():
        for _code, name in race.podium:
            spellings.setdefault(key(name), set()).add(name)
    varied = {k: s for k, s in spellings.items() if len(s) > 1}
    rows = query("name_variants")
    assert {(key(r["name"]), r["variant"]) for r in rows} == {
        (k, v) for k, s in varied.items() for v in s if v != next(r["name"] for r in rows if key(r["name"]) == k)
    }
    assert varied == {"lee seung-jae": {"Lee Seung-jae", "Lee Seung-Jae"}}


def test_season_summary(query) -> None:
    (row,) = query("season_summary", season="2002-03")
    skaters = {key(name) for r in individual() for _code, name in r.podium}
    nations = {code for r in RACES for code, _name in r.podium}
    overall = {s.category: s.places[0][1] for s in STANDINGS if s.event == "Overall"}
    assert (row["stages"], row["races"]) == (str(len({r.venue for r in RACES})), str(len(RACES)))
    assert (row["skaters"], row["nations"]) == (str(len(skaters)), str(len(nations)))
    assert (row["men_overall"], row["women_overall"]) == (overall["Men"], overall["Women"])
    assert (row["start"], row["end"]) == (min(r.date for r in RACES), max(r.date for r in RACES))


def test_skater_links(query) -> None:
    """The seed ships no skater links (they come from `skategraph link`): every skater, none linked."""
    rows = query("skater_links")
    assert len(rows) == len({key(name) for r in individual() for _c, name in r.podium})
    assert all(r["wikidata"] == r["dbpedia"] == "" for r in rows)
    assert {r["name"] for r in query("skater_links", nation="BUL")} == {"Evgenia Radanova"}


# Queries whose answers need more than the seed: tested where that is set up.
TESTED_ELSEWHERE = {"podium_birth_dates": "test_links.test_federated_birth_dates"}
LOCAL = sorted(name for name in CATALOGUE.queries if name not in TESTED_ELSEWHERE)


def test_every_bundled_query_has_a_test() -> None:
    import importlib

    tested = {name[len("test_") :] for name in globals() if name.startswith("test_")}
    assert {q.name for q in CATALOGUE} <= tested | {"race_podiums"} | set(TESTED_ELSEWHERE)
    for where in TESTED_ELSEWHERE.values():
        module, function = where.split(".")
        assert hasattr(importlib.import_module(f"tests.{module}"), function), where


@pytest.mark.parametrize("name", LOCAL)
def test_every_saved_query(name: str, query) -> None:
    """Each query runs with its example values and returns rows; its columns hide the parameters."""
    saved = CATALOGUE.get(name)
    rows = query(name, **saved.example())
    assert rows, f"{name} with {saved.example()} returned nothing"
    assert not any(column.startswith("_") for column in rows[0])


# -- the CLI ------------------------------------------------------------------------------------


def test_queries_lists_every_query() -> None:
    out = run("queries").stdout
    for saved in CATALOGUE:
        assert saved.name in out and saved.title in out
    assert "skater=<skater>" in out and "[min_venues=2]" in out


def test_query_help_shows_the_query(store: str) -> None:
    result = run("query", "multi_venue_winners", "--help")
    assert result.exit_code == 0
    assert "Skaters who won races at at least min_venues different venues." in result.stdout
    assert "min_venues     integer, default 2" in result.stdout
    assert "skategraph query multi_venue_winners -p min_venues=3" in result.stdout
    assert "Run the saved query NAME" in run("query", "--help").stdout


def test_query_pages(store: str, query) -> None:
    everything = query("race_podiums")
    first = run("query", "race_podiums", "--store", store, "--format", "csv", "--limit", "25")
    assert "(more rows follow: --offset 25 for the next 25)" in first.stderr
    pages = [everything[:25], query("race_podiums", "--offset", "25", "--limit", "25"),
             query("race_podiums", "--offset", "50", "--limit", "25")]  # fmt: skip
    assert [len(p) for p in pages] == [25, 25, 10]
    assert pages[0] + pages[1] + pages[2] == everything


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["skater_results"], "Error: parameter skater is required: a skater: an IRI, a slug"),
        (
            ["skater_results", "-p", "skater=Ahn Hyunsoo"],
            "no skater is known as 'Ahn Hyunsoo'; did you mean Ahn Hyun-soo?",
        ),
        (["skater_results", "-p", "skater=ahn-hyun-soo", "-p", "skater=x"], "parameter skater is given twice"),
        (["skater_results", "-p", "skatr=x"], "skater_results has no parameter 'skatr'; it takes skater"),
        (["skater_results", "-p", "skater"], "-p takes name=value, not 'skater'"),
        (["multi_venue_winners", "-p", "min_venues=two"], "parameter min_venues: 'two' is not a whole number from 1"),
        (["multi_venue_winners", "-p", "min_venues=0"], "parameter min_venues: 0 is out of range"),
        (["race_podiums", "-p", "category=juniors"], "parameter category: 'juniors' is not men, women or mixed"),
        (["race_podiums", "-p", "distance=800"], "parameter distance: no distance is known as '800'"),
        (["race_podiums", "-p", "season=1999-00"], "parameter season: no season is known as '1999-00'"),
        (["relay_results", "-p", "nation=XYZ"], "parameter nation: no nation is known as 'XYZ'"),
        (["skater_result"], "there is no saved query named 'skater_result'; did you mean skater_results"),
        ([], "Error: name a saved query: 'skategraph queries' lists them"),
    ],
)
def test_query_errors(store: str, args: list[str], message: str) -> None:
    result = run("query", *args, "--store", store)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def test_readme_lists_every_saved_query() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    start, end = "<!-- saved-queries: skategraph queries --markdown -->\n", "\n<!-- /saved-queries -->"
    assert start in readme and end in readme
    listed = readme.split(start, 1)[1].split(end, 1)[0]
    assert listed == markdown_table(CATALOGUE), "regenerate with: skategraph queries --markdown"


# -- loading query files -----------------------------------------------------------------------

GOOD = """#+ title: Wins of a nation
#+ description: Race wins of one nation's skaters.
#+ params:
#+   nation: {type: nation, required: true, example: CAN}

PREFIX sg: <https://w3id.org/skategraph/ontology#>
SELECT ?race ?_nation WHERE { ?r sg:race ?race ; sg:rank 1 ; sg:nation ?_nation }
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.rq"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            GOOD.replace("SELECT ?race ?_nation WHERE {", "SELECT ?race ?_nation WHER {"),
            7,
            "the query does not parse: error at 7:",
        ),
        (GOOD.replace("#+ title:", "#+ titel:"), 1, "unknown header key 'titel'"),
        (GOOD.replace("#+ title: Wins of a nation\n", ""), 1, "the header needs a 'title' line"),
        (GOOD.replace("example: CAN}", "example: CAN, colour: red}"), 4, "parameter nation: unknown key 'colour'"),
        (GOOD.replace("?_nation", "?n"), 4, "parameter nation is declared but the query never uses ?_nation"),
        (
            GOOD.replace("?r sg:race", "?r sg:stage ?_stage ; sg:race"),
            7,
            "?_stage is a parameter variable, but no parameter stage is declared",
        ),
        (GOOD.replace("type: nation", "type: country"), 4, "parameter nation: type must be one of string, integer"),
        (
            GOOD.replace("required: true, example: CAN", "default: CAN, required: true, example: CAN"),
            4,
            "a required parameter has no default",
        ),
        (GOOD.replace(", example: CAN", ""), 4, "a required parameter needs an example"),
        (
            GOOD.replace("{type: nation, required: true, example: CAN}", "{type: integer, default: many}"),
            4,
            "the default 'many' is not valid",
        ),
        (GOOD.replace("#+   nation:", "#+   format:"), 4, "a parameter cannot be named format"),
        (GOOD.replace("#+ params:", "#+ params: [unclosed"), 3, "the '#+' header is not valid YAML"),
        (
            GOOD.replace("sg:nation ?_nation }", "sg:nation ?n FILTER(COALESCE(?n = ?_nation, true)) }"),
            7,
            "COALESCE(... ?_nation ..., true) is not an optional filter on every store: Virtuoso evaluates",
        ),
        (
            GOOD.replace("sg:nation ?_nation }", "sg:nation ?n\n  { ?r sg:rank 1 FILTER(?n = ?_nation) } }"),
            8,
            "?_nation is used in a FILTER inside a UNION branch, nested { }, GRAPH or SERVICE group: the VALUES block",
        ),
        (
            GOOD.replace(
                "?r sg:race ?race ; sg:rank 1 ; sg:nation ?_nation",
                "{ SELECT ?race { ?r sg:race ?race ; sg:nation ?_nation } }",
            ),
            7,
            "?_nation is used inside a sub-SELECT, which is evaluated on its own: the VALUES block",
        ),
        (
            GOOD.replace(
                "?r sg:race ?race ; sg:rank 1 ; sg:nation ?_nation }",
                "{ ?r sg:race ?race FILTER NOT EXISTS { ?r sg:nation ?_nation } } UNION { ?r sg:stage ?race } }",
            ),
            7,
            "?_nation is used inside a FILTER (NOT) EXISTS of a group that does not see it: the VALUES block",
        ),
        (
            # Bound by the VALUES block, ?_nation is in scope already: SPARQL refuses to BIND it again.
            GOOD.replace("sg:nation ?_nation }", "sg:nation ?n BIND(?n AS ?_nation) }"),
            8,
            "the query does not parse: error at 8:1",  # where pyoxigraph gives up: the end
        ),
        (
            GOOD.replace("sg:nation ?_nation }", "sg:nation ?n MINUS { ?r sg:nation ?_nation } }"),
            7,
            "?_nation is used inside MINUS",
        ),
        (
            GOOD.replace("sg:nation ?_nation }", "sg:nation ?n OPTIONAL { ?r sg:rank ?k BIND(?_nation AS ?m) } }"),
            7,
            "?_nation is used in a BIND inside an OPTIONAL group",
        ),
        (
            GOOD.replace("SELECT ?race ?_nation WHERE", "INSERT { ?s ?p ?_nation } WHERE"),
            1,
            "no SELECT, ASK, CONSTRUCT or DESCRIBE",
        ),
    ],
)
def test_broken_query_files_are_errors_with_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path / "mine", "nation_wins", text)
    found, problems = read_query(path)
    assert found is None
    assert any(p.startswith(f"{path}, line {line}: ") and message in p for p in problems), problems
    with pytest.raises(QueryFileError) as raised:
        load_catalogue([tmp_path / "mine"])
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("name", sorted(CATALOGUE.queries))
def test_every_saved_query_binds_alike_on_every_store(name: str) -> None:
    """Its optional filters are the BOUND form, and the VALUES block reaches every use of a parameter."""
    saved = CATALOGUE.get(name)
    assert read_query(saved.path)[1] == []
    assert unreached(saved.text, [p.variable for p in saved.params]) == []
    optional = [p for p in saved.params if not p.required and p.default is None and p.type != "iri"]
    for param in optional:
        assert f"FILTER(!BOUND(?{param.variable}) || " in saved.text


def test_every_problem_is_reported_and_nothing_loads(tmp_path: Path) -> None:
    write(tmp_path / "mine", "good", GOOD)
    write(tmp_path / "mine", "one", GOOD.replace("#+ title:", "#+ titel:"))
    write(tmp_path / "mine", "two", GOOD.replace("WHERE {", "WHER {"))
    write(tmp_path / "mine", "Bad-Name", GOOD)
    write(tmp_path / "mine", "calendar", GOOD)
    with pytest.raises(QueryFileError) as raised:
        load_catalogue([tmp_path / "mine"])
    text = str(raised.value)
    assert "5 problems" in text
    assert "one.rq, line 1: unknown header key" in text and "two.rq, line 7: the query does not parse" in text
    assert "a saved query's name is lower case" in text
    assert "the name calendar is taken by" in text


def test_a_users_own_queries(tmp_path: Path, store: str) -> None:
    write(tmp_path / "mine", "nation_wins", GOOD)
    write(
        tmp_path / "mine",
        "winners_in",
        """#+ title: Winners in a month
#+ description: Race winners between two dates, at a venue chosen from a list computed by SPARQL.
#+ params:
#+   after: {type: date, required: true, example: 2003-02-01}
#+   venue:
#+     type: string
#+     default: Saguenay
#+     values_from: SELECT ?value WHERE { ?v a sg:Venue ; rdfs:label ?value }
#+   rank: {type: integer, values: [1, 2, 3], default: 1}

PREFIX sg: <https://w3id.org/skategraph/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?date ?name ?_after ?_venue ?_rank WHERE {
  ?r sg:race ?race ; sg:rank ?_rank ; sg:competitor/rdfs:label ?name .
  ?race sg:date ?date ; sg:venue/rdfs:label ?_venue . FILTER(?date >= ?_after)
} ORDER BY ?date ?name
""",
    )
    catalogue = load_catalogue([tmp_path / "mine"])
    assert {"nation_wins", "winners_in", "calendar"} <= set(catalogue.queries)
    listed = run("queries", "--queries", str(tmp_path / "mine")).stdout
    assert "nation_wins" in listed and "winners_in" in listed

    def rows(*args: str) -> Result:
        return run("query", "--queries", str(tmp_path / "mine"), "--store", store, "--format", "csv", *args)

    wins = rows("nation_wins", "-p", "nation=can").stdout.splitlines()
    assert len(wins) - 1 == sum(r.podium[0][0] == "CAN" for r in RACES)
    saguenay = rows("winners_in", "-p", "after=2003-02-01").stdout.splitlines()
    assert len(saguenay) - 1 == sum(r.venue == "Saguenay" for r in RACES)
    bormio_seconds = rows("winners_in", "-p", "after=2002-01-01", "-p", "venue=Bormio", "-p", "rank=2")
    assert len(bormio_seconds.stdout.splitlines()) - 1 == sum(r.venue == "Bormio" for r in RACES)
    assert (
        "'Paris' is not one of the known values"
        in rows("winners_in", "-p", "after=2003-01-01", "-p", "venue=Paris").stderr
    )
    assert (
        "'4' is not allowed; use one of 1, 2, 3" in rows("winners_in", "-p", "after=2003-01-01", "-p", "rank=4").stderr
    )
    assert "'1 Feb 2003' is not a date as YYYY-MM-DD" in rows("winners_in", "-p", "after=1 Feb 2003").stderr
    bad = write(tmp_path / "broken", "oops", GOOD.replace("WHERE {", "WHER {"))
    result = run("queries", "--queries", str(tmp_path / "broken"))
    assert result.exit_code == 1 and f"{bad}, line 7: the query does not parse" in result.stderr


def test_a_nul_in_a_string_value_is_refused() -> None:
    """Virtuoso cuts a string bound in a query's text at a NUL (issue 15); no store is given one."""
    param = Param("word", "string")
    assert convert(param, 'a\\u0041 "b"\nc', None) == ox.Literal('a\\u0041 "b"\nc')
    with pytest.raises(BadParameter, match="parameter word: a NUL character"):
        convert(param, "a\x00b", None)


def test_an_optional_filter_written_with_bound_and_a_parameter_not_projected(tmp_path: Path, store: str) -> None:
    """The binding is a VALUES block in the text (issue 15), so BOUND(?_p) says whether the parameter was
    given, and a parameter variable need not be in the SELECT clause."""
    write(
        tmp_path / "mine",
        "nation_places",
        """#+ title: Podium places of a nation
#+ description: Every podium place, or one nation's.
#+ params:
#+   nation: {type: nation, description: Only this nation.}

PREFIX sg: <https://w3id.org/skategraph/ontology#>
SELECT ?race ?rank WHERE { ?r sg:race ?race ; sg:rank ?rank .
  FILTER(!BOUND(?_nation) || EXISTS { ?r sg:nation ?_nation }) }
""",
    )

    def count(*args: str) -> int:
        result = run("query", "--queries", str(tmp_path / "mine"), "--store", store, "--format", "csv", "nation_places",
                     *args)  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines()[0] == "race,rank"
        return len(result.stdout.splitlines()) - 1

    assert count() == 3 * len(RACES)
    assert count("-p", "nation=CAN") == sum(code == "CAN" for r in RACES for code, _name in r.podium)


def test_the_readme_example_of_your_own_query_runs(tmp_path: Path, store: str) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    text = readme.split("### Adding your own", 1)[1].split("```sparql\n", 1)[1].split("```", 1)[0]
    write(tmp_path / "my-queries", "nation_wins", text)
    result = run("query", "--queries", str(tmp_path / "my-queries"), "nation_wins", "-p", "nation=Canada",
                 "--store", store, "--format", "csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) - 1 == sum(r.podium[0][0] == "CAN" for r in RACES)
