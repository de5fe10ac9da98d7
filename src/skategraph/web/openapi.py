"""The OpenAPI 3.1 document of the HTTP API, generated from the saved-query catalogue.

One operation per saved query (its parameters typed, with defaults, allowed values and examples), the
catalogue itself, and `/sparql`. Generated on request, so a user's own query directory and the store's
current values (nations, seasons, distances) are always in it.
"""

from __future__ import annotations

from typing import Any

from flask import request

from skategraph import __version__
from skategraph.saved.catalogue import Catalogue
from skategraph.saved.lookups import Lookups
from skategraph.saved.query import Param, SavedQuery
from skategraph.saved.types import TYPES, describe
from skategraph.sparql.formats import RDF_FORMATS, RESULTS_FORMATS, RESULTS_MEDIA_TYPES
from skategraph.web.service import MIN_TIMEOUT

ERROR = {"$ref": "#/components/responses/Error"}
RESULTS_CONTENT: dict[str, Any] = {
    media: {"schema": {"type": "object" if name == "json" else "string"}} for name, media in RESULTS_MEDIA_TYPES.items()
}
RESULTS: dict[str, Any] = {
    "description": "The results, in the format asked for by Accept or format=.",
    "headers": {
        "ETag": {"schema": {"type": "string"}, "description": "The store version and the request."},
        "X-Skategraph-Truncated": {
            "schema": {"type": "string", "enum": ["true"]},
            "description": "Present when more rows follow; the Link header (rel=next) gives the next page.",
        },
    },
    "content": RESULTS_CONTENT,
}
# JSON-LD is JSON (our expanded form: an array of node objects); the other syntaxes are text.
GRAPH_CONTENT: dict[str, Any] = {
    rdf.media_type: {
        "schema": {"type": "array", "items": {"type": "object"}} if name == "jsonld" else {"type": "string"}
    }
    for name, rdf in RDF_FORMATS.items()
}
GRAPH: dict[str, Any] = {
    "description": "The graph, in the RDF format asked for by Accept or format=.",
    "headers": {"ETag": RESULTS["headers"]["ETag"]},
    "content": GRAPH_CONTENT,
}
GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")
# Every path answers a method it does not list with 405 and an Allow header (tests/test_openapi.py).
OTHER_METHODS = "Any other method is answered 405, with an Allow header naming these."


def document(catalogue: Catalogue, lookups: Lookups, row_limit: int) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/queries": {
            "description": OTHER_METHODS,
            "get": {
                "operationId": "listQueries",
                "summary": "The saved queries",
                "description": "Every saved query with its parameters, their allowed values and a URL to run it.",
                "tags": ["catalogue"],
                "responses": {
                    "200": {
                        "description": "The catalogue.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Catalogue"}}},
                    }
                },
            },
        },
        "/sparql": _sparql(),
        "/store": _store(),
        "/reconcile": _reconcile(),
        "/health": _json_get(
            "health",
            "The store and its query workers",
            "200 once the store is open and a "
            "query worker is alive, with the build id and the workers' state; 503 when none is.",
            {"200": _JSON_OK, "503": _JSON_OK},
        ),
        "/limits": _json_get(
            "limits",
            "The time, row, body and reconciliation limits",
            "What this server allows, as JSON.",
            {"200": _JSON_OK},
        ),
    }
    for query in catalogue:
        paths[f"/queries/{query.name}"] = _operation(query, lookups, row_limit)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "skategraph",
            "version": __version__,
            "summary": "ISU Short Track Speed Skating World Cup results as linked data.",
            "description": "Saved queries over the results graph, and a SPARQL 1.1 endpoint. Results data: "
            "Wikipedia contributors, CC BY-SA 4.0.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": request.host_url.rstrip("/")}],
        "paths": paths,
        "components": _components(),
    }


def _operation(query: SavedQuery, lookups: Lookups, row_limit: int) -> dict[str, Any]:
    graph = query.form in GRAPH_FORMS
    parameters = [_parameter(p, lookups) for p in query.params] + _controls(row_limit, graph)
    responses: dict[str, Any] = {
        "200": GRAPH if graph else RESULTS,
        "304": {"description": "Not modified (If-None-Match)."},
        "400": ERROR,
        "404": ERROR,
        "406": ERROR,
        "503": ERROR,
    }
    get = {
        "operationId": query.name,
        "summary": query.title,
        "description": query.description,
        "tags": list(query.tags) or ["queries"],
        "parameters": parameters,
        "responses": responses,
    }
    form = {
        "type": "object",
        # An empty field is as if not given, where the parameter says so (allowEmptyValue).
        "properties": {
            p["name"]: {"anyOf": [p["schema"], {"const": ""}]} if p.get("allowEmptyValue") else p["schema"]
            for p in parameters
        },
        "required": [p["name"] for p in parameters if p.get("required")],
    }
    post_responses = {code: answer for code, answer in responses.items() if code != "304"}  # a POST is never cached
    post: dict[str, Any] = {
        **get,
        "operationId": f"{query.name}_post",
        "parameters": [],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
        "responses": {**post_responses, "413": ERROR, "415": ERROR},
    }
    return {"description": OTHER_METHODS, "get": get, "post": post}


