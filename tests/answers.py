"""The same app over the embedded store and over a remote store holding the same generation, and how
their answers are compared (issue 15's "same answers"): rows as multisets (ORDER BY may break ties
either way), pages byte for byte, RDF documents as graphs.
"""

from __future__ import annotations

import collections
import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from .remotes import Server, served_remotely
from .server import App, Reply, running_app


@dataclass
class Pair:
    name: str
    embedded: App
    remote: App


@contextlib.contextmanager
def paired(name: str, server: Server, store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """The app over the embedded store at `store`, and over `server` once that store's generation is
    put in place there; no response cache on either, so every answer is the store's."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        at = served_remotely(server, store, monkeypatch, tmp_path_factory.mktemp("cache"))
        with (
            running_app(store, cache_mb=0, update_token="secret") as embedded,
            running_app(at.path, remote=at.remote, cache_mb=0, update_token="secret") as remote,
        ):
            yield Pair(name, embedded, remote)


def rows(reply: Reply) -> collections.Counter[str]:
    """A SPARQL JSON result's rows as a multiset."""
    assert reply.status == 200, reply.text
    bindings = json.loads(reply.body)["results"]["bindings"]
    return collections.Counter(json.dumps(row, sort_keys=True) for row in bindings)


def both(pair: Pair, path: str, **headers: str) -> tuple[Reply, Reply]:
    return pair.embedded.get(path, **headers), pair.remote.get(path, **headers)


def same_rows(pair: Pair, path: str, what: str) -> None:
    """The path's SPARQL JSON rows, the same multiset on both, and some to compare."""
    mine, theirs = both(pair, path, Accept="application/sparql-results+json")
    expected = rows(mine)
    assert expected, f"{what} answers nothing on the embedded store: nothing is compared"
    assert theirs.status == 200, f"{what} on {pair.name}: {theirs.status} {theirs.text[:500]}"
    found = rows(theirs)
    assert found == expected, (
        f"{what} on {pair.name}: missing {sorted((expected - found).elements())[:5]}, "
        f"extra {sorted((found - expected).elements())[:5]}"
    )


def same_page(pair: Pair, path: str) -> None:
    """The HTML page at `path`, the same bytes on both; the differing lines named if not."""
    mine, theirs = both(pair, path, Accept="text/html")
    assert mine.status == 200, (path, mine.text[:300])
    assert theirs.status == 200, (path, pair.name, theirs.text[:300])
    if theirs.body != mine.body:
        ours, others = mine.text.splitlines(), theirs.text.splitlines()
        differ = [(a, b) for a, b in zip(ours, others, strict=False) if a != b][:5]
        raise AssertionError(f"{path} on {pair.name} differs: {len(ours)} lines, {len(others)} there; {differ}")


def same_chart(pair: Pair, path: str, status: int = 200) -> None:
    """The chart at `path`, the same SVG on both but for the id pygal draws at random for each."""
    mine, theirs = both(pair, path)
    assert mine.status == status, (path, mine.status, mine.text[:300])
    assert theirs.status == mine.status, (path, pair.name, theirs.text[:300])
    ours, others = (re.sub(r"chart-[0-9a-f-]{36}", "chart-ID", reply.text) for reply in (mine, theirs))
    assert others == ours, (path, pair.name)


def same_graph(pair: Pair, path: str, accept: str = "text/turtle") -> None:
    """The RDF at `path`, the same graph on both (blank nodes as each store labels them)."""
    mine, theirs = both(pair, path, Accept=accept)
    assert mine.status == 200, (path, mine.text[:300])
    assert theirs.status == 200, (path, pair.name, theirs.text[:300])
    ours = Graph().parse(data=mine.text, format="turtle")
    others = Graph().parse(data=theirs.text, format="turtle")
    assert len(ours) > 3, f"{path}: nothing to compare"
    if not isomorphic(others, ours):
        _both, missing, extra = graph_diff(to_isomorphic(ours), to_isomorphic(others))
        raise AssertionError(f"{path} on {pair.name}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}")


def answer(reply: Reply) -> Any:
    assert reply.status == 200, reply.text
    return json.loads(reply.body)
