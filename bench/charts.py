"""What a page's chart costs, against the page it is on.

    python bench/charts.py [--rounds 40]

The seed store (built in a temporary directory) served by the app in this process, with its real
worker pool, through Flask's test client (no HTTP, no response cache). For each page with a chart
(a skater, a nation, a season) the page and its SVG are requested in turn, `--rounds` times each;
the figures are the median wall time of each and the chart's as a ratio to its page's, measured in
the same run. Then the drawing alone (pygal, from rows already fetched), as a ratio to the same page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox
from flask import Flask

from skategraph.store.build import build_from_files
from skategraph.web import charts, pages, sections
from skategraph.web.app import create_app
from skategraph.web.settings import Settings

SEED = ROOT / "data" / "2002-03_ISU_Short_Track_Speed_Skating_World_Cup.txt"
PAGES = {
    "skater": ("/id/skater/ahn-hyun-soo", "podiums"),
    "nation": ("/id/nation/KOR", "podiums"),
    "season": ("/id/season/2002-03", "medals"),
}


def median_ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        build_from_files([SEED], store, base="https://w3id.org/skategraph/", validate=False)
        app = create_app(Settings(store=store, cache_mb=0))
        client = app.test_client()
        try:
            head = ("page", "page ms", "chart ms", "chart/page", "drawing ms", "drawing/page")
            print("{:8} {:>8} {:>9} {:>11} {:>11} {:>13}".format(*head))
            for kind, (path, name) in PAGES.items():
                page: list[float] = []
                chart: list[float] = []
                for _round in range(args.rounds):
                    for timings, url, accept in ((page, path, "text/html"), (chart, f"{path}/{name}.svg", "*/*")):
                        started = time.perf_counter()
                        reply = client.get(url, headers={"Accept": accept})
                        reply.get_data()
                        timings.append(time.perf_counter() - started)
                        assert reply.status_code == 200, (url, reply.status_code)
                rows = _rows(app, path)
                spec = charts.CHARTS[kind.capitalize()]
                drawing = []
                for _round in range(args.rounds):
                    started = time.perf_counter()
                    charts.draw(spec, rows)
                    drawing.append(time.perf_counter() - started)
                p, c, d = median_ms(page), median_ms(chart), median_ms(drawing)
                print(f"{kind:8} {p:8.1f} {c:9.1f} {c / p:10.2f}× {d:11.1f} {d / p:12.2f}×")
        finally:
            app.extensions["skategraph"].close()


def _rows(app: Flask, path: str) -> list[dict[str, dict[str, str]]]:
    """The rows a page's chart draws, fetched as the chart's own request fetches them."""
    with app.test_request_context():
        svc = app.extensions["skategraph"]
        iri = svc.manifest()["base"] + path[1:]
        this = (("_this", ox.NamedNode(iri)),)
        kind = pages._kind([r["type"]["value"] for r in svc.select(pages.TYPES, this)])
        chart = charts.CHARTS[kind]
        query = next(q for title, q, _c in sections.SECTIONS[kind] if title == chart.section)
        return sections.rows_of(query, this)


if __name__ == "__main__":
    main()
