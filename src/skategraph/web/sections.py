"""What a resource's page shows besides its own triples: each kind's sections (`SECTIONS`), the queries
they come from, each starting from the resource (`?_this`) and evaluated in the web process, the rows
made from those in Python (counted, joined, split), and the nation a skater or team skates for.

A page asks each query once, however many of its sections are made from it (`asked_once`); nothing
from the request is pasted into a query. Rendering is `skategraph.web.pages`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox

from skategraph.engine.jobs import Bound
from skategraph.graph.vocab import PREFIXES, sparql_prologue
from skategraph.web.service import get_service

Row = dict[str, dict[str, str]]
P = sparql_prologue("sg", "rdf", "rdfs", "skos") + "\n"

# The nation a skater or team skates for: the nation of their latest podium place or standing (each
# keeps the nation it was won for; a standing is dated by the last day of its season's stages). A
# skater who changed nation has both as sg:nation (Ahn Hyun-soo: KOR, then RUS as Viktor Ahn), and
# `?_this sg:nation ?nation LIMIT 1` was whichever the engine met first: Virtuoso showed KOR, the
# embedded store RUS (issue 15). Found here (`nation_of`) from the rows of RESULTS and STANDINGS, which
# the page asks anyway, and SEASON_END: as one query (a UNION ordered by date, LIMIT 1) it joined each
# standing with everything of its season, 97 ms of the 155 ms of a skater's 311 places (issue 14).
SEASON_END = (
    P
    + """SELECT (MAX(?date) AS ?end) ?_this WHERE { ?stage sg:season ?_this ; sg:endDate ?date }
  GROUP BY ?_this"""
)
NATION_NAME = (
    P
    + """SELECT ?name ?code ?_this WHERE {
  OPTIONAL { ?_this rdfs:label ?name } OPTIONAL { ?_this skos:notation ?code } }"""
)


# A competitor's podium places, each with its race, the race's season and the nation it was won for:
# the rows of a skater's "Podium places", "By season" (counted here, `by_season`) and nation, asked once
# (issue 14: as three queries, each walked the same places). What each of those asked of a place but
# its race is an OPTIONAL of one pattern (a path) about the place or its race, and each takes the rows
# that have what it asked (`_having`): a place written without a date (an update may write one) is
# still counted by season, as the query of "By season" counted it.
RESULTS = P + """SELECT ?r ?race ?label ?date ?stage ?venue ?distance ?rank ?season ?title ?nation ?_this WHERE {
  ?r sg:competitor ?_this ; sg:race ?race .
  OPTIONAL { ?r sg:rank ?rank } OPTIONAL { ?r sg:nation ?nation } OPTIONAL { ?race rdfs:label ?label }
  OPTIONAL { ?race (sg:date|sg:startDate) ?date } OPTIONAL { ?race sg:distance ?distance }
  OPTIONAL { ?race sg:stage ?stage } OPTIONAL { ?race sg:venue/rdfs:label ?venue }
  OPTIONAL { ?race sg:season ?season OPTIONAL { ?season rdfs:label ?title } } }
  ORDER BY ?date ?label"""  # fmt: skip
# A skater's standings, with the nation each was won for and its season (for `nation_of`), the same way.
STANDINGS = P + """SELECT ?st ?classification ?label ?rank ?nation ?season ?_this WHERE {
  ?st sg:competitor ?_this ; sg:classification ?classification .
  OPTIONAL { ?st sg:rank ?rank } OPTIONAL { ?st sg:nation ?nation }
  OPTIONAL { ?classification rdfs:label ?label } OPTIONAL { ?classification sg:season ?season } }
  ORDER BY ?label"""  # fmt: skip
PLACES: list[tuple[str, str, str | None]] = [("Date", "date", None), ("Stage", "venue", "stage"),
                                             ("Distance", "distance", None), ("Race", "label", "race"),
                                             ("Place", "rank", None)]  # fmt: skip
WINNERS: list[tuple[str, str, str | None]] = [("Date", "date", None), ("Race", "label", "race"),
                                              ("Winner", "name", "winner")]  # fmt: skip


# Podium places counted as medals (as saved query medal_table counts them); a query goes on with the
# variables it groups by, and its WHERE.
MEDALS = (P + "SELECT (SUM(IF(?rank = 1, 1, 0)) AS ?gold) (SUM(IF(?rank = 2, 1, 0)) AS ?silver) "
          "(SUM(IF(?rank = 3, 1, 0)) AS ?bronze) (COUNT(?r) AS ?total)")  # fmt: skip
MEDAL_COLUMNS: list[tuple[str, str, str | None]] = [("Gold", "gold", None), ("Silver", "silver", None),
                                                    ("Bronze", "bronze", None), ("Total", "total", None)]  # fmt: skip

# A season by its years (`2002–03`), the start of its title, as a table's row or a chart's bar is named.
SEASON_NAME = '?season rdfs:label ?title BIND(IF(CONTAINS(?title, " "), STRBEFORE(?title, " "), ?title) AS ?year)'


# How these queries are written, so that each starts from the resource (`?_this`) and costs what the
# resource has, not what the store has (issue 14; Oxigraph's plans on the 400-season corpus):
# - a pattern whose constant many resources share (`?race a sg:Race`, `?r sg:rank 1`) is a FILTER
#   EXISTS, not a pattern of the join: as a pattern, Oxigraph may start from it and visit every race
#   of the store (a season's calendar took 28 ms for 10 stages, its winners 570 ms);
# - no OPTIONAL of several patterns: Oxigraph evaluates one over the whole store and then joins it
#   (a season's podiums took 3 s). What it would add comes from a query of its own, joined here
#   (`Joined`); an OPTIONAL of one pattern about a bound subject (a label) is cheap, and stays;
# - what several sections show (a competitor's places, a season's results) is one query, its rows
#   counted, split or cut here (`Derived`): Oxigraph pays for every triple it looks up in a row, so
#   each section walking the same places again cost as much as the first (issue 14);
# - no sub-SELECT about the resource: the VALUES block that binds it does not reach one, and Oxigraph
#   evaluates it over the whole store (852 ms for a skater's seasons).
IS_RACE = "FILTER EXISTS { ?race a sg:Race }"


Select = Callable[[str], list[Row]]  # a query's rows, about the resource


@dataclass(frozen=True)
class Derived:
    """Rows made here from the rows of queries that start from the resource (`sources`): a page asks
    each source once, however many of its sections (and its nation) are made from it."""

    sources: tuple[str, ...]
    make: Callable[..., list[Row]]  # the rows of each source, in order -> the section's rows

    def queries(self) -> list[str]:
        return list(self.sources)

    def select(self, select: Select) -> list[Row]:
        return self.make(*(select(source) for source in self.sources))


@dataclass(frozen=True)
class Joined:
    """Rows as `rows OPTIONAL { extra } OPTIONAL { ... }` gives them, from queries that each start from
    the resource: every row of `rows` with each row of an extra query that has its `on` (a row each
    if several match, the row alone if none), in `rows`' order."""

    rows: str
    extras: tuple[str | Derived, ...]
    on: str = "race"

    def queries(self) -> list[str]:
        return [self.rows, *(text for extra in self.extras for text in _texts(extra))]

    def select(self, select: Select) -> list[Row]:
        found = select(self.rows)
        for extra in self.extras:
            matches: dict[str, list[Row]] = {}
            for row in select(extra) if isinstance(extra, str) else extra.select(select):
                matches.setdefault(row[self.on]["value"], []).append(row)
            found = [{**row, **match} for row in found for match in matches.get(row[self.on]["value"], [{}])]
        return found


