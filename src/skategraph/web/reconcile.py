"""`/reconcile`: the W3C Entity Reconciliation Service API (version 0.2, as OpenRefine speaks it).

    GET  /reconcile                        the service manifest
    GET|POST /reconcile?queries={...}      a batch of queries (JSON), each with a type and properties
    GET  /reconcile/suggest/entity?prefix= entity autocomplete (also /suggest/type, /suggest/property)
    GET  /reconcile/preview?id=            a small HTML preview of an entity
    GET|POST /reconcile?extend={...}       data extension: property values for reconciled ids
    GET  /reconcile/properties?type=       the properties a type offers for extension

Identifiers are our IRIs' paths under the base (`skater/ahn-hyun-soo`), so `view` links them to their
pages here. Types: skater, nation, venue, race; properties: nation (IOC code or name), category.
Matching is `skategraph.linking.reconcile`, extension `skategraph.linking.extend`. CORS is open, as
for every read.

A batch is checked here, whole, before anything is matched: at most `--reconcile-batch` queries, each
name at most `MAX_QUERY_CHARS` and `MAX_VALUES` property values. It is then matched in a query
worker, within the request's time limit (the server's, or less with `timeout=`, as for `/sparql`):
at the limit the worker is killed and the answer is a 503, never part of a batch (issue 12: 1,000
names took 7 s of the web process, and a 6 MB batch ran on for 9 minutes after its client left).
An extend query is bounded and run the same way: at most `--reconcile-batch` ids, each at most
`MAX_QUERY_CHARS`, and only properties we offer (an unknown one is a 400 that names those we have).
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from skategraph import __version__
from skategraph.errors import BadReconciliationQuery, UnknownResource
from skategraph.graph.vocab import SG
from skategraph.linking.extend import DESCRIPTIONS, EXTENSIONS
from skategraph.linking.extend import PROPERTIES as EXTEND_PROPERTIES
from skategraph.linking.reconcile import MAX_QUERY_CHARS, MAX_VALUES, PROPERTIES, TYPES, Query
from skategraph.web.pages import local
from skategraph.web.service import get_service

blueprint = Blueprint("reconcile", __name__, template_folder="templates")


@blueprint.route("/reconcile", methods=["GET", "POST"])
def service() -> Response:
    queries = request.values.get("queries")
    extension = request.values.get("extend")
    if queries is not None and extension is not None:
        raise BadReconciliationQuery("a request holds queries or an extend query, not both")
    if extension is not None:
        return _extend(extension)
    if queries is None:
        return jsonify(manifest())
    batch = _json(queries, "queries are nested too deeply to be a batch of queries",
                  "queries must be a JSON object of queries")  # fmt: skip
    if not isinstance(batch, dict) or not all(isinstance(q, dict) for q in batch.values()):
        raise BadReconciliationQuery('queries must be a JSON object like {"q0": {"query": "Ahn Hyun-soo"}}')
    svc = get_service()
    most = svc.settings.reconcile_batch
    if len(batch) > most:
        raise BadReconciliationQuery(f"a batch holds at most {most} queries, not {len(batch)}; send several")
    limit = svc.limit(request.values.get("timeout"))  # before any work: a bad timeout= is a 400
    answers = svc.reconcile(tuple((str(key), _query(str(key), query)) for key, query in batch.items()), limit)
    return jsonify({key: {"result": found} for key, found in answers.items()})


def _query(key: str, query: dict[str, Any]) -> Query:
    """One query of a batch, checked, or a 400 that names its key and what is wrong."""
    text = str(query.get("query", ""))
    if len(text) > MAX_QUERY_CHARS:
        raise BadReconciliationQuery(f"{key}: a query is at most {MAX_QUERY_CHARS} characters, not {len(text)}")
    kinds = _list(query.get("type"))
    limit = query.get("limit", 5)
    if not isinstance(limit, int | float) or isinstance(limit, bool) or not math.isfinite(limit) or limit < 1:
        raise BadReconciliationQuery(f"{key}: limit must be a positive number")
    constraints: dict[str, list[str]] = {}
    properties = query.get("properties") or []
    if not isinstance(properties, list):
        raise BadReconciliationQuery(f'{key}: properties are a list of {{"pid": ..., "v": ...}}')
    for prop in properties:
        if not isinstance(prop, dict) or "pid" not in prop or "v" not in prop:
            raise BadReconciliationQuery(f'{key}: each property is {{"pid": ..., "v": ...}}')
        constraints.setdefault(str(prop["pid"]), []).extend(_values(prop["v"]))
    values = sum(len(v) for v in constraints.values())
    if values > MAX_VALUES:
        raise BadReconciliationQuery(f"{key}: at most {MAX_VALUES} property values, not {values}")
    known = tuple(dict.fromkeys(k for k in kinds if k in TYPES))
    usable = tuple((p, tuple(v)) for p, v in constraints.items() if p in PROPERTIES)
    # A type we do not have gets no candidates, rather than candidates of other types.
    return Query(text, known if kinds else None, usable, int(min(limit, 100)))


def _json(text: str, too_deep: str, not_json: str) -> Any:
    """`text` read as JSON, or a 400 that says what is wrong (nesting that would exhaust the parser too)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise BadReconciliationQuery(too_deep) from None
    except ValueError as error:
        raise BadReconciliationQuery(f"{not_json}: {error}") from None


