"""Reading season articles from disk: the I/O the pure parser does not do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from skategraph.errors import SourceError
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


def read_articles(paths: Sequence[Path], nations: dict[str, Nation] | None = None) -> list[Article]:
    return [read_article(path, nations) for path in paths]
