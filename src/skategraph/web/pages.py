"""HTML pages for people: one per resource, the ontology, rendered on the server with Jinja.

Every page works without JavaScript and embeds its data as JSON-LD in schema.org terms. The data
comes from SPARQL of ours, bounded by the resource, evaluated in the web process
(`Service.select_here`: no hop to a worker), with the resource bound as `?_this`; nothing from the
request is pasted into a query. Links to our own IRIs point at this server, so a
person can follow them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import pyoxigraph as ox
from flask import Response, g, render_template, url_for
from markupsafe import Markup, escape

from skategraph.engine.jobs import Bound
from skategraph.errors import UnknownResource
from skategraph.graph.vocab import ONTOLOGY_IRI, PREFIXES, SG, sparql_prologue
from skategraph.web import charts
from skategraph.web.charts import CHARTS, Chart, draw
from skategraph.web.service import get_service

Row = dict[str, dict[str, str]]
P = sparql_prologue("sg", "rdf", "rdfs", "skos") + "\n"
RDF = PREFIXES["rdf"]
WIKIDATA = "http://www.wikidata.org/entity/"
DBPEDIA = "http://dbpedia.org/resource/"
TYPES = "SELECT ?type ?_this WHERE { ?_this a ?type }"
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

OUTGOING = (
    P
    + """SELECT ?p ?plabel ?o ?olabel ?_this WHERE {
  ?_this ?p ?o OPTIONAL { ?p rdfs:label ?plabel } OPTIONAL { ?o rdfs:label ?olabel } } ORDER BY ?p ?o"""
)
# What points here, as `?s ?p ?_this OPTIONAL { ?s rdfs:label ?slabel } OPTIONAL { ?p rdfs:label ?plabel }
# OPTIONAL { FILTER(?p = rdf:subject) ?s rdf:predicate ?via ; rdf:object ?linked OPTIONAL { ?linked
# rdfs:label ?linkedlabel } } ORDER BY ?p ?s LIMIT 200` gives it, from three queries joined and ordered
# here (`incoming`): Oxigraph's ORDER BY decodes both terms of every comparison from the store, which
# cost two thirds of the query for a skater (23 ms of 34) and 1.2 s for a nation (issue 14). A link
# statement pointing here (`?s rdf:subject ?_this`) has no label: it is named for what it links to.
INCOMING = P + "SELECT ?s ?slabel ?p ?_this WHERE { ?s ?p ?_this OPTIONAL { ?s rdfs:label ?slabel } }"
# The labels of a property pointing here, asked once for each property INCOMING found: as `SELECT DISTINCT
# ?p ?plabel WHERE { ?s ?p ?_this OPTIONAL { ?p rdfs:label ?plabel } }`, Oxigraph looked a property's
# label up once for every row (issue 14). (As a join, `?p rdfs:label ?plabel` would be where Oxigraph
# starts: every label of the store.)
PROPERTY_LABEL = P + "SELECT ?plabel ?_this WHERE { ?_this rdfs:label ?plabel }"
INCOMING_LINKS = (
    P
    + """SELECT ?s ?via ?linked ?linkedlabel ?_this WHERE { ?s rdf:subject ?_this ; rdf:predicate ?via ;
  rdf:object ?linked OPTIONAL { ?linked rdfs:label ?linkedlabel } }"""
)
INCOMING_SHOWN = 200


# A competitor's podium places, each with its race, the race's season and the nation it was won for:
# the rows of a skater's "Podium places", "By season" (counted here, `by_season`) and nation, asked once
# (issue 14: as three queries, each walked the same places). The shapes give a result one rank, race and
# nation, and a race one label, distance, stage, venue and season, so no place is lost or doubled.
RESULTS = P + """SELECT ?race ?label ?date ?stage ?venue ?distance ?rank ?season ?title ?nation ?_this WHERE {
  ?r sg:competitor ?_this ; sg:rank ?rank ; sg:race ?race ; sg:nation ?nation .
  ?race rdfs:label ?label ; (sg:date|sg:startDate) ?date ; sg:distance ?distance ; sg:stage ?stage ;
    sg:venue/rdfs:label ?venue ; sg:season ?season . ?season rdfs:label ?title }
  ORDER BY ?date ?label"""  # fmt: skip
# A skater's standings, with the nation each was won for and its season (for `nation_of`).
STANDINGS = P + """SELECT ?classification ?label ?rank ?nation ?season ?_this WHERE {
  ?st sg:competitor ?_this ; sg:classification ?classification ; sg:rank ?rank ; sg:nation ?nation .
  ?classification rdfs:label ?label ; sg:season ?season } ORDER BY ?label"""  # fmt: skip
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
#   (`Joined`); an OPTIONAL of one pattern about a bound subject (a label) is cheap, and stays.
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


def _only(*names: str) -> Callable[[list[Row]], list[Row]]:
    """Rows with only these variables: what the section's own query gave, before it was merged."""
    return lambda rows: [{name: row[name] for name in names if name in row} for row in rows]


