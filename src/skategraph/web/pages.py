"""HTML pages for people: one per resource, the ontology, rendered on the server with Jinja.

Every page works without JavaScript and embeds its data as JSON-LD in schema.org terms. The data
comes from SPARQL of ours, bounded by the resource, evaluated in the web process
(`Service.select_here`: no hop to a worker), with the resource bound as `?_this`; nothing from the
request is pasted into a query. What each kind of page shows besides the resource's own triples, and
the queries it comes from, is `skategraph.web.sections`. Links to our own IRIs point at this server,
so a person can follow them.
"""

from __future__ import annotations

import json
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
from skategraph.web.sections import SECTIONS, Row, asked_once, nation_of, rows_of
from skategraph.web.service import get_service

P = sparql_prologue("sg", "rdf", "rdfs", "skos") + "\n"
RDF = PREFIXES["rdf"]
WIKIDATA = "http://www.wikidata.org/entity/"
DBPEDIA = "http://dbpedia.org/resource/"
TYPES = "SELECT ?type ?_this WHERE { ?_this a ?type }"
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