def _texts(query: str | Derived | Joined) -> list[str]:
    return [query] if isinstance(query, str) else query.queries()


def races_by(link: str) -> Joined:
    """Races whose `link` (a property name of ours, never request text) is the resource, with winners."""
    return Joined(
        P
        + f"""SELECT ?race ?label ?date ?_this WHERE {{
  ?race {link} ?_this ; rdfs:label ?label ; (sg:date|sg:startDate) ?date {IS_RACE} }} ORDER BY ?date ?label""",
        (placed(link, 1, "winner", "name"),),
    )


def placed(link: str, rank: int, competitor: str, name: str) -> str:
    """The competitors at `rank` (a number, never request text) in each race whose `link` is the resource."""
    return (
        P
        + f"""SELECT ?race ?{competitor} ?{name} ?_this WHERE {{ ?race {link} ?_this .
  ?r sg:race ?race ; sg:competitor ?{competitor} . ?{competitor} rdfs:label ?{name}
  FILTER EXISTS {{ ?r sg:rank {rank} }} }}"""
    )


XSD_INTEGER = PREFIXES["xsd"] + "integer"


def _integer(n: int) -> dict[str, str]:
    return {"type": "literal", "value": str(n), "datatype": XSD_INTEGER}


def _rank(row: Row) -> int | None:
    """The rank of a row, as `?rank = 1` compares it: a number, or None if it is none."""
    rank = row["rank"]
    try:
        return int(rank["value"]) if rank.get("datatype") == XSD_INTEGER else None
    except ValueError:
        return None


