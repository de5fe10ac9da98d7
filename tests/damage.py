"""Damaged copies of an article, for the property that parsing one never crashes."""

from __future__ import annotations

from hypothesis import strategies as st

from skategraph.errors import SourceError
from skategraph.source.parse import parse_article

MUTATION_CHARS = "|=-– :()0123456789ABCKORmrelayx\t"


@st.composite
def damaged(draw: st.DrawFn, text: str) -> tuple[str, int]:
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        kind = draw(st.sampled_from(["delete", "duplicate", "truncate", "insert", "cell", "swap"]))
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, line)
        elif kind == "truncate":
            lines[index] = line[: draw(st.integers(0, len(line)))]
        elif kind == "insert":
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.text(MUTATION_CHARS, min_size=1, max_size=4)) + line[at:]
        elif kind == "cell" and line.startswith("|"):
            cells = line.split("|")
            cell = draw(st.integers(0, len(cells) - 1))
            cells[cell] = draw(st.text(MUTATION_CHARS + "é漢", max_size=12))
            lines[index] = "|".join(cells)
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
    return "\n".join(lines), len(lines)


def parses_or_names_lines(text: str, count: int, source: str) -> None:
    """A damaged article parses into something coherent, or every problem names a line it has."""
    try:
        article = parse_article(text, source=source)
    except SourceError as error:
        for problem in getattr(error, "problems", [error]):
            assert 1 <= problem.line <= max(count, 1)
            assert str(SourceError(problem.source, problem.line, problem.message)).startswith(
                f"{source}, line {problem.line}: "
            )
        return
    # What parses is coherent: ranks in order within 1..3, a warning on the line of any race that
    # lacks a place, entrants that match the race's kind, stages on one date range.
    warned = {w.line for w in article.warnings}
    for race in article.races:
        ranks = [p.rank for p in race.podium]
        assert ranks == sorted(set(ranks)) and set(ranks) <= {1, 2, 3}
        assert len(ranks) == 3 or race.line in warned
        assert all(p.entrant.is_team == race.relay for p in race.podium)
    for stage in article.stages:
        assert stage.start <= stage.end
