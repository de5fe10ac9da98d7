"""The parser against the seed article: its facts, its quirks, and damaged copies of it."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skategraph.errors import SourceError
from skategraph.graph.ids import slug
from skategraph.source.parse import parse_article
from skategraph.source.records import Article, Category

from .conftest import line_of, replace_line
from .damage import damaged, parses_or_names_lines

FIRST_ROW = "| 18 October 2002 | KOR Chuncheon | 1500m | KOR Ahn Hyun-soo | ITA Fabio Carta | KOR Oh Se-jong |"
RELAY_ROW = "| 20 October 2002 | KOR Chuncheon | 5000m relay | CAN Canada | CHN China | JPN Japan |"


@pytest.fixture(scope="module")
def seed(seed_text: str) -> Article:
    return parse_article(seed_text, source="seed.txt")


def skater_names(article: Article) -> set[str]:
    return {e.name for e in article.entrants if not e.is_team}


# -- the facts a correct parse of the seed holds (issue 2) -------------------------------------


def test_seed_season(seed: Article) -> None:
    assert seed.title == "2002–03 ISU Short Track Speed Skating World Cup"
    assert seed.season == "2002-03"
    assert (seed.start, seed.end) == (datetime.date(2002, 10, 18), datetime.date(2003, 2, 16))
    assert seed.previous is not None and seed.previous.key == "2001-02"
    assert seed.next is not None and seed.next.key == "2003-04"


def test_seed_counts(seed: Article) -> None:
    assert len(seed.races) == 60
    assert sum(len(race.podium) for race in seed.races) == 180
    assert sum(len(c.places) for c in seed.classifications) == 30
    assert len({slug(name) for name in skater_names(seed)}) == 35
    teams = {(p.entrant.nation, race.category) for race in seed.races if race.relay for p in race.podium}
    teams |= {(p.entrant.nation, c.category) for c in seed.classifications if c.relay for p in c.places}
    assert len(teams) == 14
    nations = {e.nation for e in seed.entrants} | {stage.nation for stage in seed.stages}
    assert nations == {"BUL", "CAN", "CHN", "FRA", "GER", "ITA", "JPN", "KOR", "NED", "RUS", "USA"}


def test_seed_stages(seed: Article) -> None:
    assert [(s.venue, s.nation, s.start, s.end, len(s.races)) for s in seed.stages] == [
        ("Chuncheon", "KOR", datetime.date(2002, 10, 18), datetime.date(2002, 10, 20), 10),
        ("Beijing", "CHN", datetime.date(2002, 10, 25), datetime.date(2002, 10, 27), 10),
        ("Saint Petersburg", "RUS", datetime.date(2002, 11, 29), datetime.date(2002, 12, 1), 10),
        ("Bormio", "ITA", datetime.date(2002, 12, 6), datetime.date(2002, 12, 8), 10),
        ("Salt Lake City", "USA", datetime.date(2003, 2, 7), datetime.date(2003, 2, 9), 10),
        ("Saguenay", "CAN", datetime.date(2003, 2, 14), datetime.date(2003, 2, 16), 10),
    ]


def test_seed_first_race(seed: Article) -> None:
    race = seed.stages[0].races[0]
    assert (race.category, race.date, race.distance, race.relay) == (
        Category.MEN,
        datetime.date(2002, 10, 18),
        1500,
        False,
    )
    assert [(p.rank, p.entrant.nation, p.entrant.name) for p in race.podium] == [
        (1, "KOR", "Ahn Hyun-soo"),
        (2, "ITA", "Fabio Carta"),
        (3, "KOR", "Oh Se-jong"),
    ]


def test_seed_standings(seed: Article) -> None:
    overall = {c.category: c for c in seed.classifications if c.distance is None}
    assert [p.entrant.name for p in overall[Category.MEN].places] == ["Apolo Anton Ohno", "Ahn Hyun-soo", "Fabio Carta"]
    assert [p.entrant.name for p in overall[Category.WOMEN].places] == [
        "Fu Tianyu",
        "Amélie Goulet-Nadon",
        "Evgenia Radanova",
    ]
    relays = [c for c in seed.classifications if c.relay]
    assert [(c.category, c.distance) for c in relays] == [(Category.MEN, 5000), (Category.WOMEN, 3000)]
    assert all(p.entrant.is_team for c in relays for p in c.places)


# -- the source's quirks, each handled on purpose ----------------------------------------------


def test_one_skater_spelled_two_ways(seed: Article) -> None:
    spellings = [e.name for e in seed.entrants if slug(e.name) == "lee-seung-jae"]
    assert spellings.count("Lee Seung-Jae") == 3
    assert spellings.count("Lee Seung-jae") == 5


def test_disambiguated_names_stay_apart(seed_text: str) -> None:
    text = seed_text.replace("| CHN Wang Chunlu |", "| CHN Yang Yang (S) |", 1)
    article = parse_article(text)
    names = skater_names(article)
    assert {"Yang Yang (A)", "Yang Yang (S)"} <= names
    assert slug("Yang Yang (A)") != slug("Yang Yang (S)")


@pytest.mark.parametrize(
    ("distance", "relay"), [("5000m relay", True), ("3000m relay", True), ("1500m", False), ("500m", False)]
)
def test_relays_are_told_by_the_distance_column(seed: Article, distance: str, relay: bool) -> None:
    races = [r for r in seed.races if r.event == distance]
    assert races
    assert all(p.entrant.is_team == relay for r in races for p in r.podium)


def test_relay_entry_names_a_nation_not_a_person(seed: Article) -> None:
    korea = [p.entrant for r in seed.races if r.relay for p in r.podium if p.entrant.nation == "KOR"]
    assert korea and all(e.is_team and e.name == "South Korea" for e in korea)


@pytest.mark.parametrize("code", ["GER", "BUL", "NED"])
def test_codes_are_ioc_codes(seed: Article, code: str) -> None:
    assert code in {e.nation for e in seed.entrants}


@pytest.mark.parametrize(
    ("original", "heading", "expected"),
    [("=== Men ===", "===Men===", Category.MEN), ("=== Men ===", "=== Men===", Category.MEN),
     ("===Women===", "=== Women ===", Category.WOMEN), ("===Women===", "===  Women  ===", Category.WOMEN),
     ("====Korea====", "==== Korea ====", Category.MEN), ("==Calendar==", "== Calendar ==", Category.MEN)],
)  # fmt: skip
def test_headings_spaced_any_way(seed_text: str, original: str, heading: str, expected: Category) -> None:
    number = line_of(seed_text, original)
    article = parse_article(replace_line(seed_text, number, heading))
    assert len(article.races) == 60
    first_race_after = min((r for r in article.races if r.line > number), key=lambda r: r.line)
    assert first_race_after.category is expected


def test_both_calendar_headings_parse(seed: Article) -> None:
    assert sum(r.category is Category.MEN for r in seed.races) == 30
    assert sum(r.category is Category.WOMEN for r in seed.races) == 30


# -- bad source text: an error naming the line and what was expected ---------------------------

ERRORS = [
    # (id, line to find, replacement, expected message fragment)
    ("too-few-cells", FIRST_ROW, "| 18 October 2002 | KOR Chuncheon | 1500m | KOR Ahn Hyun-soo | ITA Fabio Carta |",
     "expected 6 cells (Date | Place | Distance | Winner | Second | Third), found 5"),
    ("too-many-cells", FIRST_ROW, FIRST_ROW + " x |", "expected 6 cells"),
    ("unknown-code", FIRST_ROW, FIRST_ROW.replace("ITA Fabio", "XYZ Fabio"), "unknown nation code 'XYZ'"),
    ("iso-not-ioc", "| CAN Canada | ITA Italy | GER Germany |", "| 8 December 2002 | ITA Bormio | 5000m relay | CAN Canada | ITA Italy | DEU Germany |",
     "'DEU': that is an ISO 3166 code; the IOC code for Germany is GER"),
    ("bad-date", FIRST_ROW, FIRST_ROW.replace("18 October", "18 Octobre"), "expected a date like '18 October 2002', found '18 Octobre 2002'"),
    ("no-such-date", FIRST_ROW, FIRST_ROW.replace("18 October", "31 November"), "the date '31 November 2002' does not exist"),
    ("outside-season", FIRST_ROW, FIRST_ROW.replace("2002", "2003"), "is outside the season"),
    ("same-race-twice", "| 19 October 2002 | KOR Chuncheon | 500m |", FIRST_ROW.replace("18 October", "19 October"),
     "the same race twice: Men 1500m at Chuncheon is also on line"),
    ("bad-distance", FIRST_ROW, FIRST_ROW.replace("1500m", "1500 metres"), "expected a distance like '500m' or '5000m relay'"),
    ("relay-names-person", RELAY_ROW, RELAY_ROW.replace("CAN Canada", "CAN Mathieu Turcotte"),
     "a relay podium names a nation's team: expected 'CAN Canada' in the Winner column"),
    ("nation-in-individual-race", FIRST_ROW, FIRST_ROW.replace("ITA Fabio Carta", "ITA Italy"),
     "names a nation, but the distance column says this is not a relay"),
    ("no-code", FIRST_ROW, FIRST_ROW.replace("ITA Fabio Carta", "Fabio Carta"),
     "expected a nation code and a name in the Second column, like 'KOR Ahn Hyun-soo', found 'Fabio Carta'"),
    ("unterminated-row", FIRST_ROW, FIRST_ROW[:-2], "a table row must start and end with '|'"),
    ("bad-header", "| Date | Place | Distance | Winner | Second | Third |", "| Date | Place | Length | Winner | Second | Third |",
     "expected the table header | Date | Place | Distance | Winner | Second | Third |"),
    ("place-changes", "| 19 October 2002 | KOR Chuncheon | 500m |", "| 19 October 2002 | KOR Seoul | 500m | KOR Ahn Hyun-soo | CHN Liu Yingbao | ITA Nicola Franceschina |",
     "every race of a stage is at one place: expected KOR Chuncheon, found 'KOR Seoul'"),
    ("unknown-category", "=== Men ===", "=== Juniors ===", "expected a 'Men', 'Women', 'Ladies' or 'Mixed' heading under this section, found 'Juniors'"),
    ("unbalanced-heading", "====Korea====", "====Korea===", "a heading opens with 4 '=' and closes with 3"),
    ("standings-twice", "| 1000m | USA Apolo Anton Ohno | CAN Jean-François Monette | KOR Ahn Hyun-soo |", "| 500m | USA Apolo Anton Ohno | CAN Jean-François Monette | KOR Ahn Hyun-soo |",
     "the 500m standings are given twice (also line"),
    ("bad-season-dates", "- Dates:", "- Dates: sometime in 2002", "expected season dates like"),
    ("bad-prev", "- Prev:", "- Prev: the one before", "expected a season like '2002–03'"),
    ("no-title", "= 2002–03 ISU", "2002–03 ISU Short Track Speed Skating World Cup",
     "expected a title line like '= 2002–03 ISU Short Track Speed Skating World Cup ='"),
    ("title-without-season", "= 2002–03 ISU", "= ISU Short Track Speed Skating World Cup =", "expected a season like '2002–03'"),
    ("season-not-consecutive", "= 2002–03 ISU", "= 2002–05 ISU Short Track Speed Skating World Cup =",
     "a season spans two consecutive years"),
]  # fmt: skip


@pytest.mark.parametrize(("find", "replacement", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_source_names_file_line_and_expectation(seed_text: str, find: str, replacement: str, message: str) -> None:
    number = line_of(seed_text, find)
    text = replace_line(seed_text, number, replacement)
    with pytest.raises(SourceError) as caught:
        parse_article(text, source="data/broken.txt")
    error = caught.value
    assert message in error.message
    assert error.line == number
    assert str(error).startswith(f"data/broken.txt, line {number}: ")


def test_same_race_twice_names_both_lines(seed_text: str) -> None:
    number = line_of(seed_text, FIRST_ROW)
    text = replace_line(seed_text, number + 1, FIRST_ROW.replace("18 October", "19 October"))
    with pytest.raises(SourceError) as caught:
        parse_article(text)
    assert caught.value.line == number + 1
    assert caught.value.message.endswith(f"is also on line {number}")


def test_empty_article_is_an_error() -> None:
    with pytest.raises(SourceError) as caught:
        parse_article("", source="empty.txt")
    assert caught.value.line == 1


# -- a season in progress loads what is there --------------------------------------------------


def test_season_without_standings(seed_text: str) -> None:
    text = seed_text[: seed_text.index("==Overall standings==")]
    article = parse_article(text)
    assert len(article.races) == 60
    assert article.classifications == ()


def test_season_with_only_the_first_stages(seed_text: str) -> None:
    men_end = seed_text.index("====Russia====")
    women = seed_text.index("===Women===")
    women_end = seed_text.index("====Russia====", women)
    text = seed_text[:men_end] + seed_text[women:women_end]
    article = parse_article(text)
    assert [s.venue for s in article.stages] == ["Chuncheon", "Beijing"]
    assert len(article.races) == 20


def test_scheduled_race_without_results(seed_text: str) -> None:
    row = "| 16 February 2003 | CAN Saguenay | 3000m | CHN Fu Tianyu |"
    text = replace_line(seed_text, line_of(seed_text, row), "| 16 February 2003 | CAN Saguenay | 3000m |  |  |  |")
    article = parse_article(text)
    scheduled = [r for r in article.races if not r.podium]
    assert [(r.category, r.distance, r.date) for r in scheduled] == [(Category.WOMEN, 3000, datetime.date(2003, 2, 16))]
    assert len(article.races) == 60


def test_article_with_only_title_and_infobox(seed_text: str) -> None:
    article = parse_article(seed_text[: seed_text.index("==Calendar==")])
    assert article.season == "2002-03"
    assert article.stages == () and article.classifications == ()


# -- damaged articles: a parse or a clear error, never a crash ---------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_articles_parse_or_fail_with_a_line(seed_text: str, data: st.DataObject) -> None:
    text, count = data.draw(damaged(seed_text))
    parses_or_names_lines(text, count, "damaged.txt")
