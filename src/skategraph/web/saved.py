"""`/queries`: the saved queries over HTTP.

    GET  /queries                the catalogue as JSON, with each parameter's allowed values and a URL
    GET  /queries/<name>?p=v     run a saved query (POST a form too); results as from /sparql
    GET  /openapi.json           an OpenAPI 3.1 document of these operations and /sparql

A saved query answers with the same content negotiation, `format=`, time limit, errors, ETags and
caching as `/sparql` (it goes through `protocol.respond`). Its values are checked and bound by the
core (`skategraph.saved.prepare`), the same code the CLI uses. Long results come in pages: `limit`
(at most the server's row limit, which is also the default) and `offset`; a page with more after it
links to the next with `Link: <...>; rel="next"`, `X-Skategraph-Truncated: true` and, in JSON and XML,
a link in the result's head.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from skategraph.errors import QueryError, UnsupportedMediaType
from skategraph.saved.catalogue import metadata
from skategraph.saved.lookups import Lookups
from skategraph.saved.prepare import prepare
from skategraph.saved.query import CONTROLS, SavedQuery
from skategraph.web import negotiate, openapi, protocol
from skategraph.web.service import get_service

blueprint = Blueprint("saved", __name__)


@blueprint.get("/queries")
def catalogue() -> Response:
    svc = get_service()
    lookups = svc.lookups()
    return jsonify(queries=[entry(query, lookups) for query in svc.catalogue])


def entry(query: SavedQuery, lookups: Lookups) -> dict[str, Any]:
    """A query's metadata with its URLs, and the allowed values the store knows for its parameters."""
    data = metadata(query)
    for param, described in zip(query.params, data["parameters"], strict=True):  # type: ignore[call-overload]
        values = lookups.values_for(param)
        if values and "values" not in described:
            described["values"] = values
    url = url_for("saved.run", name=query.name, _external=True)
    data["url"] = url
    example = query.example()
    data["example_url"] = url + (f"?{urlencode(example)}" if example else "")
    return data


@blueprint.route("/queries/<name>", methods=["GET", "HEAD", "POST"])
def run(name: str) -> Response:
    svc = get_service()
    query = svc.catalogue.get(name)
    if request.method == "POST":
        if request.mimetype not in protocol.FORMS:
            raise UnsupportedMediaType(
                f"POST a saved query's parameters as a form (application/x-www-form-urlencoded), "
                f"not {request.mimetype or 'no Content-Type'}"
            )
        params = MultiDict([*request.args.items(multi=True), *request.form.items(multi=True)])
    else:
        params = request.args
    given = [(key, value) for key, value in params.items(multi=True) if key not in CONTROLS]
    prepared = prepare(query, given, svc.lookups, svc.settings.allow_service, generation=str(svc.generation()))
    limit, offset = _page(params, svc.settings.row_limit)
    results_format, graph_format = negotiate.choose(params.get("format"), request.accept_mimetypes)
    following = [(k, v) for k, v in params.items(multi=True) if k != "offset"] + [("offset", str(offset + limit))]
    job = dataclasses.replace(
        prepared,
        results_format=results_format,
        graph_format=graph_format,
        row_limit=limit,
        truncated_links=(url_for("saved.run", name=name, _external=True) + "?" + urlencode(following),),
        base_iri=request.base_url,
        offset=offset,
    )
    return protocol.respond(job, svc.limit(params.get("timeout")), rel="next")


def _page(params: MultiDict[str, str], row_limit: int) -> tuple[int, int]:
    """(limit, offset) of the page asked for; the limit defaults to, and may not pass, the row limit."""
    limit = _whole(params.get("limit"), "limit", 1) if params.get("limit") else row_limit
    if row_limit and limit > row_limit:
        raise QueryError(f"limit may be at most {row_limit:,} (the server's row limit); page with offset")
    return limit, _whole(params.get("offset"), "offset", 0) if params.get("offset") else 0


def _whole(text: str | None, name: str, least: int) -> int:
    if text is None or not (text.isascii() and text.isdigit()) or int(text) < least:  # not `²`
        raise QueryError(f"{name} must be a whole number, at least {least}, not {text!r}")
    return int(text)


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    svc = get_service()
    return jsonify(openapi.document(svc.catalogue, svc.lookups(), svc.settings.row_limit))
