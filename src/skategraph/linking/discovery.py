"""Link discovery: our skaters and venues, candidates from a remote endpoint, a person's decisions.

    run_linking(store, endpoint, links) -> LinkReport

Reads the skaters (with every spelling, nation and first season) and venues from the store, asks the
endpoint with the candidate queries in the links directory (`wikidata-skaters.rq`,
`wikidata-venues.rq`) in batches, scores every candidate (`skategraph.linking.scoring`), applies the decisions
in `decisions.tsv` and `review.tsv`, and writes `links.tsv` (accepted), `review.tsv` (for a person)
and `decisions.tsv` (decisions kept). The store is only read; a later `skategraph build` puts the
links in the graph.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from skategraph.errors import SkategraphError
from skategraph.linking.names import variants
from skategraph.linking.remote import Endpoint, Row
from skategraph.linking.scoring import Candidate, Scored, Skater, dbpedia_of, decide, score
from skategraph.source.linkfiles import (
    DECISION_COLUMNS,
    LINK_COLUMNS,
    LINK_FILE_COLUMNS,
    REVIEW_COLUMNS,
    Link,
    LinkFiles,
    read_decisions,
    read_tsv,
    today,
    write_tsv,
)
from skategraph.store.base import GraphStore

WIKIDATA = "https://query.wikidata.org/sparql"
DBPEDIA = "https://dbpedia.org/sparql"
BATCH = 40  # spellings per candidate query

# One row per skater, spelling and nation, with the first date they raced: a row per result instead
# would pass a remote store's row cap (Virtuoso's ResultSetMaxRows) at a few dozen seasons (issue 15).
SKATERS = """SELECT ?skater ?label ?alt ?code (MIN(?date) AS ?first) WHERE {
  ?skater a sg:Skater ; rdfs:label ?label ; sg:nation/skos:notation ?code .
  OPTIONAL { ?skater skos:altLabel ?alt }
  OPTIONAL { ?result sg:competitor ?skater ; sg:race/(sg:date|sg:startDate) ?date }
} GROUP BY ?skater ?label ?alt ?code"""
VENUES = (
    """SELECT ?venue ?label ?code WHERE { ?venue a sg:Venue ; rdfs:label ?label ; sg:nation/skos:notation ?code }"""
)


@dataclass
class LinkReport:
    skaters: int = 0
    linked: list[Link] = field(default_factory=list)
    review: list[dict[str, str]] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    requests: int = 0

    def line(self) -> str:
        skaters = sum(link.subject.startswith("skater/") for link in self.linked)
        venues = sum(link.subject.startswith("venue/") for link in self.linked)
        return (
            f"Linked {skaters} of {self.skaters} skaters and {venues} venues; {len(self.review)} candidates to "
            f"review in review.tsv; {len(self.not_found)} skaters with no candidate; {self.requests} requests"
        )


@dataclass
class _Seen:
    label: str
    alts: set[str] = field(default_factory=set)
    nations: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)

    def names(self) -> tuple[str, ...]:
        """The label, then the other spellings in order: the same whatever order a store gave the rows."""
        return (self.label, *sorted(self.alts - {self.label}))


def read_skaters(store: GraphStore) -> list[Skater]:
    """Every skater with all spellings, nations and the year of their first season."""
    seen: dict[str, _Seen] = {}
    base = store.manifest["base"] + "id/"
    result = store.query(SKATERS)
    assert isinstance(result, ox.QuerySolutions)
    for row in result:
        iri, label, alt, code, date = ("" if t is None else t.value for t in row)
        entry = seen.setdefault(iri, _Seen(label))
        if alt:
            entry.alts.add(alt)
        entry.nations.add(code)
        if date:
            day = datetime.date.fromisoformat(date)
            entry.years.add(day.year if day.month >= 7 else day.year - 1)  # the year its season starts
    return [
        Skater(iri[len(base) :], e.names(), frozenset(e.nations), min(e.years) if e.years else 0)
        for iri, e in sorted(seen.items())
    ]


def candidate_query(template: str, values: Sequence[str]) -> str:
    """The candidate query with its VALUES filled: each value written as an escaped literal."""
    marker = "VALUES ?name { }"
    if marker not in template:
        raise SkategraphError(f"the candidate query must contain '{marker}', where the spellings go")
    literals = " ".join(str(ox.Literal(v, language="en")) for v in values)
    return template.replace(marker, f"VALUES ?name {{ {literals} }}")


def candidates(rows: Sequence[Row]) -> dict[str, dict[str, Candidate]]:
    """Candidates by the spelling that found them: spelling -> item -> facts."""
    by_item: dict[str, Candidate] = {}
    found: dict[str, dict[str, Candidate]] = {}
    for row in rows:
        item = row["item"]["value"]
        candidate = by_item.setdefault(item, Candidate(item))
        found.setdefault(row["name"]["value"], {})[item] = candidate
        kind, value = row["kind"]["value"], row["value"]["value"]
        label = row.get("valueLabel", {}).get("value", "")
        if kind == "name":
            candidate.names.add(value)
            candidate.label = candidate.label or value
        elif kind == "occupation":
            candidate.occupations.add(label or value)
        elif kind == "sport":
            candidate.sports.add(label or value)
        elif kind == "nation":
            candidate.nations.add(value)
        elif kind == "born" and value[:4].isdigit():
            candidate.births.add(int(value[:4]))
        elif kind == "enwiki":
            candidate.enwiki = value
    return found


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_linking(
    store: GraphStore,
    endpoint: Endpoint,
    links: LinkFiles,
    track: Callable[[Sequence[Sequence[str]]], Iterable[Sequence[str]]] = iter,
) -> LinkReport:
    """Ask `endpoint` for every skater's candidates (in batches of spellings, each batch through
    `track`: the CLI shows a progress bar), settle them, link venues, and write the link files."""
    template = links.read("wikidata-skaters.rq").read_text("utf-8")
    decisions = read_decisions(links)
    skaters = read_skaters(store)
    spellings = {skater.key: variants(skater.names) for skater in skaters}
    everything = sorted({s for names in spellings.values() for s in names})
    found: dict[str, dict[str, Candidate]] = {}
    for batch in track(list(_batches(everything, BATCH))):
        for name, items in candidates(endpoint.select(candidate_query(template, batch))).items():
            found.setdefault(name, {}).update(items)
    report = LinkReport(skaters=len(skaters))
    for skater in skaters:
        pool = {item: c for name in spellings[skater.key] for item, c in found.get(name, {}).items()}
        _settle(skater, pool, decisions, endpoint.url, report)
    report.linked += _venues(store, endpoint, links, decisions)
    report.requests = endpoint.requests
    _write(links, report, decisions)
    return report


def _settle(
    skater: Skater, pool: dict[str, Candidate], decisions: dict[tuple[str, str], str], url: str, report: LinkReport
) -> None:
    accepted = [target for (subject, target), d in decisions.items() if subject == skater.key and d == "accept"]
    rejected = {target for (subject, target), d in decisions.items() if subject == skater.key and d == "reject"}
    if accepted:
        target = accepted[0]
        found = pool.get(target)
        scored = score(skater, found) if found else None
        report.linked.append(_link(skater.key, target, found.enwiki if found else "", "curated",
                                   scored.score if scored else 1.0, "accepted by a person", url,
                                   _names(found) if found else ()))  # fmt: skip
        return
    if not pool:
        report.not_found.append(skater.key)
    best, doubtful = decide(skater, [c for item, c in pool.items() if item not in rejected])
    if best is not None:
        report.linked.append(_link(skater.key, best.candidate.item, best.candidate.enwiki, "matcher", best.score,
                                   "; ".join(best.evidence), url, _names(best.candidate)))  # fmt: skip
    for scored in doubtful:
        report.review.append(_review_row(skater, scored))


def _link(
    subject: str, target: str, enwiki: str, method: str, score: float, evidence: str, url: str,
    names: tuple[str, ...] = (),
) -> Link:  # fmt: skip
    return Link(subject, target, dbpedia_of(enwiki), method, score, evidence, url, today(), names)


def _names(candidate: Candidate) -> tuple[str, ...]:
    """The names a linked entity has at the endpoint, its label first: what reconciliation finds it by."""
    label = candidate.label
    return tuple(dict.fromkeys([label, *sorted(candidate.names)] if label else sorted(candidate.names)))


def _review_row(skater: Skater, scored: Scored) -> dict[str, str]:
    return {
        "subject": skater.key,
        "name": skater.names[0],
        "target": scored.candidate.item,
        "label": scored.candidate.label,
        "score": f"{scored.score:.3f}",
        "evidence": "; ".join(scored.evidence),
        "decision": "",
    }


def _venues(
    store: GraphStore, endpoint: Endpoint, links: LinkFiles, decisions: dict[tuple[str, str], str]
) -> list[Link]:
    """A venue links to the one item with its name in its nation's country (the verified entity)."""
    countries = {row["code"]: row["entity"] for row in read_tsv(links.read("nations-wikidata.tsv"), ["code", "entity"])}
    template = links.read("wikidata-venues.rq").read_text("utf-8")
    base = store.manifest["base"] + "id/"
    result = store.query(VENUES)
    assert isinstance(result, ox.QuerySolutions)
    rows_found = [tuple("" if t is None else t.value for t in row) for row in result]
    venues = [(iri, label, code) for iri, label, code in rows_found if code in countries]
    if not venues:
        return []
    pairs = " ".join(
        f"({ox.Literal(label, language='en')} {ox.NamedNode(countries[code])})" for _, label, code in venues
    )
    rows = endpoint.select(template.replace("VALUES (?name ?country) { }", f"VALUES (?name ?country) {{ {pairs} }}"))
    found = []
    for iri, label, code in venues:
        key = iri[len(base) :]
        matches = {r["item"]["value"]: r.get("enwiki", {}).get("value", "") for r in rows
                   if r["name"]["value"] == label and r["country"]["value"] == countries[code]}  # fmt: skip
        matches = {item: wiki for item, wiki in matches.items() if decisions.get((key, item)) != "reject"}
        if len(matches) == 1:
            item, wiki = next(iter(matches.items()))
            found.append(_link(key, item, wiki, "matcher", 1.0, f"name: {label}; country: {code}", endpoint.url))
    return found


