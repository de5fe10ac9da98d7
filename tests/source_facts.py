"""Facts read straight from the seed article's tables, for checking saved queries' answers.

Deliberately independent of `skategraph.parse`: a few regular expressions over the Wikipedia table
rows, so a query is checked against the source, not against another piece of our own pipeline.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from .conftest import SEED

_CELL = re.compile(r"^([A-Z]{3}) (.+)$")
MONTHS = {m: i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"], start=1)}  # fmt: skip


@dataclass(frozen=True)
class Race:
    date: str  # ISO
    venue: str
    nation: str  # host
    category: str  # Men / Women
    event: str  # 1500m, 5000m relay
    podium: tuple[tuple[str, str], ...]  # (IOC code, name) for 1st, 2nd, 3rd

    @property
    def relay(self) -> bool:
        return "relay" in self.event

    @property
    def distance(self) -> str:
        return self.event.split("m")[0]


@dataclass(frozen=True)
class Standing:
    category: str
    event: str
    places: tuple[tuple[str, str], ...]


def _iso(text: str) -> str:
    day, month, year = text.split()
    return datetime.date(int(year), MONTHS[month], int(day)).isoformat()


def _cell(text: str) -> tuple[str, str]:
    found = _CELL.match(text.strip())
    assert found, text
    return found.group(1), found.group(2)


def read() -> tuple[list[Race], list[Standing]]:
    races: list[Race] = []
    standings: list[Standing] = []
    section = category = ""
    for line in SEED.read_text("utf-8").splitlines():
        if line.startswith("==") and not line.startswith("==="):
            section = line.strip("= ")
        elif line.startswith("===") and not line.startswith("===="):
            category = line.strip("= ")
        elif line.startswith("| ") and not line.startswith(("| Date", "| Distance")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if section == "Calendar":
                host, venue = _cell(cells[1])
                podium = tuple(_cell(c) for c in cells[3:6])
                races.append(Race(_iso(cells[0]), venue, host, category, cells[2], podium))
            elif section == "Overall standings":
                standings.append(Standing(category, cells[0], tuple(_cell(c) for c in cells[1:4])))
    return races, standings


RACES, STANDINGS = read()
