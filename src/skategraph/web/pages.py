"""HTML pages for people: one per resource, the ontology, rendered on the server with Jinja.

Every page works without JavaScript and embeds its data as JSON-LD in schema.org terms. The data
comes from SPARQL run in the worker pool (`Service.select`), with the resource bound as `?_this`;
nothing from the request is pasted into a query. Links to our own IRIs point at this server, so a
person can follow them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
from flask import Response, render_template, url_for

from skategraph.graph.vocab import ONTOLOGY_IRI, PREFIXES, SG, sparql_prologue
from skategraph.web.service import get_service

Row = dict[str, dict[str, str]]
P = sparql_prologue("sg", "rdfs", "skos") + "\n"

OUTGOING = (
    P
    + """SELECT ?p ?plabel ?o ?olabel ?_this WHERE {
  ?_this ?p ?o OPTIONAL { ?p rdfs:label ?plabel } OPTIONAL { ?o rdfs:label ?olabel } } ORDER BY ?p ?o"""
)
INCOMING = (
    P
    + """SELECT ?s ?slabel ?p ?plabel ?_this WHERE {
  ?s ?p ?_this OPTIONAL { ?s rdfs:label ?slabel } OPTIONAL { ?p rdfs:label ?plabel } } ORDER BY ?p ?s LIMIT 200"""
)

# A competitor's podium places, and the races linked to a resource (by a property of ours) with winners.
PODIUM_PLACES = P + """SELECT ?race ?label ?date ?stage ?venue ?distance ?rank ?_this WHERE {
  ?r sg:competitor ?_this ; sg:rank ?rank ; sg:race ?race .
  ?race rdfs:label ?label ; (sg:date|sg:startDate) ?date ; sg:distance ?distance ; sg:stage ?stage ;
    sg:venue/rdfs:label ?venue }
  ORDER BY ?date ?label"""  # fmt: skip
PLACES: list[tuple[str, str, str | None]] = [("Date", "date", None), ("Stage", "venue", "stage"),
                                             ("Distance", "distance", None), ("Race", "label", "race"),
                                             ("Place", "rank", None)]  # fmt: skip
WINNERS: list[tuple[str, str, str | None]] = [("Date", "date", None), ("Race", "label", "race"),
                                              ("Winner", "name", "winner")]  # fmt: skip


def races_by(link: str) -> str:
    """Races whose `link` (a property name of ours, never request text) is the resource, with winners."""
    return (
        P
        + f"""SELECT ?race ?label ?date ?winner ?name ?_this WHERE {{
  ?race {link} ?_this ; a sg:Race ; rdfs:label ?label ; (sg:date|sg:startDate) ?date .
  OPTIONAL {{ ?r sg:race ?race ; sg:rank 1 ; sg:competitor ?winner . ?winner rdfs:label ?name }} }}
  ORDER BY ?date ?label"""
    )


# Per class: (section title, query with ?_this, [(column header, variable shown, variable linked)]).
SECTIONS: dict[str, list[tuple[str, str, list[tuple[str, str, str | None]]]]] = {
    "Skater": [
        ("Podium places", PODIUM_PLACES, PLACES),
        ("By season", P + """SELECT ?season ?title (SUM(IF(?rank = 1, 1, 0)) AS ?wins) (COUNT(?r) AS ?podiums) ?_this
            WHERE { ?r sg:competitor ?_this ; sg:rank ?rank ; sg:race/sg:season ?season . ?season rdfs:label ?title }
            GROUP BY ?season ?title ?_this ORDER BY ?season""",
         [("Season", "title", "season"), ("Wins", "wins", None), ("Podiums", "podiums", None)]),
        ("Standings", P + """SELECT ?classification ?label ?rank ?_this WHERE {
            ?st sg:competitor ?_this ; sg:classification ?classification ; sg:rank ?rank .
            ?classification rdfs:label ?label } ORDER BY ?label""",
         [("Classification", "label", "classification"), ("Place", "rank", None)]),
    ],
    "RelayTeam": [
        ("Podium places", PODIUM_PLACES, PLACES),
    ],
    "Race": [
        ("Podium", P + """SELECT ?rank ?competitor ?name ?nation ?_this WHERE {
            ?r sg:race ?_this ; sg:rank ?rank ; sg:competitor ?competitor ; sg:nation ?n .
            ?competitor rdfs:label ?name . ?n skos:notation ?nation } ORDER BY ?rank""",
         [("Place", "rank", None), ("Competitor", "name", "competitor"), ("Nation", "nation", None)]),
    ],
    "Stage": [
        ("Races", races_by("sg:stage"), WINNERS),
    ],
    "Season": [
        ("Calendar", P + """SELECT ?stage ?number ?venue ?start ?end ?_this WHERE {
            ?stage sg:season ?_this ; a sg:Stage ; sg:stageNumber ?number ; sg:startDate ?start ; sg:endDate ?end ;
            sg:venue/rdfs:label ?venue } ORDER BY ?number""",
         [("#", "number", None), ("Stage", "venue", "stage"), ("From", "start", None), ("To", "end", None)]),
        ("Podiums", P + """SELECT ?race ?label ?date ?first ?n1 ?second ?n2 ?third ?n3 ?_this WHERE {
            ?race sg:season ?_this ; a sg:Race ; rdfs:label ?label ; (sg:date|sg:startDate) ?date .
            OPTIONAL { ?r1 sg:race ?race ; sg:rank 1 ; sg:competitor ?first . ?first rdfs:label ?n1 }
            OPTIONAL { ?r2 sg:race ?race ; sg:rank 2 ; sg:competitor ?second . ?second rdfs:label ?n2 }
            OPTIONAL { ?r3 sg:race ?race ; sg:rank 3 ; sg:competitor ?third . ?third rdfs:label ?n3 } }
            ORDER BY ?date ?label""",
         [("Date", "date", None), ("Race", "label", "race"), ("Winner", "n1", "first"), ("Second", "n2", "second"),
          ("Third", "n3", "third")]),
        ("Standings", P + """SELECT ?classification ?label ?rank ?competitor ?name ?_this WHERE {
            ?classification sg:season ?_this ; rdfs:label ?label . ?st sg:classification ?classification ;
            sg:rank ?rank ; sg:competitor ?competitor . ?competitor rdfs:label ?name } ORDER BY ?label ?rank""",
         [("Classification", "label", "classification"), ("Place", "rank", None),
          ("Competitor", "name", "competitor")]),
    ],
    "Nation": [
        ("Skaters", P + """SELECT ?skater ?name (COUNT(?r) AS ?podiums) ?_this WHERE {
            ?skater sg:nation ?_this ; a sg:Skater ; rdfs:label ?name . OPTIONAL { ?r sg:competitor ?skater } }
            GROUP BY ?skater ?name ?_this ORDER BY DESC(?podiums) ?name""",
         [("Skater", "name", "skater"), ("Podium places", "podiums", None)]),
        ("Relay teams", P + """SELECT ?team ?name ?_this WHERE { ?team sg:nation ?_this ; a sg:RelayTeam ;
            rdfs:label ?name } ORDER BY ?name""", [("Team", "name", "team")]),
        ("Medal table", P + """SELECT ?category (SUM(IF(?rank = 1, 1, 0)) AS ?gold)
            (SUM(IF(?rank = 2, 1, 0)) AS ?silver) (SUM(IF(?rank = 3, 1, 0)) AS ?bronze) (COUNT(?r) AS ?total)
            ?_this WHERE {
            ?r sg:nation ?_this ; sg:rank ?rank ; sg:race/sg:category/rdfs:label ?category }
            GROUP BY ?category ?_this ORDER BY ?category""",
         [("Category", "category", None), ("Gold", "gold", None), ("Silver", "silver", None),
          ("Bronze", "bronze", None), ("Total", "total", None)]),
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


def local(iri: str) -> str:
    """Where to follow an IRI: our own ones on this server, others as they are."""
    base = get_service().manifest()["base"]
    if iri.startswith(SG):
        return url_for("linkeddata.ontology") + "#" + iri[len(SG) :]
    if iri == ONTOLOGY_IRI:
        return url_for("linkeddata.ontology")
    if iri.startswith(base):
        return "/" + iri[len(base) :]
    if urlsplit(iri).scheme in ("http", "https"):
        return iri
    # Never a link to another scheme (`javascript:` is one): the IRI is described on our query page.
    return url_for("front.query_page", query=f"DESCRIBE <{iri}>")


def _script_safe(text: str) -> str:
    """JSON for a <script> block: `<`, `>` and `&` escaped, so no label can end the block or open a
    comment in it (`<!--<script>` would otherwise blank the page)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def short(iri: str) -> str:
    """An IRI as a prefixed name where a known prefix fits."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def resource_page(iri: str) -> Response:
    svc = get_service()
    this = (("_this", ox.NamedNode(iri)),)
    outgoing = svc.select(OUTGOING, this)
    incoming = svc.select(INCOMING, this)
    types = [r["o"]["value"] for r in outgoing if r["p"]["value"] == PREFIXES["rdf"] + "type"]
    label = next((r["o"]["value"] for r in outgoing if r["p"]["value"] == PREFIXES["rdfs"] + "label"), short(iri))
    kinds = [t[len(SG) :] for t in types if t.startswith(SG)]
    kind = next((k for k in kinds if k in SECTIONS), kinds[0] if kinds else "")
    sections = [Section(title, columns, svc.select(query, this)) for title, query, columns in SECTIONS.get(kind, [])]
    body = render_template(
        "resource.html",
        iri=iri,
        label=label,
        kinds=kinds,
        sections=sections,
        outgoing=outgoing,
        incoming=incoming,
        jsonld=_script_safe(json.dumps(_jsonld(iri, label, kind, outgoing), ensure_ascii=False, indent=1)),
        local=local,
        short=short,
        sg=SG,
    )
    return Response(body, mimetype="text/html")


def _jsonld(iri: str, label: str, kind: str, outgoing: list[Row]) -> dict[str, Any]:
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
    if "nation" in sg and kind in ("Skater", "RelayTeam"):
        data["nationality" if kind == "Skater" else "location"] = {"@id": sg["nation"][0]}
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
    for row in svc.select(ONTOLOGY_TERMS, graph):
        term = terms.setdefault(row["term"]["value"], {"kinds": [], "links": []})
        term["kinds"].append(short(row["kind"]["value"]))
        term["label"] = row.get("label", {}).get("value", "")
        term["comment"] = row.get("comment", {}).get("value", "")
    for row in svc.select(ONTOLOGY_LINKS, graph):
        if row["term"]["value"] in terms and row["p"]["value"] != PREFIXES["rdf"] + "type":
            terms[row["term"]["value"]]["links"].append((row["p"]["value"], row["o"]["value"]))
    body = render_template("ontology.html", terms=terms, sg=SG, local=local, short=short)
    return Response(body, mimetype="text/html")