def by_season(results: list[Row]) -> list[Row]:
    """A competitor's podium places counted by season, as `SELECT ?season ?year (SUM(IF(?rank = 1, 1, 0))
    AS ?wins) (SUM(IF(?rank = 2, 1, 0)) AS ?seconds) (SUM(IF(?rank = 3, 1, 0)) AS ?thirds) (COUNT(?r) AS
    ?podiums) ?_this WHERE { ?r sg:competitor ?_this ; sg:rank ?rank ; sg:race/sg:season ?season .
    ?season rdfs:label ?title BIND(IF(CONTAINS(?title, " "), STRBEFORE(?title, " "), ?title) AS ?year) }
    GROUP BY ?season ?year ?_this ORDER BY ?season` gives them, from RESULTS' rows (issue 14)."""
    seasons: dict[tuple[str, str], tuple[Row, list[int]]] = {}
    for row in results:
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


PODIUM_PLACES = Derived((RESULTS,), _only("race", "label", "date", "stage", "venue", "distance", "rank", "_this"))

# A season's podium places, with the competitors' names and the nations' codes and names: the rows of
# its medal table (counted here, `medal_table`) and of its podiums (`placed_in`), asked once (issue 14:
# as four queries, each walked the season's races). The shapes give a result one rank, competitor and
# nation, and each of those one label, and a nation one code.
SEASON_RESULTS = P + """SELECT ?race ?rank ?competitor ?name ?nation ?code ?label ?_this WHERE {
  ?race sg:season ?_this . ?r sg:race ?race ; sg:rank ?rank ; sg:competitor ?competitor ; sg:nation ?nation .
  ?competitor rdfs:label ?name . ?nation skos:notation ?code ; rdfs:label ?label }"""  # fmt: skip


def medal_table(results: list[Row]) -> list[Row]:
    """A season's podium places counted by nation, as `MEDALS ?nation ?code (CONCAT(?label, " (", ?code,
    ")") AS ?name) ?_this WHERE { ?race sg:season ?_this . ?r sg:race ?race ; sg:rank ?rank ; sg:nation
    ?nation . ?nation skos:notation ?code ; rdfs:label ?label } GROUP BY ?nation ?code ?label ?_this ORDER
    BY DESC(?gold) DESC(?silver) DESC(?bronze) ?code` gives them, from SEASON_RESULTS' rows (issue 14)."""
    nations: dict[tuple[str, str, str], tuple[Row, list[int]]] = {}
    for row in results:
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
        return [{"race": row["race"], competitor: row["competitor"], name: row["name"], "_this": row["_this"]}
                for row in results if row["rank"] == term]  # fmt: skip

    return Derived((SEASON_RESULTS,), make)


