"""Binding a saved query: what people type, checked and turned into the terms its variables take.

`bind` raises `BadParameter` naming the parameter and what it accepts, word for word the same from
the CLI and over HTTP, since both call it. Nothing people type is pasted into query text: the terms
made here travel with the job, and evaluation writes them, as pyoxigraph serialises them, into a VALUES
block at the start of the query's WHERE group (`skategraph.sparql.values`), the same on the embedded
store and on a remote server (issue 15). Literals are made in their datatype's canonical form
(`str(int)`, ISO dates, `true`/`false`), since an engine reads a typed literal in query text as its
value ("007"^^xsd:integer as "7").
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from skategraph.errors import BadParameter
from skategraph.graph.ids import absolute_iri
from skategraph.graph.vocab import xsd
from skategraph.saved.lookups import Lookups
from skategraph.saved.query import Param, SavedQuery
from skategraph.saved.types import DOMAIN, TYPES, Term, describe, dummy_term, folded


@dataclass(frozen=True)
class Binding:
    """What a saved query runs with: its variables' values, and the parameter columns to leave out."""

    substitutions: dict[str, Term]  # variable name without '?' -> value
    hidden: tuple[str, ...]  # parameter variables: a query may project them, users do not see them

    def bound(self) -> tuple[tuple[str, Term], ...]:
        """The values as (name, term) pairs, as a job carries them (terms pickle) to be bound in its text."""
        return tuple(self.substitutions.items())


def bind(query: SavedQuery, given: Iterable[tuple[str, str]], lookups: Callable[[], Lookups]) -> Binding:
    """Check and convert the values `given` for `query`; raise BadParameter on the first wrong one.

    `lookups` is called only when a value needs the store to be understood (a skater's name, say).
    """
    values: dict[str, str] = {}
    for name, text in given:
        param = query.param(name)
        if param is None:
            takes = ", ".join(p.name for p in query.params) or "no parameters"
            raise BadParameter(f"{query.name} has no parameter {name!r}; it takes {takes}")
        if name in values:
            raise BadParameter(f"parameter {name} is given twice; give it once")
        values[name] = text
    substitutions: dict[str, Term] = {}
    for param in query.params:
        value = values.get(param.name)
        if value == "" and param.type != "string":
            value = None  # an empty form field: as if not given (a blank one is a wrong value, and says so)
        if value is None:
            value = param.default
        if value is None:
            if param.required:
                raise BadParameter(f"parameter {param.name} is required: {describe(param)}")
            continue
        needs_store = param.type in DOMAIN or param.values_from is not None
        substitutions[param.variable] = convert(param, value, lookups() if needs_store else None)
    return Binding(substitutions, tuple(p.variable for p in query.params))


def convert(param: Param, value: str, lookups: Lookups | None) -> Term:
    """The term for `value`; with no lookups (at load time), domain values are checked for form only."""
    value = value.strip()
    if param.values and value not in param.values:
        raise BadParameter(f"parameter {param.name}: {value!r} is not allowed; use {describe(param)}")
    term = _term(param, value, lookups)
    if param.values_from is not None and lookups is not None:
        allowed = lookups.computed.get(param.values_from, ())
        if term.value not in allowed:
            close = difflib.get_close_matches(value, list(allowed), n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise BadParameter(f"parameter {param.name}: {value!r} is not one of the known values{hint}")
    return term


def _term(param: Param, value: str, lookups: Lookups | None) -> Term:
    kind = param.type
    if kind == "string":
        if "\x00" in value:
            # Measured on Virtuoso (issue 15): a bound string is cut at its first NUL, so the same value
            # would match differently there; none of our data has one.
            raise BadParameter(f"parameter {param.name}: a NUL character (%00) cannot be in a value")
        return ox.Literal(value)
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d{1,18}", value):
            raise BadParameter(f"parameter {param.name}: {value!r} is not {describe(param)}")
        number = int(value)
        if (param.min is not None and number < param.min) or (param.max is not None and number > param.max):
            raise BadParameter(f"parameter {param.name}: {number} is out of range; use {describe(param)}")
        return ox.Literal(str(number), datatype=xsd("integer"))
    if kind == "date":
        try:
            day = datetime.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            day = None
        if day is None:
            raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['date']}")
        return ox.Literal(day.isoformat(), datatype=xsd("date"))
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['boolean']}")
        return ox.Literal(value.lower(), datatype=xsd("boolean"))
    if kind == "iri":
        return _iri(param, value)
    if kind == "category" and folded(value) not in ("men", "women", "mixed") and not value.startswith("http"):
        raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['category']}")
    if kind == "distance" and not re.fullmatch(r"\d+|relay", value.lower()):
        raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['distance']}")
    if not value:
        raise BadParameter(f"parameter {param.name}: an empty value is not {TYPES[kind]}")
    if lookups is None:
        return dummy_term(param)
    resolved = lookups.resolve(param, value.lower() if kind == "distance" else value)
    return ox.Literal(resolved) if kind == "distance" else ox.NamedNode(resolved)


def _iri(param: Param, value: str) -> ox.NamedNode:
    node = absolute_iri(value)
    if node is None:
        raise BadParameter(f"parameter {param.name}: {value!r} is not {TYPES['iri']}")
    return node


def check_default(param: Param, value: str) -> None:
    """Check a default, example or allowed value in a query file, as far as it can be without a store."""
    convert(param, value, None)
