"""A benchmark corpus: generated season articles with the real seasons' shapes, deterministic from a seed.

    python -m bench.corpus --seasons 40 --seed 1 OUT

Each season is written in one of the layouts the real articles use (the parser reads every one):
  seed     the 2002–03 article: `==Calendar==` / `=== Men ===` / `====Korea====`, full dates
  events   2001–02: no infobox, `==Men==` / `===Events===`, one table, a stage's days and place on
           its first row only (rowspans), `Discipline`, `2nd place`, `500 m`
  headed   2014–15: stage headings with their days, a `Reference` column, one row holding two races
           (two dates, names marked (1) and (2)), relay cells that name the team's skaters
  tour     2024–25: a list of stages (`Event | City | Date | Remark`), `== Men ==` / `=== Calendar ===`,
           `Stage`, `#` and `R.` columns, dates without a year, `CAN Montréal (Maurice Richard Arena)`
  arenas   2011–12: infobox dates as years, city headings, Place as an arena, `1500m (1)` rows out of
           date order, relay cells that are only a code
A season has five to nine stages (one in about twenty has ten). Every season has two races of one
distance at some stages, relays, a mixed relay in about half of them and a race now and then with no
Third (or no Second and Third) place, the only warnings a build of the corpus gives.

Seasons are keyed like the real ones (`2030-31`), from 2030–31 on, so they never collide with a real
season: the parser reads a season as two consecutive four-digit years (`2099–00` is 2099-00), so 400
seasons run to 2429–30. Skaters have careers of a few seasons and recur across them (their names are
made of syllables, drawn from the seed), nations are IOC codes from the bundled nations table, venues
come from a list of real host cities. Season k of a corpus is the same text whatever the corpus's size,
so the sizes of a benchmark are prefixes of one another.
"""

from __future__ import annotations

import argparse
import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from skategraph.source.folding import key
from skategraph.source.nations import bundled_nations

FIRST_YEAR = 2030
LAYOUTS = ("seed", "events", "headed", "tour", "arenas")
# Nations that skate, with a weight for how many skaters they have (IOC codes of data/nations.tsv).
NATIONS = {"KOR": 9, "CHN": 9, "CAN": 8, "NED": 6, "ITA": 5, "USA": 5, "HUN": 4, "RUS": 4, "JPN": 4,
           "GBR": 3, "FRA": 3, "GER": 2, "POL": 3, "KAZ": 2, "BEL": 2, "LAT": 1, "BUL": 2, "AUS": 1,
           "UKR": 1, "ISR": 1}  # fmt: skip
# Host cities (city, IOC code, an arena data/venues.tsv knows it by, or None).
VENUES = (("Salt Lake City", "USA", "Utah Olympic Oval"), ("Montreal", "CAN", "Maurice Richard Arena"),
          ("Saguenay", "CAN", "Centre Georges-Vézina"), ("Vancouver", "CAN", "Pacific Coliseum"),
          ("Beijing", "CHN", "Capital Indoor Stadium"), ("Nagoya", "JPN", "Nippon Gaishi Hall"),
          ("Debrecen", "HUN", "Főnix Hall"), ("Seoul", "KOR", None), ("Chuncheon", "KOR", None),
          ("Gangneung", "KOR", None), ("Shanghai", "CHN", None), ("Changchun", "CHN", None),
          ("Dordrecht", "NED", None), ("Heerenveen", "NED", None), ("Tilburg", "NED", None),
          ("Dresden", "GER", None), ("Turin", "ITA", None), ("Milan", "ITA", None), ("Bormio", "ITA", None),
          ("Sofia", "BUL", None), ("Saint Petersburg", "RUS", None), ("Kolomna", "RUS", None),
          ("Almaty", "KAZ", None), ("Gdańsk", "POL", None), ("Calgary", "CAN", None),
          ("Marquette", "USA", None), ("Sheffield", "GBR", None), ("Budapest", "HUN", None))  # fmt: skip
RELAY = {"men": 5000, "women": 3000, "mixed": 2000}
ACTIVE = 70  # skaters per category in a season
CAREER = 12  # seasons, on average
TEN_STAGES = 0.05  # the share of seasons with ten stages (the others have five to nine)
_SYLLABLES = ("ka", "ren", "so", "mi", "ta", "lo", "vi", "an", "de", "ju", "ko", "ri", "sa", "ne", "bo", "li",
              "ma", "ter", "gu", "hel", "za", "on", "pe", "ya", "dor", "ni", "su", "fa", "wen", "ci", "ra",
              "mé", "tö", "lin", "ha", "ber", "no", "el", "ga", "vo")  # fmt: skip