def _having(rows: list[Row], needed: tuple[str, ...], key: tuple[str, ...], shown: tuple[str, ...] = ()) -> list[Row]:
    """The rows that have every variable of `needed`, the first of each distinct `key` (the place, then
    the variables of the patterns a section's own query had: the merged query's other OPTIONALs may
    repeat a row), with only the `shown` variables if any are given, in their order."""
    found = [row for row in rows if all(name in row for name in needed)]
    if len({row[key[0]]["value"] for row in found}) < len(found):  # a place has several rows: keep one a key
        seen: set[tuple[tuple[tuple[str, str], ...], ...]] = set()
        distinct = []
        for row in found:
            values = tuple(tuple(sorted(row[name].items())) if name in row else () for name in key)
            if values not in seen:
                seen.add(values)
                distinct.append(row)
        found = distinct
    return [{name: row[name] for name in shown if name in row} for row in found] if shown else found


def by_season(results: list[Row]) -> list[Row]:
    """A competitor's podium places counted by season, as `SELECT ?season ?year (SUM(IF(?rank = 1, 1, 0))
    AS ?wins) (SUM(IF(?rank = 2, 1, 0)) AS ?seconds) (SUM(IF(?rank = 3, 1, 0)) AS ?thirds) (COUNT(?r) AS
    ?podiums) ?_this WHERE { ?r sg:competitor ?_this ; sg:rank ?rank ; sg:race/sg:season ?season .
    ?season rdfs:label ?title BIND(IF(CONTAINS(?title, " "), STRBEFORE(?title, " "), ?title) AS ?year) }
    GROUP BY ?season ?year ?_this ORDER BY ?season` gives them, from RESULTS' rows (issue 14)."""
    seasons: dict[tuple[str, str], tuple[Row, list[int]]] = {}
    for row in _having(results, ("rank", "season", "title"), ("r", "rank", "race", "season", "title")):
        title = row["title"]["value"]
        year = {**row["title"], "value": title.split(" ", 1)[0]}  # STRBEFORE keeps the title's language
        key = (row["season"]["value"], year["value"])
        found = {"season": row["season"], "year": year, "_this": row["_this"]}
        counts = seasons.setdefault(key, (found, [0, 0, 0, 0]))[1]
        rank = _rank(row)
        for place in (1, 2, 3):
            counts[place - 1] += rank == place
        counts[3] += 1
    return [
        {"season": found["season"], "year": found["year"], "wins": _integer(counts[0]), "seconds": _integer(counts[1]),
         "thirds": _integer(counts[2]), "podiums": _integer(counts[3]), "_this": found["_this"]}
        for _key, (found, counts) in sorted(seasons.items(), key=lambda item: item[0][0])
    ]  # fmt: skip