def _parameter(param: Param, lookups: Lookups) -> dict[str, Any]:
    schema: dict[str, Any] = _schema(param)
    values = list(param.values) or lookups.values_for(param)
    if values:
        schema["enum"] = values
    if param.default is not None:
        schema["default"] = _typed(param, param.default)
    found: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": f"{param.description} Accepts {describe(param)}.".strip(),
        "schema": schema,
    }
    if param.type != "string" and not param.required:
        found["allowEmptyValue"] = True  # an empty form field is as if not given (saved.binding)
    if param.example is not None:
        found["example"] = _typed(param, param.example)
    return found


def _schema(param: Param) -> dict[str, Any]:
    if param.type == "integer":
        schema: dict[str, Any] = {"type": "integer"}
        if param.min is not None:
            schema["minimum"] = param.min
        if param.max is not None:
            schema["maximum"] = param.max
        return schema
    if param.type == "boolean":
        return {"type": "boolean"}
    if param.type == "date":
        return {"type": "string", "format": "date"}
    if param.type == "iri":
        return {"type": "string", "format": "iri"}
    return {"type": "string", "description": TYPES[param.type]}


def _typed(param: Param, value: str) -> Any:
    if param.type == "integer":
        return int(value)
    if param.type == "boolean":
        return value == "true"
    return value


def _controls(row_limit: int, graph: bool | None) -> list[dict[str, Any]]:
    """format, limit, offset and timeout; `format` offers the RDF formats for a graph (True), the results
    formats for SELECT and ASK (False), or both where the form is not known (None)."""
    offered = [*([] if graph else RESULTS_FORMATS), *([] if graph is False else RDF_FORMATS)]
    if graph:  # the names SPARQLWrapper, Fuseki and Virtuoso use: JSON-LD and RDF/XML for a graph
        offered += ["json", "xml"]
    limit: dict[str, Any] = {"type": "integer", "minimum": 1}
    if row_limit:
        limit["maximum"] = row_limit
    controls = [
        {"name": "format", "in": "query", "required": False, "description": "The result format; overrides Accept.",
         "schema": {"type": "string", "enum": offered}},
        {"name": "limit", "in": "query", "required": False, "description": "Rows per page (default: the row limit).",
         "schema": limit},
        {"name": "offset", "in": "query", "required": False, "description": "Rows to skip.",
         "schema": {"type": "integer", "minimum": 0, "default": 0}},
        {"name": "timeout", "in": "query", "required": False,
         "description": "A shorter time limit, in seconds, than the server's.",
         "schema": {"type": "number", "minimum": MIN_TIMEOUT}},
    ]  # fmt: skip
    for control in controls:
        control["allowEmptyValue"] = True  # an empty form field is as if not given
    return controls


def _sparql() -> dict[str, Any]:
    query = {
        "name": "query",
        "in": "query",
        "required": False,
        "description": "A SPARQL 1.1 query. The default graph is the union of all graphs. Without one, the answer "
        "is the service description (RDF).",
        "schema": {"type": "string"},
        "example": "SELECT ?code WHERE { ?n a sg:Nation ; skos:notation ?code } ORDER BY ?code LIMIT 3",
    }
    responses = {
        "200": {
            "description": "SELECT and ASK results in a SPARQL results format (JSON, XML, CSV, TSV); a "
            "CONSTRUCT or DESCRIBE graph, or the service description, in an RDF format. A format that does not "
            "fit the query's form is a 406.",
            "content": {**RESULTS_CONTENT, **GRAPH_CONTENT},
        },
        "400": ERROR,
        "406": ERROR,
        "503": ERROR,
    }
    return {
        "description": OTHER_METHODS,
        "get": {
            "operationId": "sparql",
            "summary": "SPARQL 1.1 query",
            "description": "The SPARQL 1.1 Protocol; see also the service description (GET with no query).",
            "tags": ["sparql"],
            "parameters": [query, *(c for c in _controls(0, None) if c["name"] in ("format", "timeout"))],
            "responses": {**responses, "304": {"description": "Not modified (If-None-Match)."}},
        },
        "post": {
            "operationId": "sparql_post",
            "summary": "SPARQL 1.1 query or update",
            "description": "A query as application/sparql-query or a form; an update (with the bearer token) as "
            "application/sparql-update or a form.",
            "tags": ["sparql"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/sparql-query": {"schema": {"type": "string"}, "example": query["example"]},
                    "application/sparql-update": {"schema": {"type": "string"}},
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"query": {"type": "string"}, "update": {"type": "string"}},
                        }
                    },
                },
            },
            "responses": {
                **responses,
                "204": {"description": "The update was applied."},
                "401": ERROR,
                "403": ERROR,
                "413": ERROR,
                "415": ERROR,
            },
        },
    }


