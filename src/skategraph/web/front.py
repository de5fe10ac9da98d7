"""The front door for people: `/` (what the dataset is, where to start) and the query page.

    GET /                    headline numbers, seasons, nations, the saved queries
    GET /query?query=...     a SPARQL editor; with a query, its results as a table
    GET /query/<name>?p=v    a saved query's form; with values, its results

Queries run exactly as on `/sparql` and `/queries/<name>` (the worker pool, the time limit, the
outbound allow-list, the same binding of saved-query values), and the results are rendered on the
server, so the page works without JavaScript. Errors (a syntax error with its position, a time limit,
a wrong value) are shown on the page, and a cut result says so.

With JavaScript, the query's textarea becomes YASQE (the editor of YASGUI, vendored under
static/vendor/yasqe; nothing is fetched from elsewhere): highlighting, syntax errors marked as you
type, and completion of our prefixes and of the classes and properties of the ontology and the data,
which the page carries in a JSON block (`editor_terms`). The form stays what submits the query.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shlex
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for

from skategraph.engine.jobs import QueryJob
from skategraph.errors import QueryError, SkategraphError
from skategraph.graph.vocab import OWL, PREFIXES, RDF, RDFS
from skategraph.saved.prepare import prepare
from skategraph.saved.query import CONTROLS, SavedQuery
from skategraph.saved.types import describe
from skategraph.web.pages import P, local, short
from skategraph.web.service import get_service

log = logging.getLogger("skategraph.web")
blueprint = Blueprint("front", __name__, template_folder="templates")
PAGE_ROWS = 1000  # rows shown on a page; the downloads have the server's own row limit
PAGE_BYTES = 256 * 1024  # of a graph shown on a page; the downloads have all of it
STARTER = (
    "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items() if p in ("sg", "rdfs", "skos", "xsd"))
    + """