PLACE = ("race", "label", "date", "stage", "venue", "distance", "rank")
PODIUM_PLACES = Derived((RESULTS,), lambda rows: _having(rows, PLACE, ("r", *PLACE), (*PLACE, "_this")))
STANDING = ("classification", "label", "rank")
STANDINGS_SHOWN = Derived((STANDINGS,), lambda rows: _having(rows, STANDING, ("st", *STANDING), (*STANDING, "_this")))

# A season's podium places, with the competitors' names and the nations' codes and names: the rows of
# its medal table (counted here, `medal_table`) and of its podiums (`placed_in`), asked once (issue 14:
# as four queries, each walked the season's races). What those asked of a place is OPTIONAL here, as
# in RESULTS, each of them taking the rows that have it.
SEASON_RESULTS = P + """SELECT ?r ?race ?rank ?competitor ?name ?nation ?code ?label ?_this WHERE {
  ?race sg:season ?_this . ?r sg:race ?race . OPTIONAL { ?r sg:rank ?rank }
  OPTIONAL { ?r sg:competitor ?competitor OPTIONAL { ?competitor rdfs:label ?name } }
  OPTIONAL { ?r sg:nation ?nation OPTIONAL { ?nation skos:notation ?code }
             OPTIONAL { ?nation rdfs:label ?label } } }"""  # fmt: skip


def medal_table(results: list[Row]) -> list[Row]:
    """A season's podium places counted by nation, as `MEDALS ?nation ?code (CONCAT(?label, " (", ?code,
    ")") AS ?name) ?_this WHERE { ?race sg:season ?_this . ?r sg:race ?race ; sg:rank ?rank ; sg:nation
    ?nation . ?nation skos:notation ?code ; rdfs:label ?label } GROUP BY ?nation ?code ?label ?_this ORDER
    BY DESC(?gold) DESC(?silver) DESC(?bronze) ?code` gives them, from SEASON_RESULTS' rows (issue 14)."""
    nations: dict[tuple[str, str, str], tuple[Row, list[int]]] = {}
    for row in _having(results, ("rank", "nation", "code", "label"), ("r", "rank", "nation", "code", "label")):
        key = (row["nation"]["value"], row["code"]["value"], row["label"]["value"])
        found = {"nation": row["nation"], "code": row["code"], "name": _concat(row["label"], row["code"]),
                 "_this": row["_this"]}  # fmt: skip
        counts = nations.setdefault(key, (found, [0, 0, 0, 0]))[1]
        rank = _rank(row)
        for place in (1, 2, 3):
            counts[place - 1] += rank == place
        counts[3] += 1
    ordered = sorted(nations.values(), key=lambda item: (*(-n for n in item[1][:3]), item[0]["code"]["value"]))
    return [
        {"gold": _integer(counts[0]), "silver": _integer(counts[1]), "bronze": _integer(counts[2]),
         "total": _integer(counts[3]), "nation": found["nation"], "code": found["code"], "name": found["name"],
         "_this": found["_this"]}
        for found, counts in ordered
    ]  # fmt: skip


def _concat(label: dict[str, str], code: dict[str, str]) -> dict[str, str]:
    """CONCAT(?label, " (", ?code, ")"): a plain string, since " (" has no language (SPARQL 17.4.3.12)."""
    return {"type": "literal", "value": f"{label['value']} ({code['value']})"}


