"""The pictures on the pages, and the names beside them: a skater's and a nation's podiums per season
and a season's medals by nation, as SVG drawn on the server, each beside the table it draws; nations
by name, a skater's nation at the top of the page, link statements named for what they link.

Expected numbers come from SPARQL asked in the test itself, over the app's own store."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .conftest import BASE, ID, SEED, build
from .season_facts import SEASONS
from .server import App, Client, rows, running_app, seed_app

SVG = "{http://www.w3.org/2000/svg}"
PREFIXES = """PREFIX sg: <https://w3id.org/skategraph/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[App]:
    """The seed, one season, in an app of its own (the hostile test writes to it)."""
    with seed_app(tmp_path_factory.mktemp("charts-seed"), seed=seed_dir) as running:
        yield running


@pytest.fixture(scope="module")
def seasons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """Three real seasons (2001–02 to 2003–04): skaters and nations on the podium in several."""
    store = tmp_path_factory.mktemp("charts-seasons") / "store"
    build(store, SEASONS / "2001-02.txt", SEED, SEASONS / "2003-04.txt")
    with running_app(store) as running:
        yield running


class Page(HTMLParser):
    """A page's images, links, and the tables inside each element with an id, as cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.links: list[tuple[str | None, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, id) of the elements we are in
        self._cell: list[str] | None = None
        self._link: tuple[str | None, list[str]] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found)
            return
        self._open.append((tag, found.get("id")))
        if tag == "a":
            self._link = (found.get("href"), [])
        if tag == "tr" and self._in_body():
            for name in self._ids():
                self.tables.setdefault(name, []).append([])
        if tag == "td" and self._in_body():
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            for name in self._ids():
                self.tables[name][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], "".join(self._link[1]).strip()))
            self._link = None
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._link is not None:
            self._link[1].append(data)

    def _ids(self) -> list[str]:
        return [name for _tag, name in self._open if name]

    def _in_body(self) -> bool:
        return any(tag == "tbody" for tag, _name in self._open)


def page(client: Client, path: str) -> Page:
    reply = client.get(path, Accept="text/html")
    assert reply.status == 200, reply.text
    return Page(reply.text)


def chart_of(client: Client, found: Page, chart: str) -> tuple[dict[str, str | None], ET.Element]:
    """The page's one image of `chart` (a same-origin SVG, described by a table), parsed as XML."""
    [image] = [i for i in found.images if (i.get("src") or "").endswith(f"/{chart}.svg")]
    src = image["src"] or ""
    assert src.startswith("/") and not src.startswith("//"), src  # same origin: the pages' img-src 'self'
    reply = client.get(src)
    assert reply.status == 200 and (reply.header("Content-Type") or "").startswith("image/svg+xml")
    assert "default-src 'none'" in (reply.header("Content-Security-Policy") or "")
    root = ET.fromstring(reply.body)  # well-formed XML, or this raises
    assert root.tag == SVG + "svg"
    assert not [e for e in root.iter() if e.tag in (SVG + "script", "script", SVG + "foreignObject")]
    assert not [name for e in root.iter() for name in e.attrib if name.lower().startswith("on")]
    return image, root


def bars(root: ET.Element) -> dict[str, list[tuple[str, int]]]:
    """Each series (by its legend) as the bars drawn for it: (the bar's label, its value)."""
    legends = [
        "".join(t.itertext()).strip()
        for g in root.iter(SVG + "g")
        if "legend" in (g.get("class") or "").split()
        for t in g.iter(SVG + "text")
    ]
    plot = next(g for g in root.iter(SVG + "g") if (g.get("class") or "").split() == ["plot"])
    drawn: dict[str, list[tuple[str, int]]] = {}
    for number, legend in enumerate(legends):
        series = next(g for g in plot.iter(SVG + "g") if f"serie-{number}" in (g.get("class") or "").split())
        drawn[legend] = [
            (
                next(d.text or "" for d in bar.iter(SVG + "desc") if d.get("class") == "x_label"),
                int(next(d.text or "" for d in bar.iter(SVG + "desc") if d.get("class") == "value")),
            )
            for bar in series.iter(SVG + "g")
            if bar.get("class") == "bar"
        ]
    return drawn


def expect(client: Client, sparql: str) -> list[dict[str, str]]:
    reply = client.query(PREFIXES + sparql)
    assert reply.status == 200, reply.text
    return rows(reply.body)