SELECT ?skater ?name (COUNT(*) AS ?wins) WHERE {
  ?result sg:rank 1 ; sg:competitor ?skater .
  ?skater a sg:Skater ; rdfs:label ?name .
}
GROUP BY ?skater ?name
ORDER BY DESC(?wins) ?name
LIMIT 10"""
)

SEASONS = P + "SELECT ?season ?title WHERE { ?season a sg:Season ; rdfs:label ?title } ORDER BY ?season"
NATIONS = (
    P
    + """SELECT ?nation ?code ?name WHERE { ?nation a sg:Nation ; skos:notation ?code ; rdfs:label ?name
  FILTER EXISTS { ?r sg:nation ?nation ; sg:rank ?rank } } ORDER BY ?name"""
)
# What the editor completes: the classes and properties the ontology declares, and those the data uses
# (rdfs:label, skos:notation, owl:sameAs, ...), whatever their vocabulary.
TERMS = f"""SELECT DISTINCT ?kind ?term WHERE {{
  {{ ?term a ?type VALUES (?type ?kind) {{ (<{OWL}Class> "class") (<{RDFS}Class> "class")
      (<{OWL}ObjectProperty> "property") (<{OWL}DatatypeProperty> "property")
      (<{OWL}AnnotationProperty> "property") (<{RDF}Property> "property") }} }}
  UNION {{ [] a ?term BIND("class" AS ?kind) }}
  UNION {{ [] ?term [] BIND("property" AS ?kind) }}
  FILTER isIRI(?term) }} ORDER BY ?kind ?term"""
_terms: dict[str, dict[str, list[str]]] = {}  # by generation: a store's terms change only with it


@blueprint.get("/")
def home() -> Response:
    svc = get_service()
    manifest = svc.manifest()
    classes = manifest["stats"]["classes"]
    numbers = [(classes.get(PREFIXES["sg"] + name, 0), label) for name, label in
               (("Season", "seasons"), ("Race", "races"), ("Skater", "skaters"), ("Nation", "nations"))]  # fmt: skip
    numbers.append((manifest["stats"]["triples"], "triples"))
    body = render_template(
        "front.html",
        numbers=numbers,
        seasons=svc.select(SEASONS),
        nations=svc.select(NATIONS),
        queries=list(svc.catalogue),
        local=local,
    )
    return Response(body, mimetype="text/html")


@blueprint.get("/query")
def query_page() -> Response:
    text = request.args.get("query")
    endpoint = url_for("protocol.sparql", _external=True)
    context: dict[str, Any] = {"text": text or STARTER, "saved": None}
    context["editor"] = {"endpoint": endpoint, "prefixes": PREFIXES, **editor_terms()}
    if text:
        context.update(_run(_page_job(get_service().job(text), endpoint), endpoint, {"query": text}))
    return Response(render_template("query.html", **context, local=local, short=short), mimetype="text/html")


@blueprint.get("/query/<name>")
def saved_page(name: str) -> Response:
    svc = get_service()
    saved = svc.catalogue.get(name)
    given = [(k, v) for k, v in request.args.items(multi=True) if k not in (*CONTROLS, "run") and v != ""]
    context: dict[str, Any] = {"text": saved.text, "saved": saved, "fields": _fields(saved), "given": dict(given)}
    if given or request.args.get("run"):
        endpoint = url_for("saved.run", name=name, _external=True)
        try:
            job = prepare(saved, given, svc.lookups, svc.settings.allow_service, generation=str(svc.generation()))
        except SkategraphError as error:
            context["error"] = str(error)
        else:
            context.update(_run(_page_job(job, endpoint), endpoint, dict(given)))
    return Response(render_template("query.html", **context, local=local, short=short), mimetype="text/html")


def editor_terms() -> dict[str, list[str]]:
    """The classes and properties the editor completes, as full IRIs, read once per store generation."""
    svc = get_service()
    generation = svc.generation()
    if generation.name not in _terms:
        found: dict[str, list[str]] = {"classes": [], "properties": []}
        try:
            rows = svc.select(TERMS, generation=generation)
        except SkategraphError:  # no worker free in time: the page still works, completing only prefixes
            log.warning("the editor's terms could not be read; the query page completes prefixes only")
            return found
        for row in rows:
            found["classes" if row["kind"]["value"] == "class" else "properties"].append(row["term"]["value"])
        _terms.clear()
        _terms[generation.name] = found
    return _terms[generation.name]


def _fields(saved: SavedQuery) -> list[dict[str, Any]]:
    lookups = get_service().lookups()
    return [
        {"param": p, "accepts": describe(p), "choices": list(p.values) or lookups.values_for(p)} for p in saved.params
    ]


def _page_job(job: QueryJob, endpoint: str) -> QueryJob:
    """A query as the page shows it: JSON rows (at most PAGE_ROWS) or Turtle, relative to `endpoint`."""
    return dataclasses.replace(
        job, results_format="json", graph_format="turtle", row_limit=PAGE_ROWS, base_iri=endpoint
    )


def _run(job: QueryJob, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
    """Run a query for the page: its rows, or the error to show; and the ways to get it elsewhere."""
    svc = get_service()
    try:
        limit = svc.limit(request.args.get("timeout"))
    except SkategraphError as error:
        return {"error": str(error)}
    try:
        reply = svc.query(job, limit)
        body, cut = _read_page(reply.body, PAGE_BYTES if reply.form == "graph" else None)
    except SkategraphError as error:
        # A failed query offers no download or curl line of itself: they would only fail again.
        message = str(error).splitlines()[0]  # pyoxigraph goes on to list every character it expected
        out: dict[str, Any] = {"error": message if len(message) <= 240 else message[:240] + " …"}
        if isinstance(error, QueryError) and error.line is not None:
            out["position"] = (error.line, error.column)
        return out
    downloads = {name: f"{endpoint}?{urlencode({**params, 'format': name})}" for name in ("csv", "json")}
    curl = "curl -s " + shlex.quote(f"{endpoint}?{urlencode(params)}") + " -H 'Accept: text/csv'"
    out = {"downloads": downloads, "curl": curl, "share": request.url}
    if reply.form == "graph":
        out["graph"] = body.decode("utf-8")
        out["graph_cut"] = cut
    elif reply.form == "ask":
        out["boolean"] = json.loads(body)["boolean"]
    else:
        data = json.loads(body)
        out["variables"] = data["head"]["vars"]
        out["rows"] = data["results"]["bindings"]
        out["truncated"] = reply.truncated
    return out


def _read_page(body: Iterator[bytes], most: int | None) -> tuple[bytes, bool]:
    """A reply's body, or (with `most`) at most that many bytes of it, ending with a whole line, and
    whether more followed. A longer answer is not read on, nor held here: closing its body stops its
    worker."""
    chunks: list[bytes] = []
    size = 0
    for chunk in body:
        chunks.append(chunk)
        size += len(chunk)
        if most is not None and size > most:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            kept = b"".join(chunks)[:most]
            return kept[: kept.rfind(b"\n") + 1], True
    return b"".join(chunks), False
