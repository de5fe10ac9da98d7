"""skategraph's whole app (every request evaluated: no response cache) for granian, a Rust HTTP server
for WSGI apps, so that `bench/endpoint.py` can measure what a faster HTTP server would give in place
of gunicorn. A measurement only: `skategraph serve` runs gunicorn, whose shutdown, slow-client and
logging behaviour the tests hold.

    SKATEGRAPH_STORE=<store> granian --interface wsgi --factory bench.granian_app:factory
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from skategraph.web.app import create_app
from skategraph.web.settings import Settings


def factory() -> Flask:
    row_limit = int(os.environ.get("SKATEGRAPH_ROW_LIMIT", Settings.row_limit))
    return create_app(Settings(store=Path(os.environ["SKATEGRAPH_STORE"]), cache_mb=0, row_limit=row_limit))
