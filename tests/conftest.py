"""Shared fixtures: the seed article, articles derived from it, and real on-disk stores."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from skategraph import resources
from skategraph.store.build import build_from_files
from skategraph.store.embedded import EmbeddedStore, open_store

from . import remotes

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "2002-03_ISU_Short_Track_Speed_Skating_World_Cup.txt"
BASE = "https://w3id.org/skategraph/"
ID = BASE + "id/"
WIKIDATA_LIKE = ROOT / "tests" / "fixtures" / "wikidata-like.ttl"


@pytest.fixture(autouse=True)
def _own_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test touch the user's real store."""
    monkeypatch.setenv("SKATEGRAPH_STORE", str(tmp_path_factory.mktemp("default-store") / "store"))
    monkeypatch.delenv("SKATEGRAPH_BASE", raising=False)


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def shift_season(text: str, years: int) -> str:
    """The seed moved `years` seasons later: title, infobox and every date, same skaters."""

    def season(match: re.Match[str]) -> str:
        first = int(match.group(1)) + years
        return f"{first}–{(first + 1) % 100:02d}"

    text = re.sub(r"(\d{4})–(\d{2})\b", lambda m: "\0" + season(m) + "\0", text)
    parts = text.split("\0")
    # Even parts are outside the season spans already shifted; move the years of dates there.
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"\b(\d{4})\b", lambda m: str(int(m.group(1)) + years), parts[i])
    return "".join(parts)


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.split("\n")
    lines[number - 1] = new
    return "\n".join(lines)


def line_of(text: str, fragment: str) -> int:
    """The 1-based number of the first line containing `fragment`."""
    for number, line in enumerate(text.split("\n"), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} is not in the text")


def build(path: Path, *articles: Path, validate: bool = False) -> EmbeddedStore:
    """`skategraph build` of `articles` (default: the seed) with the bundled links, at `path`."""
    build_from_files(list(articles) or [SEED], path, base=BASE, validate=validate)
    return open_store(path)


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of the seed's store, built once and validated; copy it (`copy_store`) to change it."""
    path = tmp_path_factory.mktemp("seed") / "store"
    build(path, SEED, validate=True)
    return path


@pytest.fixture(scope="session")
def seed_store(seed_dir: Path) -> Iterator[EmbeddedStore]:
    """The seed built once, validated, in a real on-disk store."""
    yield open_store(seed_dir)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[remotes.Server]:
    """Oxigraph's server on a free 127.0.0.1 port, its database in a temporary directory (issue 15)."""
    yield from _serving(remotes.oxigraph, tmp_path_factory.mktemp("oxigraph-server"))


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[remotes.Server]:
    """Virtuoso on free 127.0.0.1 ports, every file in a temporary directory, every result capped at
    `max_rows` rows, with a SQL user that may update (issue 15)."""
    yield from _serving(remotes.virtuoso, tmp_path_factory.mktemp("virtuoso-server"))


@pytest.fixture(scope="session")
def wikidata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The query URL of Oxigraph's server (read-only) on 127.0.0.1 with the Wikidata-shaped test data,
    which `skategraph link --endpoint` asks in place of Wikidata and DBpedia."""
    directory = tmp_path_factory.mktemp("wikidata")
    for server in _serving(lambda d: remotes.wikidata_like(d, WIKIDATA_LIKE), directory):
        yield server.url + "/query"


@pytest.fixture
def links_dir(tmp_path: Path) -> Path:
    """A copy of the bundled links directory, so tests can write to it."""
    target = tmp_path / "links"
    shutil.copytree(resources.bundled("data") / "links", target, ignore=shutil.ignore_patterns(".cache"))
    return target


def _serving(start: Callable[[Path], remotes.Server], directory: Path) -> Iterator[remotes.Server]:
    """A test server started in `directory`, stopped and its directory removed at the end."""
    server = start(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def copy_store(source: Path, target: Path) -> Path:
    """A copy of a built store directory (its `current` link kept relative), for a test that writes."""
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("build.lock"))
    return target


def select(store: EmbeddedStore, sparql: str) -> list[tuple[str, ...]]:
    """Rows of a SELECT as plain strings (IRIs and literal values), in result order."""
    result = store.query(sparql)
    return [tuple("" if term is None else term.value for term in row) for row in result]


def scalar(store: EmbeddedStore, sparql: str) -> str:
    rows = select(store, sparql)
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


def ask(store: EmbeddedStore, sparql: str) -> bool:
    result = store.query(sparql)
    assert isinstance(result, ox.QueryBoolean), sparql
    return bool(result)
