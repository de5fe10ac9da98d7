"""Reading season articles from disk: the I/O the pure parser does not do.

Every file is read to its end and every problem in every file is reported together, so a user
fixes them in one round, not one a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from skategraph.errors import SourceError, SourceErrors
from skategraph.source.nations import Nation, bundled_nations
from skategraph.source.parse import parse_article
from skategraph.source.records import Article


def read_article(path: Path, nations: dict[str, Nation] | None = None) -> Article:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise SourceError(str(path), line, "the article is not UTF-8 text") from None
    except OSError as error:
        raise SourceError(str(path), 0, f"cannot read the file: {error.strerror}") from None
    return parse_article(text, source=str(path), nations=nations if nations is not None else bundled_nations())


@dataclass(frozen=True)
class Reading:
    """What a set of articles gave: the ones that parse, and the problems of the ones that did not."""

    articles: list[Article]
    failed: list[SourceError]  # one per file that did not parse (a SourceErrors where it had several)


def read_all(paths: Sequence[Path], nations: dict[str, Nation] | None = None) -> Reading:
    """Every article in `paths`, each read to its end whatever the others hold."""
    articles, failed = [], []
    for path in paths:
        try:
            articles.append(read_article(path, nations))
        except SourceError as error:
            failed.append(error)
    return Reading(articles, failed)


def read_articles(paths: Sequence[Path], nations: dict[str, Nation] | None = None) -> list[Article]:
    """Every article in `paths`; if any does not parse, `SourceErrors` with every problem of every file."""
    reading = read_all(paths, nations)
    if reading.failed:
        raise SourceErrors.of(reading.failed)
    return reading.articles