def check(client: Client, path: str, chart: str, legends: list[str], expected: list[dict[str, str]]) -> ET.Element:
    """The page at `path` shows the chart `chart` of `expected` (rows of `label` and one count per
    legend, in order): a bar per row in each series with its count, and the table it describes."""
    found = page(client, path)
    image, root = chart_of(client, found, chart)
    labels = [row["label"] for row in expected]
    drawn = bars(root)
    assert list(drawn) == legends
    for number, legend in enumerate(legends):
        assert drawn[legend] == [(row["label"], int(row[f"n{number}"])) for row in expected], legend
    table = found.tables[image["aria-describedby"] or ""]
    assert [cells[0] for cells in table] == [row.get("name", row["label"]) for row in expected]
    counts = [[int(cell) for cell in cells if cell.isdigit()] for cells in table]
    for cells, row in zip(counts, expected, strict=True):
        assert cells[: len(legends)] == [int(row[f"n{n}"]) for n in range(len(legends))]
        assert cells[len(legends)] == sum(cells[: len(legends)])  # the total
    assert all(label in (image["alt"] or "") for label in labels)
    return root


SKATER_BY_SEASON = """SELECT ?label ?n0 ?n1 ?n2 WHERE {
  { SELECT ?season (SUM(IF(?rank = 1, 1, 0)) AS ?n0) (SUM(IF(?rank = 2, 1, 0)) AS ?n1) (SUM(IF(?rank = 3, 1, 0)) AS ?n2)
    WHERE { ?r sg:competitor <THIS> ; sg:rank ?rank ; sg:race ?race . ?race sg:season ?season } GROUP BY ?season }
  ?season rdfs:label ?title BIND(STRBEFORE(?title, " ") AS ?label) } ORDER BY ?season"""
NATION_BY_SEASON = SKATER_BY_SEASON.replace("sg:competitor", "sg:nation")


@pytest.mark.parametrize("skater", ["ahn-hyun-soo", "evgenia-radanova", "apolo-anton-ohno"])
def test_a_skaters_podiums_per_season_are_drawn_beside_their_table(seasons: App, skater: str) -> None:
    expected = expect(seasons, SKATER_BY_SEASON.replace("THIS", ID + "skater/" + skater))
    assert expected
    check(seasons, f"/id/skater/{skater}", "podiums", ["1st", "2nd", "3rd"], expected)


def test_a_skater_with_podiums_in_one_season_gets_a_bar_for_it(seed: App) -> None:
    expected = expect(seed, SKATER_BY_SEASON.replace("THIS", ID + "skater/ahn-hyun-soo"))
    assert [row["label"] for row in expected] == ["2002–03"]
    root = check(seed, "/id/skater/ahn-hyun-soo", "podiums", ["1st", "2nd", "3rd"], expected)
    [bar, *_] = [r for r in root.iter(SVG + "rect") if "tooltip-trigger" in (r.get("class") or "")]
    assert float(bar.get("width") or 0) <= 80  # a bar, not a slab across the whole chart


@pytest.mark.parametrize("nation", ["KOR", "CAN", "BUL"])
def test_a_nations_podiums_per_season_are_drawn_beside_their_table(seasons: App, nation: str) -> None:
    expected = expect(seasons, NATION_BY_SEASON.replace("THIS", ID + "nation/" + nation))
    assert expected
    check(seasons, f"/id/nation/{nation}", "podiums", ["Gold", "Silver", "Bronze"], expected)


def test_a_seasons_medals_by_nation_are_drawn_beside_their_table(seed: App) -> None:
    expected = expect(
        seed,
        """SELECT ?label ?name ?n0 ?n1 ?n2 WHERE {
      { SELECT ?nation (SUM(IF(?rank = 1, 1, 0)) AS ?n0) (SUM(IF(?rank = 2, 1, 0)) AS ?n1)
               (SUM(IF(?rank = 3, 1, 0)) AS ?n2)
        WHERE { ?r sg:nation ?nation ; sg:rank ?rank ; sg:race/sg:season <SEASON> } GROUP BY ?nation }
      ?nation skos:notation ?label ; rdfs:label ?nationname BIND(CONCAT(?nationname, " (", ?label, ")") AS ?name) } ORDER BY DESC(?n0) DESC(?n1) DESC(?n2) ?label""".replace(
            "SEASON", ID + "season/2002-03"
        ),
    )
    assert len(expected) >= 10
    check(seed, "/id/season/2002-03", "medals", ["Gold", "Silver", "Bronze"], expected)