def _extend(text: str) -> Response:
    """An extend query, checked whole (or a 400 that says what is wrong), answered by a worker."""
    query = _json(text, "the extend query is nested too deeply to be one",
                  "extend must be a JSON object of ids and properties")  # fmt: skip
    shape = 'extend is {"ids": ["skater/ahn-hyun-soo"], "properties": [{"id": "nation"}]}'
    if not isinstance(query, dict) or not isinstance(query.get("ids"), list):
        raise BadReconciliationQuery(shape)
    ids, properties = query["ids"], query.get("properties")
    if not isinstance(properties, list) or not all(isinstance(p, dict) and isinstance(p.get("id"), str)
                                                   for p in properties):  # fmt: skip
        raise BadReconciliationQuery(shape)
    if not all(isinstance(i, str) for i in ids):
        raise BadReconciliationQuery("extend: each id is a string, as reconciliation answered it")
    most = get_service().settings.reconcile_batch
    if len(ids) > most:
        raise BadReconciliationQuery(f"extend: at most {most} ids in one query, not {len(ids)}; send several")
    if len(properties) > len(EXTEND_PROPERTIES):
        raise BadReconciliationQuery(f"extend: at most {len(EXTEND_PROPERTIES)} properties, not {len(properties)}")
    for entity in ids:
        if len(entity) > MAX_QUERY_CHARS:
            raise BadReconciliationQuery(f"extend: an id is at most {MAX_QUERY_CHARS} characters, not {len(entity)}")
    for prop in properties:
        if prop["id"] not in EXTEND_PROPERTIES:
            raise BadReconciliationQuery(f"extend: there is no property {prop['id']!r}; there are "
                                         f"{', '.join(EXTEND_PROPERTIES)}")  # fmt: skip
        if prop.get("settings"):
            raise BadReconciliationQuery(f"extend: the property {prop['id']!r} takes no settings")
    limit = get_service().limit(request.values.get("timeout"))
    wanted = tuple(dict.fromkeys(p["id"] for p in properties))
    return jsonify(get_service().extend(tuple(dict.fromkeys(ids)), wanted, limit))


@blueprint.get("/reconcile/properties")
def propose_properties() -> Response:
    """The properties a type offers for extension (all of them with no type)."""
    kind = request.args.get("type")
    if kind is not None and kind not in EXTENSIONS:
        raise BadReconciliationQuery(f"type: {kind!r} offers no properties; the types are "
                                     f"{', '.join(EXTENSIONS)}")  # fmt: skip
    offered = EXTENSIONS[kind] if kind is not None else tuple(EXTEND_PROPERTIES)
    limit = request.args.get("limit", "")
    if limit and (not limit.isdigit() or int(limit) < 1):
        raise BadReconciliationQuery(f"limit must be a positive whole number, not {limit!r}")
    shown = offered[: int(limit)] if limit else offered
    properties = [{"id": pid, "name": EXTEND_PROPERTIES[pid][0]}
                  | ({"description": DESCRIPTIONS[pid]} if pid in DESCRIPTIONS else {}) for pid in shown]  # fmt: skip
    answer: dict[str, Any] = {"properties": properties}
    if kind is not None:
        answer["type"] = kind
    if limit:
        answer["limit"] = int(limit)
    return jsonify(answer)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _values(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v.get("id") or v.get("name", "")) if isinstance(v, dict) else str(v) for v in values]


def manifest() -> dict[str, Any]:
    host = request.host_url.rstrip("/")
    base = get_service().manifest()["base"]
    return {
        "versions": ["0.2"],
        "name": "skategraph: ISU Short Track World Cup results",
        "identifierSpace": base + "id/",
        "schemaSpace": SG,
        "documentation": url_for("front.home", _external=True),
        "serviceVersion": __version__,
        "view": {"url": host + "/id/{{id}}"},
        "defaultTypes": [{"id": kind, "name": name} for kind, name in TYPES.items()],
        "preview": {"url": url_for("reconcile.preview", _external=True) + "?id={{id}}", "width": 400, "height": 120},
        "suggest": {
            kind: {"service_url": host, "service_path": f"/reconcile/suggest/{kind}"}
            for kind in ("entity", "type", "property")
        },
        "extend": {
            "propose_properties": {"service_url": host, "service_path": "/reconcile/properties"},
            "property_settings": [],
        },
    }


@blueprint.get("/reconcile/suggest/entity")
def suggest_entity() -> Response:
    index = get_service().reconciliation_index()
    prefix = request.args.get("prefix", "")
    found = index.suggest(prefix, _list(request.args.get("type")) or None) if prefix else []
    return jsonify(result=[{"id": e.id, "name": e.name, "description": e.description(),
                            "notable": [{"id": e.kind, "name": TYPES[e.kind]}]} for e in found])  # fmt: skip


@blueprint.get("/reconcile/suggest/type")
def suggest_type() -> Response:
    prefix = request.args.get("prefix", "").lower()
    return jsonify(result=[{"id": k, "name": n} for k, n in TYPES.items() if k.startswith(prefix)])


@blueprint.get("/reconcile/suggest/property")
def suggest_property() -> Response:
    prefix = request.args.get("prefix", "").lower()
    return jsonify(result=[{"id": k, "name": n} for k, n in PROPERTIES.items() if k.startswith(prefix)])


@blueprint.get("/reconcile/preview")
def preview() -> Response:
    index = get_service().reconciliation_index()
    entity = index.entities.get(request.args.get("id", ""))
    if entity is None:
        raise UnknownResource(f"there is no entity {request.args.get('id', '')!r} to preview")
    base = get_service().manifest()["base"]
    body = render_template("preview.html", entity=entity, href=local(base + "id/" + entity.id))
    return Response(body, mimetype="text/html")
