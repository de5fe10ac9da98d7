"""The catalogue of saved queries: the bundled `queries/*.rq` and the user's own directories.

Owns finding and loading the files (`skategraph.saved.queryfile` reads each one); binding values is
`skategraph.saved.binding`, preparing a run `skategraph.saved.prepare`. A catalogue with a problem
in any file is not loaded at all, and the error lists every problem with its file and line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skategraph import resources
from skategraph.errors import QueryFileError, UnknownQuery
from skategraph.saved.query import SavedQuery
from skategraph.saved.queryfile import read_query
from skategraph.saved.types import describe


@dataclass(frozen=True)
class Catalogue:
    queries: dict[str, SavedQuery] = field(default_factory=dict)

    def __iter__(self) -> Iterator[SavedQuery]:
        return iter(sorted(self.queries.values(), key=lambda q: q.name))

    def __len__(self) -> int:
        return len(self.queries)

    def get(self, name: str) -> SavedQuery:
        if name in self.queries:
            return self.queries[name]
        close = difflib.get_close_matches(name, list(self.queries), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else "; 'skategraph queries' or GET /queries lists them"
        raise UnknownQuery(f"there is no saved query named {name!r}{hint}")


def query_dirs(extra: Sequence[Path] = ()) -> list[Path]:
    """The bundled queries/ directory, then the user's own directories."""
    return [resources.bundled("queries"), *extra]


def load_catalogue(extra: Sequence[Path] = ()) -> Catalogue:
    """Every saved query in the bundled directory and `extra`; raise QueryFileError listing all problems."""
    problems: list[str] = []
    queries: dict[str, SavedQuery] = {}
    for directory in query_dirs(extra):
        if not directory.is_dir():
            problems.append(f"{directory}: not a directory of saved queries")
            continue
        for path in sorted(directory.glob("*.rq")):
            found, file_problems = read_query(path)
            problems.extend(file_problems)
            if found is None:
                continue
            if found.name in queries:
                problems.append(f"{path}: the name {found.name} is taken by {queries[found.name].path}; rename one")
                continue
            queries[found.name] = found
    if problems:
        raise QueryFileError(problems)
    return Catalogue(queries)


def metadata(query: SavedQuery) -> dict[str, object]:
    """A saved query's metadata as plain data: the CLI's `queries --json`; the web adds URLs and store values."""
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "tags": list(query.tags),
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "required": p.required,
                "description": p.description,
                "accepts": describe(p),
                **({"default": p.default} if p.default is not None else {}),
                **({"example": p.example} if p.example is not None else {}),
                **({"values": list(p.values)} if p.values else {}),
                **({"min": p.min} if p.min is not None else {}),
                **({"max": p.max} if p.max is not None else {}),
            }
            for p in query.params
        ],
        "example": query.example(),
    }