def test_a_resource_with_no_podium_gets_no_chart(seed: App) -> None:
    nobody = f"<{ID}skater/chart-test-nobody>"
    assert seed.update(f'{PREFIXES}INSERT DATA {{ GRAPH <http://ex/nobody> {{ {nobody} a sg:Skater ; rdfs:label "Nobody" ; '
                       f"sg:nation <{ID}nation/KOR> }} }}").status == 204  # fmt: skip
    found = page(seed, "/id/skater/chart-test-nobody")
    assert found.images == []
    assert seed.get("/id/skater/chart-test-nobody/podiums.svg").status == 404
    assert seed.get("/id/skater/ahn-hyun-soo/medals.svg").status == 404  # a skater has no medal table
    assert seed.get("/id/skater/no-such-skater/podiums.svg").status == 404


def test_hostile_labels_are_text_in_the_chart_and_on_the_page(seed: App) -> None:
    """A season named like markup, and a skater whose name would end the JSON-LD block, on the podium."""
    hostile = '<!--<script>alert("x")&amp;</script>-->'
    literal = hostile.replace("\\", "\\\\").replace('"', '\\"')
    update = f"""{PREFIXES}INSERT DATA {{ GRAPH <http://ex/hostile-chart> {{
      <{ID}skater/chart-hostile> a sg:Skater ; rdfs:label "{literal} the skater" .
      <{ID}season/chart-hostile> a sg:Season ; rdfs:label "{literal}" .
      <{ID}race/chart-hostile> a sg:Race ; sg:season <{ID}season/chart-hostile> ; rdfs:label "{literal} race" .
      <{ID}result/chart-hostile> sg:competitor <{ID}skater/chart-hostile> ; sg:rank 1 ;
          sg:race <{ID}race/chart-hostile> ; sg:nation <{ID}nation/KOR> }} }}"""
    assert seed.update(update).status == 204
    reply = seed.get("/id/skater/chart-hostile", Accept="text/html")
    assert reply.status == 200
    assert "<script>alert" not in reply.text and "<!--<script>" not in reply.text
    found = Page(reply.text)
    image, root = chart_of(seed, found, "podiums")
    assert bars(root)["1st"] == [(hostile, 1)]  # the label is the text of the data, whole
    assert hostile in (image["alt"] or "")
    assert [cells[:2] for cells in found.tables[image["aria-describedby"] or ""]] == [[hostile, "1"]]
    # The season's own page: the hostile season's medals, by nation.
    _image, season = chart_of(seed, page(seed, "/id/season/chart-hostile"), "medals")
    assert bars(season)["Gold"] == [("KOR", 1)]


def test_nations_have_names_on_the_front_page(seed: App) -> None:
    nations = expect(seed, "SELECT ?nation ?code ?name WHERE { ?nation a sg:Nation ; skos:notation ?code ; "
                           "rdfs:label ?name FILTER EXISTS { ?r sg:nation ?nation ; sg:rank ?k } }")  # fmt: skip
    assert len(nations) >= 10
    found = page(seed, "/")
    text = "".join(found.text)
    for nation in nations:
        assert ("/" + nation["nation"][len(BASE) :], nation["name"]) in found.links
        assert f"{nation['name']} ({nation['code']})" in text


def test_a_skaters_nation_is_at_the_top_of_the_page(seed: App) -> None:
    reply = seed.get("/id/skater/ahn-hyun-soo", Accept="text/html")
    top = reply.text.split("<h2", 1)[0]  # above the first section
    found = Page(top)
    assert ("/id/nation/KOR", "South Korea") in found.links
    assert "(KOR)" in "".join(found.text)


def test_link_statements_and_links_are_named_not_bare_iris(seed: App) -> None:
    statements = expect(seed, "SELECT ?statement ?subject ?name ?object WHERE { ?statement a rdf:Statement ; "
                              "rdf:subject ?subject ; rdf:predicate owl:sameAs ; rdf:object ?object . "
                              "?subject rdfs:label ?name } ORDER BY ?statement LIMIT 3")  # fmt: skip
    assert len(statements) == 3
    wikidata = "http://www.wikidata.org/entity/"
    for row in statements:
        assert row["object"].startswith(wikidata)
        readable = "Wikidata " + row["object"][len(wikidata) :]
        subject = page(seed, "/" + row["subject"][len(BASE) :])
        # Referenced by: the statement, named for the link it makes; Properties: the linked resource.
        assert ("/" + row["statement"][len(BASE) :], f"owl:sameAs {readable}") in subject.links
        assert (row["object"], readable) in subject.links
        texts = [text for _href, text in subject.links]
        assert row["statement"] not in texts and row["object"] not in texts
        reply = seed.get("/" + row["statement"][len(BASE) :], Accept="text/html")
        assert (
            html.unescape(reply.text.split("<h1>", 1)[1].split("</h1>", 1)[0]) == f"{row['name']} owl:sameAs {readable}"
        )
