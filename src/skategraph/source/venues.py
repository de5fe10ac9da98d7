"""Host cities and their arenas, for Place cells and stage headings that carry no nation code.

The table is `data/venues.tsv`. A real article names a stage's place as a city (`KOR Chuncheon`), an
arena (`Utah Olympic Oval`), an arena and a city (`CAN Pacific Coliseum, Vancouver`) or a city and an
arena (`CAN Montréal (Maurice Richard Arena)`); the venue is the city every time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from skategraph import resources
from skategraph.source.folding import key as _key


@dataclass(frozen=True)
class City:
    name: str
    nation: str  # IOC code
    arenas: tuple[str, ...]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Venues:
    cities: dict[str, City]  # folded city name or alias -> city
    arenas: dict[str, City]  # folded arena name -> its city

    def city(self, name: str) -> City | None:
        return self.cities.get(_key(name))

    def arena(self, name: str) -> City | None:
        return self.arenas.get(_key(name))


def parse_venues(text: str) -> Venues:
    cities: dict[str, City] = {}
    arenas: dict[str, City] = {}
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        name, code, *rest = raw.split("\t")
        split = [tuple(part for part in column.split("|") if part) for column in rest] + [(), ()]
        city = City(name, code, split[0], split[1])
        for spelling in (name, *city.aliases):
            cities[_key(spelling)] = city
        for arena in city.arenas:
            arenas[_key(arena)] = city
    return Venues(cities, arenas)


@functools.cache
def bundled_venues() -> Venues:
    return parse_venues((resources.bundled("data") / "venues.tsv").read_text(encoding="utf-8"))
