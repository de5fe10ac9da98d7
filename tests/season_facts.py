"""Races, podium places and winners read straight from the real season fixtures' tables.

Deliberately independent of `skategraph.source`: a table is a run of `|` lines whose first one names
a `Winner` column; each row after it is one race, or two where its podium cells mark names `(1)` and
`(2)`. So the parser is checked against the file, not against another piece of our own pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SEASONS = Path(__file__).resolve().parent / "fixtures" / "seasons"
PODIUM = {"winner": 0, "second": 1, "2nd place": 1, "third": 2, "3rd place": 2}


@dataclass
class Facts:
    races: int = 0
    places: int = 0
    winners: list[str] = field(default_factory=list)  # each race's winner cell, as written


def read(path: Path) -> Facts:
    facts = Facts()
    columns: dict[int, int] | None = None
    for line in path.read_text("utf-8").splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if columns is None:
            names = [cell.casefold() for cell in cells]
            columns = {i: PODIUM[name] for i, name in enumerate(names) if name in PODIUM} if "winner" in names else {}
            continue
        if not columns:
            continue
        podium = [cells[i] for i in sorted(columns, key=columns.__getitem__)]
        if any("(1)" in cell for cell in podium):
            halves = [re.split(r"\s*\(\d\)\s*", cell) for cell in podium]
            facts.races += 2
            facts.places += sum(1 for parts in halves for part in parts[:2] if part)
            facts.winners += [part for part in halves[0][:2]]
        else:
            facts.races += 1
            facts.places += sum(1 for cell in podium if cell)
            facts.winners.append(podium[0])
    return facts
