"""A saved query and its parameters, as read from a `queries/*.rq` file.

Each parameter `p` is the variable `?_p` in the query, bound by a VALUES block at the start of its WHERE
group, written from pyoxigraph's terms (`skategraph.sparql.values`), never by pasting what was typed.
An optional filter is `FILTER(!BOUND(?_p) || ?x = ?_p)`; the catalogue refuses the
`COALESCE(?x = ?_p, true)` form (Virtuoso makes the comparison false and drops every row) and a `?_p`
that the block does not reach (`skategraph.saved.queryfile`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Request parameters every saved query takes; no query parameter may be named so.
CONTROLS = ("format", "timeout", "limit", "offset")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    description: str = ""
    default: str | None = None
    example: str | None = None
    values: tuple[str, ...] = ()  # a fixed list of allowed values
    values_from: str | None = None  # a SPARQL SELECT whose ?value column lists the allowed values
    min: int | None = None
    max: int | None = None
    line: int = field(default=0, compare=False)  # where it is declared, for error messages

    @property
    def variable(self) -> str:
        return "_" + self.name


@dataclass(frozen=True)
class SavedQuery:
    name: str
    path: Path
    title: str
    description: str
    tags: tuple[str, ...]
    params: tuple[Param, ...]
    text: str
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def example(self) -> dict[str, str]:
        """The example values of the parameters that have one: a call that the docs and tests run."""
        return {p.name: p.example for p in self.params if p.example is not None}
