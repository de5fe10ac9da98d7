"""Reading one table cell: dates and date ranges, distances, places, podium cells.

Pure functions of the cell's text. Each raises `ValueError` with a message for people (what was
expected, what was found); the parser adds the file and line.

The forms the real articles use, each handled on purpose:
- dates `18 October 2002`, and without a year (`26 October`, placed in the season by `Season.year`);
  two in one cell where a row holds two races (`8 November 2014 9 November 2014`);
- day ranges `21-23 September 2001`, `7–9 November 2014`, `29 November – 1 December 2002`, `6–8 November`;
- distances `1500m`, `500 m`, `5000m relay`, and a race number `1500m (2)`;
- places `KOR Chuncheon`, `Utah Olympic Oval`, `CAN Pacific Coliseum, Vancouver`,
  `CAN Montréal (Maurice Richard Arena)`;
- podium cells holding two races' entrants (`RUS Viktor Ahn (1) KOR Seo Yi-ra (2)`), and marks that
  are not competitors (`WR`).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

# English month names, spelled out here rather than read from `calendar`, whose names follow the locale.
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june",
                "july", "august", "september", "october", "november", "december")  # fmt: skip
MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_MONTH = r"[A-Za-z]+"
_DATE = re.compile(rf"^(\d{{1,2}})\s+({_MONTH})(?:\s+(\d{{4}}))?$")
_DATES = re.compile(rf"(\d{{1,2}})\s+({_MONTH})(?:\s+(\d{{4}}))?")
_RANGE = re.compile(
    rf"(?P<d1>\d{{1,2}})(?:\s+(?P<m1>{_MONTH}))?(?:\s+(?P<y1>\d{{4}}))?\s*[–-]\s*"
    rf"(?P<d2>\d{{1,2}})\s+(?P<m2>{_MONTH})(?:\s+(?P<y2>\d{{4}}))?$"
)
_DISTANCE = re.compile(r"^(\d+)\s*m(\s+relay)?(?:\s*\((\d)\))?$", re.IGNORECASE)
_NUMBERED = re.compile(r"\s*\((\d)\)\s*")
# What a podium cell may hold that is not a competitor: records and results codes.
MARKS = frozenset({"WR", "OR", "WB", "NR", "TR", "DNF", "DNS", "DSQ", "DQ", "PEN", "—", "–", "-", "N/A", "TBD", "TBA"})


@dataclass(frozen=True)
class Season:
    """The two years of a season (`2002-03`): a date without a year falls in one of them."""

    first: int

    def year(self, month: int) -> int:
        """The season runs from autumn to late winter: July to December is the first year."""
        return self.first if month >= 7 else self.first + 1


def _month(name: str) -> int | None:
    return MONTHS.get(name.casefold())


def _day(day: str, month: int, year: int, text: str) -> datetime.date:
    try:
        return datetime.date(year, month, int(day))
    except ValueError:
        raise ValueError(f"the date {text!r} does not exist") from None


def date(text: str, season: Season) -> datetime.date:
    """One date: `18 October 2002`, or `26 October` in the season's year for October."""
    found = _DATE.match(text.strip())
    month = _month(found.group(2)) if found else None
    if not found or month is None:
        raise ValueError(f"expected a date like '18 October 2002', found {text!r}")
    year = int(found.group(3)) if found.group(3) else season.year(month)
    return _day(found.group(1), month, year, text)


def dates(text: str, season: Season) -> list[datetime.date]:
    """The dates in a Date cell: one, or two where a row holds two races."""
    found = list(_DATES.finditer(text))
    if len(found) > 1 and "".join(m.group(0) for m in found).replace(" ", "") == text.replace(" ", ""):
        return [date(m.group(0), season) for m in found]
    return [date(text, season)]


def day_range(text: str, season: Season) -> tuple[datetime.date, datetime.date] | None:
    """A meeting's days, `21-23 September 2001` or `29 November – 1 December 2002`; None if `text`
    is not a range. The first day takes the month and year of the last where it does not say."""
    found = _RANGE.search(text.strip())
    if not found:
        return None
    m2 = _month(found.group("m2"))
    m1 = _month(found.group("m1")) if found.group("m1") else m2
    if m1 is None or m2 is None:
        raise ValueError(f"expected days like '7–9 November 2014', found {text!r}")
    y2 = int(found.group("y2")) if found.group("y2") else season.year(m2)
    y1 = int(found.group("y1")) if found.group("y1") else (y2 if m1 <= m2 else y2 - 1)
    first, last = _day(found.group("d1"), m1, y1, text), _day(found.group("d2"), m2, y2, text)
    if last < first:
        raise ValueError(f"the days {text!r} end before they begin")
    return first, last


def range_at_end(text: str, season: Season) -> tuple[str, tuple[datetime.date, datetime.date] | None]:
    """A stage heading that carries its days, `Salt Lake City 7–9 November 2014`: (name, days)."""
    found = _RANGE.search(text)
    if not found or not text[: found.start()].strip():
        return text, None
    return text[: found.start()].strip(), day_range(text[found.start() :], season)


def distance(text: str) -> tuple[int, bool, int | None]:
    """(metres, relay, race number): `1500m` -> (1500, False, None), `1500m (2)` -> (1500, False, 2)."""
    found = _DISTANCE.match(text.strip())
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"expected a distance like '500m' or '5000m relay', found {text!r}")
    return int(found.group(1)), found.group(2) is not None, int(found.group(3)) if found.group(3) else None


def numbered(cell: str) -> dict[int, str] | None:
    """A podium cell holding two races' entrants, `RUS Viktor Ahn (1) KOR Seo Yi-ra (2)`, by race
    number; None for a cell of one race."""
    parts = _NUMBERED.split(cell.strip())
    if len(parts) < 3 or parts[-1].strip():
        return None
    return {int(number): text.strip() for text, number in zip(parts[0:-1:2], parts[1::2], strict=True)}


@dataclass(frozen=True)
class Place:
    """A Place cell read: the nation code if written, and the city and arena if named."""

    code: str | None
    city: str | None
    arena: str | None


def place(text: str, *, arenas_in_parentheses: bool = True) -> Place:
    """`KOR Chuncheon`, `Utah Olympic Oval`, `CAN Pacific Coliseum, Vancouver`, `CAN Montréal (Maurice
    Richard Arena)`. Which bare names are arenas rather than cities is the venues table's to say; this
    returns a bare name as the city."""
    text = text.strip()
    code = None
    if re.match(r"^[A-Z]{3}(\s|$)", text):
        code, text = text[:3], text[3:].strip()
    if "," in text:
        arena, city = (part.strip() for part in text.rsplit(",", 1))
        return Place(code, city or None, arena or None)
    found = re.match(r"^(.*?)\s*\((.*?)\)?$", text)
    if found and "(" in text:
        city, inner = found.group(1).strip(), found.group(2).strip()
        return Place(code, city or None, inner if arenas_in_parentheses and text.endswith(")") else None)
    return Place(code, text or None, None)
