"""Records to RDF quads under the skategraph ontology.

Owns the shape of the data, not where it is stored. The dataset has one named graph per season
article (its races, results, stages and standings, with the article's provenance on the graph) and
one derived graph for the things that span seasons (skaters, relay teams, nations, venues, and the
build that made the dataset). A triple lives in exactly one graph: Oxigraph's union default graph
returns a triple once per graph that holds it.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from pyoxigraph import Literal, NamedNode, Quad

from skategraph import __version__
from skategraph.errors import SourceError
from skategraph.graph.ids import Minter, slug, wikipedia_url
from skategraph.graph.vocab import CC, CC_BY_SA, DCT, OWL, PROV, RDF, RDF_TYPE, RDFS_LABEL, SKOS, sg, xsd
from skategraph.source.folding import key as folded_key
from skategraph.source.linkfiles import Link
from skategraph.source.nations import Nation
from skategraph.source.records import Article, Category, Classification, Entrant, Placing, Race, Stage

SOFTWARE = NamedNode("https://w3id.org/skategraph/software")


# Ranks are xsd:positiveInteger in the ontology, but are written as xsd:integer: Oxigraph would store
# them so anyway (it keeps derived integer types under their primitive type), and writing what is
# stored keeps a dump, a query result and a SHACL check in agreement.
def _typed(value: object, datatype: str) -> Literal:
    return Literal(str(value), datatype=xsd(datatype))


def _ordinal(rank: int) -> str:
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


@dataclass(frozen=True)
class BuildInfo:
    """What provenance says about the build: its id and when it ran."""

    build_id: str
    time: datetime.datetime


@dataclass
class _Named:
    """A cross-season thing and every spelling the sources use for it, most frequent first."""

    spellings: Counter[str] = field(default_factory=Counter)
    nations: dict[str, None] = field(default_factory=dict)  # ordered set
    first_line: dict[Category, tuple[str, int]] = field(default_factory=dict)

    def label(self) -> str:
        # Most frequent spelling; ties go to the one seen first (Counter keeps insertion order).
        return self.spellings.most_common(1)[0][0]

    def alternatives(self) -> list[str]:
        main = self.label()
        return sorted(s for s in self.spellings if s != main)


def dataset_quads(
    articles: Sequence[Article],
    nations: dict[str, Nation],
    minter: Minter,
    info: BuildInfo,
    links: Sequence[Link] = (),
) -> Iterator[Quad]:
    """Every quad of the dataset built from `articles` (the ontology graph is loaded separately), and
    the `links` whose subject the dataset has, in their own graph."""
    seasons = {article.season: article for article in articles}
    for article in articles:
        yield from _ArticleGraph(article, minter, info).quads()
    entities = list(_entity_quads(articles, seasons, nations, minter, info))
    yield from entities
    present = {quad.subject for quad in entities}
    yield from link_quads([link for link in links if minter.keyed(link.subject) in present], minter)


def link_quads(links: Sequence[Link], minter: Minter) -> Iterator[Quad]:
    """Each link as owl:sameAs, and as an rdf:Statement saying how it was made."""
    graph = minter.links_graph()
    same_as = NamedNode(OWL + "sameAs")
    for link in links:
        subject = minter.keyed(link.subject)
        for target in (link.target, link.dbpedia):
            if not target:
                continue
            yield Quad(subject, same_as, NamedNode(target), graph)
            statement = minter.link(link.subject, target)
            yield Quad(statement, RDF_TYPE, NamedNode(RDF + "Statement"), graph)
            yield Quad(statement, NamedNode(RDF + "subject"), subject, graph)
            yield Quad(statement, NamedNode(RDF + "predicate"), same_as, graph)
            yield Quad(statement, NamedNode(RDF + "object"), NamedNode(target), graph)
            yield Quad(statement, sg("linkMethod"), Literal(link.method), graph)
            yield Quad(statement, sg("linkScore"), _typed(f"{link.score:.3f}", "decimal"), graph)
            if link.evidence:
                yield Quad(statement, sg("linkEvidence"), Literal(link.evidence), graph)
            if link.endpoint:
                yield Quad(statement, sg("linkEndpoint"), NamedNode(link.endpoint), graph)
            if link.date:
                yield Quad(statement, NamedNode(DCT + "date"), _typed(link.date, "date"), graph)
        # The names the target has where it was found, as it states them (label, then aliases).
        for i, name in enumerate(link.names):
            label = RDFS_LABEL if i == 0 else NamedNode(SKOS + "altLabel")
            yield Quad(NamedNode(link.target), label, Literal(name, language="en"), graph)


class _ArticleGraph:
    def __init__(self, article: Article, minter: Minter, info: BuildInfo) -> None:
        self.article = article
        self.mint = minter
        self.info = info
        self.graph = minter.season_graph(article.season)
        self.season = minter.season(article.season)
        self.stage_keys = _stage_keys(article.stages)
        self.venue_stages = Counter(slug(stage.venue) for stage in article.stages)

    def triple(self, s: NamedNode, p: NamedNode, o: NamedNode | Literal) -> Quad:
        return Quad(s, p, o, self.graph)

    def quads(self) -> Iterator[Quad]:
        a = self.article
        t = self.triple
        yield t(self.season, RDF_TYPE, sg("Season"))
        yield t(self.season, RDFS_LABEL, Literal(a.title))
        if a.start and a.end:
            yield t(self.season, sg("startDate"), _typed(a.start, "date"))
            yield t(self.season, sg("endDate"), _typed(a.end, "date"))
        if a.previous:
            yield t(self.season, sg("previousSeason"), self.mint.season(a.previous.key))
        if a.next:
            yield t(self.season, sg("nextSeason"), self.mint.season(a.next.key))
        numbered = all(stage.number is not None for stage in a.stages)
        for order, stage in enumerate(a.stages, start=1):
            yield from self.stage(stage.number if numbered and stage.number else order, stage)
        for classification in a.classifications:
            yield from self.classification(classification)
        yield from self.provenance()

    def stage(self, number: int, stage: Stage) -> Iterator[Quad]:
        t = self.triple
        key = self.stage_keys[stage]
        iri = self.mint.stage(self.article.season, key)
        venue = self.mint.venue(stage.venue)
        again = self.venue_stages[slug(stage.venue)] > 1  # Montreal twice in 2024-25: label them apart
        yield t(iri, RDF_TYPE, sg("Stage"))
        yield t(iri, RDFS_LABEL, Literal(f"{self.article.title} – {stage.venue}" + (f" ({number})" if again else "")))
        yield t(iri, sg("season"), self.season)
        yield t(iri, sg("venue"), venue)
        yield t(iri, sg("stageNumber"), _typed(number, "integer"))
        yield t(iri, sg("startDate"), _typed(stage.start, "date"))
        yield t(iri, sg("endDate"), _typed(stage.end, "date"))
        if stage.arena:
            yield t(iri, sg("arena"), Literal(stage.arena))
        for race in stage.races:
            yield from self.race(key, iri, venue, stage, race)

    def race(self, key: str, stage_iri: NamedNode, venue: NamedNode, stage: Stage, race: Race) -> Iterator[Quad]:
        t = self.triple
        season = self.article.season
        iri = self.mint.race(season, key, race.category, race.event)
        when = f"{race.date:%-d %B %Y}" if race.date else _days(stage)
        label = f"{_whose(race.category)} {race.event}, {stage.venue}, {when}"
        yield t(iri, RDF_TYPE, sg("Race"))
        if race.relay:
            yield t(iri, RDF_TYPE, sg("RelayRace"))
        yield t(iri, RDFS_LABEL, Literal(label))
        yield t(iri, sg("season"), self.season)
        yield t(iri, sg("stage"), stage_iri)
        yield t(iri, sg("venue"), venue)
        if race.date is not None:
            yield t(iri, sg("date"), _typed(race.date, "date"))
        else:  # the source gives the meeting's days only
            yield t(iri, sg("startDate"), _typed(stage.start, "date"))
            yield t(iri, sg("endDate"), _typed(stage.end, "date"))
        if race.number is not None:
            yield t(iri, sg("raceNumber"), _typed(race.number, "integer"))
        yield t(iri, sg("distance"), _typed(race.distance, "integer"))
        yield t(iri, sg("category"), sg(race.category.label))
        for placing in race.podium:
            result = self.mint.result(season, key, race.category, race.event, placing.rank)
            yield t(result, RDF_TYPE, sg("Result"))
            yield t(result, RDFS_LABEL, Literal(f"{placing.entrant.name}, {_ordinal(placing.rank)}, {label}"))
            yield from self.placing(result, iri, sg("race"), placing, race.category)
            for member in placing.entrant.members:
                yield t(result, sg("teamMember"), self.mint.skater(member))
            for text in placing.entrant.unsplit:
                yield t(result, sg("teamMembersAsWritten"), Literal(text))

    def classification(self, c: Classification) -> Iterator[Quad]:
        t = self.triple
        season = self.article.season
        iri = self.mint.classification(season, c.category, c.event)
        label = f"{_whose(c.category)} {c.event} standings, {self.article.title}"
        yield t(iri, RDF_TYPE, sg("Classification"))
        yield t(iri, RDFS_LABEL, Literal(label))
        yield t(iri, sg("season"), self.season)
        yield t(iri, sg("category"), sg(c.category.label))
        if c.distance is not None:
            yield t(iri, sg("distance"), _typed(c.distance, "integer"))
        if c.relay:
            yield t(iri, RDF_TYPE, sg("RelayClassification"))
        for placing in c.places:
            standing = self.mint.standing(season, c.category, c.event, placing.rank)
            yield t(standing, RDF_TYPE, sg("Standing"))
            yield t(standing, RDFS_LABEL, Literal(f"{placing.entrant.name}, {_ordinal(placing.rank)}, {label}"))
            yield t(standing, sg("season"), self.season)
            yield t(standing, sg("category"), sg(c.category.label))
            yield from self.placing(standing, iri, sg("classification"), placing, c.category)

    def placing(
        self, iri: NamedNode, parent: NamedNode, link: NamedNode, placing: Placing, category: Category
    ) -> Iterator[Quad]:
        t = self.triple
        yield t(iri, link, parent)
        yield t(iri, sg("rank"), _typed(placing.rank, "integer"))
        yield t(iri, sg("competitor"), _competitor(self.mint, placing.entrant, category))
        yield t(iri, sg("nation"), self.mint.nation(placing.entrant.nation))

    def provenance(self) -> Iterator[Quad]:
        t = self.triple
        a = self.article
        url = NamedNode(wikipedia_url(a.title))
        yield t(self.graph, RDF_TYPE, NamedNode(PROV + "Entity"))
        yield t(self.graph, RDFS_LABEL, Literal(f"{a.title}: results from the Wikipedia article"))
        yield t(self.graph, NamedNode(DCT + "title"), Literal(a.title))
        yield t(self.graph, NamedNode(DCT + "source"), url)
        yield t(self.graph, NamedNode(PROV + "wasDerivedFrom"), url)
        yield t(self.graph, NamedNode(DCT + "license"), CC_BY_SA)
        yield t(self.graph, NamedNode(CC + "attributionName"), Literal("Wikipedia contributors"))
        yield t(self.graph, NamedNode(CC + "attributionURL"), url)
        citation = f"“{a.title}”, Wikipedia, The Free Encyclopedia, by Wikipedia contributors, CC BY-SA 4.0"
        yield t(self.graph, NamedNode(DCT + "bibliographicCitation"), Literal(citation))
        yield t(self.graph, sg("sourceFile"), Literal(PurePath(a.source).name))
        yield t(self.graph, sg("sha256"), _typed(a.sha256, "hexBinary"))
        yield t(self.graph, NamedNode(PROV + "generatedAtTime"), _typed(self.info.time.isoformat(), "dateTime"))
        yield t(self.graph, NamedNode(PROV + "wasGeneratedBy"), self.mint.build(self.info.build_id))
        for warning in a.warnings:
            yield t(self.graph, sg("sourceWarning"), Literal(f"line {warning.line}: {warning.message}"))


def _whose(category: Category) -> str:
    """`Men's`, `Women's`, `Mixed`: the category as a label begins."""
    return "Mixed" if category is Category.MIXED else f"{category.label}'s"


def _days(stage: Stage) -> str:
    if stage.start == stage.end:
        return f"{stage.start:%-d %B %Y}"
    if (stage.start.year, stage.start.month) == (stage.end.year, stage.end.month):
        return f"{stage.start.day}–{stage.end:%-d %B %Y}"
    return f"{stage.start:%-d %B} – {stage.end:%-d %B %Y}"


def _competitor(minter: Minter, entrant: Entrant, category: Category) -> NamedNode:
    if entrant.is_team:
        return minter.relay_team(entrant.nation, category)
    return minter.skater(entrant.name)


def _stage_keys(stages: Sequence[Stage]) -> dict[Stage, str]:
    """A stage is keyed by its venue; a venue that hosts twice in a season gets `-2`, `-3`."""
    keys: dict[Stage, str] = {}
    used: Counter[str] = Counter()
    for stage in stages:
        base = slug(stage.venue)
        used[base] += 1
        keys[stage] = base if used[base] == 1 else f"{base}-{used[base]}"
    return keys


def _placings(article: Article) -> Iterator[tuple[Placing, Category]]:
    for race in article.races:
        for placing in race.podium:
            yield placing, race.category
    for c in article.classifications:
        for placing in c.places:
            yield placing, c.category


def _entity_quads(
    articles: Sequence[Article],
    seasons: dict[str, Article],
    nations: dict[str, Nation],
    minter: Minter,
    info: BuildInfo,
) -> Iterator[Quad]:
    graph = minter.entities_graph()

    def t(s: NamedNode, p: NamedNode, o: NamedNode | Literal) -> Quad:
        return Quad(s, p, o, graph)

    skaters: dict[str, _Named] = {}
    venues: dict[str, _Named] = {}
    teams: dict[tuple[str, Category], None] = {}
    nation_names: dict[str, Counter[str]] = {}
    for article in articles:
        for placing, category in _placings(article):
            entrant = placing.entrant
            nation_names.setdefault(entrant.nation, Counter())
            if entrant.is_team:
                teams[(entrant.nation, category)] = None
                nation_names[entrant.nation][entrant.name] += 1
                continue
            skater = skaters.setdefault(minter.skater_key(entrant.name), _Named())
            _one_category(skater, entrant, category, article)
            skater.spellings[entrant.name] += 1
            skater.nations[entrant.nation] = None
        for stage in article.stages:
            nation_names.setdefault(stage.nation, Counter())
            venue = venues.setdefault(slug(stage.venue), _Named())
            if venue.nations and stage.nation not in venue.nations:
                raise SourceError(
                    article.source,
                    stage.line,
                    f"the venue {stage.venue} is in {next(iter(venue.nations))} elsewhere, not {stage.nation}",
                )
            venue.spellings[stage.venue] += 1
            venue.nations[stage.nation] = None

    for named, kind in ((skaters, "Skater"), (venues, "Venue")):
        for entity_key, entity in named.items():
            iri = minter.skater(entity.label()) if kind == "Skater" else minter.venue(entity.label())
            if kind == "Skater":  # the IRIs of merged spellings keep answering, as the same skater
                for spelled in sorted({minter.skater_as_spelled(s).value for s in entity.spellings} - {iri.value}):
                    yield t(NamedNode(spelled), NamedNode(OWL + "sameAs"), iri)
            yield t(iri, RDF_TYPE, sg(kind))
            yield t(iri, RDFS_LABEL, Literal(entity.label()))
            for other in entity.alternatives():
                yield t(iri, NamedNode(SKOS + "altLabel"), Literal(other))
            if kind == "Skater":  # names a person confirmed that no article here uses: found, not shown
                used = {folded_key(s) for s in entity.spellings}
                for known in minter.spellings.get(entity_key, ()):
                    if folded_key(known) not in used:
                        used.add(folded_key(known))
                        yield t(iri, NamedNode(SKOS + "hiddenLabel"), Literal(known))
            for code in entity.nations:
                yield t(iri, sg("nation"), minter.nation(code))

    for code, category in teams:
        iri = minter.relay_team(code, category)
        yield t(iri, RDF_TYPE, sg("RelayTeam"))
        yield t(iri, RDFS_LABEL, Literal(f"{nations[code].name} {_whose(category).lower()} relay team"))
        yield t(iri, sg("nation"), minter.nation(code))
        yield t(iri, sg("category"), sg(category.label))

    for code, names in sorted(nation_names.items()):
        nation = nations[code]
        iri = minter.nation(code)
        yield t(iri, RDF_TYPE, sg("Nation"))
        yield t(iri, RDFS_LABEL, Literal(nation.name))
        yield t(iri, NamedNode(SKOS + "notation"), Literal(code))
        for other in sorted(n for n in names if n != nation.name):
            yield t(iri, NamedNode(SKOS + "altLabel"), Literal(other))

    # Seasons named as previous/next but not loaded still get a label; loaded ones label themselves.
    for article in articles:
        for link in (article.previous, article.next):
            if link is None:
                continue
            iri = minter.season(link.key)
            if link.key not in seasons:
                years = f"{link.key[:4]}–{link.key[5:]}"
                yield t(iri, RDFS_LABEL, Literal(article.title.replace(_years(article), years, 1)))
            yield t(iri, NamedNode(SKOS + "altLabel"), Literal(link.text))

    yield from _build_quads(graph, articles, minter, info)


def _years(article: Article) -> str:
    return f"{article.season[:4]}–{article.season[5:]}"


def _one_category(skater: _Named, entrant: Entrant, category: Category, article: Article) -> None:
    """A name in both men's and women's races is two people; we cannot guess which IRI is whose."""
    for other, (source, line) in skater.first_line.items():
        if other is not category:
            raise SourceError(
                article.source,
                entrant.line,
                f"{entrant.name!r} skates in {category.label.lower()}'s races here and in "
                f"{other.label.lower()}'s races at {source}, line {line}: two skaters need two names; "
                f"add a disambiguator as the source does for 'Yang Yang (A)'",
            )
    skater.first_line.setdefault(category, (article.source, entrant.line))


def _build_quads(graph: NamedNode, articles: Sequence[Article], minter: Minter, info: BuildInfo) -> Iterator[Quad]:
    build = minter.build(info.build_id)
    stamp = _typed(info.time.isoformat(), "dateTime")
    yield Quad(graph, RDF_TYPE, NamedNode(PROV + "Entity"), graph)
    yield Quad(graph, RDFS_LABEL, Literal("Skaters, relay teams, nations and venues across all seasons"), graph)
    yield Quad(graph, NamedNode(PROV + "generatedAtTime"), stamp, graph)
    yield Quad(graph, NamedNode(PROV + "wasGeneratedBy"), build, graph)
    yield Quad(graph, NamedNode(DCT + "license"), CC_BY_SA, graph)
    for article in articles:
        yield Quad(graph, NamedNode(PROV + "wasDerivedFrom"), minter.season_graph(article.season), graph)
        yield Quad(build, NamedNode(PROV + "used"), minter.season_graph(article.season), graph)
    yield Quad(build, RDF_TYPE, NamedNode(PROV + "Activity"), graph)
    yield Quad(build, RDFS_LABEL, Literal(f"skategraph build {info.build_id}"), graph)
    yield Quad(build, NamedNode(PROV + "startedAtTime"), stamp, graph)
    yield Quad(build, NamedNode(PROV + "wasAssociatedWith"), SOFTWARE, graph)
    yield Quad(SOFTWARE, RDF_TYPE, NamedNode(PROV + "SoftwareAgent"), graph)
    yield Quad(SOFTWARE, RDFS_LABEL, Literal("skategraph"), graph)
    yield Quad(SOFTWARE, sg("softwareVersion"), Literal(__version__), graph)
