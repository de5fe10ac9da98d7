"""Plain records for what a season article says: frozen dataclasses, no RDF and no I/O.

Every record keeps the line it came from, so later checks (and users) can point at the source.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass


class Category(enum.Enum):
    MEN = "men"
    WOMEN = "women"

    @property
    def label(self) -> str:
        return "Men" if self is Category.MEN else "Women"


@dataclass(frozen=True)
class Entrant:
    """One podium cell: `KOR Ahn Hyun-soo` (a skater) or `CAN Canada` (a relay team)."""

    nation: str  # IOC code
    name: str  # as written in the source
    is_team: bool
    line: int


@dataclass(frozen=True)
class Placing:
    rank: int
    entrant: Entrant


@dataclass(frozen=True)
class Race:
    """One final: a row of a stage table."""

    category: Category
    date: datetime.date
    distance: int  # metres
    relay: bool
    podium: tuple[Placing, ...]  # empty for a race that is scheduled but not yet skated
    line: int

    @property
    def event(self) -> str:
        """The event name used in labels and IRIs: `1500m`, `5000m relay`."""
        return f"{self.distance}m relay" if self.relay else f"{self.distance}m"


@dataclass(frozen=True)
class Stage:
    """One World Cup meeting at a venue; the men's and women's tables of it merged."""

    venue: str  # the city as written
    nation: str  # IOC code of the host nation
    heading: str  # the section heading, usually the host country
    races: tuple[Race, ...]
    line: int

    @property
    def start(self) -> datetime.date:
        return min(race.date for race in self.races)

    @property
    def end(self) -> datetime.date:
        return max(race.date for race in self.races)


@dataclass(frozen=True)
class Classification:
    """One row of the overall standings: a classification and its podium."""

    category: Category
    distance: int | None  # None for the Overall classification
    relay: bool
    places: tuple[Placing, ...]
    line: int

    @property
    def event(self) -> str:
        if self.distance is None:
            return "Overall"
        return f"{self.distance}m relay" if self.relay else f"{self.distance}m"


@dataclass(frozen=True)
class SeasonLink:
    """A previous/next season named in the infobox, e.g. `2001–02 World Cup`."""

    key: str  # `2001-02`
    text: str
    line: int


@dataclass(frozen=True)
class Article:
    """Everything one season article says."""

    source: str  # file name or other label, for messages
    sha256: str  # of the article text, UTF-8 encoded
    title: str
    season: str  # `2002-03`
    start: datetime.date | None
    end: datetime.date | None
    previous: SeasonLink | None
    next: SeasonLink | None
    stages: tuple[Stage, ...]
    classifications: tuple[Classification, ...]

    @property
    def races(self) -> tuple[Race, ...]:
        return tuple(race for stage in self.stages for race in stage.races)

    @property
    def entrants(self) -> tuple[Entrant, ...]:
        placings = [p for race in self.races for p in race.podium]
        placings += [p for c in self.classifications for p in c.places]
        return tuple(p.entrant for p in placings)