def _write(links: LinkFiles, report: LinkReport, decisions: dict[tuple[str, str], str]) -> None:
    write_tsv(links.write("links.tsv"), LINK_FILE_COLUMNS, (link.row() for link in report.linked),
              "Links made by `skategraph link`; rerun it to refresh. Curated ones come from\n"
              "decisions.tsv.")  # fmt: skip
    write_tsv(links.write("review.tsv"), REVIEW_COLUMNS, report.review,
              "Candidates the matcher would not decide alone. Write accept or reject in the decision column;\n"
              "the next `skategraph link` keeps your decision in decisions.tsv.")  # fmt: skip
    kept = [{"subject": s, "target": t, "decision": d, "note": ""} for (s, t), d in sorted(decisions.items())]
    notes = {(r["subject"], r["target"]): r["note"] for r in read_tsv(links.read("decisions.tsv"), DECISION_COLUMNS)}
    for row in kept:
        row["note"] = notes.get((row["subject"], row["target"]), "")
    write_tsv(links.write("decisions.tsv"), DECISION_COLUMNS, kept,
              "A person's decisions on links, which override the matcher on every run of `skategraph link`.\n"
              "decision: accept (link even if the matcher would not) or reject (never link these two).")  # fmt: skip


def run_dbpedia(endpoint: Endpoint, links: LinkFiles) -> int:
    """Fill the DBpedia column of links.tsv from a DBpedia endpoint's owl:sameAs to Wikidata; how many."""
    template = links.read("dbpedia-from-wikidata.rq").read_text("utf-8")
    marker = "VALUES ?wikidata { }"
    if marker not in template:
        raise SkategraphError(f"the DBpedia query must contain '{marker}', where the Wikidata entities go")
    rows = read_tsv(links.read("links.tsv"), LINK_COLUMNS)
    wanted = sorted({row["target"] for row in rows if row["target"] and not row["dbpedia"]})
    found: dict[str, str] = {}
    for batch in _batches(wanted, BATCH):
        values = " ".join(str(ox.NamedNode(iri)) for iri in batch)
        for answer in endpoint.select(template.replace(marker, f"VALUES ?wikidata {{ {values} }}")):
            found.setdefault(answer["wikidata"]["value"], answer["resource"]["value"])
    for row in rows:
        if not row["dbpedia"] and row["target"] in found:
            row["dbpedia"] = found[row["target"]]
            row["evidence"] += f"; DBpedia: owl:sameAs this entity at {endpoint.url}"
    write_tsv(links.write("links.tsv"), LINK_FILE_COLUMNS, rows,
              "Links made by `skategraph link`; rerun it to refresh. Curated ones come from\n"
              "decisions.tsv.")  # fmt: skip
    return sum(row["target"] in found for row in rows)
