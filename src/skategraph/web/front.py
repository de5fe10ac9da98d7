"""The front door for people: `/` (what the dataset is, where to start) and the query page.

    GET /                    headline numbers, seasons, nations, the saved queries
    GET /query?query=...     a SPARQL editor; with a query, its results as a table
    GET /query/<name>?p=v    a saved query's form; with values, its results

Queries run exactly as on `/sparql` and `/queries/<name>` (the worker pool, the time limit, the
outbound allow-list, the same binding of saved-query values), and the results are rendered on the
server, so the page works without JavaScript. Errors (a syntax error with its position, a time limit,
a wrong value) are shown on the page, and a cut result says so.
"""

from __future__ import annotations

import json
import shlex
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for

from skategraph.catalogue import CONTROLS, SavedQuery
from skategraph.errors import SkategraphError
from skategraph.params import bind, describe
from skategraph.rdf import PREFIXES
from skategraph.web import POSITION, get_service
from skategraph.web.pages import P, local, short
from skategraph.workers import QueryJob

blueprint = Blueprint("front", __name__, template_folder="templates")
PAGE_ROWS = 1000  # rows shown on a page; the downloads have the server's own row limit
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
  FILTER EXISTS { ?r sg:nation ?nation ; sg:rank ?rank } } ORDER BY ?code"""
)


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
    context: dict[str, Any] = {"text": text or STARTER, "saved": None}
    if text:
        context.update(_run(text, (), (), url_for("protocol.sparql", _external=True), {"query": text}))
    return Response(render_template("query.html", **context, local=local, short=short), mimetype="text/html")


@blueprint.get("/query/<name>")
def saved_page(name: str) -> Response:
    svc = get_service()
    saved = svc.catalogue.get(name)
    given = [(k, v) for k, v in request.args.items(multi=True) if k not in (*CONTROLS, "run") and v != ""]
    context: dict[str, Any] = {"text": saved.text, "saved": saved, "fields": _fields(saved), "given": dict(given)}
    if given or request.args.get("run"):
        try:
            binding = bind(saved, given, svc.lookups)
        except SkategraphError as error:
            context["error"] = str(error)
        else:
            endpoint = url_for("saved.run", name=name, _external=True)
            context.update(_run(saved.text, binding.pairs(), binding.hidden, endpoint, dict(given)))
    return Response(render_template("query.html", **context, local=local, short=short), mimetype="text/html")


def _fields(saved: SavedQuery) -> list[dict[str, Any]]:
    lookups = get_service().lookups()
    return [
        {"param": p, "accepts": describe(p), "choices": list(p.values) or lookups.values_for(p)} for p in saved.params
    ]


def _run(
    text: str, pairs: tuple[tuple[str, str], ...], hidden: tuple[str, ...], endpoint: str, params: dict[str, str]
) -> dict[str, Any]:
    """Run a query for the page: its rows, or the error to show; and the ways to get it elsewhere."""
    svc = get_service()
    downloads = {name: f"{endpoint}?{urlencode({**params, 'format': name})}" for name in ("csv", "json")}
    curl = "curl -s " + shlex.quote(f"{endpoint}?{urlencode(params)}") + " -H 'Accept: text/csv'"
    out: dict[str, Any] = {"downloads": downloads, "curl": curl, "share": request.url}
    try:
        limit = svc.limit(request.args.get("timeout"))
    except SkategraphError as error:
        return {**out, "error": str(error)}
    job = QueryJob(str(svc.generation()), text, "json", "turtle", row_limit=PAGE_ROWS,
                   substitutions=pairs, hidden=hidden, base_iri=endpoint)  # fmt: skip
    try:
        reply = svc.query(job, limit)
        body = b"".join(reply.body)
    except SkategraphError as error:
        found = POSITION.search(str(error))
        message = str(error).splitlines()[0]  # pyoxigraph goes on to list every character it expected
        out["error"] = message if len(message) <= 240 else message[:240] + " …"
        if found:
            out["position"] = (int(found.group(1)), int(found.group(2)))
        return out
    if reply.form == "graph":
        out["graph"] = body.decode("utf-8")
    elif reply.form == "ask":
        out["boolean"] = json.loads(body)["boolean"]
    else:
        data = json.loads(body)
        out["variables"] = data["head"]["vars"]
        out["rows"] = data["results"]["bindings"]
        out["truncated"] = reply.truncated
    return out