SEED_HEADER = "| Date | Place | Distance | Winner | Second | Third |"
REFERENCE_HEADER = "| Date | Place | Distance | Winner | Second | Third | Reference |"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip


@dataclass(frozen=True)
class Skater:
    name: str
    nation: str
    category: str  # men, women
    strength: float


@dataclass
class Facts:
    """What a generated season holds, counted as it is written: what a build of it must report."""

    stages: int = 0
    races: int = 0
    relays: int = 0
    mixed_relays: int = 0
    second_races: int = 0  # races numbered (2): two races of one distance at a stage
    missing_places: int = 0  # races with no Third (or no Second and Third) place: one warning each
    places: int = 0  # podium places of races
    members: int = 0  # relay places whose cell names the team's skaters

    def add(self, other: Facts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Season:
    key: str  # `2030-31`
    layout: str
    text: str
    facts: Facts

    @property
    def filename(self) -> str:
        return f"{self.key}.txt"


@dataclass
class _Race:
    category: str
    distance: int
    relay: bool
    number: int | None
    day: datetime.date
    podium: list[str]  # cells, "" for a missing place
    names: list[str] = field(default_factory=list)  # the skaters of an individual race, for standings


@dataclass
class _Stage:
    city: str
    nation: str
    arena: str | None
    days: tuple[datetime.date, datetime.date]
    races: list[_Race]


class _Names:
    """Unique skater names made of syllables, none of which folds to another's key."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"names-{seed}")
        self.seen: set[str] = set()

    def word(self, low: int, high: int) -> str:
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(low, high))).capitalize()

    def draw(self) -> str:
        while True:
            given = self.word(2, 3)
            if self.rng.random() < 0.2:  # `Park Ji-won`: hyphenated given names, as the Korean skaters'
                given = f"{self.word(1, 1)}-{self.word(1, 1).lower()}"
            family = self.word(1, 3)
            name = f"{family} {given}" if self.rng.random() < 0.4 else f"{given} {family}"
            if key(name) not in self.seen:
                self.seen.add(key(name))
                return name


class _Roster:
    """The skaters of each category, season by season: some retire, new ones start."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"roster-{seed}")
        self.names = _Names(seed)
        self.active: dict[str, list[Skater]] = {"men": [], "women": []}

    def next_season(self) -> None:
        codes, weights = list(NATIONS), list(NATIONS.values())
        for category, skaters in self.active.items():
            kept = [s for s in skaters if self.rng.random() > 1 / CAREER]
            while len(kept) < ACTIVE:
                nation = self.rng.choices(codes, weights)[0]
                kept.append(Skater(self.names.draw(), nation, category, self.rng.paretovariate(1.3)))
            self.active[category] = kept


def _fridays(first: int) -> list[datetime.date]:
    spans = ((datetime.date(first, 9, 18), datetime.date(first, 12, 12)),
             (datetime.date(first + 1, 1, 23), datetime.date(first + 1, 3, 1)))  # fmt: skip
    days = []
    for start, end in spans:
        day = start + datetime.timedelta(days=(4 - start.weekday()) % 7)
        while day <= end:
            days.append(day)
            day += datetime.timedelta(days=7)
    return days


def _date(day: datetime.date, year: bool = True) -> str:
    text = f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def _days(days: tuple[datetime.date, datetime.date], dash: str = "–") -> str:
    first, last = days
    if first.month == last.month:
        return f"{first.day}{dash}{_date(last)}"
    return f"{_date(first, year=False)} {dash} {_date(last)}"


def _event(race: _Race, spaced: bool = False) -> str:
    text = f"{race.distance}{' ' if spaced else ''}m{' relay' if race.relay else ''}"
    return text if race.number is None else f"{text} ({race.number})"


class _SeasonWriter:
    def __init__(self, roster: _Roster, index: int, seed: int) -> None:
        self.rng = random.Random(f"season-{seed}-{index}")
        # Drawn apart from the season's own stream, so that adding ten-stage seasons (for the pages
        # benchmark, issue 14) left every other season the text it was.
        self.ten_stages = random.Random(f"ten-stages-{seed}-{index}").random() < TEN_STAGES
        self.roster = roster
        self.first = FIRST_YEAR + index
        self.layout = LAYOUTS[self.rng.randrange(len(LAYOUTS))]
        self.facts = Facts()
        self.nations = bundled_nations()

    @property
    def span(self) -> str:
        return f"{self.first}–{(self.first + 1) % 100:02d}"

    def season_of(self, first: int) -> str:
        return f"{first}–{(first + 1) % 100:02d}"

    # -- what happens -----------------------------------------------------------------------------

    def stages(self) -> list[_Stage]:
        count = self.rng.randint(5, 9)
        if self.ten_stages:
            count = 10
        fridays = sorted(self.rng.sample(_fridays(self.first), count))
        venues = self.rng.sample(VENUES, count)
        mixed = self.rng.random() < 0.5
        out = []
        for friday, (city, nation, arena) in zip(fridays, venues, strict=True):
            days = (friday, friday + datetime.timedelta(days=2))
            races = []
            for category in ("men", "women"):
                races += self.category_races(category, friday)
            if mixed:
                races.append(self.relay_race("mixed", 2000, friday + datetime.timedelta(days=2)))
            out.append(_Stage(city, nation, arena, days, races))
            self.facts.stages += 1
        return out

    def category_races(self, category: str, friday: datetime.date) -> list[_Race]:
        distances = [1500, 500, 1000] + ([3000] if self.rng.random() < 0.5 else [])
        twice = self.rng.choice((500, 1000, 1500)) if self.rng.random() < 0.4 else None
        races = []
        for distance in distances:
            numbers: tuple[int | None, ...] = (1, 2) if distance == twice else (None,)
            for number in numbers:
                offset = 2 if number == 2 else (self.rng.randint(0, 1) if number == 1 else self.rng.randint(0, 2))
                day = friday + datetime.timedelta(days=offset)
                races.append(self.individual_race(category, distance, number, day))
        races.append(self.relay_race(category, RELAY[category], friday + datetime.timedelta(days=2)))
        return races

    def individual_race(self, category: str, distance: int, number: int | None, day: datetime.date) -> _Race:
        skaters = self.roster.active[category]
        weights = [s.strength for s in skaters]
        chosen: list[Skater] = []
        while len(chosen) < 3:
            skater = self.rng.choices(skaters, weights)[0]
            if skater not in chosen:
                chosen.append(skater)
        race = _Race(category, distance, False, number, day, [f"{s.nation} {s.name}" for s in chosen])
        race.names = [s.name for s in chosen]
        self.count(race)
        return race

    def relay_race(self, category: str, distance: int, day: datetime.date) -> _Race:
        codes = list(NATIONS)
        chosen: list[str] = []
        while len(chosen) < 3:
            code = self.rng.choices(codes, list(NATIONS.values()))[0]
            if code not in chosen:
                chosen.append(code)
        race = _Race(category, distance, True, None, day, chosen)
        self.count(race)
        return race

    def count(self, race: _Race) -> None:
        draw = self.rng.random()
        if draw < 0.005:
            race.podium[1:] = ["", ""]
        elif draw < 0.035:
            race.podium[2] = ""
        self.facts.races += 1
        self.facts.relays += race.relay
        self.facts.mixed_relays += race.category == "mixed"
        self.facts.second_races += race.number == 2
        self.facts.missing_places += "" in race.podium
        self.facts.places += sum(1 for cell in race.podium if cell)

    # -- how the article writes it ----------------------------------------------------------------

    def relay_cells(self, stages: list[_Stage]) -> None:
        """A relay place as the layout writes it: `CAN Canada`, `KOR`, or the team's skaters."""
        named: dict[tuple[str, str], list[str]] = {}  # (category, nation) -> skaters named in its races
        for stage in stages:
            for race in stage.races:
                for cell in race.podium:
                    code, _, name = cell.partition(" ")
                    if not race.relay and cell and "-" not in name:  # see `relay_cell`
                        names = named.setdefault((race.category, code), [])
                        if name not in names:
                            names.append(name)
        for stage in stages:
            for race in stage.races:
                if race.relay:
                    race.podium = [self.relay_cell(race, code, named) if code else "" for code in race.podium]

    def relay_cell(self, race: _Race, code: str, named: dict[tuple[str, str], list[str]]) -> str:
        if self.layout == "arenas":
            return code
        if self.layout == "headed":
            # The members are skaters the article names in other races, so the parser can split the
            # cell into them. Not hyphenated ones: the parser sizes the run of written words it tries by
            # the known names' words after folding (`Park Ji-won` is three), so a cell is split only
            # when some known name has as many folded words as written ones; these always do.
            pools = [named.get((c, code), []) for c in (("men", "women") if race.category == "mixed" else
                                                        (race.category,))]  # fmt: skip
            if all(len(pool) >= 4 // len(pools) for pool in pools):
                members = [name for pool in pools for name in self.rng.sample(pool, 4 // len(pools))]
                self.facts.members += 1
                return f"{code} {' '.join(members)}"
        return f"{code} {self.nations[code].name}"

    def write(self) -> Season:
        stages = self.stages()
        self.relay_cells(stages)
        lines = getattr(self, f"write_{self.layout}")(stages)
        lines += self.standings(stages)
        key_ = f"{self.first}-{(self.first + 1) % 100:02d}"
        return Season(key_, self.layout, "\n".join(lines) + "\n", self.facts)

    def title(self, series: str = "ISU Short Track Speed Skating World Cup") -> list[str]:
        return [f"= {self.span} {series} =", ""]

    def infobox(self, dates: str) -> list[str]:
        return ["Infobox", "- Event: ISU Short Track World Cup", f"- Dates: {dates}",
                f"- Prev: {self.season_of(self.first - 1)} World Cup",
                f"- Next: {self.season_of(self.first + 1)} World Cup", ""]  # fmt: skip

    def prose(self, stages: list[_Stage]) -> list[str]:
        return [f"The {self.span} World Cup is a generated season for benchmarks, of {len(stages)} stages: "
                f"from {_date(stages[0].days[0])} to {_date(stages[-1].days[1])}.", ""]  # fmt: skip

    def categories(self, stages: list[_Stage]) -> Iterator[tuple[str, list[tuple[_Stage, list[_Race]]]]]:
        for category in ("men", "women", "mixed"):
            found = [(s, [r for r in s.races if r.category == category]) for s in stages]
            found = [(s, races) for s, races in found if races]
            if found:
                yield category, found

    def write_seed(self, stages: list[_Stage]) -> list[str]:
        lines = self.title() + self.infobox(f"{_date(stages[0].days[0])} – {_date(stages[-1].days[1])}")
        lines += [*self.prose(stages), "==Calendar==", ""]
        for category, found in self.categories(stages):
            lines += [f"=== {category.capitalize()} ===", ""]
            for stage, races in found:
                lines += [f"===={self.nations[stage.nation].name}====", SEED_HEADER]
                lines += [f"| {_date(r.day)} | {stage.nation} {stage.city} | {_event(r)} | {' | '.join(r.podium)} |"
                          for r in races]  # fmt: skip
                lines.append("")
        return lines

    def write_events(self, stages: list[_Stage]) -> list[str]:
        lines = self.title() + self.prose(stages)
        for category, found in self.categories(stages):
            lines += [f"=={category.capitalize()}==", "===Events===",
                      "| Date | Place | Discipline | Winner | 2nd place | 3rd place |"]  # fmt: skip
            for stage, races in found:
                for i, r in enumerate(races):
                    first = (_days(stage.days, "-"), f"{stage.nation} {stage.city}") if i == 0 else ("", "")
                    lines.append(f"| {first[0]} | {first[1]} | {_event(r, spaced=True)} | {' | '.join(r.podium)} |")
            lines.append("")
        return lines

    def place(self, stage: _Stage) -> str:
        return stage.arena if stage.arena else f"{stage.nation} {stage.city}"

    def write_headed(self, stages: list[_Stage]) -> list[str]:
        lines = self.title() + self.infobox(self.span) + self.prose(stages) + ["==Calendar==", ""]
        for category, found in self.categories(stages):
            lines += [f"=== {category.capitalize()} ===", ""]
            for stage, races in found:
                lines += [f"===={stage.city} {_days(stage.days)}====", REFERENCE_HEADER]
                for r in races:
                    if r.number == 2:
                        continue
                    if r.number == 1:  # one row holding both races of the distance
                        other = next(o for o in races if o.distance == r.distance and o.number == 2)
                        date = f"{_date(r.day)} {_date(other.day)}"
                        cells = [" ".join(f"{c} ({n})" for n, c in ((1, a), (2, b)) if c)
                                 for a, b in zip(r.podium, other.podium, strict=True)]  # fmt: skip
                        event = f"{r.distance}m"
                    else:
                        date, cells, event = _date(r.day), r.podium, _event(r)
                    lines.append(f"| {date} | {self.place(stage)} | {event} | {' | '.join(cells)} | |")
                lines.append("")
        return lines

    def write_tour(self, stages: list[_Stage]) -> list[str]:
        lines = self.title("ISU Short Track World Tour")
        lines += ["Infobox", "- Menseason: 1st", f"- Previous: {self.season_of(self.first - 1)} (World Tour)", ""]
        lines += [*self.prose(stages), "==Calendar==", "", "| Event | City | Date | Remark |"]
        lines += [f"| {n} | {s.nation} {s.city} | {_days(s.days)} | |" for n, s in enumerate(stages, start=1)]
        lines.append("")
        for category, found in self.categories(stages):
            lines += [f"== {category.capitalize()} ==", "", "=== Calendar ===",
                      "| Stage | # | Date | Place | Discipline | Winner | Second | Third | R. |"]  # fmt: skip
            for stage, races in found:
                number = stages.index(stage) + 1
                place = f"{stage.nation} {stage.city}" + (f" ({stage.arena})" if stage.arena else "")
                last = None
                for i, r in enumerate(sorted(races, key=lambda r: r.day)):
                    day = _date(r.day, year=False) if r.day != last else ""
                    last = r.day
                    head = (str(number), place) if i == 0 else ("", "")
                    podium = " | ".join(r.podium)
                    lines.append(f"| {head[0]} | {i + 1} | {day} | {head[1]} | {_event(r)} | {podium} | |")
            lines.append("")
        return lines

    def write_arenas(self, stages: list[_Stage]) -> list[str]:
        lines = self.title() + self.infobox(f"{self.first}–{self.first + 1}")
        lines += [*self.prose(stages), "== Calendar ==", ""]
        for category, found in self.categories(stages):
            lines += [f"=== {category.capitalize()} ===", ""]
            for stage, races in found:
                lines += [f"==== {stage.city} ====", REFERENCE_HEADER]
                shuffled = list(races)
                self.rng.shuffle(shuffled)  # the rows are not in date order
                lines += [f"| {_date(r.day)} | {self.place(stage)} | {_event(r)} | {' | '.join(r.podium)} | |"
                          for r in shuffled]  # fmt: skip
                lines.append("")
        return lines

    def standings(self, stages: list[_Stage]) -> list[str]:
        """The season's standings: the skaters and nations with the most points (3, 2, 1) by distance."""
        lines = ["==Overall standings==", ""]
        for category in ("men", "women"):
            points: dict[str, dict[str, int]] = {}
            races = [r for s in stages for r in s.races if r.category == category]
            for race in races:
                event = f"{race.distance}m relay" if race.relay else str(race.distance)
                for rank, cell in enumerate(race.podium):
                    if race.relay and cell:  # the team, whatever form its race's cell has
                        cell = f"{cell[:3]} {self.nations[cell[:3]].name}"
                    if cell and (race.relay or race.distance != 3000):
                        for table in (event, "Overall") if not race.relay else (event,):
                            row = points.setdefault(table, {})
                            row[cell] = row.get(cell, 0) + 3 - rank
            lines += [f"==={category.capitalize()}===", "", "| Distance | Winner | Second | Third |"]
            for event in ("500", "1000", "1500", f"{RELAY[category]}m relay", "Overall"):
                best = sorted(points[event].items(), key=lambda item: (-item[1], item[0]))[:3]
                label = f"{event}m" if event.isdigit() else event
                lines.append(f"| {label} | {' | '.join(cell for cell, _ in best)} |")
            lines.append("")
        return lines


def generate(seasons: int, seed: int) -> Iterator[Season]:
    """The corpus's seasons in order; season k is the same whatever `seasons` is."""
    roster = _Roster(seed)
    for index in range(seasons):
        roster.next_season()
        yield _SeasonWriter(roster, index, seed).write()


def write_corpus(folder: Path, seasons: int, seed: int) -> list[Path]:
    """Write `seasons` generated season articles into `folder` (made if missing); their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for season in generate(seasons, seed):
        path = folder / season.filename
        path.write_text(season.text, encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seasons", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    paths = write_corpus(args.out, args.seasons, args.seed)
    print(f"wrote {len(paths):,} seasons to {args.out}")


if __name__ == "__main__":
    main()
