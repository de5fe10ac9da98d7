"""Reading an article's tables by their header row: results, standings, and lists of stages.

A header names each column; the names the articles use for one thing are one role (`Distance` or
`Discipline`; `Second` or `2nd place`), and the columns kept for people only (`Reference`, `R.`,
`#`, `Remark`) are ignored on purpose. A column with a name we do not know is a warning, never
silently dropped. An empty Date, Place or Stage cell continues the row above (the source had a
rowspan there).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from skategraph.errors import SourceError, SourceErrors
from skategraph.source import cells
from skategraph.source.folding import key as _key
from skategraph.source.nations import Nation, unknown_code_hint
from skategraph.source.records import Category, Classification, Entrant, Placing, Race, Stage
from skategraph.source.stages import Group, Listing, StageBuilder
from skategraph.source.venues import Venues

ROLES = {"date": "date", "dates": "date", "place": "place", "location": "place", "city": "place", "venue": "place",
         "distance": "distance", "discipline": "distance", "winner": "1", "gold": "1", "1st place": "1",
         "first": "1", "second": "2", "2nd place": "2", "silver": "2", "third": "3", "3rd place": "3",
         "bronze": "3", "stage": "stage", "event": "event", "#": "ignored", "no.": "ignored",
         "reference": "ignored", "references": "ignored", "ref.": "ignored", "r.": "ignored", "ref": "ignored",
         "remark": "ignored", "remarks": "ignored", "notes": "ignored", "note": "ignored"}  # fmt: skip
PODIUM = ("1", "2", "3")
COLUMN = {"1": "Winner", "2": "Second", "3": "Third"}
RESULTS_HEADER = "| Date | Place | Distance | Winner | Second | Third |"
STANDINGS_HEADER = "| Distance | Winner | Second | Third |"
Warn = Callable[[int, str], None]


@dataclass(frozen=True)
class Context:
    """Where a table stands: the headings above it."""

    skip: bool
    section: str | None  # calendar, standings
    category: Category | None
    stage: tuple[str, int, tuple[datetime.date, datetime.date] | None] | None  # heading, line, days


@dataclass
class _Table:
    kind: str  # results, standings, stages, skip
    roles: list[str]
    header: list[str]
    line: int
    context: Context
    last: dict[str, str] = field(default_factory=dict)  # the cells a row may leave empty, from above
    group: Group | None = None


class TableReader:
    def __init__(
        self, source: str, nations: dict[str, Nation], venues: Venues, fail: Callable[[SourceError], None], warn: Warn
    ) -> None:
        self.source = source
        self.nations = nations
        self.venues = venues
        self.fail = fail
        self.warn = warn
        self.season: cells.Season | None = None
        self.table: _Table | None = None
        self.groups: list[Group] = []
        self.listings: list[Listing] = []
        self.classifications: list[Classification] = []
        self.individuals: dict[Category, dict[str, str]] = {}  # category -> folded name -> name, for teams

    def error(self, line: int, message: str) -> SourceError:
        return SourceError(self.source, line, message)

    def end(self) -> None:
        self.table = None

    def races(self) -> Iterator[Race]:
        for group in self.groups:
            yield from group.races

    # -- header ----------------------------------------------------------------------------

    def row(self, number: int, line: str, context: Context) -> None:
        if self.table is None:
            self.table = _Table("skip", [], [], number, context)  # until the header is understood
            self.table = self.header(number, line, context)
            return
        if self.table.kind == "skip":
            return
        values = self.cells(number, line, self.table.header)
        cells_by_role = dict(zip(self.table.roles, values, strict=True))
        if self.table.kind == "results":
            self.result_row(number, cells_by_role)
        elif self.table.kind == "standings":
            self.standing_row(number, cells_by_role)
        else:
            self.listing_row(number, cells_by_role)

    def cells(self, number: int, line: str, header: list[str]) -> list[str]:
        if len(line) < 2 or not line.endswith("|"):
            raise self.error(number, "a table row must start and end with '|'")
        found = [cell.strip() for cell in line[1:-1].split("|")]
        if len(found) != len(header):
            raise self.error(number, f"expected {len(header)} cells ({' | '.join(header)}), found {len(found)}")
        return found

    def header(self, number: int, line: str, context: Context) -> _Table:
        skip = _Table("skip", [], [], number, context)
        if context.skip:
            return skip
        if len(line) < 2 or not line.endswith("|"):
            raise self.error(number, "a table row must start and end with '|'")
        names = [cell.strip() for cell in line[1:-1].split("|")]
        roles = [ROLES.get(" ".join(name.casefold().split()), "unknown") for name in names]
        podium = all(role in roles for role in PODIUM)
        if podium:
            roles = ["distance" if role == "event" and "distance" not in roles else role for role in roles]
        else:
            roles = ["stage" if role == "event" else role for role in roles]
        for name, role in zip(names, roles, strict=True):
            if role == "unknown":
                self.warn(number, f"the column {name!r} is not read")
        if context.section is None and context.category is None:
            if "stage" in roles and not podium:
                return self.listing_header(number, names, roles, context, line)
            self.warn(number, "a table outside the calendar and the standings is not read")
            return skip
        if context.category is None:
            if "stage" in roles and not podium:
                return self.listing_header(number, names, roles, context, line)
            raise self.error(number, "a table must come under a 'Men', 'Women', 'Ladies' or 'Mixed' heading")
        if context.section == "standings":
            if not podium or "distance" not in roles:
                raise self.error(number, f"expected the table header {STANDINGS_HEADER}, found {line!r}")
            return _Table("standings", roles, names, number, context)
        if not podium or not {"date", "place", "distance"} <= set(roles):
            raise self.error(number, f"expected the table header {RESULTS_HEADER} (or the other names of those "
                                     f"columns), found {line!r}")  # fmt: skip
        return _Table("results", roles, names, number, context)

    def listing_header(self, number: int, names: list[str], roles: list[str], context: Context, line: str) -> _Table:
        if not {"stage", "place", "date"} <= set(roles):
            raise self.error(number, f"expected a list of stages like | Stage | Location | Date |, found {line!r}")
        return _Table("stages", roles, names, number, context)

    # -- rows ------------------------------------------------------------------------------

    def continued(self, row: dict[str, str], role: str) -> tuple[str, bool]:
        """A cell, or the one above it when it is empty (a rowspan in the source): (text, was given)."""
        assert self.table is not None
        text = row.get(role, "")
        if text:
            self.table.last[role] = text
            return text, True
        if role in self.table.last:
            return self.table.last[role], False
        return "", False

    def result_row(self, number: int, row: dict[str, str]) -> None:
        table = self.table
        assert table is not None and self.season is not None
        context = table.context
        category = context.category
        assert category is not None
        date_text, date_given = self.continued(row, "date")
        place_text, place_given = self.continued(row, "place")
        stage_text, _stage_given = self.continued(row, "stage")
        problems: list[SourceError] = []  # every cell's problem, not only the first
        distance, relay, number_in_cell = 0, "relay" in row["distance"].casefold(), None
        days: tuple[datetime.date, datetime.date] | None = None
        dates: list[datetime.date] = []
        try:
            distance, relay, number_in_cell = cells.distance(row["distance"])
        except ValueError as error:
            problems.append(self.error(number, str(error)))
        try:
            days = cells.day_range(date_text, self.season) if date_text else None
            dates = [] if days or not date_text else cells.dates(date_text, self.season)
        except ValueError as error:
            problems.append(self.error(number, str(error)))
        if not date_text:
            problems.append(self.error(number, "expected a date like '18 October 2002' (the row has none, nor a row "
                                               "above it)"))  # fmt: skip
        if category is Category.MIXED and distance and not relay:
            problems.append(self.error(number, f"a mixed race is a relay: expected a distance like '2000m relay', "
                                               f"found {row['distance']!r}"))  # fmt: skip
        split = {role: cells.numbered(row[role]) for role in PODIUM}
        if any(split.values()):
            if len(dates) != 2 and not any(p for p in problems if "date" in p.message):
                message = (
                    f"a row whose names are marked (1) and (2) holds two races: expected two dates, found {date_text!r}"
                )
                problems.append(self.error(number, message))
            halves = [{role: (split[role] or {}).get(n, "") for role in PODIUM} for n in (1, 2)]
            podiums = [self.podium(number, half, relay, category, problems) for half in halves]
            if problems:
                raise SourceErrors.of(problems)
            group = self.group_for(number, table, stage_text, place_text, place_given, days, date_given)
            self.add_place(number, group, place_text, place_given)
            for race_number, (race_date, podium) in enumerate(zip(dates, podiums, strict=True), start=1):
                group.races.append(Race(category, race_date, distance, relay, podium, number, race_number))
            return
        if len(dates) > 1:
            problems.append(self.error(number, "a row with two dates holds two races: mark each name (1) and (2), "
                                               f"found {date_text!r}"))  # fmt: skip
        podium = self.podium(number, {role: row[role] for role in PODIUM}, relay, category, problems)
        if problems:
            raise SourceErrors.of(problems)
        group = self.group_for(number, table, stage_text, place_text, place_given, days, date_given)
        self.add_place(number, group, place_text, place_given)
        group.races.append(Race(category, dates[0] if dates else None, distance, relay, podium, number, number_in_cell))

    def add_place(self, number: int, group: Group, text: str, given: bool) -> None:
        if text and (given or not group.places):
            group.places.append((number, text, cells.place(text)))

    def group_for(
        self,
        number: int,
        table: _Table,
        stage_text: str,
        place_text: str,
        place_given: bool,
        days: tuple[datetime.date, datetime.date] | None,
        date_given: bool,
    ) -> Group:
        context = table.context
        assert context.category is not None
        heading = context.stage[0] if context.stage else ""
        if stage_text:
            if not stage_text.isdigit():
                raise self.error(number, f"expected a stage number in the Stage column, found {stage_text!r}")
            key: tuple[str, object] = ("stage", int(stage_text))
        elif context.stage is not None:
            key = ("heading", context.stage[1])
        else:
            current = table.group
            new_meeting = (
                current is None
                or (place_given and (not current.places or place_text != current.places[-1][1]))
                or (days is not None and date_given)
            )
            key = ("place", number) if new_meeting or current is None else current.key
        if table.group is not None and table.group.key == key:
            return table.group
        group = Group(context.category, key, heading, number)
        group.number = int(stage_text) if stage_text else None
        group.days = days if days else (context.stage[2] if context.stage else None)
        self.groups.append(group)
        table.group = group
        return group

    def standing_row(self, number: int, row: dict[str, str]) -> None:
        context = self.table.context if self.table else None
        assert context is not None and context.category is not None
        text = row["distance"]
        if text.casefold() == "overall":
            distance, relay = None, False
        else:
            try:
                metres, relay, _n = cells.distance(text)
            except ValueError:
                raise self.error(number, f"expected a distance like '500m', '5000m relay' or 'Overall', "
                                         f"found {text!r}") from None  # fmt: skip
            distance = metres
        for earlier in self.classifications:
            if (earlier.category, earlier.distance, earlier.relay) == (context.category, distance, relay):
                raise self.error(number, f"the {text} standings are given twice (also line {earlier.line})")
        problems: list[SourceError] = []
        places = self.podium(number, {role: row[role] for role in PODIUM}, relay, context.category, problems)
        if problems:
            raise SourceErrors.of(problems)
        self.classifications.append(Classification(context.category, distance, relay, places, number))

    def listing_row(self, number: int, row: dict[str, str]) -> None:
        assert self.season is not None
        stage_text, _given = self.continued(row, "stage")
        if not stage_text.isdigit():
            raise self.error(number, f"expected a stage number, found {stage_text!r}")
        text = row["place"]
        place = cells.place(text, arenas_in_parentheses=False)
        if "(" in text:
            self.warn(number, f"the remark in {text!r} is not read; the place is {place.city}")
        try:
            days = cells.day_range(row["date"], self.season) if row["date"] else None
        except ValueError as error:
            raise self.error(number, str(error)) from None
        self.listings.append(Listing(int(stage_text), place, text, days, number))

    # -- podium cells --------------------------------------------------------------------------

    def podium(
        self, number: int, row: dict[str, str], relay: bool, category: Category, problems: list[SourceError]
    ) -> tuple[Placing, ...]:
        """The places in a row's podium cells; a cell that cannot be read goes to `problems`."""
        places = []
        unread = set()
        for role in PODIUM:
            try:
                entrant = self.entrant(number, row[role], relay, COLUMN[role], category)
            except SourceError as error:
                problems.append(error)
                unread.add(role)
                continue
            if entrant is not None:
                places.append(Placing(int(role), entrant))
        if unread:
            return tuple(places)
        ranks = {p.rank for p in places}
        missing = [COLUMN[role] for role in PODIUM if int(role) not in ranks]
        if len(missing) == 3:
            self.warn(number, "no podium is given: the race is loaded without results")
        elif missing:
            self.warn(number, f"no {' or '.join(missing)} place is given: the race is loaded with "
                              f"{len(places)} places")  # fmt: skip
        return tuple(places)

    def entrant(self, number: int, cell: str, relay: bool, column: str, category: Category) -> Entrant | None:
        text = cell.strip()
        words = text.split()
        if words and words[-1].strip("()") in cells.MARKS:
            mark = words.pop().strip("()")
            self.warn(number, f"{mark!r} in the {column} column is a mark, not a competitor: it is not loaded")
            text = " ".join(words)
        if not text:
            return None
        example = "CAN Canada" if relay else "KOR Ahn Hyun-soo"
        code, _, name = text.partition(" ")
        name = name.strip()
        if not (len(code) == 3 and code.isalpha() and code.isupper()) or (not name and not relay):
            raise self.error(number, f"expected a nation code and a name in the {column} column, like {example!r}, "
                                     f"found {cell!r}")  # fmt: skip
        if code not in self.nations:
            raise self.error(number, unknown_code_hint(code, self.nations))
        nation = self.nations[code]
        if not relay:
            if nation.answers_to(name):
                raise self.error(number, f"{cell!r} in the {column} column names a nation, but the distance column "
                                         "says this is not a relay")  # fmt: skip
            self.individuals.setdefault(category, {})[_key(name)] = name
            return Entrant(code, name, False, number)
        if not name or nation.answers_to(name):
            return Entrant(code, name or nation.name, True, number)
        if len(name.split()) < 4:  # one person is not a team; a team's skaters are two names at least
            raise self.error(number, f"a relay podium names a nation's team: expected '{code} {nation.name}' in the "
                                     f"{column} column (or the team's skaters), found {cell!r}")  # fmt: skip
        return Entrant(code, nation.name, True, number, unsplit=(name,))

    # -- the end of the article ----------------------------------------------------------------

    def finish(self) -> tuple[tuple[Stage, ...], tuple[Classification, ...]]:
        for group in self.groups:
            group.races = [self.with_members(race) for race in group.races]
        stages = StageBuilder(self.source, self.venues, self.fail).build(self.groups, self.listings)
        return stages, tuple(self.classifications)

    def with_members(self, race: Race) -> Race:
        """A relay cell's skaters, split by the names the article knows from its other races."""
        if not any(p.entrant.unsplit for p in race.podium):
            return race
        known: dict[str, str] = {}
        for category, names in self.individuals.items():
            if race.category in (category, Category.MIXED):
                known.update(names)
        podium = []
        for placing in race.podium:
            entrant = placing.entrant
            if entrant.unsplit:
                members, rest = split_names(entrant.unsplit[0], known)
                for text in rest:
                    self.warn(race.line, (
                        f"the names {text!r} in the {entrant.nation} team are kept as written: the article "
                        "names no one of them in another race, so they cannot be told apart"))  # fmt: skip
                entrant = dataclasses.replace(entrant, members=members, unsplit=rest)
            podium.append(Placing(placing.rank, entrant))
        return dataclasses.replace(race, podium=tuple(podium))


def split_names(text: str, known: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`Semion Elistratov Dmitry Migunov ...` -> the known names in order, and the runs of words that
    are not a known name, as written."""
    words = text.split()
    lengths = sorted({len(k.split()) for k in known}, reverse=True)
    members: list[str] = []
    rest: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(words):
        for length in lengths:
            candidate = _key(" ".join(words[i : i + length]))
            if i + length <= len(words) and candidate in known:
                if run:
                    rest.append(" ".join(run))
                    run = []
                members.append(known[candidate])
                i += length
                break
        else:
            run.append(words[i])
            i += 1
    if run:
        rest.append(" ".join(run))
    return tuple(members), tuple(rest)
