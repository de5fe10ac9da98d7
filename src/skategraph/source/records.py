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
    MIXED = "mixed"  # mixed-gender relays

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class SourceWarning:
    """Something the source lacks or says oddly, loaded as far as it goes and reported (file, line)."""

    source: str
    line: int
    message: str

    def text(self) -> str:
        return f"{self.source}, line {self.line}: {self.message}"


@dataclass(frozen=True)
class Entrant:
    """One podium cell: `KOR Ahn Hyun-soo` (a skater) or `CAN Canada` (a relay team).

    A relay cell may name the team's skaters (`RUS Semion Elistratov Dmitry Migunov ...`): `members`
    are the names the article knows from its other races, `unsplit` what could not be split into
    names, kept as written.
    """

    nation: str  # IOC code
    name: str  # as written in the source; for a team, the nation's name
    is_team: bool
    line: int
    members: tuple[str, ...] = ()
    unsplit: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placing:
    rank: int
    entrant: Entrant


@dataclass(frozen=True)
class Race:
    """One final: a row of a stage table (or half of one, where a row holds two races)."""

    category: Category
    date: datetime.date | None  # None when the source gives only the stage's days (`21-23 September`)
    distance: int  # metres
    relay: bool
    podium: tuple[Placing, ...]  # empty for a race that is scheduled but not yet skated
    line: int
    number: int | None = None  # 1, 2 for the second race of one distance at a stage: `1500m (2)`

    @property
    def event(self) -> str:
        """The event name used in labels and IRIs: `1500m`, `5000m relay`, `1500m (2)`."""
        name = f"{self.distance}m relay" if self.relay else f"{self.distance}m"
        return name if self.number is None else f"{name} ({self.number})"


@dataclass(frozen=True)
class Stage:
    """One World Cup meeting at a venue; the men's and women's tables of it merged.

    The venue is the host city, whatever form the source names it in; the arena is kept when the
    source names one. A stage's days are the ones the source gives for the meeting (a heading, a
    date range, a list of stages), else those of its races.
    """

    venue: str  # the city as written
    nation: str  # IOC code of the host nation
    heading: str  # the section heading: the host country or city, or "" for one table per season
    races: tuple[Race, ...]
    line: int
    arena: str | None = None
    days: tuple[datetime.date, datetime.date] | None = None  # the meeting's first and last day
    number: int | None = None  # as the article numbers its stages

    @property
    def start(self) -> datetime.date:
        if self.days is not None:
            return self.days[0]
        return min(race.date for race in self.races if race.date is not None)

    @property
    def end(self) -> datetime.date:
        if self.days is not None:
            return self.days[1]
        return max(race.date for race in self.races if race.date is not None)


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
    start: datetime.date | None  # the infobox's dates, else the first and last day of its stages
    end: datetime.date | None
    previous: SeasonLink | None
    next: SeasonLink | None
    stages: tuple[Stage, ...]
    classifications: tuple[Classification, ...]
    warnings: tuple[SourceWarning, ...] = ()

    @property
    def races(self) -> tuple[Race, ...]:
        return tuple(race for stage in self.stages for race in stage.races)

    @property
    def entrants(self) -> tuple[Entrant, ...]:
        placings = [p for race in self.races for p in race.podium]
        placings += [p for c in self.classifications for p in c.places]
        return tuple(p.entrant for p in placings)
