"""The fastest a Python WSGI app on gunicorn answers SPARQL here: the ceiling for `skategraph serve`.

A bare WSGI callable (no Flask, no content negotiation, no limits, no worker processes) that evaluates
the query in the web process with pyoxigraph and returns SPARQL JSON. `bench/endpoint.py` serves it
with the same gunicorn settings as `skategraph serve` (gthread, one process per core, 8 threads), so
the gap between it and Oxigraph's own server is what the Python web tier costs before skategraph adds
anything. Not safe to deploy: a runaway query here runs forever.

    SKATEGRAPH_GENERATION=<store>/generations/<id> gunicorn -k gthread bench.ceiling:app
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import pyoxigraph as ox

_opened: dict[str, ox.Store] = {}  # opened after gunicorn forks, never before


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if "store" not in _opened:
        _opened["store"] = ox.Store.read_only(os.path.join(os.environ["SKATEGRAPH_GENERATION"], "oxigraph"))
    query = parse_qs(environ.get("QUERY_STRING", "")).get("query", [""])[0]
    out = io.BytesIO()
    _opened["store"].query(query, use_default_graph_as_union=True).serialize(out, ox.QueryResultsFormat.JSON)
    body = out.getvalue()
    start_response("200 OK", [("Content-Type", "application/sparql-results+json"), ("Content-Length", str(len(body)))])
    return [body]
