"""The real seasons load completely, in every layout they use, and what they lack is reported.

Each fixture in `tests/fixtures/seasons/` is checked against facts from the file: races, podium places
and winners by `season_facts` (independent of the parser), and stages, days, arenas, team members
and warnings as counted by hand from its rows.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from skategraph.cli import cli
from skategraph.errors import SourceError, SourceErrors
from skategraph.source.parse import parse_article
from skategraph.source.records import Article, Category
from skategraph.store.embedded import EmbeddedStore

from .conftest import ID, SEED, ask, build, line_of, replace_line, scalar, select
from .damage import damaged, parses_or_names_lines
from .season_facts import SEASONS, read

D = datetime.date
FILES = sorted(SEASONS.glob("*.txt"))

# Per file: stages as (venue, first day, last day, races), and the lines that carry a warning.
STAGES = {
    "2001-02": [("Changchun", D(2001, 9, 21), D(2001, 9, 23), 5), ("Nobeyama", D(2001, 9, 28), D(2001, 9, 30), 5),
                ("Calgary", D(2001, 10, 18), D(2001, 10, 20), 5), ("Sofia", D(2001, 12, 7), D(2001, 12, 9), 5),
                ("Amsterdam", D(2001, 12, 14), D(2001, 12, 16), 5)],
    "2003-04": [("Calgary", D(2003, 10, 17), D(2003, 10, 19), 5), ("Marquette", D(2003, 10, 24), D(2003, 10, 26), 5),
                ("Jeonju", D(2003, 11, 28), D(2003, 11, 28), 1)],
    "2008-09": [("Salt Lake City", D(2008, 10, 18), D(2008, 10, 19), 5), ("Vancouver", D(2008, 10, 25), D(2008, 10, 26), 5)],
    "2011-12": [("Salt Lake City", D(2011, 10, 22), D(2011, 10, 23), 5), ("Saguenay", D(2011, 10, 29), D(2011, 10, 30), 5),
                ("Nagoya", D(2011, 12, 4), D(2011, 12, 4), 1)],
    "2014-15": [("Salt Lake City", D(2014, 11, 7), D(2014, 11, 9), 5), ("Montreal", D(2014, 11, 14), D(2014, 11, 16), 4)],
    "2020-21": [("Montreal", D(2020, 11, 6), D(2020, 11, 8), 0), ("Laval", D(2020, 11, 13), D(2020, 11, 15), 0),
                ("Seoul", D(2020, 12, 11), D(2020, 12, 13), 0), ("Beijing", D(2020, 12, 18), D(2020, 12, 20), 0),
                ("Bietigheim-Bissingen", D(2021, 2, 19), D(2021, 2, 21), 0), ("Dresden", D(2021, 2, 26), D(2021, 2, 28), 0)],
    "2021-22": [("Beijing", D(2021, 10, 21), D(2021, 10, 24), 4), ("Nagoya", D(2021, 10, 28), D(2021, 10, 31), 4),
                ("Debrecen", D(2021, 11, 18), D(2021, 11, 21), 4)],
    "2024-25": [("Montréal", D(2024, 10, 25), D(2024, 10, 27), 4), ("Montréal", D(2024, 11, 1), D(2024, 11, 3), 4),
                ("Beijing", D(2024, 12, 6), D(2024, 12, 8), 0), ("Seoul", D(2024, 12, 13), D(2024, 12, 15), 0),
                ("Tilburg", D(2025, 2, 7), D(2025, 2, 9), 0), ("Milan", D(2025, 2, 14), D(2025, 2, 16), 0)],
}  # fmt: skip
WARNED = {"2001-02": [22, 28, 29], "2014-15": [20, 20, 20], "2024-25": [18]}
ARENAS = {"2008-09": ["", "Pacific Coliseum"], "2011-12": ["Utah Olympic Oval", "Centre Georges-Vézina", "Nippon Gaishi Hall"],
          "2021-22": ["Capital Indoor Stadium", "Nippon Gaishi Arena", "Főnix Hall"]}  # fmt: skip


def parsed(path: Path) -> Article:
    return parse_article(path.read_text("utf-8"), source=path.name)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_race_and_place_is_loaded(path: Path) -> None:
    article = parsed(path)
    facts = read(path)
    assert len(article.races) == facts.races
    assert sum(len(race.podium) for race in article.races) == facts.places
    in_file_order = sorted(article.races, key=lambda race: (race.line, race.number or 0))
    for race, cell in zip(in_file_order, facts.winners, strict=True):
        winner = next(p.entrant for p in race.podium if p.rank == 1)
        assert cell == f"{winner.nation} {winner.name}" or (winner.is_team and cell.startswith(winner.nation))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_stages_days_and_warnings(path: Path) -> None:
    article = parsed(path)
    assert [(s.venue, s.start, s.end, len(s.races)) for s in article.stages] == STAGES[path.stem]
    assert [w.line for w in article.warnings] == WARNED.get(path.stem, [])
    assert article.start == min(s.start for s in article.stages) or article.start is not None
    if path.stem in ARENAS:
        assert [s.arena or "" for s in article.stages] == ARENAS[path.stem]


def test_one_table_for_the_season_with_rows_that_continue_the_one_above() -> None:
    article = parsed(SEASONS / "2001-02.txt")
    assert article.previous is None and (article.start, article.end) == (D(2001, 9, 21), D(2001, 12, 16))
    first = article.stages[0]
    assert [race.event for race in first.races] == ["500m", "1000m", "1500m", "3000m", "5000m relay"]
    assert all(race.date is None for race in article.races)  # the source gives each meeting's days only
    calgary_relay = article.stages[2].races[-1]
    assert [(p.rank, p.entrant.name) for p in calgary_relay.podium] == [(1, "Japan"), (2, "Canada")]


def test_two_races_of_one_distance_keep_apart() -> None:
    article = parsed(SEASONS / "2008-09.txt")
    salt_lake = article.stages[0]
    assert [r.event for r in salt_lake.races] == ["1000m", "1500m (1)", "500m", "1500m (2)", "5000m relay"]
    assert [r.event for r in article.stages[1].races if r.distance == 1000] == ["1000m (1)", "1000m (2)"]


def test_one_row_holding_two_races_and_relay_teams_with_their_skaters() -> None:
    article = parsed(SEASONS / "2014-15.txt")
    thousand = [r for r in article.stages[0].races if r.distance == 1000]
    assert [(r.number, r.date, [p.entrant.name for p in r.podium]) for r in thousand] == [
        (1, D(2014, 11, 8), ["Viktor Ahn", "Park Se-yeong", "Sjinkie Knegt"]),
        (2, D(2014, 11, 9), ["Seo Yi-ra", "Semion Elistratov", "Ruslan Zakharov"]),
    ]
    relay = next(r for r in article.races if r.relay)
    russia, china, usa = (p.entrant for p in relay.podium)
    assert (russia.is_team, russia.name) == (True, "Russia")
    assert russia.members == ("Semion Elistratov", "Dmitry Migunov", "Vladimir Grigorev", "Viktor Ahn")
    assert russia.unsplit == ()
    assert (china.members, china.unsplit) == (("Wu Dajing",), ("Chen Dequan Xu Hongzhi Han Tianyu",))
    assert (usa.members, usa.unsplit) == (("John-Henry Krueger",), ("Cole Krueger", "Keith Carroll Ryan Pivirotto"))
    assert all("kept as written" in w.message for w in article.warnings)


def test_a_cancelled_season_has_its_stages_and_no_races() -> None:
    article = parsed(SEASONS / "2020-21.txt")
    assert article.races == () and [s.number for s in article.stages] == [1, 2, 3, 4, 5, 6]
    assert (article.start, article.end) == (D(2020, 11, 6), D(2021, 2, 28))


def test_the_world_tour_a_stage_column_and_dates_without_a_year() -> None:
    article = parsed(SEASONS / "2024-25.txt")
    assert article.season == "2024-25" and article.previous is not None and article.previous.key == "2023-24"
    first = article.stages[0]
    assert (first.number, first.arena, first.nation) == (1, "Maurice Richard Arena", "CAN")
    assert [(r.event, r.date) for r in first.races] == [("1500m", D(2024, 10, 26)), ("500m", D(2024, 10, 26)),
                                                        ("1000m", D(2024, 10, 27)), ("5000m relay", D(2024, 10, 27))]  # fmt: skip
    assert "relocated" in article.warnings[0].message


# -- layouts the excerpts only hint at, made from the seed -----------------------------------------


def test_ladies_and_a_mixed_relay(seed_text: str) -> None:
    text = seed_text.replace("===Women===", "===Ladies===", 1)
    mixed = ("\n=== Mixed ===\n\n====Canada====\n| Date | Place | Distance | Winner | Second | Third |\n"
             "| 16 February 2003 | CAN Saguenay | 2000m relay | CAN Canada | CHN China | KOR |\n")  # fmt: skip
    text = text.replace("==Overall standings==", mixed + "\n==Overall standings==", 1)
    article = parse_article(text)
    assert sum(r.category is Category.WOMEN for r in article.races) == 30
    relay = next(r for r in article.races if r.category is Category.MIXED)
    assert (relay.distance, relay.relay, [p.entrant.name for p in relay.podium]) == (
        2000,
        True,
        ["Canada", "China", "South Korea"],
    )
    assert len(article.stages) == 6  # the mixed relay is part of the Saguenay stage


def test_marks_unknown_columns_and_sections_are_warnings(seed_text: str) -> None:
    row = "| 18 October 2002 | KOR Chuncheon | 1500m | KOR Ahn Hyun-soo | ITA Fabio Carta | KOR Oh Se-jong |"
    number = line_of(seed_text, row)
    text = replace_line(seed_text, number, row.replace("KOR Ahn Hyun-soo", "KOR Ahn Hyun-soo WR"))
    text = text.replace("==See also==", "==Medal table==\nSome prose.\n\n==See also==", 1)
    article = parse_article(text)
    messages = [(w.line, w.message) for w in article.warnings]
    assert (number, "'WR' in the Winner column is a mark, not a competitor: it is not loaded") in messages
    assert any("'Medal table' is not read" in m for _, m in messages)
    assert article.races[0].podium[0].entrant.name == "Ahn Hyun-soo"


def test_every_problem_is_reported_at_once(seed_text: str, tmp_path: Path) -> None:
    text = seed_text
    broken = []
    for fragment, wrong in (("18 October 2002 | KOR", "18 Octobre 2002 | KOR"), ("ITA Fabio Carta | KOR Oh", "XYZ Fabio Carta | KOR Oh"),
                            ("| 7 February 2003 | USA Salt Lake City | 1500m", "| 7 February 2003 | USA Salt Lake City | 1500 metres")):  # fmt: skip
        broken.append(line_of(text, fragment))
        text = text.replace(fragment, wrong, 1)
    with pytest.raises(SourceErrors) as caught:
        parse_article(text, source="many.txt")
    assert sorted(p.line for p in caught.value.problems) == sorted(broken)
    assert str(caught.value).startswith("3 problems in the season articles:\n  many.txt, line ")
    # Across files too: both files' problems in one run of the command.
    (tmp_path / "a.txt").write_text(text, "utf-8")
    (tmp_path / "b.txt").write_text(replace_line(seed_text, 1, "no title"), "utf-8")
    result = CliRunner().invoke(
        cli, ["build", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 1 and "4 problems in the season articles" in result.stderr
    assert f"{tmp_path / 'b.txt'}, line 1: expected a title line" in result.stderr
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def test_strict_and_skip_invalid(tmp_path: Path) -> None:
    runner = CliRunner()
    season = str(SEASONS / "2001-02.txt")
    built = runner.invoke(cli, ["build", season, "--store", str(tmp_path / "s"), "--no-validate"])
    assert built.exit_code == 0, built.output
    assert "3 warnings:" in built.stderr and "2001-02.txt, line 22: no Third place is given" in built.stderr
    strict = runner.invoke(cli, ["build", season, "--store", str(tmp_path / "s"), "--no-validate", "--strict"])
    assert strict.exit_code == 1 and "--strict makes it fail the build" in strict.stderr
    broken = tmp_path / "broken.txt"
    broken.write_text(replace_line(SEED.read_text("utf-8"), 1, "no title"), "utf-8")
    skipping = runner.invoke(
        cli, ["build", season, str(broken), "--store", str(tmp_path / "t"), "--no-validate", "--skip-invalid"]
    )
    assert skipping.exit_code == 0, skipping.output
    assert "Built" in skipping.stdout and "1 season, 25 races" in skipping.stdout
    assert f"Skipped {broken}: 1 problem:" in skipping.stderr


# -- all nine seasons in one graph ---------------------------------------------------------------


@pytest.fixture(scope="module")
def nine(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    return build(tmp_path_factory.mktemp("nine") / "store", SEED, *FILES, validate=True)


def test_nine_seasons_build_and_validate(nine: EmbeddedStore) -> None:
    assert scalar(nine, "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Season }") == "9"
    races = sum(read(path).races for path in FILES) + 60
    assert scalar(nine, "SELECT (COUNT(*) AS ?n) WHERE { ?r a sg:Race }") == str(races)
    assert scalar(nine, "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Stage }") == str(sum(map(len, STAGES.values())) + 6)
    warnings = select(nine, "SELECT ?w WHERE { GRAPH ?g { ?g sg:sourceWarning ?w } } ORDER BY ?w")
    assert len(warnings) == sum(map(len, WARNED.values()))


def test_across_seasons_one_skater_per_spelling_that_folds_alike(nine: EmbeddedStore) -> None:
    # `Kwak Yoon-gy` (2008-09, 2014-15) and `Kwak Yoon-Gy` (2011-12): one skater, labelled by the majority.
    kwak = select(nine, f"SELECT ?l WHERE {{ <{ID}skater/kwak-yoon-gy> rdfs:label ?l }}")
    assert kwak == [("Kwak Yoon-gy",)]
    seasons = select(
        nine,
        f"""SELECT DISTINCT ?season WHERE {{ ?r sg:competitor <{ID}skater/kwak-yoon-gy> ;
        sg:race/sg:season ?season }} ORDER BY ?season""",
    )
    assert [row[0].rsplit("/", 1)[-1] for row in seasons] == ["2008-09", "2011-12", "2014-15"]
    # The relay's skaters are the skaters of the individual races.
    members = select(
        nine,
        f"""SELECT ?m WHERE {{ ?r sg:race ?race ; sg:rank 1 ; sg:teamMember ?m .
        ?race sg:season <{ID}season/2014-15> ; a sg:RelayRace }} ORDER BY ?m""",
    )
    # Viktor Ahn is Ahn Hyun-soo (data/identities.tsv), the seed's skater: one person across seasons.
    assert [m[0].rsplit("/", 1)[-1] for m in members] == [
        "ahn-hyun-soo",
        "dmitry-migunov",
        "semion-elistratov",
        "vladimir-grigorev",
    ]


def test_races_known_by_their_meetings_days_and_numbered_races(nine: EmbeddedStore) -> None:
    race = f"<{ID}race/2001-02/changchun/men-500m>"
    assert select(nine, f"SELECT ?s ?e WHERE {{ {race} sg:startDate ?s ; sg:endDate ?e }}") == [
        ("2001-09-21", "2001-09-23")
    ]
    assert select(nine, f"SELECT ?d WHERE {{ {race} sg:date ?d }}") == []
    numbered = select(nine, f"SELECT ?n WHERE {{ <{ID}race/2008-09/salt-lake-city/men-1500m-2> sg:raceNumber ?n }}")
    assert numbered == [("2",)]
    assert select(nine, f"SELECT ?a WHERE {{ <{ID}stage/2011-12/salt-lake-city> sg:arena ?a }}") == [
        ("Utah Olympic Oval",)
    ]
    # The seed's IRIs are unchanged.
    assert ask(nine, f"ASK {{ <{ID}race/2002-03/chuncheon/men-1500m> a sg:Race ; sg:date ?d }}")


def test_problems_carry_valid_lines_in_every_fixture(tmp_path: Path) -> None:
    """A damaged copy of each real layout parses or names lines that exist."""
    for path in FILES:
        lines = path.read_text("utf-8").split("\n")
        for index in range(len(lines)):
            damaged = "\n".join([*lines[:index], lines[index][: len(lines[index]) // 2], *lines[index + 1 :]])
            try:
                parse_article(damaged, source=path.name)
            except SourceError as error:
                for problem in getattr(error, "problems", [error]):
                    assert 1 <= problem.line <= len(lines), (path.name, index, problem)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_damaged_real_layouts_parse_or_fail_with_a_line(data: st.DataObject) -> None:
    """The property the seed's damaged copies have (tests/test_parse.py), over every real layout."""
    path = data.draw(st.sampled_from(FILES))
    text, count = data.draw(damaged(path.read_text("utf-8")))
    parses_or_names_lines(text, count, path.name)
