"""From the rows of an article's results tables to its stages: grouping, venues, days, merging.

A stage is found the way the article shows it: a heading per stage (`====Korea====`,
`====Salt Lake City 7–9 November 2014====`), a `Stage` column, or, in one table for the whole
season, a row whose Place (or day range) starts a new meeting while empty cells below it continue it
(the source had a rowspan there). The men's and women's tables of one meeting become one stage; a
list of the season's stages (`Stage | Location | Date`) gives the days and places of stages, with or
without races (a cancelled season has only these).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from skategraph.errors import SourceError
from skategraph.source.cells import Place
from skategraph.source.folding import key as slug
from skategraph.source.records import Category, Race, Stage
from skategraph.source.venues import Venues

# Two tables for the same venue whose dates lie this close are one stage (the men's and women's
# halves of one meeting).
SAME_MEETING = datetime.timedelta(days=3)
Days = tuple[datetime.date, datetime.date]


@dataclass
class Group:
    """The races of one stage as one table gives them."""

    category: Category
    key: tuple[str, object]  # ("stage", number) | ("heading", line) | ("place", n)
    heading: str
    line: int
    places: list[tuple[int, str, Place]] = field(default_factory=list)  # (line, cell, parsed)
    days: Days | None = None
    number: int | None = None
    races: list[Race] = field(default_factory=list)


@dataclass(frozen=True)
class Listing:
    """One row of a list of the season's stages: `| 3 | KOR Seoul | 11–13 December |`."""

    number: int
    place: Place
    cell: str
    days: Days | None
    line: int


@dataclass
class _Venue:
    city: str
    nation: str
    arena: str | None


class StageBuilder:
    def __init__(self, source: str, venues: Venues, fail: Callable[[SourceError], None]) -> None:
        self.source = source
        self.venues = venues
        self.fail = fail

    def error(self, line: int, message: str) -> None:
        self.fail(SourceError(self.source, line, message))

    def venue(self, line: int, cell: str, place: Place) -> _Venue | None:
        """The city (and arena) a Place cell or heading names, its nation from the code or the table."""
        city_name, arena = place.city, place.arena
        known = self.venues.arena(city_name) if city_name and not arena else None
        if known is not None:  # `Utah Olympic Oval`: an arena, in a city the venues table knows
            city_name, arena = known.name, city_name
        city = self.venues.city(city_name) if city_name else None
        if city is None and arena is not None:
            city = self.venues.arena(arena)
        if city_name is None and city is not None:
            city_name = city.name
        nation = place.code or (city.nation if city else None)
        if not city_name or not nation:
            self.error(line, f"expected a place like 'KOR Chuncheon' (a nation code and a city), or an arena or "
                             f"city that data/venues.tsv lists, found {cell!r}")  # fmt: skip
            return None
        if (
            city is not None
            and place.code is not None
            and city.nation != place.code
            and slug(city.name) == slug(city_name)
        ):
            self.error(line, f"{city.name} is in {city.nation} (data/venues.tsv), not {place.code}")
            return None
        return _Venue(city_name, nation, arena)

    def stage_of(self, group: Group) -> Stage | None:
        places = group.places or [(group.line, group.heading, Place(None, group.heading, None))]
        found: _Venue | None = None
        for line, cell, place in places:
            venue = self.venue(line, cell, place)
            if venue is None:
                return None
            if found is None:
                found = venue
            elif (slug(venue.city), venue.nation) != (slug(found.city), found.nation):
                self.error(line, f"every race of a stage is at one place: expected {found.nation} {found.city}, "
                                 f"found {cell!r}")  # fmt: skip
                return None
            found.arena = found.arena or venue.arena
        assert found is not None
        if group.days is None and not any(race.date for race in group.races):
            self.error(group.line, "a stage needs its days: a date in each row, a range like '21-23 September "
                                   "2001', or days in its heading")  # fmt: skip
            return None
        return Stage(found.city, found.nation, group.heading, tuple(group.races), group.line, found.arena,
                     group.days, group.number)  # fmt: skip

    def build(self, groups: list[Group], listings: list[Listing]) -> tuple[Stage, ...]:
        stages: list[Stage] = []
        for group in groups:
            if not group.races:
                continue
            stage = self.stage_of(group)
            if stage is not None:
                stages.append(stage)
        merged = self.merge(stages)
        merged = self.with_listings(merged, listings)
        self.check_repeats(merged)
        return tuple(sorted(merged, key=lambda stage: (stage.start, stage.line)))

    def merge(self, stages: list[Stage]) -> list[Stage]:
        """Join the men's, women's and mixed tables of each meeting into one stage."""
        out: list[Stage] = []
        for stage in stages:
            for i, other in enumerate(out):
                if _same_meeting(other, stage):
                    out[i] = Stage(other.venue, other.nation, other.heading, other.races + stage.races, other.line,
                                   other.arena or stage.arena, _union(other.days, stage.days),
                                   other.number)  # fmt: skip
                    break
            else:
                out.append(stage)
        return out

    def with_listings(self, stages: list[Stage], listings: list[Listing]) -> list[Stage]:
        """Days and places from the list of stages; a listed stage with no races is a stage still."""
        out = list(stages)
        for listing in listings:
            match = next((i for i, s in enumerate(out) if _listed(s, listing, self.venues)), None)
            if match is not None:
                stage = out[match]
                out[match] = Stage(stage.venue, stage.nation, stage.heading, stage.races, stage.line, stage.arena,
                                   stage.days or listing.days, stage.number or listing.number)  # fmt: skip
                continue
            venue = self.venue(listing.line, listing.cell, listing.place)
            if venue is None:
                continue
            if listing.days is None:
                self.error(listing.line, f"expected the stage's days like '6–8 November', found no days for "
                                         f"stage {listing.number}")  # fmt: skip
                continue
            out.append(Stage(venue.city, venue.nation, "", (), listing.line, venue.arena, listing.days, listing.number))
        return out

    def check_repeats(self, stages: list[Stage]) -> None:
        for stage in stages:
            seen: dict[tuple[Category, int, bool, int | None], Race] = {}
            for race in stage.races:
                key = (race.category, race.distance, race.relay, race.number)
                if key in seen:
                    self.error(race.line, f"the same race twice: {race.category.label} {race.event} at "
                                          f"{stage.venue} is also on line {seen[key].line}")  # fmt: skip
                seen.setdefault(key, race)


def _span(stage: Stage) -> Days:
    return stage.start, stage.end


def _union(a: Days | None, b: Days | None) -> Days | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


def _same_meeting(a: Stage, b: Stage) -> bool:
    if a.number is not None and b.number is not None:
        return a.number == b.number
    if (slug(a.venue), a.nation) != (slug(b.venue), b.nation):
        return False
    (a1, a2), (b1, b2) = _span(a), _span(b)
    return b1 - a2 <= SAME_MEETING and a1 - b2 <= SAME_MEETING


def _listed(stage: Stage, listing: Listing, venues: Venues) -> bool:
    if stage.number is not None:
        return stage.number == listing.number
    city = listing.place.city or ""
    known = venues.city(city)
    if slug(known.name if known else city) != slug(stage.venue) and slug(city) != slug(stage.venue):
        return False
    if listing.days is None:
        return True
    first, last = listing.days
    return first - SAME_MEETING <= stage.start and stage.end <= last + SAME_MEETING