Query = str | Joined | Derived
# Per class: (section title, query with ?_this, [(column header, variable shown, variable linked)]).
SECTIONS: dict[str, list[tuple[str, Query, list[tuple[str, str, str | None]]]]] = {
    "Skater": [
        ("By season", Derived((RESULTS,), by_season),
         [("Season", "year", "season"), ("Wins", "wins", None), ("Second", "seconds", None),
          ("Third", "thirds", None), ("Podiums", "podiums", None)]),
        ("Podium places", PODIUM_PLACES, PLACES),
        ("Standings", Derived((STANDINGS,), _only("classification", "label", "rank", "_this")),
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

# schema.org types for the JSON-LD a page embeds.
SCHEMA = {
    "Skater": "Person",
    "RelayTeam": "SportsTeam",
    "Race": "SportsEvent",
    "Stage": "SportsEvent",
    "Season": "EventSeries",
    "Nation": "Country",
    "Venue": "Place",
}


@dataclass
class Section:
    title: str
    columns: list[tuple[str, str, str | None]]
    rows: list[Row] = field(default_factory=list)
    chart: Chart | None = None  # drawn from these rows, at `chart_url`
    chart_url: str = ""

    @property
    def anchor(self) -> str:
        return "table-" + "-".join(self.title.lower().split())


def _here() -> tuple[str, str]:
    """The base of our IRIs and the ontology page's path, found once a request: a page links a few
    hundred IRIs, and each lookup of the base reads the store's `current` link (issue 14)."""
    found: tuple[str, str] | None = g.get("skategraph_links")
    if found is None:
        found = g.skategraph_links = (get_service().manifest()["base"], url_for("linkeddata.ontology"))
    return found


def local(iri: str) -> str:
    """Where to follow an IRI: our own ones on this server, others as they are."""
    base, ontology = _here()
    if iri.startswith(SG):
        return ontology + "#" + iri[len(SG) :]
    if iri == ONTOLOGY_IRI:
        return ontology
    if iri.startswith(base):
        return "/" + iri[len(base) :]
    if urlsplit(iri).scheme in ("http", "https"):
        return iri
    # Never a link to another scheme (`javascript:` is one): the IRI is described on our query page.
    return url_for("front.query_page", query=f"DESCRIBE <{iri}>")


def table(columns: list[tuple[str, str, str | None]], rows: list[Row]) -> Markup:
    """A section's table: a column for each (header, variable shown, variable linked). Written here
    rather than as a Jinja macro, which cost a macro call a cell: most of a big page's rendering."""
    if not rows:
        return Markup('<p class="empty">None.</p>')
    head = "".join(f"<th>{escape(header)}</th>" for header, _var, _link in columns)
    lines = []
    for row in rows:
        cells = "".join(f"<td>{_cell(row.get(var), row.get(link) if link else None)}</td>" for _h, var, link in columns)
        lines.append(f"<tr>{cells}</tr>\n  ")
    body = "".join(lines)
    return Markup(f"\n<table>\n  <thead><tr>{head}</tr></thead>\n  <tbody>\n  {body}\n  </tbody>\n</table>\n")


def _cell(value: dict[str, str] | None, link: dict[str, str] | None) -> str:
    """A cell, escaped: the value, linked to `link` if it is an IRI, else to itself if it is one."""
    target = link if link and link["type"] == "uri" else value if value and value["type"] == "uri" else None
    text = escape(value["value"]) if value else ""
    if target is None:
        return text
    return f'<a href="{escape(local(target["value"]))}">{text}</a>'


def _script_safe(text: str) -> str:
    """JSON for a <script> block: `<`, `>` and `&` escaped, so no label can end the block or open a
    comment in it (`<!--<script>` would otherwise blank the page)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def readable(iri: str) -> str:
    """A name for an IRI the graph gives no label: a prefixed name, `Wikidata Q38`, `DBpedia: Ahn
    Hyun-soo`, the path of one of ours (`standing / 2002-03 / men-500m / 3`), or host and last segment."""
    prefixed = short(iri)
    if prefixed != iri:
        return prefixed
    base, _ontology = _here()
    if iri.startswith(base + "id/"):
        return " / ".join(unquote(iri[len(base) + 3 :]).split("/"))
    if iri.startswith(WIKIDATA):
        return "Wikidata " + iri[len(WIKIDATA) :]
    if iri.startswith(DBPEDIA):
        return "DBpedia: " + unquote(iri[len(DBPEDIA) :]).replace("_", " ")
    parts = urlsplit(iri)
    if parts.scheme in ("http", "https") and parts.netloc:
        last = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]).replace("_", " ")
        return f"{parts.netloc}: {last}" if last else parts.netloc
    return iri


def statement_label(rows: list[Row]) -> str | None:
    """A link statement (an `rdf:Statement` of a link to another dataset, with its method and score)
    named for what it says: `Bulgaria owl:sameAs Wikidata Q219`, from its own triples."""
    said = {row["p"]["value"]: row for row in rows}
    if any(RDF + part not in said for part in ("subject", "predicate", "object")):
        return None
    subject, predicate, thing = (said[RDF + part] for part in ("subject", "predicate", "object"))
    return f"{name_of(subject, 'o')} {short(predicate['o']['value'])} {name_of(thing, 'o')}"


def name_of(row: Row, var: str) -> str:
    """The label the query found for `var` (as `<var>label`), else a readable form of its IRI."""
    if var + "label" in row:
        return row[var + "label"]["value"]
    return readable(row[var]["value"]) if row[var]["type"] == "uri" else row[var]["value"]


def incoming_name(row: Row) -> str:
    """What a resource pointing here is called: its label; for a link statement, what it links to."""
    if "slabel" in row:
        return row["slabel"]["value"]
    if "via" in row and "linked" in row:
        return f"{short(row['via']['value'])} {name_of(row, 'linked')}"
    return name_of(row, "s")


def short(iri: str) -> str:
    """An IRI as a prefixed name where a known prefix fits."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def resource_page(iri: str) -> Response:
    svc = get_service()
    this = (("_this", ox.NamedNode(iri)),)
    outgoing = svc.select_here(OUTGOING, this)
    incoming_rows = incoming(this)
    types = [r["o"]["value"] for r in outgoing if r["p"]["value"] == PREFIXES["rdf"] + "type"]
    label = next((r["o"]["value"] for r in outgoing if r["p"]["value"] == PREFIXES["rdfs"] + "label"), None)
    label = label or statement_label(outgoing) or readable(iri)
    kinds = [t[len(SG) :] for t in types if t.startswith(SG)]
    kind = _kind(types)
    select = asked_once(this)
    sections = [
        Section(title, columns, rows_of(query, this, select)) for title, query, columns in SECTIONS.get(kind, ())
    ]
    chart = CHARTS.get(kind)
    for section in sections:
        if chart and section.title == chart.section and section.rows:  # no podiums, no chart
            section.chart, section.chart_url = chart, f"{local(iri)}/{chart.name}.svg"
    nation = nation_of(select) if kind in ("Skater", "RelayTeam") else None
    shown = nation["nation"]["value"] if nation else None
    body = render_template(
        "resource.html",
        iri=iri,
        label=label,
        kinds=kinds,
        sections=sections,
        nation=nation,
        readable=readable,
        incoming_name=incoming_name,
        chart_width=charts.width,
        chart_height=charts.HEIGHT,
        outgoing=outgoing,
        incoming=incoming_rows,
        jsonld=_script_safe(json.dumps(_jsonld(iri, label, kind, outgoing, shown), ensure_ascii=False, indent=1)),
        local=local,
        short=short,
        table=table,
        sg=SG,
    )
    return Response(body, mimetype="text/html")


def incoming(this: Bound) -> list[Row]:
    """The first INCOMING_SHOWN of what points here, by property and then subject (blank nodes first,
    as SPARQL orders them), with their labels."""
    svc = get_service()
    found = svc.select_here(INCOMING, this)
    labels: dict[str, list[Row]] = {}
    for prop in dict.fromkeys(row["p"]["value"] for row in found):
        named = svc.select_here(PROPERTY_LABEL, (("_this", ox.NamedNode(prop)),))
        labels[prop] = [{"plabel": row["plabel"]} for row in named]
    links: dict[str, list[Row]] = {}
    for row in svc.select_here(INCOMING_LINKS, this):
        links.setdefault(row["s"]["value"], []).append({k: v for k, v in row.items() if k != "s"})
    rows = [
        {**row, **label, **link}
        for row in found
        for label in labels[row["p"]["value"]] or [{}]
        for link in (links.get(row["s"]["value"], [{}]) if row["p"]["value"] == RDF + "subject" else [{}])
    ]
    rows.sort(key=lambda row: (row["p"]["value"], row["s"]["type"] != "bnode", row["s"]["value"]))
    return rows[:INCOMING_SHOWN]


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
    dated = [(row["date"]["value"], row["nation"]["value"], row["_this"]) for row in select(RESULTS)]
    for row in select(STANDINGS):
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


def _kind(types: list[str]) -> str:
    """The kind of page for a resource of these types: the first of ours with sections."""
    kinds = [t[len(SG) :] for t in types if t.startswith(SG)]
    return next((k for k in kinds if k in SECTIONS), kinds[0] if kinds else "")


def chart_response(iri: str, name: str) -> Response:
    """The SVG chart `name` of a resource, from the rows of the table its page shows beside it."""
    svc = get_service()
    this = (("_this", ox.NamedNode(iri)),)
    kind = _kind([row["type"]["value"] for row in svc.select_here(TYPES, this)])
    chart = CHARTS.get(kind)
    if chart is None or chart.name != name:
        raise UnknownResource(f"{iri} has no chart {name}.svg")
    query = next(query for title, query, _columns in SECTIONS[kind] if title == chart.section)
    rows = rows_of(query, this)
    if not rows:
        raise UnknownResource(f"{iri} has no podium places to draw")
    response = Response(draw(chart, rows), mimetype="image/svg+xml")
    # Opened on its own, the file is a document: it may style itself, and nothing else.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.cache_control.public = True  # as query answers are: a page shown again need not redraw it
    response.cache_control.max_age = svc.settings.cache_max_age
    return response


def _jsonld(iri: str, label: str, kind: str, outgoing: list[Row], nation: str | None) -> dict[str, Any]:
    """The page's schema.org data; `nation` is the one the page says the skater or team skates for."""
    data: dict[str, Any] = {"@context": "https://schema.org", "@id": iri, "@type": SCHEMA.get(kind, "Thing"),
                            "name": label, "url": iri}  # fmt: skip
    values: dict[str, list[str]] = {}
    for row in outgoing:
        values.setdefault(row["p"]["value"], []).append(row["o"]["value"])
    sg = {p[len(SG) :]: v for p, v in values.items() if p.startswith(SG)}
    if "date" in sg:
        data["startDate"] = sg["date"][0]
    if "startDate" in sg:
        data["startDate"] = sg["startDate"][0]
    if "endDate" in sg:
        data["endDate"] = sg["endDate"][0]
    if "venue" in sg:
        data["location"] = {"@id": sg["venue"][0]}
    if nation is not None and kind in ("Skater", "RelayTeam"):
        data["nationality" if kind == "Skater" else "location"] = {"@id": nation}
    same = values.get(PREFIXES["owl"] + "sameAs", [])
    if same:
        data["sameAs"] = same
    alternates = values.get(PREFIXES["skos"] + "altLabel", [])
    if alternates:
        data["alternateName"] = alternates
    return data


ONTOLOGY_TERMS = (
    P
    + """PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?term ?kind ?label ?comment ?_graph WHERE { GRAPH ?_graph {
  ?term a ?kind . FILTER(?kind IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty, owl:NamedIndividual))
  FILTER(STRSTARTS(STR(?term), STR(sg:)))
  OPTIONAL { ?term rdfs:label ?label } OPTIONAL { ?term rdfs:comment ?comment } } } ORDER BY ?kind ?term"""
)
ONTOLOGY_LINKS = (
    P
    + """SELECT ?term ?p ?o ?_graph WHERE { GRAPH ?_graph { ?term ?p ?o .
  FILTER(STRSTARTS(STR(?term), STR(sg:))) FILTER(isIRI(?o))
  FILTER(?p NOT IN (rdfs:label, rdfs:comment)) } } ORDER BY ?term ?p ?o"""
)


def ontology_page() -> Response:
    svc = get_service()
    graph = (("_graph", ox.NamedNode(ONTOLOGY_IRI)),)
    terms: dict[str, dict[str, Any]] = {}
    for row in svc.select_here(ONTOLOGY_TERMS, graph):
        term = terms.setdefault(row["term"]["value"], {"kinds": [], "links": []})
        term["kinds"].append(short(row["kind"]["value"]))
        term["label"] = row.get("label", {}).get("value", "")
        term["comment"] = row.get("comment", {}).get("value", "")
    for row in svc.select_here(ONTOLOGY_LINKS, graph):
        if row["term"]["value"] in terms and row["p"]["value"] != PREFIXES["rdf"] + "type":
            terms[row["term"]["value"]]["links"].append((row["p"]["value"], row["o"]["value"]))
    body = render_template("ontology.html", terms=terms, sg=SG, local=local, short=short)
    return Response(body, mimetype="text/html")