_JSON_OK: dict[str, Any] = {"description": "JSON.", "content": {"application/json": {"schema": {"type": "object"}}}}


def _json_get(name: str, summary: str, description: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": OTHER_METHODS,
        "get": {"operationId": name, "summary": summary, "description": description, "tags": ["service"],
                "responses": responses},
    }  # fmt: skip


def _store() -> dict[str, Any]:
    """The Graph Store HTTP Protocol on ?graph=IRI or ?default (graphs under /store/... too, not listed)."""
    target = [
        {"name": "graph", "in": "query", "required": False, "description": "The graph, by IRI.",
         "schema": {"type": "string", "format": "iri"}},
        {"name": "default", "in": "query", "required": False, "allowEmptyValue": True,
         "description": "The default graph (give it with no value).", "schema": {"type": "string"}, "example": ""},
        {"name": "timeout", "in": "query", "required": False, "description": "Seconds, at most the server's limit.",
         "schema": {"type": "number", "minimum": 0.1}},
    ]  # fmt: skip
    rdf_body = {"required": True, "content": {
        media: {"schema": {"type": ["object", "array"]} if "json" in media else {"type": "string"}}
        for media in GRAPH_CONTENT
    }}  # fmt: skip
    write = {"204": {"description": "Replaced."}, "201": {"description": "Created."},
             "200": {"description": "Added to, or deleted."}, "400": ERROR, "401": ERROR, "403": ERROR,
             "404": ERROR, "413": ERROR, "415": ERROR, "503": ERROR}  # fmt: skip
    read = {"200": {"description": "The graph.", "content": GRAPH_CONTENT},
            "304": {"description": "Not modified (If-None-Match)."},
            "400": ERROR, "404": ERROR, "406": ERROR, "503": ERROR}  # fmt: skip
    return {
        "description": OTHER_METHODS,
        "get": {"operationId": "store_get", "summary": "A graph", "tags": ["graph store"], "parameters": target,
                "responses": read},
        "put": {"operationId": "store_put", "summary": "Replace a graph (with the bearer token)",
                "tags": ["graph store"], "parameters": target, "requestBody": rdf_body, "responses": write},
        "post": {"operationId": "store_post", "summary": "Add to a graph, or create one under /store/ (with the "
                 "bearer token)", "tags": ["graph store"], "parameters": target, "requestBody": rdf_body,
                 "responses": write},
        "delete": {"operationId": "store_delete", "summary": "Delete a graph (with the bearer token)",
                   "tags": ["graph store"], "parameters": target, "responses": write},
    }  # fmt: skip


def _reconcile() -> dict[str, Any]:
    """The W3C Reconciliation Service API 0.2 (its own schemas define the JSON inside queries= and extend=)."""
    fields = {
        "queries": {"type": "string", "description": 'A JSON object of queries: {"q0": {"query": "Ahn Hyun-soo"}}.'},
        "extend": {"type": "string", "description": 'A JSON extend query: {"ids": [...], "properties": [{"id": '
                   '"nation"}]}.'},
        "timeout": {"type": "string", "description": "Seconds, at most the server's limit."},
    }  # fmt: skip
    parameters = [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in fields.items()]
    responses = {"200": {"description": "The manifest (no queries), the batch's candidates, or the extension.",
                         "content": {"application/json": {"schema": {"type": "object"}}}},
                 "400": ERROR, "413": ERROR, "503": ERROR}  # fmt: skip
    form = {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": fields}}}
    return {
        "description": OTHER_METHODS,
        "get": {"operationId": "reconcile", "summary": "Reconciliation (OpenRefine)", "tags": ["reconciliation"],
                "parameters": parameters, "responses": responses},
        "post": {"operationId": "reconcile_post", "summary": "Reconciliation (OpenRefine), as a form",
                 "tags": ["reconciliation"], "requestBody": {"required": False, "content": form},
                 "responses": {**responses, "415": ERROR}},
    }  # fmt: skip


def _components() -> dict[str, Any]:
    error = {
        "type": "object",
        "required": ["status", "error", "message"],
        "properties": {
            "status": {"type": "integer"},
            "error": {"type": "string", "description": "A stable name for the condition."},
            "message": {"type": "string", "description": "What was wrong, for people."},
            "line": {"type": "integer"},
            "column": {"type": "integer"},
        },
    }
    catalogue = {
        "type": "object",
        "required": ["queries"],
        "properties": {
            "queries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "title", "description", "parameters", "url"],
                    "properties": {
                        "name": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "parameters": {"type": "array", "items": {"type": "object"}},
                        "url": {"type": "string", "format": "uri"},
                        "example_url": {"type": "string", "format": "uri"},
                    },
                },
            }
        },
    }
    return {
        "schemas": {"Error": error, "Catalogue": catalogue},
        "responses": {
            "Error": {
                "description": "What was wrong, as JSON.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
    }