def placed_in(rank: int, competitor: str, name: str) -> Derived:
    """The competitors at `rank` in each race of the season, from SEASON_RESULTS' rows: what `?r sg:race
    ?race ; sg:competitor ?competitor . ?competitor rdfs:label ?name FILTER EXISTS { ?r sg:rank 1 }` gave."""
    term = _integer(rank)

    def make(results: list[Row]) -> list[Row]:
        placed = _having([row for row in results if row.get("rank") == term], ("competitor", "name"),
                         ("r", "competitor", "name"))  # fmt: skip
        return [{"race": row["race"], competitor: row["competitor"], name: row["name"], "_this": row["_this"]}
                for row in placed]  # fmt: skip

    return Derived((SEASON_RESULTS,), make)


Query = str | Joined | Derived
# Per class: (section title, query with ?_this, [(column header, variable shown, variable linked)]).
SECTIONS: dict[str, list[tuple[str, Query, list[tuple[str, str, str | None]]]]] = {
    "Skater": [
        ("By season", Derived((RESULTS,), by_season),
         [("Season", "year", "season"), ("Wins", "wins", None), ("Second", "seconds", None),
          ("Third", "thirds", None), ("Podiums", "podiums", None)]),
        ("Podium places", PODIUM_PLACES, PLACES),
        ("Standings", STANDINGS_SHOWN,
         [("Classification", "label", "classification"), ("Place", "rank", None)]),
    ],
    "RelayTeam": [
        ("Podium places", PODIUM_PLACES, PLACES),
    ],
    "Race": [
        ("Podium", P + """SELECT ?rank ?competitor ?name ?n ?nation ?_this WHERE {
            ?r sg:race ?_this ; sg:rank ?rank ; sg:competitor ?competitor ; sg:nation ?n .
            ?competitor rdfs:label ?name . ?n rdfs:label ?nation } ORDER BY ?rank""",
         [("Place", "rank", None), ("Competitor", "name", "competitor"), ("Nation", "nation", "n")]),
    ],
    "Stage": [
        ("Races", races_by("sg:stage"), WINNERS),
    ],
    "Season": [
        ("Medal table", Derived((SEASON_RESULTS,), medal_table), [("Nation", "name", "nation"), *MEDAL_COLUMNS]),
        ("Calendar", P + """SELECT ?stage ?number ?venue ?start ?end ?_this WHERE {
            ?stage sg:season ?_this ; sg:stageNumber ?number ; sg:startDate ?start ; sg:endDate ?end ;
            sg:venue/rdfs:label ?venue FILTER EXISTS { ?stage a sg:Stage } } ORDER BY ?number""",
         [("#", "number", None), ("Stage", "venue", "stage"), ("From", "start", None), ("To", "end", None)]),
        ("Podiums", Joined(P + f"""SELECT ?race ?label ?date ?_this WHERE {{
            ?race sg:season ?_this ; rdfs:label ?label ; (sg:date|sg:startDate) ?date {IS_RACE} }}
            ORDER BY ?date ?label""",
                           (placed_in(1, "first", "n1"), placed_in(2, "second", "n2"), placed_in(3, "third", "n3"))),
         [("Date", "date", None), ("Race", "label", "race"), ("Winner", "n1", "first"), ("Second", "n2", "second"),
          ("Third", "n3", "third")]),
        ("Standings", P + """SELECT ?classification ?label ?rank ?competitor ?name ?_this WHERE {
            ?classification sg:season ?_this ; rdfs:label ?label . ?st sg:classification ?classification ;
            sg:rank ?rank ; sg:competitor ?competitor . ?competitor rdfs:label ?name } ORDER BY ?label ?rank""",
         [("Classification", "label", "classification"), ("Place", "rank", None),
          ("Competitor", "name", "competitor")]),
    ],
    "Nation": [
        ("By season", MEDALS + """ ?season ?year ?_this WHERE {
            ?r sg:nation ?_this ; sg:rank ?rank ; sg:race/sg:season ?season . """ + SEASON_NAME + """ }
            GROUP BY ?season ?year ?_this ORDER BY ?season""",
         [("Season", "year", "season"), *MEDAL_COLUMNS]),
        ("Skaters", P + """SELECT ?skater ?name (COUNT(?r) AS ?podiums) ?_this WHERE {
            ?skater sg:nation ?_this ; a sg:Skater ; rdfs:label ?name . OPTIONAL { ?r sg:competitor ?skater } }
            GROUP BY ?skater ?name ?_this ORDER BY DESC(?podiums) ?name""",
         [("Skater", "name", "skater"), ("Podium places", "podiums", None)]),
        ("Relay teams", P + """SELECT ?team ?name ?_this WHERE { ?team sg:nation ?_this ; a sg:RelayTeam ;
            rdfs:label ?name } ORDER BY ?name""", [("Team", "name", "team")]),
        ("Medal table", MEDALS + """ ?category ?_this WHERE {
            ?r sg:nation ?_this ; sg:rank ?rank ; sg:race/sg:category/rdfs:label ?category }
            GROUP BY ?category ?_this ORDER BY ?category""",
         [("Category", "category", None), *MEDAL_COLUMNS]),
    ],
    "Venue": [
        ("Races", races_by("sg:venue"), WINNERS),
    ],
}  # fmt: skip


