"""Parse a season article in the text layout of the stored Wikipedia pages into records.

Pure: text in, frozen dataclasses out. No files, no store, no RDF. The whole article is read, and
every problem is reported in one go: errors (structure that cannot be interpreted) as a
`SourceError` naming the line and what was expected there (`SourceErrors` when there are several),
warnings (what the source lacks: a missing place, an empty podium, a mark that is not a competitor, a
section that is not read) on the article, each with its line. Nothing is skipped silently.

The layouts the real articles use (the seed is `data/2002-03_ISU_Short_Track_Speed_Skating_World_Cup.txt`;
`tests/fixtures/seasons/` has the others):

    = 2002–03 ISU Short Track Speed Skating World Cup =      title, holds the season
    Infobox / - Dates: ... / - Prev: ... / - Next: ...         infobox (optional; other keys ignored)
    ==Calendar== / === Men === / ====Korea====                 the category above the stage tables,
    == Men == / === Calendar ===, ==Men== / ===Events===       or below them, or one table for all
    | Date | Place | Distance | Winner | Second | Third |       tables are read by their header row
    ==Overall standings== / ===Men===                          one table per category
    | Distance | Winner | Second | Third |
    | Stage | Location | Date |                                a list of the season's stages

Tables are read by their header row (`tables.py`), cells by their form (`cells.py`), and rows are
grouped into stages by `stages.py`.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from skategraph.errors import SourceError, SourceErrors
from skategraph.source import cells
from skategraph.source.nations import Nation, bundled_nations
from skategraph.source.records import Article, Category, SeasonLink, SourceWarning
from skategraph.source.tables import Context, TableReader
from skategraph.source.venues import Venues, bundled_venues

_HEADING = re.compile(r"^(=+)\s*(.*?)\s*(=+)\s*$")
_INFOBOX_ITEM = re.compile(r"^-\s*([^:]+?)\s*:\s*(.*?)\s*$")
_SEASON = re.compile(r"(?<!\d)(\d{4})\s*[–-]\s*(\d{2}|\d{4})\b")
_YEARS = re.compile(r"^(\d{4})\s*[–-]\s*(\d{2}|\d{4})$")
CATEGORIES = {"men": Category.MEN, "men's": Category.MEN, "women": Category.WOMEN, "women's": Category.WOMEN,
              "ladies": Category.WOMEN, "ladies'": Category.WOMEN, "mixed": Category.MIXED,
              "mixed relay": Category.MIXED, "mixed gender relay": Category.MIXED}  # fmt: skip
SECTIONS = {"calendar": "calendar", "events": "calendar", "results": "calendar", "world cup calendar": "calendar",
            "overall standings": "standings", "standings": "standings", "world cup standings": "standings",
            "final standings": "standings"}  # fmt: skip
# Sections that hold nothing for the graph, passed over on purpose (no warning).
IGNORED = {"see also", "references", "external links", "notes", "footnotes", "sources"}
LINK_KEYS = {"prev": "prev", "previous": "prev", "next": "next"}


def parse_article(
    text: str,
    *,
    source: str = "<article>",
    nations: Mapping[str, Nation] | None = None,
    venues: Venues | None = None,
) -> Article:
    """Parse one season article. Raises `SourceError` (or `SourceErrors`) naming every line it could
    not read; the warnings are on the article."""
    known = dict(nations if nations is not None else bundled_nations())
    return _Parser(source, known, venues or bundled_venues()).run(text)


@dataclass
class _Heading:
    level: int
    name: str
    kind: str  # category, calendar, standings, stage, ignored, unknown, broken
    line: int
    category: Category | None = None
    days: tuple[datetime.date, datetime.date] | None = None


class _Parser:
    def __init__(self, source: str, nations: dict[str, Nation], venues: Venues) -> None:
        self.source = source
        self.title: str | None = None
        self.season: str | None = None
        self.start: datetime.date | None = None
        self.end: datetime.date | None = None
        self.links: dict[str, SeasonLink] = {}
        self.errors: list[SourceError] = []
        self.warnings: list[SourceWarning] = []
        self.headings: list[_Heading] = []
        self.in_infobox = False
        self.tables = TableReader(source, nations, venues, self.errors.append, self.warn)

    def fail(self, line: int, message: str) -> SourceError:
        return SourceError(self.source, line, message)

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(SourceWarning(self.source, line, message))

    def run(self, text: str) -> Article:
        for number, raw in enumerate(text.splitlines(), start=1):
            try:
                self.line(number, raw.strip())
            except SourceError as error:
                self.errors.append(error)
                if self.season is None:
                    break  # without its title's season, no date in the article can be read
        if self.title is None or self.season is None:
            if not self.errors:
                self.errors.append(
                    self.fail(1, "expected a title line like '= 2002–03 ISU Short Track Speed Skating World Cup ='")
                )
            raise SourceErrors.of(self.errors)
        stages, classifications = self.tables.finish()
        self.check_dates()
        if self.errors:
            raise SourceErrors.of(self.errors)
        start, end = self.start, self.end
        if (start is None or end is None) and stages:
            start, end = min(s.start for s in stages), max(s.end for s in stages)
        return Article(
            source=self.source,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            title=self.title,
            season=self.season,
            start=start,
            end=end,
            previous=self.links.get("prev"),
            next=self.links.get("next"),
            stages=stages,
            classifications=classifications,
            warnings=tuple(sorted(self.warnings, key=lambda w: w.line)),
        )

    # -- line dispatch -------------------------------------------------------------------------

    def line(self, number: int, line: str) -> None:
        if not line.startswith("|"):
            self.tables.end()
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
            self.tables.row(number, line, self.context())
        # Anything else is prose or lists, which hold nothing for the graph.

    def read_title(self, number: int, line: str) -> None:
        heading = _HEADING.match(line)
        if not heading or len(heading.group(1)) != 1:
            raise self.fail(
                number,
                f"expected a title line like '= 2002–03 ISU Short Track Speed Skating World Cup =', found {line!r}",
            )
        self.title = heading.group(2)
        self.season = self.season_key(number, self.title)
        self.tables.season = cells.Season(int(self.season.split("-")[0]))

    def season_key(self, number: int, text: str) -> str:
        found = _SEASON.search(text)
        if not found:
            raise self.fail(number, f"expected a season like '2002–03' in {text!r}")
        first, second = int(found.group(1)), int(found.group(2)[-2:])
        if second != (first + 1) % 100:
            raise self.fail(number, f"a season spans two consecutive years; {found.group(0)!r} does not")
        return f"{first}-{second:02d}"

    # -- headings ------------------------------------------------------------------------------

    def read_heading(self, number: int, level: int, closing: int, name: str) -> None:
        if level != closing:
            raise self.fail(number, f"a heading opens with {level} '=' and closes with {closing}")
        while self.headings and self.headings[-1].level >= level:
            self.headings.pop()
        key = " ".join(name.casefold().split())
        kinds = {h.kind for h in self.headings}
        section = next((h.kind for h in reversed(self.headings) if h.kind in ("calendar", "standings")), None)
        category = any(h.kind == "category" for h in self.headings)
        heading = _Heading(level, name, "unknown", number)
        if kinds & {"ignored", "unknown", "broken"}:
            heading.kind = "ignored"  # below a section we do not read: said once, at its heading
        elif key in CATEGORIES:
            heading.kind, heading.category = "category", CATEGORIES[key]
        elif key in SECTIONS:
            heading.kind = SECTIONS[key]
        elif key in IGNORED:
            heading.kind = "ignored"
        elif section is not None and not category:
            heading.kind = "broken"
            self.headings.append(heading)
            raise self.fail(
                number, f"expected a 'Men', 'Women', 'Ladies' or 'Mixed' heading under this section, found {name!r}"
            )
        elif category and section != "standings":
            heading.kind = "stage"
            assert self.tables.season is not None
            try:
                heading.name, heading.days = cells.range_at_end(name, self.tables.season)
            except ValueError as error:
                self.headings.append(heading)
                raise self.fail(number, str(error)) from None
        else:
            self.warn(number, f"the section {name!r} is not read: skategraph reads calendars, results and standings")
        self.headings.append(heading)

    def context(self) -> Context:
        skip = next((h for h in self.headings if h.kind in ("ignored", "unknown", "broken")), None)
        section = next((h.kind for h in reversed(self.headings) if h.kind in ("calendar", "standings")), None)
        category = next((h.category for h in reversed(self.headings) if h.kind == "category"), None)
        stage = next((h for h in reversed(self.headings) if h.kind == "stage"), None)
        return Context(
            skip=skip is not None,
            section=section,
            category=category,
            stage=(stage.name, stage.line, stage.days) if stage else None,
        )

    # -- infobox -------------------------------------------------------------------------------

    def read_infobox(self, number: int, key: str, value: str) -> None:
        if key == "dates":
            self.read_dates(number, value)
        elif key in LINK_KEYS:
            self.links[LINK_KEYS[key]] = SeasonLink(self.season_key(number, value), value.rstrip(" ,"), number)
        # Other infobox keys (Event, Champions, Menseason, ...) describe; nothing of ours stands on them.

    def read_dates(self, number: int, value: str) -> None:
        years = _YEARS.match(value.strip())
        if years:  # `2011–2012`, `2014–15`: the season's days come from its races
            if self.season_key(number, value) != self.season:
                raise self.fail(number, f"the infobox's years {value!r} are not the season {self.season}")
            return
        parts = re.split(r"\s+[–-]\s+", value)
        if len(parts) != 2:
            raise self.fail(number, f"expected season dates like '18 October 2002 – 16 February 2003', found {value!r}")
        assert self.tables.season is not None
        try:
            self.start, self.end = (cells.date(part, self.tables.season) for part in parts)
        except ValueError as error:
            raise self.fail(number, str(error)) from None
        if self.end < self.start:
            raise self.fail(number, "the season ends before it starts")

    # -- whole-article checks ------------------------------------------------------------------

    def check_dates(self) -> None:
        if self.start is None or self.end is None:
            return
        for race in self.tables.races():
            if race.date is not None and not self.start <= race.date <= self.end:
                self.errors.append(
                    self.fail(
                        race.line,
                        f"the race date {race.date:%d %B %Y} is outside the season "
                        f"({self.start:%d %B %Y} – {self.end:%d %B %Y})",
                    )
                )
