"""Parse a season article in the Wikipedia table layout into records.

Pure: text in, frozen dataclasses out. No files, no store, no RDF. Every error is a `SourceError`
naming the source and the line, and saying what was expected there.

The layout (see `data/2002-03_ISU_Short_Track_Speed_Skating_World_Cup.txt`):

    = 2002–03 ISU Short Track Speed Skating World Cup =      title, holds the season
    Infobox / - Dates: ... / - Prev: ... / - Next: ...         infobox
    ==Calendar== / === Men === / ====Korea====                 a stage table per category
    | Date | Place | Distance | Winner | Second | Third |
    ==Overall standings== / ===Men===                          one table per category
    | Distance | Winner | Second | Third |

Quirks the real source has, handled here on purpose: headings spaced both ways (`=== Men ===`,
`===Women===`); relay podiums naming a nation (`CAN Canada`), told apart by the distance column, not
the name; three-letter codes that are IOC codes (GER), not ISO codes (DEU).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from skategraph.errors import SourceError
from skategraph.source.nations import Nation, bundled_nations, unknown_code_hint
from skategraph.source.records import (
    Article,
    Category,
    Classification,
    Entrant,
    Placing,
    Race,
    SeasonLink,
    Stage,
)

CALENDAR_COLUMNS = ("Date", "Place", "Distance", "Winner", "Second", "Third")
STANDINGS_COLUMNS = ("Distance", "Winner", "Second", "Third")

_HEADING = re.compile(r"^(=+)\s*(.*?)\s*(=+)\s*$")
_INFOBOX_ITEM = re.compile(r"^-\s*([^:]+?)\s*:\s*(.*?)\s*$")
_SEASON = re.compile(r"(\d{4})\s*[–-]\s*(\d{2}|\d{4})\b")
_DATE = re.compile(r"^(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})$")
_DISTANCE = re.compile(r"^(\d+)\s*m(\s+relay)?$", re.IGNORECASE)
_CODED = re.compile(r"^([A-Z]{3})\s+(\S.*)$")
# English month names, spelled out here rather than read from `calendar`, whose names follow the locale.
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june",
                "july", "august", "september", "october", "november", "december")  # fmt: skip
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_CATEGORIES = {"men": Category.MEN, "men's": Category.MEN, "women": Category.WOMEN, "women's": Category.WOMEN}
_SECTIONS = {"calendar": "calendar", "overall standings": "standings", "standings": "standings"}
# Two tables for the same venue whose dates lie this close are one stage (the men's and women's
# halves of one meeting).
_SAME_MEETING = datetime.timedelta(days=3)


def parse_article(text: str, *, source: str = "<article>", nations: Mapping[str, Nation] | None = None) -> Article:
    """Parse one season article. Raises `SourceError` naming the line on anything unexpected."""
    return _Parser(source, dict(nations if nations is not None else bundled_nations())).run(text)


@dataclass
class _StageTable:
    category: Category
    heading: str
    line: int
    venue: str | None = None
    nation: str | None = None
    races: list[Race] = field(default_factory=list)


class _Parser:
    def __init__(self, source: str, nations: dict[str, Nation]) -> None:
        self.source = source
        self.nations = nations
        self.title: str | None = None
        self.season: str | None = None
        self.start: datetime.date | None = None
        self.end: datetime.date | None = None
        self.links: dict[str, SeasonLink] = {}
        self.tables: list[_StageTable] = []
        self.classifications: list[Classification] = []
        # Where we are in the article.
        self.section: str | None = None
        self.category: Category | None = None
        self.stage: _StageTable | None = None
        self.in_infobox = False
        self.in_table = False

    def fail(self, line: int, message: str) -> SourceError:
        return SourceError(self.source, line, message)

    def run(self, text: str) -> Article:
        for number, raw in enumerate(text.splitlines(), start=1):
            self.line(number, raw.strip())
        if self.title is None or self.season is None:
            raise self.fail(1, "expected a title line like '= 2002–03 ISU Short Track Speed Skating World Cup ='")
        self.check_dates()
        return Article(
            source=self.source,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            title=self.title,
            season=self.season,
            start=self.start,
            end=self.end,
            previous=self.links.get("prev"),
            next=self.links.get("next"),
            stages=self.merge_stages(),
            classifications=tuple(self.classifications),
        )

    # -- line dispatch -------------------------------------------------------------------------

    def line(self, number: int, line: str) -> None:
        if not line.startswith("|"):
            self.in_table = False
        if not line:
            self.in_infobox = False
            return
        if self.title is None:
            self.read_title(number, line)
        elif heading := _HEADING.match(line):
            self.in_infobox = False
            self.read_heading(number, len(heading.group(1)), len(heading.group(3)), heading.group(2))
        elif line.casefold() == "infobox":
            self.in_infobox = True
        elif self.in_infobox and (item := _INFOBOX_ITEM.match(line)):
            self.read_infobox(number, item.group(1).casefold(), item.group(2))
        elif line.startswith("|"):
            header = not self.in_table
            self.in_table = True
            self.read_row(number, line, header)
        # Anything else is prose, lists or sections we do not read.

    def read_title(self, number: int, line: str) -> None:
        heading = _HEADING.match(line)
        if not heading or len(heading.group(1)) != 1:
            raise self.fail(
                number,
                f"expected a title line like '= 2002–03 ISU Short Track Speed Skating World Cup =', found {line!r}",
            )
        self.title = heading.group(2)
        self.season = self.season_key(number, self.title)

    def season_key(self, number: int, text: str) -> str:
        found = _SEASON.search(text)
        if not found:
            raise self.fail(number, f"expected a season like '2002–03' in {text!r}")
        first, second = int(found.group(1)), int(found.group(2)[-2:])
        if second != (first + 1) % 100:
            raise self.fail(number, f"a season spans two consecutive years; {found.group(0)!r} does not")
        return f"{first}-{second:02d}"

    def read_heading(self, number: int, level: int, closing: int, name: str) -> None:
        if level != closing:
            raise self.fail(number, f"a heading opens with {level} '=' and closes with {closing}")
        key = name.casefold()
        if level == 2:
            self.section = _SECTIONS.get(key)
            self.category = None
            self.stage = None
        elif level == 3 and self.section is not None:
            if key not in _CATEGORIES:
                raise self.fail(number, f"expected a 'Men' or 'Women' heading under this section, found {name!r}")
            self.category = _CATEGORIES[key]
            self.stage = None
        elif level == 4 and self.section == "calendar":
            if self.category is None:
                raise self.fail(number, "a stage heading must come under a 'Men' or 'Women' heading")
            self.stage = _StageTable(self.category, name, number)
            self.tables.append(self.stage)

    def read_infobox(self, number: int, key: str, value: str) -> None:
        if key == "dates":
            parts = re.split(r"\s+[–-]\s+", value)
            if len(parts) != 2:
                raise self.fail(
                    number, f"expected season dates like '18 October 2002 – 16 February 2003', found {value!r}"
                )
            self.start, self.end = (self.date(number, part) for part in parts)
            if self.end < self.start:
                raise self.fail(number, "the season ends before it starts")
        elif key in ("prev", "next"):
            self.links[key] = SeasonLink(self.season_key(number, value), value, number)
        # Other infobox keys (Event, Champions, ...) are descriptive; we do not model them yet.

    # -- tables --------------------------------------------------------------------------------

    def read_row(self, number: int, line: str, header: bool) -> None:
        if self.section is None:
            return  # a table in a section we do not read
        if self.category is None:
            raise self.fail(number, "a table must come under a 'Men' or 'Women' heading")
        columns = CALENDAR_COLUMNS if self.section == "calendar" else STANDINGS_COLUMNS
        cells = self.cells(number, line, columns)
        if header:
            if [c.casefold() for c in cells] != [c.casefold() for c in columns]:
                raise self.fail(number, f"expected the table header | {' | '.join(columns)} |, found {line!r}")
            return
        if self.section == "calendar":
            self.read_race(number, cells)
        else:
            self.read_standing(number, cells)

    def cells(self, number: int, line: str, columns: tuple[str, ...]) -> list[str]:
        if len(line) < 2 or not line.endswith("|"):
            raise self.fail(number, "a table row must start and end with '|'")
        cells = [cell.strip() for cell in line[1:-1].split("|")]
        if len(cells) != len(columns):
            raise self.fail(number, f"expected {len(columns)} cells ({' | '.join(columns)}), found {len(cells)}")
        return cells

    def read_race(self, number: int, cells: list[str]) -> None:
        if self.stage is None:
            raise self.fail(number, "a calendar table must come under a stage heading like '====Korea===='")
        date_text, place, distance_text, *podium = cells
        date = self.date(number, date_text)
        nation, venue = self.coded(number, place, "Place", "KOR Chuncheon")
        if self.stage.venue is None:
            self.stage.venue, self.stage.nation = venue, nation
        elif (venue, nation) != (self.stage.venue, self.stage.nation):
            raise self.fail(
                number,
                "every race of a stage is at one place: "
                f"expected {self.stage.nation} {self.stage.venue}, found {place!r}",
            )
        distance, relay = self.distance(number, distance_text, overall=False)
        assert distance is not None
        assert self.category is not None
        places = self.podium(number, podium, relay, CALENDAR_COLUMNS[3:], allow_empty=True)
        self.stage.races.append(Race(self.category, date, distance, relay, places, number))

    def read_standing(self, number: int, cells: list[str]) -> None:
        distance_text, *podium = cells
        distance, relay = self.distance(number, distance_text, overall=True)
        assert self.category is not None
        for earlier in self.classifications:
            if (earlier.category, earlier.distance, earlier.relay) == (self.category, distance, relay):
                raise self.fail(number, f"the {distance_text} standings are given twice (also line {earlier.line})")
        places = self.podium(number, podium, relay, STANDINGS_COLUMNS[1:], allow_empty=False)
        self.classifications.append(Classification(self.category, distance, relay, places, number))

    def podium(
        self, number: int, cells: list[str], relay: bool, columns: tuple[str, ...], *, allow_empty: bool
    ) -> tuple[Placing, ...]:
        if allow_empty and not any(cells):
            return ()  # a race on the calendar that has not been skated yet
        return tuple(
            Placing(rank, self.entrant(number, cell, relay, column))
            for rank, (cell, column) in enumerate(zip(cells, columns, strict=True), start=1)
        )

    # -- cells ---------------------------------------------------------------------------------

    def entrant(self, number: int, cell: str, relay: bool, column: str) -> Entrant:
        example = "CAN Canada" if relay else "KOR Ahn Hyun-soo"
        code, name = self.coded(number, cell, column, example)
        nation = self.nations[code]
        if relay and not nation.answers_to(name):
            raise self.fail(
                number,
                "a relay podium names a nation's team: "
                f"expected '{code} {nation.name}' in the {column} column, found {cell!r}",
            )
        if not relay and nation.answers_to(name):
            raise self.fail(
                number,
                f"{cell!r} in the {column} column names a nation, but the distance column says this is not a relay",
            )
        return Entrant(code, name, relay, number)

    def coded(self, number: int, cell: str, column: str, example: str) -> tuple[str, str]:
        found = _CODED.match(cell)
        if not found:
            raise self.fail(
                number, f"expected a nation code and a name in the {column} column, like {example!r}, found {cell!r}"
            )
        code, name = found.group(1), found.group(2).strip()
        if code not in self.nations:
            raise self.fail(number, unknown_code_hint(code, self.nations))
        return code, name

    def date(self, number: int, text: str) -> datetime.date:
        found = _DATE.match(text.strip())
        month = _MONTHS.get(found.group(2).casefold()) if found else None
        if not found or month is None:
            raise self.fail(number, f"expected a date like '18 October 2002', found {text!r}")
        try:
            return datetime.date(int(found.group(3)), month, int(found.group(1)))
        except ValueError:
            raise self.fail(number, f"the date {text!r} does not exist") from None

    def distance(self, number: int, text: str, *, overall: bool) -> tuple[int | None, bool]:
        if overall and text.casefold() == "overall":
            return None, False
        found = _DISTANCE.match(text)
        if not found or int(found.group(1)) == 0:
            expected = "'500m', '5000m relay' or 'Overall'" if overall else "'500m' or '5000m relay'"
            raise self.fail(number, f"expected a distance like {expected}, found {text!r}")
        return int(found.group(1)), found.group(2) is not None

    # -- whole-article checks ------------------------------------------------------------------

    def check_dates(self) -> None:
        if self.start is None or self.end is None:
            return
        for table in self.tables:
            for race in table.races:
                if not self.start <= race.date <= self.end:
                    raise self.fail(
                        race.line,
                        f"the race date {race.date:%d %B %Y} is outside the season "
                        f"({self.start:%d %B %Y} – {self.end:%d %B %Y})",
                    )

    def merge_stages(self) -> tuple[Stage, ...]:
        """Join the men's and women's tables of each meeting into one stage, and refuse repeats."""
        groups: list[list[_StageTable]] = []
        for table in self.tables:
            if not table.races:
                continue  # a stage heading with no results yet
            for group in groups:
                first = group[0]
                if (first.venue, first.nation) == (table.venue, table.nation) and _near(first, table):
                    group.append(table)
                    break
            else:
                groups.append([table])
        stages = []
        for group in groups:
            seen: dict[tuple[Category, int, bool], Race] = {}
            for race in (race for table in group for race in table.races):
                key = (race.category, race.distance, race.relay)
                if key in seen:
                    raise self.fail(
                        race.line,
                        f"the same race twice: {race.category.label} {race.event} at {group[0].venue} "
                        f"is also on line {seen[key].line}",
                    )
                seen[key] = race
            venue, nation = group[0].venue, group[0].nation
            assert venue is not None and nation is not None
            races = tuple(race for table in group for race in table.races)
            stages.append(Stage(venue, nation, group[0].heading, races, group[0].line))
        return tuple(sorted(stages, key=lambda stage: (stage.start, stage.line)))


def _near(a: _StageTable, b: _StageTable) -> bool:
    a_dates = [race.date for race in a.races]
    b_dates = [race.date for race in b.races]
    return min(b_dates) - max(a_dates) <= _SAME_MEETING and min(a_dates) - max(b_dates) <= _SAME_MEETING
