"""Identity: the one place that decides which names are the same thing and what IRI it gets.

Rules (issue 2), each tested in `tests/test_ids.py`:
- a skater's key is their name folded to ASCII, lower case, runs of anything else made one hyphen:
  `Lee Seung-Jae` and `Lee Seung-jae` are both `lee-seung-jae`, so they are one skater;
- the disambiguator the source writes is kept: `Yang Yang (A)` is `yang-yang-a`, never `yang-yang`;
- nations are keyed by IOC code (`id/nation/GER`); a relay team is a nation in one category;
- spellings a person has confirmed as one skater (`data/identities.tsv`: `Viktor Ahn` is
  `ahn-hyun-soo`) take that skater's key; the IRI a spelling had before keeps answering, as
  `owl:sameAs` the merged skater.

Names are folded by `skategraph.source.folding`, written there rather than taken from a transliteration
library on purpose: IRIs must not change when a dependency updates its tables.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlsplit

from pyoxigraph import NamedNode

from skategraph.errors import SkategraphError
from skategraph.graph.vocab import ONTOLOGY_IRI
from skategraph.source.folding import fold, key
from skategraph.source.records import Category

DEFAULT_BASE = "https://w3id.org/skategraph/"

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_WORD = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=1 << 16)
def slug(text: str) -> str:
    """The key a name is known by: ASCII-folded, lower case, hyphens. `Yang Yang (A)` -> `yang-yang-a`.

    A name with no Latin letters at all (`王濛`) keeps its own letters, lower-cased, rather than
    collapsing to nothing: IRIs may hold Unicode.
    """
    ascii_slug = _NOT_SLUG.sub("-", fold(text).lower()).strip("-")
    if ascii_slug:
        return ascii_slug
    unicode_slug = _NOT_WORD.sub("-", unicodedata.normalize("NFC", text).lower()).strip("-")
    if not unicode_slug:
        raise SkategraphError(f"cannot make an identifier from the name {text!r}")
    return unicode_slug


def check_base(base: str) -> str:
    """A base IRI must be absolute http(s) and end with '/', so `id/...` can be appended."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or not base.endswith("/"):
        raise SkategraphError(f"the base IRI must be an absolute http(s) IRI ending in '/', got {base!r}")
    if parts.query or parts.fragment:
        raise SkategraphError(f"the base IRI must not have a query or fragment, got {base!r}")
    return base


def absolute_iri(text: str) -> NamedNode | None:
    """`text` as an IRI if it is a valid absolute one (with a scheme), else None: the one IRI check."""
    try:
        node = NamedNode(text)
    except ValueError:
        return None
    return node if urlsplit(text).scheme else None


def wikipedia_url(title: str) -> str:
    """The English Wikipedia URL of an article title."""
    return "https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe="()_,'")


@functools.lru_cache(maxsize=1 << 16)
def _quoted(part: str) -> str:
    """A part of an IRI's path, percent-encoded: few distinct ones (`id`, `result`, a season, a stage)."""
    return quote(part, safe="-")


class Minter:
    """Mints every IRI skategraph publishes, under one base."""

    def __init__(
        self, base: str = DEFAULT_BASE, identities: Mapping[str, str] | None = None,
        spellings: Mapping[str, Sequence[str]] | None = None,
    ) -> None:  # fmt: skip
        self.base = check_base(base)
        self.identities = dict(identities or {})  # folded spelling -> skater key (data/identities.tsv)
        # skater key -> the identity file's spellings as written: names the skater is known by
        self.spellings = {skater: tuple(names) for skater, names in (spellings or {}).items()}

        # A build mints the same skaters, nations and seasons again for every result: kept.
        self._minted: dict[tuple[str, ...], NamedNode] = {}

    def _iri(self, *parts: str) -> NamedNode:
        return NamedNode(self.base + "/".join(map(_quoted, parts)))

    def _kept(self, *parts: str) -> NamedNode:
        """`_iri`, once for each IRI: for the few things every result names again."""
        found = self._minted.get(parts)
        if found is None:
            found = self._minted[parts] = self._iri(*parts)
        return found

    # Resources that span seasons.
    def skater_key(self, name: str) -> str:
        """The key of the skater `name` is: the identity file's word where it has one, else the slug."""
        return self.identities.get(key(name)) or slug(name)

    def skater(self, name: str) -> NamedNode:
        return self._kept("id", "skater", self.skater_key(name))

    def skater_as_spelled(self, name: str) -> NamedNode:
        """The IRI a spelling has without the identity file: kept answering once the skater is merged."""
        return self._iri("id", "skater", slug(name))

    def nation(self, code: str) -> NamedNode:
        return self._kept("id", "nation", code)

    def venue(self, name: str) -> NamedNode:
        return self._kept("id", "venue", slug(name))

    def relay_team(self, code: str, category: Category) -> NamedNode:
        return self._kept("id", "relay-team", f"{code}-{category.value}")

    # Resources of one season.
    def season(self, key: str) -> NamedNode:
        return self._kept("id", "season", key)

    def stage(self, season: str, stage_key: str) -> NamedNode:
        return self._iri("id", "stage", season, stage_key)

    def race(self, season: str, stage_key: str, category: Category, event: str) -> NamedNode:
        return self._iri("id", "race", season, stage_key, f"{category.value}-{slug(event)}")

    def result(self, season: str, stage_key: str, category: Category, event: str, rank: int) -> NamedNode:
        return self._iri("id", "result", season, stage_key, f"{category.value}-{slug(event)}", str(rank))

    def classification(self, season: str, category: Category, event: str) -> NamedNode:
        return self._iri("id", "classification", season, f"{category.value}-{slug(event)}")

    def standing(self, season: str, category: Category, event: str, rank: int) -> NamedNode:
        return self._iri("id", "standing", season, f"{category.value}-{slug(event)}", str(rank))

    # Links to other datasets: a resource by its base-free key (skater/ahn-hyun-soo), and a link's
    # statement, named by what it links (id/link/skater/ahn-hyun-soo/Q123).
    def keyed(self, key: str) -> NamedNode:
        return NamedNode(self.base + "id/" + key)

    def link(self, key: str, target: str) -> NamedNode:
        return self._iri("id", "link", *key.split("/"), target.rstrip("/").rsplit("/", 1)[-1])

    def links_graph(self) -> NamedNode:
        return self._iri("graph", "links")

    # Named graphs and provenance.
    def season_graph(self, key: str) -> NamedNode:
        return self._kept("graph", "season", key)

    def entities_graph(self) -> NamedNode:
        return self._iri("graph", "entities")

    def build(self, build_id: str) -> NamedNode:
        return self._iri("build", build_id)

    @staticmethod
    def ontology_graph() -> NamedNode:
        return NamedNode(ONTOLOGY_IRI)