def rows_of(query: Query, this: Bound, select: Select | None = None) -> list[Row]:
    """A section's rows, evaluated in the web process: the queries are ours, and bounded by the resource."""
    select = select or asked_once(this)
    return select(query) if isinstance(query, str) else query.select(select)


def asked_once(this: Bound) -> Select:
    """The rows of a query about the resource, evaluated here the first time a page asks for them."""
    svc = get_service()
    asked: dict[str, list[Row]] = {}

    def select(text: str) -> list[Row]:
        if text not in asked:
            asked[text] = svc.select_here(text, this)
        return asked[text]

    return select


def nation_of(select: Select) -> Row | None:
    """The nation of a competitor's latest podium place or standing (a standing dated by the last day of
    its season's stages), the first by IRI of those of one day; with its name and code if it has them.
    As `SELECT ?nation ?name ?code ?_this WHERE { { ?r sg:competitor ?_this ; sg:nation ?nation ; sg:race
    ?race . ?race (sg:date|sg:startDate) ?date } UNION { ?r sg:competitor ?_this ; sg:nation ?nation ;
    sg:classification ?c . ?c sg:season ?season . ?stage sg:season ?season ; sg:endDate ?date } OPTIONAL
    { ?nation rdfs:label ?name } OPTIONAL { ?nation skos:notation ?code } } ORDER BY DESC(?date) ?nation
    LIMIT 1` gives it. Dates are compared as text: the builder writes xsd:date as `YYYY-MM-DD`."""
    dated = [(row["date"]["value"], row["nation"]["value"], row["_this"]) for row in select(RESULTS)
             if "date" in row and "nation" in row]  # fmt: skip
    for row in select(STANDINGS):
        if "nation" not in row or "season" not in row:
            continue
        end = season_end(row["season"]["value"])
        if end is not None:
            dated.append((end, row["nation"]["value"], row["_this"]))
    if not dated:
        return None
    latest = max(date for date, _nation, _this in dated)
    nation = min(nation for date, nation, _this in dated if date == latest)
    found: Row = {"nation": {"type": "uri", "value": nation}, "_this": dated[0][2]}
    names = get_service().select_here(NATION_NAME, (("_this", ox.NamedNode(nation)),))
    return {**found, **{k: v for k, v in (names[0] if names else {}).items() if k != "_this"}}


def season_end(season: str) -> str | None:
    """The last day of a season's stages (the latest sg:endDate of what is in the season), found once a
    generation and web process: every skater's page of a season's standings asks for it (issue 14)."""
    svc = get_service()
    generation, ends = svc.derived("season ends", lambda generation: (generation, dict[str, str | None]()))
    if season not in ends:
        rows = svc.select_here(SEASON_END, (("_this", ox.NamedNode(season)),), generation)
        ends[season] = rows[0]["end"]["value"] if rows and "end" in rows[0] else None
    return ends[season]
